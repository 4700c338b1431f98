"""Employment figures on the 100,000-resident demo: recount time, opening the list behind each figure, writes.

    .venv/bin/python bench/bench_employment.py [100k|23k]

"Cold" is a connection's first count of the day (or after a sync import): the labour snapshot is
built from SQL. "After a job" is the usual case: another connection (the window's) saves a job, and
the worker connection brings its snapshot forward. Writes go to a copy of the demo file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import ensure_demo, median, percentile, print_table  # noqa: E402

from app.models.core.db import open_database  # noqa: E402
from app.models.employment import employment, labour, labour_snapshot, training  # noqa: E402


class Rollback(Exception):
    pass


CPU: dict[int, list[float]] = {}


def timed(fn, runs: int) -> list[float]:
    """Wall-clock ms of each run; the process CPU ms are kept beside them (the machine may be shared)."""
    out, cpu = [], []
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    CPU[id(out)] = cpu
    return out


def fmt(ms: list[float]) -> str:
    cpu = CPU.get(id(ms))
    tail = f"   (CPU median {median(cpu):6.1f} ms)" if cpu else ""
    return f"median {median(ms):7.1f} ms   p90 {percentile(ms, 90):7.1f} ms   max {max(ms):7.1f} ms{tail}"


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else "100k"
    path = ensure_demo(size)
    db = open_database(path, user="bench")
    load = os.getloadavg()[0]
    today = dt.date.today()
    residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0 AND status = '在册'")
    figures = labour.compute_figures(db, today)
    rows = [("residents", f"{residents:,}")]
    rows += [(k, str(v)) for k, v in figures.as_stats().items()]
    print_table(f"figures on demo-{size} ({today})", rows)

    def cold_figures() -> None:
        labour_snapshot.forget(db)
        labour.compute_figures(db, today)

    timings = [
        ("compute_figures, cold (snapshot built)", fmt(timed(cold_figures, 7))),
        ("compute_figures, nothing changed", fmt(timed(lambda: labour.compute_figures(db, today), 10))),
    ]

    from PySide6.QtWidgets import QApplication

    from app.models.core.list_query import Condition
    from app.models.registry import registry_search
    from app.ui.employment.employment_dialogs import to_columns
    from app.ui.employment.person_picker import IdListModel
    from app.ui.employment.person_picker import IdPagedModel as SqlTableModel

    app = QApplication.instance() or QApplication([])  # noqa: F841 - models need a Qt application

    def open_list(key: str) -> None:
        # What the list window does: the ids behind the figure (in the background), then one page.
        fl = labour.figure_list(db, key, today)
        model = IdListModel(db, fl.query(), to_columns(fl.columns), order_by=fl.order_by)
        model.set_ids(labour.figure_ids(db, key, today))
        n = model.rowCount()
        if n:
            for r in range(min(n, 40)):  # what a window shows
                for c in range(model.columnCount()):
                    model.data(model.index(r, c))

    keys = labour.PEOPLE_FIGURES + labour.HOUSEHOLD_FIGURES + labour.ATTENDANCE_FIGURES
    worst = 0.0
    for key in keys:
        ms = timed(lambda k=key: open_list(k), 5)
        worst = max(worst, median(ms))
        timings.append((f"open list: {key}", fmt(ms)))

    def cold_list(key: str) -> None:
        labour_snapshot.forget(db)
        open_list(key)

    worst_cold = 0.0
    for key in ("labour_force", "households_with_stable_job", "zero_employment_households"):
        ms = timed(lambda k=key: cold_list(k), 3)
        worst_cold = max(worst_cold, median(ms))
        timings.append((f"open list cold (no snapshot yet): {key}", fmt(ms)))
    labour.compute_figures(db, today)

    # The ledger tab's first screen with a search typed.

    def search(text: str) -> None:
        fl = labour.figure_list(db, "labour_force", today)
        where = labour.rules(db, today).labour_where("p", use_index=False)  # as the tab does with a search
        query = fl.query().filtered(Condition.all_of([Condition(where), registry_search.person_condition(text)]))
        model = SqlTableModel(db, query, to_columns(fl.columns), order_by=fl.order_by)
        model.rowCount()
        model.row(0)

    for text in ("zy", "张", "3-2", "5201"):
        timings.append((f"labour ledger search '{text}'", fmt(timed(lambda t=text: search(t), 5))))

    # The usual case: the window's connection saves a job for a member of a zero-employment
    # household; the worker connection recounts the figures and reopens the zero-employment list.
    db.close()
    copy = path.with_name(f"tmp-employment-{size}.db")
    shutil.copyfile(path, copy)
    worker = open_database(copy, user="bench")
    ui = open_database(copy, user="bench")
    zero = labour.figure_ids(worker, "zero_employment_households", today)
    t_job, t_figures, t_list, shrink = [], [], [], []
    for hid in zero[:10]:
        lf_where = labour.rules(ui, today).labour_where("p", use_index=False)
        pid = ui.scalar(f"SELECT p.id FROM person p WHERE {lf_where} AND p.household_id = ? LIMIT 1", (hid,))
        t0 = time.perf_counter()
        employment.save_job(ui, {"person_id": pid, "kind": "就近就业", "sub_kind": "帮扶车间",
                                 "start_date": today.isoformat(), "monthly_income": "2600"}, confirm_overlap=True)
        t_job.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        f = labour.compute_figures(worker, today)
        t_figures.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ids = labour.figure_ids(worker, "zero_employment_households", today)
        t_list.append((time.perf_counter() - t0) * 1000)
        assert hid not in ids and len(ids) == f.zero_employment_households
        shrink.append(len(ids))
    people = [r[0] for r in ui.query(labour.labour_ledger_sql(ui, today)[0].replace(
        "SELECT ", "SELECT p.id AS _pid, ", 1) + " LIMIT 40")]
    t0 = time.perf_counter()
    training.save_course(ui, {"name": "bench 电焊", "kind": "技能提升", "start_date": today.isoformat(),
                              "hours": "40"}, people)
    t_course = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    after_course = labour.compute_figures(worker, today)
    t_course_figures = (time.perf_counter() - t0) * 1000
    worker.close()
    ui.close()
    for p in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        p.unlink(missing_ok=True)
    timings += [
        ("save a job (window connection)", fmt(t_job)),
        ("figures after that job (worker)", fmt(t_figures)),
        ("zero-employment list after it", f"{fmt(t_list)}   ({len(zero)} → {shrink[-1]} households over 10 jobs)"),
        ("save a course with 40 people", f"{t_course:.1f} ms"),
        ("figures after that course", f"{t_course_figures:.1f} ms "
                                      f"(training person-times this year {after_course.training_person_times_year})"),
        ("worst median list opening (snapshot current)", f"{worst:.1f} ms"),
        ("worst median list opening (cold)", f"{worst_cold:.1f} ms"),
    ]
    print_table(f"timings (load average {load:.1f} on {os.cpu_count()} CPUs when started)", timings)


if __name__ == "__main__":
    main()

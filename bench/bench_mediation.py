"""Mediation tab timings on the 23k demo database topped up to 5,000 cases: list, filter, search, report.

    .venv/bin/python bench/bench_mediation.py [--cases 5000] [--runs 15]

The demo database is copied (never changed); the extra cases are added through
app.models.mediation.mediation (create_case, change_status, change_level, add_followup) so they carry
parties, history and follow-ups like real ones. Timed as the tab does it: count + first page of
the SqlTableModel (sorted by urgency, overdue first), and the monthly report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ensure_demo, median, percentile, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models.core.db import open_database  # noqa: E402
from app.models.mediation import mediation as med  # noqa: E402
from app.models.mediation import mediation_report as rep  # noqa: E402


def top_up(db, target: int, seed: int = 7) -> int:
    """Add cases until there are `target`, walking a share of them through the workflow."""
    rng = random.Random(seed)
    have = int(db.scalar("SELECT count(*) FROM mediation_case WHERE deleted = 0"))
    people = [r[0] for r in db.query("SELECT id FROM person WHERE deleted = 0 ORDER BY rowid LIMIT 20000")]
    buildings = [r[0] for r in db.query("SELECT id FROM building WHERE deleted = 0")]
    cats = med.categories(db)
    today = dt.date.today()
    added = 0
    while have + added < target:
        with db.write():  # one transaction per batch (nested writes join it)
            for _ in range(min(500, target - have - added)):
                age = rng.randint(0, 700)
                got = today - dt.timedelta(days=age)
                a, b = rng.sample(people, 2)
                parties = [{"person_id": a}, {"person_id": b} if rng.random() < 0.7
                           else {"outsider_name": rng.choice(["欧阳明", "司马丽", "包工头陈"]), "outsider_phone": "13800000000"}]
                cid = med.create_case(db, title=rng.choice(["噪音扰民", "漏水", "物业费拖欠", "工资拖欠", "家庭矛盾"]),
                                      received_date=got, category=rng.choice(cats), source=rng.choice(med.SOURCES),
                                      building_id=rng.choice(buildings), parties=parties)
                step = min(age, 3)

                def d(n: int, got: dt.date = got, age: int = age) -> dt.date:
                    return got + dt.timedelta(days=min(n, age))

                r = rng.random()
                if r < 0.15 or age < 2:
                    pass
                elif r < 0.3:
                    med.change_status(db, cid, "调解中", date=d(1))
                    if rng.random() < 0.4:
                        med.change_level(db, cid, "社区", reason="楼栋调解未果", date=d(step))
                else:
                    med.change_status(db, cid, "调解中", date=d(1))
                    outcome = rng.choice(["已调解"] * 8 + ["调解不成", "已移交"])
                    med.change_status(db, cid, outcome, date=d(2), agreement_text="双方和解", referred_to="派出所")
                    if age > 10 and rng.random() < 0.8:
                        med.add_followup(db, cid, followup_date=d(5), visitor="网格员", outcome="满意")
                        if rng.random() < 0.7:
                            med.change_status(db, cid, "结案", date=d(6))
                added += 1
    return added


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    src = ensure_demo("23k")
    tmp = Path(tempfile.mkdtemp(prefix="anju-bench-med-")) / "bench.db"
    shutil.copy(src, tmp)
    db = open_database(tmp, user="bench")
    t0 = time.perf_counter()
    added = top_up(db, args.cases)
    fill = time.perf_counter() - t0
    total = db.scalar("SELECT count(*) FROM mediation_case WHERE deleted = 0")

    from app.ui.common.table_models import SqlTableModel  # the tab's model, used without a window
    from app.ui.mediation.mediation_tab import PartyNames, case_columns

    limits = med.limits(db)
    names = PartyNames(db)
    columns = case_columns(limits, names)
    order = f"{med.urgency_sql(limits)} DESC, c.received_date DESC, c.number DESC"

    def show(**filters) -> None:
        names.cache.clear()  # as the tab does on every refresh
        model = SqlTableModel(db, med.cases_query(**filters), columns, order_by=order)
        n = model.rowCount()
        for i in range(min(n, 40)):  # the rows a screen shows, with their display text
            for c in range(len(columns)):
                model.data(model.index(i, c))

    name = db.scalar("SELECT pe.name FROM mediation_party p JOIN person pe ON pe.id = p.person_id LIMIT 1")
    initials = db.scalar("SELECT pe.name_initials FROM mediation_party p JOIN person pe ON pe.id = p.person_id LIMIT 1")
    building = db.scalar("SELECT building_id FROM mediation_case WHERE building_id IS NOT NULL LIMIT 1")
    month = dt.date.today().strftime("%Y-%m")
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    cases = [
        ("list (all, overdue first)", lambda: show()),
        ("filter status=调解中", lambda: show(status="调解中")),
        ("filter 未办结 + level=社区", lambda: show(open_only=True, level="社区")),
        ("filter category=邻里 + building", lambda: show(category="邻里", building_id=building)),
        ("filter date range (90 days)", lambda: show(date_from=(dt.date.today() - dt.timedelta(days=90)).isoformat())),
        (f"search name “{name}”", lambda: show(search=name)),
        (f"search initials “{initials}”", lambda: show(search=initials)),
        ("search title “漏水”", lambda: show(search="漏水")),
        (f"monthly report {month}", lambda: rep.monthly_report(db, month)),
        (f"monthly report {last_month}", lambda: rep.monthly_report(db, last_month)),
    ]
    rows = [("load average (1 min)", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"),
            ("cases in database", f"{total} ({added} added in {fill:.1f} s through app.models.mediation.mediation)")]
    for label, fn in cases:
        ms = timed(fn, args.runs)
        rows.append((label, f"min {min(ms):6.1f} ms   median {median(ms):6.1f} ms   p90 {percentile(ms, 90):6.1f} ms"))
    print_table("Mediation (bench/bench_mediation.py)", rows)
    db.close()
    shutil.rmtree(tmp.parent, ignore_errors=True)


if __name__ == "__main__":
    main()

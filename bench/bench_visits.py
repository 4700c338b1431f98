"""Benchmark: due/overdue lists and keyboard visit entry on the 100,000-resident demo database.

    .venv/bin/python bench/bench_visits.py [--size 100k] [--runs 7]

Targets (issue places-visits): whole-community due list < 200 ms; one building < 20 ms;
30 visits entered by keyboard with no pause > 100 ms between saves.
The demo database is copied first so the benchmark's visits never change the shared file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:  # run as a script, bench/ is on the path (and bench/bench.py would shadow the bench package)
    from common import ensure_demo, median, percentile, print_table  # noqa: E402
except ImportError:  # python -m bench.bench_visits
    from bench.common import ensure_demo, median, percentile, print_table  # noqa: E402


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_due(db, runs: int) -> list[tuple[str, str]]:
    from app.models.places import rhythm

    today = dt.date.today()
    t0 = time.perf_counter()
    rows = rhythm.due_list(db, today)
    first = time.perf_counter() - t0
    whole = []
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = rhythm.due_list(db, today)
        whole.append(time.perf_counter() - t0)
    counts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        n = rhythm.overdue_count(db, today)
        counts.append(time.perf_counter() - t0)
    buildings = [r["id"] for r in db.query("SELECT id FROM building WHERE deleted = 0 ORDER BY number")]
    per_building = []
    for b in buildings:
        t0 = time.perf_counter()
        rhythm.due_list(db, today, building_id=b)
        per_building.append(time.perf_counter() - t0)
    head = db.one(
        "SELECT person_id FROM place_role WHERE place_table = 'building' AND person_id IS NOT NULL LIMIT 1"
    )
    per_head = []
    if head:
        for _ in range(runs):
            t0 = time.perf_counter()
            rhythm.due_list(db, today, head_person_id=head["person_id"])
            per_head.append(time.perf_counter() - t0)
    households = db.scalar("SELECT count(*) FROM household WHERE deleted = 0")
    residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
    return [
        ("database", f"{households} households, {residents} residents"),
        ("due list, whole community (first run)", _ms(first)),
        (
            f"due list, whole community (median / min of {runs})",
            f"{_ms(median(whole))} / {_ms(min(whole))}  ({len(rows)} rows)",
        ),
        (
            "overdue count, whole community (median / min)",
            f"{_ms(median(counts))} / {_ms(min(counts))}  ({n} overdue)",
        ),
        (f"due list, one building (median of {len(buildings)} buildings)", _ms(median(per_building))),
        (
            "due list, one building (p95 / max)",
            f"{_ms(percentile(per_building, 95))} / {_ms(max(per_building))}",
        ),
        ("due list, one building head (median)", _ms(median(per_head)) if per_head else "n/a"),
    ]


def bench_entry(db_path: Path) -> list[tuple[str, str]]:
    """Type 30 visits as a building head does, with the places tab open (its refreshes included)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.models.core.db import open_database
    from app.ui.common.context import AppContext
    from app.ui.common.events import DataEvents
    from app.ui.common.ops import OpRunner
    from app.ui.places.places_tab import PlacesTab

    app = QApplication.instance() or QApplication([])
    db = open_database(db_path)
    ctx = AppContext(db, OpRunner(db.path, db.user), DataEvents())
    t0 = time.perf_counter()
    tab = PlacesTab(ctx)
    init = time.perf_counter() - t0
    tab.resize(1280, 800)
    tab.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    building = db.scalar(
        "SELECT u.building_id FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
        "WHERE h.deleted = 0 AND h.status = '在住' GROUP BY u.building_id HAVING count(*) >= 30 LIMIT 1"
    )
    rooms = db.query(
        "SELECT u.number AS u, r.number AS r FROM household h JOIN room r ON r.id = h.room_id "
        "JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ? AND h.deleted = 0 AND h.status = '在住' "
        "AND (h.move_in_date IS NULL OR h.move_in_date <= date('now', 'localtime')) "
        "ORDER BY u.number, r.number LIMIT 30",
        (building,),
    )
    tab.select("building", building)
    tab.open_visit_entry()
    dlg = tab._visit_dialog
    ctx.runner.wait_idle()  # the tab's first counts and due list: the head starts typing after they show
    app.processEvents()

    # The longest single event the UI thread handles = the longest pause the typist can feel.
    longest = [0.0]

    def timed_key(widget, key) -> None:
        t = time.perf_counter()
        QTest.keyClick(widget, key)
        app.processEvents()
        longest[0] = max(longest[0], time.perf_counter() - t)

    def timed_text(widget, text: str) -> None:
        for ch in text:
            t = time.perf_counter()
            QTest.keyClicks(widget, ch)
            app.processEvents()
            longest[0] = max(longest[0], time.perf_counter() - t)

    per_visit = []
    saves = []
    before = db.scalar("SELECT count(*) FROM visit")
    for room in rooms:
        t_visit = time.perf_counter()
        dlg.room.setFocus()
        timed_text(dlg.room, f"{room['u']}-{room['r']}")
        timed_key(dlg.room, Qt.Key.Key_Return)
        timed_key(dlg.focusWidget(), Qt.Key.Key_1)
        timed_key(dlg.focusWidget(), Qt.Key.Key_Return)
        t = time.perf_counter()
        QTest.keyClick(dlg.findings, Qt.Key.Key_Return)  # Enter in the text field saves
        app.processEvents()
        saves.append(time.perf_counter() - t)
        per_visit.append(time.perf_counter() - t_visit)
    saved = db.scalar("SELECT count(*) FROM visit") - before
    # A person pauses between households: the debounced refreshes (due list, tree counts) then run on
    # the worker and land on the UI thread. Time every event-loop turn during the pauses.
    pause_longest = 0.0
    for room in rooms[:5]:
        t_end = time.perf_counter() + 1.5
        while time.perf_counter() < t_end:
            t = time.perf_counter()
            app.processEvents()
            pause_longest = max(pause_longest, time.perf_counter() - t)
            time.sleep(0.005)
        dlg.room.setFocus()
        timed_text(dlg.room, f"{room['u']}-{room['r']}")
        timed_key(dlg.room, Qt.Key.Key_Return)
        timed_key(dlg.focusWidget(), Qt.Key.Key_1)
        timed_key(dlg.focusWidget(), Qt.Key.Key_Return)
        timed_key(dlg.findings, Qt.Key.Key_Return)
    ctx.runner.wait_idle()
    app.processEvents()
    ctx.runner.shutdown()
    db.close()
    return [
        ("PlacesTab() construction", _ms(init)),
        ("visits saved by keyboard", f"{saved} of {len(rooms)}"),
        ("save (Enter → saved, form reset) median / max", f"{_ms(median(saves))} / {_ms(max(saves))}"),
        ("longest single keystroke handling (incl. saves)", _ms(max(longest[0], max(saves)))),
        ("whole visit, machine typing (median)", _ms(median(per_visit))),
        ("5 more visits with 1.5 s pauses: longest UI event turn", _ms(max(pause_longest, longest[0]))),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="100k")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    src = ensure_demo(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-visits.db"
        shutil.copy(src, path)
        from app.models.core.db import open_database

        db = open_database(path)
        print_table(
            f"due lists ({args.size}, connection as open_database makes it)", bench_due(db, args.runs)
        )
        db.close()
        print_table(f"keyboard visit entry ({args.size})", bench_entry(path))
    try:
        print(f"\nload average: {os.getloadavg()[0]:.2f} (2 cores shared)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Registry tab benchmark: keystroke-to-table latency of search-as-you-type, opening a household, scrolling.

    .venv/bin/python bench/bench_registry.py            # both demo databases (23k and 100k residents)
    .venv/bin/python bench/bench_registry.py --size 100k
    .venv/bin/python bench/bench_registry.py --db path/to/office.db

What is timed is what a clerk waits for: the real RegistryTab (offscreen) gets a key press
through QTest; the clock stops when the event loop has run the search, the table's visible
rows have been painted (a Paint event on the viewport, which asks the model for every visible
cell; if Qt had nothing to repaint, ``repaint()`` forces one) —
the detail pane is left out: it follows SUMMARY_DELAY_MS after the clerk pauses. Queries are realistic and typed one key at a time:
names, pinyin initials, full pinyin, ID-number fragments, phone fragments, addresses, and
clearing the box.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common.py puts the project root on the path
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import ensure_demo, median, percentile, print_table  # noqa: E402


def queries(db, rng: random.Random) -> list[str]:
    # A shuffle drawn from `rng` (SQLite's random() cannot be seeded): the same words in every run.
    spread = rng.randrange(1, 1_000_003)
    people = db.query(
        "SELECT p.name, p.name_initials, p.name_pinyin, p.id_number, p.phone FROM person p "
        "WHERE p.deleted = 0 AND p.household_id IS NOT NULL ORDER BY (p.rowid * ?) % 1000003 LIMIT 60", [spread]
    )
    rooms = db.query(
        "SELECT b.number AS b, u.number AS u, r.number AS r FROM household h JOIN room r ON r.id = h.room_id "
        "JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        "ORDER BY (h.rowid * ?) % 1000003 LIMIT 12", [spread]
    )
    out: list[str] = []
    for i in range(8):
        out.append(people[i]["name"])  # 王 → 王芳
    for i in range(8, 14):
        out.append(people[i]["name_initials"])  # z → zy → zyh
    for i in range(14, 17):
        out.append(people[i]["name_pinyin"][:5])  # zhouy
    for i in range(17, 25):
        if people[i]["id_number"]:
            out.append(people[i]["id_number"][-6:])  # last six digits
    for i in range(25, 28):
        if people[i]["id_number"]:
            out.append(people[i]["id_number"][:10])  # region + birth year
    for i in range(28, 34):
        if people[i]["phone"]:
            out.append(people[i]["phone"][-5:])  # tail of a phone number
    for r in rooms[:6]:
        out.append(f"{r['b']}-{r['u']}-{r['r']}")
    for r in rooms[6:10]:
        out.append(f"{r['b']}栋{r['u']}单元")
    rng.shuffle(out)
    return out


def type_char(widget, ch: str) -> None:
    """One key as a clerk types it: a key press for ASCII, an input-method commit for Chinese."""
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    if ch.isascii():
        QTest.keyClick(widget, ch)
    else:
        event = QInputMethodEvent()
        event.setCommitString(ch)
        QApplication.sendEvent(widget, event)


def bench(path: Path) -> list[tuple[str, str]]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from PySide6.QtCore import qInstallMessageHandler

    # The offscreen platform says "does not support propagateSizeHints()" for every dialog shown.
    qInstallMessageHandler(lambda _mode, _ctx, msg: None if "propagateSizeHints" in msg else print(msg, file=sys.stderr))
    from app.models.core.db import open_database
    from app.models.registry import registry_search
    from app.ui.common.context import AppContext
    from app.ui.common.events import DataEvents
    from app.ui.common.ops import OpRunner

    db = open_database(path, user="bench")
    residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
    ctx = AppContext(db, OpRunner(path, "bench"), DataEvents())
    from app.ui.registry.registry_tab import RegistryTab

    t0 = time.perf_counter()
    tab = RegistryTab(ctx)
    init_ms = (time.perf_counter() - t0) * 1000
    tab.resize(1400, 800)
    tab.show()
    app.processEvents()
    box, view = tab.search_box, tab.table

    from PySide6.QtCore import QEvent, QObject

    class PaintSeen(QObject):
        seen = False

        def eventFilter(self, obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                self.seen = True
            return False

    paint = PaintSeen()
    view.viewport().installEventFilter(paint)

    def settle() -> None:
        """Until the search has run and the table's viewport has painted the new rows."""
        for _ in range(50):
            app.processEvents()
            if not box._timer.isActive():
                break
        paint.seen = False
        app.processEvents()  # the posted update paints here (offscreen backing store)
        if not paint.seen:
            view.viewport().repaint()

    rng = random.Random(7)
    qs = queries(db, rng)
    times: list[float] = []
    per_kind: dict[str, list[float]] = {}
    box.setFocus()
    for _round in range(2):
        for q in qs:
            kind = registry_search.classify(q)
            for ch in q:
                t = time.perf_counter()
                type_char(box, ch)
                settle()
                ms = (time.perf_counter() - t) * 1000
                times.append(ms)
                per_kind.setdefault(kind, []).append(ms)
            t = time.perf_counter()
            QTest.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            QTest.keyClick(box, Qt.Key.Key_Delete)
            settle()
            ms = (time.perf_counter() - t) * 1000
            times.append(ms)
            per_kind.setdefault("clear", []).append(ms)

    # Opening a household card with its members.
    from app.ui.registry.household_dialog import HouseholdDialog

    ids = [r[0] for r in db.query("SELECT household_id FROM household_order WHERE state = 0 ORDER BY random() LIMIT 40")]
    open_times = []
    for hid in ids:
        t = time.perf_counter()
        dialog = HouseholdDialog(ctx, hid, tab)
        dialog.show()
        app.processEvents()
        open_times.append((time.perf_counter() - t) * 1000)
        dialog.dirty = False
        dialog.done(0)
        dialog.deleteLater()
    app.processEvents()

    # Scrolling the whole list: page fetches while the view moves to the bottom.
    box.clear()
    settle()
    model = tab.model
    n = model.rowCount()
    page_times = []
    biggest = 0
    original = model._fetch

    def timed_fetch(page_no: int):
        nonlocal biggest
        t = time.perf_counter()
        rows = original(page_no)
        page_times.append((time.perf_counter() - t) * 1000)
        biggest = max(biggest, len(rows))
        return rows

    model._fetch = timed_fetch
    step = max(1, n // 60)
    scroll_frames = []
    for row in range(0, n, step):
        t = time.perf_counter()
        view.scrollTo(model.index(row, 0))
        view.viewport().repaint()
        scroll_frames.append((time.perf_counter() - t) * 1000)
    model._fetch = original
    tab.close()
    ctx.runner.shutdown()
    db.close()

    def fig(values: list[float]) -> str:
        return f"median {median(values):6.1f} ms   p95 {percentile(values, 95):6.1f} ms   max {max(values):6.1f} ms"

    rows = [
        ("database", f"{path.name}: {residents:,} residents, {n:,} households listed"),
        ("tab __init__", f"{init_ms:.1f} ms"),
        (f"keystroke → table ({len(times)} keys)", fig(times)),
    ]
    for kind, values in sorted(per_kind.items()):
        rows.append((f"  {kind} ({len(values)} keys)", fig(values)))
    rows += [
        (f"open household card ({len(open_times)})", fig(open_times)),
        (f"scroll frames ({len(scroll_frames)})", fig(scroll_frames)),
        (f"page fetches ({len(page_times)})", fig(page_times) + f"   rows per fetch ≤ {biggest}"),
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["23k", "100k"], action="append")
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    paths = [args.db] if args.db else [ensure_demo(s) for s in (args.size or ["23k", "100k"])]
    for path in paths:
        print_table(f"registry search and list — {path.name}", bench(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

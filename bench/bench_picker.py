"""Resident search boxes outside the registry: CPU per keystroke at 100,000 residents.

    .venv/bin/python bench/bench_picker.py                 # the 100k demo (bench/out/demo-100k.db)
    .venv/bin/python bench/bench_picker.py --db /tmp/d100.db
    .venv/bin/python bench/bench_picker.py --db /tmp/d100.db --words 532,l,zy  # chosen words only

Every box that reads what is typed with the registry's grammar (``registry_search``) is timed
as the clerk types realistic words one character at a time (bench_registry.queries(): names,
initials, pinyin, ID-number heads and tails, phone tails, rooms, plus ID prefixes nearly everyone
shares). What is timed is process CPU time of what runs on the UI thread for one keystroke:

- picker: the real PersonPicker (offscreen) runs its search (count and the first page).
- role: places.role_candidates (the building-head dialog's search).
- print: forms.find_persons (the print dialog's resident search, 50 rows).
- mediation: mediation.search_persons (the case dialog's party search).
- jobs / intentions: the employment tab's lists filtered by the search (its capped count and the
  first page, as the tab runs them; a keystroke refreshes only the list whose box changed).
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

from bench_registry import queries  # noqa: E402
from common import ensure_demo, median, open_demo, percentile  # noqa: E402

# Words that match most of the county, typed as a clerk starts them: ID-number heads (the region
# code), one pinyin letter, a room, a household number from its start.
BROAD = ["5321", "522", "l", "zh", "1-2-501", "HLX-0071"]


def words(db, rng: random.Random) -> list[str]:
    return [*BROAD, *queries(db, rng)]


def run(path: Path, chosen: list[str] | None, only: list[str] | None = None) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.models.employment import employment, intentions, labour
    from app.models.forms import forms
    from app.models.mediation import mediation
    from app.models.places import places
    from app.models.registry import registry_search
    from app.ui.employment.employment_tab import SEARCH_CAP
    from app.ui.employment.person_picker import PersonPicker

    db = open_demo(path)
    residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
    community = db.scalar("SELECT id FROM community ORDER BY id LIMIT 1")
    rules = labour.rules(db)
    picker = PersonPicker(db)
    app.processEvents()

    def picker_box(text: str) -> None:
        picker.search.setText(text)
        picker.apply_search()
        picker.model.row(0)  # the first page, as the table paints it

    def listed(query, order: str) -> None:  # noqa: ANN001 - a ListQuery
        # As the employment tab's model does: the ids of the first SEARCH_CAP + 1 rows in the list's
        # order (the capped count and the listed rows in one walk), then the first page's columns.
        query.ids(db, order, SEARCH_CAP + 1)

    boxes = {
        "picker": picker_box,
        "role": lambda t: places.role_candidates(db, t, community),
        "print": lambda t: forms.find_persons(db, t, 50),
        "mediation": lambda t: mediation.search_persons(db, t),
        "jobs": lambda t: listed(employment.jobs_query(rules, state="all",
                                                       search=registry_search.person_condition(t, db=db)),
                                 "e.start_date DESC"),
        "intentions": lambda t: listed(intentions.intentions_query(state="all",
                                                                   search=registry_search.person_condition(t, db=db)),
                                       "i.recorded_date DESC"),
    }
    typed = chosen or words(db, random.Random(7))
    print(f"# {path.name}: {residents:,} residents; {len(typed)} words, "
          f"{sum(len(w) for w in typed)} keystrokes per box (CPU ms per keystroke)")
    print(f"{'box':<11}{'median':>8}{'p90':>8}{'max':>8}   worst keystroke")
    for name, box in boxes.items():
        if only and name not in only:
            continue
        times: list[tuple[float, str]] = []
        for word in typed:
            for i in range(1, len(word) + 1):
                text = word[:i]
                t = time.process_time()
                box(text)
                times.append(((time.process_time() - t) * 1000, text))
        ms = [t for t, _ in times]
        worst = max(times)
        print(f"{name:<11}{median(ms):8.1f}{percentile(ms, 90):8.1f}{worst[0]:8.1f}   {worst[1]!r}", flush=True)
        if chosen:
            print("   " + ", ".join(f"{w!r} {t:.0f}" for t, w in times))
    picker.close()
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a database (default: the 100k demo, generated once)")
    ap.add_argument("--words", help="comma-separated words to type instead of the realistic list")
    ap.add_argument("--boxes", help="comma-separated boxes to time (default: all)")
    args = ap.parse_args()
    path = args.db or ensure_demo("100k")
    t0 = time.perf_counter()
    run(path, args.words.split(",") if args.words else None, args.boxes.split(",") if args.boxes else None)
    print(f"(ran {time.perf_counter() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Printed forms: time to preview each form once, and a batch of 300 household cards to PDF.

    .venv/bin/python bench/bench_printing.py [--size 23k|100k] [--cards 300]

Targets (issue): any single form previews in < 500 ms; 300 household cards to PDF in < 30 s.
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

from common import ensure_demo, median, print_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="23k")
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from app.models.core.db import open_database
    from app.models.forms import forms
    from app.ui.printing import printing

    app = QApplication.instance() or QApplication(sys.argv[:1])
    path = ensure_demo(args.size)
    db = open_database(path)
    ctx = type("Ctx", (), {"db": db})()
    out_dir = Path(tempfile.mkdtemp(prefix="anju-print-bench-"))

    building = db.scalar("SELECT name FROM building WHERE deleted = 0 ORDER BY number LIMIT 1")
    household = db.scalar(
        "SELECT h.number FROM household h WHERE h.deleted = 0 AND h.status = '在住' "
        "AND (SELECT count(*) FROM person p WHERE p.household_id = h.id) >= 5 LIMIT 1"
    )
    case = db.scalar(
        "SELECT number FROM mediation_case WHERE deleted = 0 AND outcome = '已调解' AND agreement_text <> '' LIMIT 1"
    )
    course = db.scalar(
        "SELECT c.name FROM training_course c WHERE c.deleted = 0 ORDER BY "
        "(SELECT count(*) FROM training_attendance a WHERE a.course_id = c.id) DESC LIMIT 1"
    )
    person = db.scalar("SELECT id FROM person WHERE deleted = 0 AND household_id IS NOT NULL LIMIT 1")
    month = db.scalar("SELECT substr(max(received_date), 1, 7) FROM mediation_case WHERE deleted = 0")
    singles = [
        ("household-card", {"household": household}),
        ("residence-certificate", {"person": person}),
        ("round-sheet", {"building": building}),
        ("visit-form", {}),
        ("visit-form", {"household": household}),
        ("mediation-agreement", {"case": case}),
        ("monthly-disputes", {"month": month}),
        ("training-attendance", {"course": course}),
    ]
    rows = []
    for form, selector in singles:
        pdf_times, preview_times, pages = [], [], 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            pages = printing.save_form_pdf(db, form, out_dir / f"{form}.pdf", **selector)
            pdf_times.append((time.perf_counter() - t0) * 1000)
            # What a clerk waits for: build the preview dialog and paint its pages.
            t0 = time.perf_counter()
            job = printing.PrintJob.select(db, form, **selector)
            preview = printing.PrintPreview(ctx, job)
            preview.dialog.show()  # the dialog lays out and paints every page when shown
            app.processEvents()
            preview_times.append((time.perf_counter() - t0) * 1000)
            preview.dialog.close()
            preview.dialog.deleteLater()
            app.processEvents()
        label = f"{forms.FORMS[form].title} {'/'.join(selector.values()) or '空白'}"
        rows.append((label, f"preview {median(preview_times):6.0f} ms   pdf {median(pdf_times):6.0f} ms   {pages} 页"))
    print_table(f"single forms ({args.size} demo, median of {args.repeat}; target preview < 500 ms)", rows)

    ids = [
        r["id"]
        for r in db.query(
            "SELECT h.id FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
            "JOIN building b ON b.id = u.building_id WHERE h.deleted = 0 AND h.status = '在住' "
            "ORDER BY b.number, u.number, r.number LIMIT ?",
            (args.cards,),
        )
    ]
    job = printing.PrintJob("household-card", ids, dt.date.today())
    ticks = []

    def progress(done: int, total: int, text: str) -> bool:
        ticks.append(time.perf_counter())
        return True

    out = out_dir / "cards.pdf"
    t0 = time.perf_counter()
    pages = printing.write_pdf(db, job, out, progress)
    took = time.perf_counter() - t0
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    print_table(
        f"batch: {len(ids)} household cards to PDF (target < 30 s, progress + cancel between cards)",
        [
            ("total", f"{took:.1f} s"),
            ("per card", f"{took / len(ids) * 1000:.0f} ms"),
            ("longest gap between progress updates", f"{max(gaps) * 1000:.0f} ms"),
            ("pages", str(pages)),
            ("file size", f"{out.stat().st_size / 1e6:.1f} MB"),
        ],
    )
    db.close()
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

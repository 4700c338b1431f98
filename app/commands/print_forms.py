"""`anju print FORM --pdf OUT.pdf [--building | --household | --case | --month | --course [--session] | --person]`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.models.core.errors import ValidationError
from app.models.forms import forms

SELECTORS = {
    "building": "楼栋名称或楼号（整栋批量）",
    "household": "户号",
    "case": "调解案件编号，如 2026-0007",
    "month": "月份 YYYY-MM",
    "course": "培训班名称",
    "session": "培训课次：第几次（如 2）或上课日期（如 2026-03-05），与 --course 一起用；不写则每次课各一张签到表",
    "person": "身份证号或人员编号",
}


def register(sub: argparse._SubParsersAction) -> None:
    lines = [f"  {k:<22} {f.title}（可用 {' '.join('--' + s for s in f.selectors)}）" for k, f in forms.FORMS.items()]
    p = sub.add_parser(
        "print",
        help="print forms to PDF (household cards, certificates, round sheets…)",
        description="把表单打印为 PDF（A4）。表单：\n" + "\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("form", choices=list(forms.FORMS), metavar="FORM", help="表单名称，见上")
    p.add_argument("--pdf", type=Path, required=True, help="输出的 PDF 文件")
    for name, help_text in SELECTORS.items():
        p.add_argument(f"--{name}", help=help_text)
    p.add_argument("--date", help="打印日期 YYYY-MM-DD（默认今天）")
    p.add_argument("--quiet", action="store_true", help="不显示进度")
    add_db_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # A PDF needs Qt's font machinery; a window system does not (offscreen works on servers).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from app.ui.printing import printing

    today = None
    if args.date:
        try:
            today = dt.date.fromisoformat(args.date)
        except ValueError:
            raise ValidationError(f"日期“{args.date}”格式不对，应为 YYYY-MM-DD。", field="date") from None
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    db = open_db(args)
    try:
        selector = {name: getattr(args, name) for name in SELECTORS}
        job = printing.PrintJob.select(db, args.form, selector, today=today)
        started = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int, text: str) -> None:
            now = time.perf_counter()
            if not args.quiet and total > 1 and (now - last[0] > 1 or done == total):
                last[0] = now
                print(f"\r{done}/{total} {text}    ", end="", file=sys.stderr, flush=True)

        pages = printing.write_pdf(db, job, args.pdf, progress)
        if not args.quiet and len(job.record_ids) > 1:
            print(file=sys.stderr)
    finally:
        db.close()
    took = time.perf_counter() - started
    print(f"已生成 {job.spec.title} {len(job.record_ids)} 份，共 {pages} 页 → {args.pdf}（{took:.1f} 秒）")
    print(job.id_notice)
    return 0

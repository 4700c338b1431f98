"""`anju export-excel`: write a ledger to an .xlsx workbook in the county's layout."""

from __future__ import annotations

import argparse
import sys
import time

from app.cli import add_db_argument, open_db
from app.models.excel.excel_export import FULL_EXPORT_REASONS, export_ledger
from app.models.excel.ledgers import LEDGERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-excel",
        help="export a ledger to Excel (.xlsx)",
        description="导出台账到 Excel。台账：" + "，".join(f"{k}（{v.title}）" for k, v in LEDGERS.items()),
    )
    add_db_argument(p)
    p.add_argument("--ledger", required=True, choices=list(LEDGERS), help="which ledger")
    p.add_argument("--out", required=True, help="the .xlsx file to write")
    p.add_argument("--masked", action="store_true",
                   help="the masked variant: ID numbers keep the first 6 and last 4, phones 138****1234, "
                        "no birth dates or ages")
    p.add_argument("--reason", help="why whole ID numbers and phones are exported (required without --masked "
                                    "on a database with accounts; kept in the audit): "
                                    + "、".join(FULL_EXPORT_REASONS) + " or a few words")
    p.add_argument("--note", help="more about the reason (required with 其他)")
    p.add_argument("--month", help="YYYY-MM for monthly-disputes (default: this month)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    with open_db(args) as db:
        options = {"month": args.month} if args.month and args.ledger == "monthly-disputes" else {}
        n = export_ledger(db, args.ledger, args.out, masked=args.masked, options=options, reason=args.reason,
                          note=args.note)
    print(f"已导出 {LEDGERS[args.ledger].title} {n} 行 → {args.out}（{time.perf_counter() - t0:.1f} 秒）", file=sys.stdout)
    if n.forced_masked:
        print("注意：您的账号只能导出脱敏版本，文件已脱敏。", file=sys.stdout)
    if n.cut_notice():
        print(n.cut_notice(), file=sys.stderr)
    return 0

"""`anju check`: verify a database file without changing it."""

from __future__ import annotations

import argparse
import json

from app.cli import add_db_argument, resolve_db
from app.models.check import check_database
from app.models.db import open_database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="检查数据库完整性 / check a database file")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = open_database(resolve_db(args), create=False)
    try:
        report = check_database(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": report.problems, "rows": report.rows}, ensure_ascii=False))
    elif report.ok:
        print(f"数据库正常 / OK：{report.tables} 张表，{report.rows:,} 行。")
    else:
        for problem in report.problems:
            print(f"问题：{problem}")
    return 0 if report.ok else 1

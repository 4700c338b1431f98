"""`anju check`: verify a database file without changing it; `--rescue-to` copies what is still readable;
`--compact` folds the change log (what every PC holds) into the rows and shrinks the file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import add_db_argument, open_db, unlock_if_encrypted
from app.models.core.check import check_database
from app.models.core.db import recovery_advice
from app.start_options import resolve_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="检查数据库完整性 / check a database file")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--rescue-to", type=Path, metavar="NEW.db",
                   help="copy every row still readable into this new database file (the damaged file is not changed)")
    p.add_argument("--compact", action="store_true",
                   help="fold the change-log entries every office PC already has into the records, then shrink "
                        "the file (整理变更记录并压缩文件)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = resolve_db(args)
    if args.rescue_to:
        unlock_if_encrypted(args, path)  # an encrypted file is rescued into an encrypted copy
        return _rescue(path, args.rescue_to)
    if args.compact:
        return _compact(args, path)
    # Read-only: checking a file must never change it, whatever state it is in.
    db = open_db(args, path=path, read_only=True, old_ok=True, damaged_ok=True)
    try:
        report = check_database(db)
    finally:
        db.close()
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": report.problems, "rows": report.rows,
                          "integrity_problems": report.integrity_problems,
                          "damaged_tables": report.damaged_tables}, ensure_ascii=False))
    elif report.ok:
        print(f"数据库正常 / OK：{report.tables} 张表，{report.rows:,} 行。")
    else:
        for problem in report.problems:
            print(f"问题：{problem}")
        if report.damaged:
            print(recovery_advice(path))
    return 0 if report.ok else 1


def _rescue(path: Path, target: Path) -> int:
    from app.models.core.rescue import rescue_database

    def show(text: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{text}".ljust(40), end="", file=sys.stderr, flush=True)

    report = rescue_database(path, target, progress=show)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for line in report.lines():
        print(line)
    return 0


def _compact(args: argparse.Namespace, path: Path) -> int:
    from app.models.sync.compact import compact

    db = open_db(args, path=path, read_only=False)
    try:
        db.ensure_writable()
        report = compact(db.conn, db.site_id)
    finally:
        db.close()
    print(f"已整理变更记录 / compacted：移除 {report.removed:,} 条，保留 {report.kept:,} 条；"
          f"文件 {report.size_before / 1e6:.1f} MB → {report.size_after / 1e6:.1f} MB"
          f"{'（已压缩）' if report.vacuumed else ''}。")
    if args.json:
        print(json.dumps({"removed": report.removed, "kept": report.kept, "size_before": report.size_before,
                          "size_after": report.size_after, "vacuumed": report.vacuumed}))
    return 0

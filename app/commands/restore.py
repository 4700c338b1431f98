"""`anju restore`: replace the database with a checked backup (the current file is kept as a backup)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.models.core.errors import DamagedDatabaseError, KnownError
from app.models.core.restore import check_backup, restore_database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="从备份恢复 / restore the database from a backup")
    add_db_argument(p)
    p.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE", help="backup file")
    p.add_argument("--yes", action="store_true", help="do not ask (needed when not run at a terminal)")
    p.add_argument("--other-community", action="store_true",
                   help="allow a backup of another community (asked at a terminal)")
    p.set_defaults(func=run)


def _ask(question: str) -> bool:
    print(f"{question} [y/N] ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes", "是")


def run(args: argparse.Namespace) -> int:
    try:
        db = open_db(args)
    except DamagedDatabaseError:
        # Too damaged to open for writing: exactly when a backup is needed. Read-only, the login
        # is still checked; the damaged file is kept whole beside the restored one.
        db = open_db(args, read_only=True, old_ok=True)
    try:
        report = check_backup(db, args.source)
        for line in report.summary_lines():
            print(line)
        interactive = sys.stdin.isatty()
        if not report.same_community and not args.other_community:
            if not interactive:
                raise KnownError(
                    f"这个备份是“{report.community_name or '（未设置）'}”的数据，不是当前社区"
                    f"“{report.current_community_name}”的。确要恢复，请加 --other-community。数据库未作任何改动。"
                )
            if not _ask("这个备份属于另一个社区，恢复后本机将变成那个社区的台账。确定吗？"):
                print("已取消，数据库未作任何改动。")
                return 1
        if not args.yes:
            if not interactive:
                raise KnownError("恢复会用备份替换当前数据库：不在终端运行时请加 --yes 确认。数据库未作任何改动。")
            if not _ask("用这个备份替换当前数据库吗？（当前数据库会先另存为“恢复前自动备份”）"):
                print("已取消，数据库未作任何改动。")
                return 1
        restored, prepared = restore_database(db, args.source, other_community_ok=True)
        db = restored
    finally:
        db.close()
    print(f"已恢复 / restored from: {prepared.report.path}")
    print(f"恢复前的数据库已另存为 / previous file kept as: {prepared.safety_copy}")
    return 0

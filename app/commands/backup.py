"""`anju backup`: a consistent copy of the database file."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.models.core.backup import backup_to


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="备份数据库 / back up the database")
    add_db_argument(p)
    p.add_argument("--to", type=Path, required=True, help="backup file or folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = open_db(args)
    try:
        path = backup_to(db, args.to)
    finally:
        db.close()
    print(f"已备份到 / backed up to: {path}")
    return 0

"""`anju sync-import`: apply every new sync bundle in a folder (a new PC joins into a new database)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from app.cli import add_db_argument, resolve_db
from app.commands.sync_export import read_passphrase
from app.models.db import open_database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync-import", help="从U盘导入同步文件 / apply the sync bundles in a folder")
    add_db_argument(p)
    p.add_argument("--from", dest="source", type=Path, required=True, help="folder on the USB stick")
    p.add_argument("--passphrase-file", type=Path, required=True, help="file holding the office sync passphrase")
    p.add_argument("--json", action="store_true", help="last line: one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.sync import import_from_folder

    phrase = read_passphrase(args.passphrase_file)
    path = resolve_db(args)
    joining = not path.exists()
    # A new PC joins into a temporary file first, so a failed first sync leaves no empty database.
    target = path.with_name(path.name + ".joining") if joining else path
    if joining:
        for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            p.unlink(missing_ok=True)
    db = open_database(target)
    try:
        report = import_from_folder(db, args.source, phrase)
    finally:
        db.close()
    if joining:
        if report.applied:
            os.replace(target, path)
            print(f"已建立本机数据库：{path}")
        else:
            for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
                p.unlink(missing_ok=True)
            print("没有可导入的数据，未建立数据库。")
    for line in report.lines():
        print(line)
    if args.json:
        print(json.dumps(report.to_json()))
    return 1 if report.rejected else 0

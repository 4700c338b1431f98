"""`anju sync-import`: apply every new sync bundle in a folder (a new PC joins into a new database)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.commands.sync_export import read_passphrase
from app.models.core.safe_files import atomic_path
from app.models.sync.sync import MASS_DELETE_RECORDS, MASS_DELETE_SHARE, SyncReport
from app.start_options import resolve_db

# Exit codes: every new file applied; some applied and some refused; none applied because every
# new file was refused (a database or folder problem exits 2, like every other command).
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_PARTLY = 3
EPILOG = (
    "exit codes / 退出码: 0 = every new bundle applied (全部导入); 3 = partly: some bundles applied, some "
    "refused (部分导入：见“未导入”一节); 1 = bundles refused and nothing applied (全部未导入); "
    "2 = error, nothing changed (出错，未作改动). Each refused file is named with its reason; nothing of a "
    "refused file is applied."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync-import", help="从U盘导入同步文件 / apply the sync bundles in a folder", epilog=EPILOG)
    add_db_argument(p)
    p.add_argument("--from", dest="source", type=Path, required=True, help="folder on the USB stick")
    p.add_argument("--passphrase-file", type=Path, required=True, help="file holding the office sync passphrase")
    p.add_argument("--allow-mass-delete", action="store_true",
                   help=f"apply bundles deleting more than {MASS_DELETE_RECORDS} records or "
                        f"{MASS_DELETE_SHARE:.0%} of the residents (refused without it)")
    p.add_argument("--json", action="store_true", help="last line: one JSON object")
    p.set_defaults(func=run)


class _NothingApplied(Exception):
    def __init__(self, report: SyncReport) -> None:
        super().__init__()
        self.report = report


def run(args: argparse.Namespace) -> int:
    from app.models.sync.sync import import_from_folder

    phrase = read_passphrase(args.passphrase_file)
    path = resolve_db(args)
    if path.exists():
        db = open_db(args, path=path)
        try:
            report = import_from_folder(db, args.source, phrase, allow_mass_delete=args.allow_mass_delete)
            if report.files_applied:
                from app.models.sync.compact import compact

                compact(db.conn, db.site_id)  # what every PC now holds is folded into the rows
        finally:
            db.close()
    else:
        # A new PC joins into a temporary file first, so a failed first sync (nothing to apply, a
        # full disk, a kill) leaves no half-made database behind.
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_path(path, what="本机数据库") as part:
                db = open_db(args, path=part, create=True)
                try:
                    report = import_from_folder(db, args.source, phrase, allow_mass_delete=args.allow_mass_delete)
                finally:
                    db.close()
                if not report.applied:
                    raise _NothingApplied(report)
            print(f"已建立本机数据库：{path}")
        except _NothingApplied as nothing:
            report = nothing.report
            print("没有可导入的数据，未建立数据库。")
    for line in report.lines():
        print(line)  # file names on a stick are anyone's: the CLI shows control characters escaped
    if args.json:
        print(json.dumps(report.to_json()))
    return {"ok": EXIT_OK, "partly": EXIT_PARTLY}.get(report.outcome, EXIT_REFUSED)

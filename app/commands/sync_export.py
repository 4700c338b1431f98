"""`anju sync-export`: write this PC's sync bundle (every op the stick lacks) into a folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.models.core.errors import KnownError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync-export", help="导出同步文件到U盘 / write a sync bundle to a folder")
    add_db_argument(p)
    p.add_argument("--to", type=Path, required=True, help="folder on the USB stick")
    p.add_argument("--passphrase-file", type=Path, required=True, help="file holding the office sync passphrase")
    p.add_argument("--full", action="store_true", help="every op, even those already on the stick")
    p.add_argument("--json", action="store_true", help="last line: one JSON object")
    p.set_defaults(func=run)


def read_passphrase(path: Path) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KnownError(f"无法读取口令文件“{path}”：{exc}") from exc
    phrase = text.strip("\r\n")
    if not phrase:
        raise KnownError(f"口令文件“{path}”是空的。")
    return phrase


def run(args: argparse.Namespace) -> int:
    from app.models.sync.sync import export_to_folder

    phrase = read_passphrase(args.passphrase_file)
    db = open_db(args)
    try:
        path, n = export_to_folder(db, args.to, phrase, full=args.full)
    finally:
        db.close()
    if path is None:
        print("没有需要导出的新修改（U盘上已有本机的全部数据）。")
    else:
        print(f"已导出 {n} 条修改：{path}")
    if args.json:
        print(json.dumps({"exported": n, "file": str(path) if path else None}, ensure_ascii=False))
    return 0

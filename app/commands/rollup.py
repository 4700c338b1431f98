"""`anju rollup`: combine several communities into one read-only database for the street office or county."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from app.cli import add_db_argument, open_db
from app.start_options import resolve_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollup", help="汇总多个社区（街道/县）/ roll several communities into one database")
    add_db_argument(p)
    p.add_argument("sources", nargs="+", type=Path, help="community database files, bundles or bundle folders")
    p.add_argument("--passphrase-file", type=Path, help="needed when a source is a sync bundle")
    p.add_argument("--json", action="store_true", help="last line: one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.sync_export import read_passphrase
    from app.models.sync.rollup import rollup

    phrase = read_passphrase(args.passphrase_file) if args.passphrase_file else None
    if resolve_db(args).exists():
        open_db(args).close()  # a street office's file with accounts needs its own credentials
    t0 = time.perf_counter()

    def show(done: int, total: int, text: str) -> None:
        print(f"[{done}/{total}] {text}", flush=True)

    report = rollup(resolve_db(args), args.sources, passphrase=phrase, progress=show)
    for line in report.lines():
        print(line)
    print(f"用时 {time.perf_counter() - t0:.1f} 秒。")
    if args.json:
        print(json.dumps({"communities": len(report.communities), "rows": report.rows,
                          "persons": sum(c[2] for c in report.communities)}))
    return 0

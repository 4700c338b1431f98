"""What the file checks cost: opening (writable and read-only), quick_check before the first write, check.

Run: .venv/bin/python bench/bench_dbopen.py [--db PATH] [--size 100k]
The quick_check figure decides where the check runs: it reads the whole file, so it runs once
per process before the first write (and in the window's background), never on every open.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, ensure_demo, median, print_table

from app.models.core import sqlite as sqlite3

sys.path.insert(0, str(ROOT))

from app.models.core import db as dbmod  # noqa: E402
from app.models.core.check import check_database  # noqa: E402
from app.models.core.db import open_database  # noqa: E402


def _timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, help="an existing database (default: the bench demo of --size)")
    parser.add_argument("--size", default="100k")
    args = parser.parse_args()
    path = args.db or ensure_demo(args.size)
    open_database(path, create=False).close()  # migrate once, outside the figures
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "bench.db"
        shutil.copy(path, work)
        with open_database(work, create=False) as db:
            people = db.scalar("SELECT count(*) FROM person")
        size_mb = work.stat().st_size / 1e6

        def open_close(read_only: bool | None) -> None:
            open_database(work, create=False, read_only=read_only).close()

        def quick_check() -> None:
            conn = sqlite3.connect(f"{work.resolve().as_uri()}?mode=ro", uri=True)
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            conn.close()

        def first_write() -> None:
            dbmod._HEALTHY.clear()
            with open_database(work, create=False) as db:
                db.ensure_writable()

        def full_check() -> None:
            with open_database(work, create=False, read_only=True) as db:
                assert check_database(db).ok

        rows = [
            ("residents", f"{people:,}"),
            ("file size", f"{size_mb:,.0f} MB"),
            ("open + close, writable", f"{_timed(lambda: open_close(None)) * 1000:.1f} ms"),
            ("open + close, read-only", f"{_timed(lambda: open_close(True)) * 1000:.1f} ms"),
            ("PRAGMA quick_check", f"{_timed(quick_check, 3):.2f} s"),
            ("open + first write guard (quick_check)", f"{_timed(first_write, 3):.2f} s"),
            ("anju check (integrity, foreign keys, ops)", f"{_timed(full_check, 1):.2f} s"),
        ]
    print_table("Database file checks", rows)


if __name__ == "__main__":
    main()

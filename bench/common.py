"""Shared by the benchmark scripts: demo databases of fixed sizes, made once and reused."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

SIZES = {"23k": 5300, "100k": 25000}  # households → about 23,000 and 100,000 residents


def ensure_demo(size: str = "100k", seed: int = 1) -> Path:
    """Path of the demo database of `size`, generating it first if it is missing."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"demo-{size}.db"
    with open(OUT / f".{size}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two scripts at once must not both generate it
        if not path.exists():
            tmp = path.with_suffix(".tmp.db")
            for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                p.unlink(missing_ok=True)
            t0 = time.perf_counter()
            # In a child process: a step a bench starts later inherits this process's peak memory
            # (Linux carries it across fork and exec), so generating here would inflate every peak.
            code = ("import sys; from app.models.demo.demo import create_demo_database; "
                    "create_demo_database(sys.argv[1], households=int(sys.argv[2]), seed=int(sys.argv[3]), "
                    "encrypted=False)")  # plain: the baseline
            subprocess.run([sys.executable, "-c", code, str(tmp), str(SIZES[size]), str(seed)], check=True,
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            os.replace(tmp, path)
            print(f"generated {path.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        elif _schema_version(path) < _latest_version():
            # A demo made by an older version is migrated here, once, not by the first step that
            # opens it: that step's time and peak memory would include the migration.
            t0 = time.perf_counter()
            code = "import sys; from app.models.core.db import open_database; open_database(sys.argv[1]).close()"
            subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
            print(f"migrated {path.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return path


def _schema_version(path: Path) -> int:
    import sqlite3  # the cached demos are plain files

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _latest_version() -> int:
    from app.models.migrations import latest_version

    return latest_version()


def open_demo(path: str | Path, user: str = "管理员"):  # noqa: ANN201 - a Database
    """Open a bench database; a demo with accounts is encrypted: unlock it as its administrator first."""
    from app.models.core.accounts import DEMO_PASSWORD
    from app.models.core.db import open_database
    from app.models.core.db_keys import is_encrypted_file

    # Only the header is read to tell: reading the whole file for it held a copy of it in memory
    # (a 682 MB database peaked at 700 MB before SQLite had opened it).
    if is_encrypted_file(path):
        from app.models.core.unlock import unlock

        unlock(path, "管理员", DEMO_PASSWORD, via="cli")
    return open_database(path, user=user)


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n## {title}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")

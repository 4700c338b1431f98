"""Sync and roll-up figures: 10,000-op bundle, first full sync of the 100k demo, roll-up of N communities.

    .venv/bin/python bench/bench_sync.py [--size 100k] [--communities 10] [--households 6250] [--skip-full] [--skip-10k] [--skip-rollup]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import OUT, ROOT, ensure_demo, print_table

from app.models.core import field_rules
from app.models.core.db import open_database
from app.models.sync import bundle, sync

PASS = "bench-passphrase"


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_10k(demo: Path, work: Path) -> list[tuple[str, str]]:
    a_path, b_path = work / "a.db", work / "b.db"
    shutil.copy(demo, a_path)
    shutil.copy(demo, b_path)
    a, b = open_database(a_path, user="甲"), open_database(b_path, user="乙")
    stick = work / "stick10k"
    stick.mkdir()
    # The demo's own ops are on both PCs: put them on the stick once so the next export is a delta.
    base, _ = sync.export_to_folder(a, stick, PASS, full=True)
    ids = [r[0] for r in a.query("SELECT id FROM person ORDER BY id LIMIT 10000")]
    with a.write() as tx:
        for i, pid in enumerate(ids):
            tx.update("person", pid, {"phone": f"139{i:08d}"})
    (path, n), t_exp = _timed(lambda: sync.export_to_folder(a, stick, PASS))
    rep, t_imp = _timed(lambda: sync.import_files(b, [path], PASS))
    assert rep.applied == n == 10000, (rep.applied, n)
    a.close()
    b.close()
    return [("10k-op bundle: ops", f"{n:,}"), ("10k-op bundle: export", f"{t_exp:.2f} s"),
            ("10k-op bundle: import", f"{t_imp:.2f} s"), ("10k-op bundle: file", f"{path.stat().st_size / 1e6:.1f} MB")]


def bench_full(demo: Path, work: Path) -> list[tuple[str, str]]:
    a_path = work / "full-a.db"
    shutil.copy(demo, a_path)
    a = open_database(a_path, user="甲")
    stick = work / "stickfull"
    stick.mkdir()
    (path, n), t_exp = _timed(lambda: sync.export_to_folder(a, stick, PASS, full=True))
    persons = a.scalar("SELECT count(*) FROM person")
    # Part of the import below: every op checked against the field rules a local edit obeys.
    opened = bundle.read_bundle(path, PASS)
    _, t_rules = _timed(lambda: sync._validate_body(opened, field_rules.Rules(a.conn)))
    a.close()
    b = open_database(work / "full-b.db", user="乙")
    rep, t_imp = _timed(lambda: sync.import_from_folder(b, stick, PASS))
    same = b.scalar("SELECT count(*) FROM person") == persons
    b.close()
    return [("full sync: residents", f"{persons:,}"), ("full sync: ops", f"{n:,}"),
            ("full sync: bundle", f"{path.stat().st_size / 1e6:.1f} MB"),
            ("full sync: export", f"{t_exp:.1f} s"), ("full sync: import (new PC)", f"{t_imp:.1f} s"),
            ("full sync: of which field rules of every op", f"{t_rules:.1f} s"),
            ("full sync: same residents", str(same)), ("full sync: applied", f"{rep.applied:,}")]


def bench_rollup(work: Path, communities: int, households: int) -> list[tuple[str, str]]:
    from app.models.demo.demo import create_demo_database
    from app.models.sync.rollup import rollup

    sources = []
    t_gen = 0.0
    for i in range(communities):
        p = OUT / f"community-{households}-{i}.db"
        if not p.exists():
            tmp = p.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            _, t = _timed(lambda tmp=tmp, i=i: create_demo_database(tmp, households=households, seed=100 + i))
            t_gen += t
            os.replace(tmp, p)
        sources.append(p)
    target = work / "street.db"
    report, t_roll = _timed(lambda: rollup(target, sources))
    persons = sum(c[2] for c in report.communities)
    env = dict(os.environ)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "app", "stats", "--db", str(target), "--json"],
                         cwd=ROOT, capture_output=True, text=True, env=env)
    t_stats = time.perf_counter() - t0
    return [("roll-up: communities", str(communities)), ("roll-up: residents", f"{persons:,}"),
            ("roll-up: time", f"{t_roll:.1f} s"),
            ("roll-up: per 100k residents", f"{t_roll / max(persons, 1) * 100000:.1f} s"),
            ("stats over roll-up (process)", f"{t_stats:.1f} s (exit {out.returncode})"),
            ("(generating sources, not timed)", f"{t_gen:.0f} s")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="100k")
    ap.add_argument("--communities", type=int, default=10)
    ap.add_argument("--households", type=int, default=6250)  # ~25,000 residents each
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-rollup", action="store_true")
    ap.add_argument("--skip-10k", action="store_true")
    args = ap.parse_args()
    demo = ensure_demo(args.size) if not (args.skip_10k and args.skip_full) else None
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="anju-bench-sync-", dir=OUT) as tmp:
        work = Path(tmp)
        if not args.skip_10k:
            rows += bench_10k(demo, work)
            print_table("sync", rows)
        if not args.skip_full:
            rows += bench_full(demo, work)
            print_table("sync", rows)
        if not args.skip_rollup:
            rows += bench_rollup(work, args.communities, args.households)
    print_table(f"sync and roll-up ({args.size} demo)", rows)


if __name__ == "__main__":
    main()

"""Importing a delta bundle: time and peak memory against the number of ops it carries.

    .venv/bin/python bench/sync_delta.py WORK_DIR [--households 25000] [--big 300000,900000] [--reuse]

Makes (or reuses) a demo in WORK_DIR, keeps a copy of it as the second PC, writes on the first PC
a realistic month of edits (bench/lean_fast.py's month) and, separately, a delta of `--big`
person-field edits (per size given), exports each as a delta bundle and imports it into a fresh copy of the
second PC, each step in its own process under GNU time. Prints (what, ops, seconds, CPU, peak).

A step can also be run alone: ``sync_delta.py step edits|export|import ARGS…``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from common import open_demo
from lean_fast import PASS, run_step

HERE = Path(__file__).resolve()


def _copy_db(src: Path, dst: Path) -> None:
    for suffix in ("", ".keys"):
        if Path(f"{src}{suffix}").exists():  # an encrypted demo opens only beside its keys file
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")


def step_edits(path: str, kind: str, count: str = "0") -> dict:
    """`month`: lean_fast's month of edits without its sync round; `big`: `count` person-field
    edits through the data layer (a phone, then a note per person, round robin)."""
    from lean_fast import step_month

    if kind == "month":
        import app.models.sync.sync as sync

        saved = sync.sync_with_folder
        sync.sync_with_folder = lambda *a, **k: None  # type: ignore[assignment] - the edits alone
        try:
            return step_month(path)
        finally:
            sync.sync_with_folder = saved
    db = open_demo(path, user="罗晓丽")
    rng = random.Random(11)
    ids = [r[0] for r in db.query("SELECT id FROM person WHERE deleted = 0")]
    cols = ["phone", "notes"]
    left = int(count)
    t0 = time.perf_counter()
    round_ = 0
    while left > 0:
        col = cols[round_ % len(cols)]
        for i in range(0, len(ids), 5000):
            part = ids[i:i + 5000][:left]
            with db.write() as tx:
                for pid in part:
                    value = f"139{rng.randrange(10**8):08d}" if col == "phone" else f"第{round_}轮 {rng.randrange(10**6)}"
                    tx.update("person", pid, {col: value})
            left -= len(part)
            if left <= 0:
                break
        round_ += 1
    db.close()
    return {"seconds": time.perf_counter() - t0}


def step_claim(path: str) -> dict:
    """Give the demo file its identity, so that its copies (the PCs) each get their own site id."""
    db = open_demo(path)
    with db.write():
        pass
    site = db.site_id
    db.close()
    return {"site": site}


def step_export(path: str, stick: str) -> dict:
    from app.models.sync import sync

    db = open_demo(path, user="甲")
    t0 = time.perf_counter()
    out, n = sync.export_to_folder(db, stick, PASS, scrypt_n=2**10)
    db.close()
    return {"seconds": time.perf_counter() - t0, "ops": n, "file": out.name if out else None,
            "bundle_mb": out.stat().st_size / 1e6 if out else 0}


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def step_import(stick: str, path: str) -> dict:
    """The import alone; besides GNU time's peak of the whole process (opening the file included),
    the resident memory is sampled while the import runs, so its own growth shows."""
    import threading

    from app.models.sync import sync

    db = open_demo(path, user="乙")
    before = _rss_mb()
    top = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            top[0] = max(top[0], _rss_mb())

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t0, c0 = time.perf_counter(), time.process_time()
    rep = sync.import_from_folder(db, stick, PASS)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    done.set()
    watcher.join()
    db.close()
    return {"seconds": seconds, "cpu": cpu, "applied": rep.applied, "refused": [r.reason for r in rep.refused],
            "rss_before": before, "rss_top": max(top[0], _rss_mb())}


STEPS = {"claim": step_claim, "edits": step_edits, "export": step_export, "import": step_import}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "step":
        print(json.dumps(STEPS[sys.argv[2]](*sys.argv[3:]), ensure_ascii=False))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("work", type=Path)
    ap.add_argument("--households", type=int, default=25000)
    ap.add_argument("--big", default="300000", help="sizes of the big deltas, comma-separated (ops)")
    ap.add_argument("--reuse", action="store_true", help="import the deltas a previous run wrote (same bundles)")
    args = ap.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    base = work / "base.db"
    if not base.exists():
        run_step("demo", str(base), str(args.households), "1")
    pc2 = work / "pc2-pristine.db"
    if not pc2.exists():
        run_step_here("claim", str(base))
        _copy_db(base, pc2)
    bigs = [int(n) for n in args.big.split(",") if n]
    runs = [("a realistic month", "month", "month", 0), *((f"{n:,} person-field edits", f"big{n}", "big", n) for n in bigs)]
    for what, kind, edits, count in runs:
        only = work / f"stick-{kind}-delta"
        if not (args.reuse and only.is_dir() and any(only.iterdir())):
            pc1 = work / f"pc1-{kind}.db"
            _copy_db(base, pc1)
            stick = work / f"stick-{kind}"
            shutil.rmtree(stick, ignore_errors=True)
            stick.mkdir()
            # What the demo already holds goes first (a snapshot: its history is compacted), so the
            # next export is a delta of the edits alone; only that delta is imported below.
            run_step_here("export", str(pc1), str(stick))
            run_step_here("edits", str(pc1), edits, str(count))
            run_step_here("export", str(pc1), str(stick))
            shutil.rmtree(only, ignore_errors=True)
            only.mkdir()
            newest = max(stick.iterdir(), key=lambda p: p.stat().st_mtime)
            shutil.copy(newest, only / newest.name)
        delta = next(only.iterdir())
        ops = json.loads(_header_ops(delta))
        target = work / f"pc2-{kind}.db"
        _copy_db(pc2, target)
        imp, _wall, peak = run_step_here("import", str(only), str(target))
        print(f"{what}: delta of {ops:,} ops ({delta.stat().st_size / 1e6:.1f} MB): import {imp['seconds']:.1f} s "
              f"({imp['cpu']:.1f} s CPU), peak {peak:,.0f} MB (resident {imp['rss_before']:,.0f} MB after opening "
              f"the file, at most {imp['rss_top']:,.0f} MB during the import); applied {imp['applied']:,}"
              f"{'; REFUSED ' + str(imp['refused']) if imp['refused'] else ''}", flush=True)


def _header_ops(path: Path) -> str:
    from app.models.sync.bundle import read_header

    return json.dumps(read_header(path)["ops"])


def run_step_here(*args: str) -> tuple[dict, float, float | None]:
    """lean_fast's run_step, starting this script's steps."""
    import lean_fast

    saved = lean_fast.__file__
    lean_fast.__file__ = str(HERE)  # run_step starts the script named by its module's __file__
    try:
        return run_step(*args)
    finally:
        lean_fast.__file__ = saved


if __name__ == "__main__":
    main()

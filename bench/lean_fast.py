"""The lean-and-fast table: database size, first full sync, demo memory, Excel against LibreOffice.

    .venv/bin/python bench/lean_fast.py [--sizes 23k,100k] [--skip-month] [--skip-sync] [--skip-excel]

Every figure is measured in this run (each step in its own process under GNU time, so the peak
memory is that step's alone); nothing is asserted. Rows are (what, now, LibreOffice, goal).
Database, sync and demo rows live in `lean_rows`; Excel rows go in `excel_rows` (same table).

A step can also be run alone: ``lean_fast.py step demo|month|export|import ARGS…``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import OUT, ROOT, open_demo

PYTHON = sys.executable
TIME_V = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
PASS = "bench-passphrase"
SEEDS = {"23k": 2, "100k": 1}
HOUSEHOLDS = {"23k": 5300, "100k": 25000}
Row = tuple[str, str, str, str]


# -- measuring -------------------------------------------------------------------------------

def run_step(*args: str) -> tuple[dict, float, float | None]:
    """(the step's JSON result, wall seconds, peak RSS in MB) of `lean_fast.py step ARGS` in a new process."""
    cmd = [PYTHON, str(Path(__file__).resolve()), "step", *args]
    full = [TIME_V, "-v", *cmd] if TIME_V else cmd
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"step {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    peak = int(m.group(1)) / 1024 if m else None
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall, peak


def file_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()) / 1e6


def mb(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f} MB"


# -- steps (each runs in its own process) ----------------------------------------------------

def _open(path: str | Path, user: str = "管理员"):  # noqa: ANN202 - a Database
    return open_demo(path, user)


def step_demo(path: str, households: str, seed: str) -> dict:
    from app.models.demo.demo import create_demo_database

    t0 = time.perf_counter()
    create_demo_database(path, int(households), seed=int(seed))
    return {"seconds": time.perf_counter() - t0}


def step_month(path: str, seed: str = "7") -> dict:
    """A realistic month of an office's edits through the data-layer actions, then a sync round
    with a second PC (its copy made before the month), both ways."""
    from app.models.employment import employment
    from app.models.mediation import mediation
    from app.models.places import visits
    from app.models.registry import households, persons
    from app.models.sync import sync

    db = _open(path, user="罗晓丽")
    rng = random.Random(int(seed))
    n_house = db.scalar("SELECT count(*) FROM household WHERE deleted = 0")
    scale = n_house / 5300
    today = dt.date.today()
    counts = {"visits": 0, "phones": 0, "jobs": 0, "moves": 0, "cases": 0}
    hh = [r[0] for r in db.query("SELECT id FROM household WHERE deleted = 0 AND status = '在住'")]
    t0 = time.perf_counter()
    # Visits: every household is visited about once a quarter.
    for hid in rng.sample(hh, int(1800 * scale)):
        day = today - dt.timedelta(days=rng.randrange(30))
        try:
            visits.add_visit(db, visits.VisitInput(hid, day.isoformat(), "月访", visitor_name="罗晓丽",
                                                   findings="家中一切正常", finding_flags=["一切正常"]), today, confirmed=True)
            counts["visits"] += 1
        except Exception:  # noqa: BLE001 - a visit a rule refuses is simply not made
            pass
    people = [r[0] for r in db.query("SELECT id FROM person WHERE deleted = 0 AND status = '在册' "
                                     "AND birth_date < '2005-01-01'")]
    for pid in rng.sample(people, int(300 * scale)):
        try:
            persons.update(db, pid, {"phone": f"139{rng.randrange(10**8):08d}"})
            counts["phones"] += 1
        except Exception:  # noqa: BLE001
            pass
    for pid in rng.sample(people, int(400 * scale)):
        try:
            employment.save_job(db, {"person_id": pid, "kind": "就近就业", "sub_kind": "工业园区", "employer": "云岭工业园区食品加工厂",
                                     "start_date": (today - dt.timedelta(days=rng.randrange(30))).isoformat(),
                                     "monthly_income": "2800"}, confirm_overlap=True)
            counts["jobs"] += 1
        except Exception:  # noqa: BLE001
            pass
    empty = [r["id"] for r in households.empty_rooms(db)]
    for hid, room in zip(rng.sample(hh, min(len(empty), int(20 * scale))), empty, strict=False):
        try:
            households.move(db, hid, room)
            counts["moves"] += 1
        except Exception:  # noqa: BLE001
            pass
    for _ in range(int(12 * scale)):
        a, b = rng.sample(people, 2)
        try:
            mediation.create_case(db, title="邻居装修噪音", category="邻里", description="楼上装修噪音，请求调解。",
                                  parties=[{"person_id": a}, {"person_id": b}], today=today)
            counts["cases"] += 1
        except Exception:  # noqa: BLE001
            pass
    t_edits = time.perf_counter() - t0
    # The sync round: this PC → stick → the second PC (a copy of the file before the month) → stick → here.
    other = Path(path).with_name(Path(path).stem + "-pc2.db")
    stick = Path(path).with_name(Path(path).stem + "-stick")
    t0 = time.perf_counter()
    sync.sync_with_folder(db, stick, PASS, scrypt_n=2**10)
    pc2 = _open(other, user="杨光明")
    sync.sync_with_folder(pc2, stick, PASS, scrypt_n=2**10)
    pc2.close()
    sync.sync_with_folder(db, stick, PASS, scrypt_n=2**10)
    t_sync = time.perf_counter() - t0
    db.close()
    return {"edits_seconds": t_edits, "sync_seconds": t_sync, **counts}


def step_export(path: str, stick: str) -> dict:
    from app.models.sync import sync

    db = _open(path, user="甲")
    t0, c0 = time.perf_counter(), time.process_time()
    out, n = sync.export_to_folder(db, stick, PASS, full=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.close()
    return {"seconds": seconds, "cpu": cpu, "ops": n, "bundle_mb": out.stat().st_size / 1e6 if out else 0}


def step_import(stick: str, path: str) -> dict:
    from app.models.sync import sync

    db = _open(path, user="乙")
    t0, c0 = time.perf_counter(), time.process_time()
    rep = sync.import_from_folder(db, stick, PASS)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    persons = db.scalar("SELECT count(*) FROM person")
    db.close()
    return {"seconds": seconds, "cpu": cpu, "persons": persons, "refused": [r.reason for r in rep.refused]}


STEPS = {"demo": step_demo, "month": step_month, "export": step_export, "import": step_import}


# -- rows --------------------------------------------------------------------------------------

class _Rows(list):
    """Rows printed as they come: a later step that fails does not lose the figures already taken."""

    def append(self, row: Row) -> None:
        super().append(row)
        print("| " + " | ".join(row) + " |", flush=True)


def lean_rows(sizes: list[str], work: Path, *, month: bool, sync_rows: bool) -> list[Row]:
    rows: list[Row] = _Rows()
    for size in sizes:
        path = work / f"demo-{size}.db"
        got, wall, peak = run_step("demo", str(path), str(HOUSEHOLDS[size]), str(SEEDS[size]))
        residents = _scalar(path, "SELECT count(*) FROM person WHERE deleted = 0")
        goal = "≤ 60 MB" if size == "23k" else "≤ 250 MB"
        rows.append((f"database file, {residents:,} residents (demo seed {SEEDS[size]}), after generation",
                     mb(file_mb(path)), "—", goal))
        rows.append((f"demo generation {size}: time / peak memory", f"{got['seconds']:.1f} s / {mb(peak)}", "—",
                     "≤ 500 MB"))
        if sync_rows:
            stick = work / f"stick-{size}"
            stick.mkdir()
            exp, _, exp_peak = run_step("export", str(path), str(stick))
            imp, _, imp_peak = run_step("import", str(stick), str(work / f"new-pc-{size}.db"))
            ok = "" if imp["persons"] == _scalar(path, "SELECT count(*) FROM person") else " (RESIDENTS DIFFER)"
            rows.append((f"first full sync {size}: export / import into a new PC",
                         f"{exp['seconds']:.1f} s ({exp['cpu']:.1f} s CPU), peak {mb(exp_peak)} / "
                         f"{imp['seconds']:.1f} s ({imp['cpu']:.1f} s CPU), peak {mb(imp_peak)};"
                         f" bundle {exp['bundle_mb']:.0f} MB{ok}", "—", "≤ 5 s / ≤ 20 s, each ≤ 500 MB"))
        if month:
            pc2 = path.with_name(path.stem + "-pc2.db")
            shutil.copy(path, pc2)
            if Path(f"{path}.keys").exists():  # an encrypted demo opens only beside its keys file
                shutil.copy(f"{path}.keys", f"{pc2}.keys")
            (path.with_name(path.stem + "-stick")).mkdir()
            got, _, peak = run_step("month", str(path))
            what = ", ".join(f"{k} {v:,}" for k, v in got.items() if not k.endswith("seconds"))
            rows.append((f"database file {size} after a month of edits ({what}) and a sync round",
                         mb(file_mb(path)), "—", goal))
            rows.append((f"  second PC's file {size} after the sync round",
                         mb(file_mb(path.with_name(path.stem + "-pc2.db"))), "—", goal))
            rows.append((f"  month {size}: edits / sync round", f"{got['edits_seconds']:.1f} s / "
                         f"{got['sync_seconds']:.1f} s (peak {mb(peak)})", "—", ""))
    return rows


def excel_rows(sizes: list[str], work: Path) -> list[Row]:
    """Excel export/import against LibreOffice on the same file, in this run (excel_table.py)."""
    from excel_table import excel_rows as measure

    rows: list[Row] = _Rows()
    sub = work / "excel"
    sub.mkdir()
    for row in measure(sub, sizes=[s for s in ("100k", "23k") if s in sizes]):
        rows.append(row)
    return rows


def _scalar(path: Path, sql: str) -> int:
    sys.path.insert(0, str(ROOT))
    db = _open(path)
    try:
        return int(db.scalar(sql))
    finally:
        db.close()


def print_rows(rows: list[Row]) -> None:
    print("\n| what | now | LibreOffice on the same file | goal |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "step":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(STEPS[sys.argv[2]](*sys.argv[3:]), ensure_ascii=False))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="23k,100k")
    ap.add_argument("--skip-month", action="store_true")
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--skip-lean", action="store_true")
    ap.add_argument("--skip-excel", action="store_true")
    args = ap.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="anju-lean-", dir=OUT) as tmp:
        work = Path(tmp)
        print("Rows as they are measured:", flush=True)
        if not args.skip_lean:
            rows += lean_rows(sizes, work, month=not args.skip_month, sync_rows=not args.skip_sync)
        if not args.skip_excel:
            rows += excel_rows(sizes, work)
    print_rows(rows)


if __name__ == "__main__":
    main()

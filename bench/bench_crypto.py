"""Encryption at rest: the plain 100k demo against the same data encrypted (SQLCipher 4), and the conversion.

    .venv/bin/python bench/bench_crypto.py                 # 100k demo (made once in bench/out)
    .venv/bin/python bench/bench_crypto.py --skip-import   # without the 23,000-resident import
    .venv/bin/python bench/bench_crypto.py --drivers       # also SQLCipher vs apsw-sqlite3mc on raw SQL

Figures (targets: each within 15% of plain; conversion of the 100k plain file <= 60 s):
- conversion: convert_to_encrypted on a copy of the plain file (copy, row-by-row check, swap);
- cold start: ``python -m app --db F --smoke-test`` with the demo administrator's credentials,
  "anju-shown-ms" (process start to window shown; the encrypted one includes unwrapping the key);
- search-as-you-type and opening a household: bench_registry.bench (the real registry tab, typed
  one key at a time; the household dialog opened 40 times);
- import of 23,000 residents: the 23k demo's residents ledger renumbered as another site,
  dry run + apply into the 100k file.
Each step runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common.py puts the project root on the path

from common import ROOT, ensure_demo, median, print_table  # noqa: E402

PYTHON = sys.executable
ADMIN = "管理员"


def _unlock(path: str, password: str) -> None:
    from app.models.core import encryption, unlock

    if encryption.is_locked(path):
        unlock.unlock(path, ADMIN, password, via="bench")


# -- child steps ----------------------------------------------------------------------------------
def step_registry(path: str, password: str) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import bench_registry

    _unlock(path, password)
    return {"rows": bench_registry.bench(Path(path))}


def step_import(path: str, password: str, xlsx: str) -> dict:
    from app.models.core.db import open_database
    from app.models.excel.excel_import import apply_plan, plan_import

    _unlock(path, password)
    with open_database(path) as db:
        t0 = time.perf_counter()
        plan = plan_import(db, xlsx, create_places=True)
        dry = time.perf_counter() - t0
        t1 = time.perf_counter()
        apply_plan(db, plan)
        return {"dry": dry, "apply": time.perf_counter() - t1, "counts": plan.counts}


def step_export23(db_path: str, out: str) -> dict:
    import bench_excel

    tmp = out + ".same-site.xlsx"
    from app.models.core.db import open_database
    from app.models.excel.excel_export import export_ledger

    with open_database(db_path) as db:
        export_ledger(db, "residents", tmp)
    return bench_excel.step_renumber(tmp, out)


def step_convert(path: str) -> dict:
    from app.models.core.encryption import convert_to_encrypted

    t0 = time.perf_counter()
    convert_to_encrypted(path)
    return {"seconds": time.perf_counter() - t0}


def step_drivers(plain: str, encrypted: str, password: str) -> dict:
    """The same search SQL through sqlcipher3 and through apsw-sqlite3mc (which reads SQLCipher 4 files)."""
    import apsw

    from app.models.core import sqlite as sqlite3
    from app.models.core.db import open_database
    from app.models.core.db_keys import key_for
    from app.models.registry import registry_search

    _unlock(encrypted, password)
    key = key_for(encrypted)
    assert key is not None
    words = ["张", "张伟", "zw", "522", "1380", "5栋", "王芳", "lx"]
    db = open_database(plain, create=False)
    sqls = []
    for w in words:
        search = registry_search.build(db, w)
        sqls.append((f"SELECT o.household_id FROM {search.from_sql}" + (f" WHERE {search.where}" if search.where else "")
                     + " LIMIT 200", list(search.params)))
    db.close()

    def timed(run) -> float:  # noqa: ANN001
        times = []
        for _ in range(5):
            t = time.perf_counter()
            for sql, params in sqls:
                run(sql, params)
            times.append(time.perf_counter() - t)
        return median(times) * 1000

    out = {}
    for label, path, keyed in (("plain", plain, False), ("encrypted", encrypted, True)):
        t = time.perf_counter()
        conn = sqlite3.connect(path)
        if keyed:
            sqlite3.apply_key(conn, key)
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        opened = (time.perf_counter() - t) * 1000
        conn.create_collation("natsort", lambda a, b: (a > b) - (a < b))
        out[f"sqlcipher3 {label}"] = {"open_ms": opened,
                                      "queries_ms": timed(lambda s, p, c=conn: c.execute(s, p).fetchall())}
        conn.close()
        if keyed:  # its own encrypted copy (SQLCipher-4 scheme, a passphrase: its KDF runs on open)
            path = str(Path(plain).with_name("apsw-sqlite3mc.db"))
            shutil.copyfile(plain, path)
            a = apsw.Connection(path)
            a.pragma("cipher", "sqlcipher")
            a.pragma("legacy", 4)
            a.pragma("rekey", key.hex())
            a.close()
        t = time.perf_counter()
        a = apsw.Connection(path)
        if keyed:
            a.pragma("cipher", "sqlcipher")
            a.pragma("legacy", 4)
            a.pragma("key", key.hex())
        a.execute("SELECT count(*) FROM sqlite_schema").fetchall()
        opened = (time.perf_counter() - t) * 1000
        a.create_collation("natsort", lambda x, y: (x > y) - (x < y))
        out[f"apsw-sqlite3mc {label}"] = {"open_ms": opened,
                                          "queries_ms": timed(lambda s, p, c=a: c.execute(s, p).fetchall())}
        a.close()
    return out


def child(step: str, args: list[str]) -> dict:
    out = subprocess.run([PYTHON, __file__, "--child", step, *args], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen"))
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start(path: Path, password_file: Path, runs: int = 3) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), ANJU_USER=ADMIN,
               ANJU_PASSWORD_FILE=str(password_file))
    shown = []
    for _ in range(runs):
        out = subprocess.run([PYTHON, "-m", "app", "--db", str(path), "--smoke-test"], capture_output=True,
                             text=True, env=env, cwd=ROOT, timeout=300)
        m = re.search(r"anju-shown-ms ([\d.]+)", out.stdout)
        if not m:
            raise RuntimeError(f"no anju-shown-ms:\n{out.stdout}\n{out.stderr[-2000:]}")
        shown.append(float(m.group(1)))
    return median(shown)


def _registry_figures(rows: list[list[str]]) -> dict[str, str]:
    # "keystroke → table (530 keys)": the count differs between runs, the figure's name is what matches
    count = re.compile(r" \(\d+( keys)?\)")
    return {count.sub("", name): value + "".join(m.group(0) for m in count.finditer(name)) for name, value in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--size", default="100k")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--drivers", action="store_true")
    args = parser.parse_args()
    if args.child:
        fn = globals()[f"step_{args.child}"]
        print(json.dumps(fn(*args.rest), ensure_ascii=False, default=str))
        return
    from app.models.core.accounts import DEMO_PASSWORD

    source = ensure_demo(args.size)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="anju-crypto-") as tmp:
        work = Path(tmp)
        password_file = work / "pw.txt"
        password_file.write_text(DEMO_PASSWORD, encoding="utf-8")
        plain = work / "plain.db"
        enc = work / "encrypted.db"
        shutil.copy(source, plain)
        shutil.copy(source, enc)
        rows.append((f"{args.size} file size", f"{plain.stat().st_size / 1e6:.0f} MB"))
        r = child("convert", [str(enc)])
        rows.append((f"conversion of the {args.size} plain file (copy + row-by-row check + swap)",
                     f"{r['seconds']:.1f} s (target <= 60 s)"))
        rows.append(("encrypted file size", f"{enc.stat().st_size / 1e6:.0f} MB"))
        if args.drivers:
            d = child("drivers", [str(plain), str(enc), DEMO_PASSWORD])
            for name, v in d.items():
                rows.append((f"driver {name}", f"open {v['open_ms']:.1f} ms, search SQL {v['queries_ms']:.1f} ms"))
        starts: dict[str, list[float]] = {"plain": [], "encrypted": []}
        for _ in range(3):  # interleaved, so a busy machine slows both alike
            for label, path in (("plain", plain), ("encrypted", enc)):
                starts[label].append(cold_start(path, password_file, runs=1))
        for label, values in starts.items():
            rows.append((f"cold start to window shown, {label}, median of 3 (interleaved)",
                         f"{median(values):.0f} ms"))
        figures = {}
        for label, path in (("plain", plain), ("encrypted", enc)):
            figures[label] = _registry_figures(child("registry", [str(path), DEMO_PASSWORD])["rows"])
        for name in figures["plain"]:
            if "keystroke" in name or "household" in name or "open" in name:
                rows.append((f"{name}: plain | encrypted", f"{figures['plain'][name]} | {figures['encrypted'].get(name)}"))
        if not args.skip_import:
            xlsx = work / "residents-23k-other-site.xlsx"
            child("export23", [str(ensure_demo("23k")), str(xlsx)])
            for label, path in (("plain", plain), ("encrypted", enc)):
                r = child("import", [str(path), DEMO_PASSWORD, str(xlsx)])
                rows.append((f"import of the 23k residents ledger into {args.size}, {label}",
                             f"dry run {r['dry']:.1f} s + apply {r['apply']:.1f} s = {r['dry'] + r['apply']:.1f} s "
                             f"({r['counts']})"))
    print_table("encryption at rest (SQLCipher 4 via sqlcipher3)", rows)


if __name__ == "__main__":
    main()

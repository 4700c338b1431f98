"""Replays the hostile-bundle attacks on a demo community through the real CLI; prints fault class | cases | held.

    .venv/bin/python bench/hostile_bundles.py [--households 2000] [--only CLASS]

PC A (a demo community) and PC B (joined by its first sync) are in step. For each case A makes a
genuine edit and exports it; the file is read back, altered as an attacker who knows the office
passphrase would, and written with the real bundle writer. `anju sync-import` on B must refuse
the forged file by name (exit 1 alone, 3 beside a good file), apply nothing of it, apply the good
file, and never print a traceback.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import open_demo  # noqa: E402

from app.models.core.accounts import DEMO_PASSWORD  # noqa: E402
from app.models.demo.demo import create_demo_database  # noqa: E402
from app.models.sync import bundle, sync  # noqa: E402

PASS = "青松楼-第三网格-2026"
N = 2**10  # scrypt cost of the forged files: the attack is on content, not on the key


class Lab:
    def __init__(self, work: Path, households: int) -> None:
        self.work = work
        self.stick = work / "stick"
        self.stick.mkdir()
        self.pw = work / "pass.txt"
        self.pw.write_text(PASS, encoding="utf-8")
        # The demo has accounts, and B takes them with its first sync: the CLI signs in as their administrator.
        self.login = work / "login.txt"
        self.login.write_text(DEMO_PASSWORD, encoding="utf-8")
        self.a_path, self.b_path = work / "a.db", work / "b.db"
        t = time.perf_counter()
        create_demo_database(self.a_path, households, seed=1)
        self.a = open_demo(self.a_path, user="甲")
        sync.export_to_folder(self.a, self.stick, PASS, scrypt_n=N)
        rc, out = self.cli(self.stick)
        assert rc == 0, out
        print(f"setup: demo of {households} households, B joined by sync-import in {time.perf_counter() - t:.1f} s")
        self.n = 0

    def cli(self, folder: Path, *extra: str, db: Path | None = None) -> tuple[int, str]:
        env = dict(os.environ, PYTHONPATH=str(ROOT), ANJU_USER="管理员", ANJU_PASSWORD_FILE=str(self.login))
        p = subprocess.run(
            [sys.executable, "-m", "app", "sync-import", "--db", str(db or self.b_path), "--from", str(folder),
             "--passphrase-file", str(self.pw), *extra],
            capture_output=True, text=True, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def delta(self, edit: Callable) -> Path:
        with self.a.write() as tx:
            edit(tx, self.a)
        path, _ = sync.export_to_folder(self.a, self.stick, PASS, scrypt_n=N)
        assert path is not None
        return path

    def folder(self, *files: Path) -> Path:
        self.n += 1
        out = self.work / f"case{self.n}"
        out.mkdir()
        for f in files:
            shutil.copy(f, out / f.name)
        return out

    def b_value(self, sql: str, params: tuple = ()) -> object:
        db = open_demo(self.b_path)
        try:
            return db.scalar(sql, params)
        finally:
            db.close()


def forge(src: Path, folder: Path, mutate: Callable) -> Path:
    b = bundle.read_bundle(src, PASS)
    header = {k: v for k, v in b.header.items() if k not in ("format", "kdf", "nonce", "check", "body_bytes")}
    header["bundle_id"] = str(uuid.uuid4())
    body = copy.deepcopy(b.body)
    mutate(header, body)
    folder.mkdir(exist_ok=True)
    return bundle.write_bundle(folder, header, body, PASS, scrypt_n=N)


def _op(body: dict, tbl: str, col: str) -> list:
    return next(op for op in body["ops"] if op[2] == tbl and op[4] == col)


def _set(tbl: str, col: str, value: object) -> Callable:
    def mutate(header: dict, body: dict) -> None:
        op = next(o for o in body["ops"] if o[2] == tbl)
        if op[4] == "*":
            row = json.loads(op[5])
            row[col] = value
            op[5] = json.dumps(row, ensure_ascii=False)
        else:
            op[4], op[5] = col, json.dumps(value, ensure_ascii=False)
    return mutate


def _some(db, sql: str) -> str:  # noqa: ANN001
    return db.scalar(sql)


def phone_edit(tx, db) -> None:  # noqa: ANN001
    pid = _some(db, "SELECT id FROM person WHERE deleted = 0 ORDER BY random() LIMIT 1")
    tx.update("person", pid, {"phone": f"138{random.randrange(10**8):08d}"})


def mixed_edit(tx, db) -> None:  # noqa: ANN001
    phone_edit(tx, db)
    hid = _some(db, "SELECT id FROM household WHERE deleted = 0 ORDER BY random() LIMIT 1")
    tx.update("household", hid, {"notes": "走访后补记"})
    tx.insert("person", {"name": "新成员", "household_id": hid})


MALFORMED: dict[str, Callable] = {
    "value not JSON": lambda h, b: _op(b, "person", "phone").__setitem__(5, "{not json"),
    "list where a row object belongs": lambda h, b: _op(b, "person", "*").__setitem__(5, "[1, 2, 3]"),
    "malformed clock": lambda h, b: _op(b, "person", "phone").__setitem__(6, "yesterday"),
    "value breaking a CHECK constraint": lambda h, b: _op(b, "person", "*").__setitem__(
        5, json.dumps({**json.loads(_op(b, "person", "*")[5]), "sex": "未知"}, ensure_ascii=False)),
    "non-integer range in the header": lambda h, b: h["ranges"].__setitem__(next(iter(h["ranges"])), [["1", 9]]),
    "op of 5 items": lambda h, b: b["ops"].__setitem__(0, b["ops"][0][:5]),
    "unknown table": lambda h, b: _op(b, "person", "phone").__setitem__(2, "sqlite_master"),
    "unknown column": lambda h, b: _op(b, "person", "phone").__setitem__(4, "phone; DROP TABLE person"),
    "ops not a list": lambda h, b: b.__setitem__("ops", {"0": 1}),
    "100,000-deep nested value": lambda h, b: _op(b, "person", "phone").__setitem__(5, "[" * 10**5 + "]" * 10**5),
}

FIELDS: dict[str, Callable] = {
    "ID number 123": _set("person", "id_number", "123"),
    "ID number, impossible birth date": _set("person", "id_number", "532128198013010019"),
    "50 MB note": _set("person", "notes", "注" * (50 << 20)),
    "name that is a number": _set("person", "name", 123),
    "sex outside the vocabulary": _set("person", "sex", "未知"),
    "row pointing at a household that does not exist": _set("person", "household_id", str(uuid.uuid4())),
}


def held_alone(lab: Lab, mutate: Callable, edit: Callable = mixed_edit) -> tuple[bool, str]:
    good = lab.delta(phone_edit)
    src = lab.delta(edit)
    bad = forge(src, lab.work / "forged", mutate)
    people = lab.b_value("SELECT count(*) FROM person")
    rc, out = lab.cli(lab.folder(good, bad))
    ok = (rc == 3 and bad.name in out and "未导入" in out and "Traceback" not in out
          and lab.b_value("SELECT count(*) FROM person") == people)
    rc2, out2 = lab.cli(lab.folder(src))  # the genuine file of that edit still applies
    return ok and rc2 == 0, f"exit {rc}, then genuine file exit {rc2}"


def run(households: int, only: str | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="anju-hostile-"))
    rows: list[tuple[str, int, int, str]] = []
    try:
        lab = Lab(work, households)

        def record(name: str, results: list[tuple[bool, str]]) -> None:
            held = sum(ok for ok, _ in results)
            rows.append((name, len(results), held, "; ".join(d for ok, d in results if not ok)[:600]))
            print(f"{name[:80]}: {held} of {len(results)} held", flush=True)

        if only in (None, "malformed"):
            record("malformed content, one bad file beside a good one (" + ", ".join(MALFORMED) + ")",
                   [held_alone(lab, m) for m in MALFORMED.values()])
        if only in (None, "fields"):
            record("field rules of a local edit (" + ", ".join(FIELDS) + ")",
                   [held_alone(lab, m, edit=(lambda tx, db: tx.insert("person", {
                       "name": "新成员", "household_id": _some(db, "SELECT id FROM household LIMIT 1")})))
                    for m in FIELDS.values()])
        if only in (None, "own-site"):
            results = []
            src = lab.delta(phone_edit)
            db = open_demo(lab.b_path)
            me = db.site_id
            db.close()

            def own(h: dict, b: dict) -> None:
                b["sites"].append(me)
                op = list(b["ops"][0])
                op[0], op[1] = len(b["sites"]) - 1, 10**9
                b["ops"].append(op)
                h["ranges"][me] = [[10**9, 10**9]]

            for mutate in (own,
                           lambda h, b: h["ranges"][b["sites"][0]][-1].__setitem__(1, 10**9),
                           lambda h, b: b["knowledge"].append([b["sites"][0], 1, me, 10**9])):
                bad = forge(src, lab.work / "forged", mutate)
                rc, out = lab.cli(lab.folder(bad))
                results.append((rc == 1 and bad.name in out and "Traceback" not in out, f"exit {rc}"))
            lab.cli(lab.folder(src))
            db = open_demo(lab.b_path)
            pid = db.scalar("SELECT id FROM person WHERE deleted = 0 LIMIT 1")
            with db.write() as tx:
                tx.update("person", pid, {"phone": "13912345678"})
            out_dir = lab.folder(*lab.stick.iterdir())
            path, n = sync.export_to_folder(db, out_dir, PASS, scrypt_n=N)
            db.close()
            carried = path is not None and any(
                json.loads(op[5]) == "13912345678" for op in bundle.read_bundle(path, PASS).body["ops"])
            results.append((carried, "B's own later edit exported" if carried else "B's own edit NOT exported"))
            record("ops under the receiver's own site id (seq 10^9), ranges and knowledge beyond, "
                   "then a local edit is exported", results)
        if only in (None, "header"):
            src = lab.delta(phone_edit)
            data = src.read_bytes()
            end = len(bundle.MAGIC) + 4 + int.from_bytes(data[len(bundle.MAGIC):len(bundle.MAGIC) + 4], "big")
            rng = random.Random(1)
            folder = lab.folder()
            results = []
            positions = sorted(set(range(48)) | set(range(48, end, 9)) | {end - 1})  # magic, length, then spread
            for pos in positions:
                flipped = bytearray(data)
                flipped[pos] ^= 1 << rng.randrange(8)
                (folder / src.name).write_bytes(bytes(flipped))
                rc, out = lab.cli(folder)
                results.append((rc == 1 and "跳过其他社区" not in out and "Traceback" not in out,
                                f"byte {pos}: exit {rc}: {out.strip()[-300:]}"))
            record(f"one bit flipped in the header ({len(positions)} of its {end} bytes)", results)
        if only in (None, "mass-delete"):
            copy_b = lab.work / "b-mass.db"
            shutil.copy(lab.b_path, copy_b)
            if Path(f"{lab.b_path}.keys").exists():  # B is encrypted once its administrator has signed in
                shutil.copy(f"{lab.b_path}.keys", f"{copy_b}.keys")
            lab.cli(lab.stick, db=copy_b)
            residents = lab.b_value("SELECT count(*) FROM person WHERE deleted = 0")
            big = lab.delta(lambda tx, db: [tx.delete("person", r[0])
                                            for r in db.query("SELECT id FROM person WHERE deleted = 0")])
            folder = lab.folder(big)
            rc, out = lab.cli(folder, db=copy_b)
            db = open_demo(copy_b)
            left = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
            db.close()
            r1 = (rc == 1 and "--allow-mass-delete" in out and left >= residents, f"without flag: exit {rc}")
            rc, out = lab.cli(folder, "--allow-mass-delete", db=copy_b)
            db = open_demo(copy_b)
            left = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
            db.close()
            r2 = (rc == 0 and left == 0 and "已确认后导入" in out, f"with flag: exit {rc}, {left} left")
            record(f"one bundle deleting all {residents} residents", [r1, r2])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| fault class | cases tried | held |")
    print("| --- | --- | --- |")
    for name, tried, held, why in rows:
        print(f"| {name} | {tried} | {held}{' — ' + why if why else ''} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--only", choices=["malformed", "fields", "own-site", "header", "mass-delete"])
    args = parser.parse_args()
    run(args.households, args.only)


if __name__ == "__main__":
    main()

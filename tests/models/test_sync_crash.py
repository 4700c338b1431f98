"""Crash safety: the import process is killed after the k-th SQL statement, then resumed; nothing lost or doubled."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

from app.models.core.db import open_database
from app.models.sync import sync
from tests.builders.sync import PASS, N, make_office, snapshot

ROOT = Path(__file__).resolve().parents[2]

KILLER = r"""
import os, sys
sys.path.insert(0, sys.argv[4])
from app.models.core.db import open_database
from app.models.sync import sync
db = open_database(sys.argv[1])
limit = int(sys.argv[3])
count = [0]
def trace(_stmt):
    count[0] += 1
    if limit and count[0] >= limit:
        os._exit(9)  # as abrupt as pulling the plug: no rollback, no cleanup
db.conn.set_trace_callback(trace)
sync.import_from_folder(db, sys.argv[2], sys.argv[5])
print("STATEMENTS", count[0])
"""


def _run(db_path: Path, stick: Path, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(db_path), str(stick), str(limit), str(ROOT), PASS],
        capture_output=True, text=True, timeout=120,
    )


def _state(path: Path) -> tuple:
    db = open_database(path)
    try:
        assert [r[0] for r in db.query("PRAGMA integrity_check")] == ["ok"]
        assert db.query("PRAGMA foreign_key_check") == []
        ops = sorted(tuple(r) for r in db.query("SELECT site_id, seq, tbl, row_id, col, value, hlc FROM change_log"))
        conflicts = sorted(tuple(r) for r in db.query(
            "SELECT tbl, row_id, col, lo_site, lo_seq, hi_site, hi_seq FROM sync_conflict"))
        return snapshot(db), ops, conflicts
    finally:
        db.close()


def test_import_killed_anywhere_then_resumed(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    sync.import_from_folder(b, stick, PASS)
    # Both PCs work: concurrent key-field edits, new rows referring to each other, a delete.
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "张三丰"})
        h = tx.insert("household", {"number": "H100"})
        for i in range(30):
            tx.insert("person", {"name": f"新人{i}", "household_id": h})
        tx.delete("person", ids["p2"])
    with b.write() as tx:
        tx.update("person", ids["p1"], {"name": "张山"})
        tx.update("person", ids["p2"], {"phone": "135"})
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    a.close()
    b.close()
    base = tmp_path / "base.db"
    shutil.copy(tmp_path / "b.db", base)

    ref = tmp_path / "ref.db"
    shutil.copy(base, ref)
    done = _run(ref, stick, 0)
    assert done.returncode == 0, done.stderr
    total = int(done.stdout.split("STATEMENTS")[1])
    expected = _state(ref)
    before = _state(base)
    assert expected[1] != before[1] and expected[2]  # the import does change things and raises a conflict

    rng = random.Random(11)
    points = sorted({*range(1, total, max(1, total // 12)), *(rng.randrange(1, total) for _ in range(5)), total - 1})
    for k in points:
        victim = tmp_path / f"k{k}.db"
        shutil.copy(base, victim)
        killed = _run(victim, stick, k)
        assert killed.returncode == 9, (k, killed.stderr[-500:])
        mid = _state(victim)
        assert mid in (before, expected), k  # all or nothing
        resumed = _run(victim, stick, 0)
        assert resumed.returncode == 0, resumed.stderr
        assert _state(victim) == expected, k
        victim.unlink()

"""The database file, migrations, and the one write path (change log + audit in one transaction)."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.models import migrations
from app.models.core import hlc as hlc_mod
from app.models.core import sqlite as sqlite3
from app.models.core.db import open_database
from app.models.core.errors import DatabaseError, NotFoundError
from app.models.core.schema import synced_tables


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrates_empty_file_to_latest(db):
    assert db.schema_version == migrations.latest_version()
    tables = set(synced_tables(db.conn))
    for name in ("community", "grid", "building", "unit", "room", "household", "person", "visit",
                 "employment", "training_course", "training_attendance", "intention",
                 "mediation_case", "mediation_party", "mediation_followup", "app_user"):
        assert name in tables
    assert db.scalar("PRAGMA journal_mode") == "wal"
    assert db.scalar("PRAGMA foreign_keys") == 1
    assert db.scalar("PRAGMA synchronous") == 2  # FULL
    assert db.scalar("PRAGMA busy_timeout") >= 1000


def test_site_id_is_kept_across_opens(db_path):
    first = open_database(db_path)
    site = first.site_id
    first.close()
    again = open_database(db_path)
    assert again.site_id == site and len(site) == 36
    again.close()


def test_newer_database_is_refused_and_untouched(db_path):
    open_database(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {migrations.latest_version() + 5}")
    conn.close()
    before = _digest(db_path)
    with pytest.raises(DatabaseError, match="较新版本"):
        open_database(db_path)
    assert _digest(db_path) == before


def test_not_a_database_is_refused_and_never_overwritten(tmp_path):
    path = tmp_path / "ledger.db"
    path.write_text("户编号,姓名\nHLX-1,张三\n", encoding="utf-8")
    before = _digest(path)
    with pytest.raises(DatabaseError, match="不是"):
        open_database(path)
    assert _digest(path) == before


def test_corrupt_database_is_refused(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = _digest(path)
    with pytest.raises(DatabaseError):
        open_database(path)
    assert _digest(path) == before


def test_every_write_records_ops_and_audit(db):
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路馨居社区"}, summary="新建社区")
        tx.update("community", cid, {"name": "红路馨居社区", "phone": "0870-1234567"})
        tx.delete("community", cid)
    ops = db.query("SELECT col, value, user, site_id FROM change_log WHERE row_id = ? ORDER BY op_id", (cid,))
    assert [o["col"] for o in ops] == ["*", "phone", "deleted"]  # unchanged name is not logged
    assert all(o["user"] == "测试员" and o["site_id"] == db.site_id for o in ops)
    audit = db.query("SELECT action, user FROM audit_log WHERE row_id = ? ORDER BY id", (cid,))
    assert [a["action"] for a in audit] == ["insert", "update", "delete"]
    # Tombstone: the row stays.
    assert db.scalar("SELECT deleted FROM community WHERE id = ?", (cid,)) == 1


def test_failure_half_way_leaves_neither_row_nor_ops(db):
    ops_before = db.scalar("SELECT count(*) FROM change_log")
    audit_before = db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.insert("community", {"name": "A"})
        tx.insert("community", {"name": "B"})
        raise RuntimeError("power cut")
    assert db.scalar("SELECT count(*) FROM community") == 0
    assert db.scalar("SELECT count(*) FROM change_log") == ops_before
    assert db.scalar("SELECT count(*) FROM audit_log") == audit_before
    assert db.scalar("SELECT count(*) FROM write_ctx") == 0


def test_constraint_failure_rolls_back_earlier_writes(db):
    with pytest.raises(sqlite3.IntegrityError), db.write() as tx:
        tx.insert("community", {"name": "A"})
        tx.insert("household", {"number": "X", "risk_colour": "purple"})  # CHECK fails
    assert db.scalar("SELECT count(*) FROM community") == 0
    assert db.scalar("SELECT count(*) FROM change_log") == 0


def test_writes_around_the_data_layer_are_refused(db):
    with pytest.raises(sqlite3.IntegrityError, match="outside"):
        db.conn.execute("INSERT INTO community(id, name) VALUES ('x', 'y')")
    with db.write() as tx:
        cid = tx.insert("community", {"name": "A"})
    with pytest.raises(sqlite3.IntegrityError, match="outside"):
        db.conn.execute("UPDATE community SET name = 'B' WHERE id = ?", (cid,))
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"), db.write():
        db.conn.execute("DELETE FROM community WHERE id = ?", (cid,))
    assert db.scalar("SELECT name FROM community WHERE id = ?", (cid,)) == "A"


def test_raw_sql_inside_a_transaction_is_still_logged(db):
    with db.write() as tx:
        cid = tx.insert("community", {"name": "A"})
        tx.conn.execute("UPDATE community SET street = '南坪街道' WHERE id = ?", (cid,))
    cols = [r[0] for r in db.query("SELECT col FROM change_log WHERE row_id = ? ORDER BY op_id", (cid,))]
    assert cols == ["*", "street"]


def test_local_seq_is_increasing_and_unique(db):
    with db.write() as tx:
        for i in range(5):
            tx.insert("community", {"name": f"C{i}"})
    seqs = [r[0] for r in db.query("SELECT seq FROM change_log WHERE site_id = ? ORDER BY op_id", (db.site_id,))]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and None not in seqs


def test_hlc_never_goes_backwards_when_the_wall_clock_does(db, monkeypatch):
    now = [2_000_000_000_000]
    monkeypatch.setattr(hlc_mod, "wall_ms", lambda: now[0])
    seen = []
    for step in (0, -60_000, -3_600_000, 5, -1):
        now[0] += step
        with db.write() as tx:
            tx.insert("community", {"name": "x"})
            seen.append(tx.hlc)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    texts = [r[0] for r in db.query("SELECT hlc FROM change_log ORDER BY op_id")]
    assert texts == sorted(texts)


def test_hlc_tick_and_observe():
    a = hlc_mod.tick(None, 1000)
    b = hlc_mod.tick(a, 900)  # clock went back
    assert b > a and b.ms == 1000
    c = hlc_mod.observe(b, hlc_mod.Hlc(5000, 3), now_ms=1200)
    assert c > hlc_mod.Hlc(5000, 3)
    assert hlc_mod.Hlc.parse(str(c)) == c


def test_nested_write_joins_the_outer_transaction(db):
    with pytest.raises(RuntimeError), db.write() as outer:
        outer.insert("community", {"name": "A"})
        with db.write() as inner:
            assert inner is outer
            inner.insert("community", {"name": "B"})
        raise RuntimeError
    assert db.scalar("SELECT count(*) FROM community") == 0


def test_update_many_writes_and_audits_like_update(db):
    with db.write() as tx:
        ids = [tx.insert("community", {"name": f"社区{i}"}) for i in range(3)]
    before = db.scalar("SELECT count(*) FROM audit_log")
    with db.write() as tx:
        changed = tx.update_many("community", {ids[0]: {"name": "新名"}, ids[1]: {"name": "社区1"},
                                               ids[2]: {"name": "另名", "address": "注"}}, summary="批量")
    assert set(changed) == {ids[0], ids[2]}  # 社区1 was already so: not written, not audited
    assert changed[ids[2]] == {"name": ("社区2", "另名"), "address": (None, "注")}
    rows = db.query("SELECT row_id, action, summary, detail FROM audit_log WHERE id > (SELECT max(id) - 2 FROM audit_log)"
                    " ORDER BY id")
    assert db.scalar("SELECT count(*) FROM audit_log") == before + 2
    assert [(r["row_id"], r["action"], r["summary"]) for r in rows] == [(ids[0], "update", "批量"),
                                                                         (ids[2], "update", "批量")]
    assert json.loads(rows[1]["detail"]) == {"name": ["社区2", "另名"], "address": [None, "注"]}
    logged = {(r[0], r[1]) for r in db.query("SELECT row_id, col FROM change_log WHERE tbl = 'community' AND col != '*'")}
    assert logged == {(ids[0], "name"), (ids[2], "name"), (ids[2], "address")}
    with pytest.raises(NotFoundError), db.write() as tx:
        tx.update_many("community", {"no-such-id": {"name": "x"}})


def _bulk_phone_edit(path, monkeypatch, per_row: bool) -> dict:
    """60 residents added by one insert_many, their phones (and a flag, a note) changed by one update_many;
    what the file then holds."""
    from app.models.core import db as db_mod

    if per_row:
        monkeypatch.setattr(db_mod, "BULK_ROWS", 10**9)
    else:
        # Three statements each, the inserts' last one row by row (NUL).
        monkeypatch.setattr(db_mod, "BULK_INSERT_CHUNK", 25)
        monkeypatch.setattr(db_mod, "BULK_UPDATE_CHUNK", 25)
    database = open_database(path, user="测试员")
    ids = [f"p{i:03}" for i in range(60)]
    with database.write() as tx:
        tx.insert_many("person", [{"id": pid, "name": f"王{i}", "phone": f"1380000{i:04}", "sg_elderly_alone": i % 2,
                                   "notes": "a\x00b" if i == 59 else None} for i, pid in enumerate(ids)])
    changes = {pid: {"phone": f"1391111{i:04}"} for i, pid in enumerate(ids)}
    changes[ids[0]] = {"phone": "0871-1234", "sg_disabled": True, "notes": None}
    changes[ids[1]] = {"phone": "01234"}  # digits that must stay text
    with database.write() as tx:
        tx.update_many("person", changes, summary="导入")
    c = database.conn
    found = {
        "person": c.execute("SELECT id, phone, typeof(phone), sg_disabled, typeof(sg_disabled), notes, "
                            "sg_elderly_alone FROM person ORDER BY rowid").fetchall(),
        "log": c.execute("SELECT row_id, col, value FROM change_log WHERE tbl = 'person' "
                         "ORDER BY row_id, col").fetchall(),
        "audit": c.execute("SELECT row_id, summary, detail FROM audit_log WHERE tbl = 'person' AND action = 'update' "
                           "ORDER BY row_id").fetchall(),
        "new": c.execute("SELECT s.person_id FROM person_search_fts f JOIN person_search s ON s.rid = f.rowid "
                         "WHERE person_search_fts MATCH '\"13911110042\"'").fetchall(),
        "old": c.execute("SELECT count(*) FROM person_search_fts WHERE person_search_fts MATCH '\"13800000042\"'")
                .fetchone()[0],
    }
    c.execute("INSERT INTO person_search_fts(person_search_fts, rank) VALUES ('integrity-check', 1)")
    database.close()
    return {k: [tuple(r) for r in v] if isinstance(v, list) else v for k, v in found.items()}


def test_insert_and_update_many_in_one_statement_write_what_row_by_row_writes(tmp_path, monkeypatch):
    # A large batch is one INSERT or UPDATE (the trigram index flushes once); the rows in their
    # order, change log, audit and search index must be exactly what one statement per row gives.
    batched = _bulk_phone_edit(tmp_path / "batched.db", monkeypatch, per_row=False)
    per_row = _bulk_phone_edit(tmp_path / "per-row.db", monkeypatch, per_row=True)
    assert batched == per_row
    assert batched["person"][:2] == [("p000", "0871-1234", "text", 1, "integer", None, 0),
                                     ("p001", "01234", "text", 0, "integer", None, 1)]
    assert batched["new"] == [("p042",)] and batched["old"] == 0
    assert len(batched["log"]) == 60 + 61 and len(batched["audit"]) == 60

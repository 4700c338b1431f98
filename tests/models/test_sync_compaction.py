"""Change-log compaction and snapshots: ops every PC holds are folded away, and sync, conflicts,
audit and new PCs still work on compacted databases."""

from __future__ import annotations

import shutil

import pytest

from app.models.core.audit import last_change
from app.models.core.db import open_database
from app.models.core.site import have_vector
from app.models.sync import review, sync
from app.models.sync.bundle import iter_chunks, read_bundle
from app.models.sync.compact import compact, compacted_vector, stable_vector
from tests.builders.sync import PASS, N, exchange, make_office, snapshot


@pytest.fixture
def two(tmp_path):
    """PC A with an office, PC B joined from A's bundle."""
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    assert sync.import_from_folder(b, stick, PASS).applied > 0
    yield a, b, ids, stick
    a.close()
    b.close()


def _ops(db) -> int:
    return db.scalar("SELECT count(*) FROM change_log")


def test_a_lone_pc_folds_everything_and_a_new_pc_joins_by_snapshot(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    audit_before = a.scalar("SELECT count(*) FROM audit_log")
    report = compact(a.conn, a.site_id, horizon_ms=0)
    assert report.removed > 0 and _ops(a) == 0
    assert a.scalar("SELECT count(*) FROM audit_log") == audit_before  # the audit is never folded
    assert last_change(a, "person", ids["p1"]) is not None  # told by the audit log now
    own = have_vector(a.conn, a.site_id)[a.site_id]
    assert own > 0 and compacted_vector(a.conn) == {a.site_id: own}
    with a.write() as tx:  # new ops continue the sequence: nothing is numbered twice
        tx.update("person", ids["p2"], {"phone": "13800000000"})
    assert have_vector(a.conn, a.site_id)[a.site_id] == own + 1
    path, n = sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    bundle = read_bundle(path, PASS)
    assert bundle.header["kind"] == "snapshot" and n > 0
    kinds = {next(iter(chunk)) for chunk in iter_chunks(bundle, PASS)}
    assert kinds == {"t", "o"}  # rows, and the one op still kept (no other PC has it yet)
    b = open_database(tmp_path / "b.db", user="乙")
    rep = sync.import_from_folder(b, stick, PASS)
    assert rep.rejected == 0 and rep.applied > 0
    assert snapshot(b) == snapshot(a)
    # B now holds everything A had: once A hears so, A folds its last op too.
    exchange(a, b, stick)
    compact(a.conn, a.site_id, horizon_ms=0)
    assert _ops(a) == 0
    with b.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13900000000"})
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    assert a.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13900000000"
    a.close()
    b.close()


def test_ops_wait_until_every_known_pc_has_them(two):
    a, b, ids, stick = two
    with b.write() as tx:
        tx.update("person", ids["p2"], {"phone": "13100000000"})
    exchange(a, b, stick)  # A has heard from B (a PC that never edits never writes a bundle)
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13700000000"})
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    sync.import_from_folder(b, stick, PASS)
    compact(a.conn, a.site_id, horizon_ms=0)
    # A has not heard from B since it made the edit: it keeps the op.
    assert a.scalar("SELECT count(*) FROM change_log WHERE tbl = 'person' AND row_id = ? AND col = 'phone'",
                    (ids["p1"],)) == 1
    assert stable_vector(a.conn, a.site_id).get(a.site_id, 0) < have_vector(a.conn, a.site_id)[a.site_id]
    sync.sync_with_folder(b, stick, PASS, scrypt_n=N)  # B's bundle says what B has seen
    sync.import_from_folder(a, stick, PASS)
    compact(a.conn, a.site_id, horizon_ms=0)
    assert _ops(a) == 0
    assert snapshot(a) == snapshot(b)


def test_a_conflict_on_a_compacted_row_is_still_detected_and_kept(two):
    a, b, ids, stick = two
    exchange(a, b, stick)
    for db in (a, b):
        compact(db.conn, db.site_id, horizon_ms=0)
    assert _ops(a) == 0 and _ops(b) == 0
    # Both change the same key field before they meet again.
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "张叁"})
    with b.write() as tx:
        tx.update("person", ids["p1"], {"name": "张三丰"})
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    for db in (a, b):
        compact(db.conn, db.site_id, horizon_ms=0)
        conflicts = review.open_conflicts(db)
        assert [(c.tbl, c.col) for c in conflicts] == [("person", "name")]
        # The conflicting ops stay for the review even after compaction.
        assert {conflicts[0].loser.value, conflicts[0].winner.value} == {"张叁", "张三丰"}
    review.resolve_conflict(a, review.open_conflicts(a)[0], "张三丰")
    exchange(a, b, stick)
    assert review.open_conflicts(a) == [] and review.open_conflicts(b) == []
    assert a.scalar("SELECT name FROM person WHERE id = ?", (ids["p1"],)) == "张三丰"
    assert snapshot(a) == snapshot(b)


def test_a_stale_copy_converges_with_a_compacted_pc_through_a_snapshot(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    a.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")  # a second PC set up from a copy of the file
    a = open_database(tmp_path / "a.db", user="甲")
    b = open_database(tmp_path / "b.db", user="乙")
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13600000000"})
        tx.update("household", ids["h2"], {"risk_colour": "red"})
    compact(a.conn, a.site_id, horizon_ms=0)  # A knows no other PC: everything is folded
    assert _ops(a) == 0
    with b.write() as tx:  # B edits before it ever synced
        tx.update("person", ids["p2"], {"phone": "13500000000"})
        tx.insert("visit", {"household_id": ids["h1"], "visit_date": "2026-03-01", "kind": "月访"})
    for _ in range(2):
        exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    assert b.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13600000000"
    assert a.scalar("SELECT phone FROM person WHERE id = ?", (ids["p2"],)) == "13500000000"
    assert a.scalar("SELECT count(*) FROM visit") == 1
    a.close()
    b.close()


def test_a_damaged_or_cut_snapshot_is_refused_whole(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, _ids = make_office(tmp_path / "a.db")
    compact(a.conn, a.site_id, horizon_ms=0)
    path, _ = sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    data = path.read_bytes()
    for name, broken in (("flip", data[:-40] + bytes([data[-40] ^ 1]) + data[-39:]), ("cut", data[:-30])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / path.name).write_bytes(broken)
        b = open_database(tmp_path / f"{name}.db", user="乙")
        rep = sync.import_from_folder(b, folder, PASS)
        assert rep.rejected == 1 and rep.applied == 0, name
        assert b.scalar("SELECT count(*) FROM person") == 0
        b.close()
    a.close()


def test_recent_rows_keep_their_last_ops_for_a_pc_nobody_has_heard_of_yet(two):
    a, b, ids, stick = two  # B joined from the stick and has not written to it yet
    with a.write() as tx:
        tx.update("person", ids["p1"], {"name": "张叁"})
        tx.update("person", ids["p1"], {"name": "张叁丰"})  # supersedes the first edit
    compact(a.conn, a.site_id)  # the default horizon: recent rows keep their last ops
    names = [r[0] for r in a.query("SELECT value FROM change_log WHERE row_id = ? AND col = 'name'", (ids["p1"],))]
    assert names == ['"张叁丰"']
    with b.write() as tx:  # B's concurrent edit, made before it saw A's
        tx.update("person", ids["p1"], {"name": "张三丰"})
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    assert [(c.tbl, c.col) for c in review.open_conflicts(a)] == [("person", "name")]


def test_insert_ops_leave_out_nulls_and_another_pc_builds_the_same_row(two):
    import json

    a, b, ids, stick = two
    with a.write() as tx:
        pid = tx.insert("person", {"name": "赵六", "household_id": ids["h1"], "phone": None, "notes": None})
    value = json.loads(a.scalar("SELECT value FROM change_log WHERE row_id = ? AND col = '*'", (pid,)))
    assert value["name"] == "赵六" and value["deleted"] == 0  # NOT NULL columns are always there
    assert None not in value.values() and "phone" not in value and "notes" not in value
    exchange(a, b, stick)
    row = b.one("SELECT * FROM person WHERE id = ?", (pid,))
    assert row is not None and row["phone"] is None and row["notes"] is None
    assert snapshot(a) == snapshot(b)


def test_a_stable_insert_op_goes_at_once_and_later_edits_still_merge(two):
    """No PC can edit a row before it has the op that made it, so a stable insert op goes without
    waiting for the horizon; a row whose id two PCs derive alike keeps its insert op."""
    a, b, ids, stick = two
    with a.write() as tx:
        new = tx.insert("person", {"name": "王五", "household_id": ids["h2"], "phone": None})
        shared = tx.insert("setting", {"id": "visit.reminder_days", "value": "7"})
    assert a.scalar("SELECT count(*) FROM change_log WHERE row_id = ? AND col = '*'", (new,)) == 1
    exchange(a, b, stick)  # B has both rows, A has heard so, and the sync button compacted
    ops = {r[0]: r[1] for r in a.query("SELECT row_id, count(*) FROM change_log GROUP BY row_id")}
    assert new not in ops  # folded into the row at once
    assert ops.get(shared) == 1  # a key two PCs may both insert keeps its op until the horizon
    assert a.scalar("SELECT name FROM person WHERE id = ?", (new,)) == "王五"
    with b.write() as tx:  # B edits the row it received; A's file no longer holds the insert op
        tx.update("person", new, {"phone": "13800000001"})
    with a.write() as tx:
        tx.update("person", new, {"name": "王武"})
    exchange(a, b, stick)
    assert snapshot(a) == snapshot(b)
    assert tuple(a.one("SELECT name, phone FROM person WHERE id = ?", (new,))) == ("王武", "13800000001")
    assert review.open_conflicts(a) == []


def _derived(db) -> tuple[set, set, list]:
    search = {tuple(r) for r in db.query("SELECT person_id FROM person_search")}
    order = {tuple(r) for r in db.query("SELECT household_id, addr_key, state, number, head_key, size "
                                        "FROM household_order")}
    found = [r[0] for r in db.query("SELECT s.person_id FROM person_search_fts f JOIN person_search s "
                                    "ON s.rid = f.rowid WHERE person_search_fts MATCH '1380' ORDER BY 1")]
    return search, order, found


def test_a_new_pc_joining_by_snapshot_gets_the_same_search_and_address_order(tmp_path):
    """A first sync fills the search and order tables in one pass at the end: the same as row by row."""
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    with a.write() as tx:
        building = tx.insert("building", {"community_id": ids["community"], "name": "安居苑", "number": 3})
        unit = tx.insert("unit", {"building_id": building, "number": 2})
        room = tx.insert("room", {"unit_id": unit, "number": "501", "floor": 5})
        tx.update("household", ids["h2"], {"room_id": room, "head_person_id": ids["p2"]})
        tx.update("person", ids["p2"], {"phone": "13800001111"})
        tx.insert("person", {"name": "王五", "household_id": ids["h2"], "phone": "13800002222"})
    compact(a.conn, a.site_id, horizon_ms=0)
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    assert sync.import_from_folder(b, stick, PASS).applied > 0
    assert snapshot(b) == snapshot(a)
    got = _derived(b)
    assert got == _derived(a)
    assert len(got[2]) == 2 and any(r[3] == "安居苑" or "安居苑" in r[1] for r in got[1])
    b.conn.execute("INSERT INTO person_search_fts(person_search_fts, rank) VALUES ('integrity-check', 1)")
    # The row-by-row triggers are back: a later edit reaches the search at once.
    with b.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13800003333"})
    assert len(_derived(b)[2]) == 3
    a.close()
    b.close()


def test_vacuum_builds_the_new_file_on_disk_and_leaves_temporary_tables_in_memory(tmp_path, monkeypatch):
    # This SQLite keeps temporary databases in memory: VACUUM's copy of the whole file would be
    # held in memory (280 MB at 100,000 residents); the later temporary tables and sorts stay there.
    import app.models.sync.compact as compact_module

    monkeypatch.setattr(compact_module, "VACUUM_MIN_BYTES", 0)
    monkeypatch.setattr(compact_module, "VACUUM_MIN_SHARE", 0.0)
    a, _ids = make_office(tmp_path / "a.db")
    seen: list[str] = []
    a.conn.set_trace_callback(lambda sql: seen.append(" ".join(sql.split()).upper()))
    report = compact(a.conn, a.site_id, horizon_ms=0)
    a.conn.set_trace_callback(None)
    assert report.vacuumed
    at = seen.index("VACUUM")
    assert "PRAGMA TEMP_STORE = FILE" in seen[:at]
    assert a.scalar("PRAGMA temp_store") == 0  # back to the build's default (memory)
    a.close()


def test_compaction_keeps_only_the_undo_history_a_user_can_reach(tmp_path, monkeypatch):
    import app.models.sync.compact as compact_module
    from app.models.core.undo import UndoHistory

    monkeypatch.setattr(compact_module, "HISTORY_ROWS", 3)
    a, ids = make_office(tmp_path / "a.db")
    for i in range(5):
        with a.write(label=f"改电话{i}") as tx:
            tx.update("person", ids["p1"], {"phone": f"1380000000{i}"})
    a.user = "乙"
    with a.write(label="乙改名") as tx:
        tx.update("person", ids["p2"], {"name": "李四甲"})
    a.user = "甲"
    assert a.scalar("SELECT count(*) FROM op_log WHERE user = '甲'") >= 6
    report = compact(a.conn, a.site_id, horizon_ms=0)
    assert report.removed_steps > 0
    assert a.scalar("SELECT count(*) FROM op_log WHERE user = '甲'") == 3
    assert a.scalar("SELECT count(*) FROM op_log WHERE user = '乙'") == 1
    # The newest steps are the ones kept, and the last one still undoes.
    history = UndoHistory.load(a)
    assert history.undo_label == "改电话4"
    history.undo(a)
    assert a.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13800000003"
    a.close()


def test_compaction_rewrites_a_file_that_has_grown_since_its_last_rewrite(tmp_path, monkeypatch):
    import app.models.sync.compact as compact_module

    monkeypatch.setattr(compact_module, "VACUUM_MIN_BYTES", 0)
    a, ids = make_office(tmp_path / "a.db")
    assert compact(a.conn, a.site_id, horizon_ms=0).vacuumed  # never rewritten before: once now
    pages = a.scalar("SELECT value FROM meta WHERE key = 'vacuumed_pages'")
    assert int(pages) == int(a.scalar("PRAGMA page_count"))
    assert not compact(a.conn, a.site_id, horizon_ms=0).vacuumed  # nothing grew
    with a.write(label="加人") as tx:
        for i in range(400):
            tx.insert("person", {"name": f"新人{i}", "household_id": ids["h1"], "notes": "备注" * 40})
    assert int(a.scalar("PRAGMA page_count")) >= int(pages) * (1 + compact_module.VACUUM_GROWTH)
    # Next to nothing is free (the free-space rule would not rewrite it): the growth decides.
    assert int(a.scalar("PRAGMA freelist_count")) < compact_module.VACUUM_MIN_SHARE * int(a.scalar("PRAGMA page_count"))
    report = compact(a.conn, a.site_id, horizon_ms=0)
    assert report.vacuumed
    assert int(a.scalar("SELECT value FROM meta WHERE key = 'vacuumed_pages'")) == int(a.scalar("PRAGMA page_count"))
    a.close()

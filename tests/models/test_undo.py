"""Operations collect their Changes in Tx; undo and redo put values back as new, synced writes."""

from __future__ import annotations

import pytest

from app.models.core.changes import Changes, OpKind
from app.models.core.db import open_database
from app.models.core.undo import UndoHistory, UndoRefused
from app.models.registry import persons
from app.models.sync import sync
from tests.builders.sync import PASS, N, exchange, make_office


@pytest.fixture
def office(tmp_path):
    db, ids = make_office(tmp_path / "a.db")
    seen: list[Changes] = []
    db.listeners.append(seen.append)
    history = UndoHistory(db.user)
    db.listeners.append(history.record)
    yield db, ids, seen, history
    db.close()


def test_a_write_reports_its_tables_rows_and_a_label(office):
    db, ids, seen, _ = office
    persons.update(db, ids["p1"], {"phone": "13800000000"})
    [changes] = seen
    assert changes.tables == {"person"} and changes.row_ids("person") == {ids["p1"]}
    assert changes.label == "修改 张三 的电话"
    assert changes.undoable and changes.kind == OpKind.OP and len(changes.op_ids) == 1
    assert changes.touches({"person", "visit"}) and not changes.touches({"visit"})
    assert db.scalar("SELECT count(*) FROM audit_log WHERE op_id = ?", (changes.op_ids[0],)) == 1


def test_collect_merges_several_transactions_into_one_step(office):
    db, ids, seen, history = office
    with db.collect() as collected:
        persons.update(db, ids["p1"], {"phone": "13800000000"})
        persons.update(db, ids["p2"], {"phone": "13900000000"})
    assert len(seen) == 1 and len(collected.changes.op_ids) == 2
    history.undo(db)
    assert db.scalar("SELECT count(*) FROM person WHERE phone IS NOT NULL") == 0


def test_undo_then_the_one_before_then_redo(office):
    db, ids, _, history = office
    persons.update(db, ids["p1"], {"phone": "13800000000"})
    pid = persons.add(db, ids["h1"], {"name": "王小二", "relation": "子"})
    assert history.undo_label == "新增成员 王小二"
    changes = history.undo(db)
    assert changes.kind == OpKind.UNDO and changes.label == "撤销“新增成员 王小二”"
    assert db.scalar("SELECT deleted FROM person WHERE id = ?", (pid,)) == 1
    assert history.undo_label.startswith("修改 张三")
    history.undo(db)
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) is None
    assert history.undo_label is None and history.redo_label.startswith("修改 张三")
    history.redo(db)
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13800000000"
    assert history.redo_label == "新增成员 王小二"
    history.redo(db)
    assert db.scalar("SELECT deleted FROM person WHERE id = ?", (pid,)) == 0
    # The undos are audited like any edit.
    assert db.scalar("SELECT count(*) FROM op_log WHERE kind = 'undo'") == 2


def test_undo_reads_the_audit_range_its_operation_recorded(office):
    """m0042: op_log keeps the ids of its audit entries (the log has no op index any more), and
    operations recorded before that get their range from the log when the file is upgraded."""
    from app.models.migrations.m0042_lean_audit_indexes import BACKFILL

    db, ids, _, history = office
    assert not db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'audit_log_op'")
    persons.update(db, ids["p1"], {"phone": "13800000000"})
    pid = persons.add(db, ids["h1"], {"name": "王小二", "relation": "子"})
    ranges = db.query("SELECT op_id, audit_from, audit_to FROM op_log ORDER BY rowid DESC LIMIT 2")
    for r in ranges:
        ops = {x[0] for x in db.query("SELECT op_id FROM audit_log WHERE id BETWEEN ? AND ?",
                                      (r["audit_from"], r["audit_to"]))}
        assert ops == {r["op_id"]}
    with db.write() as tx:  # as written before m0042: no range, until the upgrade fills it in
        tx.conn.execute("UPDATE op_log SET audit_from = NULL, audit_to = NULL")
        tx.conn.execute(BACKFILL)
    assert [tuple(r) for r in db.query("SELECT op_id, audit_from, audit_to FROM op_log ORDER BY rowid DESC LIMIT 2")] \
        == [tuple(r) for r in ranges]
    history.undo(db)
    assert db.scalar("SELECT deleted FROM person WHERE id = ?", (pid,)) == 1
    history.undo(db)
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) is None


def test_undo_of_a_delete_restores(office):
    db, ids, _, history = office
    persons.remove(db, ids["p2"])
    history.undo(db)
    assert db.scalar("SELECT deleted FROM person WHERE id = ?", (ids["p2"],)) == 0


def test_undo_refused_when_someone_changed_the_value_since(office):
    db, ids, _, history = office
    persons.update(db, ids["p1"], {"phone": "13800000000"})
    db.user = "王五"  # another clerk on this PC (the history stays the first one's)
    with db.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13700000000"})
    db.user = "甲"
    with pytest.raises(UndoRefused, match="无法撤销：张三 的电话 已被 王五 于 .* 修改"):
        history.undo(db)
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13700000000"
    assert history.undo_label is None  # the refused step is dropped: the one before is next


def test_batch_writes_are_not_undoable(office):
    db, ids, seen, history = office
    with db.write() as tx:
        tx.set_many("person", "phone", {ids["p1"]: "1", ids["p2"]: "2"})
    assert not seen[-1].undoable and history.undo_label is None


def test_an_undo_made_on_one_pc_arrives_on_the_other(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    b = open_database(tmp_path / "b.db", user="乙")
    history = UndoHistory(a.user)
    a.listeners.append(history.record)
    exchange(a, b, stick)
    persons.update(a, ids["p1"], {"phone": "13800000000"})
    exchange(a, b, stick)
    assert b.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) == "13800000000"
    history.undo(a)
    exchange(a, b, stick)
    assert b.scalar("SELECT phone FROM person WHERE id = ?", (ids["p1"],)) is None
    # ... and B's later edit blocks a redo on A once it has arrived.
    persons.update(b, ids["p1"], {"phone": "13600000000"})
    exchange(a, b, stick)
    with pytest.raises(UndoRefused, match="乙（在另一台电脑上）"):
        history.redo(a)
    a.close()
    b.close()
    assert sync and PASS and N

"""The event audit: one function appends, each entry chained to the previous by its hash."""

from __future__ import annotations

import pytest

from app.models.core import sqlite as sqlite3
from app.models.core.audit_events import Action, Outcome, record_event, verify_chain


def test_entries_chain_and_verify(db):
    first = record_event(db, Action.LOGIN, {"via": "cli"}, Outcome.OK)
    second = record_event(db, Action.LOGIN, "密码错误", Outcome.FAILED, user="张三")
    assert (first, second) == (1, 2)
    rows = db.query("SELECT * FROM audit_events ORDER BY id")
    assert rows[0]["prev_hash"] == "" and rows[1]["prev_hash"] == rows[0]["hash"]
    assert rows[0]["user"] == "测试员" and rows[1]["user"] == "张三"
    assert rows[1]["outcome"] == "failed" and rows[0]["detail"] == '{"via": "cli"}'
    assert verify_chain(db) == []


def test_the_program_cannot_edit_or_delete_an_entry(db):
    record_event(db, Action.LOCK)
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("UPDATE audit_events SET user = 'x'")
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("DELETE FROM audit_events")


def _tamper(db, sql: str) -> None:
    # What someone editing the file with another tool could do: drop the guards first.
    db.conn.execute("DROP TRIGGER audit_events_no_update")
    db.conn.execute("DROP TRIGGER audit_events_no_delete")
    db.conn.execute(sql)


@pytest.mark.parametrize(
    "sql, words",
    [
        ("UPDATE audit_events SET outcome = 'ok' WHERE id = 2", "内容"),
        ("DELETE FROM audit_events WHERE id = 2", "缺失"),
        ("UPDATE audit_events SET detail = '改过' WHERE id = 1", "第 1 条"),
    ],
)
def test_tampering_with_the_file_is_evident(db, sql, words):
    for outcome in (Outcome.OK, Outcome.FAILED, Outcome.OK):
        record_event(db, Action.LOGIN, None, outcome)
    _tamper(db, sql)
    problems = verify_chain(db)
    assert problems and any(words in p for p in problems)


def test_an_event_inside_a_rolled_back_write_is_rolled_back_with_it(db):
    with pytest.raises(RuntimeError), db.write():
        record_event(db, Action.ACCOUNT_ADD, "x")
        raise RuntimeError
    assert db.scalar("SELECT count(*) FROM audit_events") == 0
    record_event(db, Action.ACCOUNT_ADD, "y")
    assert verify_chain(db) == []

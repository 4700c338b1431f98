"""Operations: each write transaction is one row of ``op_log`` and stamps its audit entries with it.

Undo reads an operation's audit entries (old and new values) through ``audit_log.op_id`` and checks
that nothing else was written with it through the ``change_log`` range the operation made
(``log_from``..``log_to``). ``op_log`` is local to this PC (no ``deleted`` column: never synced);
the undo itself is a new operation whose rows sync like any other edit.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE audit_log ADD COLUMN op_id TEXT")
    conn.execute("CREATE INDEX audit_log_op ON audit_log(op_id) WHERE op_id IS NOT NULL")
    conn.execute(
        "CREATE TABLE op_log ("
        " op_id TEXT PRIMARY KEY,"
        " at TEXT NOT NULL, user TEXT, site_id TEXT, hlc TEXT NOT NULL,"
        " label TEXT NOT NULL DEFAULT '',"
        " kind TEXT NOT NULL DEFAULT 'op',"  # op | undo | redo
        " reverts TEXT NOT NULL DEFAULT '[]',"  # JSON list of the op ids an undo or redo put back
        " undoable INTEGER NOT NULL DEFAULT 1,"
        " log_from INTEGER, log_to INTEGER"  # the change_log op ids this operation wrote
        ")"
    )

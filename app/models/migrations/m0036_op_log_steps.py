"""Undo steps that outlive the program: ``op_log.step`` groups the write transactions of one user
action (the op id of its first transaction; NULL when it made only one), so the undo history read
back at the next start has the same steps as before, and an index finds a user's last operations
without reading the whole log.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE op_log ADD COLUMN step TEXT")
    conn.execute("CREATE INDEX op_log_user ON op_log(user)")

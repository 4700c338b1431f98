"""The day a household was entered in the program, so a first visit is never due before it.

Existing households keep NULL: their first visit stays due from the move-in date, as before.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE household ADD COLUMN entered_date TEXT")

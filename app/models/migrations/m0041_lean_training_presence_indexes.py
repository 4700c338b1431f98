"""The training presence indexes hold their foreign key alone: 4 MB less at 100,000 residents.

Each carried the other key and the present flag to cover its look-ups (m0020): two 36-character
keys per tick. A session's or an attendance's ticks are a handful of rows, fetched by rowid in
microseconds, and the whole-course figures read every tick whatever the index holds. The two
indexes stay, one per foreign key's child column (see m0037 on why those are kept).
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

SQL = """
DROP INDEX IF EXISTS training_presence_session;
DROP INDEX IF EXISTS training_presence_attendance;
CREATE INDEX training_presence_session ON training_presence(session_id);
CREATE INDEX training_presence_attendance ON training_presence(attendance_id);
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        for index in ("training_presence_session", "training_presence_attendance"):
            conn.execute(f"ANALYZE {index}")

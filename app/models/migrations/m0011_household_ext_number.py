"""The county's own household number (户编号 / 家庭编号 of the monitoring system) on a household.

It is kept beside the office's own number (HLX-…), which is still assigned: imports match
households by it, the registry shows and searches it, exports carry it.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE household ADD COLUMN ext_number TEXT")
    conn.execute("CREATE INDEX household_ext_number ON household(ext_number)")

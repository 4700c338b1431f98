"""An index on the jobs ledger's order (start date, newest first), so its first page stops early.

The employment page lists jobs by ``e.start_date DESC`` (then id). Without an index SQLite tests
the search on every job and sorts them all before it can hand over 50: at 100,000 residents (67,000
jobs) a word nearly everyone matches ("532", "HLX-0") cost 150-350 ms per keystroke. With this index
the page walks the jobs newest first and stops after a page. `person_id` and `deleted` make it
cover what the list tests on the job itself, so the walk reads the index alone. About 6.6 MB at
100,000 residents (2.3 % of the file).
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX IF NOT EXISTS employment_start ON employment(start_date DESC, id, person_id, deleted)")
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        conn.execute("ANALYZE employment_start")  # the planner weighs it like the others

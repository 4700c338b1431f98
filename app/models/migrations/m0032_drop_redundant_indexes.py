"""Drop indexes another index already serves; the two household-visit indexes become one.

Each dropped index is the leading columns of a longer one on the same table, which SQLite uses
for the same look-ups (an equality or range on those columns, and a deferred foreign key's scan
of the children when a late parent arrives). At 100,000 residents they held about 24 MB, and
every insert paid for them.

- person_household (household_id): person_household_status (household_id, status)
- person_name (name): person_name_cover (name, household_id, deleted)
- person_initials (name_initials): person_initials_cover (name_initials, household_id, deleted, name)
- employment_person (person_id): employment_current (person_id, deleted, start_date, end_date, kind)
- training_attendance_person (person_id): training_attendance_person_course (person_id, course_id)

visit_household_date (household_id, visit_date) and its partial twin visit_live_household_date
(the same, WHERE deleted = 0) held the same 222,000 entries twice. One full index with `deleted`
last serves both: the last-visit probes (household_id = ? AND deleted = 0 ORDER BY visit_date
DESC LIMIT 1) still read the index alone, and the foreign key's scan needs a full one.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3

DROPPED = ("person_household", "person_name", "person_initials", "employment_person",
           "training_attendance_person", "visit_household_date", "visit_live_household_date")


def up(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX IF NOT EXISTS visit_household_date_deleted ON visit(household_id, visit_date, deleted)")
    for name in DROPPED:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        conn.execute("ANALYZE visit_household_date_deleted")  # the planner weighs it like the others

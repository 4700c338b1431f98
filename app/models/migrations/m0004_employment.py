"""Schema step for employment: covering indexes for the labour figures and the lists behind them."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

# The figures look at every working-age person once and probe that person's current jobs; covering
# indexes keep those probes inside the index (no table row is read), which is most of the cost.
# "Not deleted" is tested as NOT IN (the deleted ones): partial indexes of just those rows, which
# SQLite can never pick for an ordinary "deleted = 0" query (a plain index on deleted misleads it).
SQL = """
CREATE INDEX IF NOT EXISTS person_labour
    ON person(labour_ability, birth_date, status, deleted, household_id, id);
CREATE INDEX IF NOT EXISTS household_gone ON household(id) WHERE deleted = 1;
CREATE INDEX IF NOT EXISTS person_gone ON person(id) WHERE deleted = 1;
CREATE INDEX IF NOT EXISTS employment_current ON employment(person_id, deleted, start_date, end_date, kind);
CREATE INDEX IF NOT EXISTS employment_kind ON employment(kind);
CREATE INDEX IF NOT EXISTS training_course_start ON training_course(start_date);
CREATE INDEX IF NOT EXISTS training_attendance_person_course ON training_attendance(person_id, course_id);
CREATE INDEX IF NOT EXISTS intention_open ON intention(person_id, closed_date);
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

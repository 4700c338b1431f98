"""Schema step for places and visits: indexes for the due list, the special groups and head look-ups."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

SQL = """
-- The last live visit of a household in one index probe (due lists scan every household).
CREATE INDEX IF NOT EXISTS visit_live_household_date ON visit(household_id, visit_date) WHERE deleted = 0;
-- 四必访 members: a small partial index instead of reading every person.
CREATE INDEX IF NOT EXISTS person_special ON person(household_id)
    WHERE sg_disabled <> 0 OR sg_incapacitated <> 0 OR sg_hospitalised <> 0 OR sg_elderly_alone <> 0;
CREATE INDEX IF NOT EXISTS place_role_role_person ON place_role(role, person_id);
CREATE INDEX IF NOT EXISTS place_role_staff ON place_role(staff_name);
CREATE INDEX IF NOT EXISTS visit_mediation ON visit(mediation_case_id);
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

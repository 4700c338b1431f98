"""Schema step for mediation: case outcome columns, outsider pinyin initials, list indexes."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

# outcome / outcome_date: the case's conclusion (已调解 / 调解不成 / 已移交) and its date, kept
# after the case moves on to 已回访 / 结案, so the monthly report needs no history scan.
# outsider_initials: pinyin initials of an outsider party, for search like person.name_initials.
SQL = """
ALTER TABLE mediation_case ADD COLUMN outcome TEXT;
ALTER TABLE mediation_case ADD COLUMN outcome_date TEXT;
ALTER TABLE mediation_party ADD COLUMN outsider_initials TEXT;
CREATE INDEX mediation_case_level_status ON mediation_case(level, status);
CREATE INDEX mediation_case_building ON mediation_case(building_id);
CREATE INDEX mediation_case_visit ON mediation_case(visit_id);
CREATE INDEX mediation_followup_case_date ON mediation_followup(case_id, followup_date);
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

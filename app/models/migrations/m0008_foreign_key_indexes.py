"""Indexes on foreign-key columns that had none.

A deferred foreign key still dangling when a parent row is inserted makes SQLite scan every
child table that references it without an index (an import measured 167 s instead of 7 s).
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3

INDEXES = {
    "visit_visitor_person": "visit(visitor_person_id)",
    "visit_mediation_case": "visit(mediation_case_id)",  # a copy of m0003's visit_mediation; dropped by m0031
    "intention_met_employment": "intention(met_employment_id)",
    "intention_met_attendance": "intention(met_attendance_id)",
    "mediation_case_visit": "mediation_case(visit_id)",
    "mediation_case_building": "mediation_case(building_id)",
    "household_address_room": "household_address(room_id)",
    "grid_community": "grid(community_id)",
    "grid_district": "grid(district_id)",
    "district_community": "district(community_id)",
}


def up(conn: sqlite3.Connection) -> None:
    for name, target in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

"""ID numbers kept 待核实: a number whose check digit is wrong, saved as the paper record has it.

``person.id_unverified`` holds the exact reason (NULL when the number is valid or absent).
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE person ADD COLUMN id_unverified TEXT")
    conn.execute("CREATE INDEX person_id_unverified ON person(household_id) WHERE id_unverified IS NOT NULL")

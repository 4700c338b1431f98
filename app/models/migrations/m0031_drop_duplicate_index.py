"""Drop ``visit_mediation_case``: the same index as m0003's ``visit_mediation`` (visit.mediation_case_id).

Every insert into visit paid for both, and the file carried the second copy for nothing.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3


def up(conn: sqlite3.Connection) -> None:
    conn.execute("DROP INDEX IF EXISTS visit_mediation_case")

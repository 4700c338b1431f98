"""m0032: the indexes another index serves are gone, and the look-ups they served still use an index."""

from __future__ import annotations

from app.models.core.db import open_database
from app.models.migrations.m0032_drop_redundant_indexes import DROPPED


def _plan(db, sql: str, params: tuple = ()) -> str:  # noqa: ANN001
    return " / ".join(r[3] for r in db.query("EXPLAIN QUERY PLAN " + sql, params))


def test_redundant_indexes_are_dropped_and_their_lookups_still_use_an_index(tmp_path):
    db = open_database(tmp_path / "a.db", user="甲")
    names = {r[0] for r in db.query("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    assert not names & set(DROPPED)
    # Each look-up a dropped index served is a search of the index that covers it.
    lookups = {
        "person_household_status": ("SELECT id FROM person WHERE household_id = ?", ("h",)),
        "person_name_cover": ("SELECT household_id FROM person WHERE name = ?", ("张三",)),
        "person_initials_cover": ("SELECT id FROM person WHERE name_initials GLOB ?", ("zs*",)),
        "employment_current": ("SELECT id FROM employment WHERE person_id = ?", ("p",)),
        "training_attendance_person_course": ("SELECT id FROM training_attendance WHERE person_id = ?", ("p",)),
    }
    for index, (sql, params) in lookups.items():
        assert "SEARCH" in _plan(db, sql, params) and index in _plan(db, sql, params), sql
    # The last-visit probe of the visit rhythm and the figures reads the one visit index alone.
    plan = _plan(db, "SELECT visit_date FROM visit WHERE household_id = ? AND deleted = 0 "
                     "ORDER BY visit_date DESC LIMIT 1", ("h",))
    assert "COVERING INDEX visit_household_date_deleted" in plan and "TEMP B-TREE" not in plan
    db.close()

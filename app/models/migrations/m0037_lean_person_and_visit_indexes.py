"""Slimmer person-search, labour and visit indexes: about 30 MB less at 100,000 residents.

Every entry of an index on a UUID column carries the 36-character key, so covering indexes
cost far more than the columns they serve. What no query needs goes:

- The name, initials and pinyin indexes carried household_id (and deleted, name) to cover the
  search: 19 MB. The search reads at most MATCH_CAP people per broad branch, so fetching those
  columns from the table costs a few milliseconds; the indexes keep only the searched column.
- ``person_search`` kept each person's household_id and deleted flag, with an index on the
  household (9 MB): the search joins the person instead (by primary key), which it needs for the
  name anyway. Its rid and text stay as they were, so the full-text index is unchanged. The
  table is local and derived (never synced), so dropping its columns changes no bundle.
- ``person_labour`` (the labour-force figures' covering index) holds only people who can work
  (labour_ability 全 or 半), the only ones every query using it asks for: 5 MB.
- ``visit_date`` (4 MB) served only the visit ledger's ORDER BY, which a sort does faster.
- ``visit_mediation`` becomes partial (WHERE mediation_case_id IS NOT NULL): almost no visit
  has a case, and ``mediation_case_id = ?`` implies the condition, so look-ups still use it.

Indexes on a foreign key's child column stay, even where no query reads them (the visit's
visitor): while a transaction holds a dangling reference, as a sync or the demo generation may,
SQLite looks for the children of every parent inserted, and without the index that is a scan.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations import m0002_registry
from app.models.migrations.m0001_initial import run_script

# person_search.text: "<id number>|<phone>|<name>" (see m0002).
_TEXT = m0002_registry.PERSON_TEXT

PERSON_SEARCH_TRIGGERS = f"""
CREATE TRIGGER person_search_ai AFTER INSERT ON person BEGIN
    INSERT INTO person_search(person_id, text) VALUES (NEW.id, {_TEXT.format(p="NEW")})
    ON CONFLICT(person_id) DO UPDATE SET text = excluded.text;
END;
CREATE TRIGGER person_search_au AFTER UPDATE OF id_number, phone, name ON person BEGIN
    UPDATE person_search SET text = {_TEXT.format(p="NEW")} WHERE person_id = NEW.id;
END;
"""

SQL = f"""
DROP INDEX IF EXISTS visit_date;
DROP INDEX IF EXISTS visit_mediation;
CREATE INDEX visit_mediation ON visit(mediation_case_id) WHERE mediation_case_id IS NOT NULL;

DROP INDEX IF EXISTS person_name_cover;
DROP INDEX IF EXISTS person_initials_cover;
DROP INDEX IF EXISTS person_pinyin_cover;
CREATE INDEX person_by_name ON person(name);
CREATE INDEX person_by_initials ON person(name_initials);
CREATE INDEX person_by_pinyin ON person(name_pinyin);
DROP INDEX IF EXISTS person_labour;
CREATE INDEX person_labour ON person(labour_ability, birth_date, status, deleted, household_id, id)
    WHERE labour_ability IN ('全', '半');

DROP TRIGGER IF EXISTS person_search_ai;
DROP TRIGGER IF EXISTS person_search_au;
DROP INDEX IF EXISTS person_search_household;
ALTER TABLE person_search DROP COLUMN household_id;
ALTER TABLE person_search DROP COLUMN gone;
{PERSON_SEARCH_TRIGGERS}
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        for index in ("visit_mediation", "person_by_name", "person_by_initials", "person_by_pinyin", "person_labour"):
            conn.execute(f"ANALYZE {index}")  # the planner weighs them like the others


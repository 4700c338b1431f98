"""The resident search keeps no copy of the text it indexes: 4 MB less at 100,000 residents.

``person_search`` held each person's "<id number>|<phone>|<name>" (m0002) for the trigram index
to read back. Every search of the index is a MATCH of trigram phrases, which its position lists
answer alone, so the index becomes contentless (``contentless_delete``: a row is replaced or
removed by its rowid, without the text it was indexed with), and ``person_search`` keeps only
the integer key the index needs for each person id. The text is computed from the person's row whenever it is written
(``PERSON_TEXT``), as the registry's check of a member already did.
"""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations import m0002_registry
from app.models.migrations.m0001_initial import run_script

_TEXT = m0002_registry.PERSON_TEXT
_RID = "(SELECT rid FROM person_search WHERE person_id = NEW.id)"

PERSON_SEARCH_TRIGGERS = f"""
CREATE TRIGGER person_search_ai AFTER INSERT ON person BEGIN
    INSERT INTO person_search(person_id) VALUES (NEW.id) ON CONFLICT(person_id) DO NOTHING;
    INSERT OR REPLACE INTO person_search_fts(rowid, text) VALUES ({_RID}, {_TEXT.format(p="NEW")});
END;
CREATE TRIGGER person_search_au AFTER UPDATE OF id_number, phone, name ON person BEGIN
    INSERT OR REPLACE INTO person_search_fts(rowid, text) VALUES ({_RID}, {_TEXT.format(p="NEW")});
END;
"""

SQL = f"""
DROP TRIGGER IF EXISTS person_search_fts_ai;
DROP TRIGGER IF EXISTS person_search_fts_au;
DROP TRIGGER IF EXISTS person_search_ai;
DROP TRIGGER IF EXISTS person_search_au;
DROP TABLE IF EXISTS person_search_fts;
DROP TABLE IF EXISTS person_search;
CREATE TABLE person_search (
    rid INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE person_search_fts USING fts5(
    text, content='', contentless_delete=1, tokenize='trigram'
);
{PERSON_SEARCH_TRIGGERS}
"""

# The triggers that keep person_search, its full-text index and household_order in step row by
# row (a bulk load drops them and calls refill_derived once at the end).
DERIVED_TRIGGERS = (m0002_registry.DERIVED_TRIGGERS - {"person_search_fts_ai", "person_search_fts_au"})


def refill_derived(conn: sqlite3.Connection) -> None:
    """Fill person_search, its full-text index and household_order from the rows in one pass each.

    For a bulk load run with DERIVED_TRIGGERS dropped: row by row, those triggers rescan a room's
    or unit's households for every room or unit inserted and update the full-text index and a
    household's size for every person, which makes a first sync of a whole community minutes long.
    """
    conn.execute("DELETE FROM person_search")
    conn.execute("INSERT INTO person_search_fts(person_search_fts) VALUES ('delete-all')")
    conn.execute("DELETE FROM household_order")
    _fill_person_search(conn)
    conn.execute(m0002_registry.FILL_HOUSEHOLD_ORDER)


def _fill_person_search(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO person_search(person_id) SELECT id FROM person")
    conn.execute(f"INSERT INTO person_search_fts(rowid, text) SELECT s.rid, {_TEXT.format(p='p')} "
                 "FROM person_search s JOIN person p ON p.id = s.person_id")


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
    _fill_person_search(conn)

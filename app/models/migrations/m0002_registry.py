"""Schema step for the registry: covering indexes for search, a trigram index, and the household address order."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

# Both tables below are local (no `deleted` column of the synced kind: never synced) and kept in
# step by triggers, so every writer (data layer, demo generator, sync import) keeps them current.
#
# person_search: one row per person with what substring search needs (ID number, phone, name),
#   its household and tombstone, and a stable integer rowid for the FTS5 trigram index (a
#   person's own rowid may change on VACUUM). Substring queries of 3+ characters use the index.
# household_order: each household's address as a sortable key, its state (0 在住, 1 moved
#   away / cancelled, 2 deleted), number, head's pinyin and size (members 在册), so the list
#   can be paged in these orders from an index instead of sorting 25,000 joined rows per page.

_ADDR_KEY = (
    "coalesce((SELECT printf('%08d|%s|%06d|%04d|%04d|%s', coalesce(b.number, 0), coalesce(b.name, ''), "
    "coalesce(u.number, 0), coalesce(r.floor, 0), length(r.number), r.number) "
    "FROM room r LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
    "WHERE r.id = {room}), '~')"
)
_STATE = "(CASE WHEN {h}.deleted = 1 THEN 2 WHEN {h}.status = '在住' THEN 0 ELSE 1 END)"
# Members counted in a household's size, and the head's pinyin (for sorting by 户主).
_SIZE = (
    "(SELECT count(*) FROM person sp INDEXED BY person_household_status "
    "WHERE sp.household_id = {h} AND sp.status = '在册' AND sp.deleted = 0)"
)
_HEAD = "(SELECT hd.name_pinyin FROM person hd WHERE hd.id = {head})"
PERSON_TEXT = "coalesce({p}.id_number, '') || '|' || coalesce({p}.phone, '') || '|' || {p}.name"


def addr_key_sql(room_expr: str) -> str:
    """SQL giving the address sort key of the room `room_expr` (also used to check the triggers)."""
    return _ADDR_KEY.format(room=room_expr)


def _recompute(where: str) -> str:
    return (
        f"UPDATE household_order SET addr_key = {addr_key_sql('(SELECT room_id FROM household WHERE id = household_order.household_id)')} "
        f"WHERE household_id IN ({where});"
    )


_FILL_PERSON_SEARCH = f"""INSERT INTO person_search(person_id, household_id, gone, text)
    SELECT id, household_id, deleted, {PERSON_TEXT.format(p="person")} FROM person;"""
FILL_HOUSEHOLD_ORDER = f"""INSERT INTO household_order(household_id, addr_key, state, number, head_key, size)
    SELECT h.id, {addr_key_sql("h.room_id")}, {_STATE.format(h="h")}, h.number,
           {_HEAD.format(head="h.head_person_id")}, {_SIZE.format(h="h.id")} FROM household h;"""

SQL = f"""
CREATE INDEX IF NOT EXISTS person_name_cover ON person(name, household_id, deleted);
CREATE INDEX IF NOT EXISTS person_initials_cover ON person(name_initials, household_id, deleted, name);
CREATE INDEX IF NOT EXISTS person_pinyin_cover ON person(name_pinyin, household_id, deleted, name);
CREATE INDEX IF NOT EXISTS person_household_status ON person(household_id, status);
CREATE INDEX IF NOT EXISTS building_number ON building(number);
CREATE INDEX IF NOT EXISTS building_name ON building(name);
CREATE INDEX IF NOT EXISTS room_number ON room(number);
CREATE INDEX IF NOT EXISTS unit_building_number ON unit(building_id, number);
CREATE INDEX IF NOT EXISTS household_origin ON household(origin_township);
CREATE INDEX IF NOT EXISTS household_address_room ON household_address(room_id);

CREATE TABLE person_search (
    rid INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL UNIQUE,
    household_id TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX person_search_household ON person_search(household_id);
CREATE VIRTUAL TABLE person_search_fts USING fts5(
    text, content='person_search', content_rowid='rid', tokenize='trigram'
);
CREATE TRIGGER person_search_fts_ai AFTER INSERT ON person_search BEGIN
    INSERT INTO person_search_fts(rowid, text) VALUES (NEW.rid, NEW.text);
END;
CREATE TRIGGER person_search_fts_au AFTER UPDATE OF text ON person_search BEGIN
    INSERT INTO person_search_fts(person_search_fts, rowid, text) VALUES ('delete', OLD.rid, OLD.text);
    INSERT INTO person_search_fts(rowid, text) VALUES (NEW.rid, NEW.text);
END;
CREATE TRIGGER person_search_ai AFTER INSERT ON person BEGIN
    INSERT INTO person_search(person_id, household_id, gone, text)
    VALUES (NEW.id, NEW.household_id, NEW.deleted, {PERSON_TEXT.format(p="NEW")})
    ON CONFLICT(person_id) DO UPDATE SET household_id = excluded.household_id, gone = excluded.gone,
        text = excluded.text;
END;
CREATE TRIGGER person_search_au AFTER UPDATE OF id_number, phone, name, household_id, deleted ON person BEGIN
    UPDATE person_search SET household_id = NEW.household_id, gone = NEW.deleted, text = {PERSON_TEXT.format(p="NEW")}
     WHERE person_id = NEW.id;
END;
{_FILL_PERSON_SEARCH}

CREATE TABLE household_order (
    household_id TEXT PRIMARY KEY,
    addr_key TEXT NOT NULL,
    state INTEGER NOT NULL,
    number TEXT,
    head_key TEXT,
    size INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX household_order_key ON household_order(state, addr_key);
CREATE INDEX household_order_number ON household_order(state, number);
CREATE INDEX household_order_head ON household_order(state, head_key);
CREATE INDEX household_order_size ON household_order(state, size);
CREATE TRIGGER household_order_ai AFTER INSERT ON household BEGIN
    INSERT INTO household_order(household_id, addr_key, state, number, head_key, size)
    VALUES (NEW.id, {addr_key_sql("NEW.room_id")}, {_STATE.format(h="NEW")}, NEW.number,
            {_HEAD.format(head="NEW.head_person_id")}, {_SIZE.format(h="NEW.id")})
    ON CONFLICT(household_id) DO UPDATE SET addr_key = excluded.addr_key, state = excluded.state,
        number = excluded.number, head_key = excluded.head_key, size = excluded.size;
END;
CREATE TRIGGER household_order_au AFTER UPDATE OF room_id, status, deleted, number, head_person_id ON household
BEGIN
    UPDATE household_order SET addr_key = {addr_key_sql("NEW.room_id")}, state = {_STATE.format(h="NEW")},
           number = NEW.number, head_key = {_HEAD.format(head="NEW.head_person_id")}
     WHERE household_id = NEW.id;
END;
CREATE TRIGGER person_order_ai AFTER INSERT ON person BEGIN
    UPDATE household_order SET size = {_SIZE.format(h="NEW.household_id")} WHERE household_id = NEW.household_id;
    UPDATE household_order SET head_key = NEW.name_pinyin
     WHERE household_id IN (SELECT id FROM household INDEXED BY household_head WHERE head_person_id = NEW.id);
END;
CREATE TRIGGER person_order_au AFTER UPDATE OF household_id, status, deleted ON person BEGIN
    UPDATE household_order SET size = {_SIZE.format(h="household_order.household_id")}
     WHERE household_id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER person_order_name AFTER UPDATE OF name_pinyin ON person BEGIN
    UPDATE household_order SET head_key = NEW.name_pinyin
     WHERE household_id IN (SELECT id FROM household INDEXED BY household_head WHERE head_person_id = NEW.id);
END;
CREATE TRIGGER household_order_room AFTER UPDATE OF number, floor, unit_id ON room BEGIN
    {_recompute("SELECT id FROM household WHERE room_id = NEW.id")}
END;
CREATE TRIGGER household_order_room_ai AFTER INSERT ON room BEGIN
    {_recompute("SELECT id FROM household WHERE room_id = NEW.id")}
END;
CREATE TRIGGER household_order_unit AFTER UPDATE OF number, building_id ON unit BEGIN
    {_recompute("SELECT h.id FROM household h JOIN room r ON r.id = h.room_id WHERE r.unit_id = NEW.id")}
END;
CREATE TRIGGER household_order_unit_ai AFTER INSERT ON unit BEGIN
    {_recompute("SELECT h.id FROM household h JOIN room r ON r.id = h.room_id WHERE r.unit_id = NEW.id")}
END;
CREATE TRIGGER household_order_building AFTER UPDATE OF number, name ON building BEGIN
    {_recompute("SELECT h.id FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id WHERE u.building_id = NEW.id")}
END;
CREATE TRIGGER household_order_building_ai AFTER INSERT ON building BEGIN
    {_recompute("SELECT h.id FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id WHERE u.building_id = NEW.id")}
END;
{FILL_HOUSEHOLD_ORDER}
"""


# The triggers that keep person_search, its full-text index and household_order in step row by row.
DERIVED_TRIGGERS = frozenset({
    "person_search_fts_ai", "person_search_fts_au", "person_search_ai", "person_search_au",
    "household_order_ai", "household_order_au", "person_order_ai", "person_order_au", "person_order_name",
    "household_order_room", "household_order_room_ai", "household_order_unit", "household_order_unit_ai",
    "household_order_building", "household_order_building_ai",
})


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

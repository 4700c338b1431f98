"""The conventions every synced table follows, and the triggers that enforce them.

- A *synced* table has a text UUID primary key ``id`` (:func:`new_id`) and a tombstone column
  ``deleted``; rows are never hard-deleted.
- Triggers made by :func:`refresh_change_triggers` append every insert and every changed column to
  ``change_log`` and refuse any write made outside ``Database.write()`` (no ``write_ctx`` row).

The migrations call :func:`refresh_change_triggers` after every step, the write path and sync read
:func:`synced_tables`; none of this needs an open :class:`~app.models.core.db.Database`.
"""

from __future__ import annotations

import uuid

from app.models.core import sqlite as sqlite3


def new_id() -> str:
    return str(uuid.uuid4())


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def refresh_change_triggers(conn: sqlite3.Connection) -> None:
    """(Re)create the logging and guard triggers of every synced table, from its current columns."""
    for table in synced_tables(conn):
        info = conn.execute(f"PRAGMA table_info({_q(table)})").fetchall()
        cols = [r[1] for r in info]
        for suffix in ("guard_ins", "guard_upd", "guard_del", "log_ins", "log_upd"):
            conn.execute(f'DROP TRIGGER IF EXISTS "{table}_{suffix}"')
        outside = "SELECT RAISE(ABORT, 'anju: write outside Database.write()')"
        conn.execute(
            f'CREATE TRIGGER "{table}_guard_ins" BEFORE INSERT ON {_q(table)} '
            f"WHEN NOT EXISTS (SELECT 1 FROM write_ctx) BEGIN {outside}; END"
        )
        conn.execute(
            f'CREATE TRIGGER "{table}_guard_upd" BEFORE UPDATE ON {_q(table)} '
            f"WHEN NOT EXISTS (SELECT 1 FROM write_ctx) BEGIN {outside}; END"
        )
        conn.execute(
            f'CREATE TRIGGER "{table}_guard_del" BEFORE DELETE ON {_q(table)} '
            "BEGIN SELECT RAISE(ABORT, 'anju: rows are never deleted; set deleted = 1'); END"
        )
        conn.execute(
            f'CREATE TRIGGER "{table}_log_ins" AFTER INSERT ON {_q(table)} '
            "WHEN (SELECT mode FROM write_ctx) = 'local' BEGIN "
            "INSERT INTO change_log(site_id, tbl, row_id, col, value, hlc, user) "
            f"SELECT site_id, '{table}', NEW.id, '*', {insert_value(info)}, hlc, user FROM write_ctx; END"
        )
        per_col = " UNION ALL ".join(
            f"SELECT '{c}' AS col, json_quote(NEW.{_q(c)}) AS val WHERE OLD.{_q(c)} IS NOT NEW.{_q(c)}"
            for c in cols
            if c != "id"
        )
        conn.execute(
            f'CREATE TRIGGER "{table}_log_upd" AFTER UPDATE ON {_q(table)} '
            "WHEN (SELECT mode FROM write_ctx) = 'local' BEGIN "
            "INSERT INTO change_log(site_id, tbl, row_id, col, value, hlc, user) "
            f"SELECT w.site_id, '{table}', NEW.id, c.col, c.val, w.hlc, w.user "
            f"FROM write_ctx AS w, ({per_col}) AS c; END"
        )


def insert_value(info: list) -> str:
    """The SQL of an insert op's value: the new row as a JSON object, without the nulls of columns
    whose default is null (a missing key means that default to every reader, this program's
    older versions included), a fifth of a month's change log at 100,000 residents."""
    keep = [r[1] for r in info if r[1] != "id" and (r[3] or r[4] is not None)]
    drop = [r[1] for r in info if r[1] != "id" and not (r[3] or r[4] is not None)]

    def obj(cols: list[str]) -> str:
        return "json_object(" + ", ".join(f"'{c}', NEW.{_q(c)}" for c in cols) + ")"

    # json_patch() leaves out the members its patch sets to null (RFC 7396).
    return f"json_patch({obj(keep)}, {obj(drop)})" if drop else obj(keep)


def synced_tables(conn: sqlite3.Connection) -> list[str]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    out = []
    for name in names:
        cols = {r[1]: r for r in conn.execute(f"PRAGMA table_info({_q(name)})")}
        if "id" in cols and "deleted" in cols and cols["id"][5] == 1:
            out.append(name)
    return out

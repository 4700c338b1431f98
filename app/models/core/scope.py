"""A building head's scope, enforced on the connection: reads see only their buildings, writes are checked.

Reads: for a principal with a building scope, every table that holds residents' records is
shadowed by a TEMP view of the same name (SQLite resolves an unqualified name in the temp schema
first), so every query of every path on that connection — search, lists, the places tree, due
lists, figures, exports, printed forms, pickers — sees only the rows of those buildings without
knowing about scope. Full-access connections get no views: their queries run exactly as before.
Triggers and writes name ``main.`` tables and are unaffected. Inside a write transaction the
views let every row through (``anju_scope.off``), so uniqueness checks and numbering see the
whole office; what may be written is decided by :func:`check_write`, which every insert and
update of :class:`app.models.core.db.Tx` calls: the one place no path (the CLI included) escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from app.models.core import sqlite as sqlite3
from app.models.core.access import ROLE_LABELS, Principal, Role
from app.models.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from app.models.core.db import Database

# Writes to these tables are authorised by the accounts layer itself (a viewer changing their own
# password, a failed login counted), not by the record rules below.
SELF_AUTHORISED_TABLES = frozenset({"account", "account_building"})

_FULL_WRITERS = (None, Role.ADMIN, Role.CLERK)

_OFF = "(SELECT off FROM temp.anju_scope)"
_ROOMS = "SELECT r.id FROM main.room r JOIN main.unit u ON u.id = r.unit_id WHERE u.building_id IN ({b})"
_HOUSEHOLDS = (
    "SELECT h.id FROM main.household h JOIN main.room r ON r.id = h.room_id "
    "JOIN main.unit u ON u.id = r.unit_id WHERE u.building_id IN ({b})"
)
_PEOPLE = f"SELECT p.id FROM main.person p WHERE p.household_id IN ({_HOUSEHOLDS})"
_CASES = (
    "SELECT c.id FROM main.mediation_case c WHERE c.building_id IN ({b}) OR c.id IN "
    f"(SELECT mp.case_id FROM main.mediation_party mp WHERE mp.deleted = 0 AND mp.person_id IN ({_PEOPLE}))"
)

# table → the condition a row must meet to be seen by a building head
_VIEW_WHERE: dict[str, str] = {
    "building": "id IN ({b})",
    "unit": "building_id IN ({b})",
    "room": "unit_id IN (SELECT id FROM main.unit WHERE building_id IN ({b}))",
    "place_role": "(place_table = 'building' AND place_id IN ({b})) OR (place_table = 'unit' AND place_id IN "
    "(SELECT id FROM main.unit WHERE building_id IN ({b})))",
    "household": f"room_id IN ({_ROOMS})",
    "household_order": f"household_id IN ({_HOUSEHOLDS})",
    "household_address": f"household_id IN ({_HOUSEHOLDS})",
    "income_check": f"household_id IN ({_HOUSEHOLDS})",
    "risk_change": f"household_id IN ({_HOUSEHOLDS})",
    "visit": f"household_id IN ({_HOUSEHOLDS})",
    "person": f"household_id IN ({_HOUSEHOLDS})",
    "person_search": f"person_id IN ({_PEOPLE})",
    "employment": f"person_id IN ({_PEOPLE})",
    "intention": f"person_id IN ({_PEOPLE})",
    "training_attendance": f"person_id IN ({_PEOPLE})",
    "mediation_case": f"id IN ({_CASES})",
    "mediation_party": f"case_id IN ({_CASES})",
    "mediation_event": f"case_id IN ({_CASES})",
    "mediation_followup": f"case_id IN ({_CASES})",
}
SHADOWED_TABLES = frozenset(_VIEW_WHERE)

_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)


def strip_index_hints(sql: str) -> str:
    """`sql` without ``INDEXED BY`` hints, which SQLite refuses on a view."""
    return _INDEXED_BY.sub("", sql) if "INDEXED" in sql.upper() else sql


class ScopedCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        if self.connection.scoped:  # type: ignore[attr-defined]
            sql = strip_index_hints(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> Self:
        if self.connection.scoped:  # type: ignore[attr-defined]
            sql = strip_index_hints(sql)
        return super().executemany(sql, seq)


class ScopedConnection(sqlite3.Connection):
    """A connection that drops index hints while a building scope's views shadow the tables."""

    scoped = False

    def cursor(self, factory: Any = ScopedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.scoped:
            sql = strip_index_hints(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> sqlite3.Cursor:
        if self.scoped:
            sql = strip_index_hints(sql)
        return super().executemany(sql, seq)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# What a feature keeps per connection for its principal (counted figures), dropped when the
# principal changes; the feature registers it with on_principal_change when it is loaded.
_ON_PRINCIPAL_CHANGE: list[Callable[[Database], None]] = []


def on_principal_change(forget: Callable[[Database], None]) -> None:
    """Have `forget(db)` called whenever `db` starts acting for another principal."""
    _ON_PRINCIPAL_CHANGE.append(forget)


def install(db: Database) -> None:
    """Make `db`'s connection show what its principal may see (called when the principal changes)."""
    conn = db.conn
    scope = db.principal.building_scope()
    existing = {r[0] for r in conn.execute("SELECT name FROM temp.sqlite_schema WHERE type = 'view'")}
    for name in existing & SHADOWED_TABLES:
        conn.execute(f'DROP VIEW temp."{name}"')
    if isinstance(conn, ScopedConnection):
        conn.scoped = scope is not None
    if scope is not None:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS anju_scope (off INTEGER NOT NULL)")
        conn.execute("DELETE FROM temp.anju_scope")
        conn.execute("INSERT INTO temp.anju_scope(off) VALUES (0)")
        ids = ",".join(_literal(b) for b in sorted(scope))
        main_tables = {r[0]: r[1] or "" for r in conn.execute(
            "SELECT name, sql FROM main.sqlite_schema WHERE type = 'table'")}
        for table, where in _VIEW_WHERE.items():
            if table in main_tables:
                rowid = "" if "WITHOUT ROWID" in main_tables[table].upper() else ", rowid AS rowid"
                # rowid is carried as the last column: queries order by p.rowid, and SQLite
                # builds without SQLITE_ALLOW_ROWID_IN_VIEW (SQLCipher's) give a view none.
                conn.execute(
                    f'CREATE TEMP VIEW "{table}" AS SELECT *{rowid} FROM main."{table}" '
                    f"WHERE {_OFF} OR ({where.format(b=ids)})"
                )
    for forget in _ON_PRINCIPAL_CHANGE:
        forget(db)  # figures counted for the previous principal must not be shown to this one


def open_views(db: Database, open_: bool) -> None:
    """Let the views show every row (inside a write transaction) or only the scope's again."""
    if db.principal.building_scope() is not None:
        db.conn.execute("UPDATE temp.anju_scope SET off = ?", (1 if open_ else 0,))


# -- writes ------------------------------------------------------------------------------------
_TABLE_LABELS = {
    "building": "楼栋", "unit": "单元", "room": "房间", "place_role": "楼栋、单元负责人",
    "household": "住户", "household_address": "住户地址", "income_check": "收支核查", "risk_change": "风险等级",
    "visit": "走访记录", "person": "居民", "employment": "就业记录", "intention": "就业培训意向",
    "training_attendance": "培训参加记录", "training_course": "培训班", "mediation_case": "调解案件",
    "mediation_party": "调解当事人", "mediation_event": "调解经过", "mediation_followup": "调解回访",
    "setting": "单位设置", "community": "社区", "district": "片区", "grid": "网格",
}


def _rows(conn: sqlite3.Connection, sql: str, params: tuple) -> set[str | None]:
    return {r[0] for r in conn.execute(sql, params)}


def _buildings_of(conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> set[str | None] | None:
    """The buildings a row belongs to (a case may belong to several), or None for a table outside scopes."""
    def household(hid: Any) -> set[str | None]:
        return _rows(conn, "SELECT u.building_id FROM main.household h JOIN main.room r ON r.id = h.room_id "
                     "JOIN main.unit u ON u.id = r.unit_id WHERE h.id = ?", (hid,)) or {None}

    def person(pid: Any) -> set[str | None]:
        hid = conn.execute("SELECT household_id FROM main.person WHERE id = ?", (pid,)).fetchone()
        return household(hid[0]) if hid else {None}

    def case(cid: Any) -> set[str | None]:
        found = _rows(conn, "SELECT building_id FROM main.mediation_case WHERE id = ?", (cid,))
        for (pid,) in conn.execute(
            "SELECT person_id FROM main.mediation_party WHERE case_id = ? AND deleted = 0 AND person_id IS NOT NULL",
            (cid,),
        ).fetchall():
            found |= person(pid)
        return found or {None}

    get = row.get
    if table == "building":
        return {get("id")}
    if table == "unit":
        return {get("building_id")}
    if table == "room":
        return _rows(conn, "SELECT building_id FROM main.unit WHERE id = ?", (get("unit_id"),)) or {None}
    if table == "place_role":
        if get("place_table") == "building":
            return {get("place_id")}
        if get("place_table") == "unit":
            return _rows(conn, "SELECT building_id FROM main.unit WHERE id = ?", (get("place_id"),)) or {None}
        return {None}
    if table == "household":
        if get("room_id") is None:
            return {None}
        return _rows(conn, "SELECT u.building_id FROM main.room r JOIN main.unit u ON u.id = r.unit_id "
                     "WHERE r.id = ?", (get("room_id"),)) or {None}
    if table in ("household_address", "income_check", "risk_change", "visit"):
        return household(get("household_id"))
    if table == "person":
        return household(get("household_id")) if get("household_id") else {None}
    if table in ("employment", "intention", "training_attendance"):
        return person(get("person_id"))
    if table == "mediation_case":
        found = {get("building_id")} | (case(get("id")) if get("id") else set())
        return found
    if table in ("mediation_party", "mediation_event", "mediation_followup"):
        found = case(get("case_id"))
        if table == "mediation_party" and get("person_id"):
            found |= person(get("person_id"))
        return found
    return None


def check_write(db: Database, table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
    """Refuse a write the principal may not make: a read-only role, or a building head outside their buildings.

    ``old`` is the row before an update (None for an insert), ``new`` the row as it will be.
    """
    p: Principal = db.principal
    if p.role in _FULL_WRITERS or table in SELF_AUTHORISED_TABLES:
        return
    label = _TABLE_LABELS.get(table, "这项数据")
    who = f"“{p.name}”（{ROLE_LABELS.get(p.role, '') if p.role else ''}）"
    if not p.can_write_records:
        raise PermissionDeniedError(f"{who}是只读账号，不能修改{label}。")
    scope = p.building_scope()
    if scope is None:
        return
    for row in (old, new):
        if row is None:
            continue
        buildings = _buildings_of(db.conn, table, row)
        if buildings is None:
            raise PermissionDeniedError(f"{who}只能修改所负责楼栋的住户、居民、走访和调解记录，不能修改{label}。")
        if table == "mediation_case" or table.startswith("mediation_"):
            ok = bool(buildings & scope)  # a case is theirs when its building or one party is
        else:
            ok = bool(buildings) and buildings <= scope
        if not ok:
            raise PermissionDeniedError(f"{who}只能修改所负责楼栋的{label}；这条记录不在您负责的楼栋。")


def check_sync_apply(db: Database) -> None:
    """Applying another PC's changes touches every building: only full-access writers may do it."""
    p = db.principal
    if p.role not in _FULL_WRITERS:
        raise PermissionDeniedError(
            f"“{p.name}”的账号不能导入同步数据或恢复备份：这会改动所有楼栋的记录，请由社区工作人员或管理员操作。"
        )

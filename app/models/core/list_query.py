"""Lists as query objects: what a table on screen shows, built in the data layer, read a page at a time.

A :class:`ListQuery` holds the FROM, the condition and its parameters of one list (the jobs ledger
filtered by state and a search, the cases of a building …). Feature modules build them from plain
arguments (``employment.jobs_query(state=…, search=…)``); the UI's paged table models hold one and
ask it for a count, a page or an order of ids, and "export what I see" hands the same object to
the Excel export. No SQL text crosses into the UI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: this module imports nothing of the app at run time
    from app.models.core.db import Database

# (key, SQL expression) of one displayed column; the key becomes the row dict's key.
ColumnSql = tuple[str, str]


def column_alias(key: str) -> str:
    """`key` quoted as an SQL column alias."""
    return '"' + key.replace('"', '""') + '"'


def dict_rows(db: Database, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of `sql` as dicts keyed by column name."""
    cur = db.conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@dataclass(frozen=True)
class Condition:
    """A condition (SQL over a list's aliases) with its parameters; "" is no condition."""

    sql: str = ""
    params: tuple[Any, ...] = ()
    # An index a list filtered by this condition should walk in its order rather than gather and
    # sort every match (a word nearly everyone shares, see registry_search.is_broad); "" = let
    # SQLite choose. A hint: a list may ignore it.
    walk: str = ""

    @staticmethod
    def all_of(parts: Iterable[Condition]) -> Condition:
        """The conditions joined with AND (empty ones left out)."""
        kept = [p for p in parts if p.sql]
        walk = next((p.walk for p in kept if p.walk), "")
        return Condition(" AND ".join(p.sql for p in kept), tuple(x for p in kept for x in p.params), walk)


NOTHING = Condition("0")  # a list that shows no rows (nothing chosen yet)


@dataclass(frozen=True)
class ListQuery:
    """One list: ``SELECT … FROM <from_sql> WHERE <where>`` keyed by ``id_sql``, with its params.

    ``lean_from`` (e.g. "person p"): counting and ordering use it instead of ``from_sql`` whenever
    the condition and the order name none of ``joined_aliases`` (SQLite does not drop chained
    LEFT JOINs, and the joins cost seconds at 100,000 rows).
    """

    from_sql: str
    where: str = ""
    params: tuple[Any, ...] = ()
    id_sql: str = "id"
    lean_from: str = ""
    # ``from_sql`` with an INDEXED BY hint (see Condition.walk), for counting and ordering only:
    # a page's rows are then fetched by id, where the hint would force a scan.
    walk_from: str = ""
    joined_aliases: tuple[str, ...] = ("h", "r", "u", "b", "hp")
    _joined: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.lean_from:
            pattern = re.compile(r"(?<![\w.])(" + "|".join(self.joined_aliases) + r")\.")
            object.__setattr__(self, "_joined", pattern)

    # -- building -----------------------------------------------------------------------------
    def filtered(self, condition: Condition) -> ListQuery:
        """The same list with `condition` replacing its WHERE and params."""
        return replace(self, where=condition.sql, params=tuple(condition.params))

    def narrowed(self, condition: Condition) -> ListQuery:
        """The same list with `condition` added (AND) to its WHERE."""
        return self.filtered(Condition.all_of([self.condition, condition]))

    @property
    def condition(self) -> Condition:
        return Condition(self.where, self.params)

    def view_of(self, ledger: str) -> ExportView:
        """This list for "export what I see", as rows of `ledger` (whose FROM uses the same aliases)."""
        return ExportView(ledger, self.condition)

    def _where_clause(self) -> str:
        return f" WHERE {self.where}" if self.where else ""

    def _from_for(self, *parts: str) -> str:
        if self.lean_from and not any(self._joined.search(p) for p in (self.where, *parts) if self._joined):
            return self.lean_from
        return self.walk_from or self.from_sql

    # -- reading ------------------------------------------------------------------------------
    def count(self, db: Database) -> int:
        return int(db.scalar(f"SELECT count(*) FROM {self._from_for()}{self._where_clause()}", self.params))

    def count_upto(self, db: Database, cap: int) -> int:
        """The count, or `cap` if there are at least that many rows: SQLite stops at the cap-th row,
        so a word that matches 100,000 people costs no more than one matching 2,000."""
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {self._from_for()}{self._where_clause()} LIMIT ?)"
        return int(db.scalar(sql, [*self.params, cap]))

    def select_sql(self, columns: Sequence[ColumnSql], order: str, *, limit: bool = True) -> str:
        """The rows with their columns (``_id`` first) in `order`; with `limit`, two more params."""
        cols = ", ".join(f"{sql} AS {column_alias(key)}" for key, sql in columns)
        tail = " LIMIT ? OFFSET ?" if limit else ""
        return (f"SELECT {self.id_sql} AS _id, {cols} FROM {self.from_sql}{self._where_clause()} "
                f"ORDER BY {order}, _id{tail}")

    def page(self, db: Database, columns: Sequence[ColumnSql], order: str, limit: int, offset: int
             ) -> list[dict[str, Any]]:
        """One page of rows (dicts with ``_id`` and every column key) in `order`."""
        return dict_rows(db, self.select_sql(columns, order), [*self.params, limit, offset])

    def ids(self, db: Database, order: str, limit: int | None = None, offset: int = 0) -> list[str]:
        """The ids of the rows in `order` (all of them, or one page): ordering over ids alone is
        cheap where the columns have per-row subqueries."""
        sql = f"SELECT {self.id_sql} AS _id FROM {self._from_for(order)}{self._where_clause()} ORDER BY {order}, _id"
        params = list(self.params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [r[0] for r in db.conn.execute(sql, params)]

    def rows_of(self, db: Database, columns: Sequence[ColumnSql], ids: Sequence[str]) -> list[dict[str, Any]]:
        """The columns of `ids`, in that order (whatever the condition; ids gone are left out)."""
        if not ids:
            return []
        cols = ", ".join(f"{sql} AS {column_alias(key)}" for key, sql in columns)
        marks = ", ".join("?" for _ in ids)
        rows = dict_rows(db, f"SELECT {self.id_sql} AS _id, {cols} FROM {self.from_sql} WHERE {self.id_sql} IN ({marks})",
                     ids)
        by_id = {r["_id"]: r for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def sort_ids(self, db: Database, ids: Sequence[str], order: str) -> list[str]:
        """`ids` (whatever the condition) sorted by `order`."""
        sql = (f"SELECT {self.id_sql} FROM {self._from_for(order)} "
               f"WHERE {self.id_sql} IN (SELECT value FROM json_each(?)) ORDER BY {order}, {self.id_sql}")
        return [r[0] for r in db.conn.execute(sql, [json.dumps(list(ids))])]


@dataclass(frozen=True)
class ExportView:
    """What a tab shows, for "export what I see": the ledger (app.models.excel.ledgers) whose rows
    it lists and the condition over that ledger's aliases that selects them."""

    ledger: str
    condition: Condition

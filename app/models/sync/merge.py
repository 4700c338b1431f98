"""Field-level merge of remote ops: fold ops into rows by hybrid clock, causality, key-field conflicts.

A row's state is a function of the set of its ops alone: per column, the op with the highest
``(hlc, site_id, seq)`` wins (an insert op ``col = '*'`` sets every column it carries). So any PC
holding the same ops holds the same row, whatever order the ops arrived in. Field clocks are
computed from ``change_log`` (indexed by table, row, column) when a row is touched by an import,
instead of being kept in a separate table by triggers: local writes stay as cheap as before,
and an import reads a handful of ops per row it touches.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from typing import Any

from app.models.core import sqlite as sqlite3
from app.models.core.schema import _q, synced_tables

# Key fields: concurrent edits of these raise a conflict for a person to review.
KEY_FIELDS: dict[str, frozenset[str]] = {
    "person": frozenset({"name", "id_number", "household_id"}),
    "household": frozenset({"head_person_id", "risk_colour"}),
    "mediation_case": frozenset({"status"}),
}

# (site_id, seq, tbl, row_id, col, value JSON text, hlc, user)
Op = tuple[str, int, str, str, str, str, str, str | None]


class Schema:
    """Columns and foreign keys of the synced tables (validated against before any SQL is built)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.columns: dict[str, list[str]] = {}
        self.fks: dict[str, list[tuple[str, str]]] = {}
        for table in synced_tables(conn):
            self.columns[table] = [r[1] for r in conn.execute(f"PRAGMA table_info({_q(table)})")]
            self.fks[table] = [
                (r[3], r[2]) for r in conn.execute(f"PRAGMA foreign_key_list({_q(table)})") if r[4] in (None, "id")
            ]
        self.colsets = {t: set(c) for t, c in self.columns.items()}


def fold(ops: Iterable[tuple[str, int, str, str, str]]) -> tuple[bool, dict[str, tuple[tuple, Any]]]:
    """(has insert op, {column: (clock, value)}) from ops given as (site, seq, col, value, hlc)."""
    has_insert = False
    state: dict[str, tuple[tuple, Any]] = {}
    for site, seq, col, value, hlc in ops:
        clock = (hlc, site, seq)
        if col == "*":
            has_insert = True
            obj = json.loads(value)
            for k, v in obj.items():
                cur = state.get(k)
                if cur is None or clock > cur[0]:
                    state[k] = (clock, v)
        else:
            cur = state.get(col)
            if cur is None or clock > cur[0]:
                state[col] = (clock, json.loads(value) if value is not None else None)
    return has_insert, state


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


class Causality:
    """Decides whether one op was made after its site had seen another (from sync_knowledge)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._cache: dict[tuple[str, str], tuple[list[int], list[int]]] = {}

    def _entries(self, site: str, seen_site: str) -> tuple[list[int], list[int]]:
        key = (site, seen_site)
        got = self._cache.get(key)
        if got is None:
            rows = self.conn.execute(
                "SELECT after_seq, seen_seq FROM sync_knowledge WHERE site_id = ? AND seen_site = ? ORDER BY after_seq",
                key,
            ).fetchall()
            afters = [r[0] for r in rows]
            best: list[int] = []
            top = 0
            for r in rows:  # running maximum: what the site had seen by then
                top = max(top, r[1])
                best.append(top)
            got = (afters, best)
            self._cache[key] = got
        return got

    def saw(self, x_site: str, x_seq: int, y_site: str, y_seq: int) -> bool:
        """Had site x_site applied op (y_site, y_seq) when it made its op x_seq?"""
        if x_site == y_site:
            return x_seq > y_seq
        afters, best = self._entries(x_site, y_site)
        i = bisect.bisect_left(afters, x_seq)  # entries with after_seq < x_seq
        return i > 0 and best[i - 1] >= y_seq

    def concurrent(self, a: tuple[str, int], b: tuple[str, int]) -> bool:
        return not self.saw(a[0], a[1], b[0], b[1]) and not self.saw(b[0], b[1], a[0], a[1])


def detect_conflicts(conn: sqlite3.Connection, new_ops: list[Op], now: str) -> int:
    """Record every pair of concurrent, differing edits of a key field that involves a new op."""
    causal = Causality(conn)
    raised = 0
    new_by_field: dict[tuple[str, str, str], set[tuple[str, int]]] = {}
    for op in new_ops:
        if op[4] in KEY_FIELDS.get(op[2], ()):
            new_by_field.setdefault((op[2], op[3], op[4]), set()).add((op[0], op[1]))
    for fld, new_keys in new_by_field.items():
        ops = conn.execute(
            "SELECT site_id, seq, value, hlc FROM change_log WHERE tbl = ? AND row_id = ? AND col = ?", fld
        ).fetchall()  # served by change_log_row (tbl, row_id): a row has few ops
        raised += _field_conflicts(conn, causal, fld, ops, lambda o, new_keys=new_keys: (o[0], o[1]) in new_keys, now)
    return raised


def detect_conflicts_since(conn: sqlite3.Connection, after_op: int, now: str) -> int:
    """detect_conflicts for the ops stored above op id `after_op` (an import's), read back from
    change_log field by field instead of held in memory."""
    causal = Causality(conn)
    raised = 0
    # '+tbl': the import's ops are read by op id, not every op of the table by the row index.
    wanted = " OR ".join(f"(+tbl = '{t}' AND col IN ({', '.join(repr(c) for c in sorted(cols))}))"
                         for t, cols in KEY_FIELDS.items())
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(f"SELECT DISTINCT tbl, row_id, col FROM change_log WHERE op_id > ? AND ({wanted})", (after_op,))
    while batch := cur.fetchmany(1000):
        for fld in batch:
            ops = conn.execute(
                "SELECT site_id, seq, value, hlc, op_id FROM change_log WHERE tbl = ? AND row_id = ? AND col = ?",
                tuple(fld)).fetchall()
            raised += _field_conflicts(conn, causal, tuple(fld), ops, lambda o: o[4] > after_op, now)
    return raised


def _field_conflicts(conn: sqlite3.Connection, causal: Causality, fld: tuple[str, str, str], ops: list[Any],
                     is_new: Any, now: str) -> int:
    """Every pair of the field's ops (site, seq, value, hlc, …) with at least one new: a conflict
    when they differ and neither site had seen the other's edit."""
    raised = 0
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            if not is_new(a) and not is_new(b):
                continue
            ka, kb = (a[0], a[1]), (b[0], b[1])
            if same_value(json.loads(a[2]), json.loads(b[2])) or not causal.concurrent(ka, kb):
                continue
            lo, hi = sorted((a, b), key=lambda o: (o[3], o[0], o[1]))
            cur = conn.execute(
                "INSERT OR IGNORE INTO sync_conflict(tbl, row_id, col, lo_site, lo_seq, hi_site, hi_seq, "
                "detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*fld, lo[0], lo[1], hi[0], hi[1], now),
            )
            raised += cur.rowcount
    return raised


def materialize(
    conn: sqlite3.Connection,
    schema: Schema,
    keys: Iterable[tuple[str, str]],
    mem_ops: dict[tuple[str, str], list] | None = None,
    was_pending: set[tuple[str, str]] | None = None,
    *,
    batched: bool = False,
) -> tuple[int, int]:
    """Write each row as the fold of all its ops; returns (rows written, rows held back).

    With `mem_ops` (a first sync into an empty database) the ops come from memory and no row
    exists yet. `batched`: the ops and current rows of all `keys` are read up front, a few queries
    per table, instead of two queries per row. A row waits in sync_pending while its insert op or
    a row it refers to is missing.
    """
    plans: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    pending: set[tuple[str, str]] = set()
    processed: list[tuple[str, str]] = []
    current_rows: dict[tuple[str, str], Any] | None = None
    if batched and mem_ops is None:
        keys = [k for k in keys if k[0] in schema.colsets]
        mem_ops, current_rows = ops_of(conn, keys), rows_of(conn, keys)
    for key in keys:
        processed.append(key)
        tbl, row_id = key
        cols = schema.colsets.get(tbl)
        if cols is None:
            continue
        if mem_ops is not None:
            ops = mem_ops[key]
            current = None if current_rows is None else current_rows.get(key)
        else:
            ops = conn.execute(
                "SELECT site_id, seq, col, value, hlc FROM change_log WHERE tbl = ? AND row_id = ?", key
            ).fetchall()
            current = conn.execute(f"SELECT * FROM {_q(tbl)} WHERE id = ?", (row_id,)).fetchone()
        if len(ops) == 1 and ops[0][2] == "*":
            # The common case of a first sync: a row with just its insert op needs no clocks.
            has_insert = True
            values = {c: v for c, v in json.loads(ops[0][3]).items() if c in cols and c != "id"}
        else:
            has_insert, state = fold(ops)
            values = {c: v for c, (_, v) in state.items() if c in cols and c != "id"}
        if current is None:
            if not has_insert:
                pending.add(key)
                continue
            plans[key] = ("insert", values)
        else:
            changes = {c: v for c, v in values.items() if not same_value(current[c], v)}
            if changes:
                plans[key] = ("update", changes)
    inserting: dict[str, set[str]] = {}
    for (tbl, row_id), (kind, _) in plans.items():
        if kind == "insert":
            inserting.setdefault(tbl, set()).add(row_id)
    exists_cache: dict[tuple[str, str], bool] = {}

    def exists(tbl: str, row_id: Any) -> bool:
        if row_id in inserting.get(tbl, ()):
            return True
        k = (tbl, row_id)
        if k not in exists_cache:
            exists_cache[k] = conn.execute(f"SELECT 1 FROM {_q(tbl)} WHERE id = ?", (row_id,)).fetchone() is not None
        return exists_cache[k]

    changed = True
    while changed:  # a held-back row may hold back the rows that refer to it
        changed = False
        for key in list(plans):
            tbl = key[0]
            kind, vals = plans[key]
            for col, target in schema.fks.get(tbl, ()):
                v = vals.get(col)
                if v is not None and not exists(target, v):
                    del plans[key]
                    pending.add(key)
                    if kind == "insert":
                        inserting[tbl].discard(key[1])
                    changed = True
                    break
    groups: dict[tuple[str, tuple[str, ...]], list[list[Any]]] = {}
    updates: dict[tuple[str, tuple[str, ...]], list[list[Any]]] = {}
    for (tbl, row_id), (kind, vals) in plans.items():
        if kind == "insert":
            insert_cols = tuple(vals)
            groups.setdefault((tbl, insert_cols), []).append([row_id, *vals.values()])
        else:
            updates.setdefault((tbl, tuple(vals)), []).append([*vals.values(), row_id])
    for (tbl, update_cols), params in updates.items():
        sets = ", ".join(f"{_q(c)} = ?" for c in update_cols)
        conn.executemany(f"UPDATE {_q(tbl)} SET {sets} WHERE id = ?", params)
    for (tbl, insert_cols), rows in groups.items():
        names = ", ".join(_q(c) for c in ("id", *insert_cols))
        marks = ", ".join("?" for _ in range(len(insert_cols) + 1))
        conn.executemany(f"INSERT INTO {_q(tbl)} ({names}) VALUES ({marks})", rows)
    if (mem_ops is None or current_rows is not None) and was_pending:
        done = [k for k in processed if k not in pending and k in was_pending]
        conn.executemany("DELETE FROM sync_pending WHERE tbl = ? AND row_id = ?", done)
    conn.executemany("INSERT OR IGNORE INTO sync_pending(tbl, row_id) VALUES (?, ?)", list(pending))
    return len(plans), len(pending)


def parents_first(schema: Schema) -> list[str]:
    """The synced tables, each after the tables it refers to (where references do not go round)."""
    out: list[str] = []
    state: dict[str, int] = {}

    def visit(t: str) -> None:
        if state.get(t):
            return  # done, or on the path (a cycle: household <-> person)
        state[t] = 1
        for _col, target in schema.fks.get(t, ()):
            if target in schema.columns:
                visit(target)
        state[t] = 2
        out.append(t)

    for t in schema.columns:
        visit(t)
    return out


def ops_of(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """{(tbl, row_id): its ops as (site, seq, col, value, hlc)}, read a table and 500 rows at a time."""
    out: dict[tuple[str, str], list[Any]] = {}
    by_table: dict[str, list[str]] = {}
    for tbl, row_id in keys:
        out[(tbl, row_id)] = []
        by_table.setdefault(tbl, []).append(row_id)
    for tbl, ids in by_table.items():
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for r in conn.execute(
                "SELECT row_id, site_id, seq, col, value, hlc FROM change_log WHERE tbl = ? AND row_id IN "
                f"({', '.join('?' for _ in part)})", [tbl, *part]):
                out[(tbl, r[0])].append(tuple(r[1:]))
    return out


def rows_of(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """{(tbl, row_id): its current row} for the keys whose row exists, 500 rows a query."""
    out: dict[tuple[str, str], Any] = {}
    by_table: dict[str, list[str]] = {}
    for tbl, row_id in keys:
        by_table.setdefault(tbl, []).append(row_id)
    for tbl, ids in by_table.items():
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for r in conn.execute(f"SELECT * FROM {_q(tbl)} WHERE id IN ({', '.join('?' for _ in part)})", part):
                out[(tbl, r["id"])] = r
    return out


def materialize_since(conn: sqlite3.Connection, schema: Schema, after_op: int, *, fresh: bool, batch: int) -> None:
    """Fold every row the ops above op id `after_op` touch, `batch` rows at a time (parents' tables
    first, so a child seldom waits for a parent of a later batch), then every row still waiting in
    sync_pending (those held back here, and earlier ones whose missing record may have come).

    `fresh`: the database had no rows, so no row exists yet and the ops are read a batch at a time.
    """
    order = parents_first(schema)
    rank = " ".join(f"WHEN ? THEN {i}" for i in range(len(order)))
    cur = conn.cursor()
    cur.row_factory = None
    # The sort finishes before the first row comes back, so writing rows meanwhile is safe.
    cur.execute(f"SELECT DISTINCT tbl, row_id FROM change_log WHERE op_id > ? "
                f"ORDER BY CASE tbl {rank} ELSE {len(order)} END", (after_op, *order))
    while rows := cur.fetchmany(batch):
        keys = [(r[0], r[1]) for r in rows]
        if fresh:
            materialize(conn, schema, keys, mem_ops=ops_of(conn, keys))
        else:
            materialize(conn, schema, keys, batched=True)
    retry = [(r[0], r[1]) for r in conn.execute("SELECT tbl, row_id FROM sync_pending")]
    if retry:
        materialize(conn, schema, retry, was_pending=set(retry))


def is_empty(conn: sqlite3.Connection) -> bool:
    """No op and no synced row: a first sync may insert rows without looking for existing ones."""
    if conn.execute("SELECT 1 FROM change_log LIMIT 1").fetchone() is not None:
        return False
    return all(conn.execute(f"SELECT 1 FROM {_q(t)} LIMIT 1").fetchone() is None for t in synced_tables(conn))

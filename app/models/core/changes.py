"""What one user action changed: the tables and rows its write transactions touched, and its undo label.

Every write transaction collects a :class:`Changes` as it inserts, updates and tombstones rows
(``Tx`` does it, so no action can forget to say what it changed). The window hands it to the views
that watch those tables, and the undo history keeps the actions that can be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.models.core import sqlite as sqlite3
from app.models.core.field_rules import TABLE_LABELS, label_of


class OpKind(StrEnum):
    """What an operation was, for the undo history: a clerk's action, or the undo/redo of one."""

    OP = "op"
    UNDO = "undo"
    REDO = "redo"


@dataclass(frozen=True)
class Changes:
    """Tables and row ids one operation touched (``"*"`` for a batch), and how to undo it.

    ``everything`` says "assume every table changed" (a sync import, an Excel import, a restore):
    every view refreshes. ``op_ids`` are the write transactions of the operation (each one row of
    ``op_log``); ``undoable`` is False when one of them cannot be undone (a batch, a sync).
    """

    rows: Mapping[str, frozenset[str]] = field(default_factory=dict)
    label: str = ""
    op_ids: tuple[str, ...] = ()
    everything: bool = False
    undoable: bool = False
    kind: OpKind = OpKind.OP
    # The op ids an undo or redo reverted (empty for a clerk's action).
    reverts: tuple[str, ...] = ()
    user: str = ""

    @classmethod
    def all(cls, label: str = "") -> Changes:
        """Every table may have changed (an import, a sync, a restore); nothing to undo."""
        return cls(label=label, everything=True)

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.rows)

    def touches(self, tables: Iterable[str]) -> bool:
        """Whether a view showing `tables` must refresh."""
        return self.everything or not self.tables.isdisjoint(tables)

    def row_ids(self, table: str) -> frozenset[str]:
        return self.rows.get(table, frozenset())

    def __bool__(self) -> bool:
        return self.everything or bool(self.rows)

    def __or__(self, other: Changes) -> Changes:
        """Two parts of one operation (an action that ran several transactions)."""
        if not other:
            return self
        if not self:
            return other
        rows = {t: self.rows.get(t, frozenset()) | other.rows.get(t, frozenset()) for t in {*self.rows, *other.rows}}
        return Changes(
            rows=rows,
            label=self.label or other.label,
            op_ids=self.op_ids + other.op_ids,
            everything=self.everything or other.everything,
            undoable=self.undoable and other.undoable,
            kind=self.kind if self.kind != OpKind.OP else other.kind,
            reverts=self.reverts + other.reverts,
            user=self.user or other.user,
        )

    def labelled(self, label: str) -> Changes:
        return replace(self, label=label)


NO_CHANGES = Changes()


# -- names for the undo menu ------------------------------------------------------------------------
_NAME_COLUMNS = ("name", "number", "title")
_VERBS = {"insert": "新增", "update": "修改", "delete": "删除"}
# Columns a clerk never edits by hand: they do not name what an edit changed.
_BOOKKEEPING = frozenset({"name_pinyin", "name_initials", "updated_at", "deleted"})


def row_name(conn: sqlite3.Connection, table: str, row_id: str) -> str:
    """How a clerk knows a row: a person's or a place's name, a household's or a case's number."""
    cols = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    for col in _NAME_COLUMNS:
        if col in cols:
            value = conn.execute(f'SELECT "{col}" FROM "{table}" WHERE id = ?', (row_id,)).fetchone()
            if value is not None and value[0] not in (None, ""):
                return str(value[0])
    return table_label(table)


def table_label(table: str) -> str:
    return TABLE_LABELS.get(table, table)


def field_label(table: str, col: str) -> str:
    return label_of(table, col)


def describe_operation(conn: sqlite3.Connection, audited: Sequence[tuple[str, str, str, str | None, dict]]) -> str:
    """The undo menu's name of an operation, from its first audit entries: "修改 张三 的电话" for an
    edit of one or two fields of one row, else the first entry's own summary ("新增成员 张三")."""
    if not audited:
        return ""
    action, table, row_id, summary, detail = audited[0]
    if len(audited) == 1 and action == "update" and row_id != "*":
        fields = [c for c in detail if c not in _BOOKKEEPING]
        labels = [field_label(table, c) for c in fields]
        if 0 < len(fields) <= 2 and labels != fields:  # a column without a Chinese label says nothing
            return f"修改 {row_name(conn, table, row_id)} 的{'、'.join(labels)}"
    if summary:
        return summary
    if row_id == "*":
        return f"批量{_VERBS.get(action, '修改')}{table_label(table)}"
    return f"{_VERBS.get(action, '修改')} {row_name(conn, table, row_id)}"

"""Undo and redo of a clerk's operations, as new logged writes that sync like any other edit.

An operation's audit entries hold the old and new value of every field it wrote (``audit_log.op_id``
groups them, m0027). Undoing it writes the old values back through ``Tx`` (so the undo is audited,
scope-checked and reaches the other PCs), in reverse order, after checking that each field still
holds what the operation wrote: where someone else (another clerk, a sync) changed it since, the
undo is refused and names who did. An added row is tombstoned, a deleted one restored. Redo is the
undo of the undo.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.models.core import sqlite as sqlite3
from app.models.core.changes import Changes, OpKind, field_label, row_name
from app.models.core.db import DEFAULT_USER, Database, Tx, _same
from app.models.core.errors import DatabaseError, KnownError
from app.models.core.hlc import Hlc

MAX_STEPS = 100
# A user's last transactions read back at start to rebuild their steps (undos and redos included).
HISTORY_ROWS = 1000


class UndoRefused(KnownError):
    """The operation cannot be undone (changed since, or not recorded field by field)."""


@dataclass(frozen=True)
class UndoStep:
    label: str
    op_ids: tuple[str, ...]


def revert(db: Database, op_ids: Sequence[str], *, kind: OpKind, label: str) -> Changes:
    """Put back what the operations `op_ids` wrote (the last one first), in one new transaction."""
    with db.write(label=label) as tx:
        tx.kind = kind
        tx.reverts = tuple(op_ids)
        for op_id in reversed(op_ids):
            _revert_one(db, tx, op_id, "撤销" if kind == OpKind.UNDO else "重做")
    return tx.changes


def _revert_one(db: Database, tx: Tx, op_id: str, verb: str) -> None:
    op = db.one("SELECT * FROM op_log WHERE op_id = ?", (op_id,))
    if op is None:
        raise UndoRefused("找不到要撤销的操作记录（可能已在其他电脑上恢复过数据库）。")
    what = op["label"] or "这项操作"
    if not op["undoable"]:
        raise UndoRefused(f"“{what}”不能撤销（批量导入、同步等操作没有逐项记录原来的值）。")
    # The operation's entries, by the range op_log keeps (m0042: the log has no index on op_id).
    entries = db.query("SELECT action, tbl, row_id, detail FROM audit_log WHERE id BETWEEN ? AND ? AND op_id = ? "
                       "ORDER BY id DESC", (op["audit_from"], op["audit_to"], op_id))
    covered: set[tuple[str, str, str]] = set()
    for e in entries:
        written = json.loads(e["detail"] or "{}")
        if e["action"] == "insert":
            covered.add((e["tbl"], e["row_id"], "*"))
        covered.update((e["tbl"], e["row_id"], c) for c in written)
    # Every column the operation wrote must be in its audit, or the undo would leave part of it.
    for r in db.query("SELECT tbl, row_id, col FROM change_log WHERE op_id BETWEEN ? AND ? AND site_id = ?",
                      (op["log_from"], op["log_to"], op["site_id"])):
        if (r["tbl"], r["row_id"], r["col"]) not in covered and (r["tbl"], r["row_id"], "*") not in covered:
            raise UndoRefused(f"“{what}”不能撤销：它的一部分改动没有逐项记录。")
    for e in entries:
        table, row_id, action = e["tbl"], e["row_id"], e["action"]
        if action == "note":
            continue
        if row_id == "*":
            raise UndoRefused(f"“{what}”不能撤销（批量操作）。")
        detail: dict[str, Any] = json.loads(e["detail"] or "{}")
        current = db.one(f'SELECT * FROM main."{table}" WHERE id = ?', (row_id,))
        if current is None:
            raise UndoRefused(f"“{what}”不能撤销：记录已不存在。")
        if action == "insert":
            if current["deleted"]:
                raise UndoRefused(f"无法撤销：{row_name(db.conn, table, row_id)} 已被{_who(db, table, row_id, 'deleted')}删除。")
            for col, value in detail.items():
                if col != "id" and col in current.keys() and not _equal(current[col], value):
                    raise _conflict(db, table, row_id, col)
            tx.delete(table, row_id, summary=f"{verb}新增 {row_name(db.conn, table, row_id)}")
        else:
            restore: dict[str, Any] = {}
            for col, pair in detail.items():
                old, new = pair
                if col in current.keys() and not _equal(current[col], new):
                    raise _conflict(db, table, row_id, col)
                restore[col] = old
            tx.update(table, row_id, restore, summary=f"{verb}修改 {row_name(db.conn, table, row_id)}")


def _equal(stored: Any, logged: Any) -> bool:
    """A stored value against its copy in the audit (JSON: dates and decimals come back as text)."""
    if _same(stored, logged):
        return True
    return stored is not None and logged is not None and str(stored) == str(logged)


def _who(db: Database, table: str, row_id: str, col: str) -> str:
    """" 王五 于 2026-12-04 21:30 ": the newest write of a field (or of the row), wherever it was made."""
    last = db.one(
        "SELECT user, site_id, hlc FROM change_log WHERE tbl = ? AND row_id = ? AND col IN (?, '*') "
        "ORDER BY hlc DESC, op_id DESC LIMIT 1",
        (table, row_id, col),
    )
    if last is None:
        return " "
    at = dt.datetime.fromtimestamp(Hlc.parse(last["hlc"]).ms / 1000)
    where = "" if last["site_id"] == db.site_id else "（在另一台电脑上）"
    return f" {last['user'] or '未知用户'}{where} 于 {at:%Y-%m-%d %H:%M} "


def _conflict(db: Database, table: str, row_id: str, col: str) -> UndoRefused:
    return UndoRefused(
        f"无法撤销：{row_name(db.conn, table, row_id)} 的{field_label(table, col)} 已被{_who(db, table, row_id, col)}修改。"
    )


class UndoHistory:
    """One user's undo and redo steps (the window keeps one; a new login a new one, read back with
    :meth:`load` so that the steps outlive a restart).

    :meth:`record` is given every operation's :class:`Changes`; :meth:`undo` and :meth:`redo`
    revert a step as a new operation.
    """

    def __init__(self, user: str = DEFAULT_USER) -> None:
        self.user = user
        self._undo: list[UndoStep] = []
        self._redo: list[UndoStep] = []

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    @classmethod
    def load(cls, db: Database) -> UndoHistory:
        """The steps of `db`'s user on this PC as the program left them (also after a restart), read
        back from ``op_log``: their operations, and the undos and redos of them, in order."""
        history = cls(db.user)
        try:
            rows = db.query(
                "SELECT op_id, label, kind, reverts, undoable, coalesce(step, op_id) AS step FROM op_log "
                "WHERE user = ? AND site_id = ? ORDER BY rowid DESC LIMIT ?",
                (db.user, db.site_id, HISTORY_ROWS),
            )
        except sqlite3.OperationalError:  # a file opened read-only before the schema knew steps
            return history
        steps: list[list[Any]] = []
        for row in reversed(rows):
            if steps and steps[-1][0]["step"] == row["step"]:
                steps[-1].append(row)
            else:
                steps.append([row])
        for step in steps:
            history._replay(step)
        return history

    def _replay(self, rows: list[Any]) -> None:
        op_ids = tuple(r["op_id"] for r in rows)
        kind = OpKind(rows[0]["kind"])
        if kind == OpKind.OP:
            label = next((r["label"] for r in rows if r["label"]), "")
            self.record(Changes(label=label, op_ids=op_ids, undoable=all(r["undoable"] for r in rows), user=self.user))
            return
        reverted = tuple(json.loads(rows[0]["reverts"]))
        source, target = (self._undo, self._redo) if kind == OpKind.UNDO else (self._redo, self._undo)
        for i in range(len(source) - 1, -1, -1):
            if source[i].op_ids == reverted:
                target.append(UndoStep(source.pop(i).label, op_ids))
                return

    def record(self, changes: Changes) -> None:
        """A new operation: undoable ones become the next undo step; any write ends what redo had."""
        if changes.kind != OpKind.OP or not changes.op_ids or changes.user != self.user:
            return
        if self._undo and self._undo[-1].op_ids == changes.op_ids:
            return  # read back from the file already (the history was loaded after it committed)
        self._redo.clear()
        if changes.undoable:
            self._undo.append(UndoStep(changes.label or "上一步操作", changes.op_ids))
            del self._undo[:-MAX_STEPS]

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    def undo(self, db: Database) -> Changes:
        """Undo the last step; raises UndoRefused (the step is dropped: it can never succeed)."""
        if not self._undo:
            raise UndoRefused("没有可以撤销的操作。")
        step = self._undo[-1]
        changes = self._run(db, step, self._undo, OpKind.UNDO, f"撤销“{step.label}”")
        self._redo.append(UndoStep(step.label, changes.op_ids))
        return changes

    def redo(self, db: Database) -> Changes:
        if not self._redo:
            raise UndoRefused("没有可以重做的操作。")
        step = self._redo[-1]
        changes = self._run(db, step, self._redo, OpKind.REDO, f"重做“{step.label}”")
        self._undo.append(UndoStep(step.label, changes.op_ids))
        return changes

    @staticmethod
    def _run(db: Database, step: UndoStep, stack: list[UndoStep], kind: OpKind, label: str) -> Changes:
        try:
            changes = revert(db, step.op_ids, kind=kind, label=label)
        except DatabaseError:
            raise  # busy or read-only: the step stays for another try
        except KnownError:
            stack.pop()
            raise
        stack.pop()
        return changes

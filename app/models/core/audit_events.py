"""The event audit: logins, locks, account changes, exports, prints … one hash-chained row each.

Row changes are already recorded by ``Database.write()`` (``audit_log``, ``change_log``); this
log holds what is not a row change. Every entry goes through :func:`record_event`. Each entry's
``hash`` is sha256 over the previous entry's hash and the canonical JSON of the entry itself, so
editing, inserting or removing an entry in the file breaks the chain (:func:`verify_chain`).
The table is local to this PC and triggers refuse UPDATE and DELETE on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from app.models.core import sqlite as sqlite3
from app.models.core.db import Database
from app.models.core.errors import DatabaseError


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # tried and did not succeed (wrong password, bad file)
    REFUSED = "refused"  # not allowed (locked account, no permission, missing credentials)


OUTCOME_LABELS: dict[str, str] = {Outcome.OK: "成功", Outcome.FAILED: "失败", Outcome.REFUSED: "拒绝"}


class Action(StrEnum):
    """Stored action codes of the events this module's callers record; labels in ``ACTION_LABELS``."""

    LOGIN = "login"
    LOGOUT = "logout"
    LOCK = "lock"
    UNLOCK = "unlock"
    ACCOUNT_ADD = "account_add"
    ACCOUNT_CHANGE = "account_change"
    ACCOUNT_PASSWORD = "account_password"
    ACCOUNT_DISABLE = "account_disable"
    ACCOUNT_ENABLE = "account_enable"
    ACCOUNT_DELETE = "account_delete"
    SETTING_CHANGE = "setting_change"
    EXPORT = "export"  # an Excel ledger (or the audit itself) written to a file
    PRINT = "print"  # forms printed or saved as PDF
    SYNC_OUT = "sync_out"
    SYNC_IN = "sync_in"
    BACKUP = "backup"
    RESTORE = "restore"
    REVEAL_ID = "reveal_id"  # a whole ID number shown on screen, with the reason chosen
    AUDIT_VIEW = "audit_view"  # the audit viewer opened (or refused)


ACTION_LABELS: dict[str, str] = {
    Action.LOGIN: "登录",
    Action.LOGOUT: "退出登录",
    Action.LOCK: "锁定",
    Action.UNLOCK: "解锁",
    Action.ACCOUNT_ADD: "新建账号",
    Action.ACCOUNT_CHANGE: "修改账号",
    Action.ACCOUNT_PASSWORD: "修改密码",
    Action.ACCOUNT_DISABLE: "停用账号",
    Action.ACCOUNT_ENABLE: "启用账号",
    Action.ACCOUNT_DELETE: "删除账号",
    Action.SETTING_CHANGE: "修改设置",
    Action.EXPORT: "导出",
    Action.PRINT: "打印",
    Action.SYNC_OUT: "同步导出",
    Action.SYNC_IN: "同步导入",
    Action.BACKUP: "备份",
    Action.RESTORE: "恢复",
    Action.REVEAL_ID: "查看身份证号",
    Action.AUDIT_VIEW: "查看操作日志",
}

GENESIS = ""  # prev_hash of the first entry
HASHED_FIELDS = ("id", "at", "user", "site_id", "action", "detail", "outcome")


def canonical(entry: Mapping[str, Any]) -> str:
    """The exact text hashed for an entry: its fields as sorted, compact, UTF-8 JSON."""
    return json.dumps({k: entry[k] for k in HASHED_FIELDS}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


@contextlib.contextmanager
def local_transaction(db: Database) -> Iterator[None]:
    """Join the open write transaction, or make a small one of its own.

    Not ``Database.write()``: an event must be recordable on a read-only roll-up file and without
    ticking the sync clock, since the table is local.
    """
    if db._tx is not None or db.conn.in_transaction:
        yield
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"数据库正被其他程序占用，请稍后再试。（{exc}）") from exc
    try:
        yield
        db.conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.conn.execute("ROLLBACK")
        raise


def record_event(
    db: Database,
    action: str,
    detail: str | Mapping[str, Any] | None = None,
    outcome: str = Outcome.OK,
    *,
    user: str | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Append one entry (in the caller's transaction if one is open); returns its id (0: not written).

    ``detail`` is text or a mapping (stored as JSON). It must never hold a password or its
    hash, nor an unmasked ID number. ``user`` defaults to the connection's user; a failed login
    passes the name that was tried.
    """
    if not db.can_write():
        # A read-only or damaged file is never written, not even for this log: reading, printing
        # and exporting it must still work (and the file itself cannot change meanwhile).
        return 0
    if isinstance(detail, Mapping):
        detail_text: str | None = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
    else:
        detail_text = detail
    when = (at or dt.datetime.now()).isoformat(timespec="seconds")
    try:
        with local_transaction(db):
            last = db.one("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            entry_id = (int(last["id"]) if last else 0) + 1
            entry: dict[str, Any] = {
                "id": entry_id,
                "at": when,
                "user": db.user if user is None else user,
                "site_id": db.site_id,
                "action": str(action),
                "detail": detail_text,
                "outcome": str(outcome),
            }
            prev = last["hash"] if last else GENESIS
            db.conn.execute(
                "INSERT INTO audit_events(id, at, user, site_id, action, detail, outcome, prev_hash, hash) "
                "VALUES (:id, :at, :user, :site_id, :action, :detail, :outcome, :prev_hash, :hash)",
                {**entry, "prev_hash": prev, "hash": entry_hash(prev, entry)},
            )
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"无法写入操作日志（{exc}）。") from exc
    return entry_id


def verify_chain(db: Database) -> list[str]:
    """Problems found in the chain, in Chinese, one per broken entry (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    expected_id = 1
    for row in db.conn.execute(
        "SELECT id, at, user, site_id, action, detail, outcome, prev_hash, hash FROM audit_events ORDER BY id"
    ):
        entry = dict(row)
        if entry["id"] != expected_id:
            problems.append(f"操作日志第 {expected_id} 条起缺失（下一条为第 {entry['id']} 条），日志被删改过。")
        if entry["prev_hash"] != prev:
            problems.append(f"操作日志第 {entry['id']} 条与前一条接不上，日志被删改过。")
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            problems.append(f"操作日志第 {entry['id']} 条的内容与其校验值不符，日志被修改过。")
        prev = entry["hash"]
        expected_id = entry["id"] + 1
    return problems


def recent(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first (for a quick look; the viewer filters on its own)."""
    rows = db.query(
        "SELECT id, at, user, site_id, action, detail, outcome FROM audit_events ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [dict(r) for r in rows]

"""Logging in to an encrypted database (the key unwrapped by an account's password) and recovery.

Lockout and the audit of failed logins stay as for plain files: the counters live in the keys file
(the database cannot be written before it is unlocked) and the attempts reach the audit log at the
next login.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from app.models.core import accounts
from app.models.core.access import Principal, Role
from app.models.core.audit_events import Action, Outcome, record_event
from app.models.core.db import Database, open_database
from app.models.core.db_keys import KeyFile, WrongKeyError, remember_key, require_keys
from app.models.core.encryption import refresh_wraps
from app.models.core.errors import KnownError
from app.models.core.passwords import check_password_rules


# -- login ----------------------------------------------------------------------------------------
def _locked_until(state: dict, now: dt.datetime) -> dt.datetime | None:
    raw = state.get("locked_until")
    if raw:
        until = dt.datetime.fromisoformat(raw)
        if until > now:
            return until
    return None


def unlock(db_path: str | Path, name: str, password: str, *, via: str = "gui",
           clock: Callable[[], dt.datetime] | None = None) -> bytes:
    """The data key of an encrypted file, unwrapped with an account's password.

    Nothing of the database file is read or written here: a wrong password fails on the keys file.
    The accounts' lockout (five wrong passwords, five minutes) is counted in the keys file, and
    each refused attempt is kept there until the next login writes it to the audit log.
    """
    db_path = Path(db_path)
    keys = require_keys(db_path)
    now = (clock or dt.datetime.now)()
    name = (name or "").strip()

    def pending(outcome: str, reason: str, **extra: object) -> None:
        keys.add_pending_event({"action": Action.LOGIN.value, "outcome": outcome, "user": name,
                                "at": now.isoformat(timespec="seconds"),
                                "detail": {"via": via, "reason": reason, **extra}})

    known = {n for n, _ in keys.account_names()}
    if name not in known:
        pending(Outcome.FAILED.value, "unknown account")
        keys.save()
        raise accounts.LoginError("账号名称或密码不正确。")
    state = keys.login_state(name)
    until = _locked_until(state, now)
    if until is not None:
        pending(Outcome.REFUSED.value, "locked")
        keys.save()
        raise accounts.AccountLockedError(accounts._locked_message(name, until, now), until)
    found = keys.unlock_with_password(name, password)
    if found is None:
        failures = int(state.get("failures") or 0) + 1
        lock = failures >= accounts.LOCK_AFTER_FAILURES
        until = now + dt.timedelta(minutes=accounts.LOCK_MINUTES) if lock else None
        keys.set_login_state(name, 0 if lock else failures, until)
        pending(Outcome.FAILED.value, "wrong password", failures=failures)
        if lock:
            keys.add_pending_event({"action": Action.LOCK.value, "outcome": Outcome.OK.value, "user": name,
                                    "at": now.isoformat(timespec="seconds"),
                                    "detail": {"account": name, "reason": "failed logins",
                                               "minutes": accounts.LOCK_MINUTES}})
        keys.save()
        if until is not None:
            raise accounts.AccountLockedError(accounts._locked_message(name, until, now), until)
        left = accounts.LOCK_AFTER_FAILURES - failures
        raise accounts.LoginError(f"密码不正确。再错 {left} 次，账号将锁定 {accounts.LOCK_MINUTES} 分钟。")
    key, _account_id = found
    if state:
        keys.set_login_state(name, 0, None)
        keys.save()
    remember_key(db_path, key)
    return key


def after_login(db: Database) -> None:
    """Once the file is open: the refused attempts kept in the keys file reach the audit log, and
    the wraps follow the accounts stored in the database."""
    if db.key is None or db.read_only:
        return
    keys = KeyFile.load(db.path)
    if keys is not None and keys.data.get("pending_events"):
        for event in keys.take_pending_events():
            with contextlib.suppress(KeyError, ValueError, TypeError):
                record_event(db, event["action"], event.get("detail"), event["outcome"], user=event.get("user", ""),
                             at=dt.datetime.fromisoformat(event["at"]))
        keys.save()
    refresh_wraps(db)


def login_encrypted(db_path: str | Path, name: str, password: str, *, via: str = "gui",
                    clock: Callable[[], dt.datetime] | None = None) -> Principal:
    """Unlock, open, check the account in the database (recording the login), and close again."""
    unlock(db_path, name, password, via=via, clock=clock)
    db = open_database(db_path, create=False)
    try:
        principal = accounts.authenticate(db, name, password, via=via, clock=clock)
        after_login(db)
    finally:
        db.close()
    return principal


def login_names(db_path: str | Path) -> list[tuple[str, str]]:
    """(name, role) of the accounts that can unlock an encrypted file, read from its keys file."""
    order = {role.value: i for i, role in enumerate(Role)}  # administrators first, as list_accounts
    return sorted(require_keys(db_path).account_names(), key=lambda nr: (order.get(nr[1], len(order)), nr[0]))


def demo_hint(db_path: str | Path) -> bool:
    keys = KeyFile.load(db_path)
    return bool(keys and keys.data.get("demo_hint"))


# -- recovery -------------------------------------------------------------------------------------
def unlock_with_recovery_code(db_path: str | Path, code: str) -> bytes:
    keys = require_keys(db_path)
    key = keys.unlock_with_recovery_code(code)
    if key is None:
        raise WrongKeyError("恢复码不正确：它打不开这个数据库。请对照恢复码单逐字核对（恢复码单是建立或转换这个数据库时打印的）。")
    remember_key(db_path, key)
    return key


def recover(db_path: str | Path, code: str, admin_name: str, new_password: str) -> str:
    """Open with the recovery code and give an administrator a new password (an enabled
    administrator of that name, or a new one); returns what was done, for the clerk."""


    check_password_rules(admin_name, new_password)
    unlock_with_recovery_code(db_path, code)
    db = open_database(db_path, create=False, read_only=False)
    try:
        accounts.use_principal(db, Principal(name=admin_name, role=Role.ADMIN))
        existing = [a for a in accounts.list_accounts(db) if a.name == admin_name.strip()]
        if existing:
            account = existing[0]
            if account.role != Role.ADMIN:
                raise KnownError(f"账号“{admin_name}”不是系统管理员；请换一个名字（将新建一个系统管理员）。")
            accounts.use_principal(db, accounts.principal_of(account))
            if not account.enabled:
                accounts.set_enabled(db, account.id, True)
            accounts.set_password(db, account.id, new_password)
            done = f"已用恢复码为系统管理员“{account.name}”设置新密码"
        else:
            accounts.add_account(db, admin_name, Role.ADMIN, new_password)
            done = f"已用恢复码新建系统管理员“{admin_name.strip()}”"
        keys = KeyFile.load(db.path)
        if keys is not None:
            keys.set_login_state(admin_name.strip(), 0, None)
            keys.save()
        refresh_wraps(db)
    finally:
        db.close()
    return done



"""Accounts: who may log in, with which role and buildings; login with lockout; account changes.

Every action here checks inside its transaction and records an event (app/models/core/audit_events.py).
A database without accounts keeps the implicit full-access principal of ``Database`` until the
first account (an administrator) is created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from app.models.core.access import ROLE_LABELS, Principal, Role
from app.models.core.audit_events import Action, Outcome, local_transaction, record_event
from app.models.core.db import Database, Tx
from app.models.core.encryption import refresh_wraps
from app.models.core.errors import KnownError, NotFoundError, PermissionDeniedError, ValidationError
from app.models.core.passwords import check_password_rules, hash_password, verify_password

# Synced tables that stay in the office: a street office's roll-up copies records, not logins.
ACCOUNT_TABLES = ("account", "account_building")
LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 5
IDLE_SETTING = "lock_idle_minutes"
IDLE_MINUTES_RANGE = (1, 120)
DEMO_PASSWORD = "anju-demo"
NAME_MAX = 20

Clock = Callable[[], dt.datetime]


class LoginError(KnownError):
    """Wrong name or password, a disabled or locked account, or no credentials where needed."""


class AccountLockedError(LoginError):
    def __init__(self, message: str, until: dt.datetime) -> None:
        self.until = until
        super().__init__(message)


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role: Role
    enabled: bool
    building_ids: tuple[str, ...] = ()
    building_names: tuple[str, ...] = ()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def has_accounts(db: Database) -> bool:
    return db.scalar("SELECT 1 FROM account WHERE deleted = 0 LIMIT 1") is not None


def list_accounts(db: Database, *, enabled_only: bool = False) -> list[Account]:
    """Accounts by role (administrators first) and name, with their buildings."""
    links: dict[str, list[tuple[str, str]]] = {}
    for r in db.query(
        "SELECT ab.account_id, b.id, b.name FROM account_building ab JOIN building b ON b.id = ab.building_id "
        "WHERE ab.deleted = 0 AND b.deleted = 0 ORDER BY b.number, b.name"
    ):
        links.setdefault(r[0], []).append((r[1], r[2]))
    order = {role: i for i, role in enumerate(Role)}
    out = []
    for r in db.query("SELECT id, name, role, enabled FROM account WHERE deleted = 0"):
        if enabled_only and not r["enabled"]:
            continue
        ids = links.get(r["id"], [])
        out.append(Account(r["id"], r["name"], Role(r["role"]), bool(r["enabled"]),
                           tuple(i for i, _ in ids), tuple(n for _, n in ids)))
    out.sort(key=lambda a: (order[a.role], a.name))
    return out


def get_account(db: Database, account_id: str) -> Account:
    for account in list_accounts(db):
        if account.id == account_id:
            return account
    raise NotFoundError("找不到这个账号（可能已被删除）。")


def account_by_name(db: Database, name: str) -> Account:
    for account in list_accounts(db):
        if account.name == name.strip():
            return account
    raise NotFoundError(f"没有名为“{name}”的账号。")


def principal_of(account: Account) -> Principal:
    return Principal(name=account.name, role=account.role, account_id=account.id,
                     building_ids=frozenset(account.building_ids))


def use_principal(db: Database, principal: Principal) -> None:
    """Make `db` act for `principal`: its scope for every read, its name on every write."""
    db.principal = principal
    db.user = principal.name


def building_choices(db: Database) -> list[tuple[str, str]]:
    """(id, name) of every building, in number order, for choosing a building head's buildings."""
    return [(r[0], r[1]) for r in db.query("SELECT id, name FROM building WHERE deleted = 0 ORDER BY number, name")]


def building_ids_by_name(db: Database, names: Iterable[str]) -> list[str]:
    """Building ids for names such as "5栋" (also "5"); unknown names are an error naming them."""
    rows = db.query("SELECT id, name, number FROM building WHERE deleted = 0")
    by_name = {r["name"]: r["id"] for r in rows}
    by_number = {str(r["number"]): r["id"] for r in rows if r["number"] is not None}
    ids, unknown = [], []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        found = by_name.get(name) or by_number.get(name.removesuffix("栋"))
        if found is None:
            unknown.append(name)
        elif found not in ids:
            ids.append(found)
    if unknown:
        raise ValidationError(f"没有这些楼栋：{'、'.join(unknown)}。", field="buildings")
    return ids


# -- checks inside the write transaction ---------------------------------------------------------
def _require_admin(db: Database) -> None:
    if not db.principal.can_manage_accounts:
        raise PermissionDeniedError("只有系统管理员可以管理账号和设置。")


def _mode(db: Database) -> str:
    # A street office's roll-up file refuses ordinary writes; its own accounts are written the way
    # the roll-up writes (no sync ops: that file never syncs).
    return "rollup" if db.meta("read_only") == "1" else "local"


def _check_name(db: Database, name: str, *, except_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("请填写账号名称。", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"账号名称最多 {NAME_MAX} 个字。", field="name")
    clash = db.scalar("SELECT id FROM account WHERE deleted = 0 AND name = ? AND id IS NOT ?", (name, except_id))
    if clash:
        raise ValidationError(f"已有名为“{name}”的账号。", field="name")
    return name


def _check_buildings(db: Database, role: Role, building_ids: Sequence[str]) -> list[str]:
    if role != Role.BUILDING_HEAD:
        return []
    ids = list(dict.fromkeys(building_ids))
    if not ids:
        raise ValidationError("楼栋长账号至少要负责一栋楼。", field="buildings")
    known = {r[0] for r in db.query(
        f"SELECT id FROM building WHERE deleted = 0 AND id IN ({', '.join('?' for _ in ids)})", ids)}
    if set(ids) - known:
        raise ValidationError("所选楼栋不存在或已删除。", field="buildings")
    return ids


def _other_enabled_admins(db: Database, account_id: str) -> int:
    return int(db.scalar(
        "SELECT count(*) FROM account WHERE deleted = 0 AND enabled = 1 AND role = 'admin' AND id <> ?",
        (account_id,),
    ))


def _protect_last_admin(db: Database, account: Account, what: str) -> None:
    if account.role == Role.ADMIN and account.enabled and _other_enabled_admins(db, account.id) == 0:
        raise ValidationError(f"“{account.name}”是最后一个可用的系统管理员，不能{what}。请先新建或启用另一个系统管理员。")


def _set_links(db: Database, tx: Tx, account_id: str, building_ids: Sequence[str]) -> None:
    current = {r["building_id"]: r["id"] for r in db.query(
        "SELECT id, building_id FROM account_building WHERE account_id = ? AND deleted = 0", (account_id,))}
    for building_id, link_id in current.items():
        if building_id not in building_ids:
            tx.delete("account_building", link_id, summary="取消负责楼栋")
    for building_id in building_ids:
        if building_id not in current:
            tx.insert("account_building", {"account_id": account_id, "building_id": building_id},
                      summary="负责楼栋")


# -- account actions ------------------------------------------------------------------------------
def add_account(db: Database, name: str, role: Role | str, password: str,
                building_ids: Sequence[str] = ()) -> str:
    """Create an account (the first one must be an administrator); returns its id."""
    role = Role(role)
    check_password_rules(name, password)
    hashed = hash_password(password)  # outside the transaction: ~0.1 s of CPU holds no lock
    with db.write(mode=_mode(db)) as tx:
        first = not has_accounts(db)
        if first and role != Role.ADMIN:
            raise ValidationError("第一个账号必须是系统管理员。", field="role")
        if not first:
            _require_admin(db)
        name = _check_name(db, name)
        ids = _check_buildings(db, role, building_ids)
        account_id = tx.insert("account", {"name": name, "role": role.value, "password_hash": hashed,
                                           "enabled": 1, "created_at": tx.now},
                               summary=f"新建账号 {name}（{ROLE_LABELS[role]}）")
        _set_links(db, tx, account_id, ids)
        record_event(db, Action.ACCOUNT_ADD, {"account": name, "role": role.value, "buildings": len(ids)})
    refresh_wraps(db)  # an encrypted file: the new account can unlock it from now on
    return account_id


def update_account(db: Database, account_id: str, *, role: Role | str | None = None,
                   building_ids: Sequence[str] | None = None, name: str | None = None) -> None:
    """Change an account's name, role or buildings (administrators only)."""
    with db.write(mode=_mode(db)) as tx:
        _require_admin(db)
        account = get_account(db, account_id)
        new_role = Role(role) if role is not None else account.role
        if new_role != Role.ADMIN:
            _protect_last_admin(db, account, "改为其他角色")
        changes: dict[str, object] = {"role": new_role.value}
        if name is not None:
            changes["name"] = _check_name(db, name, except_id=account_id)
        ids = _check_buildings(db, new_role, account.building_ids if building_ids is None else building_ids)
        changed = tx.update("account", account_id, changes, summary=f"修改账号 {account.name}")
        _set_links(db, tx, account_id, ids)
        record_event(db, Action.ACCOUNT_CHANGE, {"account": account.name, "changed": sorted(changed),
                                                 "role": new_role.value, "buildings": len(ids)})
    refresh_wraps(db)


def set_password(db: Database, account_id: str, new_password: str, *, old_password: str | None = None) -> None:
    """An administrator resets any password; anyone else changes their own, giving the old one."""
    row = db.one("SELECT name, password_hash FROM account WHERE id = ? AND deleted = 0", (account_id,))
    if row is None:
        raise NotFoundError("找不到这个账号（可能已被删除）。")
    own = db.principal.account_id == account_id
    if not own and not db.principal.can_manage_accounts:
        raise PermissionDeniedError("只有系统管理员可以重设别人的密码。")
    if own and (old_password is not None or not db.principal.can_manage_accounts):
        if old_password is None or not verify_password(old_password, row["password_hash"]):
            raise ValidationError("原密码不正确。", field="old_password")
    check_password_rules(row["name"], new_password)
    hashed = hash_password(new_password)
    with db.write(mode=_mode(db)) as tx:
        tx.update("account", account_id, {"password_hash": hashed}, summary=f"修改密码 {row['name']}")
        db.conn.execute("DELETE FROM login_state WHERE account_id = ?", (account_id,))
        record_event(db, Action.ACCOUNT_PASSWORD, {"account": row["name"], "reset": not own})
    refresh_wraps(db)  # the key is wrapped again for the new password; the file is not rewritten


def set_enabled(db: Database, account_id: str, enabled: bool) -> None:
    with db.write(mode=_mode(db)) as tx:
        _require_admin(db)
        account = get_account(db, account_id)
        if not enabled:
            _protect_last_admin(db, account, "停用")
        if tx.update("account", account_id, {"enabled": int(enabled)},
                     summary=f"{'启用' if enabled else '停用'}账号 {account.name}"):
            record_event(db, Action.ACCOUNT_ENABLE if enabled else Action.ACCOUNT_DISABLE, {"account": account.name})
    refresh_wraps(db)  # a disabled account's wrap is removed: its password no longer opens the file


def delete_account(db: Database, account_id: str) -> None:
    with db.write(mode=_mode(db)) as tx:
        _require_admin(db)
        account = get_account(db, account_id)
        _protect_last_admin(db, account, "删除")
        _set_links(db, tx, account_id, [])
        tx.delete("account", account_id, summary=f"删除账号 {account.name}")
        record_event(db, Action.ACCOUNT_DELETE, {"account": account.name})
    refresh_wraps(db)


def idle_lock_minutes(db: Database) -> int:
    from app.models.core import settings

    return int(settings.get(db, IDLE_SETTING))


def set_idle_lock_minutes(db: Database, minutes: int) -> None:
    from app.models.core import settings

    low, high = IDLE_MINUTES_RANGE
    if not low <= int(minutes) <= high:
        raise ValidationError(f"自动锁定时间应在 {low} 到 {high} 分钟之间。", field="lock_idle_minutes")
    with db.write(mode=_mode(db)):
        _require_admin(db)
        if idle_lock_minutes(db) != int(minutes):
            settings.set_value(db, IDLE_SETTING, int(minutes))  # records the setting change


# -- login ----------------------------------------------------------------------------------------
def _now(clock: Clock | None) -> dt.datetime:
    return (clock or dt.datetime.now)()


def locked_until(db: Database, account_id: str, *, clock: Clock | None = None) -> dt.datetime | None:
    """When this account's lockout on this PC ends, or None if it is not locked."""
    raw = db.scalar("SELECT locked_until FROM login_state WHERE account_id = ?", (account_id,))
    if raw:
        until = dt.datetime.fromisoformat(raw)
        if until > _now(clock):
            return until
    return None


def _locked_message(name: str, until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return (f"账号“{name}”因连续 {LOCK_AFTER_FAILURES} 次密码错误已暂时锁定，"
            f"请在 {until:%H:%M} 后再试（约 {minutes} 分钟）。")


def _record(db: Database, action: str, detail: dict, outcome: str, **kw: object) -> None:
    """Record a login event, unless the file is open read-only (anju check must not change it)."""
    if not db.read_only:
        record_event(db, action, detail, outcome, **kw)  # type: ignore[arg-type]


def authenticate(db: Database, name: str, password: str, *, via: str = "gui", clock: Clock | None = None,
                 event: str = Action.LOGIN) -> Principal:
    """Check a name and password on this PC; returns the principal or raises :class:`LoginError`.

    Every attempt is recorded. Five wrong passwords in a row lock the account on this PC for
    five minutes; while locked even the right password is refused.
    """
    now = _now(clock)
    name = (name or "").strip()
    detail = {"via": via}
    candidates = db.query(
        "SELECT id, name, role, password_hash, enabled FROM account WHERE deleted = 0 AND name = ? ORDER BY id",
        (name,),
    )
    if not candidates:
        _record(db, event, {**detail, "reason": "unknown account"}, Outcome.FAILED, user=name, at=now)
        raise LoginError("账号名称或密码不正确。")
    enabled = [r for r in candidates if r["enabled"]]
    if not enabled:
        _record(db, event, {**detail, "reason": "disabled"}, Outcome.REFUSED, user=name, at=now)
        raise LoginError(f"账号“{name}”已停用，请联系系统管理员。")
    for row in enabled:
        until = locked_until(db, row["id"], clock=clock)
        if until is not None:
            _record(db, event, {**detail, "reason": "locked"}, Outcome.REFUSED, user=name, at=now)
            raise AccountLockedError(_locked_message(name, until, now), until)
    match = next((r for r in enabled if verify_password(password, r["password_hash"])), None)
    if match is None and db.read_only:
        # A file opened read-only (anju check) can neither count nor record the failure.
        raise LoginError("密码不正确。")
    if match is None:
        row = enabled[0]
        # Counted and recorded in one transaction so two windows cannot both get a fifth try.
        with local_transaction(db):
            failures = int(db.scalar("SELECT failures FROM login_state WHERE account_id = ?", (row["id"],)) or 0) + 1
            lock = failures >= LOCK_AFTER_FAILURES
            until = now + dt.timedelta(minutes=LOCK_MINUTES) if lock else None
            db.conn.execute(
                "INSERT OR REPLACE INTO login_state(account_id, failures, locked_until) VALUES (?, ?, ?)",
                (row["id"], 0 if lock else failures, until.isoformat(timespec="seconds") if until else None),
            )
            record_event(db, event, {**detail, "reason": "wrong password", "failures": failures},
                         Outcome.FAILED, user=name, at=now)
            if lock:
                record_event(db, Action.LOCK, {"account": name, "reason": "failed logins",
                                               "minutes": LOCK_MINUTES}, Outcome.OK, user=name, at=now)
        if until is not None:
            raise AccountLockedError(_locked_message(name, until, now), until)
        left = LOCK_AFTER_FAILURES - failures
        raise LoginError(f"密码不正确。再错 {left} 次，账号将锁定 {LOCK_MINUTES} 分钟。")
    if not db.read_only:
        with local_transaction(db):
            db.conn.execute("DELETE FROM login_state WHERE account_id = ?", (match["id"],))
            record_event(db, event, detail, Outcome.OK, user=name, at=now)
    return principal_of(get_account(db, match["id"]))


def login(db: Database, name: str, password: str, *, via: str = "gui", clock: Clock | None = None) -> Principal:
    """Authenticate and make `db` act for the account."""
    principal = authenticate(db, name, password, via=via, clock=clock)
    use_principal(db, principal)
    return principal


# -- demo -----------------------------------------------------------------------------------------
def create_demo_accounts(db: Database, password: str = DEMO_PASSWORD) -> list[str]:
    """管理员, 楼栋长1…3 (each for one of the first buildings), a clerk, an auditor and a leader."""
    buildings = [r[0] for r in db.query(
        "SELECT id FROM building WHERE deleted = 0 ORDER BY number, name LIMIT 3")]
    plan: list[tuple[str, Role, list[str]]] = [("管理员", Role.ADMIN, [])]
    plan += [(f"楼栋长{i + 1}", Role.BUILDING_HEAD, [b]) for i, b in enumerate(buildings)]
    plan += [("工作人员", Role.CLERK, []), ("审计员", Role.AUDITOR, []), ("领导", Role.VIEWER, [])]
    with db.write(mode=_mode(db)):
        for name, role, ids in plan:
            add_account(db, name, role, password, ids)
        db.set_meta("demo_default_password", "1" if password == DEMO_PASSWORD else "0")
    return [name for name, _, _ in plan]


def demo_password_hint(db: Database) -> str | None:
    """The demo password to show on the login screen: only for a demo database left at the default."""
    if db.meta("demo") == "1" and db.meta("demo_default_password") == "1":
        return DEMO_PASSWORD
    return None

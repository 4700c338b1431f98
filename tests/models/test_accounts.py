"""Accounts: password rules and hashing, the last administrator, lockout, sync, the roll-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.models.core import accounts
from app.models.core.access import Role
from app.models.core.accounts import AccountLockedError, LoginError
from app.models.core.audit_events import verify_chain
from app.models.core.db import open_database
from app.models.core.errors import PermissionDeniedError, ValidationError
from app.models.core.passwords import check_password_rules, hash_password, verify_password
from app.models.sync import sync

PW = "Hongl-2026"


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 6, 1, 9, 0, 0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


def _buildings(db, n: int = 3) -> list[str]:
    with db.write() as tx:
        community = tx.insert("community", {"name": "红路馨居社区"})
        return [tx.insert("building", {"community_id": community, "name": f"{i}栋", "number": i})
                for i in range(1, n + 1)]


@pytest.mark.parametrize(
    "name, password, words",
    [("张三", "short1", "至少"), ("zhangsan12", "ZhangSan12", "相同"), ("张三", "aaaaaaaaaa", "同一个字符"),
     ("张三", "", "至少")],
)
def test_password_rules(name, password, words):
    with pytest.raises(ValidationError, match=words):
        check_password_rules(name, password)


def test_a_good_password_passes_and_the_hash_is_salted_scrypt():
    check_password_rules("张三", "安居台账-2026")
    a, b = hash_password(PW), hash_password(PW)
    assert a != b and a.startswith("scrypt$32768$8$1$")
    assert verify_password(PW, a) and not verify_password(PW + "x", a)
    assert not verify_password(PW, "garbage")


def test_no_clear_password_and_no_hash_outside_the_account_row(db_path):
    db = open_database(db_path, user="测试员")
    secret = "Ziji-Mima-7788"
    accounts.add_account(db, "管理员", Role.ADMIN, secret)
    other = "Another-Pass-99"
    aid = accounts.add_account(db, "李会计", Role.CLERK, other)
    accounts.set_password(db, aid, "Third-Pass-123")
    stored = db.scalar("SELECT password_hash FROM account WHERE id = ?", (aid,))
    # The row audit shows that the password changed, never the hash itself.
    assert stored not in "".join(r[0] or "" for r in db.query("SELECT detail FROM audit_log"))
    assert "（已隐藏）" in db.scalar("SELECT detail FROM audit_log WHERE tbl = 'account' ORDER BY id DESC LIMIT 1")
    assert "scrypt$" not in "".join(r[0] or "" for r in db.query("SELECT detail FROM audit_events"))
    db.close()
    raw = b"".join(p.read_bytes() for p in Path(db_path).parent.glob(Path(db_path).name + "*"))
    for clear in (secret, other, "Third-Pass-123"):
        assert clear.encode("utf-8") not in raw
        assert clear.encode("utf-16-le") not in raw


def test_the_first_account_must_be_an_administrator(db):
    with pytest.raises(ValidationError, match="第一个账号"):
        accounts.add_account(db, "张三", Role.CLERK, PW)
    assert not accounts.has_accounts(db)
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    assert accounts.has_accounts(db)


def test_names_are_unique_and_building_heads_need_buildings(db):
    b1, b2, _ = _buildings(db)
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    with pytest.raises(ValidationError, match="已有"):
        accounts.add_account(db, " 管理员 ", Role.CLERK, PW)
    with pytest.raises(ValidationError, match="至少要负责"):
        accounts.add_account(db, "楼栋长", Role.BUILDING_HEAD, PW)
    aid = accounts.add_account(db, "楼栋长", Role.BUILDING_HEAD, PW, [b1, b2])
    assert set(accounts.get_account(db, aid).building_ids) == {b1, b2}
    accounts.update_account(db, aid, building_ids=[b2])
    assert accounts.get_account(db, aid).building_names == ("2栋",)
    assert accounts.building_ids_by_name(db, ["1栋", "3"]) [0] == b1
    with pytest.raises(ValidationError, match="9栋"):
        accounts.building_ids_by_name(db, ["9栋"])


def test_the_last_administrator_cannot_be_disabled_deleted_or_demoted(db):
    admin = accounts.add_account(db, "管理员", Role.ADMIN, PW)
    for action in (lambda: accounts.set_enabled(db, admin, False), lambda: accounts.delete_account(db, admin),
                   lambda: accounts.update_account(db, admin, role=Role.CLERK)):
        with pytest.raises(ValidationError, match="最后一个"):
            action()
    second = accounts.add_account(db, "副管理员", Role.ADMIN, PW)
    accounts.set_enabled(db, admin, False)
    with pytest.raises(ValidationError, match="最后一个"):
        accounts.delete_account(db, second)
    accounts.set_enabled(db, admin, True)
    accounts.delete_account(db, second)
    assert [a.name for a in accounts.list_accounts(db)] == ["管理员"]


def test_only_an_administrator_manages_accounts_but_anyone_changes_their_own_password(db):
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    clerk = accounts.add_account(db, "李会计", Role.CLERK, PW)
    other = accounts.add_account(db, "王会计", Role.CLERK, PW)
    accounts.login(db, "李会计", PW)
    assert db.user == "李会计" and db.principal.role == Role.CLERK
    with pytest.raises(PermissionDeniedError):
        accounts.add_account(db, "赵六", Role.CLERK, PW)
    with pytest.raises(PermissionDeniedError):
        accounts.set_enabled(db, other, False)
    with pytest.raises(PermissionDeniedError):
        accounts.set_password(db, other, "New-Pass-2026")
    with pytest.raises(ValidationError, match="原密码"):
        accounts.set_password(db, clerk, "New-Pass-2026", old_password="wrong-old")
    accounts.set_password(db, clerk, "New-Pass-2026", old_password=PW)
    assert accounts.authenticate(db, "李会计", "New-Pass-2026").account_id == clerk
    # Every change is signed with the real account.
    assert db.scalar("SELECT user FROM change_log WHERE tbl = 'account' ORDER BY op_id DESC LIMIT 1") == "李会计"


def test_five_wrong_passwords_lock_the_account_for_five_minutes(db):
    clock = FakeClock()
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    for i in range(4):
        with pytest.raises(LoginError, match=f"再错 {4 - i} 次"):
            accounts.authenticate(db, "管理员", "wrong-pass", clock=clock)
        clock.advance(seconds=10)
    with pytest.raises(AccountLockedError):
        accounts.authenticate(db, "管理员", "wrong-pass", clock=clock)
    clock.advance(minutes=4, seconds=50)
    with pytest.raises(AccountLockedError, match="锁定"):
        accounts.authenticate(db, "管理员", PW, clock=clock)  # even the right password
    clock.advance(seconds=11)
    assert accounts.authenticate(db, "管理员", PW, clock=clock).role == Role.ADMIN
    # After a success the count starts again.
    with pytest.raises(LoginError, match="再错 4 次"):
        accounts.authenticate(db, "管理员", "wrong-pass", clock=clock)
    outcomes = [(r["action"], r["outcome"]) for r in db.query("SELECT action, outcome FROM audit_events "
                                                              "WHERE action IN ('login', 'lock') ORDER BY id")]
    assert outcomes.count(("login", "failed")) == 6 and ("lock", "ok") in outcomes
    assert outcomes.count(("login", "refused")) == 1 and outcomes.count(("login", "ok")) == 1
    assert verify_chain(db) == []


def test_a_disabled_or_unknown_account_cannot_log_in(db):
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    clerk = accounts.add_account(db, "李会计", Role.CLERK, PW)
    accounts.set_enabled(db, clerk, False)
    with pytest.raises(LoginError, match="停用"):
        accounts.authenticate(db, "李会计", PW)
    with pytest.raises(LoginError, match="不正确"):
        accounts.authenticate(db, "没有这人", PW)


def test_a_building_head_logs_in_with_their_buildings_as_scope(db):
    b1, b2, _ = _buildings(db)
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    accounts.add_account(db, "楼栋长1", Role.BUILDING_HEAD, PW, [b1, b2])
    principal = accounts.login(db, "楼栋长1", PW)
    assert principal.building_scope() == frozenset({b1, b2})
    assert db.principal is principal


def test_accounts_sync_between_two_pcs_and_a_head_logs_in_on_either(tmp_path):
    from tests.builders.sync import PASS, N, exchange, make_office, snapshot

    stick = tmp_path / "stick"
    stick.mkdir()
    a, _ids = make_office(tmp_path / "a.db")
    with a.write() as tx:
        community = a.scalar("SELECT id FROM community")
        building = tx.insert("building", {"community_id": community, "name": "1栋", "number": 1})
    accounts.add_account(a, "管理员", Role.ADMIN, PW)
    head = accounts.add_account(a, "楼栋长1", Role.BUILDING_HEAD, PW, [building])
    b = open_database(tmp_path / "b.db", user="乙")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    assert sync.import_from_folder(b, stick, PASS).rejected == 0
    assert accounts.authenticate(b, "楼栋长1", PW).building_scope() == frozenset({building})
    # A password reset on B reaches A; a disable on A reaches B.
    accounts.login(b, "管理员", PW)
    accounts.set_password(b, head, "Reset-On-B-1")
    accounts.set_enabled(a, accounts.add_account(a, "李会计", Role.CLERK, PW), False)
    exchange(a, b, stick)
    assert snapshot(a)["account"] == snapshot(b)["account"]
    assert accounts.authenticate(a, "楼栋长1", "Reset-On-B-1").account_id == head
    with pytest.raises(LoginError, match="停用"):
        accounts.authenticate(b, "李会计", PW)
    # The lockout stays on the PC where the passwords were mistyped.
    for _ in range(5):
        with pytest.raises(LoginError):
            accounts.authenticate(a, "楼栋长1", "wrong-pass")
    exchange(a, b, stick)
    assert accounts.authenticate(b, "楼栋长1", "Reset-On-B-1").account_id == head
    a.close()
    b.close()


def test_the_street_roll_up_takes_no_accounts(tmp_path):
    from app.models.sync.rollup import rollup
    from tests.builders.sync import make_office

    a, _ = make_office(tmp_path / "a.db")
    accounts.add_account(a, "管理员", Role.ADMIN, PW)
    a.close()
    rollup(tmp_path / "street.db", [tmp_path / "a.db"])
    street = open_database(tmp_path / "street.db")
    assert street.scalar("SELECT count(*) FROM account") == 0
    assert b"scrypt$" not in (tmp_path / "street.db").read_bytes()
    # The street office may still make its own accounts on its read-only file.
    accounts.add_account(street, "街道管理员", Role.ADMIN, PW)
    assert accounts.authenticate(street, "街道管理员", PW).role == Role.ADMIN
    street.close()


def test_idle_lock_minutes_are_an_administrator_setting(db):
    assert accounts.idle_lock_minutes(db) == 10
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    accounts.add_account(db, "李会计", Role.CLERK, PW)
    accounts.login(db, "李会计", PW)
    with pytest.raises(PermissionDeniedError):
        accounts.set_idle_lock_minutes(db, 5)
    accounts.login(db, "管理员", PW)
    with pytest.raises(ValidationError):
        accounts.set_idle_lock_minutes(db, 0)
    accounts.set_idle_lock_minutes(db, 5)
    assert accounts.idle_lock_minutes(db) == 5
    assert db.scalar("SELECT count(*) FROM audit_events WHERE action = 'setting_change'") == 1


def test_the_set_up_of_a_logged_in_administrator_is_signed_by_the_account(db):
    from app.models.places import community_setup as setup

    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    accounts.login(db, "管理员", PW)
    setup.finish_setup(db, setup.CommunityInfo(name="幸福社区"),
                       [setup.BuildingSpec(name="1栋", units=1, floors=2, rooms_per_floor=2)], "随手写的名字")
    assert db.user == "管理员"
    assert {r[0] for r in db.query("SELECT DISTINCT user FROM change_log WHERE tbl = 'building'")} == {"管理员"}


def test_office_settings_are_the_administrators(db):
    from app.models.core import settings
    from app.models.core.access import Principal, Role
    from app.models.core.errors import PermissionDeniedError

    db.principal = Principal(name="工作人员", role=Role.CLERK)
    with pytest.raises(PermissionDeniedError, match="系统管理员"):
        settings.set_value(db, "office_phone", "0870-1111111")
    settings.set_value(db, "import_mapping_test", {"A": "name"})  # a remembered mapping is not a setting
    db.principal = Principal(name="管理员", role=Role.ADMIN)
    settings.set_value(db, "office_phone", "0870-1111111")
    assert settings.get(db, "office_phone") == "0870-1111111"

"""Login, lock screen, first administrator and 账号管理, driven as a clerk does."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel

from app.models.core import accounts
from app.models.core.access import Role
from app.models.core.db import open_database
from app.ui.accounts.login_dialog import FirstAdminDialog, LoginDialog

PW = "anju-demo"


def _events(db, action: str | None = None) -> list[tuple[str, str, str]]:
    sql = "SELECT user, action, outcome FROM audit_events" + (" WHERE action = ?" if action else "") + " ORDER BY id"
    return [tuple(r) for r in db.query(sql, (action,) if action else ())]


def _choose(combo, name: str) -> None:
    combo.setCurrentIndex(combo.findData(name))


@pytest.fixture
def demo_db(demo_db_path):
    db = open_database(demo_db_path)
    yield db
    db.close()


def test_login_dialog_enter_logs_in_and_a_wrong_password_is_shown(qtbot, demo_db):
    dialog = LoginDialog(demo_db)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.objectName() == "loginDialog"
    assert "anju-demo" in dialog.findChild(QLabel, "loginDemoHint").text()
    _choose(dialog.user, "楼栋长1")
    qtbot.keyClicks(dialog.password, "wrong-pass")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.isVisible() and "密码不正确" in dialog.error.text() and dialog.password.text() == ""
    qtbot.keyClicks(dialog.password, PW)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.principal.name == "楼栋长1" and dialog.principal.role == Role.BUILDING_HEAD
    assert dialog.principal.building_scope()
    assert _events(demo_db, "login")[-2:] == [("楼栋长1", "login", "failed"), ("楼栋长1", "login", "ok")]


def test_the_demo_password_is_shown_on_a_demo_database_only(qtbot, tmp_path):
    db = open_database(tmp_path / "office.db")
    accounts.add_account(db, "管理员", Role.ADMIN, PW)
    dialog = LoginDialog(db)
    qtbot.addWidget(dialog)
    assert dialog.findChild(QLabel, "loginDemoHint") is None
    db.close()


def test_five_wrong_passwords_lock_the_account_in_the_dialog(qtbot, demo_db):
    now = [dt.datetime(2026, 6, 1, 9, 0)]
    dialog = LoginDialog(demo_db)
    dialog.clock = lambda: now[0]
    qtbot.addWidget(dialog)
    dialog.show()
    _choose(dialog.user, "管理员")
    for _ in range(5):
        qtbot.keyClicks(dialog.password, "wrong-pass")
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert "锁定" in dialog.error.text()
    qtbot.keyClicks(dialog.password, PW)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.isVisible() and "锁定" in dialog.error.text()
    now[0] += dt.timedelta(minutes=5, seconds=1)
    qtbot.keyClicks(dialog.password, PW)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted


@pytest.fixture
def admin_window(qtbot, demo_db_path):
    from app.ui.app import build_window

    db = open_database(demo_db_path)
    principal = accounts.authenticate(db, "管理员", PW)
    db.close()
    window = build_window(demo_db_path, demo=True, principal=principal)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()


def test_status_bar_and_menus_follow_the_account(admin_window):
    w = admin_window
    assert w.status_user.text() == "当前用户：管理员（系统管理员）"
    assert w.ctx.db.user == "管理员" and w.ctx.runner.user == "管理员"
    assert w.accounts_action.isVisible() and w.lock_action.isVisible()


def test_ctrl_l_locks_and_only_the_password_unlocks(qtbot, admin_window):
    w = admin_window
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    screen = w.session.lock_screen
    assert screen is not None and screen.objectName() == "lockScreen" and screen.isVisible()
    assert not w.tabs.isVisible() and not w.menuBar().isEnabled()
    assert screen.user.currentData() == "管理员"
    qtbot.keyClick(screen, Qt.Key.Key_Escape)  # Escape does not dismiss a lock screen
    assert w.session.locked
    qtbot.keyClicks(screen.password, "wrong-pass")
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    assert w.session.locked and "密码不正确" in screen.error.text()
    qtbot.keyClicks(screen.password, PW)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.locked)
    assert w.tabs.isVisible() and w.menuBar().isEnabled()
    actions = [a for _, a, o in _events(w.ctx.db) if a in ("lock", "unlock")]
    assert actions == ["lock", "unlock"]


def test_idle_time_locks_the_window_and_activity_defers_it(qtbot, admin_window):
    w = admin_window
    now = [1000.0]
    w.session.clock = lambda: now[0]
    w.session.last_activity = now[0]
    now[0] += 9 * 60
    w.session.check_idle()
    assert not w.session.locked
    qtbot.keyClick(w.tabs.currentWidget(), Qt.Key.Key_Shift)  # the clerk touches the keyboard
    now[0] += 9 * 60
    w.session.check_idle()
    assert not w.session.locked
    now[0] += 60
    w.session.check_idle()
    assert w.session.locked
    assert _events(w.ctx.db, "lock")[-1] == ("管理员", "lock", "ok")
    assert '"idle"' in w.ctx.db.scalar("SELECT detail FROM audit_events WHERE action = 'lock' ORDER BY id DESC")


def test_the_administrator_sets_the_idle_minutes(qtbot, admin_window):
    w = admin_window
    accounts.set_idle_lock_minutes(w.ctx.db, 3)
    now = [0.0]
    w.session.clock = lambda: now[0]
    w.session.last_activity = 0.0
    now[0] = 3 * 60
    w.session.check_idle()
    assert w.session.locked


def test_switching_user_on_the_lock_screen(qtbot, admin_window):
    w = admin_window
    leftover = QDialog(w)
    leftover.setWindowTitle("半填的表单")
    leftover.show()
    screen = w.session.lock("switch user")
    _choose(screen.user, "楼栋长1")
    qtbot.keyClicks(screen.password, PW)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.locked)
    assert not leftover.isVisible()  # the previous user's open form is closed, not saved
    assert w.status_user.text() == "当前用户：楼栋长1（楼栋长）"
    assert w.ctx.db.user == "楼栋长1" and w.ctx.db.principal.building_scope()
    assert not w.accounts_action.isVisible()
    seen = {}
    w.ctx.runner.run(lambda db, _p: (db.user, db.principal), on_success=lambda r: seen.setdefault("r", r))
    qtbot.waitUntil(lambda: "r" in seen)
    assert seen["r"][0] == "楼栋长1" and seen["r"][1].building_scope() == w.ctx.db.principal.building_scope()


def test_first_administrator_on_an_existing_database(qtbot, tmp_path):
    db = open_database(tmp_path / "old.db")
    dialog = FirstAdminDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.name.text() == "管理员"
    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.confirm, "short")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert "至少要 8 个字符" in dialog.error.text() and not accounts.has_accounts(db)
    dialog.password.clear()
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.password, "Office-2026")
    qtbot.keyClicks(dialog.confirm, "Office-2026")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.principal.role == Role.ADMIN and accounts.has_accounts(db)
    db.close()


def _fake_exec(fill):
    def exec_(self) -> int:
        self.show()
        fill(self)
        if self.isVisible():
            self.reject()
        return self.result()

    return exec_


def test_the_gui_asks_for_the_first_administrator_and_will_not_open_without_one(qtbot, tmp_path, monkeypatch, capsys):
    from app.cli import main

    path = tmp_path / "old.db"
    open_database(path).close()
    monkeypatch.setattr(FirstAdminDialog, "exec", _fake_exec(lambda d: None))  # the clerk quits
    assert main(["--db", str(path), "--smoke-test"]) == 1
    db = open_database(path)
    assert not accounts.has_accounts(db)
    db.close()

    def create(d):
        d.password.setText("Office-2026")
        d.confirm.setText("Office-2026")
        d.create_account()

    monkeypatch.setattr(FirstAdminDialog, "exec", _fake_exec(create))
    assert main(["--db", str(path), "--smoke-test"]) == 0
    assert "anju-shown-ms" in capsys.readouterr().out
    db = open_database(path)
    assert [a.name for a in accounts.list_accounts(db)] == ["管理员"]
    db.close()
    # From now on the file asks for a login, not for a first administrator.
    monkeypatch.setattr(FirstAdminDialog, "exec", lambda self: pytest.fail("asked again"))
    monkeypatch.setattr(LoginDialog, "exec", _fake_exec(lambda d: None))
    assert main(["--db", str(path), "--smoke-test"]) == 1


def test_the_gui_with_valid_credentials_opens_without_the_login_dialog(qtbot, demo_db_path, demo_login,
                                                                     monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setattr(LoginDialog, "exec", lambda self: pytest.fail("login dialog shown"))
    assert main(["--db", str(demo_db_path), "--smoke-test"]) == 0
    out = capsys.readouterr().out
    assert "anju-shown-ms" in out and "anju-login-ms" in out
    # Wrong credentials open the login dialog with the reason.
    bad = demo_login.parent / "bad.txt"
    bad.write_text("wrong-pass", encoding="utf-8")
    seen = {}
    monkeypatch.setattr(LoginDialog, "exec", _fake_exec(lambda d: seen.update(error=d.error.text(),
                                                                            user=d.user.currentData())))
    assert main(["--db", str(demo_db_path), "--smoke-test", "--password-file", str(bad)]) == 1
    assert "密码不正确" in seen["error"] and seen["user"] == "管理员"


def test_accounts_dialog_adds_a_building_head_and_protects_the_last_admin(qtbot, admin_window, monkeypatch, messages):
    from app.ui.accounts.accounts_dialog import AccountEditDialog, AccountsDialog

    w = admin_window
    before = len(_events(w.ctx.db))
    dialog = AccountsDialog(w.ctx, w)
    qtbot.addWidget(dialog)
    dialog.show()
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert names[0] == "管理员" and "楼栋长1" in names

    def fill(d):
        d.name.setText("张楼长")
        d.role.setCurrentIndex(d.role.findData("building_head"))
        d.buildings.item(0).setCheckState(Qt.CheckState.Checked)
        d.password.setText("Zhang-2026")
        d.confirm.setText("Zhang-2026")
        qtbot.mouseClick(d.findChild(type(dialog.buttons["accountAdd"]), "accountSave"), Qt.MouseButton.LeftButton)

    monkeypatch.setattr(AccountEditDialog, "exec", _fake_exec(fill))
    qtbot.mouseClick(dialog.buttons["accountAdd"], Qt.MouseButton.LeftButton)
    added = accounts.account_by_name(w.ctx.db, "张楼长")
    assert added.role == Role.BUILDING_HEAD and len(added.building_ids) == 1
    assert "已新建" in dialog.message.text()
    dialog.table.selectRow(0)
    qtbot.mouseClick(dialog.buttons["accountToggle"], Qt.MouseButton.LeftButton)
    assert "最后一个" in dialog.message.text()
    messages.always(True)
    qtbot.mouseClick(dialog.buttons["accountDelete"], Qt.MouseButton.LeftButton)
    assert "最后一个" in dialog.message.text()
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == "张楼长")
    dialog.table.selectRow(row)
    qtbot.mouseClick(dialog.buttons["accountToggle"], Qt.MouseButton.LeftButton)
    assert dialog.table.item(row, 3).text() == "已停用"
    dialog.minutes.setValue(15)
    qtbot.mouseClick(dialog.findChild(type(dialog.buttons["accountAdd"]), "lockMinutesApply"), Qt.MouseButton.LeftButton)
    assert accounts.idle_lock_minutes(w.ctx.db) == 15
    actions = [a for _, a, o in _events(w.ctx.db)[before:] if a.startswith("account_") or a == "setting_change"]
    assert actions == ["account_add", "account_disable", "setting_change"]

"""工具 → 从备份恢复 driven as a clerk does; automatic backups at start, daily and at exit; the reminder."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.models.core import backup
from app.models.core.access import Principal, Role
from app.models.core.changes import Changes


def _live(db, table: str) -> int:
    return db.scalar(f"SELECT count(*) FROM main.{table} WHERE deleted = 0")


def _remove_two_households(db) -> None:
    ids = [r[0] for r in db.query("SELECT id FROM household WHERE deleted = 0 ORDER BY id LIMIT 2")]
    with db.write() as tx:
        for hid in ids:
            tx.delete("household", hid)


def _open_dialog(qtbot, window):
    window.restore_action.trigger()
    dialog = window.restore_dialog
    qtbot.waitExposed(dialog)
    return dialog


def test_restore_drill_through_the_dialog(qtbot, main_window, messages):
    ctx = main_window.ctx
    households = _live(ctx.db, "household")
    saved = backup.automatic_backup(ctx.db).path
    _remove_two_households(ctx.db)
    changed_residents = main_window.status_count.text()

    dialog = _open_dialog(qtbot, main_window)
    assert dialog.objectName() == "restoreDialog" and dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == "自动备份" and dialog.table.item(0, 4).text() == saved.name
    assert not dialog.restore_button.isEnabled()
    rect = dialog.table.visualRect(dialog.table.model().index(0, 0))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: dialog.report is not None)
    assert "检查通过" in dialog.status.text()
    assert dialog.counts.item(0, 0).text() == f"{households:,}"
    assert dialog.counts.item(0, 1).text() == f"{households - 2:,}"
    assert dialog.counts.item(0, 2).text() == "+2"
    assert dialog.restore_button.isEnabled()
    Path("/tmp/backups").mkdir(exist_ok=True)
    dialog.grab().save("/tmp/backups/restore_dialog.png")

    messages.answer(True)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert messages.said and "已从备份恢复" in messages.said[-1] and "恢复前自动备份" in messages.said[-1]
    assert _live(ctx.db, "household") == households
    assert main_window.status_count.text() != changed_residents  # the views read the restored file
    kept = [b for b in backup.list_backups([backup.default_folder()]) if b.kind == backup.PRE_RESTORE]
    assert len(kept) == 1
    event = ctx.db.one("SELECT * FROM audit_events ORDER BY id DESC LIMIT 1")
    assert event["action"] == "restore" and saved.name in event["detail"] and event["user"] == "测试员"
    # The worker reads the restored file too.
    result: list[int] = []
    ctx.runner.run(lambda db, _p: _live(db, "household"), on_success=result.append)
    qtbot.waitUntil(lambda: bool(result))
    assert result == [households]


def test_a_damaged_file_chosen_by_hand_is_refused_and_nothing_changes(qtbot, main_window, monkeypatch, tmp_path):
    from app.widgets import file_dialogs

    ctx = main_window.ctx
    broken = tmp_path / "从U盘拷来的.db"
    saved = backup.backup_to(ctx.db, tmp_path / "good.db")
    broken.write_bytes(saved.read_bytes()[: saved.stat().st_size // 3])
    monkeypatch.setattr(file_dialogs, "open_path", lambda *a, **k: str(broken))
    state = hashlib.sha256(ctx.db.path.read_bytes()).hexdigest()

    dialog = _open_dialog(qtbot, main_window)
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "不能用来恢复" in dialog.status.text())
    assert not dialog.restore_button.isEnabled() and dialog.report is None
    assert hashlib.sha256(ctx.db.path.read_bytes()).hexdigest() == state
    dialog.reject()


def test_restore_is_greyed_for_everyone_but_the_administrator(qtbot, main_window):
    from app.ui.accounts.session import apply_principal

    action = main_window.restore_action
    assert action.isEnabled()
    apply_principal(main_window.ctx, Principal("工作人员", Role.CLERK, account_id="c"))
    main_window.ctx.events.broadcast(Changes.all())  # as a switch of user does
    assert not action.isEnabled() and "系统管理员" in action.toolTip()
    apply_principal(main_window.ctx, Principal("管理员", Role.ADMIN, account_id="a"))
    main_window.ctx.events.broadcast(Changes.all())
    assert action.isEnabled()


# -- automatic backups in the running program ---------------------------------------------------------------
@pytest.fixture
def office_window(qtbot, demo_db_path):
    """The demo file opened as an office's own (not as the demo): automatic backups are on."""
    from app.ui.app import build_window

    window = build_window(demo_db_path, demo=False, user="测试员")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()


def _autos(folder: Path | None = None) -> list[backup.BackupFile]:
    return [b for b in backup.list_backups([folder or backup.default_folder()]) if b.kind == backup.AUTO]


def test_daily_backup_runs_on_the_worker_once_a_day(qtbot, office_window):
    auto = office_window.auto_backup
    assert auto.enabled and auto.timer.isActive()
    auto.run_daily_if_due()
    qtbot.waitUntil(lambda: not auto.pending)
    assert len(_autos()) == 1 and "已自动备份" in office_window.statusBar().currentMessage()
    auto.run_daily_if_due()  # the same day again: nothing new
    qtbot.waitUntil(lambda: not auto.pending)
    assert len(_autos()) == 1


def test_exit_backs_up_what_was_written_then_closes(qtbot, office_window):
    import sqlite3

    auto = office_window.auto_backup
    auto.run_daily_if_due()
    qtbot.waitUntil(lambda: not auto.pending)
    morning = _autos()[0].path
    _remove_two_households(office_window.ctx.db)  # written since the day's backup
    households = _live(office_window.ctx.db, "household")
    office_window.close()
    assert office_window.isVisible() and auto.exit_state == "running"
    assert "正在自动备份" in office_window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not office_window.isVisible(), timeout=15000)
    assert auto.exit_state == "done"
    # One backup a day is kept: the exit's, holding the day's work, replaces the morning's.
    [evening] = _autos()
    assert evening.path != morning and not morning.exists()
    conn = sqlite3.connect(evening.path)
    assert conn.execute("SELECT count(*) FROM household WHERE deleted = 0").fetchone()[0] == households
    conn.close()


def test_exit_without_changes_adds_no_backup(qtbot, office_window):
    auto = office_window.auto_backup
    auto.run_daily_if_due()
    qtbot.waitUntil(lambda: not auto.pending)
    office_window.close()
    qtbot.waitUntil(lambda: not office_window.isVisible(), timeout=15000)
    assert len(_autos()) == 1


def test_the_demo_is_not_backed_up(main_window):
    assert not main_window.auto_backup.enabled and not main_window.auto_backup.timer.isActive()


def test_second_place_missing_is_a_quiet_note(qtbot, office_window, tmp_path):
    backup.set_second_place(office_window.ctx.db, str(tmp_path / "no-stick" / "安居备份"))
    auto = office_window.auto_backup
    auto.run_daily_if_due()
    qtbot.waitUntil(lambda: not auto.pending)
    message = office_window.statusBar().currentMessage()
    assert "已自动备份" in message and "不在" in message


def test_reminder_offers_to_back_up_to_the_second_place_now(qtbot, office_window, tmp_path):
    from app.ui.backup.backup_menu import show_reminder

    db = office_window.ctx.db
    db.set_meta(backup.WATCH_KEY, (dt.datetime.now() - dt.timedelta(days=9)).isoformat(timespec="seconds"))
    stick = tmp_path / "stick"
    stick.mkdir()
    backup.set_second_place(db, str(stick))
    box = show_reminder(office_window)
    assert box is not None and box.objectName() == "offsiteReminder" and "本机以外" in box.text()
    now_button = box.findChild(type(box.buttons()[0]), "offsiteBackupNow")
    qtbot.mouseClick(now_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_autos(stick)) == 1)
    qtbot.waitUntil(lambda: backup.last_offsite_copy(db) is not None)
    assert show_reminder(office_window) is None


def test_settings_dialog_sets_the_second_place(qtbot, main_window, tmp_path):
    from app.ui.setup.settings_dialog import SettingsDialog

    dialog = SettingsDialog(main_window.ctx, main_window)
    qtbot.addWidget(dialog)
    edit = dialog.findChild(type(dialog.texts["office_name"]), "setting_second_backup_folder")
    edit.setText(str(tmp_path / "安居备份"))
    dialog.save()
    assert backup.second_place(main_window.ctx.db) == str(tmp_path / "安居备份")


def test_after_a_restore_an_account_missing_from_the_backup_must_log_in(qtbot, demo_db_path, messages):
    from app.models.core import accounts
    from app.models.core.access import Role
    from app.models.core.db import open_database
    from app.ui.app import build_window

    db = open_database(demo_db_path)
    saved = backup.backup_to(db, demo_db_path.parent / "before-new-admin.db")
    accounts.add_account(db, "新管理员", Role.ADMIN, "New-Admin-2026")
    principal = accounts.authenticate(db, "新管理员", "New-Admin-2026")
    db.close()
    window = build_window(demo_db_path, demo=True, principal=principal)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        dialog = _open_dialog(qtbot, window)
        dialog.use_file(saved)
        qtbot.waitUntil(lambda: dialog.report is not None)
        messages.answer(True)
        qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible())
        # The restored file has no such account: the lock screen asks for one it knows.
        screen = window.session.lock_screen
        assert screen is not None and screen.isVisible() and not window.tabs.isVisible()
        event = window.ctx.db.one("SELECT * FROM audit_events WHERE action = 'restore' ORDER BY id DESC LIMIT 1")
        assert event["user"] == "新管理员" and event["outcome"] == "ok"
        screen.reject()
    finally:
        window.shutdown()


def test_exit_backup_waits_for_the_write_in_hand(qtbot, office_window):
    import sqlite3
    import time

    def slow_write(db, _progress):
        ids = [r[0] for r in db.query("SELECT id FROM household WHERE deleted = 0 ORDER BY id LIMIT 3")]
        with db.write() as tx:
            for hid in ids:
                time.sleep(0.1)  # the write is half-done while the window is asked to close
                tx.delete("household", hid)

    households = _live(office_window.ctx.db, "household")
    office_window.ctx.runner.run(slow_write)
    office_window.close()
    qtbot.waitUntil(lambda: not office_window.isVisible(), timeout=15000)
    [copy] = _autos()
    conn = sqlite3.connect(copy.path)
    assert conn.execute("SELECT count(*) FROM household WHERE deleted = 0").fetchone()[0] == households - 3
    conn.close()

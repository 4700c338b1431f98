"""Automatic backups (once a day and at exit, on the worker), the reminder to keep a copy away
from the PC, and 工具 → 从备份恢复."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from app.models.core import backup
from app.models.core.access import Role
from app.models.core.backup import AutoBackupResult
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.core.safe_files import DiskFullError

START_DELAY_MS = 60_000  # the day's backup waits until the start's own work is done
CHECK_INTERVAL_MS = 10 * 60_000  # an office PC left on overnight backs up the new day too
EXIT_SECONDS = 20  # the longest an exit waits for its backup; a longer one is given up, cleanly
REMINDER_DELAY_MS = 1500
RESTORE_DENIED = "只有系统管理员可以从备份恢复。"


class AutoBackup(QObject):
    """Makes the automatic backups of the window's database on its op runner's worker."""

    def __init__(self, window: Any, *, enabled: bool | None = None, folder: Path | None = None,
                 start_delay_ms: int = START_DELAY_MS) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        # Not of the demo (its data is made up) nor of a file opened read-only (someone else's copy).
        self.enabled = (not self.ctx.demo and not self.ctx.db.read_only) if enabled is None else enabled
        self.folder = folder
        self.pending = False
        self.exit_state = "idle"  # idle → running → done
        self.last_result: AutoBackupResult | None = None
        self.last_error: BaseException | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.run_daily_if_due)
        window.installEventFilter(self)
        if self.enabled:
            self.timer.start()
            QTimer.singleShot(start_delay_ms, self.run_daily_if_due)

    def _alive(self) -> bool:
        return self.enabled and not self.ctx.db.closed and not getattr(self.window, "_shutting_down", False)

    # -- once a day -----------------------------------------------------------------------------
    def run_daily_if_due(self) -> None:
        if not self._alive() or self.pending:
            return
        self.pending = True
        folder = self.folder

        def job(db: Database, progress: Any) -> AutoBackupResult | None:
            if not backup.daily_backup_due(db, folder):
                return None
            return backup.automatic_backup(db, folder, reason="daily", check=progress.check)

        self.ctx.runner.run(job, on_success=self._daily_done, on_failure=self._daily_failed)

    def _daily_done(self, result: AutoBackupResult | None) -> None:
        self.pending = False
        if result is None:
            return
        self.last_result = result
        text = f"已自动备份（{time.strftime('%H:%M')}）。"
        if result.notes:
            text += " ".join(result.notes)
        self.window.statusBar().showMessage(text, 15000 if result.notes else 8000)

    def _daily_failed(self, exc: BaseException) -> None:
        self.pending = False
        self.last_error = exc
        if not isinstance(exc, KnownError):
            from app.ui.common.crash import report_exception

            report_exception(exc)
            return
        self.window.statusBar().showMessage(f"自动备份没有成功：{exc}", 60000)
        if isinstance(exc, DiskFullError):  # the clerk has to make room: say it where it is seen
            box = QMessageBox(QMessageBox.Icon.Warning, "自动备份没有成功", str(exc), QMessageBox.StandardButton.Ok,
                              self.window)
            box.setObjectName("autoBackupWarning")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.warning = box

    # -- at exit --------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and event.type() == QEvent.Type.Close:
            if self.exit_state == "running":
                event.ignore()
                return True
            if self.exit_state == "idle" and self._alive() and not self.ctx.runner.busy:
                event.ignore()
                self.start_exit_backup()
                return True
        return False

    def start_exit_backup(self) -> None:
        """Back up (if anything was written since the last one) and close the window after it.

        The worker finishes the job in hand first, so no write is half-done; the backup gives up
        after EXIT_SECONDS (removing its part) and a timer closes the window in any case."""
        self.exit_state = "running"
        window = self.window
        window.statusBar().showMessage(f"正在自动备份，请稍候（最多 {EXIT_SECONDS} 秒）……")
        window.centralWidget().setEnabled(False)
        window.menuBar().setEnabled(False)
        deadline = time.monotonic() + EXIT_SECONDS
        folder = self.folder

        def job(db: Database, progress: Any) -> AutoBackupResult | None:
            if not backup.exit_backup_due(db, folder):
                return None
            return backup.automatic_backup(db, folder, reason="exit", deadline=deadline, check=progress.check)

        self.ctx.runner.run(job, on_success=self._exit_done, on_failure=self._exit_failed)
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.timeout.connect(lambda: self._finish_exit(None))
        self._fallback.start((EXIT_SECONDS + 10) * 1000)

    def _exit_done(self, result: AutoBackupResult | None) -> None:
        self.last_result = result
        self._finish_exit("已自动备份。" if result is not None else None)

    def _exit_failed(self, exc: BaseException) -> None:
        self.last_error = exc
        self._finish_exit(f"自动备份没有完成：{exc}" if isinstance(exc, KnownError) else "自动备份没有完成。")

    def _finish_exit(self, message: str | None) -> None:
        if self.exit_state == "done":
            return
        self.exit_state = "done"
        self._fallback.stop()
        pause = 0
        if message:
            self.window.statusBar().showMessage(message)
            pause = 2500 if "没有" in message else 300  # long enough to be read, short enough not to hold up
        QTimer.singleShot(pause, self.window.close)


# -- the reminder ------------------------------------------------------------------------------------------
def show_reminder(window: Any) -> QMessageBox | None:
    """On start: when the last copy away from this PC is over a week old, say so, with a button."""
    ctx = window.ctx
    if ctx.demo or ctx.db.closed or ctx.db.read_only or ctx.db.principal.role not in (None, Role.ADMIN, Role.CLERK):
        return None
    try:
        text = backup.offsite_reminder(ctx.db)
    except KnownError:
        return None
    if not text:
        return None
    box = QMessageBox(QMessageBox.Icon.Information, "备份提醒", text, QMessageBox.StandardButton.NoButton, window)
    box.setObjectName("offsiteReminder")
    now = box.addButton("现在备份…", QMessageBox.ButtonRole.AcceptRole)
    now.setObjectName("offsiteBackupNow")
    box.addButton("以后再说", QMessageBox.ButtonRole.RejectRole)
    now.clicked.connect(lambda: backup_away_now(window))
    box.open()
    window.offsite_reminder = box
    return box


def backup_away_now(window: Any) -> None:
    """To the second place when it is there (an automatic backup); else the 备份数据库 dialog."""
    ctx = window.ctx
    second, _note = backup.second_place_folder(ctx.db)
    if second is None:
        window._backup()
        return
    window.statusBar().showMessage("正在备份……")
    auto: AutoBackup = window.auto_backup
    ctx.runner.run(lambda db, p: backup.automatic_backup(db, auto.folder, reason="reminder", check=p.check),
                   on_success=auto._daily_done, on_failure=auto._daily_failed)


# -- 从备份恢复 --------------------------------------------------------------------------------------------
def open_restore(window: Any) -> Any:
    from app.ui.backup.restore_dialog import RestoreDialog

    dialog = RestoreDialog(window)
    window.restore_dialog = dialog
    dialog.open()
    return dialog


def update_restore_action(window: Any) -> None:
    action: QAction = window.restore_action
    db = window.ctx.db
    if db.closed:
        return
    allowed = db.principal.can_restore
    action.setEnabled(allowed and not db.read_only)
    if not allowed:
        action.setToolTip(RESTORE_DENIED)
    elif db.read_only:
        action.setToolTip("数据库是以只读方式打开的，不能恢复。")
    else:
        action.setToolTip("用一个备份替换当前数据库（先检查备份，当前数据库会先另存）")


def install(window: Any) -> None:
    window.menu_tools.addSeparator()
    action = QAction("从备份恢复(&R)…", window)
    action.setObjectName("actionRestore")
    action.triggered.connect(lambda: open_restore(window))
    window.menu_tools.addAction(action)
    window.menu_tools.setToolTipsVisible(True)  # the greyed entry says why
    window.restore_action = action
    update_restore_action(window)
    window.menu_tools.aboutToShow.connect(lambda: update_restore_action(window))
    window.ctx.events.changed.connect(lambda changes: update_restore_action(window) if changes.everything else None)
    window.auto_backup = AutoBackup(window)
    if window.auto_backup.enabled:
        QTimer.singleShot(REMINDER_DELAY_MS, lambda: None if window.ctx.db.closed else show_reminder(window))

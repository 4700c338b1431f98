"""The logged-in session of the main window: lock (idle, Ctrl+L), switch user, own password, 账号管理.

A window built without a login (tests on files without accounts) has no account to unlock with,
so it never locks and shows no account menus.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from app.models.core import accounts
from app.models.core.access import Principal
from app.models.core.audit_events import Action, record_event
from app.models.core.changes import Changes
from app.ui.accounts.login_dialog import LoginDialog, describe
from app.ui.common import events as ev
from app.ui.shell import Shell
from app.widgets.qt_checked import qapp

CHECK_INTERVAL_MS = 5000
ACTIVITY_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                             QEvent.Type.Wheel, QEvent.Type.TouchBegin})


def apply_principal(ctx, principal: Principal) -> None:  # noqa: ANN001 - AppContext
    """Make the UI connection and the worker's act for `principal` (scope, and the name on changes).

    On a change every view reloads: what a tab loaded (or preloaded while hidden) for the previous
    principal may hold records the new one must not see. Worker results computed for the previous
    principal are dropped by the runner.
    """
    changed = principal != ctx.db.principal
    accounts.use_principal(ctx.db, principal)
    ctx.runner.principal = principal
    ctx.runner.user = principal.name
    if changed:
        ctx.events.broadcast(Changes.all())  # another scope: every list shows other rows


class Session(QObject):
    """Watches for idle time, locks the window, and unlocks or switches user through the lock screen."""

    def __init__(self, window: Shell, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.clock = clock
        self.last_activity = clock()
        self.lock_screen: LoginDialog | None = None
        self._idle_seconds = self._read_idle_seconds()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check_idle)
        self.timer.start()
        self.ctx.events.changed.connect(self._on_changed)

    @property
    def principal(self) -> Principal:
        return self.ctx.db.principal

    @property
    def active(self) -> bool:
        return self.principal.has_account and not self.ctx.db.closed

    @property
    def locked(self) -> bool:
        return self.lock_screen is not None

    def _read_idle_seconds(self) -> float:
        return accounts.idle_lock_minutes(self.ctx.db) * 60.0

    def _on_changed(self, changes: Changes) -> None:
        if changes.touches(ev.SETTINGS) and not self.ctx.db.closed:
            self._idle_seconds = self._read_idle_seconds()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if self.ctx.db.closed:  # the window was shut down: stop watching the whole application
            qapp().removeEventFilter(self)
            self.timer.stop()
            return False
        if event.type() in ACTIVITY_EVENTS:
            self.last_activity = self.clock()
        return False

    def check_idle(self) -> None:
        if self.active and not self.locked and self.clock() - self.last_activity >= self._idle_seconds:
            self.lock("idle")

    # -- locking ------------------------------------------------------------------------------
    def lock(self, reason: str = "manual") -> LoginDialog | None:
        """Hide the records behind the lock screen; only a password (or another account) opens it."""
        if not self.active or self.locked:
            return self.lock_screen
        # direct write: an audit entry of the session (lock, switch of user), not an edit
        record_event(self.ctx.db, Action.LOCK, {"reason": reason})
        self.window.tabs.hide()
        self.window.menuBar().setEnabled(False)
        self.window.status_user.setText(f"已锁定：{describe(self.principal)}")
        dialog = LoginDialog(self.ctx.db, self.window, locked_by=self.principal)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        # Cover the window (and the dialogs centred on it) while locked.
        dialog.setGeometry(self.window.geometry())
        dialog.finished.connect(self._lock_finished)
        self.lock_screen = dialog
        dialog.open()
        return dialog

    def _lock_finished(self, result: int) -> None:
        dialog, self.lock_screen = self.lock_screen, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result != QDialog.DialogCode.Accepted or dialog.principal is None:
            self.window.close()  # 退出程序 on the lock screen
            return
        before = self.principal
        principal = dialog.principal
        if principal.account_id != before.account_id:
            self._close_other_windows(dialog)
            # direct write: an audit entry of the session (lock, switch of user), not an edit
            record_event(self.ctx.db, Action.LOGOUT, {"reason": "switch user", "to": principal.name}, user=before.name)
        # direct write: an audit entry of the session (lock, switch of user), not an edit
        record_event(self.ctx.db, Action.UNLOCK, {"account": principal.name}, user=principal.name)
        self.switch_to(principal)
        self.last_activity = self.clock()
        self.window.tabs.show()
        self.window.menuBar().setEnabled(True)

    def _close_other_windows(self, keep: QWidget) -> None:
        # Half-entered forms of the previous user must not be saved under the next one's name.
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget is not keep and widget.isVisible():
                widget.reject()

    def switch_to(self, principal: Principal) -> None:
        apply_principal(self.ctx, principal)  # announces the change: every view reloads
        update_chrome(self.window)


def update_chrome(window: Shell) -> None:
    """Status bar and menus for whoever is logged in now."""
    principal = window.ctx.db.principal
    window.status_user.setText(f"当前用户：{describe(principal)}")
    window.status_user.setToolTip("、".join(_building_names(window)) if principal.building_scope() else "")
    has_account = principal.has_account
    for name in ("lock_action", "switch_action", "password_action"):
        getattr(window, name).setVisible(has_account)
    window.accounts_action.setVisible(has_account and principal.can_manage_accounts)
    settings_action = window.findChild(QAction, "actionSettings")
    if settings_action is not None:
        settings_action.setEnabled(principal.can_change_settings and not window.ctx.db.read_only)


def _building_names(window: Shell) -> list[str]:
    principal = window.ctx.db.principal
    try:
        return list(accounts.get_account(window.ctx.db, principal.account_id or "").building_names)
    except Exception:  # noqa: BLE001 - a tooltip only
        return []


def open_accounts(window: Shell) -> None:
    from app.ui.accounts.accounts_dialog import AccountsDialog

    dialog = AccountsDialog(window.ctx, window)
    window.accounts_dialog = dialog
    dialog.exec()
    window.accounts_dialog = None
    _refresh_own_account(window)


def _refresh_own_account(window: Shell) -> None:
    """After account changes: the logged-in account's role or buildings may have changed."""
    principal = window.ctx.db.principal
    if not principal.account_id:
        return
    try:
        account = accounts.get_account(window.ctx.db, principal.account_id)
    except Exception:  # noqa: BLE001 - deleted meanwhile: lock, so someone else logs in
        account = None
    if account is None or not account.enabled:
        window.session.lock("account changed")
        return
    window.session.switch_to(accounts.principal_of(account))


def change_own_password(window: Shell) -> None:
    from app.ui.accounts.accounts_dialog import PasswordDialog

    principal = window.ctx.db.principal
    account = accounts.get_account(window.ctx.db, principal.account_id or "")
    dialog = PasswordDialog(window.ctx, account, window, own=True)
    window.password_dialog = dialog
    if dialog.exec() == QDialog.DialogCode.Accepted:
        window.statusBar().showMessage("密码已修改。", 8000)


def install(window: Shell) -> None:
    window.menu_file.addSeparator()
    lock = QAction("锁定(&L)", window)
    lock.setObjectName("actionLock")
    lock.setShortcut(QKeySequence("Ctrl+L"))
    lock.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    lock.triggered.connect(lambda: window.session.lock("manual"))
    switch = QAction("切换用户(&W)…", window)
    switch.setObjectName("actionSwitchUser")
    switch.triggered.connect(lambda: window.session.lock("switch user"))
    password = QAction("修改我的密码…", window)
    password.setObjectName("actionChangePassword")
    password.triggered.connect(lambda: change_own_password(window))
    for action in (lock, switch, password):
        window.menu_file.addAction(action)
    manage = QAction("账号管理(&A)…", window)
    manage.setObjectName("actionAccounts")
    manage.triggered.connect(lambda: open_accounts(window))
    window.menu_tools.addSeparator()
    window.menu_tools.addAction(manage)
    window.lock_action, window.switch_action, window.password_action = lock, switch, password
    window.accounts_action = manage
    window.session = Session(window)
    update_chrome(window)

"""A database that may not be changed (read-only file, folder or disk; a damaged file): a banner, no edit actions.

The window checks the file in the background after it opens (``PRAGMA quick_check`` reads the
whole file, about a second at 100,000 residents, so it never delays the first view); a damaged
file then gets the same treatment as a read-only one. Writes that still happen are refused by
the data layer with a message saying why and what to do.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import open_database, verify_whole_file
from app.models.core.errors import DamagedDatabaseError, KnownError
from app.ui.shell import Shell
from app.widgets.qt_checked import qapp

# Window actions and tab widgets that change data. Widgets are named by objectName where they
# have one, else by the tab's attribute holding them; shortcuts by their key.
WINDOW_ACTIONS = ("excel_import_action", "sync_action", "conflicts_action")
ACTION_NAMES = ("actionSettings", "actionImportExcel", "actionSyncUsb", "actionSyncConflicts")
TAB_ATTRIBUTES = {
    "registryTab": ("new_button", "delete_button"),
    "placesTab": ("add_button", "rename_button", "move_button", "retire_button", "delete_button",
                  "sign_button", "role_button", "visit_button", "risk_button"),
}
OBJECT_NAMES = (
    "labourAddJob", "labourAddIntention", "jobNew", "jobEdit", "jobEnd", "jobDelete", "courseNew",
    "courseEdit", "courseDelete", "attendanceCertificate", "attendanceRemove", "intentionNew",
    "intentionClose", "intentionReopen", "intentionDelete",
    "mediationNew", "mediationEdit", "mediationStatus", "mediationLevel", "mediationFollowup",
    "mediationNote", "mediationDelete", "mediationSettings",
    "placeRenameButton", "placeMoveButton", "placeRetireButton", "placeDeleteButton", "placeSignButton",
    "placeRoleButton", "visitEntryButton", "riskColourButton",
)
EDIT_KEYS = ("F2", "Ctrl+N", "Del")
# In dialogs opened from a locked window (to look at a record): the buttons and keys that save.
DIALOG_BUTTONS = (
    "householdSaveButton", "householdMoveButton", "householdRestoreButton", "personSaveButton",
    "visitSave", "visitToMediation", "visitDelete",
)
DIALOG_SAVE_KEYS = ("Ctrl+S", "Ctrl+Return", "Ctrl+Enter")

SAVE_BUTTONS = (QDialogButtonBox.StandardButton.Save, QDialogButtonBox.StandardButton.Ok,
                QDialogButtonBox.StandardButton.Apply, QDialogButtonBox.StandardButton.Yes)

READ_ONLY_STYLE = "background: #fff3cd; color: #5c4400; border-bottom: 1px solid #e0c060; padding: 6px 10px;"
DAMAGED_STYLE = "background: #f8d7da; color: #6b1a20; border-bottom: 1px solid #d08088; padding: 6px 10px;"


class _KeepDisabled(QObject):
    """Selection changes re-enable buttons; in a read-only window they stay disabled."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.EnabledChange and isinstance(watched, QWidget) and watched.isEnabled():
            watched.setEnabled(False)
        return False


class _LockDialogs(QObject):
    """Dialogs still open for reading (a household, a person); their save buttons and keys are off."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # Only the program's own dialogs: a message box's OK must stay usable.
        if event.type() == QEvent.Type.Show and isinstance(watched, QDialog) and type(watched).__module__.startswith("app."):
            lock_dialog(watched)
        return False


def lock_dialog(dialog: QDialog) -> None:
    buttons = [b for name in DIALOG_BUTTONS for b in dialog.findChildren(QAbstractButton, name)]
    for box in dialog.findChildren(QDialogButtonBox):
        buttons.extend(b for b in box.buttons() if box.standardButton(b) in SAVE_BUTTONS)
    for button in buttons:
        button.setEnabled(False)
        button.setToolTip("数据库不能修改（见主窗口上方的提示）")
        button.installEventFilter(_KeepDisabled(button))
    for shortcut in dialog.findChildren(QShortcut):
        if shortcut.key().toString() in DIALOG_SAVE_KEYS:
            shortcut.setEnabled(False)


class _HealthBridge(QObject):
    damaged = Signal(str)


def install(window: Shell) -> None:
    db = window.ctx.db
    window.read_only_banner = None
    if db.read_only:
        lock(window, f"只读：{db.read_only_reason}。可以查看、打印、导出和备份，不能修改。"
                     "要修改，请把数据库文件复制到可写的文件夹后打开复制的文件，或请管理员给写权限。", READ_ONLY_STYLE)
    _check_in_background(window)


def lock(window: Shell, text: str, style: str) -> None:
    """Show `text` in the banner and disable every action that would change data."""
    banner = window.read_only_banner
    if banner is None:
        banner = QLabel(window)
        banner.setObjectName("readOnlyBanner")
        banner.setAccessibleName("只读提示")
        banner.setWordWrap(True)
        banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tabs = window.centralWidget()
        window.takeCentralWidget()
        holder = QWidget(window)
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(banner)
        if tabs is not None:
            layout.addWidget(tabs)
        window.setCentralWidget(holder)
        window.read_only_banner = banner
    banner.setText(text)
    banner.setStyleSheet(style)
    for widget in edit_widgets(window):
        widget.setEnabled(False)
        widget.setToolTip("数据库不能修改（见窗口上方的提示）")
        keeper = _KeepDisabled(widget)
        widget.installEventFilter(keeper)
    for action in edit_actions(window):
        action.setEnabled(False)
        action.changed.connect(lambda a=action: a.isEnabled() and a.setEnabled(False))
    for shortcut in window.findChildren(QShortcut):
        if shortcut.key().toString() in EDIT_KEYS:
            shortcut.setEnabled(False)
    if getattr(window, "dialog_lock", None) is None:
        window.dialog_lock = _LockDialogs(window)
        qapp().installEventFilter(window.dialog_lock)


def edit_widgets(window: Shell) -> list[QWidget]:
    found: list[QWidget] = []
    for name in OBJECT_NAMES:
        found.extend(w for w in window.findChildren(QAbstractButton, name) if w not in found)
    for tab_name, attributes in TAB_ATTRIBUTES.items():
        tab = window.findChild(QWidget, tab_name)
        for attribute in attributes:
            widget = getattr(tab, attribute, None)
            if isinstance(widget, QWidget) and widget not in found:
                found.append(widget)
    return found


def edit_actions(window: Shell) -> list[QAction]:
    found = [a for a in (getattr(window, n, None) for n in WINDOW_ACTIONS) if isinstance(a, QAction)]
    for action in window.findChildren(QAction):
        if action in found:
            continue
        if action.objectName() in ACTION_NAMES or action.shortcut().toString() in EDIT_KEYS:
            found.append(action)
        elif action.objectName() == "" and action.text().startswith("新建"):
            found.append(action)  # the places tab's 新建 menu
    return found


def _check_in_background(window: Shell) -> None:
    """Read the whole file once, off the UI thread; a damaged file locks the window."""
    path = window.ctx.db.path
    bridge = _HealthBridge(window)
    window.health_bridge = bridge
    bridge.damaged.connect(lambda message: _on_damaged(window, message))

    guard = threading.Lock()
    running: dict[str, Any] = {"db": None, "stopped": False}

    def work() -> None:
        try:
            db = open_database(path, create=False, read_only=True)
        except KnownError:
            return  # the window's own connection works; nothing to add
        with guard:
            if running["stopped"]:
                db.close()
                return
            running["db"] = db
        try:
            verify_whole_file(db)
        except DamagedDatabaseError as exc:
            try:
                bridge.damaged.emit(str(exc))
            except RuntimeError:
                pass  # the window closed meanwhile
        except Exception:  # noqa: BLE001 - a check that cannot run (or was stopped) is no reason to stop the window
            pass
        finally:
            with guard:
                running["db"] = None
            db.close()

    def stop() -> None:
        """Interrupt the check and wait for it: a thread still decrypting pages while the process
        exits crashes it (OpenSSL is torn down under it), and reading a 250 MB file takes seconds."""
        with guard:
            running["stopped"] = True
            if running["db"] is not None:
                running["db"].conn.interrupt()  # thread-safe in SQLite: the check stops at its next page
        thread.join(timeout=10)

    thread = threading.Thread(target=work, name="anju-health-check", daemon=True)
    window.health_thread = thread
    window.health_stop = stop
    thread.start()


def _on_damaged(window: Shell, message: str) -> None:
    lock(window, f"{message}\n现在只能查看、导出和备份。", DAMAGED_STYLE)

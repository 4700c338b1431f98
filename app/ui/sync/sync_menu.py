"""Adds Tools → 同步（U盘）… and 冲突审核… to the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from app.ui.shell import Shell
from app.ui.sync.conflicts_dialog import ConflictsDialog
from app.ui.sync.sync_dialog import SyncDialog


def open_sync(window: Shell) -> SyncDialog:
    dialog = SyncDialog(window.ctx, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    window.sync_dialog = dialog
    return dialog


def open_conflicts(window: Shell) -> ConflictsDialog:
    dialog = ConflictsDialog(window.ctx, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    window.conflicts_dialog = dialog
    return dialog


def install(window: Shell) -> None:
    window.menu_tools.addSeparator()
    sync_action = QAction("同步（U盘）(&U)…", window)
    sync_action.setObjectName("actionSyncUsb")
    sync_action.triggered.connect(lambda: open_sync(window))
    conflicts_action = QAction("冲突审核(&R)…", window)
    conflicts_action.setObjectName("actionSyncConflicts")
    conflicts_action.triggered.connect(lambda: open_conflicts(window))
    window.menu_tools.addAction(sync_action)
    window.menu_tools.addAction(conflicts_action)
    window.sync_action = sync_action
    window.conflicts_action = conflicts_action

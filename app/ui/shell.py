"""What feature modules may use of the main window, declared once so it is type-checked.

The main window builds the tabs, menus and status bar; each feature's ``install(window)`` adds
its menu entries and keeps the dialogs and actions it opens on the window (tests and the
read-only lock find them there). Every such attribute is declared here with its type.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QMenu, QTabWidget

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.ui.accounts.session import Session
    from app.ui.common.context import AppContext
    from app.ui.common.help_window import HelpWindow
    from app.ui.setup.setup_wizard import SetupWizard
    from app.ui.sync.conflicts_dialog import ConflictsDialog
    from app.ui.sync.sync_dialog import SyncDialog


class Shell(QMainWindow):
    # Built by the main window itself.
    ctx: AppContext
    tabs: QTabWidget
    menu_file: QMenu
    menu_tools: QMenu
    menu_print: QMenu
    menu_help: QMenu
    menu_view: QMenu | None
    status_user: QLabel

    # Kept by feature modules (see app/ui/common/extensions.py).
    read_only_banner: QLabel | None
    dialog_lock: QObject
    health_bridge: QObject
    health_thread: threading.Thread
    health_stop: Callable[[], None]
    text_size_actions: dict[str, QAction]
    help_window: HelpWindow
    manual_action: QAction
    shortcuts_action: QAction
    sync_dialog: SyncDialog
    conflicts_dialog: ConflictsDialog
    sync_action: QAction
    conflicts_action: QAction
    setup_wizard: SetupWizard
    community_setup_action: QAction
    excel_export_action: QAction
    excel_import_action: QAction
    session: Session
    accounts_dialog: QDialog | None
    password_dialog: QDialog
    lock_action: QAction
    switch_action: QAction
    password_action: QAction
    accounts_action: QAction

"""Feature modules that add menu entries or toolbar actions to the main window.

Each named module has ``install(window: MainWindow) -> None``; the window calls it once after
its menus exist (``window.menu_file``, ``window.menu_tools``, ``window.menu_print``, ``window.menu_help``).
"""

EXTENSIONS: list[str] = [
    "app.ui.printing.print_menu",
    "app.ui.excel.excel_menu",
    "app.ui.sync.sync_menu",
    "app.ui.accounts.audit_viewer",
    "app.ui.common.read_only",
    "app.ui.setup.setup_wizard",
    "app.ui.common.text_size",
    "app.ui.common.help_window",
    "app.ui.accounts.session",
    "app.ui.backup.backup_menu",
]

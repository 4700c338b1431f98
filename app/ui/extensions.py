"""Feature modules that add menu entries or toolbar actions to the main window.

Each named module has ``install(window: MainWindow) -> None``; the window calls it once after
its menus exist (``window.menu_file``, ``window.menu_tools``, ``window.menu_print``, ``window.menu_help``).
"""

EXTENSIONS: list[str] = [
    "app.ui.print_menu",
    "app.ui.excel_menu",
    "app.ui.sync_menu",
    "app.ui.audit_viewer",
    "app.ui.read_only",
    "app.ui.setup_wizard",
    "app.ui.text_size",
    "app.ui.help_window",
    "app.ui.session",
    "app.ui.backup_menu",
]

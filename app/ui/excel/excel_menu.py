"""Adds File → 导出 Excel… and 导入 Excel… to the main window."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from app.models.core.list_query import ExportView
from app.ui.excel.export_dialog import ExportDialog
from app.ui.excel.import_dialog import ImportDialog
from app.ui.shell import Shell


def current_export(window: Shell) -> ExportView | None:
    """The visible tab's filter for "export what I see", when that tab offers one."""
    tab = window.tabs.currentWidget()
    fn = getattr(tab, "export_query", None)
    if fn is None:
        return None
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a tab without a filter yet exports everything
        return None


def open_export(window: Shell) -> ExportDialog:
    dialog = ExportDialog(window.ctx, window, current=current_export(window))
    dialog.open()
    return dialog


def open_import(window: Shell) -> ImportDialog:
    dialog = ImportDialog(window.ctx, parent=window)
    dialog.open()
    dialog.choose_file()
    return dialog


def install(window: Shell) -> None:
    window.menu_file.addSeparator()
    export_action = QAction("导出 Excel(&E)…", window)
    export_action.setObjectName("actionExportExcel")
    export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
    export_action.triggered.connect(lambda: open_export(window))
    import_action = QAction("导入 Excel(&I)…", window)
    import_action.setObjectName("actionImportExcel")
    import_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
    import_action.triggered.connect(lambda: open_import(window))
    window.menu_file.addAction(export_action)
    window.menu_file.addAction(import_action)
    window.excel_export_action = export_action
    window.excel_import_action = import_action

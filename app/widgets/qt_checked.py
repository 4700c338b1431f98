"""Qt look-ups that cannot come back empty where the program relies on them.

Qt's type stubs return ``X | None`` for a table cell, the application object or a scroll area's
widget; at these call sites an empty answer would be a bug, so they are made (a cell) or
refused loudly (no application) here, once, instead of at every call.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item of a cell; an empty cell gets an empty item, so edits and reads always land."""
    item = table.item(row, column)
    if item is None:
        item = QTableWidgetItem("")
        table.setItem(row, column, item)
    return item


def qapp() -> QApplication:
    """The running application (every window and dialog exists inside one)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("no QApplication is running")
    return app

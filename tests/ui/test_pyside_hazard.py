"""PySide6 6.12.0 on Python 3.11 aborts the interpreter after a few thousand void Qt calls.

If the dependency pins ever let that release in on 3.11, this test kills the test run itself
("Fatal Python error: none_dealloc"), which is the point.
"""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QAbstractTableModel, QModelIndex
from PySide6.QtWidgets import QLabel

CALLS = 20_000


def test_installed_pyside_is_safe_for_this_python():
    version = tuple(int(x) for x in PySide6.__version__.split(".")[:2])
    if sys.version_info < (3, 12):
        assert version < (6, 12), f"PySide6 {PySide6.__version__} crashes on Python 3.11"


class _Model(QAbstractTableModel):
    def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802
        return 0

    def columnCount(self, parent=QModelIndex()):  # noqa: B008, N802
        return 0

    def data(self, index, role=0):
        return None


def test_twenty_thousand_void_qt_calls(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    model = _Model()
    for i in range(CALLS):
        label.setText(str(i))
        label.resize(100 + i % 7, 20)
        model.beginResetModel()
        model.endResetModel()
    assert label.text() == str(CALLS - 1)

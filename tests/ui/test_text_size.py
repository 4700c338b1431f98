"""视图 → 字号: every table follows at once, rows grow with the text, and the choice is kept per PC."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QTableView

from app.ui.common import text_size


@pytest.fixture
def usual_size_after():
    yield
    text_size.apply(text_size.DEFAULT)
    text_size.settings().remove(text_size.SETTING)


def test_extra_large_reaches_every_table_and_is_remembered(qtbot, main_window, usual_size_after):
    main_window.tabs.setCurrentWidget(main_window.tab("registryTab"))
    table = main_window.findChild(QTableView, "registryTable")
    before = table.font().pointSizeF()
    row_before = table.verticalHeader().defaultSectionSize()
    width_before = table.columnWidth(0)
    menu = main_window.findChild(type(main_window.menu_help), "menuTextSize")
    assert [a.text() for a in menu.actions()] == ["小", "中", "大", "特大"]

    main_window.text_size_actions["特大"].trigger()
    qtbot.waitUntil(text_size.fitted, timeout=5000)
    after = table.font().pointSizeF()
    assert after >= before + 4
    assert QApplication.font().pointSizeF() == after
    # rows and columns grow with the text, so nothing is cut off
    assert table.verticalHeader().defaultSectionSize() >= QFontMetrics(table.font()).height() + 4
    assert table.verticalHeader().defaultSectionSize() > row_before
    assert table.columnWidth(0) > width_before
    assert text_size.saved() == "特大"
    assert text_size.settings().value(text_size.SETTING) == "特大"

    # a list window opened afterwards has the large text too
    tab = main_window.tab("employmentTab")
    main_window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.figures is not None and not tab._figures_running, timeout=20000)
    dialog = tab.open_figure("labour_force")
    qtbot.waitUntil(lambda: dialog.ready, timeout=20000)
    qtbot.waitUntil(lambda: dialog.table.verticalHeader().defaultSectionSize()
                    >= QFontMetrics(dialog.table.font()).height() + 4, timeout=5000)
    assert dialog.table.font().pointSizeF() == after
    dialog.close()

    main_window.text_size_actions["中"].trigger()
    qtbot.waitUntil(text_size.fitted, timeout=5000)
    assert table.font().pointSizeF() == before
    assert table.columnWidth(0) == width_before
    assert text_size.saved() == "中"


def test_the_saved_size_applies_at_start(qtbot, usual_size_after, qapp):
    usual = text_size.point_size(text_size.DEFAULT)
    text_size.settings().setValue(text_size.SETTING, "大")
    text_size.apply_saved()
    qtbot.waitUntil(text_size.fitted, timeout=5000)
    assert QApplication.font().pointSizeF() == usual + text_size.SIZES["大"]

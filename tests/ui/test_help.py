"""F1 opens the manual inside the program; 帮助 → 快捷键 lists the shortcuts read from the window."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.ui.common import help_window


def test_f1_opens_the_manual_with_its_pictures(qtbot, main_window):
    main_window.activateWindow()
    main_window.tab("registryTab").search_box.setFocus()
    qtbot.keyClick(main_window.tab("registryTab").search_box, Qt.Key.Key_F1)
    window = main_window.findChild(QWidget, "helpWindow")
    assert window is not None and window.isVisible()
    browser = window.findChild(QTextBrowser, "helpBrowser")
    text = browser.toPlainText()
    for task in ("查找一户", "新增一户", "录入走访", "登记就业", "矛盾纠纷", "导入、导出 Excel", "打印表格",
                 "U 盘同步", "备份", "楼栋长", "待走访清单"):
        assert task in text, task
    manual = (help_window.help_dir() / help_window.MANUAL).read_text(encoding="utf-8")
    pictures = re.findall(r'<img src="([^"]+)"', manual)
    assert len(pictures) >= 8
    for src in pictures:
        assert (help_window.help_dir() / src).is_file(), src
    # F1 again brings the same window forward instead of opening a second one
    main_window.manual_action.trigger()
    assert main_window.findChildren(QWidget, "helpWindow") == [window]
    window.close()


def test_shortcut_list_comes_from_the_window(qtbot, main_window):
    keys = {row[0]: row for row in help_window.shortcut_rows(main_window)}
    for key in ("F1", "F2", "Ctrl+F", "Ctrl+N", "Ctrl+1", "Ctrl+5", "Ctrl+Shift+E"):
        assert key in keys, key
    assert "户籍台账" in keys["Ctrl+1"][1]
    main_window.shortcuts_action.trigger()
    window = main_window.findChild(QWidget, "helpWindow")
    text = window.findChild(QTextBrowser, "helpBrowser").toPlainText()
    assert "快捷键" in text and "F2" in text and "Ctrl+F" in text and "录入走访" in text
    window.close()

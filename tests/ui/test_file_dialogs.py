"""Qt's own file dialog speaks Chinese, including the labels Qt's zh_CN catalogue lacks."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel

from app.ui.common import qt_chinese
from app.widgets import file_dialogs


def test_file_dialog_labels_are_chinese(qtbot, tmp_path):
    app = QApplication.instance()
    holder = QLabel()  # parent of the translators, removed with it
    qt_chinese.install(app, holder)
    try:
        dlg = QFileDialog(None, "保存为 PDF", str(tmp_path), "PDF 文件 (*.pdf)")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        qtbot.addWidget(dlg)
        dlg.show()
        texts = [w.text() for w in dlg.findChildren(QLabel)]
        assert "查找范围(&L)：" in texts and "文件类型(&T)：" in texts
        assert not any("Look in" in t or "Files of" in t for t in texts)
        assert QCoreApplication.translate("QAbstractFileIconProvider", "Folder") == "文件夹"
    finally:
        holder.deleteLater()


def test_default_names_carry_the_record():
    import datetime as dt

    name = file_dialogs.file_name("调解协议书", "2026-0060", suffix=".pdf", day=dt.date(2026, 12, 4))
    assert name == "调解协议书_2026-0060_20261204.pdf"
    assert file_dialogs.file_name("一户一档", "HLX-000123 王五", suffix=".pdf") == "一户一档_HLX-000123-王五.pdf"
    assert "/" not in file_dialogs.file_name("表", "a/b:c", suffix=".pdf")

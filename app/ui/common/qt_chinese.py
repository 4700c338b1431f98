"""Qt's own strings in Chinese, including the few that Qt's zh_CN catalogue leaves in English."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QObject, QTranslator
from PySide6.QtWidgets import QApplication

# (context, source) → text: strings missing from qtbase_zh_CN that a clerk sees in file dialogs.
MISSING: dict[tuple[str, str], str] = {
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    ("QAbstractFileIconProvider", "Folder"): "文件夹",
    ("QAbstractFileIconProvider", "Drive"): "驱动器",
    ("QAbstractFileIconProvider", "File"): "文件",
    ("QAbstractFileIconProvider", "Shortcut"): "快捷方式",
}


class MissingChinese(QTranslator):
    """Answers only for the strings in MISSING; everything else falls through to Qt's catalogue."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        return MISSING.get((context, source), "")


def install(app: QApplication, parent: QObject | None = None) -> None:
    """Qt's catalogue first, then the gaps (Qt asks the translator installed last first)."""
    fallback = MissingChinese(parent or app)
    app.installTranslator(fallback)
    catalogue = QTranslator(parent or app)
    if catalogue.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(catalogue)

"""帮助 → 使用说明 (F1): the manual in resources/help/, and 帮助 → 快捷键, read from the window's own actions."""

from __future__ import annotations

import html
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMenu,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.paths import resource_dir
from app.ui.shell import Shell
from app.widgets.screen_fit import fit_size

MANUAL = "manual.html"

# Shortcuts a tab makes with QShortcut carry no text of their own: what they do, by tab and key.
SHORTCUT_TEXT: dict[tuple[str, str], str] = {
    ("registryTab", "Ctrl+F"): "搜索住户（光标到搜索框）",
    ("registryTab", "Ctrl+N"): "新增住户",
    ("registryTab", "F2"): "录入走访（选中的户预先填好）",
    ("registryTab", "Del"): "删除选中的住户（先确认）",
    ("mediationTab", "Ctrl+F"): "搜索案件",
    ("mediationTab", "Return"): "办理/变更选中案件的状态",
    ("placesTab", "F2"): "录入走访（选中的楼栋预先填好）",
    ("placesTab", "Ctrl+B"): "图标墙：按图标找楼栋",
    ("placesTab", "Del"): "删除选中的社区、网格或楼栋（先确认）",
}
# Keys that work inside dialogs, which do not exist until they are opened.
DIALOG_SHORTCUTS: list[tuple[str, str, str]] = [
    ("Ctrl+S", "保存", "住户、成员等填写窗口"),
    ("Esc", "关闭窗口（不保存）", "所有对话框"),
    ("Enter", "房号回车查找住户，再回车保存这次走访", "录入走访（F2）"),
    ("Enter", "搜索框里：查找（不会保存）", "选人、当事人查找"),
    ("↑ ↓ Enter", "在搜索结果里上下选择、打开", "户籍台账搜索框"),
]


def help_dir() -> Path:
    return resource_dir() / "help"


def _clean(text: str) -> str:
    """Menu text as read aloud: no mnemonic, no trailing dots, no key in brackets."""
    text = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    for cut in ("(", "（"):
        head, _sep, tail = text.rpartition(cut)
        if head and len(tail) <= 3 and tail.rstrip("）)…. ").isascii():
            text = head
    return text.replace("…", "").strip()


def _tab_title(window: Shell, widget: QWidget | None) -> tuple[str, str]:
    """(objectName, Chinese title) of the tab a widget belongs to, or ("", "主窗口")."""
    tabs: QTabWidget | None = getattr(window, "tabs", None)
    while widget is not None and tabs is not None:
        index = tabs.indexOf(widget)
        if index >= 0:
            return widget.objectName(), tabs.tabText(index)
        widget = widget.parentWidget()
    return "", "主窗口"


def _menu_path(action: QAction) -> str:
    for obj in action.associatedObjects():
        if isinstance(obj, QMenu):
            names = [_clean(obj.title())]
            parent = obj.parent()
            while isinstance(parent, QMenu):
                names.insert(0, _clean(parent.title()))
                parent = parent.parent()
            return " → ".join(names)
    return ""


def shortcut_rows(window: Shell) -> list[tuple[str, str, str]]:
    """(key, what it does, where) for every shortcut of the main window, its menus and its tabs."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    native = QKeySequence.SequenceFormat.NativeText
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            key = seq.toString(native)
            menu = _menu_path(action)
            owner = action.parent()
            name, title = _tab_title(window, owner if isinstance(owner, QWidget) else None)
            portable = seq.toString(QKeySequence.SequenceFormat.PortableText)
            what = _clean(action.text()) or SHORTCUT_TEXT.get((name, portable), "") or _clean(action.toolTip()) or "（未说明）"
            where = menu or title
            if action.parent() is window and not menu and what in _tab_titles(window):
                what, where = f"切换到“{what}”", "主窗口"
            if key and what and (key, what) not in seen:
                seen.add((key, what))
                rows.append((key, what, where))
    for shortcut in window.findChildren(QShortcut):
        key = shortcut.key().toString(native)
        owner = shortcut.parent()
        name, title = _tab_title(window, owner if isinstance(owner, QWidget) else None)
        portable = shortcut.key().toString(QKeySequence.SequenceFormat.PortableText)
        what = shortcut.whatsThis() or SHORTCUT_TEXT.get((name, portable), "（未说明）")
        if key and what and (key, what) not in seen:
            seen.add((key, what))
            rows.append((key, what, title))
    rows.sort(key=_order)
    return rows


def _tab_titles(window: Shell) -> set[str]:
    tabs = getattr(window, "tabs", None)
    return {tabs.tabText(i) for i in range(tabs.count())} if tabs is not None else set()


def _order(row: tuple[str, str, str]) -> tuple[int, str]:
    key = row[0]
    if key.startswith("F") and key[1:].isdigit():
        return (0, f"{int(key[1:]):02d}")
    if key.startswith("Ctrl+") and key[5:].isdigit():
        return (1, key)
    return (2, key)


def shortcuts_html(window: Shell) -> str:
    def table(rows: list[tuple[str, str, str]]) -> str:
        body = "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(w)}</td><td>{html.escape(p)}</td></tr>"
            for k, w, p in rows
        )
        return (
            "<table border='1' cellspacing='0' cellpadding='4' width='100%'>"
            f"<tr><th>按键</th><th>作用</th><th>在哪里</th></tr>{body}</table>"
        )

    return (
        "<h2>快捷键</h2><p>下面的按键从程序本身读出，总是与当前版本一致。</p>"
        f"{table(shortcut_rows(window))}<h3>对话框里</h3>{table(DIALOG_SHORTCUTS)}"
    )


class HelpWindow(QWidget):
    """The manual (or the shortcut list) in a window of its own that stays open beside the work."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("helpWindow")
        self.setAccessibleName("使用说明")
        self.setWindowTitle("安居台账 — 使用说明")
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("helpBrowser")
        self.browser.setOpenExternalLinks(False)
        self.browser.setSearchPaths([str(help_dir())])
        self.back_button = QPushButton("← 返回", self)
        self.back_button.setObjectName("helpBack")
        self.back_button.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        self.back_button.setEnabled(False)
        self.home_button = QPushButton("目录", self)
        self.home_button.setObjectName("helpHome")
        self.home_button.clicked.connect(self.show_manual)
        close = QPushButton("关闭", self)
        close.clicked.connect(self.close)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addWidget(self.home_button)
        bar.addStretch(1)
        bar.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addLayout(bar)
        fit_size(self, 980, 760)

    def show_manual(self) -> None:
        path = help_dir() / MANUAL
        if path.exists():
            self.browser.setSource(QUrl.fromLocalFile(str(path)))
        else:
            self.browser.setHtml(f"<p>找不到使用说明文件：{html.escape(str(path))}</p>")
        self.setWindowTitle("安居台账 — 使用说明")

    def show_html(self, title: str, text: str) -> None:
        self.browser.setHtml(text)
        self.setWindowTitle(f"安居台账 — {title}")


def _window_of(main: Shell) -> HelpWindow:
    existing = getattr(main, "help_window", None)
    if existing is None or not shiboken6.isValid(existing):
        existing = HelpWindow(main)
        main.help_window = existing
    existing.show()
    existing.raise_()
    existing.activateWindow()
    return existing


def open_manual(main: Shell) -> HelpWindow:
    window = _window_of(main)
    window.show_manual()
    return window


def open_shortcuts(main: Shell) -> HelpWindow:
    window = _window_of(main)
    window.show_html("快捷键", shortcuts_html(main))
    return window


def install(window: Shell) -> None:
    """帮助 → 使用说明 (F1) and 快捷键, above 关于."""
    manual = QAction("使用说明(&M)", window)
    manual.setObjectName("actionManual")
    manual.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    manual.triggered.connect(lambda: open_manual(window))
    keys = QAction("快捷键(&K)", window)
    keys.setObjectName("actionShortcuts")
    keys.triggered.connect(lambda: open_shortcuts(window))
    first = window.menu_help.actions()[0] if window.menu_help.actions() else None
    if first is None:
        window.menu_help.addActions([manual, keys])
    else:
        window.menu_help.insertActions(first, [manual, keys])
    if first is not None:
        window.menu_help.insertSeparator(first)
    window.manual_action = manual
    window.shortcuts_action = keys

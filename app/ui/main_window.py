"""The main window: five tabs over one database, menus, and a status bar."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QTabWidget, QWidget

from app import __version__
from app.models.core import settings
from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.errors import DatabaseError, KnownError
from app.models.registry import persons
from app.ui.common import events as ev
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.data_tab import DataTab
from app.ui.common.extensions import EXTENSIONS
from app.ui.shell import Shell
from app.widgets.qt_checked import qapp
from app.widgets.screen_fit import fit_size

# (module, class, objectName, Chinese title) in tab order.
TABS = [
    ("app.ui.registry.registry_tab", "RegistryTab", "registryTab", "户籍台账"),
    ("app.ui.places.places_tab", "PlacesTab", "placesTab", "楼栋网格"),
    ("app.ui.employment.employment_tab", "EmploymentTab", "employmentTab", "就业培训"),
    ("app.ui.mediation.mediation_tab", "MediationTab", "mediationTab", "矛盾调解"),
    ("app.ui.dashboard.dashboard_tab", "DashboardTab", "dashboardTab", "概览"),
]


class MainWindow(Shell):
    _shutting_down = False

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("mainWindow")
        self.setAccessibleName("安居台账主窗口")
        self._update_title()
        self.resize(1280, 800)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setAccessibleName("功能标签页")
        self.tabs.setDocumentMode(True)
        for module, cls, name, title in TABS:
            tab = getattr(importlib.import_module(module), cls)(ctx)
            tab.setObjectName(name)
            tab.setAccessibleName(title)
            self.tabs.addTab(tab, title)
        self.setCentralWidget(self.tabs)

        self._build_menus()
        self._build_status_bar()
        for module in EXTENSIONS:
            importlib.import_module(module).install(self)
        # Quit stays last in the File menu, below whatever the extensions added.
        self.menu_file.addSeparator()
        quit_action = QAction("退出(&X)", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.menu_file.addAction(quit_action)
        self._restore_state()
        ctx.events.changed.connect(self._on_data_changed)
        self._preload_queue: list[DataTab] = []
        # Office PCs stay on overnight: visits due, time limits and the employment figures all
        # count from today, so every view refreshes when the date changes.
        self._day = dt.date.today()
        self._day_timer = QTimer(self)
        self._day_timer.setSingleShot(True)
        self._day_timer.timeout.connect(self._check_day)
        self._arm_day_timer()
        # When a dialog closes, some window managers leave no window active, and Ctrl+2, Ctrl+Q
        # and Alt+menu do nothing until the clerk clicks: hand activation back to this window.
        qapp().focusChanged.connect(self._focus_changed)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if new is not None or old is None or self._shutting_down:
            return
        window = old.window()
        if isinstance(window, QDialog):
            # Still shown while it hides: look again once the close has finished.
            QTimer.singleShot(0, lambda: self._reclaim_focus(window))

    def _reclaim_focus(self, dialog: QDialog) -> None:
        # Only after a dialog closed: focus that left for another program must stay there.
        if self._shutting_down or not self.isVisible() or QApplication.activeWindow() is not None:
            return
        if shiboken6.isValid(dialog) and dialog.isVisible():
            return
        self.activateWindow()
        self.raise_()

    def _arm_day_timer(self) -> None:
        now = dt.datetime.now()
        midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0, 0, 2))
        # At most an hour: a PC that slept through midnight wakes with its timer late.
        self._day_timer.start(int(min((midnight - now).total_seconds(), 3600) * 1000))

    def _check_day(self) -> None:
        today = dt.date.today()
        if today != self._day and not self._shutting_down:
            self._day = today
            self.ctx.events.broadcast(Changes.all())  # "today" moved: due dates, ages, time limits
        self._arm_day_timer()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._preload_queue and not getattr(self, "_preloaded", False):
            self._preloaded = True
            # Tabs that build a lot of widgets on first show do it now, one per idle moment,
            # so the clerk's first switch to them is as quick as any later one.
            self._preload_queue = [
                tab for tab in self.data_tabs() if type(tab).preload is not DataTab.preload
            ]
            QTimer.singleShot(300, self._preload_next)

    def _preload_next(self) -> None:
        if not self._preload_queue or self._shutting_down or self.ctx.db.closed:
            return
        tab = self._preload_queue.pop(0)
        if tab is not self.tabs.currentWidget():
            tab.preload()
        QTimer.singleShot(150, self._preload_next)

    # -- chrome -----------------------------------------------------------------------------
    def _update_title(self) -> None:
        office = settings.get(self.ctx.db, "office_name")
        title = f"安居台账 — {office}"
        if self.ctx.demo:
            title += "  【演示数据】"
        self.setWindowTitle(title)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = bar.addMenu("文件(&F)")
        self.menu_file.setObjectName("menuFile")
        self.menu_edit = bar.addMenu("编辑(&E)")
        self.menu_edit.setObjectName("menuEdit")
        self.menu_tools = bar.addMenu("工具(&T)")
        self.menu_tools.setObjectName("menuTools")
        self.menu_print = bar.addMenu("打印(&P)")
        self.menu_print.setObjectName("menuPrint")
        self.menu_help = bar.addMenu("帮助(&H)")
        self.menu_help.setObjectName("menuHelp")

        # Undo and redo of this user's own operations, named in the menu ("撤销“修改 张三 的电话”").
        self.undo_action = QAction("撤销(&U)", self)
        self.undo_action.setObjectName("actionUndo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("重做(&R)", self)
        self.redo_action.setObjectName("actionRedo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.redo_action.triggered.connect(self.redo)
        self.menu_edit.addAction(self.undo_action)
        self.menu_edit.addAction(self.redo_action)
        self.menu_edit.aboutToShow.connect(self.update_undo_actions)
        self.update_undo_actions()

        backup = QAction("备份数据库(&B)…", self)
        backup.setObjectName("actionBackup")
        backup.triggered.connect(self._backup)
        self.menu_file.addAction(backup)

        self.menu_file.addSeparator()

        for i in range(self.tabs.count()):
            action = QAction(self.tabs.tabText(i), self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            self.addAction(action)

        office = QAction("单位设置(&S)…", self)
        office.setObjectName("actionSettings")
        office.triggered.connect(self._open_settings)
        self.menu_tools.addAction(office)
        self.menu_tools.addSeparator()

        about = QAction("关于安居台账(&A)", self)
        about.setObjectName("actionAbout")
        about.triggered.connect(self._about)
        self.menu_help.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_db = QLabel(self)
        self.status_db.setObjectName("statusDatabase")
        self.status_count = QLabel(self)
        self.status_count.setObjectName("statusResidents")
        self.status_user = QLabel(self)
        self.status_user.setObjectName("statusUser")
        bar.addWidget(self.status_db, 1)
        bar.addPermanentWidget(self.status_count)
        bar.addPermanentWidget(self.status_user)
        self.status_db.setText(f"数据库：{self.ctx.db.path}")
        self.status_user.setText(f"当前用户：{self.ctx.user}")
        self._refresh_count()

    def _refresh_count(self) -> None:
        # Indexed count over person: a few ms even at 100,000 residents.
        n = persons.registered_count(self.ctx.db)
        self.status_count.setText(f"在册居民：{n:,} 人")

    def update_undo_actions(self) -> None:
        history = self.ctx.undo
        writable = not self.ctx.db.read_only
        undo, redo = history.undo_label, history.redo_label
        self.undo_action.setText(f"撤销“{undo}”(&U)" if undo else "撤销(&U)")
        self.undo_action.setEnabled(writable and undo is not None)
        self.redo_action.setText(f"重做“{redo}”(&R)" if redo else "重做(&R)")
        self.redo_action.setEnabled(writable and redo is not None)

    def undo(self) -> None:
        self._step(self.ctx.undo.undo, "撤销", "无法撤销")

    def redo(self) -> None:
        self._step(self.ctx.undo.redo, "重做", "无法重做")

    def _step(self, run: Callable[[Database], Changes], verb: str, title: str) -> None:
        label = self.ctx.undo.undo_label if verb == "撤销" else self.ctx.undo.redo_label
        if label is None:
            return
        try:
            run(self.ctx.db)  # a new operation: its Changes refresh the views like any other
        except KnownError as exc:
            messages.warn(self, title, str(exc))
        else:
            self.statusBar().showMessage(f"已{verb}：{label}", 8000)
        self.update_undo_actions()

    def _on_data_changed(self, changes: Changes) -> None:
        self.update_undo_actions()
        if changes.touches(ev.PERSONS | ev.HOUSEHOLDS):
            self._refresh_count()
        if changes.touches(ev.SETTINGS):
            self._update_title()

    def _backup(self) -> None:
        from app.models.core.backup import backup_to, default_backup_name
        from app.widgets import file_dialogs

        # Not the database's own folder: a copy on the same disk is lost with it.
        target = file_dialogs.save_path(self, "backup", "备份数据库", default_backup_name(self.ctx.db), "数据库 (*.db)")
        if not target:
            return
        self.statusBar().showMessage("正在备份……")
        self.ctx.runner.run(
            lambda db, _p: backup_to(db, target),
            on_success=lambda path: self.statusBar().showMessage(f"已备份到 {path}", 10000),
        )

    def _open_settings(self) -> None:
        from app.ui.setup.settings_dialog import SettingsDialog

        SettingsDialog(self.ctx, self).exec()

    def _about(self) -> None:
        messages.about(
            self,
            "关于安居台账",
            f"<b>安居台账</b> {__version__}<br>易地扶贫搬迁安置社区一户一档、楼栋网格、就业培训、矛盾调解台账。"
            f"<br><br>数据库：{self.ctx.db.path}<br>本机标识：{self.ctx.db.site_id[:8]}",
        )

    # -- state ------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        # Window size and last tab are per PC, so they live in the file's local meta table.
        geometry = self.ctx.db.meta("ui_geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromHex(geometry.encode()))
        else:
            fit_size(self, 1280, 800)
        last = self.ctx.db.meta("ui_last_tab")
        if last and last.isdigit() and int(last) < self.tabs.count():
            self.tabs.setCurrentIndex(int(last))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.ctx.runner.busy and not self._shutting_down:
            if not messages.confirm(
                self, "后台任务仍在进行", "还有后台任务没有完成，现在退出会取消它。确定退出吗？",
            ):
                event.ignore()
                return
        if not self.ctx.db.closed and not self.ctx.db.read_only:
            # Window state is a convenience: a file found damaged meanwhile is not written for it.
            with contextlib.suppress(DatabaseError):
                self.ctx.db.set_meta("ui_geometry", bytes(self.saveGeometry().toHex().data()).decode())
                self.ctx.db.set_meta("ui_last_tab", str(self.tabs.currentIndex()))
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Close the window, finish background work and close the database (idempotent)."""
        self._shutting_down = True
        if self.isVisible():
            self.close()
        self.ctx.runner.shutdown()
        stop_check = getattr(self, "health_stop", None)
        if stop_check is not None:
            stop_check()
        self.ctx.db.close()

    def data_tabs(self) -> list[DataTab]:
        pages = (self.tabs.widget(i) for i in range(self.tabs.count()))
        return [page for page in pages if isinstance(page, DataTab)]

    def tab(self, object_name: str) -> QWidget:
        """The tab page with this objectName (e.g. ``registryTab``)."""
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page is not None and page.objectName() == object_name:
                return page
        raise KeyError(object_name)

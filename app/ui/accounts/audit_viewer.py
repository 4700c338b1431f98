"""工具 → 操作日志: the event audit, filtered and paged on the worker, exported to Excel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.core import audit_view
from app.models.core.audit_events import ACTION_LABELS, Action, record_event
from app.models.core.audit_view import AuditFilter
from app.models.core.db import Database
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import OpRunner
from app.widgets import file_dialogs

PAGE = 200
HEADERS = ["序号", "时间", "用户", "操作", "内容", "结果"]
NO_DATE = QDate(2000, 1, 1)  # the date edits' "不限"


class AuditModel(QAbstractTableModel):
    """Rows fetched a page at a time on the worker; the view never waits for the database."""

    counted = Signal(int)
    failed = Signal(str)

    def __init__(self, runner: OpRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.filter = AuditFilter()
        self._count = 0
        self._top = 0  # the newest id when the filter was applied: later entries do not shift pages
        self._pages: dict[int, list[dict[str, Any]]] = {}
        self._pending: set[int] = set()
        self._generation = 0

    def set_filter(self, f: AuditFilter) -> None:
        self._generation += 1
        gen = self._generation
        self.filter = f
        self.beginResetModel()
        self._count, self._pages, self._pending = 0, {}, set()
        self.endResetModel()

        def job(db: Database, _progress: Any) -> tuple[int, int, list[dict[str, Any]]]:
            # Anchored at the newest entry: entries written while the clerk pages do not shift the pages.
            top = audit_view.latest_id(db)
            return audit_view.count(db, f, upto=top), top, _page(db, f, top, 0)

        self.runner.run(job, on_success=lambda r: self._counted(gen, r), on_failure=self._failure)

    def _failure(self, exc: BaseException) -> None:
        self.failed.emit(str(exc))

    def _counted(self, gen: int, result: tuple[int, int, list[dict[str, Any]]]) -> None:
        if gen != self._generation:
            return
        count, top, first = result
        self.beginResetModel()
        self._count, self._top, self._pages = count, top, {0: first}
        self.endResetModel()
        self.counted.emit(self._count)

    def _fetch(self, page_no: int) -> None:
        if page_no in self._pending:
            return
        self._pending.add(page_no)
        gen, f, top = self._generation, self.filter, self._top
        self.runner.run(lambda db, _p: _page(db, f, top, page_no * PAGE),
                        on_success=lambda rows: self._got(gen, page_no, rows), on_failure=self._failure)

    def _got(self, gen: int, page_no: int, rows: list[dict[str, Any]]) -> None:
        if gen != self._generation:
            return
        self._pending.discard(page_no)
        self._pages[page_no] = rows
        first = page_no * PAGE
        last = min(self._count, first + PAGE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(HEADERS) - 1))

    def entry(self, row: int) -> dict[str, Any] | None:
        rows = self._pages.get(row // PAGE)
        if rows is None or row % PAGE >= len(rows):
            return None
        return rows[row % PAGE]

    # -- Qt ----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole) or not index.isValid():
            return None
        e = self.entry(index.row())
        if e is None:
            self._fetch(index.row() // PAGE)
            return "…" if index.column() == 0 else ""
        col = index.column()
        if col == 0:
            return str(e["id"])
        if col == 1:
            return e["at"].replace("T", " ")
        if col == 2:
            return e["user"] or ""
        if col == 3:
            return audit_view.action_label(e["action"])
        if col == 4:
            return audit_view.describe(e["detail"])
        return audit_view.outcome_label(e["outcome"])


def _page(db: Database, f: AuditFilter, top: int, offset: int) -> list[dict[str, Any]]:
    return audit_view.page(db, f, offset, PAGE, upto=top)


class AuditViewer(QDialog):
    """The audit for 系统管理员 and 审计员: filter by user, dates, action and record; export to Excel."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("auditViewer")
        self.setAccessibleName("操作日志")
        self.setWindowTitle("操作日志")
        self.resize(1100, 640)
        layout = QVBoxLayout(self)

        row = QHBoxLayout()
        self.user_filter = QComboBox()
        self.user_filter.setObjectName("auditUserFilter")
        self.user_filter.setAccessibleName("用户")
        self.user_filter.addItem("全部用户", None)
        for name in audit_view.users(ctx.db):
            self.user_filter.addItem(name, name)
        self.since = self._date_edit("auditSince", "起始日期")
        self.until = self._date_edit("auditUntil", "截止日期")
        self.action_filter = QComboBox()
        self.action_filter.setObjectName("auditActionFilter")
        self.action_filter.setAccessibleName("操作")
        self.action_filter.addItem("全部操作", None)
        for code, label in ACTION_LABELS.items():
            self.action_filter.addItem(label, str(code))
        self.record_filter = QLineEdit()
        self.record_filter.setObjectName("auditRecordFilter")
        self.record_filter.setAccessibleName("记录")
        self.record_filter.setPlaceholderText("记录：户号、姓名、文件名、表单…")
        self.record_filter.returnPressed.connect(self.apply)
        self.search_button = QPushButton("查询")
        self.search_button.setObjectName("auditSearchButton")
        self.search_button.clicked.connect(self.apply)
        self.export_button = QPushButton("导出 Excel…")
        self.export_button.setObjectName("auditExportButton")
        self.export_button.clicked.connect(self.export)
        for label, w in (("用户", self.user_filter), ("从", self.since), ("到", self.until), ("操作", self.action_filter)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
        row.addWidget(self.record_filter, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)

        self.model = AuditModel(ctx.runner, self)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setAccessibleName("操作日志列表")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        for i, width in enumerate((60, 150, 90, 100, 560, 60)):
            self.table.setColumnWidth(i, width)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.count_label = QLabel("正在读取……")
        self.count_label.setObjectName("auditCount")
        layout.addWidget(self.count_label)
        self.model.counted.connect(lambda n: self.count_label.setText(f"共 {n:,} 条（最新的在前）"))
        self.model.failed.connect(lambda text: self.count_label.setText(text))
        # direct write: an audit entry that the log was opened, not an edit: nothing to undo or refresh
        record_event(ctx.db, Action.AUDIT_VIEW, None)
        self.apply()

    def _date_edit(self, name: str, label: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(label)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText("不限")
        edit.setDate(NO_DATE)
        return edit

    def _day(self, edit: QDateEdit) -> dt.date | None:
        d = edit.date()
        return None if d == NO_DATE else dt.date(d.year(), d.month(), d.day())

    def current_filter(self) -> AuditFilter:
        return AuditFilter(user=self.user_filter.currentData(), since=self._day(self.since),
                           until=self._day(self.until), action=self.action_filter.currentData(),
                           record=self.record_filter.text().strip() or None)

    def apply(self) -> None:
        self.count_label.setText("正在读取……")
        self.model.set_filter(self.current_filter())

    def export(self) -> None:
        path = file_dialogs.save_path(self, "excel-export", "导出操作日志",
                                      file_dialogs.file_name("操作日志", suffix=".xlsx", day=dt.date.today()),
                                      "Excel 文件 (*.xlsx)")
        if not path:
            return
        f = self.current_filter()
        self.export_button.setEnabled(False)

        def done(n: int) -> None:
            self.export_button.setEnabled(True)
            messages.info(self, "已导出", f"已导出 {n:,} 条操作日志到\n{path}")
            self.apply()

        def failed(exc: BaseException) -> None:
            self.export_button.setEnabled(True)
            messages.warn(self, "导出失败", str(exc))

        self.ctx.runner.run(lambda db, _p: audit_view.export(db, f, path), on_success=done, on_failure=failed)


def open_viewer(window: Any) -> None:
    ctx: AppContext = window.ctx
    if not ctx.db.principal.can_read_audit:
        # direct write: an audit entry that the log was opened, not an edit: nothing to undo or refresh
        record_event(ctx.db, Action.AUDIT_VIEW, None, "refused")
        messages.warn(window, "操作日志", "只有系统管理员和审计员可以查看操作日志。")
        return
    viewer = AuditViewer(ctx, window)
    window._audit_viewer = viewer  # kept: a modeless window
    viewer.show()


def install(window: Any) -> None:
    action = QAction("操作日志(&L)…", window)
    action.setObjectName("actionAuditViewer")
    action.triggered.connect(lambda: open_viewer(window))
    window.menu_tools.addAction(action)
    # Shown only to the roles that may read it; checked again on opening (the login may change).
    window.menu_tools.aboutToShow.connect(lambda: action.setVisible(window.ctx.db.principal.can_read_audit))
    action.setVisible(window.ctx.db.principal.can_read_audit)

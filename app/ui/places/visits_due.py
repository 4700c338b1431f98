"""The list of households due or overdue for a visit (visitsDueTable), filtered by building or head."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.excel import list_table
from app.models.places import places, rhythm
from app.models.places.rhythm import DueRow
from app.ui.common import events as ev
from app.ui.common.context import AppContext
from app.ui.common.table_models import RISK_COLOURS
from app.ui.printing.list_output import ListOutput

HEADERS = [c.header for c in list_table.DUE_COLUMNS]
overdue_text = list_table.overdue_text
_cells = list_table.due_cells


class DueTableModel(QAbstractTableModel):
    """The due list computed by rhythm.due_list (already sorted in SQL, most overdue first)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[DueRow] = []

    def set_rows(self, rows: list[DueRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return HEADERS[section]
            return section + 1
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cells(row)[col]
        if role == Qt.ItemDataRole.DecorationRole and col == 6:
            return RISK_COLOURS.get(row.risk_colour)
        if role == Qt.ItemDataRole.ForegroundRole and col == 0:
            if row.days_overdue is None or row.days_overdue > 0:
                return QBrush(QColor("#c92a2a"))
        if role == Qt.ItemDataRole.UserRole:
            return row.household_id
        return None


class VisitsDuePanel(QWidget):
    """Due/overdue list with a building-head filter, a scope (building or all) and plain printing."""

    householdActivated = Signal(str, str)  # household id, building id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("visitsDuePanel")
        self.building_id: str | None = None
        self.building_name: str | None = None
        self.community_id: str | None = None
        self._generation = 0
        self._heads_loaded = False
        self.loading = False

        self.title = QLabel("待走访住户")
        self.title.setObjectName("dueTitle")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)  # at a large text size the bar still fits beside the tree
        self.head_filter = QComboBox()
        self.head_filter.setObjectName("dueHeadFilter")
        self.head_filter.setAccessibleName("按楼栋长筛选")
        self.head_filter.addItem("全部楼栋长", None)
        self.head_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.only_overdue = QCheckBox("只看逾期")
        self.only_overdue.setObjectName("dueOnlyOverdue")
        self.only_overdue.toggled.connect(lambda _b: self.reload())
        self.output = ListOutput(ctx, self, "due", lambda: "待走访住户清单", self._snapshot)
        self.export_button = self.output.export_button
        self.print_button = self.output.print_button

        self.model = DueTableModel(self)
        self.view = QTableView()
        self.view.setObjectName("visitsDueTable")
        self.view.setAccessibleName("待走访住户清单")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, w in enumerate((84, 92, 70, 80, 110, 70, 104, 52, 92, 70)):
            self.view.setColumnWidth(col, w)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.activated.connect(self._activated)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("楼栋长："))
        top.addWidget(self.head_filter)
        top.addWidget(self.only_overdue)
        top.addWidget(self.export_button)
        top.addWidget(self.print_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.view)
        # Saving 30 visits in a row must not queue 30 recomputations: wait until the clerk pauses.
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(600)
        self._reload_timer.timeout.connect(self.reload)
        ctx.events.changed.connect(self._on_changed)

    # -- scope ------------------------------------------------------------------------------
    def set_scope(
        self,
        community_id: str | None,
        building_id: str | None,
        building_name: str | None = None,
        *,
        reload: bool = True,
    ) -> None:
        changed = (community_id, building_id) != (self.community_id, self.building_id)
        self.community_id, self.building_id, self.building_name = community_id, building_id, building_name
        if changed and reload:
            self.reload()

    def head_key(self) -> str | None:
        return self.head_filter.currentData()

    def load_heads(self) -> None:
        current = self.head_key()
        self.head_filter.blockSignals(True)
        self.head_filter.clear()
        self.head_filter.addItem("全部楼栋长", None)
        for h in places.building_heads(self.ctx.db):
            self.head_filter.addItem(f"{h['name']}（{h['buildings']}）", h["key"])
        i = self.head_filter.findData(current)
        self.head_filter.setCurrentIndex(max(i, 0))
        self.head_filter.blockSignals(False)
        self._heads_loaded = True

    def scope_text(self) -> str:
        key = self.head_key()
        if key:
            return f"楼栋长 {self.head_filter.currentText().split('（')[0]} 负责的楼栋"
        if self.building_id:
            return self.building_name or "选中的楼栋"
        return "全部楼栋"

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        """Recompute the list on the background runner; stale results are dropped."""
        self._reload_timer.stop()
        if not self._heads_loaded:
            self.load_heads()
        self._generation += 1
        gen = self._generation
        key = self.head_key()
        kwargs: dict[str, Any] = {"include_due_today": not self.only_overdue.isChecked()}
        if key and key.startswith("p:"):
            kwargs["head_person_id"] = key[2:]
        elif key:
            kwargs["head_staff_name"] = key[2:]
        else:
            kwargs["building_id"] = self.building_id
            kwargs["community_id"] = self.community_id
        today = dt.date.today()
        self.loading = True
        self.title.setText(f"待走访住户 — {self.scope_text()}（计算中…）")

        def job(db, _progress):  # noqa: ANN001 - runner signature
            return rhythm.due_list(db, today, **kwargs)

        self.ctx.runner.run(
            job,
            on_success=lambda rows: self._loaded(gen, rows),
            on_failure=lambda exc: self._failed(gen, exc),
        )

    def _loaded(self, gen: int, rows: list[DueRow]) -> None:
        if gen != self._generation:
            return
        self.loading = False
        self.model.set_rows(rows)
        overdue = sum(1 for r in rows if r.days_overdue is None or r.days_overdue > 0)
        self.title.setText(f"待走访住户 — {self.scope_text()}：共 {len(rows)} 户，其中逾期 {overdue} 户")

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self.loading = False
        self.title.setText("待走访住户（计算失败）")
        from app.ui.common.crash import report_exception

        report_exception(exc)

    def _on_changed(self, changes: Changes) -> None:
        # The places tab reloads this list itself after place, household and person changes (and
        # when it is shown again); here only visits and settings, debounced while visible.
        if changes.touches(ev.PLACES):
            self._heads_loaded = False  # heads are re-read on the next reload
        elif changes.touches(ev.VISITS | ev.SETTINGS) and self.isVisible():
            self._reload_timer.start()

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.rows[index.row()]
        self.householdActivated.emit(row.household_id, row.building_id or "")

    # -- printing and export ----------------------------------------------------------------
    def _snapshot(self) -> Callable[[Database], list_table.ListTable]:
        table = list_table.due_table(self.model.rows, self.scope_text())
        return lambda _db: table

    def document(self) -> QTextDocument:
        """The printed list as one document (what the preview pages)."""
        from app.ui.printing.printing import LIST_TEMPLATE, build_document

        job = self.output.print_job()
        return build_document(job.form, job.data(self.ctx.db), template=LIST_TEMPLATE)

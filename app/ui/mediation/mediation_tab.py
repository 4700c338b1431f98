"""The mediation log tab (矛盾纠纷调解台账): case list with time-limit colours, detail, monthly report."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.core.list_query import ListQuery
from app.models.mediation import mediation as med
from app.models.mediation import mediation_report as rep
from app.models.places import places
from app.ui.common import events, messages
from app.ui.common.context import AppContext
from app.ui.common.crash import report_exception
from app.ui.common.data_tab import DataTab
from app.ui.common.ops import perform
from app.ui.common.table_models import Column, SqlTableModel
from app.widgets.flow_layout import FlowLayout

LIMIT_COLOURS = {med.GREEN: QColor("#2f9e44"), med.AMBER: QColor("#e6a700"), med.RED: QColor("#d9363e")}
ANY = "全部"
NO_DATE = QDate(2000, 1, 1)
REPORT_SCREEN_ROWS = 100


class MediationTab(DataTab):
    """Cases in `mediationTable`, filters above, the selected case's detail and actions beside."""

    watches = events.MEDIATION | events.PERSONS | events.HOUSEHOLDS | events.VISITS | events.SETTINGS | events.PLACES

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("mediationTab")
        self.setAccessibleName("矛盾调解")
        self._limits = med.limits(ctx.db)

        outer = QVBoxLayout(self)
        self.inner = QTabWidget(self)
        self.inner.setObjectName("mediationInnerTabs")
        outer.addWidget(self.inner)

        # -- cases page ---------------------------------------------------------------------------
        page = QWidget()
        lay = QVBoxLayout(page)
        # Both bars wrap to a second row when they do not fit (a large text size, a small screen).
        bar = FlowLayout()
        self.search = QLineEdit()
        self.search.setObjectName("mediationSearch")
        self.search.setAccessibleName("搜索当事人或案件")
        self.search.setPlaceholderText("当事人姓名 / 拼音首字母 / 案号 / 标题")
        self.search.setClearButtonEnabled(True)
        self.status_box = self._combo("mediationStatusFilter", "状态", [ANY, "未办结", "待回访", *med.STATUSES])
        self.level_box = self._combo("mediationLevelFilter", "层级", [ANY, *med.LEVELS])
        self.category_box = self._combo("mediationCategoryFilter", "类别", [ANY])
        self.building_box = self._combo("mediationBuildingFilter", "楼栋", [ANY])
        self.date_from = self._date_edit("mediationDateFrom", "受理日期从")
        self.date_to = self._date_edit("mediationDateTo", "受理日期到")
        self.search.setMinimumWidth(200)
        bar.addWidget(self.search)
        for label, w in (("状态", self.status_box), ("层级", self.level_box), ("类别", self.category_box),
                         ("楼栋", self.building_box), ("受理", self.date_from), ("至", self.date_to)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        lay.addLayout(bar)

        actions = FlowLayout()
        self.new_button = self._button("mediationNew", "新建案件(&N)", self.new_case)
        self.edit_button = self._button("mediationEdit", "修改(&E)", self.edit_case)
        self.status_button = self._button("mediationStatus", "办理/变更状态(&S)", self.change_status)
        self.level_button = self._button("mediationLevel", "升级/调整层级(&L)", self.change_level)
        self.followup_button = self._button("mediationFollowup", "登记回访(&F)", self.add_followup)
        self.note_button = self._button("mediationNote", "记录调解经过", self.add_note)
        self.agreement_button = self._button("mediationAgreement", "打印协议(&P)", self.print_agreement)
        self.delete_button = self._button("mediationDelete", "删除", self.delete_case)
        self.delete_button.setToolTip("只能删除尚未办理（受理状态）的误登案件")
        self.settings_button = self._button("mediationSettings", "设置", self.edit_settings)
        self.settings_button.setToolTip("各层级时限天数、纠纷类别")
        for b in (self.new_button, self.edit_button, self.status_button, self.level_button,
                  self.followup_button, self.note_button, self.agreement_button, self.delete_button,
                  self.settings_button):
            actions.addWidget(b)
        actions.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName("mediationCount")
        actions.addWidget(self.count_label)
        self.legend = QLabel(
            "<span style='color:#d9363e'>■</span> 已超时　<span style='color:#e6a700'>■</span> 已用时限≥2/3　"
            "<span style='color:#2f9e44'>■</span> 正常"
        )
        self.legend.setToolTip("时限按当前层级计算（楼栋/社区/街道，天数见设置），从升到该层级之日起算。\n"
                               "绿：已用不足 2/3；黄：已用 2/3 及以上但未超过；红：已超过时限。超时案件排在最前。")
        actions.addWidget(self.legend)
        lay.addLayout(actions)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableView()
        self.table.setObjectName("mediationTable")
        self.table.setAccessibleName("调解案件列表")
        self._make_model(med.cases_query())
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSectionsClickable(True)
        self.table.horizontalHeader().sectionClicked.connect(self._sort_clicked)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.doubleClicked.connect(lambda *_: self.change_status())
        split.addWidget(self.table)
        self.detail = QTextBrowser()
        self.detail.setObjectName("mediationDetail")
        self.detail.setAccessibleName("案件详情与办理记录")
        self.detail.setOpenExternalLinks(False)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay.addWidget(split, 1)
        self.inner.addTab(page, "案件台账")

        # -- monthly report page ------------------------------------------------------------------
        rpage = QWidget()
        rlay = QVBoxLayout(rpage)
        rbar = QHBoxLayout()
        self.month_edit = QDateEdit()
        self.month_edit.setObjectName("mediationReportMonth")
        self.month_edit.setAccessibleName("报表月份")
        self.month_edit.setDisplayFormat("yyyy年MM月")
        self.month_edit.setDate(QDate.currentDate())
        self.report_button = self._button("mediationReportShow", "生成报表(&R)", self.show_report)
        self.report_print = self._button("mediationReportPrint", "打印报表", self.print_report)
        rbar.addWidget(QLabel("月份"))
        rbar.addWidget(self.month_edit)
        rbar.addWidget(self.report_button)
        rbar.addWidget(self.report_print)
        rbar.addStretch(1)
        rlay.addLayout(rbar)
        self.report_view = QTextBrowser()
        self.report_view.setObjectName("mediationReport")
        self.report_view.setAccessibleName("矛盾纠纷排查情况表")
        self.report_view.setToolTip(rep.RATE_TOOLTIP)
        rlay.addWidget(self.report_view, 1)
        self.inner.addTab(rpage, "月度报表")
        self.report: dict | None = None

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.search.returnPressed.connect(self.apply_filter)
        for box in (self.status_box, self.level_box, self.category_box, self.building_box):
            box.currentIndexChanged.connect(lambda _i: self.apply_filter())
        for d in (self.date_from, self.date_to):
            d.dateChanged.connect(lambda _d: self.apply_filter())
        QShortcut(QKeySequence("Ctrl+F"), self).activated.connect(self.search.setFocus)
        enter = QShortcut(QKeySequence(Qt.Key.Key_Return), self.table)
        enter.activated.connect(self.change_status)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._show_detail()

    # -- building blocks --------------------------------------------------------------------------
    def _combo(self, name: str, label: str, items: list[str]) -> QComboBox:
        box = QComboBox()
        box.setObjectName(name)
        box.setAccessibleName(label)
        for it in items:
            box.addItem(it, None if it == ANY else it)
        return box

    def _date_edit(self, name: str, label: str) -> QDateEdit:
        d = QDateEdit()
        d.setObjectName(name)
        d.setAccessibleName(label)
        d.setCalendarPopup(True)
        d.setDisplayFormat("yyyy-MM-dd")
        d.setMinimumDate(NO_DATE)
        d.setSpecialValueText("不限")
        d.setDate(NO_DATE)
        return d

    def _button(self, name: str, text: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setAccessibleName(text.split("(")[0])
        b.clicked.connect(slot)
        return b

    def _make_model(self, query: ListQuery) -> None:
        """(Re)build the list model: the time limits are part of its SQL (sorting by urgency)."""
        old = getattr(self, "model", None)
        self.party_names = PartyNames(self.ctx.db)
        self.model = SqlTableModel(self.ctx.db, query, case_columns(self._limits, self.party_names),
                                   order_by=self._default_order(), parent=self)
        self.table.setModel(self.model)
        if old is not None:
            old.deleteLater()
        for i, c in enumerate(self.model.columns):
            if c.width:
                self.table.setColumnWidth(i, c.width)
            # level_since is fetched for the colour of the 时限 column, not shown on its own
            self.table.setColumnHidden(i, c.key == "level_since")
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())
        self.table.horizontalHeader().setSortIndicatorShown(False)

    def _default_order(self) -> str:
        return f"{med.urgency_sql(self._limits)} DESC, c.received_date DESC, c.number DESC"

    # -- events and filters -----------------------------------------------------------------------
    def load(self) -> None:
        self._load_choices()

    def _load_choices(self) -> None:
        """Categories and buildings come from the database; loaded on first show, not in __init__."""
        for box, items in ((self.category_box, [(c, c) for c in med.categories(self.ctx.db)]),
                           (self.building_box, [(n, i) for i, n in med.buildings(self.ctx.db)])):
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(ANY, None)
            for text, data in items:
                box.addItem(text, data)
            idx = box.findData(current) if current else 0
            box.setCurrentIndex(max(idx, 0))
            box.blockSignals(False)
        self._update_count()

    def refresh(self, changes: Changes) -> None:
        if changes.touches(events.SETTINGS | events.PLACES):
            # The time limits are part of the list's SQL; the buildings fill a filter.
            current = self.current_case_id()
            self._limits = med.limits(self.ctx.db)
            self._make_model(self.model.query)
            self._load_choices()
            if current:
                self.select_case(current)
            self._show_detail()
        if changes.touches(events.MEDIATION | events.PERSONS | events.HOUSEHOLDS | events.VISITS):
            self.refresh_cases()

    def refresh_cases(self) -> None:
        current = self.current_case_id()
        self.party_names.cache.clear()
        self.model.refresh()
        self._update_count()
        if current:
            self.select_case(current)
        self._show_detail()
        if self.report is not None:
            if self.inner.currentIndex() == 1 and self.isVisible():
                self.show_report()
            else:  # recomputed when the page is next opened
                self.report = None
                self.report_view.setHtml("<p style='color:#666'>数据已变化，请点“生成报表”。</p>")

    def filter_args(self) -> dict:
        status = self.status_box.currentData()
        d_from = self.date_from.date()
        d_to = self.date_to.date()
        return {
            "search": self.search.text(),
            "status": status if status not in (None, "未办结", "待回访") else None,
            "open_only": status == "未办结",
            "followup_due": status == "待回访",
            "level": self.level_box.currentData(),
            "category": self.category_box.currentData(),
            "building_id": self.building_box.currentData(),
            "date_from": d_from.toString("yyyy-MM-dd") if d_from != NO_DATE else None,
            "date_to": d_to.toString("yyyy-MM-dd") if d_to != NO_DATE else None,
        }

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_query(med.cases_query(**self.filter_args()))
        self._update_count()
        self._show_detail()

    def _update_count(self) -> None:
        self.count_label.setText(f"共 {self.model.rowCount()} 件")

    def _sort_clicked(self, section: int) -> None:
        header = self.table.horizontalHeader()
        order = header.sortIndicatorOrder()
        if header.sortIndicatorSection() != section:
            order = Qt.SortOrder.AscendingOrder
            if self.model.columns[section].key == "limit":
                order = Qt.SortOrder.DescendingOrder
        header.setSortIndicatorShown(True)
        header.setSortIndicator(section, order)
        self.model.sort(section, order)

    # -- selection and detail ---------------------------------------------------------------------
    def current_case_id(self) -> str | None:
        idx = self.table.currentIndex()
        return self.model.row_id(idx.row()) if idx.isValid() else None

    def select_case(self, case_id: str) -> bool:
        row = self.model.find_row(case_id)
        if row < 0:
            for i in range(min(self.model.rowCount(), 2000)):
                if self.model.row_id(i) == case_id:
                    row = i
                    break
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _update_buttons(self) -> None:
        case_id = self.current_case_id()
        status = None
        if case_id:
            row = self.model.row(self.table.currentIndex().row())
            status = row.get("status") if row else None
        has = status is not None
        self.edit_button.setEnabled(has and status != "结案")
        self.status_button.setEnabled(has and bool(med.TRANSITIONS.get(status or "", ())))
        self.level_button.setEnabled(has and status in ("受理", "调解中", "调解不成"))
        self.followup_button.setEnabled(has and status in (*med.CONCLUDED, "已回访"))
        self.note_button.setEnabled(has and status != "结案")
        self.agreement_button.setEnabled(has and status in ("已调解", "已回访", "结案"))
        self.delete_button.setEnabled(has and status == "受理")

    def _show_detail(self) -> None:
        self._update_buttons()
        case_id = self.current_case_id()
        if not case_id:
            self.detail.setHtml("<p style='color:#666'>选择左侧一个案件查看详情和办理记录。</p>")
            return
        try:
            self.detail.setHtml(case_html(self.ctx.db, case_id, self._limits))
        except KnownError as exc:
            self.detail.setHtml(f"<p>{html.escape(str(exc))}</p>")

    # -- actions ------------------------------------------------------------------------------------
    def _after_write(self, case_id: str | None) -> None:
        # The list has already refreshed: the write's Changes reached it when it committed.
        if case_id:
            self.select_case(case_id)
        self._show_detail()

    def new_case(self) -> None:
        from app.ui.mediation.mediation_dialogs import CaseDialog

        case_id = CaseDialog.run(self, self.ctx, apply=lambda db, v: med.create_case(db, **v))
        if case_id is None:
            return
        # show the new case even if the current filter would hide it
        for w in (self.search, self.status_box, self.level_box, self.category_box, self.building_box,
                  self.date_from, self.date_to):
            w.blockSignals(True)
        self.search.clear()
        for box in (self.status_box, self.level_box, self.category_box, self.building_box):
            box.setCurrentIndex(0)
        self.date_from.setDate(NO_DATE)
        self.date_to.setDate(NO_DATE)
        for w in (self.search, self.status_box, self.level_box, self.category_box, self.building_box,
                  self.date_from, self.date_to):
            w.blockSignals(False)
        self.apply_filter()
        self._after_write(case_id)

    def edit_case(self) -> None:
        from app.ui.mediation.mediation_dialogs import CaseDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        def apply(db: Database, values: dict) -> bool:
            med.update_case(db, case_id, **values)
            return True

        if CaseDialog.run(self, self.ctx, case_id, apply=apply):
            self._after_write(case_id)

    def change_status(self) -> None:
        from app.ui.mediation.mediation_dialogs import StatusDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        db = self.ctx.db
        case = med.get_case(db, case_id)
        if not med.TRANSITIONS.get(case["status"]):
            return

        def apply(db: Database, v: dict) -> bool:
            med.change_status(db, case_id, v.pop("to_status"), **v)
            return True

        if StatusDialog.run(self, self.ctx, case, apply=apply):
            self._after_write(case_id)

    def change_level(self) -> None:
        from app.ui.mediation.mediation_dialogs import LevelDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        db = self.ctx.db
        case = med.get_case(db, case_id)

        def apply(db: Database, v: dict) -> bool:
            med.change_level(db, case_id, v.pop("to_level"), **v)
            return True

        if LevelDialog.run(self, self.ctx, case, apply=apply):
            self._after_write(case_id)

    def add_followup(self) -> None:
        from app.ui.mediation.mediation_dialogs import FollowupDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        case = med.get_case(self.ctx.db, case_id)
        if FollowupDialog.run(self, self.ctx, case, apply=lambda db, v: med.add_followup(db, case_id, **v)):
            self._after_write(case_id)

    def add_note(self) -> None:
        from app.ui.mediation.mediation_dialogs import NoteDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        def apply(db: Database, values: dict) -> bool:
            med.add_note(db, case_id, **values)
            return True

        if NoteDialog.run(self, self.ctx, apply=apply):
            self._after_write(case_id)

    def delete_case(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        case_id = self.current_case_id()
        if not case_id:
            return
        case = med.get_case(self.ctx.db, case_id)
        reason, ok = QInputDialog.getText(self, "删除案件", f"删除案件 {case['number']}“{case['title']}”的原因：")
        if not ok:
            return
        if not messages.confirm_destructive(
            self, "确认删除", f"确定删除案件 {case['number']}“{case['title']}”吗？删除后不在台账和报表中出现。",
        ):
            return
        perform(self.ctx, self, lambda db: med.delete_case(db, case_id, reason=reason), title="无法删除")

    def edit_settings(self) -> None:
        from app.ui.mediation.mediation_dialogs import SettingsDialog

        def apply(db: Database, values: dict) -> bool:
            med.save_settings(db, **values)
            return True

        SettingsDialog.run(self, self.ctx, apply=apply)

    def print_agreement(self) -> None:
        from app.ui.printing.printing import preview_form  # the formal 调解协议书 (printing feature)

        case_id = self.current_case_id()
        if case_id:
            preview_form(self.ctx, "mediation-agreement", self, case=case_id)

    # -- monthly report -----------------------------------------------------------------------------
    def report_month(self) -> str:
        return self.month_edit.date().toString("yyyy-MM")

    def show_report(self, *, then: Any = None) -> None:
        """Compute the month's report on the background runner, then show it (and call `then`)."""
        month = self.report_month()
        self.report_button.setEnabled(False)
        self.report_view.setHtml(f"<p style='color:#666'>正在统计 {month} ……</p>")

        def done(result: dict) -> None:
            self.report_button.setEnabled(True)
            self.report = result
            self.report_view.setHtml(rep.report_html(result, max_open_rows=REPORT_SCREEN_ROWS))
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            self.report_button.setEnabled(True)
            self.report_view.clear()
            report_exception(exc)

        self.ctx.runner.run(lambda db, _p: rep.monthly_report(db, month), on_success=done, on_failure=failed)

    def print_report(self) -> None:
        from app.ui.printing.printing import preview_form  # the printed form, from rep.monthly_report

        preview_form(self.ctx, "monthly-disputes", self, month=self.report_month())


class PartyNames:
    """Party names per case for the list, fetched per row shown and cached until the next refresh.

    A correlated subquery column would be evaluated for every matching row before ORDER BY …
    LIMIT picks the page (5,000 cases: ~20 ms); this asks only for the rows on screen.
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        self.cache: dict[str, str] = {}

    def __call__(self, case_id: Any, _row: dict | None = None) -> str:
        if case_id not in self.cache:
            if len(self.cache) > 5000:
                self.cache.clear()
            self.cache[case_id] = med.party_names(self.db, case_id)
        return self.cache[case_id]


def case_columns(lim: dict[str, int], names: PartyNames) -> list[Column]:
    """The case list's columns; the 时限 column is coloured by the level's time limit."""

    def colour(_v: Any, row: dict) -> Any:
        c = med.limit_colour(row["level"], row["level_since"], row["status"], lim)
        return LIMIT_COLOURS.get(c) if c else None

    def limit_text(_v: Any, row: dict) -> str:
        c = med.limit_colour(row["level"], row["level_since"], row["status"], lim)
        if c is None:
            return ""
        left = med.days_left(row["level"], row["level_since"], lim)
        return f"超时 {-left} 天" if left is not None and left < 0 else f"剩 {left} 天"

    def limit_tip(_v: Any, row: dict) -> str | None:
        c = med.limit_colour(row["level"], row["level_since"], row["status"], lim)
        if c is None:
            return None
        return (f"{row['level']}层级时限 {lim.get(row['level'])} 天，自 {row['level_since']} 起算："
                f"{med.COLOUR_NAMES[c]}")

    return [
        Column("number", "案号", "c.number", width=90),
        Column("limit", "时限", "c.level_since", sort_sql=med.urgency_sql(lim), display=limit_text,
               decoration=colour, foreground=colour, tooltip=limit_tip, width=115),
        Column("received_date", "受理日期", "c.received_date", width=90),
        Column("status", "状态", "c.status", width=70),
        Column("level", "层级", "c.level", width=50),
        Column("level_since", "层级起算", "c.level_since"),
        Column("category", "类别", "c.category", width=80),
        Column("source", "来源", "c.source", width=70),
        Column("title", "标题", "c.title", width=200),
        Column("parties", "当事人", "c.id", sort_sql=med.PARTY_NAMES_SQL, display=names, width=140),
        Column("building", "楼栋", "b.name", width=70),
        Column("mediators", "调解员", "c.mediators", width=90),
    ]


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value)).replace("\n", "<br>")


def case_html(db: Any, case_id: str, limit_days: dict[str, int]) -> str:
    """The detail pane: case facts, parties, linked visit, history with follow-ups, agreement."""
    c = med.get_case(db, case_id)
    colour = med.limit_colour(c["level"], c["level_since"], c["status"], limit_days)
    limit_line = ""
    if colour:
        left = med.days_left(c["level"], c["level_since"], limit_days) or 0
        hexcol = LIMIT_COLOURS[colour].name()
        word = f"已超时 {-left} 天" if left < 0 else f"剩余 {left} 天"
        limit_line = (f"<p>时限：<b style='color:{hexcol}'>{word}</b>（{c['level']} {limit_days[c['level']]} 天，"
                      f"自 {c['level_since']} 起算）</p>")
    building = places.building_name(db, c["building_id"]) or ""
    out = [
        f"<h3>{_e(c['number'])}　{_e(c['title'])}</h3>",
        f"<p>状态：<b>{_e(c['status'])}</b>　层级：<b>{_e(c['level'])}</b>　类别：{_e(c['category'])}　"
        f"来源：{_e(c['source'])}</p>",
        f"<p>受理：{_e(c['received_date'])}　楼栋：{_e(building or '—')}　调解员：{_e(c['mediators'] or '—')}</p>",
        limit_line,
    ]
    twins = med.same_number_count(db, case_id, c["number"])
    if twins:
        # two office PCs numbered cases offline at the same time; sync brings both in
        out.append(f"<p style='color:#d9363e'>另有 {twins} 件案件也编号为 {_e(c['number'])}（可能是两台电脑同时登记后同步），"
                   "请核对。</p>")
    if c["referred_to"]:
        out.append(f"<p>移交：{_e(c['referred_to'])}</p>")
    if c["description"]:
        out.append(f"<p>情况：{_e(c['description'])}</p>")
    out.append("<h4>当事人</h4><ul>")
    for p in med.parties(db, case_id):
        where = f"（{_e(p['household_number'])} 户，{_e(p['address'])}）" if p["resident"] else "（外来人员）"
        out.append(f"<li>{_e(p['name'])}{where} {_e(p['phone'])} {_e(p['role'])}</li>")
    out.append("</ul>")
    visit = med.linked_visit(db, case_id)
    if visit:
        out.append(f"<h4>来源走访</h4><p>{_e(visit['visit_date'])} {_e(visit['kind'])} "
                   f"{_e(visit['household_number'])} 户，走访人 {_e(visit['visitor_name'])}：{_e(visit['problems'] or visit['findings'])}</p>")
    out.append("<h4>办理记录</h4><table border='1' cellspacing='0' cellpadding='3'>"
               "<tr><th>日期</th><th>事项</th><th>说明</th><th>经办</th></tr>")
    items = []
    for ev in med.history(db, case_id):
        if ev["kind"] == "status":
            what = f"状态 {ev['from_value'] or ''} → {ev['to_value']}" if ev["from_value"] else f"{ev['to_value']}"
        elif ev["kind"] == "level":
            what = f"层级 {ev['from_value']} → {ev['to_value']}"
        else:
            what = "调解经过"
        # on one day: other steps, then the follow-up, then the → 已回访 it caused
        rank = 2 if ev["kind"] == "status" and ev["to_value"] == "已回访" else 0
        items.append((ev["at"], rank, what, ev["note"], ev["by_user"]))
    for f in med.followups(db, case_id):
        note = "；".join(x for x in (f["notes"], f"下次回访 {f['next_date']}" if f["next_date"] else None) if x)
        items.append((f["followup_date"], 1, f"回访：{f['outcome']}", note, f["visitor"]))
    items.sort(key=lambda t: (t[0] or "", t[1]))
    for at, _rank, what, note, by in items:
        out.append(f"<tr><td>{_e(at)}</td><td>{_e(what)}</td><td>{_e(note)}</td><td>{_e(by)}</td></tr>")
    out.append("</table>")
    if c["agreement_text"]:
        out.append(f"<h4>协议内容（{_e(c['agreement_date'])}）</h4><p>{_e(c['agreement_text'])}</p>")
    if c["status"] in ("已调解", "调解不成", "已移交"):
        out.append("<p style='color:#b36b00'>须登记至少一次回访后才能结案。</p>")
    return "".join(out)


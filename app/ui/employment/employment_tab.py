"""The employment and training tab: figures on top, then the labour, job, training and intention ledgers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.list_query import ExportView, ListQuery
from app.models.employment import employment, intentions, labour, training
from app.models.registry import registry_search
from app.ui.common import events, messages
from app.ui.common.context import AppContext
from app.ui.common.data_tab import DataTab
from app.ui.common.ops import perform
from app.ui.common.table_models import SqlTableModel
from app.ui.employment.employment_dialogs import (
    FigureListDialog,
    IntentionDialog,
    JobDialog,
    close_intention,
    end_job,
    to_columns,
)
from app.ui.employment.person_picker import IdListModel, IdPagedModel
from app.ui.employment.training_dialogs import CourseDialog

# figure key → how it is shown
FIGURE_ORDER: list[tuple[str, str]] = [
    ("labour_force", "int"),
    ("employed", "int"),
    ("employment_rate", "pct"),
    ("employed_stable", "int"),
    ("employed_other", "int"),
    ("employed_per_household", "dec"),
    ("public_welfare_posts", "int"),
    ("households_with_labour", "int"),
    ("households_with_stable_job", "int"),
    ("households_without_stable_job", "int"),
    ("zero_employment_households", "int"),
    ("never_trained", "int"),
    ("training_person_times_year", "int"),
    ("training_person_times_total", "int"),
    ("training_hours_year", "hours"),
    ("training_hours_total", "hours"),
]
# Which list opens when a ratio is clicked.
CLICK_TARGET = {"employment_rate": "employed", "employed_per_household": "employed"}
ALERT_FIGURES = {"zero_employment_households", "households_without_stable_job"}


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "dec":
        return f"{float(value):.2f}"
    if kind == "hours":
        return f"{float(value):,g}"
    return f"{int(value):,}"


# The labour ledger's filter combo, in order: its title and the data layer's view.
LEDGER_FILTERS: list[tuple[str, str]] = [
    ("全部劳动力", "labour_force"), ("已就业", "employed"), ("未就业", "unemployed"),
    ("从未培训", "never_trained"), ("有未满足需求", "open_intention"),
]
JOB_STATES = ("current", "ended", "all")  # the order of the jobs state combo
INTENTION_STATES = ("open", "closed", "all")  # the order of the intentions state combo


def ledger_ids(db: Database, today: dt.date, which: int, text: str) -> list[str]:
    """Runs on the worker thread: the labour-ledger rows for the filter combo's entry `which` and a search."""
    return labour.ledger_ids(db, today, LEDGER_FILTERS[which][1], registry_search.person_condition(text))


def compute_for_tab(db: Database, today: dt.date) -> tuple[labour.LabourFigures, dict[str, tuple[str, str]]]:
    """Runs on the worker thread: the figures and their definitions."""
    return labour.compute_figures(db, today), labour.figure_definitions(labour.rules(db, today))


class FigureButton(QPushButton):
    """One clickable figure: the number over its name; the tooltip says how it is counted."""

    def __init__(self, key: str, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.kind = kind
        self.title = key
        self.value_text = "…"
        self.setObjectName(f"figure_{key}")
        self.setMinimumHeight(56)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        font = self.font()
        font.setPointSize(font.pointSize() + 1)
        self.setFont(font)
        self.setText("…")

    def show_value(self, title: str, value_text: str, tooltip: str, alert: bool = False) -> None:
        self.title = title
        self.value_text = value_text
        self.setText(f"{value_text}\n{title}")
        colour = "#c92a2a" if alert else "#1c1c1c"
        self.setStyleSheet(f"QPushButton {{ color: {colour}; padding: 4px 6px; }}")
        self.setToolTip(tooltip + "\n（点击查看名单）")
        self.setAccessibleName(f"{title} {value_text}")


def make_table(name: str, accessible: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSortingEnabled(True)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setDefaultSectionSize(22)
    return table


def search_edit(name: str, accessible: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    return edit


def button(text: str, name: str, tip: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    if tip:
        b.setToolTip(tip)
    return b


SEARCH_HINT = "姓名 / 拼音首字母 / 身份证号 / 房号（如 3-2-501）"

# A searched jobs or intentions list holds at most this many rows (the first in its order): counting
# the 48,000 jobs of "532" alone takes longer than a keystroke may. An empty search lists them all.
SEARCH_CAP = 500


def count_label(model: IdPagedModel) -> str:
    """The count beside a jobs or intentions list; a capped list says it is not every match."""
    n = model.rowCount()
    if model.capped:
        return f"找到超过 {n:,} 条，只列出前 {n:,} 条；请多输入几个字缩小范围"
    return f"共 {n:,} 条"


class EmploymentTab(DataTab):
    """Figures row + sub-tabs: 劳动力台账, 就业台账, 培训, 需求台账."""

    watches = (events.EMPLOYMENT | events.TRAINING | events.INTENTIONS | events.PERSONS | events.HOUSEHOLDS
               | events.SETTINGS)
    # The tab paints first, then the ledgers count (~70 ms at 100k).
    load_after_paint = True

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("employmentTab")
        self.setAccessibleName("就业培训")
        self._figures_pending = False
        self._figures_running = False
        self.figures: labour.LabourFigures | None = None
        self.rules = labour.rules(ctx.db)
        self.figure_dialogs: list[FigureListDialog] = []

        layout = QVBoxLayout(self)
        self.figure_grid = QGridLayout()
        self.figure_grid.setSpacing(4)
        self.figure_buttons: dict[str, FigureButton] = {}
        for i, (key, kind) in enumerate(FIGURE_ORDER):
            btn = FigureButton(key, kind, self)
            btn.clicked.connect(self._figure_opener(CLICK_TARGET.get(key, key)))
            self.figure_buttons[key] = btn
            self.figure_grid.addWidget(btn, i // 8, i % 8)  # two rows of eight
        layout.addLayout(self.figure_grid)
        self.figures_note = QLabel("")
        self.figures_note.setObjectName("employmentFiguresNote")
        self.figures_note.setStyleSheet("color: #555;")
        layout.addWidget(self.figures_note)

        self.inner = QTabWidget(self)
        self.inner.setObjectName("employmentInnerTabs")
        layout.addWidget(self.inner, 1)
        self._build_ledger_page()
        self._build_jobs_page()
        self._build_training_page()
        self._build_intentions_page()
        self.ledger_model: IdListModel | None = None
        self.ledger_ready = False  # the ledger shows the rows of the current filter and search
        self._ledger_seq = 0
        self.jobs_model: IdPagedModel | None = None
        self.courses_model: SqlTableModel | None = None
        self.attendance_model: SqlTableModel | None = None
        self.intentions_model: IdPagedModel | None = None

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._apply_searches)
        # Typing refreshes only the list whose box changed (the others' counts cost a keystroke too).
        self._searched: set[str] = set()
        for page, edit in (("ledger", self.ledger_search), ("jobs", self.jobs_search),
                           ("courses", self.course_search), ("intentions", self.intentions_search)):
            edit.textChanged.connect(lambda _t, page=page: self._search_changed(page))

    # -- pages --------------------------------------------------------------------------------
    def _build_ledger_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.ledger_search = search_edit("labourSearch", "劳动力台账搜索", SEARCH_HINT)
        bar.addWidget(self.ledger_search, 1)
        self.ledger_filter = QComboBox()
        self.ledger_filter.setObjectName("labourFilter")
        self.ledger_filter.addItems([title for title, _key in LEDGER_FILTERS])
        self.ledger_filter.currentIndexChanged.connect(lambda _i: self.apply_filters())
        bar.addWidget(self.ledger_filter)
        self.ledger_count = QLabel("")
        bar.addWidget(self.ledger_count)
        v.addLayout(bar)
        self.table = make_table("employmentTable", "劳动力台账")
        self.table.activated.connect(lambda _i: self.add_job_for_selected())
        v.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.ledger_job_button = button("登记就业…", "labourAddJob", "为选中的人登记一份工作（双击也可）")
        self.ledger_job_button.clicked.connect(self.add_job_for_selected)
        self.ledger_history_button = button("就业经历", "labourHistory", "在“就业台账”中只看此人的全部工作")
        self.ledger_history_button.clicked.connect(self.show_history_of_selected)
        self.ledger_intention_button = button("登记需求…", "labourAddIntention")
        self.ledger_intention_button.clicked.connect(self.add_intention_for_selected)
        for b in (self.ledger_job_button, self.ledger_history_button, self.ledger_intention_button):
            actions.addWidget(b)
        actions.addStretch(1)
        v.addLayout(actions)
        self.inner.addTab(page, "劳动力台账")

    def _build_jobs_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.jobs_search = search_edit("jobsSearch", "就业台账搜索", SEARCH_HINT)
        bar.addWidget(self.jobs_search, 1)
        self.jobs_kind = QComboBox()
        self.jobs_kind.setObjectName("jobsKindFilter")
        self.jobs_kind.addItems(["全部类型", *employment.KINDS])
        self.jobs_state = QComboBox()
        self.jobs_state.setObjectName("jobsStateFilter")
        self.jobs_state.addItems(["在岗", "已结束", "全部"])
        for combo in (self.jobs_kind, self.jobs_state):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
            bar.addWidget(combo)
        self.jobs_count = QLabel("")
        bar.addWidget(self.jobs_count)
        v.addLayout(bar)
        self.jobs_table = make_table("jobsTable", "就业台账")
        self.jobs_table.activated.connect(lambda _i: self.edit_job())
        v.addWidget(self.jobs_table, 1)
        actions = QHBoxLayout()
        self.job_new_button = button("新增就业…", "jobNew")
        self.job_new_button.clicked.connect(self.new_job)
        self.job_edit_button = button("修改…", "jobEdit")
        self.job_edit_button.clicked.connect(self.edit_job)
        self.job_end_button = button("结束工作…", "jobEnd", "填写结束日期；记录保留在就业经历中")
        self.job_end_button.clicked.connect(self.end_selected_job)
        self.job_delete_button = button("删除（录错）", "jobDelete", "只用于删除录错的记录；真正离职请用“结束工作”")
        self.job_delete_button.clicked.connect(self.delete_selected_job)
        for b in (self.job_new_button, self.job_edit_button, self.job_end_button, self.job_delete_button):
            actions.addWidget(b)
        actions.addStretch(1)
        v.addLayout(actions)
        self._jobs_person: str | None = None
        self.jobs_search.textEdited.connect(self._forget_jobs_person)
        self.inner.addTab(page, "就业台账")

    def _build_training_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.course_search = search_edit("courseSearch", "培训搜索", "培训名称 / 承办单位")
        bar.addWidget(self.course_search, 1)
        self.course_year = QComboBox()
        self.course_year.setObjectName("courseYearFilter")
        self.course_year.addItems(["全部年份"] + [str(dt.date.today().year - i) for i in range(6)])
        self.course_year.currentIndexChanged.connect(lambda _i: self.apply_filters())
        bar.addWidget(self.course_year)
        v.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        self.training_table = make_table("trainingTable", "培训")
        self.training_table.activated.connect(lambda _i: self.edit_course())
        split.addWidget(self.training_table)
        lower = QWidget()
        lv = QVBoxLayout(lower)
        lv.setContentsMargins(0, 0, 0, 0)
        self.attendance_title = QLabel("选中一期培训查看参训人员")
        self.attendance_title.setObjectName("attendanceTitle")
        lv.addWidget(self.attendance_title)
        self.attendance_table = make_table("attendanceTable", "参训人员")
        self.attendance_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        lv.addWidget(self.attendance_table, 1)
        split.addWidget(lower)
        split.setSizes([300, 260])
        v.addWidget(split, 1)
        # Other helpers (printing) add their buttons to this row.
        self.training_buttons = QHBoxLayout()
        self.course_new_button = button("新增培训…", "courseNew", "一次录入一期培训和全部参训人员")
        self.course_new_button.clicked.connect(self.new_course)
        self.course_edit_button = button("修改 / 增减人员…", "courseEdit")
        self.course_edit_button.clicked.connect(self.edit_course)
        self.course_delete_button = button("删除培训", "courseDelete")
        self.course_delete_button.clicked.connect(self.delete_course)
        self.cert_button = button("标记已取得证书", "attendanceCertificate")
        self.cert_button.clicked.connect(lambda: self.mark_certificate(True))
        self.remove_att_button = button("移出所选人员", "attendanceRemove")
        self.remove_att_button.clicked.connect(self.remove_attendance)
        for b in (self.course_new_button, self.course_edit_button, self.course_delete_button, self.cert_button,
                  self.remove_att_button):
            self.training_buttons.addWidget(b)
        from app.ui.printing.print_menu import (
            record_button,  # the printing feature's 打印… menu (selected course)
        )

        self.training_buttons.addWidget(record_button(self, self.ctx, self.selected_course_id, [
            ("training-attendance", "course"), ("training-certificate", "course")]))
        self.training_buttons.addStretch(1)
        v.addLayout(self.training_buttons)
        self.inner.addTab(page, "培训")

    def _build_intentions_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        bar = QHBoxLayout()
        self.intentions_search = search_edit("intentionsSearch", "需求台账搜索", SEARCH_HINT)
        bar.addWidget(self.intentions_search, 1)
        self.intentions_kind = QComboBox()
        self.intentions_kind.setObjectName("intentionsKindFilter")
        self.intentions_kind.addItems(["全部需求", *intentions.KINDS])
        self.intentions_state = QComboBox()
        self.intentions_state.setObjectName("intentionsStateFilter")
        self.intentions_state.addItems(["未满足", "已满足", "全部"])
        for combo in (self.intentions_kind, self.intentions_state):
            combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
            bar.addWidget(combo)
        self.intentions_count = QLabel("")
        bar.addWidget(self.intentions_count)
        v.addLayout(bar)
        self.intentions_table = make_table("intentionsTable", "需求台账")
        v.addWidget(self.intentions_table, 1)
        actions = QHBoxLayout()
        self.intention_new_button = button("新增需求…", "intentionNew")
        self.intention_new_button.clicked.connect(lambda: self._run_dialog(IntentionDialog(self.ctx, parent=self)))
        self.intention_close_button = button("已满足…", "intentionClose", "标记已满足，并关联满足它的就业或培训记录")
        self.intention_close_button.clicked.connect(self.close_selected_intention)
        self.intention_reopen_button = button("重新打开", "intentionReopen")
        self.intention_reopen_button.clicked.connect(self.reopen_selected_intention)
        self.intention_delete_button = button("删除", "intentionDelete")
        self.intention_delete_button.clicked.connect(self.delete_selected_intention)
        for b in (self.intention_new_button, self.intention_close_button, self.intention_reopen_button,
                  self.intention_delete_button):
            actions.addWidget(b)
        actions.addStretch(1)
        v.addLayout(actions)
        self.inner.addTab(page, "需求台账")

    # -- lazy loading -------------------------------------------------------------------------
    def preload(self) -> None:
        """Build the ledgers while the tab is still hidden (the main window calls this when idle)."""
        self.ensure_loaded()

    def load(self) -> None:
        self._build_models()
        self.refresh_figures()

    def _build_models(self) -> None:
        db = self.ctx.db
        self.rules = labour.rules(db)
        today = self.rules.today
        fl = labour.figure_list(db, "labour_force", today)
        self.ledger_model = IdListModel(db, fl.query(), to_columns(fl.columns), order_by=fl.order_by,
                                        runner=self.ctx.runner, parent=self)
        self._set_model(self.table, self.ledger_model, {0: 70, 1: 150, 2: 100, 3: 120, 4: 44, 5: 60, 6: 240, 7: 200})

        self.jobs_model = IdPagedModel(db, self._jobs_query(), to_columns(employment.jobs_columns(today)),
                                       order_by="e.start_date DESC", runner=self.ctx.runner, parent=self)
        self._set_model(self.jobs_table, self.jobs_model, {0: 70, 1: 150, 2: 120, 3: 130, 4: 200})
        self.courses_model = IdPagedModel(db, self._courses_query(), to_columns(training.courses_columns()),
                                          order_by="c.start_date DESC", parent=self)
        self._set_model(self.training_table, self.courses_model, {0: 220, 2: 160, 6: 170})
        self.training_table.selectionModel().currentRowChanged.connect(lambda *_a: self._course_changed())
        self.attendance_model = IdPagedModel(db, training.attendance_query(None),
                                             to_columns(training.attendance_columns()), order_by="p.name_pinyin",
                                             parent=self)
        self._set_model(self.attendance_table, self.attendance_model, {1: 150, 2: 120})
        self.intentions_model = IdPagedModel(db, self._intentions_query(),
                                             to_columns(intentions.intentions_columns()),
                                             order_by="i.recorded_date DESC", runner=self.ctx.runner, parent=self)
        self._set_model(self.intentions_table, self.intentions_model, {1: 120, 3: 200, 7: 220})
        self.apply_filters()

    @staticmethod
    def _set_model(table: QTableView, model: SqlTableModel, widths: dict[int, int]) -> None:
        table.setModel(model)
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        for col, width in widths.items():
            table.setColumnWidth(col, width)

    def _search_changed(self, page: str) -> None:
        self._searched.add(page)
        self._search_timer.start()

    def _apply_searches(self) -> None:
        self.apply_filters(self._searched)

    def apply_filters(self, pages: Collection[str] | None = None) -> None:
        """Push the search boxes and filter combos into SQL: of `pages` ("ledger", "jobs",
        "courses", "intentions"), or of every page."""
        self._search_timer.stop()
        pages = {"ledger", "jobs", "courses", "intentions"} if pages is None else set(pages)
        self._searched = set()
        if self.ledger_model is None:
            return
        if "ledger" in pages:
            self.reload_ledger()
        if "jobs" in pages:
            assert self.jobs_model is not None
            self.jobs_model.cap = SEARCH_CAP if self.jobs_search.text().strip() else None
            self.jobs_model.set_query(self._jobs_query())
            self.jobs_count.setText(count_label(self.jobs_model))
        if "courses" in pages:
            assert self.courses_model is not None
            self.courses_model.set_query(self._courses_query())
        if "intentions" in pages:
            assert self.intentions_model is not None
            self.intentions_model.cap = SEARCH_CAP if self.intentions_search.text().strip() else None
            self.intentions_model.set_query(self._intentions_query())
            self.intentions_count.setText(count_label(self.intentions_model))

    def _jobs_query(self) -> ListQuery:
        kind = self.jobs_kind.currentText() if self.jobs_kind.currentIndex() > 0 else None
        # With db, a word nearly everyone shares is tested per person: the page then walks the
        # jobs newest first (index employment_start) and stops, and the capped count stops early.
        search = registry_search.person_condition(self.jobs_search.text(), db=self.ctx.db)
        return employment.jobs_query(self.rules, state=JOB_STATES[self.jobs_state.currentIndex()], kind=kind,
                                     person_id=self._jobs_person, search=search)

    def _courses_query(self) -> ListQuery:
        year = self.course_year.currentText() if self.course_year.currentIndex() > 0 else None
        return training.courses_query(search=self.course_search.text(), year=year)

    def _intentions_query(self) -> ListQuery:
        kind = self.intentions_kind.currentText() if self.intentions_kind.currentIndex() > 0 else None
        return intentions.intentions_query(state=INTENTION_STATES[self.intentions_state.currentIndex()], kind=kind,
                                           search=registry_search.person_condition(self.intentions_search.text(),
                                                                                   db=self.ctx.db))

    def export_query(self) -> ExportView | None:
        """"Export what I see" of the jobs or intentions page: that list's own query (the ledgers
        share its aliases); the other pages export whole ledgers."""
        page = self.inner.currentIndex()
        if page == 1 and self.jobs_model is not None:
            return self.jobs_model.query.view_of("employment")
        if page == 3 and self.intentions_model is not None:
            return self.intentions_model.query.view_of("intentions")
        return None

    def reload_ledger(self) -> None:
        """Work out the ledger's rows on the worker (58,000 people at 100,000 residents), then page them."""
        self._ledger_seq += 1
        seq, today = self._ledger_seq, self.rules.today
        which, text = self.ledger_filter.currentIndex(), self.ledger_search.text()
        self.ledger_ready = False
        self.ledger_count.setText("正在查找…")
        self.ctx.runner.run(lambda db, _p: ledger_ids(db, today, which, text),
                            on_success=lambda ids: self._show_ledger(seq, ids), on_failure=self._ledger_failed)

    def _show_ledger(self, seq: int, ids: list[str]) -> None:
        if not isValid(self) or seq != self._ledger_seq or self.ledger_model is None:
            return  # a newer filter or search is on its way
        self.ledger_model.set_ids(ids)
        header = self.table.horizontalHeader()
        if 0 <= header.sortIndicatorSection() < len(self.ledger_model.columns):
            self.ledger_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.ledger_count.setText(f"共 {len(ids):,} 人")
        self.ledger_ready = True

    def _ledger_failed(self, exc: BaseException) -> None:
        from app.ui.common.crash import report_exception

        if isValid(self):
            self.ledger_count.setText("查找失败")
        report_exception(exc)

    def refresh_tables(self) -> None:
        for model in (self.jobs_model, self.courses_model, self.attendance_model, self.intentions_model):
            if model is not None:
                model.refresh()
        if self.ledger_model is not None:
            self.reload_ledger()
            assert self.jobs_model is not None and self.intentions_model is not None
            self.jobs_count.setText(count_label(self.jobs_model))
            self.intentions_count.setText(count_label(self.intentions_model))

    # -- figures ------------------------------------------------------------------------------
    def refresh_figures(self) -> None:
        """Recompute off the UI thread; a request while one runs is remembered and run after."""
        if self._figures_running:
            self._figures_pending = True
            return
        self._figures_running = True
        today = dt.date.today()
        self.ctx.runner.run(
            lambda db, _p: compute_for_tab(db, today),
            on_success=self._show_figures,
            on_failure=self._figures_failed,
        )

    def _figures_failed(self, exc: BaseException) -> None:
        self._figures_running = False
        from app.ui.common.crash import report_exception

        report_exception(exc)

    def _show_figures(self, result: tuple[labour.LabourFigures, dict[str, tuple[str, str]]]) -> None:
        if not isValid(self):
            return  # the window closed while the recount ran
        self._figures_running = False
        figures, definitions = result
        self.figures = figures
        values = figures.as_dict()
        for key, kind in FIGURE_ORDER:
            title, definition = definitions.get(key, (key, ""))
            if key == "training_person_times_year":
                definition += (f"\n其中有证书培训 {figures.training_person_times_year_cert} 人次，"
                               f"无证书培训 {figures.training_person_times_year_nocert} 人次。")
            if key == "training_person_times_total":
                definition += (f"\n其中有证书培训 {figures.training_person_times_total_cert} 人次，"
                               f"无证书培训 {figures.training_person_times_total_nocert} 人次。")
            alert = key in ALERT_FIGURES and bool(values.get(key))
            self.figure_buttons[key].show_value(title, format_value(values.get(key), kind), definition, alert)
        self.figures_note.setText(
            f"按 {figures.today} 计算；劳动年龄 {self.rules.age_min}–{self.rules.age_max} 周岁，"
            f"稳定就业 = 当前工作已满 {self.rules.stable_months} 个月。鼠标停在数字上可看口径，点击数字可看名单。"
        )
        if self._figures_pending:
            self._figures_pending = False
            self.refresh_figures()

    def refresh(self, changes: Changes) -> None:
        # Figures first: the worker brings the snapshot forward for them, and the ledger and any
        # open figure list (queued after) then read it as it stands.
        self.refresh_figures()
        if changes.touches(events.SETTINGS):
            self._build_models()
        else:
            self.refresh_tables()

    def _figure_opener(self, key: str) -> Callable[[], object]:
        return lambda: self.open_figure(key)

    def open_figure(self, key: str) -> FigureListDialog:
        """The list behind a figure, in a window that stays open and follows every change."""
        self.ensure_loaded()
        dialog = FigureListDialog(self.ctx, key, parent=self)
        self.figure_dialogs = [d for d in self.figure_dialogs if _alive(d)] + [dialog]
        dialog.show()
        return dialog

    # -- actions ------------------------------------------------------------------------------
    def _perform(self, action: Callable[[Database], Any]) -> bool:
        return bool(perform(self.ctx, self, action, on_error=lambda exc: messages.refused(self, exc)))

    def _run_dialog(self, dialog: Any) -> Any:
        dialog.exec()
        return dialog

    @staticmethod
    def _selected_id(table: QTableView) -> str | None:
        model = table.model()
        idx = table.currentIndex()
        if not isinstance(model, SqlTableModel) or not idx.isValid():
            return None
        return model.row_id(idx.row())

    def _need(self, table: QTableView, what: str) -> str | None:
        row_id = self._selected_id(table)
        if row_id is None:
            messages.info(self, "请先选择", f"请先在列表中选中{what}。")
        return row_id

    def add_job_for_selected(self) -> None:
        pid = self._need(self.table, "一个人")
        if pid:
            self._run_dialog(JobDialog(self.ctx, person_id=pid, parent=self))

    def add_intention_for_selected(self) -> None:
        pid = self._need(self.table, "一个人")
        if pid:
            self._run_dialog(IntentionDialog(self.ctx, person_id=pid, parent=self))

    def show_history_of_selected(self) -> None:
        pid = self._need(self.table, "一个人")
        if not pid:
            return
        self._jobs_person = pid
        self.jobs_state.setCurrentIndex(2)
        name = self.ctx.db.get("person", pid)["name"]
        self.jobs_search.clear()
        self.jobs_search.setPlaceholderText(f"只看 {name} 的就业经历；在此输入可查找全部")
        self.apply_filters()
        self.inner.setCurrentIndex(1)

    def _forget_jobs_person(self, _text: str = "") -> None:
        if self._jobs_person is not None:
            self._jobs_person = None
            self.jobs_search.setPlaceholderText(SEARCH_HINT)

    def new_job(self) -> None:
        self._run_dialog(JobDialog(self.ctx, parent=self))

    def edit_job(self) -> None:
        job_id = self._need(self.jobs_table, "一条就业记录")
        if job_id:
            self._run_dialog(JobDialog(self.ctx, job_id=job_id, parent=self))

    def end_selected_job(self) -> None:
        job_id = self._need(self.jobs_table, "一条就业记录")
        if job_id:
            end_job(self.ctx, self, job_id)

    def delete_selected_job(self) -> None:
        job_id = self._need(self.jobs_table, "一条就业记录")
        if not job_id:
            return
        row = employment.job_with_name(self.ctx.db, job_id)
        if row is None:
            return
        if not messages.confirm_destructive(
            self, "删除就业记录",
            f"删除 {row['name']} 的“{employment.describe(row)}”？\n"
            "只有录错的记录才应删除；真正离职请用“结束工作”，记录会保留在就业经历中。",
        ):
            return
        self._perform(lambda db: employment.delete_job(db, job_id))

    def selected_course_id(self) -> str | None:
        """The course chosen in the training list (the attendance print button uses it)."""
        return self._selected_id(self.training_table)

    def _course_changed(self) -> None:
        cid = self.selected_course_id()
        assert self.attendance_model is not None
        self.attendance_model.set_query(training.attendance_query(cid))
        if cid is None:
            self.attendance_title.setText("选中一期培训查看参训人员")
            return
        row = training.course(self.ctx.db, cid)
        self.attendance_title.setText(
            f"{row['name']}（{row['start_date']}）参训人员 {self.attendance_model.rowCount()} 人")

    def new_course(self) -> None:
        self._run_dialog(CourseDialog(self.ctx, parent=self))

    def edit_course(self) -> None:
        cid = self._need(self.training_table, "一期培训")
        if cid:
            self._run_dialog(CourseDialog(self.ctx, course_id=cid, parent=self))

    def delete_course(self) -> None:
        cid = self._need(self.training_table, "一期培训")
        if not cid:
            return
        row = training.course(self.ctx.db, cid)
        n = len(training.participants(self.ctx.db, cid))
        if not messages.confirm_destructive(
            self, "删除培训", f"删除培训“{row['name']}”及其 {n} 条参训记录？培训人次会相应减少。",
        ):
            return
        self._perform(lambda db: training.delete_course(db, cid))

    def _selected_attendance(self) -> list[str]:
        assert self.attendance_model is not None
        rows = {i.row() for i in self.attendance_table.selectionModel().selectedRows()}
        return [rid for r in sorted(rows) if (rid := self.attendance_model.row_id(r))]

    def mark_certificate(self, obtained: bool) -> None:
        ids = self._selected_attendance()
        if not ids:
            messages.info(self, "请先选择", "请先在参训人员中选中取得证书的人（可按住 Ctrl 多选）。")
            return
        self._perform(lambda db: training.set_certificate(db, ids, obtained))

    def remove_attendance(self) -> None:
        ids = self._selected_attendance()
        if not ids:
            messages.info(self, "请先选择", "请先在参训人员中选中要移出的人。")
            return
        if not messages.confirm_destructive(self, "移出参训人员", f"把选中的 {len(ids)} 人移出这期培训？"):
            return
        self._perform(lambda db: training.remove_attendances(db, ids))

    def close_selected_intention(self) -> None:
        iid = self._need(self.intentions_table, "一条需求")
        if iid:
            close_intention(self.ctx, self, iid)

    def reopen_selected_intention(self) -> None:
        iid = self._need(self.intentions_table, "一条需求")
        if iid:
            self._perform(lambda db: intentions.reopen(db, iid))

    def delete_selected_intention(self) -> None:
        iid = self._need(self.intentions_table, "一条需求")
        if not iid:
            return
        if messages.confirm_destructive(self, "删除需求", "删除这条需求记录？"):
            self._perform(lambda db: intentions.delete(db, iid))


def _alive(widget: QWidget) -> bool:
    # The C++ side is gone once a list window closed (WA_DeleteOnClose).
    return isValid(widget) and widget.isVisible()

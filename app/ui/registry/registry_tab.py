"""The household registry tab (一户一档): search as you type, filters, the household list and its detail pane."""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core import audit
from app.models.core.changes import Changes
from app.models.core.errors import KnownError
from app.models.core.list_query import ExportView
from app.models.core.vocab import PersonStatus
from app.models.places import places
from app.models.registry import households, persons, registry_search
from app.models.registry.registry_search import Filters, Search
from app.ui.common import events, messages
from app.ui.common.context import AppContext
from app.ui.common.data_tab import DataTab
from app.ui.common.ops import perform
from app.ui.common.table_models import Column, SqlTableModel, risk_decoration, risk_display
from app.widgets.flow_layout import FlowLayout
from app.widgets.qt_checked import cell
from app.widgets.search_box import SearchBox

LIST_PAGE = 100
SUMMARY_DELAY_MS = 120  # the detail pane waits for a pause in typing; the table does not
TAGS_SQL = " || ".join(f"CASE WHEN h.{col} = 1 THEN '{name} ' ELSE '' END" for col, name in households.TAGS.items())


def _columns(zero_sql: str) -> list[Column]:
    return [
        Column("number", "户号", "h.number", sort_sql="o.number", width=105),
        Column("who", "匹配成员", "NULL", sort_sql="o.addr_key", width=170),
        Column("address", "地址", households.ADDRESS_SQL, sort_sql="@address", width=130),
        Column("head", "户主", "hp.name", sort_sql="o.head_key", width=80),
        Column("size", "人数", "o.size", align=Qt.AlignmentFlag.AlignCenter, width=50),
        Column("status", "状态", "h.status", width=60),  # before the long columns: always in sight
        Column("origin", "迁出地", "trim(coalesce(h.origin_township, '') || ' ' || coalesce(h.origin_village, ''))",
               sort_sql="h.origin_township", width=130),
        Column("tags", "标签", f"trim({TAGS_SQL} || CASE WHEN {zero_sql} THEN '{households.ZERO_EMPLOYMENT}' ELSE '' END)",
               sort_sql="h.tag_lifted + h.tag_monitored * 2 + h.tag_dibao * 4 + h.tag_tekun * 8", width=150),
        Column("risk", "风险", "h.risk_colour", display=risk_display, decoration=risk_decoration,
               sort_sql="CASE h.risk_colour WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END", width=60),
        Column("permit", "居住证", "coalesce(h.residence_permit, '')", width=70),
        Column("cert", "产权证", "coalesce(h.property_cert, '')", width=70),
        Column("ext_number", "县级户编号", "coalesce(h.ext_number, '')", sort_sql="h.ext_number", width=150),
    ]


class HouseholdListModel(SqlTableModel):
    """The household list; its FROM changes with the search (a ranked match subquery)."""

    def __init__(self, db: Any, parent: Any = None, runner: Any = None) -> None:
        zero_sql, _ = households.zero_employment_sql(db)
        search = registry_search.build(db, "")
        super().__init__(db, search.query(), _columns(zero_sql), order_by=self._address_order("ASC"), parent=parent)
        self.search = search
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        # Sorting by a column household_order has no key for (origin, tags, risk …) sorts every
        # matching household again for each page: 150-250 ms at 25,000 households. With a runner
        # the worker works the order out once; the pages then come by position.
        self.runner = runner
        self._ordered: list[tuple] | None = None  # (household id, rank, who) in order, from the worker
        self.reordered_by_header = False  # the latest order came from a header click, not a search

    @staticmethod
    def _address_order(direction: str) -> str:
        return f"o.addr_key {direction}"

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        """Only the roles this list uses; a view asks ~7 roles per cell on every paint, so the
        rest return at once (measured: a third of a keystroke's time went to unused roles)."""
        if role == 0:  # DisplayRole
            row = self.row(index.row())
            if row is None:
                return None
            col = self.columns[index.column()]
            value = row.get(col.key)
            if col.display is not None:
                return col.display(value, row)
            return "" if value is None else str(value)
        if role == 1:  # DecorationRole
            col = self.columns[index.column()]
            if col.decoration is None:
                return None
            row = self.row(index.row())
            return None if row is None else col.decoration(row.get(col.key), row)
        if role == 7:  # TextAlignmentRole
            align = self.columns[index.column()].align
            return None if align is None else int(align.value)
        if role == 256:  # UserRole: the household id
            row = self.row(index.row())
            return None if row is None else row.get("_id")
        return None

    def multiData(  # noqa: N802 - Qt override
        self, index: QModelIndex | QPersistentModelIndex, span: QModelRoleDataSpan | QModelRoleData
    ) -> None:
        """All roles of one cell in one call: the item delegate asks for 7 roles per cell on every
        paint, and one Python call per cell instead of seven takes a third off a repaint."""
        if not index.isValid():
            return
        row = self.row(index.row())
        if row is None:
            return
        col = self.columns[index.column()]
        # The delegate reuses one span for every cell: each role must be set or cleared.
        items = [span] if isinstance(span, QModelRoleData) else span
        for item in items:  # type: ignore[union-attr]  # a span iterates over its roles; the stub omits __iter__
            role = item.role()
            if role == 0:
                value = row.get(col.key)
                item.setData(col.display(value, row) if col.display is not None else ("" if value is None else str(value)))
            elif role == 1 and col.decoration is not None:
                item.setData(col.decoration(row.get(col.key), row))
            elif role == 7 and col.align is not None:
                item.setData(int(col.align.value))
            else:
                item.clearData()

    # Pages of 100 rows, not the shared 200: a screen shows ~30, and each row carries correlated
    # sub-queries (size, derived tag), so the first page after a keystroke costs half as much.
    def row(self, row: int) -> dict | None:
        if row < 0 or row >= self.rowCount():
            return None
        page_no, offset = divmod(row, LIST_PAGE)
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch(page_no)
            self._pages[page_no] = page
            while len(self._pages) > 40:
                self._pages.popitem(last=False)
        return page[offset] if offset < len(page) else None

    def _fetch(self, page_no: int) -> list[dict]:
        if self._ordered is not None:
            chunk = self._ordered[page_no * LIST_PAGE:(page_no + 1) * LIST_PAGE]
            return self.search.rows_at(self.db, self.column_sql(), chunk) if chunk else []
        # While the worker works out a slow order, pages follow the default (address) order.
        order = self._order_for(-1, self._sort_order) if self.sorting else self._order
        return self.search.page(self.db, self.column_sql(), order, LIST_PAGE, page_no * LIST_PAGE,
                                narrow=self._narrow(order))

    def _narrow(self, order: str) -> bool:
        """The order is a key of household_order: SQLite pages it without sorting every row."""
        return order.split(" ", 1)[0].startswith("o.") or order.startswith("m.rank, o.addr_key")

    def _start_ordering(self) -> None:
        """Work the current order out on the worker; pages meanwhile follow the address."""
        search, order = self.search, self._order
        self._order_on_worker(lambda db: search.ordered(db, order), self._use_ordered)

    def _use_ordered(self, rows: list[tuple]) -> None:
        self._ordered = rows
        self._count = len(rows)

    def find_row(self, row_id: str) -> int:
        if self._ordered is not None:
            return next((i for i, r in enumerate(self._ordered) if r[0] == row_id), -1)
        for page_no, page in self._pages.items():
            for i, r in enumerate(page):
                if r.get("_id") == row_id:
                    return page_no * LIST_PAGE + i
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid():
            return 0
        if self._count is None:
            self._count = self.search.count(self.db)
        return self._count

    def set_search(self, search: Search) -> None:
        self.search = search
        self.columns[1].sql = "m.who" if search.ranked else "NULL"
        self._query = search.query()
        self._order = self._order_for(self._sort_column, self._sort_order)
        self._ordered = None
        self._drop_worker_order()  # an order on its way is for the old search
        self.reordered_by_header = False
        if self.runner is not None and not self._narrow(self._order):
            self._start_ordering()
        self.refresh()

    def _order_for(self, column: int, order: Qt.SortOrder) -> str:
        direction = "DESC" if order == Qt.SortOrder.DescendingOrder else "ASC"
        if not 0 <= column < len(self.columns):
            # No column chosen: best matches first, then by address.
            return ("m.rank, " if self.search.ranked else "") + self._address_order("ASC")
        col = self.columns[column]
        if col.sort_sql == "@address":
            return self._address_order(direction)
        return f"{col.sort_sql or col.sql} {direction}, {self._address_order('ASC')}"

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        self._order = self._order_for(column, order)
        self._drop_worker_order()
        self.reordered_by_header = True
        if self.runner is not None and not self._narrow(self._order):
            self._start_ordering()  # the rows on screen stay until the new order arrives
            return
        self.layoutAboutToBeChanged.emit()
        self._ordered = None
        self._count = None
        self._pages.clear()
        self.layoutChanged.emit()


class HouseholdSummary(QWidget):
    """Read-only pane beside the list: every field of the selected household, its members, last change.

    Buttons for the household go into ``self.action_row`` (a QHBoxLayout), e.g. a print button.
    """

    open_requested = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.household_id: str | None = None
        self.setObjectName("householdSummary")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        self.title = QLabel()
        self.title.setObjectName("householdSummaryTitle")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.fields = QLabel()
        self.fields.setWordWrap(True)
        self.fields.setTextFormat(Qt.TextFormat.RichText)
        self.fields.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.members = QTableWidget(0, 6)
        self.members.setObjectName("householdSummaryMembers")
        self.members.setHorizontalHeaderLabels(["姓名", "关系", "性别", "出生日期", "状态", "身份证号"])
        self.members.verticalHeader().hide()
        self.members.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.members.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.members.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.members.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.members.setWordWrap(False)
        self.members.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.member_ids: list[str] = []
        self._has_id: list[bool] = []
        self.members.cellDoubleClicked.connect(self._member_double_clicked)
        self.members.itemSelectionChanged.connect(self._member_selected)
        self.last_change = QLabel()
        self.last_change.setObjectName("householdLastChange")
        self.last_change.setStyleSheet("color: #666;")
        self.action_row = QHBoxLayout()
        self.open_button = QPushButton("打开/编辑（Enter）")
        self.open_button.setObjectName("householdOpenButton")
        self.open_button.clicked.connect(lambda: self.household_id and self.open_requested.emit(self.household_id))
        self.action_row.addWidget(self.open_button)
        # ID numbers are masked in the pane; a whole one is shown only with a reason, and audited.
        self.reveal_button = QPushButton("查看身份证号…")
        self.reveal_button.setObjectName("revealIdButton")
        self.reveal_button.setToolTip("选中一位成员，说明理由后显示完整身份证号（记入操作日志）")
        self.reveal_button.setEnabled(False)
        self.reveal_button.clicked.connect(lambda: self.reveal_id(self.members.currentRow()))
        self.action_row.addWidget(self.reveal_button)
        from app.ui.printing.print_menu import record_button  # the printing feature's 打印… menu

        self.action_row.addWidget(record_button(self, ctx, lambda: self.household_id, [
            ("household-card", "household"), ("residence-certificate", "household"), ("visit-form", "household")]))
        self.action_row.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.fields)
        layout.addWidget(QLabel("家庭成员"))
        layout.addWidget(self.members, 1)
        layout.addWidget(self.last_change)
        layout.addLayout(self.action_row)
        self.show_household(None)

    def show_household(self, household_id: str | None) -> None:
        self.household_id = household_id
        self.open_button.setEnabled(household_id is not None)
        if household_id is None:
            self.title.setText("未选择住户")
            self.fields.setText("在左侧列表中选择一户，按 Enter 打开编辑。")
            self.members.setRowCount(0)
            self.member_ids = []
            self.last_change.setText("")
            return
        db = self.ctx.db
        try:
            h = households.get(db, household_id)
        except KnownError:
            self.show_household(None)
            return
        members = persons.members(db, household_id, include_gone=True)
        head = next((m for m in members if m.id == h.head_person_id), None)
        tags = households.tag_names(h, households.is_zero_employment(db, household_id))
        risk = households.RISK_COLOURS.get(h.risk_colour, "")
        colour = {"red": "#d9363e", "yellow": "#e6a700", "green": "#2f9e44"}.get(h.risk_colour, "#888")
        self.title.setText(f"{h.address or '（未分配房间）'}　{head.name if head else ''}户")
        rows = [
            ("户号", h.number),
            ("风险", f"<span style='color:{colour}'>●</span> {risk}"),
            ("迁出地", f"{h.origin_township or ''} {h.origin_village or ''}".strip()),
            ("搬迁入住", h.move_in_date or ""),
            ("标签", "、".join(tags) or "无"),
            ("户籍迁入", "是" if h.hukou_moved else "否"),
            ("居住证", h.residence_permit or ""),
            ("产权证", h.property_cert or ""),
            ("微菜园", f"{h.garden_plot_m2:g} ㎡" if h.garden_plot_m2 else ""),
            ("状态", h.status),
            ("备注", h.notes or ""),
        ]
        self.fields.setText(
            "<table cellspacing=2>"
            + "".join(
                f"<tr><td style='color:#555'>{k}：</td><td>{v if k == '风险' else html.escape(str(v))}</td></tr>"
                for k, v in rows
            )
            + "</table>"
        )
        self.members.setRowCount(len(members))
        self.member_ids = [m.id for m in members]
        self._has_id = [bool(m.id_number) for m in members]
        self.reveal_button.setEnabled(False)
        for i, m in enumerate(members):
            values = [m.name, m.relation or "", m.sex or "", m.birth_date or "", m.status,
                      persons.id_display(m)]
            for j, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if m.status != PersonStatus.REGISTERED:
                    item.setForeground(Qt.GlobalColor.gray)
                self.members.setItem(i, j, item)
        change = audit.last_change(db, "household", household_id)
        self.last_change.setText(change.describe(db.site_id) if change else "")

    def _member_selected(self) -> None:
        row = self.members.currentRow()
        self.reveal_button.setEnabled(0 <= row < len(self.member_ids) and self._has_id[row])

    def _member_double_clicked(self, row: int, column: int) -> None:
        if column == 5:  # the ID number column
            self.reveal_id(row)

    def reveal_id(self, row: int) -> None:
        """Ask for a reason, then show this member's whole ID number in the pane (until it reloads)."""
        if not (0 <= row < len(self.member_ids)) or not self._has_id[row]:
            return
        from app.ui.registry.reveal_id import reveal

        who = cell(self.members, row, 0).text()
        number = reveal(self.ctx.db, self.member_ids[row], who, self)
        if number:
            item = cell(self.members, row, 5)
            item.setText(number)
            item.setToolTip("已查看完整号码（已记入操作日志）")


class RegistryTab(DataTab):
    """户籍台账: search box + filters over a paged household list, a detail pane, dialogs to edit."""

    # Employment makes the 零就业 tag; places fill the filters and the addresses.
    watches = events.HOUSEHOLDS | events.PERSONS | events.PLACES | events.EMPLOYMENT

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("registryTab")
        self.setAccessibleName("户籍台账")
        self._visit_dialog: Any = None
        self.last_search_ms = 0.0

        self.search_box = SearchBox(self, placeholder="搜索：姓名 / 拼音首字母(zy) / 身份证号或电话片段 / 地址 3-2-501（Ctrl+F）")
        self.search_box.setObjectName("registrySearch")
        self.search_box.setAccessibleName("户籍搜索")

        self.building_filter = self._combo("registryBuildingFilter", "全部楼栋")
        self.grid_filter = self._combo("registryGridFilter", "全部网格")
        self.tag_filter = self._combo("registryTagFilter", "全部标签", [(t, t) for t in households.ALL_TAGS])
        self.risk_filter = self._combo("registryRiskFilter", "全部风险",
                                       [(f"{v}色", k) for k, v in households.RISK_COLOURS.items()])
        self.group_filter = self._combo("registryGroupFilter", "全部人群",
                                        [(v, k) for k, v in registry_search.SPECIAL_GROUPS.items()])
        self.labour_filter = self._combo("registryLabourFilter", "劳动能力",
                                         [(f"{v}劳动力", v) for v in registry_search.LABOUR_ABILITIES])
        self.id_filter = self._combo("registryIdFilter", "身份证：全部",
                                     [(label, key) for key, label in registry_search.ID_STATES.items()])
        self.origin_filter = self._combo("registryOriginFilter", "全部迁出乡镇")
        self.gone_filter = self._combo("registryStatusFilter", "仅在住户",
                                       [("含已迁出/注销", "all"), ("已删除（可恢复）", "deleted")])

        self.model = HouseholdListModel(ctx.db, self, runner=ctx.runner)
        self.table = QTableView(self)
        self.table.setObjectName("registryTable")
        self.table.setAccessibleName("住户列表")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # No row numbers: the vertical header asks the model for ~1,000 labels per refresh, and
        # the count beside the filters says how many rows there are.
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        for i, col in enumerate(self.model.columns):
            if col.width:
                self.table.setColumnWidth(i, col.width)
        self.table.setColumnHidden(1, True)
        self.table.activated.connect(self._open_index)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        # A re-order keeps the row number of the selection; keep the household instead.
        self._kept_household: str | None = None
        self.model.layoutAboutToBeChanged.connect(self._before_reorder)
        self.model.layoutChanged.connect(self._after_reorder)

        self.summary = HouseholdSummary(ctx, self)
        self.summary.open_requested.connect(self.open_household)

        self.new_button = QPushButton("新增住户（Ctrl+N）")
        self.new_button.setObjectName("registryNewButton")
        self.new_button.clicked.connect(self.new_household)
        self.delete_button = QPushButton("删除住户")
        self.delete_button.setObjectName("registryDeleteButton")
        self.delete_button.clicked.connect(self.delete_current)
        self.count_label = QLabel()
        self.count_label.setObjectName("registryCount")
        # A fixed-size label: a text whose width changes on every keystroke would otherwise make
        # the whole tab lay itself out again before each repaint.
        self.count_label.setFixedWidth(330)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._count_warning = False

        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.delete_button)
        # Wraps to a second row when the filters do not fit (a large text size on a 1366-pixel screen).
        filters = FlowLayout()
        for w in (self.building_filter, self.grid_filter, self.tag_filter, self.risk_filter, self.group_filter,
                  self.labour_filter, self.id_filter, self.origin_filter, self.gone_filter):
            filters.addWidget(w)
        filters.addWidget(self.count_label)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        # Scrolls when the screen is short for it (a large text size on a 768-pixel screen).
        summary_scroll = QScrollArea(self)
        summary_scroll.setObjectName("householdSummaryScroll")
        summary_scroll.setWidget(self.summary)
        summary_scroll.setWidgetResizable(True)
        summary_scroll.setFrameShape(QFrame.Shape.NoFrame)
        summary_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter.addWidget(summary_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        summary_scroll.setMinimumWidth(300)
        summary_scroll.setMaximumWidth(460)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

        self.search_box.search.connect(self.apply_search)
        self.search_box.move_down.connect(self._focus_table)
        self.search_box.activated.connect(self.open_current)
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+N"), self, self.new_household, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("F2"), self, self.open_visit_entry, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.delete_current,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self._update_summary)
        self._update_count()

    # -- building -----------------------------------------------------------------------------
    def _combo(self, name: str, any_text: str, items: list[tuple[str, Any]] | None = None) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        combo.setAccessibleName(any_text)
        combo.addItem(any_text, None)
        for text, data in items or []:
            combo.addItem(text, data)
        combo.currentIndexChanged.connect(lambda _i: self.apply_search())
        return combo

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)  # loads the filters the first time, refreshes when stale
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        self._summary_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        # Pending refreshes wait for the tab to be seen again (and never outlive a closed tab).
        self._summary_timer.stop()
        super().hideEvent(event)

    def load_filter_choices(self) -> None:
        """Buildings, grids and origin townships for the filters (small queries, done on first show)."""
        db = self.ctx.db
        self._refill(self.building_filter, [
            (households.address_text(r["name"], None, None), r["id"]) for r in places.buildings(db)
        ])
        self._refill(self.grid_filter, [(r["name"], r["id"]) for r in places.grids(db)])
        self._refill(self.origin_filter, [(t, t) for t in households.origin_townships(db)])

    @staticmethod
    def _refill(combo: QComboBox, items: list[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for text, data in items:
            combo.addItem(text, data)
        idx = combo.findData(current) if current is not None else 0
        combo.setCurrentIndex(max(idx, 0))
        combo.blockSignals(False)

    # -- searching -----------------------------------------------------------------------------
    def filters(self) -> Filters:
        return Filters(
            building_id=self.building_filter.currentData(),
            grid_id=self.grid_filter.currentData(),
            tag=self.tag_filter.currentData(),
            risk_colour=self.risk_filter.currentData(),
            special_group=self.group_filter.currentData(),
            labour_ability=self.labour_filter.currentData(),
            id_state=self.id_filter.currentData(),
            origin_township=self.origin_filter.currentData(),
            include_gone=self.gone_filter.currentData() == "all",
            deleted_only=self.gone_filter.currentData() == "deleted",
        )

    def apply_search(self, _text: str | None = None) -> None:
        t0 = time.perf_counter()
        search = registry_search.build(self.ctx.db, self.search_box.text(), self.filters())
        self.model.set_search(search)
        self.table.setColumnHidden(1, not search.names_people)  # 匹配成员: only while searching for people
        self._update_count()
        if self.model.rowCount() > 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        else:
            self._summary_timer.start()
        self.last_search_ms = (time.perf_counter() - t0) * 1000

    def _update_count(self) -> None:
        n = self.model.rowCount()
        # A capped branch holds MATCH_CAP people, so fewer households than this cannot be a cut list.
        warn = n * 12 >= registry_search.MATCH_CAP and self.model.search.truncated(self.ctx.db)
        self.count_label.setText(f"匹配很多，先列出 {n} 户，请继续输入" if warn else f"共 {n} 户")
        if warn != self._count_warning:  # restyling is slow: only when it changes
            self._count_warning = warn
            self.count_label.setStyleSheet("color: #8a6100;" if warn else "")

    def export_query(self) -> ExportView:
        """What the clerk sees, for "export what I see": the residents of every household listed."""
        return registry_search.residents_view(self.model.search)

    # -- navigation -----------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _focus_table(self) -> None:
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))

    def open_visit_entry(self) -> None:
        """F2: enter a visit to the selected household (the building heads' form)."""
        from app.ui.places.visit_entry import VisitEntryDialog

        if self._visit_dialog is None:
            self._visit_dialog = VisitEntryDialog(self.ctx, None, self)
        self._visit_dialog.present(household_id=self.current_household_id())

    def current_household_id(self) -> str | None:
        idx = self.table.currentIndex()
        return self.model.row_id(idx.row()) if idx.isValid() else None

    def _before_reorder(self, *_args: Any) -> None:
        self._kept_household = self.current_household_id()

    def _after_reorder(self, *_args: Any) -> None:
        if self.model.reordered_by_header:
            row = self.model.find_row(self._kept_household) if self._kept_household else -1
        else:
            row = 0 if self.model.rowCount() else -1  # a search's order arrived: its top row, as typed
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        self._summary_timer.start()  # the pane follows whatever is current now

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        # The detail pane follows a moment later, so typing and arrowing through the list
        # repaint the table first and the pane once, when the clerk pauses.
        self._summary_timer.start()

    def _update_summary(self) -> None:
        if self.ctx.db.closed:  # the pane's timer outlived the window's database (closing, restore)
            return
        hid = self.current_household_id()
        if hid != self.summary.household_id or hid is None:
            self.summary.show_household(hid)

    def _open_index(self, index: QModelIndex) -> None:
        hid = self.model.row_id(index.row())
        if hid:
            self.open_household(hid)

    def open_current(self) -> None:
        hid = self.current_household_id()
        if hid:
            self.open_household(hid)

    def open_household(self, household_id: str) -> None:
        from app.ui.registry.household_dialog import HouseholdDialog

        HouseholdDialog.open_household(self.ctx, household_id, self)

    def new_household(self) -> None:
        from app.ui.registry.household_dialog import HouseholdDialog

        hid = HouseholdDialog.new_household(self.ctx, self)
        if hid:
            self.select_household(hid)

    def select_household(self, household_id: str) -> None:
        row = self.model.find_row(household_id)
        if row < 0:
            self.search_box.setText(households.get(self.ctx.db, household_id).number)
            self.search_box.flush()
            row = self.model.find_row(household_id)
        if row >= 0:
            self.table.selectRow(row)

    def delete_current(self) -> None:
        hid = self.current_household_id()
        if not hid:
            return
        h = households.get(self.ctx.db, hid)
        if not messages.confirm_destructive(
            self, "删除住户",
            f"确定删除住户“{h.address or h.number}”吗？\n删除后可在“已删除（可恢复）”中找到并恢复；"
            "成员、走访和就业记录都会保留。",
        ):
            return
        perform(self.ctx, self, lambda db: households.delete(db, hid), title="无法删除")

    # -- refresh ---------------------------------------------------------------------------------
    def load(self) -> None:
        self.load_filter_choices()

    def refresh(self, changes: Changes) -> None:
        if changes.touches(events.PLACES):
            self.load_filter_choices()
        hid = self.current_household_id()
        self.model.set_search(registry_search.build(self.ctx.db, self.search_box.text(), self.filters()))
        self._update_count()
        row = self.model.find_row(hid) if hid else -1
        if row < 0 and hid:
            row = 0 if self.model.rowCount() else -1
        if row >= 0:
            self.table.selectRow(row)
        self.summary.show_household(self.current_household_id())  # its data may have changed

"""The 楼栋网格 tab: the places tree with counts and picture signs, a place's page, and the due list."""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core.changes import Changes
from app.models.core.errors import KnownError
from app.models.places import places
from app.models.places.places import Counts, PlaceNode
from app.models.places.signs import sign_name
from app.ui.common import events as ev
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.crash import report_exception
from app.ui.common.data_tab import DataTab
from app.ui.common.ops import perform
from app.ui.common.table_models import RISK_COLOURS, RISK_NAMES
from app.ui.places.visits_due import VisitsDuePanel
from app.widgets.sign_icon import sign_icon, sign_pixmap

if TYPE_CHECKING:
    from app.ui.places.visit_entry import VisitEntryDialog

ROLE_TABLE = Qt.ItemDataRole.UserRole
ROLE_ID = Qt.ItemDataRole.UserRole + 1
ROLE_COMMUNITY = Qt.ItemDataRole.UserRole + 2
ROLE_BUILDING = Qt.ItemDataRole.UserRole + 3
TREE_HEADERS = ["名称", "户数", "人数", "红", "黄", "绿", "逾期"]
_LAZY = "__lazy__"
# What else goes when a place is deleted (said in the confirmation).
_DELETE_SCOPE = {
    "community": "及其下的全部片区、网格、楼栋、单元和房间",
    "district": "（其下的网格保留，直接归属社区）",
    "grid": "（其下的楼栋保留，直接归属社区）",
    "building": "及其下的单元和房间",
    "unit": "及其下的房间",
}


class PlacesTab(DataTab):
    """Tree of community → district → grid → building → unit (→ rooms on demand), with a page per place."""

    watches = ev.PLACES | ev.HOUSEHOLDS | ev.PERSONS | ev.VISITS | ev.SETTINGS
    load_after_paint = True

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("placesTab")
        self.setAccessibleName("楼栋网格")
        self._counts: dict[tuple[str, str], Counts] = {}
        self._counts_generation = 0
        self._items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self._visit_dialog: VisitEntryDialog | None = None
        self._reloading = False

        # Tree.
        self.tree = QTreeWidget()
        self.tree.setObjectName("placesTree")
        self.tree.setAccessibleName("社区楼栋树")
        self.tree.setHeaderLabels(TREE_HEADERS)
        self.tree.setIconSize(QSize(22, 22))
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(TREE_HEADERS)):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        # Buttons over the tree.
        self.add_button = QToolButton()
        self.add_button.setObjectName("placeAddButton")
        self.add_button.setText("新建")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        self.add_actions: dict[str, QAction] = {}
        for table, text in (
            ("community", "社区…"),
            ("district", "片区…"),
            ("grid", "网格…"),
            ("building", "楼栋…"),
            ("unit", "单元…"),
            ("room", "房间…"),
        ):
            act = self.add_menu.addAction(f"新建{text}")
            act.triggered.connect(lambda _c=False, t=table: self.add_place(t))
            self.add_actions[table] = act
        self.add_button.setMenu(self.add_menu)
        self.rename_button = self._button("重命名", "placeRenameButton", self.rename_place)
        self.move_button = self._button("移动…", "placeMoveButton", self.move_place)
        self.retire_button = self._button("停用", "placeRetireButton", self.toggle_retired)
        self.delete_button = self._button("删除", "placeDeleteButton", self.delete_place)
        tree_buttons = QHBoxLayout()
        tree_buttons.addWidget(self.add_button)
        for b in (self.rename_button, self.move_button, self.retire_button, self.delete_button):
            tree_buttons.addWidget(b)
        tree_buttons.addStretch(1)
        self.board_button = self._button("图标墙…", "placeBoardButton", self.find_by_sign)
        self.board_button.setToolTip("所有楼栋的大图标：按图片找到楼栋（Ctrl+B）")
        tree_buttons.addWidget(self.board_button)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addLayout(tree_buttons)
        left_lay.addWidget(self.tree)

        # Place page.
        self.page = QWidget()
        self.page.setObjectName("placePage")
        self.sign_label = QLabel()
        self.sign_label.setObjectName("placeSignLabel")
        self.sign_label.setFixedSize(96, 96)
        self.sign_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel("请在左边选择社区、网格或楼栋")
        self.title_label.setObjectName("placeTitle")
        self.title_label.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.title_label.setWordWrap(True)
        self.info_label = QLabel()
        self.info_label.setObjectName("placeInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setTextFormat(Qt.TextFormat.RichText)
        self.sign_button = self._button("设置图标…", "placeSignButton", self.choose_sign)
        self.role_button = self._button("指定负责人…", "placeRoleButton", self.assign_role)
        self.visit_button = self._button("录入走访 (F2)", "visitEntryButton", self.open_visit_entry)
        self.risk_button = self._button("调整风险颜色…", "riskColourButton", self.change_risk_colour)
        self.page_buttons = QHBoxLayout()
        for b in (self.sign_button, self.role_button, self.visit_button, self.risk_button):
            self.page_buttons.addWidget(b)
        from app.ui.printing.print_menu import (
            record_button,  # the printing feature's 打印… menu (whole building)
        )

        self.page_buttons.addWidget(record_button(self, ctx, self.current_building, [
            ("round-sheet", "building"), ("household-card", "building"), ("visit-form", "building")]))
        self.page_buttons.addStretch(1)
        self.rooms_table = QTableWidget(0, 5)
        self.rooms_table.setObjectName("placeRoomsTable")
        self.rooms_table.setAccessibleName("房间和住户")
        self.rooms_table.setHorizontalHeaderLabels(["单元-房号", "户号", "户主", "颜色", "状态"])
        self.rooms_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rooms_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rooms_table.horizontalHeader().setStretchLastSection(True)
        self.rooms_table.verticalHeader().setVisible(False)
        self.rooms_table.verticalHeader().setDefaultSectionSize(24)
        self.rooms_table.doubleClicked.connect(self._room_activated)
        head = QHBoxLayout()
        head.addWidget(self.sign_label)
        title_box = QVBoxLayout()
        title_box.addWidget(self.title_label)
        title_box.addWidget(self.info_label)
        head.addLayout(title_box, 1)
        page_lay = QVBoxLayout(self.page)
        page_lay.addLayout(head)
        page_lay.addLayout(self.page_buttons)
        page_lay.addWidget(self.rooms_table, 1)
        self.visits_table = QTableWidget(0, 6)
        self.visits_table.setObjectName("placeVisitsTable")
        self.visits_table.setAccessibleName("这一户的走访记录")
        self.visits_table.setHorizontalHeaderLabels(["日期", "类型", "走访人", "情况", "反映问题", "跟进"])
        self.visits_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.visits_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.visits_table.horizontalHeader().setStretchLastSection(True)
        self.visits_table.verticalHeader().setVisible(False)
        self.visits_table.verticalHeader().setDefaultSectionSize(24)
        for col, w in enumerate((90, 60, 70, 230, 150)):
            self.visits_table.setColumnWidth(col, w)
        page_lay.addWidget(self.visits_table, 1)

        self.due = VisitsDuePanel(ctx)
        self.due.householdActivated.connect(self._due_activated)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.page)
        right.addWidget(self.due)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        right.setChildrenCollapsible(False)
        # The page's header (sign, name, heads, counts) must never be squeezed; its tables may shrink.
        self.rooms_table.setMinimumHeight(60)
        self.visits_table.setMinimumHeight(60)
        self.due.view.setMinimumHeight(80)
        right.setSizes([400, 330])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([460, 720])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

        board = QAction(self)
        board.setShortcut(QKeySequence("Ctrl+B"))
        board.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        board.triggered.connect(lambda _c=False: self.find_by_sign())
        self.addAction(board)
        shortcut = QAction(self)
        shortcut.setShortcut(QKeySequence("F2"))
        shortcut.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.triggered.connect(lambda _c=False: self.open_visit_entry())
        self.addAction(shortcut)
        delete = QAction(self.tree)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(lambda _c=False: self.delete_place())  # asks before deleting
        self.tree.addAction(delete)
        self._counts_timer = QTimer(self)  # visits saved in a row: count once the clerk pauses
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(800)
        self._counts_timer.timeout.connect(self.reload_counts)
        self._update_buttons()

    def _button(self, text: str, name: str, slot) -> QPushButton:  # noqa: ANN001 - a bound method
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(lambda _c=False: slot())
        return b

    # -- loading ----------------------------------------------------------------------------
    def preload(self) -> None:
        """Build the tree while the tab is still hidden (the main window calls this when idle)."""
        self.ensure_loaded()

    def load(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Rebuild the tree (places only: a few thousand rows at most); counts come from the runner."""
        self.loaded = True
        self.stale = False
        self._reloading = True  # selection changes below set the due list's scope without recomputing
        current = self.current()
        expanded = {key for key, item in self._items.items() if item.isExpanded()}
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items.clear()
        nodes = places.tree(self.ctx.db)
        for node in nodes:
            self._add_node(self.tree.invisibleRootItem(), node, node.id, None)
        self.tree.blockSignals(False)
        for key in expanded:
            if key in self._items:
                self._items[key].setExpanded(True)
        if not expanded:
            for i in range(self.tree.topLevelItemCount()):
                top = self.tree.topLevelItem(i)
                if top is not None:
                    top.setExpanded(True)
        target = self._items.get(current) if current else None
        if target is None and self.tree.topLevelItemCount():
            target = self.tree.topLevelItem(0)
        if target is not None:
            self.tree.setCurrentItem(target)
        else:
            self._show_page()
        self._reloading = False
        self._apply_counts()
        self.reload_counts()
        self.due.reload()  # households or visits may have changed while the tab was hidden

    def _add_node(
        self, parent: QTreeWidgetItem, node: PlaceNode, community_id: str, building_id: str | None
    ) -> None:
        item = QTreeWidgetItem(parent)
        label = node.name
        if node.sign:
            label += f"（{sign_name(node.sign)}）"
        if node.retired:
            label += "［已停用］"
            item.setForeground(0, Qt.GlobalColor.gray)
        item.setText(0, label)
        item.setData(0, ROLE_TABLE, node.table)
        item.setData(0, ROLE_ID, node.id)
        item.setData(0, ROLE_COMMUNITY, community_id)
        if node.table == "building":
            building_id = node.id
        item.setData(0, ROLE_BUILDING, building_id)
        if node.sign:
            item.setIcon(0, sign_icon(node.sign))
        for col in range(1, len(TREE_HEADERS)):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._items[(node.table, node.id)] = item
        for child in node.children:
            self._add_node(item, child, community_id, building_id)
        if node.table == "unit":
            QTreeWidgetItem(item, [_LAZY])  # rooms are loaded when the unit is opened

    def _expanded(self, item: QTreeWidgetItem) -> None:
        first = item.child(0)
        if item.data(0, ROLE_TABLE) != "unit" or item.childCount() != 1 or first is None or first.text(0) != _LAZY:
            return
        item.takeChild(0)
        for r in places.rooms_of_unit(self.ctx.db, item.data(0, ROLE_ID)):
            child = QTreeWidgetItem(item)
            text = r["number"]
            if r["head_name"]:
                text += f"　{r['head_name']}"
            child.setText(0, text)
            child.setData(0, ROLE_TABLE, "room")
            child.setData(0, ROLE_ID, r["id"])
            child.setData(0, ROLE_COMMUNITY, item.data(0, ROLE_COMMUNITY))
            child.setData(0, ROLE_BUILDING, item.data(0, ROLE_BUILDING))
            if r["risk_colour"]:
                child.setIcon(0, _colour_icon(r["risk_colour"]))
            self._items[("room", r["id"])] = child

    def reload_counts(self) -> None:
        self._counts_timer.stop()
        self._counts_generation += 1
        gen = self._counts_generation
        today = dt.date.today()

        def job(db, _progress):  # noqa: ANN001 - runner signature
            return places.counts_by_place(db, today)

        def done(counts: dict) -> None:
            if gen == self._counts_generation:
                self._counts = counts
                self._apply_counts()
                self._show_page()

        self.ctx.runner.run(job, on_success=done)

    def _apply_counts(self) -> None:
        for (table, pid), item in self._items.items():
            c = self._counts.get((table, pid))
            if table == "room":
                continue
            values = [c.households, c.residents, c.red, c.yellow, c.green, c.overdue] if c else [""] * 6
            for col, v in enumerate(values, start=1):
                item.setText(col, str(v) if v != "" else "")
            if c and c.overdue:
                item.setForeground(6, Qt.GlobalColor.red)

    def refresh(self, changes: Changes) -> None:
        if changes.touches(ev.PLACES | ev.HOUSEHOLDS | ev.PERSONS):
            self.reload()
        else:
            self._counts_timer.start()  # visits or settings: the tree itself did not change

    # -- selection --------------------------------------------------------------------------
    def current(self) -> tuple[str, str] | None:
        item = self.tree.currentItem()
        if item is None or item.data(0, ROLE_TABLE) is None:
            return None
        return item.data(0, ROLE_TABLE), item.data(0, ROLE_ID)

    def current_building(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, ROLE_BUILDING) if item is not None else None

    def current_community(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, ROLE_COMMUNITY) if item is not None else None

    def select(self, table: str, place_id: str) -> bool:
        item = self._items.get((table, place_id))
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        return True

    def _current_changed(self, *_args: object) -> None:
        self._show_page()
        self._update_buttons()
        building = self.current_building()
        name = None
        if building:
            item = self._items.get(("building", building))
            name = item.text(0) if item else None
        self.due.set_scope(self.current_community(), building, name, reload=not self._reloading)

    def _update_buttons(self) -> None:
        cur = self.current()
        table = cur[0] if cur else None
        self.rename_button.setEnabled(table is not None)
        self.delete_button.setEnabled(table is not None)
        self.retire_button.setEnabled(table in ("district", "grid", "building", "unit", "room"))
        self.move_button.setEnabled(table in ("grid", "building"))
        self.sign_button.setEnabled(table in ("building", "unit"))
        self.role_button.setEnabled(table in ("grid", "building", "unit"))
        self.risk_button.setEnabled(table in ("building", "unit", "room"))
        if cur:
            item = self._items.get(cur)
            retired = bool(item and "［已停用］" in item.text(0))
            self.retire_button.setText("恢复使用" if retired else "停用")
        has_comm = self.current_community() is not None
        for t in ("district", "grid", "building"):
            self.add_actions[t].setEnabled(has_comm)
        self.add_actions["unit"].setEnabled(self.current_building() is not None)
        self.add_actions["room"].setEnabled(table in ("unit", "room"))

    def _show_page(self) -> None:
        cur = self.current()
        self.rooms_table.setRowCount(0)
        self.rooms_table.setVisible(cur is not None and cur[0] in ("building", "unit"))
        self.visits_table.setRowCount(0)
        self.visits_table.setVisible(cur is not None and cur[0] == "room")
        if cur is None:
            self.sign_label.clear()
            self.title_label.setText(
                "还没有社区。请点“新建 → 新建社区…”开始。"
                if not self._items
                else "请在左边选择社区、网格或楼栋"
            )
            self.info_label.clear()
            return
        table, pid = cur
        try:
            row = places.get_place(self.ctx.db, table, pid)
            path = places.place_path(self.ctx.db, table, pid)
        except KnownError:
            return
        sign = row.get("sign")
        self.sign_label.setPixmap(sign_pixmap(sign, 88) if sign else sign_pixmap(None))
        if not sign and table in ("building", "unit"):
            self.sign_label.setText("无图标")
        self.title_label.setText(path + (f"　图标：{sign_name(sign)}" if sign else ""))
        lines: list[str] = [
            f"<b>{places.KIND_NAMES[table]}</b>" + ("（已停用）" if row.get("retired") else "")
        ]
        if table in places.ROLE_FOR_PLACE:
            role = places.ROLE_NAMES[places.ROLE_FOR_PLACE[table]]
            roles = places.roles_of(self.ctx.db, table, pid)
            who = (
                "、".join(
                    f"{html.escape(r['display_name'])}（{r['kind']}{'，' + html.escape(r['phone'] or r['person_phone'] or '') if (r['phone'] or r['person_phone']) else ''}）"
                    for r in roles
                )
                or "<span style='color:#c92a2a'>未指定</span>"
            )
            lines.append(f"{role}：{who}")
        c = self._counts.get((table, pid))
        if c is not None:
            lines.append(
                f"住户 {c.households} 户，居民 {c.residents} 人；"
                f"<span style='color:{RISK_COLOURS['red'].name()}'>红 {c.red}</span>　"
                f"<span style='color:{RISK_COLOURS['yellow'].name()}'>黄 {c.yellow}</span>　"
                f"<span style='color:{RISK_COLOURS['green'].name()}'>绿 {c.green}</span>；"
                f"走访逾期 <b>{c.overdue}</b> 户"
            )
        elif table != "room":
            lines.append("正在统计……")
        if table == "room":
            lines += self._household_lines(pid)
        self.info_label.setText("<br>".join(lines))
        if table in ("building", "unit"):
            self._fill_rooms(table, pid)

    def _household_lines(self, room_id: str) -> list[str]:
        """The household living in a room: colour, rhythm, last visit; its visits go into the table."""
        from app.models.places import rhythm, visits

        hid = places.household_in_room(self.ctx.db, room_id)
        if not hid:
            return ["空房，没有住户。"]
        brief = visits.household_brief(self.ctx.db, hid)
        rh = rhythm.household_rhythm(self.ctx.db, hid, dt.date.today())
        colour = rhythm.COLOUR_NAMES.get(brief["risk_colour"], "")
        special = "，四必访" if rh["special"] else ""
        if rh["days_overdue"] is None or rh["days_overdue"] > 0:
            state = "<span style='color:#c92a2a'>已逾期</span>"
        else:
            state = "今天到期" if rh["days_overdue"] == 0 else "未到期"
        rows = visits.visits_of(self.ctx.db, hid, limit=20)
        self.visits_table.setRowCount(len(rows))
        for i, v in enumerate(rows):
            found = "、".join(v["flags"] + ([v["findings"]] if v["findings"] else []))
            cells = [
                v["visit_date"],
                v["kind"],
                v["visitor"] or "",
                found,
                v["problems"] or "",
                "需跟进" if v["follow_up_needed"] else "",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.visits_table.setItem(i, col, item)
        return [
            f"户号 {html.escape(brief['number'])}　户主 <b>{html.escape(brief['head_name'] or '—')}</b>　"
            f"{brief['size']} 人　<b>{colour}</b>色{special}（每 {rh['interval_days']} 天走访）",
            f"上次走访：{rh['last_visit'] or '从未走访'}　应访日期：{rh['due'] or '—'}　{state}",
        ]

    def _fill_rooms(self, table: str, pid: str) -> None:
        """Rooms of a building or unit with their households; a unit's own sign is shown by its rooms."""
        units = places.units_of(self.ctx.db, table, pid)
        rows = [(u, r) for u in units for r in places.rooms_of_unit(self.ctx.db, u["id"])]
        self.rooms_table.setRowCount(len(rows))
        for i, (unit, r) in enumerate(rows):
            cells = [
                f"{unit['number']}-{r['number']}",
                r["household_number"] or "",
                r["head_name"] or "",
                RISK_NAMES.get(r["risk_colour"], ""),
                "空房" if not r["household_id"] else "在住",
            ]
            for col, text in enumerate(cells):
                it = QTableWidgetItem(text)
                if col == 0:
                    it.setData(ROLE_ID, r["household_id"])
                    it.setData(ROLE_TABLE, r["id"])
                    if unit["sign"]:
                        it.setIcon(sign_icon(unit["sign"]))
                        it.setToolTip(f"单元图标：{sign_name(unit['sign'])}")
                if col == 3 and r["risk_colour"]:
                    it.setIcon(_colour_icon(r["risk_colour"]))
                self.rooms_table.setItem(i, col, it)

    # -- actions ----------------------------------------------------------------------------
    def _context_menu(self, pos) -> None:  # noqa: ANN001 - QPoint
        menu = QMenu(self)
        for b in (
            self.rename_button,
            self.move_button,
            self.retire_button,
            self.delete_button,
            self.sign_button,
            self.role_button,
            self.visit_button,
        ):
            if b.isEnabled():
                menu.addAction(b.text(), b.click)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def add_place(self, table: str) -> None:
        from app.ui.places.place_dialogs import add_place_interactive

        cur = self.current()
        try:
            new = add_place_interactive(
                self, self.ctx, table, cur, self.current_community(), self.current_building()
            )
        except KnownError as exc:
            report_exception(exc)
            return
        if new:
            self.reload()
            self.select(table, new)

    def rename_place(self) -> None:
        cur = self.current()
        if not cur:
            return
        table, pid = cur
        row = places.get_place(self.ctx.db, table, pid)
        old = row.get("name") or row.get("number") or ""
        text, ok = QInputDialog.getText(
            self, "重命名", f"新的{places.KIND_NAMES[table]}名称：", text=str(old)
        )
        if not ok:
            return
        perform(self.ctx, self, lambda db: places.rename(db, table, pid, text))

    def move_place(self) -> None:
        from app.ui.places.place_dialogs import choose_move_target

        cur = self.current()
        if not cur or cur[0] not in ("grid", "building"):
            return
        target = choose_move_target(self, self.ctx, cur[0], cur[1])
        if target is None:
            return
        perform(self.ctx, self, lambda db: places.move(db, cur[0], cur[1], target or None))

    def toggle_retired(self) -> None:
        cur = self.current()
        if not cur:
            return
        table, pid = cur
        row = places.get_place(self.ctx.db, table, pid)
        retire = not row.get("retired")
        kind = places.KIND_NAMES[table]
        if retire and not messages.confirm(self, "停用", f"停用这个{kind}？停用后仍保留记录，但不再用于新的登记。"):
            return
        perform(self.ctx, self, lambda db: places.set_retired(db, table, pid, retire),
                on_error=lambda exc: self._explain_households(exc, table, pid))

    def delete_place(self) -> None:
        cur = self.current()
        if not cur:
            return
        table, pid = cur
        kind = places.KIND_NAMES[table]
        path = places.place_path(self.ctx.db, table, pid)
        n = places.households_in(self.ctx.db, table, pid)
        if n:
            self._explain_households(None, table, pid)
            return
        if not messages.confirm(
            self, "删除", f"确定删除{kind}“{path}”{_DELETE_SCOPE.get(table, '')}吗？\n（记录会保留在历史中，可由管理员恢复。）",
        ):
            return
        perform(self.ctx, self, lambda db: places.delete_place(db, table, pid),
                on_error=lambda exc: self._explain_households(exc, table, pid))

    def _explain_households(self, exc: KnownError | None, table: str, pid: str) -> None:
        """A place with households cannot go: say why, and offer to move the households first."""
        from app.ui.places.place_dialogs import RelocateDialog

        n = places.households_in(self.ctx.db, table, pid)
        if not n:
            if exc is not None:
                report_exception(exc)
            return
        kind = places.KIND_NAMES[table]
        move = "搬迁住户…"
        if messages.choose(self, "还有住户", f"这个{kind}还住着 {n} 户，不能删除或停用。\n请先把这些住户搬到其他房间。",
                           [move], cancel="关闭", icon="warning", object_name="placeHasHouseholdsBox") == move:
            RelocateDialog(self.ctx, table, pid, self).exec()

    def choose_sign(self) -> None:
        from app.widgets.sign_chooser import SignChooserDialog

        cur = self.current()
        if not cur or cur[0] not in ("building", "unit"):
            return
        table, pid = cur
        row = places.get_place(self.ctx.db, table, pid)
        used = places.signs_in_use(self.ctx.db, self.current_community() or "") if table == "building" else {}
        used = {k: v for k, v in used.items() if k != row.get("sign")}
        dlg = SignChooserDialog(row.get("sign"), used, self)
        while dlg.exec():
            if perform(self.ctx, self, lambda db: places.set_sign(db, table, pid, dlg.selected())):
                break

    def assign_role(self) -> None:
        from app.ui.places.place_dialogs import RoleDialog

        cur = self.current()
        if not cur or cur[0] not in places.ROLE_FOR_PLACE:
            return
        dlg = RoleDialog(self.ctx, cur[0], cur[1], self)
        dlg.exec()

    def find_by_sign(self) -> None:
        """The sign board: pick a building by its picture and show it in the tree."""
        from app.ui.places.building_board import choose_building

        chosen = choose_building(self.ctx.db, self.current_building(), self)
        if chosen is not None:
            self.select("building", chosen)
            self.tree.setFocus()

    def open_visit_entry(self, household_id: str | None = None, building_id: str | None = None) -> None:
        from app.ui.places.visit_entry import VisitEntryDialog

        building_id = building_id or self.current_building()
        current = self.current()
        if household_id is None and current is not None and current[0] == "room":
            household_id = self._selected_household()  # a room picked in the tree: that household
        if self._visit_dialog is None:
            self._visit_dialog = VisitEntryDialog(self.ctx, building_id, self)
        self._visit_dialog.present(building_id, household_id)

    def change_risk_colour(self, household_id: str | None = None) -> None:
        from app.ui.places.place_dialogs import RiskColourDialog

        if household_id is None:
            household_id = self._selected_household()
        if not household_id:
            messages.info(self, "调整风险颜色", "请先选择一户（在房间列表或待走访清单中）。")
            return
        RiskColourDialog(self.ctx, household_id, self).exec()  # its write reaches the views by itself

    def _selected_household(self) -> str | None:
        rows = self.rooms_table.selectionModel().selectedRows() if self.rooms_table.selectionModel() else []
        if rows:
            it = self.rooms_table.item(rows[0].row(), 0)
            if it is not None and it.data(ROLE_ID):
                return it.data(ROLE_ID)
        cur = self.current()
        if cur and cur[0] == "room":
            return places.household_in_room(self.ctx.db, cur[1])
        idx = self.due.view.currentIndex()
        if idx.isValid():
            return self.due.model.rows[idx.row()].household_id
        return None

    def _room_activated(self, index) -> None:  # noqa: ANN001 - QModelIndex
        it = self.rooms_table.item(index.row(), 0)
        if it is not None and it.data(ROLE_ID):
            self.open_visit_entry(it.data(ROLE_ID), self.current_building())

    def _due_activated(self, household_id: str, building_id: str) -> None:
        self.open_visit_entry(household_id, building_id or None)


def _colour_icon(colour: str):  # noqa: ANN202 - QIcon
    from PySide6.QtGui import QIcon, QPixmap

    pm = QPixmap(12, 12)
    pm.fill(RISK_COLOURS.get(colour, Qt.GlobalColor.gray))
    return QIcon(pm)

"""Dialogs of the places tab: new place, move, heads and grid workers, risk colour, relocating households."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.places import places, rhythm
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform


def _buttons(dialog: QDialog, ok_text: str = "确定") -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    box.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class _SafeDialog(QDialog):
    """accept() runs `save(db)` as one operation; a KnownError keeps the dialog open with the message shown."""

    def save(self, db: Database) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    ctx: AppContext

    def accept(self) -> None:
        if perform(self.ctx, self, self.save):
            super().accept()


# -- new places ------------------------------------------------------------------------------------
class BuildingDialog(_SafeDialog):
    """A new building, optionally with its units and rooms generated (floor × rooms per floor)."""

    def __init__(
        self, ctx: AppContext, community_id: str, grid_id: str | None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.ctx = ctx
        self.community_id = community_id
        self.new_id: str | None = None
        self.setObjectName("buildingDialog")
        self.setWindowTitle("新建楼栋")
        self.name = QLineEdit()
        self.name.setObjectName("buildingName")
        self.name.setPlaceholderText("例如 3栋")
        self.number = QSpinBox()
        self.number.setObjectName("buildingNumber")
        self.number.setRange(0, 999)
        self.number.setSpecialValueText("不填")
        self.grid = QComboBox()
        self.grid.setObjectName("buildingGrid")
        self.grid.addItem("（不属于网格）", None)
        for g in places.grids(ctx.db, community_id, include_retired=False):
            self.grid.addItem(g["name"], g["id"])
        i = self.grid.findData(grid_id)
        self.grid.setCurrentIndex(max(i, 0))
        self.units = QSpinBox()
        self.units.setObjectName("buildingUnits")
        self.units.setRange(0, 20)
        self.units.setValue(2)
        self.floors = QSpinBox()
        self.floors.setObjectName("buildingFloors")
        self.floors.setRange(0, 60)
        self.floors.setValue(6)
        self.per_floor = QSpinBox()
        self.per_floor.setObjectName("buildingRoomsPerFloor")
        self.per_floor.setRange(0, 20)
        self.per_floor.setValue(2)
        form = QFormLayout(self)
        form.addRow("楼栋名称：", self.name)
        form.addRow("楼号：", self.number)
        form.addRow("所属网格：", self.grid)
        form.addRow("单元数：", self.units)
        form.addRow("层数：", self.floors)
        form.addRow("每层每单元户数：", self.per_floor)
        form.addRow(QLabel("房号按“层+序号”生成，例如 5 层第 1 户为 501。"))
        form.addRow(_buttons(self, "新建"))

    def save(self, db: Database) -> None:
        self.new_id = places.add_building(
            db,
            self.community_id,
            self.name.text(),
            grid_id=self.grid.currentData(),
            number=self.number.value() or None,
            floors=self.floors.value() or None,
            units=self.units.value(),
            rooms_per_floor=self.per_floor.value(),
        )


def add_place_interactive(
    parent: QWidget,
    ctx: AppContext,
    table: str,
    current: tuple[str, str] | None,
    community_id: str | None,
    building_id: str | None,
) -> str | None:
    """Ask for what a new place needs and create it; returns the new id (None if cancelled or refused)."""
    db = ctx.db

    def create(action: Callable[[Database], str]) -> str | None:
        return perform(ctx, parent, action).value
    if table == "building":
        if not community_id:
            raise KnownError("请先选择一个社区。")
        grid_id = None
        if current and current[0] == "grid":
            grid_id = current[1]
        dlg = BuildingDialog(ctx, community_id, grid_id, parent)
        return dlg.new_id if dlg.exec() else None
    if table == "unit":
        if not building_id:
            raise KnownError("请先选择一栋楼。")
        nxt = places.next_unit_number(db, building_id)
        n, ok = QInputDialog.getInt(parent, "新建单元", "单元号：", nxt, 1, 99)
        return create(lambda db: places.add_unit(db, building_id, n)) if ok else None
    if table == "room":
        if not current or current[0] not in ("unit", "room"):
            raise KnownError("请先选择一个单元。")
        unit_id = current[1] if current[0] == "unit" else places.get_place(db, "room", current[1])["unit_id"]
        text, ok = QInputDialog.getText(parent, "新建房间", "房号（例如 501）：")
        return create(lambda db: places.add_room(db, unit_id, text)) if ok else None
    word = places.KIND_NAMES[table]
    text, ok = QInputDialog.getText(parent, f"新建{word}", f"{word}名称：")
    if not ok:
        return None
    if table == "community":
        return create(lambda db: places.add_community(db, text))
    if not community_id:
        raise KnownError("请先选择一个社区。")
    if table == "district":
        return create(lambda db: places.add_district(db, community_id, text))
    if table == "grid":
        district = current[1] if current and current[0] == "district" else None
        return create(lambda db: places.add_grid(db, community_id, text, district))
    raise ValueError(table)


def choose_move_target(parent: QWidget, ctx: AppContext, table: str, place_id: str) -> str | None:
    """The new parent for a grid (a district) or a building (a grid); "" for none, None if cancelled."""
    row = places.get_place(ctx.db, table, place_id)
    target_table = "district" if table == "grid" else "grid"
    targets = places.districts if target_table == "district" else places.grids
    options = [("（直接属于社区）", "")] + [
        (r["name"], r["id"]) for r in targets(ctx.db, row["community_id"], include_retired=False)
    ]
    labels = [o[0] for o in options]
    word = places.KIND_NAMES[target_table]
    label, ok = QInputDialog.getItem(parent, "移动", f"把“{row['name']}”移到哪个{word}下：", labels, 0, False)
    if not ok:
        return None
    return dict(options)[label]


# -- heads and grid workers --------------------------------------------------------------------------
class RoleDialog(_SafeDialog):
    """Make a resident (found by name) or a staff member the grid worker / building head / unit head."""

    def __init__(self, ctx: AppContext, table: str, place_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.table = table
        self.place_id = place_id
        self.community_id = places.community_of(ctx.db, table, place_id)
        self.building_id = {"building": place_id, "unit": None}.get(table)
        if table == "unit":
            self.building_id = places.get_place(ctx.db, "unit", place_id)["building_id"]
        role = places.ROLE_NAMES[places.ROLE_FOR_PLACE[table]]
        self.setObjectName("roleDialog")
        self.setWindowTitle(f"指定{role}")
        self.resident = QRadioButton("本社区居民")
        self.resident.setObjectName("roleResident")
        self.staff = QRadioButton("工作人员 / 志愿者")
        self.staff.setObjectName("roleStaff")
        group = QButtonGroup(self)
        group.addButton(self.resident)
        group.addButton(self.staff)
        self.resident.setChecked(True)
        self.search = QLineEdit()
        self.search.setObjectName("roleSearch")
        self.search.setPlaceholderText("输入姓名、拼音首字母、身份证号或房号查找居民")
        self.search.textChanged.connect(self._search)
        self.results = QListWidget()
        self.results.setObjectName("roleResults")
        self.results.setMaximumHeight(160)
        self.staff_name = QLineEdit()
        self.staff_name.setObjectName("roleStaffName")
        self.phone = QLineEdit()
        self.phone.setObjectName("rolePhone")
        self.current = QListWidget()
        self.current.setObjectName("roleCurrent")
        self.current.setMaximumHeight(80)
        self.end_button = QPushButton("解除选中的负责人")
        self.end_button.setObjectName("roleEnd")
        self.end_button.setAutoDefault(False)
        self.end_button.clicked.connect(self.end_selected)
        # A grid may have several grid workers; a building or unit has one head, replaced by the new one.
        self.replace = QCheckBox(f"替换现任{role}")
        self.replace.setObjectName("roleReplace")
        self.replace.setChecked(table != "grid")
        form = QFormLayout(self)
        form.addRow(QLabel(places.place_path(ctx.db, table, place_id)))
        cur_row = QHBoxLayout()
        cur_row.addWidget(self.current, 1)
        cur_row.addWidget(self.end_button)
        form.addRow(f"现任{role}：", cur_row)
        kinds = QHBoxLayout()
        kinds.addWidget(self.resident)
        kinds.addWidget(self.staff)
        form.addRow(kinds)
        form.addRow("查找居民：", self.search)
        form.addRow(self.results)
        form.addRow("工作人员姓名：", self.staff_name)
        form.addRow("联系电话：", self.phone)
        form.addRow(self.replace)
        form.addRow(_buttons(self))
        self.resident.toggled.connect(self._kind_changed)
        self._kind_changed()
        self._load_current()

    def _load_current(self) -> None:
        self.current.clear()
        for r in places.roles_of(self.ctx.db, self.table, self.place_id):
            phone = r["phone"] or r["person_phone"] or ""
            item = QListWidgetItem(f"{r['display_name']}（{r['kind']}）{phone}")
            item.setData(Qt.ItemDataRole.UserRole, r["id"])
            self.current.addItem(item)
        if not self.current.count():
            self.current.addItem("未指定")
        self.end_button.setEnabled(bool(self.current.item(0).data(Qt.ItemDataRole.UserRole)))

    def end_selected(self) -> None:
        item = self.current.currentItem() or self.current.item(0)
        role_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not role_id:
            return
        if not messages.confirm(self, "解除负责人", f"解除“{item.text()}”？"):
            return
        perform(self.ctx, self, lambda db: places.end_role(db, role_id))
        self._load_current()

    def _kind_changed(self, *_args: object) -> None:
        res = self.resident.isChecked()
        self.search.setEnabled(res)
        self.results.setEnabled(res)
        self.staff_name.setEnabled(not res)

    def _search(self, text: str) -> None:
        self.results.clear()
        text = text.strip()
        if not text:
            return
        rows = places.role_candidates(self.ctx.db, text, self.community_id, self.building_id)
        for r in rows:
            item = QListWidgetItem(
                f"{r['name']}　{r['b'] or ''}{r['u'] or ''}-{r['r'] or ''}　{r['phone'] or ''}"
            )
            item.setData(Qt.ItemDataRole.UserRole, r["id"])
            item.setData(Qt.ItemDataRole.UserRole + 1, r["phone"])
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def save(self, db: Database) -> None:
        if self.resident.isChecked():
            item = self.results.currentItem()
            if item is None:
                raise KnownError("请输入姓名并在列表中选中一位居民。")
            places.assign_role(
                db,
                self.table,
                self.place_id,
                person_id=item.data(Qt.ItemDataRole.UserRole),
                phone=self.phone.text() or item.data(Qt.ItemDataRole.UserRole + 1),
                replace=self.replace.isChecked(),
            )
        else:
            places.assign_role(
                db,
                self.table,
                self.place_id,
                staff_name=self.staff_name.text(),
                phone=self.phone.text(),
                replace=self.replace.isChecked(),
            )


# -- risk colour ---------------------------------------------------------------------------------
class RiskColourDialog(_SafeDialog):
    """Change a household's risk colour with a required reason; shows the earlier changes."""

    def __init__(self, ctx: AppContext, household_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.models.places.visits import household_brief

        self.ctx = ctx
        self.household_id = household_id
        hh = household_brief(ctx.db, household_id)
        self.setObjectName("riskColourDialog")
        self.setWindowTitle("调整风险颜色")
        iv = rhythm.intervals(ctx.db)
        self.colour = QComboBox()
        self.colour.setObjectName("riskColour")
        for key in rhythm.COLOURS:
            days = getattr(iv, key)
            self.colour.addItem(f"{rhythm.COLOUR_NAMES[key]}（每 {days} 天走访一次）", key)
        self.colour.setCurrentIndex(max(self.colour.findData(hh["risk_colour"]), 0))
        self.reason = QLineEdit()
        self.reason.setObjectName("riskReason")
        self.reason.setPlaceholderText("必填，例如：家中有人住院")
        self.reason.setMaxLength(200)
        history = rhythm.risk_history(ctx.db, household_id)
        self.history = QTableWidget(len(history), 4)
        self.history.setObjectName("riskHistory")
        self.history.setHorizontalHeaderLabels(["时间", "调整", "原因", "经办人"])
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setStretchLastSection(True)
        for i, h in enumerate(history):
            cells = [
                h["changed_at"] or "",
                f"{rhythm.COLOUR_NAMES.get(h['old_colour'], '')}→"
                f"{rhythm.COLOUR_NAMES.get(h['new_colour'], '')}",
                h["reason"] or "",
                h["changed_by"] or "",
            ]
            for col, text in enumerate(cells):
                self.history.setItem(i, col, QTableWidgetItem(text))
        self.history.resizeColumnsToContents()
        self.history.setColumnWidth(0, max(self.history.columnWidth(0), 150))
        self.history.setColumnWidth(1, max(self.history.columnWidth(1), 60))
        self.history.setColumnWidth(2, max(self.history.columnWidth(2), 220))
        addr = f"{hh['building_name'] or ''}{hh['unit_number'] or ''}-{hh['room_number'] or ''}"
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                f"户号 {hh['number']}　户主 {hh['head_name'] or '—'}　{addr}　"
                f"现为{rhythm.COLOUR_NAMES.get(hh['risk_colour'], '')}色"
            )
        )
        form.addRow("新的颜色：", self.colour)
        form.addRow("调整原因：", self.reason)
        form.addRow(QLabel("以往调整："))
        form.addRow(self.history)
        form.addRow(_buttons(self))
        self.resize(560, 380)

    def save(self, db: Database) -> None:
        rhythm.set_risk_colour(db, self.household_id, self.colour.currentData(), self.reason.text())


# -- relocating households before a place is retired or deleted ----------------------------------------
class RelocateDialog(QDialog):
    """List the households of a place and move them one by one to a room elsewhere."""

    def __init__(self, ctx: AppContext, table: str, place_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.table = table
        self.place_id = place_id
        self.setObjectName("relocateDialog")
        self.setWindowTitle(f"搬迁住户 — {places.place_path(ctx.db, table, place_id)}")
        self.list = QListWidget()
        self.list.setObjectName("relocateList")
        self.building = QComboBox()
        self.building.setObjectName("relocateBuilding")
        community = places.community_of(ctx.db, table, place_id)
        for b in places.buildings(ctx.db, community, include_retired=False):
            self.building.addItem(b["name"], b["id"])
        self.room = QLineEdit()
        self.room.setObjectName("relocateRoom")
        self.room.setPlaceholderText("单元-房号，例如 2-501")
        move_btn = QPushButton("搬到这个房间")
        move_btn.setObjectName("relocateMove")
        move_btn.clicked.connect(self.move_selected)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(QLabel("搬到："))
        row.addWidget(self.building)
        row.addWidget(self.room)
        row.addWidget(move_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("选中一户，填写要搬入的楼栋和房号（旧住址会保留在住址历史中）："))
        lay.addWidget(self.list)
        lay.addLayout(row)
        lay.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
        self.resize(560, 420)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for r in places.households_at(self.ctx.db, self.table, self.place_id):
            item = QListWidgetItem(f"{r['u']}-{r['r']}　{r['number']}　{r['name'] or ''}")
            item.setData(Qt.ItemDataRole.UserRole, r["id"])
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def move_selected(self) -> None:
        from app.models.registry import households

        item = self.list.currentItem()
        if item is None:
            messages.info(self, "搬迁住户", "没有要搬迁的住户了。")
            return
        household_id, building_id, room_text = item.data(Qt.ItemDataRole.UserRole), self.building.currentData(), self.room.text()

        def move(db: Database) -> None:
            households.move(db, household_id, places.resolve_room(db, building_id, room_text)["room_id"])

        if not perform(self.ctx, self, move):
            return
        self.room.clear()
        self.refresh()

"""The household card (一户一档): every household field, its members and its history, editable from the keyboard."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.core import audit
from app.models.core.db import Database
from app.models.core.errors import KnownError, ValidationError
from app.models.core.vocab import PersonStatus
from app.models.registry import households, persons
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.ui.registry.move_dialogs import (
    MoveHouseholdDialog,
    MovePersonDialog,
    PersonStatusDialog,
    ask_dialog,
)
from app.ui.registry.person_dialog import GuardedDialog, PersonDialog, add_checked_row, combo, set_combo

MEMBER_COLUMNS = ["姓名", "与户主关系", "性别", "出生日期", "身份证号", "电话", "劳动能力", "特殊人群", "状态"]


class HouseholdDialog(GuardedDialog):
    """Open with :meth:`open_household` or :meth:`new_household`.

    Layout for helpers: ``self.action_row`` is the QHBoxLayout of buttons at the top right (a print
    button goes there); ``self.household_id`` is the household shown (None until a new one is saved).
    """

    def __init__(self, ctx: AppContext, household_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.setObjectName("householdDialog")
        self.resize(1100, 640)

        self.title = QLabel()
        self.title.setObjectName("householdTitle")
        self.title.setStyleSheet("font-size: 16px; font-weight: bold;")
        self.last_change = QLabel()
        self.last_change.setObjectName("householdDialogLastChange")
        self.last_change.setStyleSheet("color: #666;")
        self.action_row = QHBoxLayout()
        self.move_button = QPushButton("搬迁换房（&M）…")
        self.move_button.setObjectName("householdMoveButton")
        self.move_button.clicked.connect(self.move_household)
        self.action_row.addWidget(self.move_button)
        self.restore_button = QPushButton("恢复此户")
        self.restore_button.setObjectName("householdRestoreButton")
        self.restore_button.clicked.connect(self.restore_household)
        self.restore_button.hide()
        self.action_row.addWidget(self.restore_button)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.title)
        titles.addWidget(self.last_change)
        header.addLayout(titles, 1)
        header.addLayout(self.action_row)

        # -- household fields -----------------------------------------------------------------
        self.number = QLineEdit()
        self.number.setObjectName("householdNumber")
        self.number.setPlaceholderText("留空自动编号")
        self.room = QLineEdit()
        self.room.setObjectName("householdRoom")
        self.room.setPlaceholderText("如 3-2-501 或 3栋2单元501")
        # A new household: the empty rooms, by building, so the clerk need not know one by heart.
        self.empty_building = QComboBox()
        self.empty_building.setObjectName("householdEmptyBuilding")
        self.empty_building.setAccessibleName("有空房的楼栋")
        self.empty_room = QComboBox()
        self.empty_room.setObjectName("householdEmptyRoom")
        self.empty_room.setAccessibleName("空房")
        self.empty_building.currentIndexChanged.connect(self._fill_empty_rooms)
        self.empty_room.activated.connect(self._take_empty_room)
        room_box = QWidget()
        room_row = QVBoxLayout(room_box)
        room_row.setContentsMargins(0, 0, 0, 0)
        room_row.addWidget(self.room)
        pick_row = QHBoxLayout()
        pick_row.addWidget(self.empty_building, 1)
        pick_row.addWidget(self.empty_room, 1)
        room_row.addLayout(pick_row)
        self._empty: list[dict[str, Any]] = []
        self.pending: list[households.NewMember] = []
        self.address = QLabel()
        self.address.setObjectName("householdAddress")
        self.township = QComboBox()
        self.township.setEditable(True)
        self.township.setObjectName("householdTownship")
        self.village = QLineEdit()
        self.village.setObjectName("householdVillage")
        self.move_in = QLineEdit()
        self.move_in.setObjectName("householdMoveIn")
        self.move_in.setPlaceholderText("如 2019-10-01")
        self.risk = QComboBox()
        self.risk.setObjectName("householdRisk")
        for key, name in households.RISK_COLOURS.items():
            self.risk.addItem(f"● {name}", key)
            self.risk.setItemData(self.risk.count() - 1, QColor({"red": "#d9363e", "yellow": "#e6a700",
                                                                  "green": "#2f9e44"}[key]),
                                  Qt.ItemDataRole.ForegroundRole)
        self.risk.setCurrentIndex(2)
        self.risk_reason = QLineEdit()
        self.risk_reason.setObjectName("householdRiskReason")
        self.risk_reason.setPlaceholderText("风险等级改变的原因（改了风险才需要填）")
        self.tags: dict[str, QCheckBox] = {}
        tag_box = QWidget()
        tag_layout = QVBoxLayout(tag_box)
        tag_layout.setContentsMargins(0, 0, 0, 0)
        tag_row = QHBoxLayout()
        for col, name in households.TAGS.items():
            cb = QCheckBox(name)
            cb.setObjectName(f"household_{col}")
            self.tags[col] = cb
            tag_row.addWidget(cb)
        tag_row.addStretch(1)
        tag_layout.addLayout(tag_row)
        self.zero_label = QLabel()
        self.zero_label.setObjectName("householdZeroEmployment")
        self.zero_label.setStyleSheet("color: #b02a30;")
        tag_layout.addWidget(self.zero_label)
        self.zero_label.hide()
        self.hukou = QCheckBox("户籍已迁入")
        self.hukou.setObjectName("householdHukou")
        self.permit = combo(households.CERT_STATES)
        self.permit.setObjectName("householdPermit")
        self.cert = combo(households.CERT_STATES)
        self.cert.setObjectName("householdCert")
        self.garden = QLineEdit()
        self.garden.setObjectName("householdGarden")
        self.garden.setPlaceholderText("平方米")
        self.status = combo(households.HOUSEHOLD_STATES, blank=False)
        self.status.setObjectName("householdStatus")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("householdNotes")
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(56)
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, widget in [
            ("number", "户号", self.number), ("room", "房号 *", room_box), ("address", "现住址", self.address),
            ("origin_township", "迁出乡镇", self.township), ("origin_village", "迁出村", self.village),
            ("move_in_date", "入住日期", self.move_in), ("risk_colour", "风险等级", self.risk),
            ("risk_reason", "", self.risk_reason), ("tags", "标签", tag_box), ("hukou_moved", "户籍", self.hukou),
            ("residence_permit", "居住证", self.permit), ("property_cert", "产权证", self.cert),
            ("garden_plot_m2", "微菜园", self.garden), ("status", "户状态", self.status), ("notes", "备注", self.notes),
        ]:
            self.errors[key] = add_checked_row(form, key, label, widget)
        self._form = form
        form_box = QWidget()
        form_outer = QVBoxLayout(form_box)
        form_outer.setContentsMargins(0, 0, 0, 0)
        form_outer.addLayout(form)
        form_outer.addStretch(1)  # spare height below the form, not between its rows
        form_box.setMaximumWidth(430)

        # -- members and history ----------------------------------------------------------------
        self.members = QTableWidget(0, len(MEMBER_COLUMNS))
        self.members.setObjectName("householdMembers")
        self.members.setAccessibleName("家庭成员")
        self.members.setHorizontalHeaderLabels(MEMBER_COLUMNS)
        self.members.verticalHeader().hide()
        self.members.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.members.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.members.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.members.itemActivated.connect(lambda _item: self.edit_member())
        self.member_ids: list[str] = []
        member_buttons = QHBoxLayout()
        self.add_member_button = self._button(member_buttons, "添加成员（&A）", "memberAddButton", self.add_member)
        self._button(member_buttons, "编辑（&E）", "memberEditButton", self.edit_member)
        self._button(member_buttons, "设为户主（&H）", "memberHeadButton", self.make_head)
        self._button(member_buttons, "迁出/死亡（&D）…", "memberStatusButton", self.member_status)
        self._button(member_buttons, "移到他户（&T）…", "memberMoveButton", self.move_member)
        self._button(member_buttons, "删除误录", "memberRemoveButton", self.remove_member)
        member_buttons.addStretch(1)
        members_page = QWidget()
        mp = QVBoxLayout(members_page)
        mp.addWidget(self.members, 1)
        mp.addLayout(member_buttons)
        self.addresses = QTableWidget(0, 3)
        self.addresses.setObjectName("householdAddressHistory")
        self.addresses.setHorizontalHeaderLabels(["地址", "起", "止"])
        self.addresses.verticalHeader().hide()
        self.addresses.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.addresses.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.addresses.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.addresses.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.addresses.setMaximumHeight(130)
        self.changes = QTableWidget(0, 4)
        self.changes.setObjectName("householdChangeHistory")
        self.changes.setHorizontalHeaderLabels(["时间", "操作人", "操作", "说明"])
        self.changes.verticalHeader().hide()
        self.changes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes.horizontalHeader().setStretchLastSection(True)
        self.changes.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.changes.setWordWrap(False)
        history_page = QWidget()
        hp = QVBoxLayout(history_page)
        hp.addWidget(QLabel("地址历史"))
        hp.addWidget(self.addresses)
        hp.addWidget(QLabel("修改记录"))
        hp.addWidget(self.changes, 1)
        self.pages = QTabWidget()
        self.pages.setObjectName("householdPages")
        self.pages.addTab(members_page, "家庭成员")
        self.pages.addTab(history_page, "地址与修改历史")

        body = QHBoxLayout()
        body.addWidget(form_box)
        body.addWidget(self.pages, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setText("保存（Ctrl+S）")
        save.setObjectName("householdSaveButton")
        save.setDefault(True)
        self.move_button.setAutoDefault(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭（Esc）")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        townships = households.origin_townships(ctx.db)
        self.township.addItem("")
        self.township.addItems(townships)
        for w in (self.number, self.room, self.village, self.move_in, self.garden, self.risk_reason):
            w.textEdited.connect(self._mark_dirty)
        for c in (self.township, self.risk, self.permit, self.cert, self.status):
            c.currentTextChanged.connect(self._mark_dirty)
        for cb in (*self.tags.values(), self.hukou):
            cb.toggled.connect(self._mark_dirty)
        self.notes.textChanged.connect(self._mark_dirty)
        self.load()

    @staticmethod
    def _button(layout: QHBoxLayout, text: str, name: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(slot)
        layout.addWidget(b)
        return b

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> None:
        db = self.ctx.db
        hid = self.household_id
        new = hid is None
        self._form.setRowVisible(1, new)
        self._form.setRowVisible(2, not new)
        self.move_button.setEnabled(not new)
        self.pages.setTabEnabled(1, not new)
        if hid is None:
            self.setWindowTitle("新增住户")
            self.title.setText("新增住户：填写房号（或选空房）等信息，添加家庭成员，最后一起保存")
            self.last_change.setText("")
            self._load_empty_rooms()
            self._show_pending()
            self.dirty = bool(self.pending)
            self.room.setFocus()
            return
        h = households.get(db, hid)
        self.number.setText(h.number)
        self.address.setText(h.address or "（未分配房间）")
        set_combo(self.township, h.origin_township)
        self.village.setText(h.origin_village or "")
        self.move_in.setText(h.move_in_date or "")
        self.risk.setCurrentIndex(max(self.risk.findData(h.risk_colour), 0))
        self.risk_reason.clear()
        for col, cb in self.tags.items():
            cb.setChecked(h.tags[col])
        zero = households.is_zero_employment(db, hid)
        self.zero_label.setText(f"（自动）{households.ZERO_EMPLOYMENT}：有劳动力但目前无人就业" if zero else "")
        self.zero_label.setVisible(zero)
        self.hukou.setChecked(bool(h.hukou_moved))
        set_combo(self.permit, h.residence_permit)
        set_combo(self.cert, h.property_cert)
        self.garden.setText(f"{h.garden_plot_m2:g}" if h.garden_plot_m2 is not None else "")
        set_combo(self.status, h.status)
        self.notes.setPlainText(h.notes or "")
        self._load_members(hid, h)
        self._load_history(hid)
        head = persons.name_of(db, h.head_person_id)
        deleted = "（已删除）" if h.deleted else ""
        self.restore_button.setVisible(bool(h.deleted))
        self.move_button.setEnabled(not h.deleted)
        self.setWindowTitle(f"一户一档 - {h.address or h.number}")
        self.title.setText(f"{h.address or '（未分配房间）'}　{head or '（无户主）'}户　户号 {h.number}{deleted}")
        change = audit.last_change(db, "household", hid)
        self.last_change.setText(change.describe(db.site_id) if change else "")
        self.dirty = False

    def _load_empty_rooms(self) -> None:
        self._empty = households.empty_rooms(self.ctx.db)
        buildings: dict[str, tuple[str, int]] = {}
        for r in self._empty:
            name, n = buildings.get(r["building_id"], (r["building"], 0))
            buildings[r["building_id"]] = (name, n + 1)
        self.empty_building.blockSignals(True)
        self.empty_building.clear()
        self.empty_building.addItem("或选空房：楼栋…" if buildings else "（没有空房）", None)
        for bid, (name, n) in buildings.items():
            self.empty_building.addItem(f"{name} 空{n}间", bid)
        self.empty_building.blockSignals(False)
        self._fill_empty_rooms()

    def _fill_empty_rooms(self, *_args: object) -> None:
        bid = self.empty_building.currentData()
        self.empty_room.clear()
        self.empty_room.addItem("房间…", None)
        for r in self._empty:
            if r["building_id"] == bid:
                self.empty_room.addItem(f"{r['unit']}单元{r['room']}", f"{r['building']}{r['unit']}单元{r['room']}")
        self.empty_room.setEnabled(bid is not None)

    def _take_empty_room(self, _index: int) -> None:
        address = self.empty_room.currentData()
        if address:
            self.room.setText(address)
            self._mark_dirty()
            self.show_error("room", None)

    def _show_pending(self) -> None:
        self.member_ids = []
        self.members.setRowCount(len(self.pending))
        for i, m in enumerate(self.pending):
            v = m.values
            groups = "、".join(label for key, label in persons.FLAGS.items() if v.get(key))
            relation = v.get("relation") or ("户主" if i == 0 else "")
            shown = persons.id_display({"id_number": v.get("id_number"), "id_unverified": m.accept_unverified_id})
            cells = [v.get("name") or "", relation, v.get("sex") or "", v.get("birth_date") or "", shown,
                     v.get("phone") or "", v.get("labour_ability") or "", groups, "待保存"]
            for j, text in enumerate(cells):
                self.members.setItem(i, j, QTableWidgetItem(str(text)))

    def _load_members(self, hid: str, h: households.Household) -> None:
        rows = persons.members(self.ctx.db, hid, include_gone=True)
        current = self.current_member_id()
        self.member_ids = [m.id for m in rows]
        self.members.setRowCount(len(rows))
        for i, m in enumerate(rows):
            groups = "、".join(label for key, label in persons.FLAGS.items() if m.flags[key])
            relation = m.relation or ""
            if m.id == h.head_person_id:
                relation = "户主"
            values = [m.name, relation, m.sex or "", m.birth_date or "",
                      persons.id_display(m), m.phone or "", m.labour_ability or "", groups,
                      m.status + (f" {m.status_date}" if m.status_date else "")]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if m.status != PersonStatus.REGISTERED:
                    item.setForeground(QColor("#999"))
                if j == 4 and not m.id_number:
                    item.setForeground(QColor("#b02a30"))
                self.members.setItem(i, j, item)
        if current in self.member_ids:
            self.members.selectRow(self.member_ids.index(current))
        elif rows:
            self.members.selectRow(0)

    def _load_history(self, hid: str) -> None:
        hist = households.address_history(self.ctx.db, hid)
        self.addresses.setRowCount(len(hist))
        for i, a in enumerate(hist):
            for j, v in enumerate([a["address_text"] or "", a["from_date"] or "", a["to_date"] or "至今"]):
                self.addresses.setItem(i, j, QTableWidgetItem(v))
        entries = audit.household_history(self.ctx.db, hid, limit=100)
        names = {"insert": "新增", "update": "修改", "delete": "删除", "restore": "恢复", "note": "成员变动"}
        self.changes.setRowCount(len(entries))
        for i, e in enumerate(entries):
            for j, v in enumerate([e["at"].replace("T", " "), e["user"] or "", names.get(e["action"], e["action"]),
                                   e["summary"] or ""]):
                self.changes.setItem(i, j, QTableWidgetItem(v))

    # -- saving ------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number.text(),
            "origin_township": self.township.currentText(),
            "origin_village": self.village.text(),
            "move_in_date": self.move_in.text().strip() or None,
            "risk_colour": self.risk.currentData(),
            "hukou_moved": self.hukou.isChecked(),
            "residence_permit": self.permit.currentText() or None,
            "property_cert": self.cert.currentText() or None,
            "garden_plot_m2": self.garden.text().strip() or None,
            "status": self.status.currentText(),
            "notes": self.notes.toPlainText(),
        }
        for col, cb in self.tags.items():
            out[col] = cb.isChecked()
        return out

    def show_error(self, fld: str | None, message: str | None) -> None:
        for key, label in self.errors.items():
            if key == fld and message:
                label.setText(message)
                label.show()
            else:
                label.hide()
        if fld and message and fld not in self.errors:
            messages.warn(self, "无法保存", message)

    def save(self) -> bool:
        self.show_error(None, None)
        household_id, values, room = self.household_id, self.values(), self.room.text()
        risk_reason = self.risk_reason.text().strip() or None
        if household_id is None and not room.strip():
            self._refused(ValidationError("请填写房号，如 3-2-501。", field="room"))
            return False

        def save(db: Database) -> str:
            if household_id is None:
                return households.create(db, values, room=room, members=self.pending)
            households.update(db, household_id, values, risk_reason=risk_reason)
            return household_id

        done = perform(self.ctx, self, save, on_error=self._refused)
        if not done:
            return False
        if household_id is None:
            self.household_id = done.value
            self.pending = []
            self.room.clear()
        self.load()
        return True

    def _refused(self, exc: KnownError) -> None:
        if not isinstance(exc, ValidationError):
            messages.warn(self, "无法保存", str(exc))
            return
        self.show_error(exc.field, exc.message)
        widget = {"room": self.room, "number": self.number, "origin_township": self.township,
                  "origin_village": self.village, "move_in_date": self.move_in, "garden_plot_m2": self.garden,
                  "notes": self.notes}.get(exc.field or "")
        if widget is not None:
            widget.setFocus()

    # -- members -----------------------------------------------------------------------------
    def current_member_id(self) -> str | None:
        row = self.members.currentRow()
        return self.member_ids[row] if 0 <= row < len(self.member_ids) else None

    def _after_member_dialog(self, dialog: PersonDialog) -> None:
        if dialog.open_household_id and dialog.open_household_id != self.household_id:
            if self.confirm_discard():
                self.household_id = dialog.open_household_id
                self.dirty = False
        self.load()
        if dialog.saved_id in self.member_ids:
            self.members.selectRow(self.member_ids.index(dialog.saved_id))
        self.members.setFocus()

    def add_member(self) -> None:
        if self.household_id is None:
            # Not saved yet: the member is checked now and saved with the household.
            dialog = PersonDialog(self.ctx, None, parent=self)
            ask_dialog(dialog)
            if dialog.collected is not None:
                self.pending.append(dialog.collected)
                self.dirty = True
                self._show_pending()
                self.members.selectRow(len(self.pending) - 1)
            self.members.setFocus()
            return
        dialog = PersonDialog(self.ctx, self.household_id, parent=self)
        ask_dialog(dialog)
        self._after_member_dialog(dialog)

    def edit_member(self) -> None:
        pid = self.current_member_id()
        if pid is None:
            return
        dialog = PersonDialog(self.ctx, self.household_id, pid, parent=self)
        ask_dialog(dialog)
        self._after_member_dialog(dialog)

    def make_head(self) -> None:
        pid = self.current_member_id()
        hid = self.household_id
        if pid is None or hid is None:  # a new household's members are only pending
            return
        db = self.ctx.db
        p = persons.get(db, pid)
        old = households.head_of(db, hid)
        relation = None
        if old and old != pid:
            old_name = persons.name_of(db, old)
            relation, ok = QInputDialog.getItem(self, "更换户主", f"{p.name}成为户主后，原户主{old_name}与新户主的关系：",
                                                persons.RELATIONS[1:], 0, True)
            if not ok:
                return
        if not perform(self.ctx, self, lambda db: persons.set_head(db, hid, pid, old_head_relation=relation),
                       title="无法更换户主"):
            return
        self.load()

    def member_status(self) -> None:
        pid = self.current_member_id()
        if pid and ask_dialog(PersonStatusDialog(self.ctx, pid, self)):
            self.load()

    def move_member(self) -> None:
        pid = self.current_member_id()
        if pid and ask_dialog(MovePersonDialog(self.ctx, pid, self)):
            self.load()

    def remove_member(self) -> None:
        if self.household_id is None:
            row = self.members.currentRow()
            if 0 <= row < len(self.pending):
                self.pending.pop(row)
                self._show_pending()
            return
        pid = self.current_member_id()
        if pid is None:
            return
        p = persons.get(self.ctx.db, pid)
        if not messages.confirm_destructive(self, "删除误录", f"确定删除误录的成员“{p.name}”吗？\n"
                       "（真实的迁出或死亡请用“迁出/死亡”登记，这样会保留在历史中。）"):
            return
        perform(self.ctx, self, lambda db: persons.remove(db, pid), title="无法删除")
        self.load()

    def restore_household(self) -> None:
        if self.household_id is None:
            return
        household_id = self.household_id
        if not perform(self.ctx, self, lambda db: households.restore(db, household_id), title="无法恢复"):
            return
        self.load()

    def move_household(self) -> None:
        if self.household_id and ask_dialog(MoveHouseholdDialog(self.ctx, self.household_id, self)):
            self.load()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def run(cls, dialog: HouseholdDialog) -> None:
        """Show modally; tests monkeypatch this to drive the dialog without a nested event loop."""
        dialog.exec()

    @classmethod
    def open_household(cls, ctx: AppContext, household_id: str, parent: QWidget | None = None) -> HouseholdDialog:
        dialog = cls(ctx, household_id, parent)
        dialog.members.setFocus()
        cls.run(dialog)
        return dialog

    @classmethod
    def new_household(cls, ctx: AppContext, parent: QWidget | None = None) -> str | None:
        dialog = cls(ctx, None, parent)
        cls.run(dialog)
        return dialog.household_id

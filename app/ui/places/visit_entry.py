"""The fast visit entry form for building heads: building once, then room number, findings, save, next."""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtCore import QDate, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.core import settings
from app.models.core.changes import Changes
from app.models.core.errors import KnownError, NeedsConfirmation, ValidationError
from app.models.mediation import mediation as med
from app.models.places import places, rhythm, visits
from app.ui.common import events as ev
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform, perform_asking
from app.ui.places.building_board import ID_ROLE, with_board_button
from app.widgets.sign_icon import sign_icon


class VisitEntryDialog(QDialog):
    """Non-modal form; saving keeps the building, date and visitor so the next household is one room away."""

    def __init__(
        self, ctx: AppContext, building_id: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("visitEntryDialog")
        self.setWindowTitle("录入走访记录")
        self.household_id: str | None = None
        self.last_visit_id: str | None = None
        self._default_visitor = ""
        self._default_visitor_person: str | None = None  # the building head, when a resident
        self._kind_touched = False

        self.building = QComboBox()
        self.building.setObjectName("visitBuilding")
        self.building.setAccessibleName("楼栋")
        self.room = QLineEdit()
        self.room.setObjectName("visitRoom")
        self.room.setAccessibleName("房号")
        self.room.setPlaceholderText("单元-房号，例如 2-501，回车确认")
        self.room.returnPressed.connect(self._room_entered)
        self.room.textEdited.connect(self._room_edited)
        self.household_label = QLabel("请输入房号")
        self.household_label.setObjectName("visitHousehold")
        self.household_label.setWordWrap(True)
        self.household_label.setMinimumHeight(40)
        self.date = QDateEdit()
        self.date.setObjectName("visitDate")
        self.date.setAccessibleName("走访日期")
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setCalendarPopup(True)
        self.date.setDate(QDate.currentDate())
        self.kind = QComboBox()
        self.kind.setObjectName("visitKind")
        self.kind.setAccessibleName("走访类型")
        self.kind.addItems(visits.KINDS)
        self.kind.activated.connect(lambda _i: setattr(self, "_kind_touched", True))
        self.visitor = QLineEdit()
        self.visitor.setObjectName("visitVisitor")
        self.visitor.setAccessibleName("走访人")
        self.flags: list[QCheckBox] = []
        flags_box = QGridLayout()
        for i, text in enumerate(visits.FINDINGS):
            cb = QCheckBox(text)
            cb.setObjectName(f"visitFlag{i}")
            cb.setToolTip(f"数字键 {(i + 1) % 10} 勾选")
            cb.installEventFilter(self)
            self.flags.append(cb)
            flags_box.addWidget(cb, i // 5, i % 5)
        self.findings = QLineEdit()
        self.findings.setObjectName("visitFindings")
        self.findings.setAccessibleName("走访情况")
        self.findings.setPlaceholderText("其他情况（可不填），回车保存")
        self.problems = QLineEdit()
        self.problems.setObjectName("visitProblems")
        self.problems.setAccessibleName("反映问题")
        self.problems.setPlaceholderText("住户反映的问题（可不填），回车保存")
        self.follow_up = QCheckBox("需要跟进")
        self.follow_up.setObjectName("visitFollowUp")
        self.follow_up_note = QLineEdit()
        self.follow_up_note.setObjectName("visitFollowUpNote")
        self.follow_up_note.setPlaceholderText("跟进事项（可不填）")
        for edit in (self.findings, self.problems, self.follow_up_note):
            edit.returnPressed.connect(self.save)

        self.save_button = QPushButton("保存并录入下一户 (Ctrl+Enter)")
        self.save_button.setObjectName("visitSave")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.mediation_button = QPushButton("把上一条反映的问题转为调解案件…")
        self.mediation_button.setObjectName("visitToMediation")
        self.mediation_button.setAutoDefault(False)
        self.mediation_button.setEnabled(False)
        self.mediation_button.clicked.connect(self.to_mediation)
        self.undo_button = QPushButton("删除选中的记录…")
        self.undo_button.setObjectName("visitDelete")
        self.undo_button.setAutoDefault(False)
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.delete_selected)
        close = QPushButton("关闭")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        self.status = QLabel()
        self.status.setObjectName("visitStatus")
        self.status.setWordWrap(True)
        self.recent = QListWidget()
        self.recent.setObjectName("visitRecent")
        self.recent.setAccessibleName("本次录入的走访")
        self.recent.setMaximumHeight(130)
        self.recent.currentItemChanged.connect(self._recent_changed)

        form = QFormLayout()
        form.addRow("楼栋：", with_board_button(self.building, ctx.db, self))
        form.addRow("房号：", self.room)
        form.addRow("", self.household_label)
        row = QHBoxLayout()
        row.addWidget(self.date)
        row.addWidget(QLabel("类型："))
        row.addWidget(self.kind)
        row.addWidget(QLabel("走访人："))
        row.addWidget(self.visitor, 1)
        form.addRow("日期：", row)
        form.addRow("走访情况：", flags_box)
        hint = QLabel("键盘：房号回车 → 数字键 1…0 勾选情况 → 回车填其他情况 → 回车保存")
        hint.setStyleSheet("color: #868e96;")
        form.addRow("", hint)
        form.addRow("", self.findings)
        form.addRow("反映问题：", self.problems)
        fu = QHBoxLayout()
        fu.addWidget(self.follow_up)
        fu.addWidget(self.follow_up_note, 1)
        form.addRow("跟进：", fu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.mediation_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(QLabel("本次已录入："))
        lay.addWidget(self.recent)
        for seq in ("Ctrl+Return", "Ctrl+Enter", "Ctrl+S"):
            QShortcut(QKeySequence(seq), self, self.save)
        self.resize(720, 560)

        self.load_buildings()
        self.building.currentIndexChanged.connect(self._building_changed)
        ctx.events.changed.connect(self._on_changed)
        if building_id:
            self.set_building(building_id)
        self._building_changed()

    # -- building and household --------------------------------------------------------------
    def load_buildings(self) -> None:
        current = self.building.currentData()
        self.building.blockSignals(True)
        self.building.clear()
        for b in places.visit_buildings(self.ctx.db):
            self.building.addItem(sign_icon(b["sign"]), b["name"], b["id"])
            self.building.setItemData(self.building.count() - 1, b["id"], ID_ROLE)
        i = self.building.findData(current)
        self.building.setCurrentIndex(max(i, 0))
        self.building.blockSignals(False)
        if current is not None and self.building.currentData() != current:
            self._building_changed()  # the chosen building was retired or deleted meanwhile

    def _on_changed(self, changes: Changes) -> None:
        if changes.touches(ev.PLACES):
            self.load_buildings()  # keeps the chosen building when it still exists

    def building_id(self) -> str | None:
        return self.building.currentData()

    def set_building(self, building_id: str) -> bool:
        """Choose a building; False if it is not offered (retired or deleted)."""
        i = self.building.findData(building_id)
        if i < 0:
            self.load_buildings()
            i = self.building.findData(building_id)
        if i >= 0 and i != self.building.currentIndex():
            self.building.setCurrentIndex(i)
        return i >= 0

    def _building_changed(self, *_args: object) -> None:
        self._clear_household()
        bid = self.building_id()
        if not bid:
            return
        heads = places.roles_of(self.ctx.db, "building", bid)
        name = heads[0]["display_name"] if heads else ""
        if not self.visitor.text().strip() or self.visitor.text() == self._default_visitor:
            self.visitor.setText(name)
        self._default_visitor = name
        self._default_visitor_person = heads[0]["person_id"] if heads else None

    def set_household(self, household_id: str) -> None:
        """Open the form on one household (from the due list or the room table)."""
        row = places.household_place(self.ctx.db, household_id)
        if row is None or not self.set_building(row["building_id"]):
            self.status.setText("这一户的楼栋已停用或不存在，请先在户籍台账中核对住址。")
            self.status.setStyleSheet("color: #c92a2a;")
            return
        self.room.setText(f"{row['u']}-{row['r']}")
        self._room_entered()

    def present(self, building_id: str | None = None, household_id: str | None = None) -> None:
        """Show the form ready for typing: a household given is looked up, otherwise the cursor
        waits in 房号 so typed keys never land in the building list and switch the building."""
        if building_id:
            self.set_building(building_id)
        self.show()
        self.raise_()
        self.activateWindow()
        if household_id:
            self.set_household(household_id)
        else:
            self.room.setFocus(Qt.FocusReason.OtherFocusReason)
            self.room.selectAll()

    def _room_edited(self, _text: str) -> None:
        if self.household_id is not None:
            self._clear_household()

    def _clear_household(self) -> None:
        self.household_id = None
        self.household_label.setText("请输入房号")
        self.household_label.setStyleSheet("")

    def _room_entered(self) -> None:
        if self.resolve_household(show_error=True):
            self.flags[0].setFocus()

    def resolve_household(self, show_error: bool = False) -> bool:
        bid = self.building_id()
        try:
            if not bid:
                raise ValidationError("请先选择楼栋。", field="building")
            room = places.resolve_room(self.ctx.db, bid, self.room.text())
            if not room["household_id"]:
                raise ValidationError(
                    f"{self.building.currentText()}{room['unit_number']}-{room['room_number']}是空房，没有住户。",
                    field="room",
                )
        except KnownError as exc:
            self.household_id = None
            self.household_label.setText(str(exc))
            self.household_label.setStyleSheet("color: #c92a2a;")
            if show_error:
                self.room.selectAll()
            return False
        self.household_id = room["household_id"]
        brief = visits.household_brief(self.ctx.db, self.household_id)
        rh = rhythm.household_rhythm(self.ctx.db, self.household_id, dt.date.today())
        colour = rhythm.COLOUR_NAMES.get(brief["risk_colour"], "")
        last = rh["last_visit"] or "从未走访"
        special = "，四必访" if rh["special"] else ""
        due = rh["due"] or "—"
        self.household_label.setText(
            f"户主 <b>{html.escape(brief['head_name'] or '—')}</b>　户号 {html.escape(brief['number'])}　"
            f"{brief['size']} 人　"
            f"<b>{colour}</b>色{special}（每 {rh['interval_days']} 天）<br>上次走访：{last}　应访日期：{due}"
        )
        self.household_label.setStyleSheet("")
        if not self._kind_touched:
            kind = (
                "四必访"
                if rh["special"] and brief["risk_colour"] == "green"
                else visits.kind_for_colour(brief["risk_colour"])
            )
            self.kind.setCurrentText(kind)
        return True

    # -- saving ------------------------------------------------------------------------------
    def current_input(self) -> visits.VisitInput:
        return visits.VisitInput(
            household_id=self.household_id or "",
            visit_date=self.date.date().toString("yyyy-MM-dd"),
            kind=self.kind.currentText(),
            visitor_name=self.visitor.text(),
            visitor_person_id=(
                self._default_visitor_person if self.visitor.text().strip() == self._default_visitor else None
            ),
            findings=self.findings.text(),
            finding_flags=[cb.text() for cb in self.flags if cb.isChecked()],
            problems=self.problems.text(),
            follow_up_needed=self.follow_up.isChecked(),
            follow_up_note=self.follow_up_note.text(),
        )

    def save(self) -> str | None:
        """Save the visit; returns its id, or None when something is wrong (the message is shown)."""
        # The room was looked up when Enter was pressed in it; editing the room clears that.
        if self.household_id is None and not self.resolve_household(show_error=True):
            self.status.setText(f"未保存：{self.household_label.text()}")
            self.status.setStyleSheet("color: #c92a2a;")
            self.room.setFocus()
            return None
        v = self.current_input()

        def failed(exc: KnownError) -> None:
            self.status.setText(f"未保存：{exc}")
            self.status.setStyleSheet("color: #c92a2a;")
            field = getattr(exc, "field", None)
            {"date": self.date, "visitor": self.visitor, "findings": self.findings}.get(
                field or "", self.room
            ).setFocus()

        def ask(question: str) -> bool:
            return messages.confirm(self, "同一天再次走访", question)

        done = perform_asking(self.ctx, self, lambda db, confirmed: visits.add_visit(db, v, confirmed=confirmed),
                              ask, on_error=failed)
        if not done:
            if isinstance(done.error, NeedsConfirmation):
                self.status.setText("未保存：这一户当天已有走访记录。")
                self.status.setStyleSheet("color: #c92a2a;")
                self.room.setFocus()
            return None
        visit_id = done.value
        self.last_visit_id = visit_id
        label = f"{v.visit_date}　{self.building.currentText()} {self.room.text().strip()}　{v.kind}"
        if v.problems:
            label += f"　问题：{v.problems.strip()}"
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, visit_id)
        item.setData(Qt.ItemDataRole.UserRole + 1, bool((v.problems or "").strip()))
        self.recent.insertItem(0, item)
        self.recent.blockSignals(True)
        self.recent.setCurrentRow(0)
        self.recent.blockSignals(False)
        self.mediation_button.setEnabled(bool((v.problems or "").strip()))
        self.undo_button.setEnabled(True)
        self.status.setText(f"已保存：{label}。请输入下一户房号。")
        self.status.setStyleSheet("color: #2f9e44;")
        self._reset_for_next()
        return visit_id

    def _reset_for_next(self) -> None:
        self.room.clear()
        self._clear_household()
        for cb in self.flags:
            cb.setChecked(False)
        for edit in (self.findings, self.problems, self.follow_up_note):
            edit.clear()
        self.follow_up.setChecked(False)
        self._kind_touched = False
        self.room.setFocus()

    def _recent_changed(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None = None) -> None:
        self.mediation_button.setEnabled(bool(item and item.data(Qt.ItemDataRole.UserRole + 1)))
        self.undo_button.setEnabled(bool(item and item.data(Qt.ItemDataRole.UserRole)))

    def delete_selected(self) -> bool:
        """A slip of the keyboard: remove a visit saved in this session (kept as a tombstone)."""
        item = self.recent.currentItem()
        visit_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not visit_id:
            return False
        if not messages.confirm(self, "删除走访记录", f"删除这条走访记录？\n{item.text()}"):
            return False
        if not perform(self.ctx, self, lambda db: visits.delete_visit(db, visit_id), title="无法删除"):
            return False
        self.recent.takeItem(self.recent.row(item))
        self.status.setText("已删除这条走访记录。")
        self.status.setStyleSheet("")
        return True

    def to_mediation(self) -> str | None:
        """Turn the selected saved visit's problem into a mediation case in one step."""
        item = self.recent.currentItem()
        visit_id = item.data(Qt.ItemDataRole.UserRole) if item else self.last_visit_id
        if not visit_id:
            return None
        v = visits.get_visit(self.ctx.db, visit_id)
        title, ok = QInputDialog.getText(self, "转为调解案件", "案件标题：", text=(v["problems"] or "")[:60])
        if not ok:
            return None
        cats = list(settings.get(self.ctx.db, "mediation_categories"))
        cat, ok = QInputDialog.getItem(self, "转为调解案件", "纠纷类别：", cats, 0, False)
        if not ok:
            return None
        done = perform(self.ctx, self, lambda db: visits.to_mediation_case(db, visit_id, title, cat))
        if not done:
            return None
        case_id = done.value
        number = med.case_number(self.ctx.db, case_id)
        self.status.setText(f"已转为调解案件 {number or ''}，可在“矛盾调解”页查看。")
        self.status.setStyleSheet("color: #2f9e44;")
        if item:
            item.setData(Qt.ItemDataRole.UserRole + 1, False)
            item.setText(item.text() + f"　→ 调解案件 {number or ''}")
        self.mediation_button.setEnabled(False)
        return case_id

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # A line edit has already acted on Enter (room → findings, text → save); the dialog must not
        # also close or press a button.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape) and not event.modifiers():
            if event.key() == Qt.Key.Key_Escape:
                self.close()
            event.accept()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """On the findings check boxes: digit keys 1…9, 0 tick the boxes; Enter goes on to the text."""
        if event.type() == QEvent.Type.KeyPress and watched in self.flags:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.findings.setFocus()
                return True
            if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
                i = (key - Qt.Key.Key_1) if key != Qt.Key.Key_0 else 9
                if 0 <= i < len(self.flags):
                    self.flags[i].toggle()
                    self.flags[i].setFocus()
                return True
        return super().eventFilter(watched, event)

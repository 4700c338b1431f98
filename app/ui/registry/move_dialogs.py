"""Small dialogs that move things: a household to another room, a person to another household, leaving/death."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core.errors import KnownError, ValidationError
from app.models.core.vocab import PersonStatus
from app.models.registry import households, persons, registry_search
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.ui.registry.person_dialog import ERROR_STYLE, GuardedDialog, combo
from app.widgets.search_box import SearchField


class _FormDialog(GuardedDialog):
    def __init__(self, title: str, name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.form = QFormLayout()
        self.error = QLabel()
        self.error.setObjectName(f"{name}Error")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def save(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def fail(self, exc: KnownError) -> None:
        self.error.setText(str(exc.message if isinstance(exc, ValidationError) else exc))


class MoveHouseholdDialog(_FormDialog):
    """搬迁: the household gets a new room; the old address stays in its history with dates."""

    def __init__(self, ctx: AppContext, household_id: str, parent: QWidget | None = None) -> None:
        super().__init__("住户搬迁（换房）", "moveHouseholdDialog", parent)
        self.ctx = ctx
        self.household_id = household_id
        h = households.get(ctx.db, household_id)
        self.form.addRow("现住址", QLabel(h.address or "（未分配房间）"))
        self.room = QLineEdit()
        self.room.setObjectName("moveRoom")
        self.room.setPlaceholderText("新房号，如 3-2-501 或 3栋2单元501")
        self.date = QLineEdit(dt.date.today().isoformat())
        self.date.setObjectName("moveDate")
        self.form.addRow("搬入房号 *", self.room)
        self.form.addRow("搬迁日期", self.date)
        self.form.addRow("", QLabel("走访记录、调解案件和就业记录都随户保留。"))
        self.room.textEdited.connect(self._mark_dirty)
        self.room.setFocus()

    def save(self) -> None:
        household_id, room, date = self.household_id, self.room.text(), self.date.text().strip() or None

        def failed(exc: KnownError) -> None:
            self.fail(exc)
            self.room.setFocus()

        if not perform(self.ctx, self, lambda db: households.move(db, household_id, room, date), on_error=failed):
            return
        self.dirty = False
        self.accept()


class PersonStatusDialog(_FormDialog):
    """迁出 / 死亡 (or back to 在册): the person stays in the household's history."""

    def __init__(self, ctx: AppContext, person_id: str, parent: QWidget | None = None) -> None:
        super().__init__("登记迁出或死亡", "personStatusDialog", parent)
        self.ctx = ctx
        self.person_id = person_id
        p = persons.get(ctx.db, person_id)
        self.form.addRow("姓名", QLabel(p.name))
        self.status = combo(persons.PERSON_STATES, blank=False)
        self.status.setObjectName("personStatus")
        self.status.setCurrentIndex(1 if p.status == PersonStatus.REGISTERED else 0)
        self.date = QLineEdit(dt.date.today().isoformat())
        self.date.setObjectName("personStatusDate")
        self.note = QLineEdit()
        self.note.setObjectName("personStatusNote")
        self.note.setPlaceholderText("如：迁往某地 / 死亡原因（可不填）")
        self.form.addRow("状态", self.status)
        self.form.addRow("日期", self.date)
        self.form.addRow("说明", self.note)
        self.status.currentTextChanged.connect(self._mark_dirty)
        self.date.textEdited.connect(self._mark_dirty)
        self.note.textEdited.connect(self._mark_dirty)
        self.status.setFocus()

    def save(self) -> None:
        person_id, status, date, note = self.person_id, self.status.currentText(), self.date.text().strip(), self.note.text()
        if not perform(self.ctx, self, lambda db: persons.record_status(db, person_id, status, date, note),
                       on_error=self.fail):
            return
        self.dirty = False
        self.accept()


class MovePersonDialog(_FormDialog):
    """移到他户: find the other household by address, number or a member's name, then choose the relation."""

    def __init__(self, ctx: AppContext, person_id: str, parent: QWidget | None = None) -> None:
        super().__init__("移到其他户", "movePersonDialog", parent)
        self.ctx = ctx
        self.person_id = person_id
        p = persons.get(ctx.db, person_id)
        self.form.addRow("姓名", QLabel(p.name))
        self.search_field = SearchField()
        self.search_field.setObjectName("movePersonFind")
        self.search_field.setPlaceholderText("目标户：地址 3-2-501、户号或户主姓名")
        self.results = QListWidget()
        self.results.setObjectName("movePersonResults")
        self.results.setMaximumHeight(140)
        self.relation: QComboBox = combo(persons.RELATIONS, editable=True)
        self.relation.setObjectName("movePersonRelation")
        self.form.addRow("查找目标户", self.search_field)
        self.form.addRow("", self.results)
        self.form.addRow("与新户主关系", self.relation)
        self.search_field.textChanged.connect(self._search)
        self.search_field.returnPressed.connect(lambda: self.results.setFocus())
        self.search_field.textEdited.connect(self._mark_dirty)
        self.search_field.setFocus()

    def _search(self, text: str) -> None:
        self.results.clear()
        if not text.strip():
            return
        db = self.ctx.db
        own = persons.get(db, self.person_id).household_id
        search = registry_search.build(db, text)
        for hid in search.household_ids(db, limit=30):
            if hid == own:
                continue
            h = households.get(db, hid)
            head = persons.name_of(db, h.head_person_id) or "无户主"
            item = QListWidgetItem(f"{h.address or '无地址'}　户号 {h.number}　户主 {head}")
            item.setData(256, hid)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def save(self) -> None:
        item = self.results.currentItem()
        if item is None:
            self.error.setText("请先查找并选中要移入的户。")
            self.search_field.setFocus()
            return
        person_id, target, relation = self.person_id, item.data(256), self.relation.currentText()
        if not perform(self.ctx, self, lambda db: persons.move(db, person_id, target, relation=relation),
                       on_error=self.fail):
            return
        self.dirty = False
        self.accept()


def ask_dialog(dialog: QDialog) -> bool:
    """Run a dialog modally; tests monkeypatch this to drive it without a nested event loop."""
    return dialog.exec() == QDialog.DialogCode.Accepted

"""The duplicate check at entry: an ID number already registered (blocking) or a same-name-same-birth match (warning)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core.id_numbers import mask
from app.models.registry.persons import Existing

OPEN = "open"
SAVE = "save"
CANCEL = "cancel"


class DuplicateDialog(QDialog):
    """Shows the existing person(s) and household; choices: open it, (save anyway,) cancel."""

    def __init__(self, existing: list[Existing], *, blocking: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicateDialog")
        self.setWindowTitle("身份证号已登记" if blocking else "可能重复登记")
        self.existing = existing
        self.choice = CANCEL
        self.household_id: str | None = None
        layout = QVBoxLayout(self)
        if blocking:
            text = ("这个身份证号已经登记在下面这个人名下。同一个人不能登记两次：\n"
                    "请打开已有的记录核对（搬迁、分户请用“移到他户”），或取消后改正号码。")
        else:
            text = ("已有同名、同出生日期的人（可能是同一个人，只是身份证号不同或没填）。\n"
                    "请核对；确认是不同的人才“仍然保存”。")
        message = QLabel(text)
        message.setObjectName("duplicateMessage")
        message.setWordWrap(True)
        message.setStyleSheet("color: #b02a30;" if blocking else "color: #8a6100;")
        layout.addWidget(message)
        self.table = QTableWidget(len(existing), 6, self)
        self.table.setObjectName("duplicateTable")
        self.table.setHorizontalHeaderLabels(["姓名", "身份证号", "出生日期", "状态", "地址", "户号"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for i, e in enumerate(existing):
            for j, v in enumerate([e.name, mask(e.id_number) if e.id_number else "（未填）", e.birth_date or "", e.status,
                                   e.address or "（未分配房间）", e.household_number or ""]):
                self.table.setItem(i, j, QTableWidgetItem(v))
        if existing:
            self.table.selectRow(0)
        self.table.setMinimumWidth(640)
        self.table.setMaximumHeight(60 + 26 * min(len(existing), 6))
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(self)
        self.open_button = QPushButton("打开已有的户（&O）")
        self.open_button.setObjectName("duplicateOpenButton")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.clicked.connect(self._open)
        self.open_button.setEnabled(any(e.household_id for e in existing))
        if not blocking:
            self.save_button = QPushButton("仍然保存（&S）")
            self.save_button.setObjectName("duplicateSaveButton")
            buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ApplyRole)
            self.save_button.clicked.connect(self._save)
        cancel = buttons.addButton("取消，返回修改", QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setObjectName("duplicateCancelButton")
        cancel.clicked.connect(self.reject)
        cancel.setDefault(True)
        layout.addWidget(buttons)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _open(self) -> None:
        row = max(self.table.currentRow(), 0)
        self.household_id = self.existing[row].household_id if self.existing else None
        self.choice = OPEN
        self.accept()

    def _save(self) -> None:
        self.choice = SAVE
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None, existing: list[Existing], *, blocking: bool) -> tuple[str, str | None]:
        """(choice, household_id to open). Tests monkeypatch this classmethod."""
        dialog = cls(existing, blocking=blocking, parent=parent)
        dialog.exec()
        return dialog.choice, dialog.household_id

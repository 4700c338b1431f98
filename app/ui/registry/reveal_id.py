"""Whole ID numbers on screen or in a file: the clerk picks a reason, which goes into the audit."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.registry import persons
from app.ui.common import messages


class RevealIdDialog(QDialog):
    """Asks why a whole ID number is needed (办理业务核对身份, 开具证明, 数据核查, 其他 + a note)."""

    def __init__(self, who: str, parent: QWidget | None = None, *, title: str = "查看完整身份证号",
                 intro_html: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("revealIdDialog")
        self.setAccessibleName(title)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        intro = QLabel(intro_html or (f"查看 <b>{html.escape(who)}</b> 的完整身份证号。<br>"
                                      "<span style='color:#666'>查看会记入操作日志（谁、何时、理由）。</span>"))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.reason = QComboBox()
        self.reason.setObjectName("revealReason")
        self.reason.setAccessibleName("查看理由")
        self.reason.addItems(persons.REVEAL_REASONS)
        self.note = QLineEdit()
        self.note.setObjectName("revealNote")
        self.note.setAccessibleName("说明")
        self.note.setPlaceholderText("理由选“其他”时必填，如：协助派出所核对")
        form.addRow("理由：", self.reason)
        form.addRow("说明：", self.note)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b02a30;")
        self.error.setObjectName("revealError")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("查看")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("revealOkButton")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(420, 0)

    def _accept(self) -> None:
        if self.reason.currentText() == "其他" and not self.note.text().strip():
            self.error.setText("理由选“其他”时请写明用途。")
            self.note.setFocus()
            return
        self.accept()

    def choice(self) -> tuple[str, str]:
        return self.reason.currentText(), self.note.text().strip()

    @classmethod
    def ask(cls, who: str, parent: QWidget | None = None) -> tuple[str, str] | None:
        """(reason, note), or None if the clerk cancelled. Tests replace this classmethod."""
        dialog = cls(who, parent)
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None

    @classmethod
    def ask_for_file(cls, what: str, parent: QWidget | None = None) -> tuple[str, str] | None:
        """(reason, note) for whole ID numbers and phones written into a file, or None if cancelled.
        Tests replace this classmethod."""
        dialog = cls(what, parent, title="导出完整信息", intro_html=(
            f"<b>{html.escape(what)}</b> 将包含完整的身份证号和电话。<br>"
            "报送外单位请改用脱敏版。<span style='color:#666'>导出会记入操作日志（谁、何时、理由）。</span>"))
        buttons = dialog.findChild(QDialogButtonBox)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok) if buttons is not None else None
        if ok is not None:
            ok.setText("导出")
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


def full_export_reason(db: Database, what: str, parent: QWidget | None = None) -> tuple[str, str] | None:
    """Before a full (unmasked) export: ("", "") when no reason is needed (the data layer masks
    for roles that may not have whole numbers, and a file without accounts asks nothing), the
    reason chosen, or None when the clerk cancelled."""
    principal = db.principal
    if not principal.has_account or not principal.may_export_full:
        return "", ""
    return RevealIdDialog.ask_for_file(what, parent)


def reveal(db: Database, person_id: str, who: str, parent: QWidget | None = None) -> str | None:
    """Ask for a reason and return the whole ID number (recorded), or None if cancelled or refused."""
    answer = RevealIdDialog.ask(who, parent)
    if answer is None:
        return None
    try:
        # direct write: the audit entry that a whole ID number was shown, not an edit
        return persons.reveal_id_number(db, person_id, *answer)
    except KnownError as exc:
        messages.warn(parent, "查看身份证号", str(exc))
        return None

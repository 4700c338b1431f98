"""An ID-number field that says in Chinese what is wrong while the clerk types (GB 11643)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.models.core import id_numbers
from app.models.core.id_numbers import IdInfo

_OK = "color: #2f9e44;"
_BAD = "color: #d9363e;"
_HINT = "color: #777;"


class IdNumberEdit(QWidget):
    """A line edit plus a message line under it.

    ``info`` is the parsed number when valid, else None; ``is_acceptable()`` is True for a valid
    number or an empty field (people who have none yet), False while the text is invalid.
    ``parsed(info)`` is emitted whenever the text becomes a valid number.
    """

    parsed = Signal(object)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("idNumberEdit")
        self.edit.setAccessibleName("身份证号")
        self.edit.setPlaceholderText("18 位身份证号（15 位旧号会自动转换）；没有可留空")
        self.edit.setMaxLength(24)
        # Digits, x/X and spaces only: a letter never even appears in the field.
        self.edit.setValidator(QRegularExpressionValidator(r"[0-9xX ０-９ｘＸ']*", self.edit))
        self.message = QLabel(self)
        self.message.setObjectName("idNumberMessage")
        self.message.setWordWrap(True)
        # A stored number is shown masked until the clerk reveals it (with a reason, audited).
        self.reveal_button = QPushButton("查看/修改…", self)
        self.reveal_button.setObjectName("idNumberRevealButton")
        self.reveal_button.setToolTip("说明理由后显示完整号码，才能修改（记入操作日志）")
        self.reveal_button.hide()
        self.reveal_button.clicked.connect(self._reveal)
        self._hidden: str | None = None
        self._reveal_with: Callable[[], str | None] | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.reveal_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.info: IdInfo | None = None
        self.error: str | None = None
        self._check_digit_only = False
        self.edit.textChanged.connect(self._check)
        self._check("")
        self.setFocusProxy(self.edit)

    def text(self) -> str:
        """The normalised number (18 characters, upper-case X) when valid, else what was typed."""
        if self._hidden is not None:
            return self._hidden
        return self.info.number if self.info else self.edit.text().strip()

    def setText(self, text: str | None) -> None:  # noqa: N802 - Qt naming, like QLineEdit
        self.edit.setText(text or "")

    def set_masked(self, number: str, reveal: Callable[[], str | None]) -> None:
        """Hold `number` but show it masked; `reveal()` (asks a reason, records it) unlocks the field."""
        self._hidden, self._reveal_with = number, reveal
        self.edit.clear()
        self.edit.setReadOnly(True)
        self.edit.setPlaceholderText(id_numbers.mask(number))
        self.reveal_button.show()
        self._show("已遮挡。查看或修改完整号码请点“查看/修改…”。", _HINT)

    @property
    def masked(self) -> bool:
        return self._hidden is not None

    def _reveal(self) -> None:
        if self._hidden is None or self._reveal_with is None:
            return
        number = self._reveal_with()
        if not number:
            return
        self._hidden = None
        self.reveal_button.hide()
        self.edit.setReadOnly(False)
        self.edit.setPlaceholderText("18 位身份证号（15 位旧号会自动转换）；没有可留空")
        self.edit.setText(number)
        self.edit.setFocus()

    def is_acceptable(self) -> bool:
        return self._hidden is not None or self.error is None

    def only_check_digit_wrong(self) -> bool:
        """The number is plausible but its last digit does not check: may be kept 待核实."""
        return self._check_digit_only

    def _check(self, text: str) -> None:
        raw = text.strip()
        self.info = None
        self.error = None
        self._check_digit_only = False
        if not raw:
            self._show("未填写身份证号：可以保存，将标记为待补录。", _HINT)
        else:
            digits = id_numbers.normalise(raw)
            try:
                info = id_numbers.parse(raw)
            except id_numbers.CheckDigitError as exc:
                self.error = str(exc)
                self._check_digit_only = True
                self._show(f"{exc}如纸质记录就是这样，保存时可标记为“待核实”。", _BAD)
            except id_numbers.IdNumberError as exc:
                self.error = str(exc)
                if len(digits) < 18 and len(digits) != 15 and digits.isdigit():
                    self._show(f"还差 {18 - len(digits)} 位。", _HINT)
                else:
                    self._show(self.error, _BAD)
            else:
                self.info = info
                note = "（15 位旧号已转换为 18 位）" if info.converted_from_15 else ""
                self._show(f"✓ {info.sex}，{info.birth_date.isoformat()} 出生{note}", _OK)
                self.parsed.emit(info)
        self.changed.emit()

    def _show(self, text: str, style: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(style)

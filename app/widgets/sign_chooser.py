"""A dialog offering every picture sign as a big button; signs already used nearby are marked."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.signs import SIGNS
from app.widgets.sign_icon import sign_icon

COLUMNS = 6


class SignChooserDialog(QDialog):
    """Pick one sign (or none). `used` maps sign key → the building that already has it."""

    def __init__(self, current: str | None, used: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signChooserDialog")
        self.setWindowTitle("选择图标")
        self._used = used
        self.hint = QLabel()
        self.hint.setObjectName("signChooserHint")
        self.hint.setWordWrap(True)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        grid = QGridLayout()
        grid.setSpacing(6)
        for i, (key, name) in enumerate([("", "不用图标"), *SIGNS.items()]):
            b = QToolButton()
            b.setObjectName(f"sign_{key or 'none'}")
            b.setCheckable(True)
            b.setAutoRaise(False)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIconSize(QSize(56, 56))
            b.setMinimumSize(QSize(96, 96))
            if key:
                b.setIcon(sign_icon(key))
            text = name
            if key in used:
                text += f"\n（{used[key]}已用）"
                b.setStyleSheet("color: #868e96;")
                b.setToolTip(f"{name}已经给了{used[key]}，同一社区的两栋楼不能用同一个图标。")
            b.setText(text)
            b.setAccessibleName(name)
            self.group.addButton(b)
            self.buttons[key] = b
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            b.toggled.connect(self._update)
        self.buttons.get(current or "", self.buttons[""]).setChecked(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        box.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("给楼栋或单元选一个图标（不识字的居民看图认楼）："))
        lay.addLayout(grid)
        lay.addWidget(self.hint)
        lay.addWidget(box)
        self._update()

    def selected(self) -> str | None:
        for key, b in self.buttons.items():
            if b.isChecked():
                return key or None
        return None

    def select(self, key: str | None) -> None:
        self.buttons[key or ""].setChecked(True)

    def _update(self, *_args: object) -> None:
        key = self.selected()
        if key and key in self._used:
            self.hint.setText(
                f"注意：“{SIGNS[key]}”已经给了{self._used[key]}，同一社区的两栋楼不能用同一个图标。"
            )
            self.hint.setStyleSheet("color: #c92a2a;")
        else:
            self.hint.setText("")

"""A dialog offering every picture sign as a big button; signs already used nearby are marked."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.places.signs import BACKGROUNDS, SIGNS, sign_name, split
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
        # The same drawings on a coloured disc: more signs than drawings for a large community.
        self.backgrounds = QButtonGroup(self)
        bg_row = QHBoxLayout()
        bg_row.addWidget(QLabel("底色："))
        self.bg_buttons: dict[str, QRadioButton] = {}
        for key, (name, _colour) in [("", ("无底色", "")), *BACKGROUNDS.items()]:
            rb = QRadioButton(name)
            rb.setObjectName(f"signBackground_{key or 'none'}")
            self.backgrounds.addButton(rb)
            self.bg_buttons[key] = rb
            bg_row.addWidget(rb)
            rb.toggled.connect(self._background_changed)
        bg_row.addStretch(1)
        base, background = split(current)
        self.bg_buttons.get(background or "", self.bg_buttons[""]).setChecked(True)
        self.buttons.get(base, self.buttons[""]).setChecked(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        box.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("给楼栋或单元选一个图标（不识字的居民看图认楼）："))
        lay.addLayout(grid)
        lay.addLayout(bg_row)
        lay.addWidget(self.hint)
        lay.addWidget(box)
        self._update()

    def background(self) -> str:
        return next((k for k, rb in self.bg_buttons.items() if rb.isChecked()), "")

    def selected(self) -> str | None:
        for key, b in self.buttons.items():
            if b.isChecked():
                if not key:
                    return None
                bg = self.background()
                return f"{key}/{bg}" if bg else key
        return None

    def select(self, key: str | None) -> None:
        base, background = split(key)
        self.bg_buttons[background or ""].setChecked(True)
        self.buttons[base].setChecked(True)

    def _background_changed(self, checked: bool) -> None:
        if not checked:
            return
        bg = self.background()
        for key, b in self.buttons.items():
            if not key:
                continue
            full = f"{key}/{bg}" if bg else key
            b.setIcon(sign_icon(full))
            name = sign_name(full)
            if full in self._used:
                b.setText(f"{name}\n（{self._used[full]}已用）")
                b.setStyleSheet("color: #868e96;")
                b.setToolTip(f"{name}已经给了{self._used[full]}，同一社区的两栋楼不能用同一个图标。")
            else:
                b.setText(name)
                b.setStyleSheet("")
                b.setToolTip("")
        self._update()

    def _update(self, *_args: object) -> None:
        key = self.selected()
        if key and key in self._used:
            self.hint.setText(
                f"注意：“{sign_name(key)}”已经给了{self._used[key]}，同一社区的两栋楼不能用同一个图标。"
            )
            self.hint.setStyleSheet("color: #c92a2a;")
        else:
            self.hint.setText("")

"""The sign board: every building as a large picture tile with its name, for residents' way of
finding a building (by its picture) and as the building chooser wherever a building is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.places.signs import sign_name
from app.widgets.sign_icon import sign_icon

TILE_ICON = 72


@dataclass(frozen=True)
class Tile:
    building_id: str
    name: str
    sign: str | None


class SignBoard(QListWidget):
    """Tiles in reading order; arrows move, typing a name ("10") jumps, Enter or a double click
    chooses (``chosen(building_id)``)."""

    chosen = Signal(str)

    def __init__(self, tiles: Sequence[Tile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signBoard")
        self.setAccessibleName("楼栋图标墙")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(TILE_ICON, TILE_ICON))
        self.setGridSize(QSize(TILE_ICON + 44, TILE_ICON + 48))
        self.setSpacing(4)
        self.setWordWrap(True)
        for t in tiles:
            label = t.name if not t.sign else f"{t.name}\n{sign_name(t.sign)}"
            item = QListWidgetItem(sign_icon(t.sign), label)
            item.setData(Qt.ItemDataRole.UserRole, t.building_id)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            item.setToolTip(f"{t.name}（{sign_name(t.sign) or '未设图标'}）")
            self.addItem(item)
        if self.count():
            self.setCurrentRow(0)
        self.itemActivated.connect(lambda item: self.chosen.emit(item.data(Qt.ItemDataRole.UserRole)))

    def current_building(self) -> str | None:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select_building(self, building_id: str | None) -> bool:
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == building_id:
                self.setCurrentRow(row)
                self.scrollToItem(self.item(row))
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.chosen.emit(self.current_building())
            return
        super().keyPressEvent(event)


class BuildingBoardDialog(QDialog):
    """Choose a building by its picture. ``choose(...)`` returns the id or None."""

    def __init__(self, tiles: Sequence[Tile], current: str | None = None, parent: QWidget | None = None,
                 title: str = "按图标选择楼栋") -> None:
        super().__init__(parent)
        self.setObjectName("buildingBoardDialog")
        self.setWindowTitle(title)
        self.board = SignBoard(tiles, self)
        self.board.select_building(current)
        self.board.chosen.connect(lambda _bid: self.accept())
        hint = QLabel("方向键移动，输入楼栋号跳到该楼，回车选定。")
        hint.setStyleSheet("color: #666;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("选定")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(hint)
        lay.addWidget(self.board, 1)
        lay.addWidget(buttons)
        self.resize(760, 560)
        self.board.setFocus()

    @classmethod
    def choose(cls, tiles: Sequence[Tile], current: str | None = None, parent: QWidget | None = None) -> str | None:
        dlg = cls(tiles, current, parent)
        ok = dlg.exec() == QDialog.DialogCode.Accepted
        result = dlg.board.current_building() if ok else None
        dlg.deleteLater()
        return result

"""The sign board as the building chooser of every form that asks for a building."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QToolButton, QWidget

from app.models.core.db import Database
from app.models.places import places
from app.widgets.sign_board import BuildingBoardDialog, Tile
from app.widgets.sign_icon import sign_icon

# The building id of a combo item, whatever the item's own data is (an id or a name).
ID_ROLE = Qt.ItemDataRole.UserRole + 1


def tiles(db: Database) -> list[Tile]:
    return [Tile(r["id"], r["name"], r["sign"]) for r in places.building_signs(db)]


def choose_building(db: Database, current: str | None, parent: QWidget | None) -> str | None:
    """The sign board in a dialog; the chosen building's id, or None when cancelled."""
    return BuildingBoardDialog.choose(tiles(db), current, parent)


def fill_building_combo(combo: QComboBox, db: Database, *, data: str = "id", include_retired: bool = False) -> None:
    """Every building with its sign beside its name (item data: the id, or the name for forms
    that select by name)."""
    for r in places.building_signs(db, include_retired=include_retired):
        combo.addItem(sign_icon(r["sign"]), r["name"], r[data])
        combo.setItemData(combo.count() - 1, r["id"], ID_ROLE)


def select_building(combo: QComboBox, building_id: str | None) -> bool:
    for i in range(combo.count()):
        if building_id is not None and combo.itemData(i, ID_ROLE) == building_id:
            combo.setCurrentIndex(i)
            return True
    return False


def with_board_button(combo: QComboBox, db: Database, parent: QWidget) -> QWidget:
    """`combo` with a 按图标… button beside it that opens the sign board and sets the combo."""
    box = QWidget(parent)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(combo, 1)
    button = QToolButton(box)
    button.setText("按图标…")
    button.setObjectName(f"{combo.objectName() or 'building'}Board")
    button.setToolTip("在楼栋图标墙上按图片选楼栋")

    def pick() -> None:
        chosen = choose_building(db, combo.currentData(ID_ROLE), parent)
        select_building(combo, chosen)

    button.clicked.connect(pick)
    row.addWidget(button)
    box.setFocusProxy(combo)
    return box

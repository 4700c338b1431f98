"""The sign board: every building as a big picture tile, chosen by keyboard, used as the building chooser."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from app.models.places import places, signs
from app.ui.places.building_board import tiles
from app.widgets.sign_board import BuildingBoardDialog


def _community(db, n: int = 12) -> dict[str, str]:
    c = places.add_community(db, "测试社区")
    ids = {}
    for i, key in zip(range(1, n + 1), signs.all_signs(), strict=False):
        ids[f"{i}栋"] = places.add_building(db, c, f"{i}栋", number=i, floors=1, units=1, rooms_per_floor=1)
        places.set_sign(db, "building", ids[f"{i}栋"], key)
    return ids


def test_board_is_driven_from_the_keyboard(qtbot, db):
    ids = _community(db)
    dlg = BuildingBoardDialog(tiles(db), ids["3栋"])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.board.count() == 12 and dlg.board.current_building() == ids["3栋"]
    assert "梨" in dlg.board.currentItem().text()  # the picture's name under the building's
    qtbot.keyClick(dlg.board, Qt.Key.Key_Right)
    assert dlg.board.current_building() == ids["4栋"]
    qtbot.keyClicks(dlg.board, "11")  # typing a building's name jumps to it
    assert dlg.board.current_building() == ids["11栋"]
    qtbot.keyClick(dlg.board, Qt.Key.Key_Return)
    assert dlg.result() == dlg.DialogCode.Accepted


def test_board_is_the_building_chooser_of_the_forms(qtbot, db, db_path, monkeypatch):
    from app.ui.mediation.mediation_dialogs import CaseDialog
    from app.ui.places.visit_entry import VisitEntryDialog
    from app.ui.printing.print_menu import PrintChooser
    from tests.builders.ui import window_context

    ids = _community(db)
    monkeypatch.setattr(BuildingBoardDialog, "choose", classmethod(lambda cls, t, current, parent: ids["7栋"]))
    with window_context(db) as ctx:
        visit = VisitEntryDialog(ctx, ids["1栋"])
        qtbot.addWidget(visit)
        case = CaseDialog(None, ctx)
        qtbot.addWidget(case)
        sheet = PrintChooser(ctx, "round-sheet", default_building=ids["5栋"])
        qtbot.addWidget(sheet)
        assert sheet.building_combo.currentText() == "5栋"  # the building the clerk was looking at
        for combo in (visit.building, case.building, sheet.building_combo):
            assert not combo.itemIcon(combo.findText("7栋")).isNull()  # the sign beside the name
            board_button = combo.parentWidget().findChild(QToolButton)
            assert board_button.text() == "按图标…"
            qtbot.mouseClick(board_button, Qt.MouseButton.LeftButton)
            assert combo.currentText() == "7栋"
        assert sheet.selector() == {"building": "7栋"}


def test_signs_on_backgrounds_are_signs_of_their_own(db):
    assert signs.sign_name("apple/blue") == "蓝底苹果" and signs.is_sign("apple/blue")
    assert not signs.is_sign("apple/black") and not signs.is_sign("dragon")
    assert len(signs.all_signs()) == len(signs.SIGNS) * (1 + len(signs.BACKGROUNDS))
    ids = _community(db, 30)
    assert len(ids) == 30
    assert db.scalar("SELECT count(DISTINCT sign) FROM building") == 30

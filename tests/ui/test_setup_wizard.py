"""The set-up wizard as a clerk uses it on a new office's first day: typed, Tab, Enter, left and resumed."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWizard

from app.cli import main
from app.models.core import settings
from app.models.places import community_setup as setup
from app.ui.setup import setup_wizard as sw
from app.widgets.sign_chooser import SignChooserDialog
from tests.builders.ui import type_text


@pytest.fixture(autouse=True)
def _no_file_dialogs(monkeypatch):
    """A test that reaches a real (modal) file dialog fails instead of hanging."""
    def refuse(*_a, **_k):
        raise AssertionError("a file dialog was opened")

    monkeypatch.setattr(sw.QFileDialog, "getOpenFileName", refuse)


@pytest.fixture
def open_window(qtbot):
    windows = []

    def make(path: Path):
        from app.ui.app import build_window

        window = build_window(path)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.ctx.runner.wait_idle()
        QApplication.processEvents()
        w.shutdown()


def _focus() -> object:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def _active(qtbot, wiz) -> None:
    wiz.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wiz)


def _type_row(qtbot, table, cells: list[str]) -> None:
    """Type one row from the current cell on: each value then Tab, as a clerk fills a grid.

    Tab out of an editor opens the next cell's editor, so the focus is either the table (any key
    starts editing with that key; F2 for a Chinese first character) or already an editor.
    """
    for text in cells:
        if text and _focus() is table:
            if text[0].isascii():
                qtbot.keyClicks(table, text[0])
                text = text[1:]
            else:
                qtbot.keyClick(table, Qt.Key.Key_F2)
        if text:
            type_text(qtbot, _focus(), text)
        qtbot.keyClick(_focus(), Qt.Key.Key_Tab)


def _enter(qtbot) -> None:
    qtbot.keyClick(_focus(), Qt.Key.Key_Return)
    QApplication.processEvents()  # a closed cell editor goes away on the next turn of the event loop


def _tree_names(window) -> set[str]:
    tab = window.tab("placesTab")
    window.tabs.setCurrentWidget(tab)
    tab.reload()
    out = set()

    def walk(item):
        out.add(item.text(0).split("（")[0])  # "1栋（苹果）": the sign follows the name
        for i in range(item.childCount()):
            walk(item.child(i))

    for i in range(tab.tree.topLevelItemCount()):
        walk(tab.tree.topLevelItem(i))
    return out


def _pick_sign(monkeypatch, key: str) -> None:
    def exec_(dialog):
        dialog.select(key)
        return 1

    monkeypatch.setattr(SignChooserDialog, "exec", exec_)


def test_first_day_through_every_page_by_keyboard(qtbot, monkeypatch, open_window, tmp_path):
    path = tmp_path / "office.db"
    window = open_window(path)
    wiz = sw.start_if_needed(window)
    assert wiz is not None and wiz.objectName() == "setupWizard" and wiz.currentId() == sw.PAGE_COMMUNITY
    _active(qtbot, wiz)

    # Page 1: the community. Next stays off until the name is typed.
    page = wiz.community_page
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    page.edits["name"].setFocus()
    type_text(qtbot, _focus(), "幸福社区")
    assert page.edits["office_name"].text() == "幸福社区服务中心"
    for key, text in (("street", "城关街道"), ("county", "某某县"), ("office_name", None),
                      ("office_address", "幸福路 1 号"), ("office_phone", "0871-6123456")):
        qtbot.keyClick(_focus(), Qt.Key.Key_Tab)
        assert _focus() is page.edits[key]
        if text:
            type_text(qtbot, _focus(), text)
    _enter(qtbot)
    assert wiz.currentId() == sw.PAGE_PLACES
    db = window.ctx.db
    assert setup.current_community(db)["street"] == "城关街道"
    assert settings.get(db, "office_address") == "幸福路 1 号"

    # Page 2: one building with shops below and two odd rooms; the next copies its numbers.
    places_page = wiz.places_page
    table = places_page.table
    assert _focus() is table and (table.currentRow(), table.currentColumn()) == (0, 0)
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    _type_row(qtbot, table, ["1栋", "一网格", "2", "6", "2", "1", "2-602", "1-601=601A"])
    assert table.currentColumn() == sw.COL["sign"]
    _pick_sign(monkeypatch, "apple")
    _enter(qtbot)  # on the sign column Enter opens the chooser, not the next page
    assert wiz.currentId() == sw.PAGE_PLACES
    assert table.item(0, sw.COL["sign"]).text() == "苹果"
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    _type_row(qtbot, table, ["张师傅"])
    assert (table.currentRow(), table.currentColumn()) == (1, 0)
    _type_row(qtbot, table, ["2栋"])
    assert [table.item(1, sw.COL[k]).text() for k in ("grid", "units", "floors", "rooms_per_floor")] == \
        ["一网格", "2", "6", "2"]
    assert "楼栋 2 栋" in places_page.preview.text() and "房间 39 间" in places_page.preview.text()
    assert db.scalar("SELECT count(*) FROM building") == 0  # nothing written before the commit
    _enter(qtbot)  # the first Enter closes the cell being typed in, as in any table
    assert wiz.currentId() == sw.PAGE_PLACES and _focus() is table
    _enter(qtbot)
    assert wiz.currentId() == sw.PAGE_USER

    # Page 3: the user name, then 保存设置 writes everything at once.
    assert _focus() is wiz.user_page.user
    type_text(qtbot, _focus(), "王芳")
    _enter(qtbot)
    assert wiz.currentId() == sw.PAGE_NEXT
    assert db.scalar("SELECT count(*) FROM room") == 39
    assert db.scalar("SELECT count(*) FROM room WHERE number = '601A'") == 1
    assert db.scalar("SELECT sign FROM building WHERE name = '1栋'") == "apple"
    assert setup.saved_user(db) == "王芳" and window.ctx.runner.user == "王芳"
    assert "新建了" in wiz.next_page.done_text.text()

    # Page 4: 稍后, then Finish.
    qtbot.keyClick(_focus(), Qt.Key.Key_Down)
    assert wiz.next_page.later.isChecked()
    _enter(qtbot)
    assert not wiz.isVisible() and wiz.import_dialog is None
    assert {"幸福社区", "一网格", "1栋", "2栋"} <= _tree_names(window)
    assert any(window.tab("placesTab").tree.findItems("1栋（苹果）", Qt.MatchFlag.MatchRecursive))
    assert setup.load_draft(db) is None


def test_leave_and_resume_on_the_next_start(qtbot, open_window, tmp_path):
    path = tmp_path / "office.db"
    window = open_window(path)
    wiz = sw.start_if_needed(window)
    _active(qtbot, wiz)
    wiz.community_page.edits["name"].setFocus()
    type_text(qtbot, _focus(), "幸福社区")
    _enter(qtbot)
    _type_row(qtbot, wiz.places_page.table, ["1栋", "", "1", "3", "2"])
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert not wiz.isVisible()
    assert window.ctx.db.scalar("SELECT count(*) FROM building") == 0
    window.shutdown()

    again = open_window(path)
    wiz = sw.start_if_needed(again)
    assert wiz.currentId() == sw.PAGE_PLACES
    table = wiz.places_page.table
    assert [table.item(0, sw.COL[k]).text() for k in ("name", "units", "floors", "rooms_per_floor")] == \
        ["1栋", "1", "3", "2"]
    wiz.next()
    type_text(qtbot, wiz.user_page.user, "王芳")
    wiz.next()
    assert again.ctx.db.scalar("SELECT count(*) FROM room") == 6
    assert setup.load_draft(again.ctx.db) is None
    wiz.next_page.later.setChecked(True)
    wiz.accept()


def test_after_init_the_wizard_opens_at_the_buildings(qtbot, open_window, tmp_path, capsys):
    path = tmp_path / "office.db"
    assert main(["init", "--db", str(path), "--community", "幸福社区", "--street", "城关街道"]) == 0
    window = open_window(path)
    wiz = sw.start_if_needed(window)
    assert wiz.currentId() == sw.PAGE_PLACES
    assert "还没有楼栋" in wiz.places_page.existing.text()
    wiz.back()
    assert wiz.community_page.edits["street"].text() == "城关街道"
    assert wiz.community_page.edits["office_name"].text() == "幸福社区服务中心"
    wiz.reject()


def _room_list(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def test_room_list_read_into_the_table_and_bad_lists_refused(qtbot, monkeypatch, open_window, tmp_path):
    path = tmp_path / "office.db"
    assert main(["init", "--db", str(path), "--community", "幸福社区"]) == 0
    window = open_window(path)
    wiz = sw.start_if_needed(window)
    page = wiz.places_page
    bad = _room_list(tmp_path / "bad.xlsx", [["楼栋", "单元", "房号"], ["1栋", 1, 101], ["1栋", 1, "1 01"]])
    monkeypatch.setattr(wiz, "ask_open_file", lambda _title: str(bad))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    assert "第 3 行“房号”列" in page.preview.text()
    assert not [s for s in page.specs()]
    good = _room_list(tmp_path / "rooms.xlsx", [
        ["楼栋", "单元", "房号", "网格"],
        *[["5栋", u, r, "二网格"] for u in (1, 2) for r in (101, 102, "201A")],
    ])
    monkeypatch.setattr(wiz, "ask_open_file", lambda _title: str(good))
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    specs = page.specs()
    assert [s.name for s in specs] == ["5栋"] and specs[0].grid == "二网格"
    assert "房间 6 间" in page.preview.text()
    assert not page.table.item(0, sw.COL["units"]).flags() & Qt.ItemFlag.ItemIsEditable
    assert window.ctx.db.scalar("SELECT count(*) FROM room") == 0
    wiz.next()
    type_text(qtbot, wiz.user_page.user, "王芳")
    wiz.next()
    assert window.ctx.db.scalar("SELECT count(*) FROM room") == 6
    wiz.next_page.later.setChecked(True)
    wiz.accept()


def test_reopened_from_tools_to_add_a_building_then_import_ledgers(qtbot, monkeypatch, open_window, tmp_path):
    path = tmp_path / "office.db"
    from app.models.core.db import open_database

    with open_database(path) as db:
        setup.finish_setup(db, setup.CommunityInfo(name="幸福社区"),
                           [setup.BuildingSpec("1栋", units=1, floors=2, rooms_per_floor=2, sign="apple")], "王芳")
    window = open_window(path)
    assert window.ctx.user == "王芳"
    assert sw.start_if_needed(window) is None  # set up: the wizard does not open by itself
    action = window.findChild(type(window.community_setup_action), "actionCommunitySetup")
    assert action in window.menu_tools.actions()
    action.trigger()
    wiz = window.setup_wizard
    _active(qtbot, wiz)
    assert wiz.currentId() == sw.PAGE_COMMUNITY and wiz.community_page.edits["name"].text() == "幸福社区"
    wiz.community_page.edits["name"].setFocus()
    _enter(qtbot)
    page = wiz.places_page
    assert "1栋" in page.existing.text()
    _type_row(qtbot, page.table, ["9栋", "", "1", "3", "1"])
    qtbot.keyClicks(page.table, "")
    # 苹果 is taken by 1栋: the chooser is told so, and the plan refuses it.
    seen = {}

    def exec_(dialog):
        seen.update(dialog._used)
        dialog.select("apple")
        return 1

    monkeypatch.setattr(SignChooserDialog, "exec", exec_)
    page.choose_sign(0)
    assert seen.get("apple") == "1栋"
    assert "图标" in page.preview.text() and not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    _pick_sign(monkeypatch, "pear")
    page.choose_sign(0)
    assert wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    wiz.next()
    assert wiz.user_page.user.text() == "王芳"
    ledger = _room_list(tmp_path / "more.xlsx", [["楼栋", "单元", "房号"], ["9栋", 1, 401]])
    monkeypatch.setattr(wiz, "ask_open_file", lambda _title: str(ledger))
    wiz.next()
    assert wiz.next_page.import_now.isChecked()
    wiz.button(QWizard.WizardButton.FinishButton).click()
    assert _tree_names(window) >= {"1栋", "9栋"}
    dialog = wiz.import_dialog
    assert dialog is not None and dialog.objectName() == "importDialog" and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)
    assert dialog.plan.counts["new"] == 1
    dialog.reject()


def test_a_file_opened_read_only_gets_no_wizard(qtbot, tmp_path, capsys):
    from app.ui.app import build_window

    path = tmp_path / "office.db"
    assert main(["init", "--db", str(path), "--community", "幸福社区"]) == 0
    window = build_window(path, read_only=True)
    qtbot.addWidget(window)
    try:
        assert window.ctx.db.read_only and sw.start_if_needed(window) is None
    finally:
        window.shutdown()


def test_whole_first_day_wizard_then_a_county_ledger_into_the_registry(qtbot, monkeypatch, open_window, tmp_path,
                                                                        messages):
    """From an empty file: the wizard, then 导入现有台账 on a county ledger, and the registry shows its households."""
    from tests.builders.excel import pid, write_sheet

    window = open_window(tmp_path / "office.db")
    wiz = sw.start_if_needed(window)
    wiz.community_page.edits["name"].setText("幸福社区")
    wiz.next()
    table = wiz.places_page.table
    for row, values in enumerate((["5栋", "", "2", "6", "2"], ["6栋", "", "1", "3", "2"])):
        for key, text in zip(("name", "grid", "units", "floors", "rooms_per_floor"), values, strict=True):
            table.item(row, sw.COL[key]).setText(text)
    wiz.next()
    wiz.user_page.user.setText("王芳")
    wiz.next()
    ledger = write_sheet(tmp_path / "county.xlsx", [
        ["序号", "姓名", "与户主关系", "身份证号", "民族", "出生日期", "安置地址"],
        [1, "张三", "户主", pid((1985, 3, 12), 1, "男"), "苗", "1985.03.12", "幸福社区5栋1单元501室"],
        [2, "李四", "妻", pid((1987, 4, 15), 2, "女"), "苗族", "1987年4月15日", None],
        [3, "王五", "本人", pid((1970, 1, 1), 3, "男"), "彝", "1970/1/1", "6栋302"],
    ], title_rows=1, merge_title=True)
    monkeypatch.setattr(wiz, "ask_open_file", lambda _title: str(ledger))
    assert wiz.next_page.import_now.isChecked()
    wiz.button(QWizard.WizardButton.FinishButton).click()
    dialog = wiz.import_dialog
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert dialog.plan.counts["new"] == 3, [e.message() for e in dialog.plan.errors]
    messages.answer(True)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    dialog.accept()
    registry = window.tab("registryTab")
    window.tabs.setCurrentWidget(registry)
    qtbot.waitUntil(lambda: registry.model.rowCount() == 2, timeout=20000)
    shown = {tuple(registry.model.data(registry.model.index(r, c)) for c in (2, 3)) for r in range(2)}
    assert shown == {("5栋1单元501", "张三"), ("6栋1单元302", "王五")}
    # Buildings and the ledger are recorded under the name given on page 3 (the community, written on
    # page 1 before any name was asked, under the default one).
    assert {r[0] for r in window.ctx.db.query(
        "SELECT DISTINCT user FROM change_log WHERE tbl IN ('building', 'room', 'household', 'person')")} == {"王芳"}

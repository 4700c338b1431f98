"""The registry tab driven as a clerk drives it: typing, Enter, Ctrl+F/Ctrl+S/Esc, dialogs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit

from app.models.core import id_numbers
from app.models.core.errors import ValidationError
from app.models.registry import households, persons
from app.ui.registry import household_dialog as household_dialog_module
from app.ui.registry.duplicate_dialog import DuplicateDialog
from app.ui.registry.household_dialog import HouseholdDialog
from app.ui.registry.person_dialog import PersonDialog
from app.ui.registry.registry_tab import RegistryTab
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site
from tests.builders.ui import type_text, window_context


@pytest.fixture
def ctx(db):
    with window_context(db) as c:
        yield c


@pytest.fixture
def site(ctx):
    db = ctx.db
    make_site(db)
    ids = {}
    ids["zhou"], ids["zhou_head"] = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    ids["wang"], ids["wang_head"] = add_household(db, "2-1-501", "王强", ID_WANG, risk_colour="red")
    persons.add(db, ids["wang"], {"name": "李梅", "phone": "13812345678", "relation": "配偶"})
    ids["shan"], _ = add_household(db, "2-2-102", "单丽")
    return ids


@pytest.fixture
def tab(qtbot, ctx, site):
    widget = RegistryTab(ctx)
    qtbot.addWidget(widget)
    widget.resize(1300, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def opened(monkeypatch):
    """HouseholdDialog.run shows the dialog without a nested event loop and remembers it."""
    dialogs: list[HouseholdDialog] = []

    def run(dialog):
        dialog.show()
        dialog.activateWindow()  # shortcuts (Ctrl+S, Esc) go to the active window
        QApplication.processEvents()
        dialogs.append(dialog)

    monkeypatch.setattr(HouseholdDialog, "run", classmethod(lambda cls, d: run(d)))
    return dialogs


def listed(tab) -> list[str]:
    return [tab.model.row_id(i) for i in range(tab.model.rowCount())]


def search(qtbot, tab, text: str) -> list[str]:
    box = tab.search_box
    box.selectAll()
    qtbot.keyClick(box, Qt.Key.Key_Delete)
    type_text(qtbot, box, text)
    qtbot.waitUntil(lambda: not box._timer.isActive())
    return listed(tab)


def test_objects_are_named_for_automation(tab):
    assert tab.objectName() == "registryTab"
    assert tab.findChild(QLineEdit, "registrySearch") is tab.search_box
    assert tab.table.objectName() == "registryTable"
    assert tab.model.rowCount() == 3


def test_search_by_each_key(qtbot, tab, site):
    assert search(qtbot, tab, "周艳") == [site["zhou"]]
    assert search(qtbot, tab, "zy") == [site["zhou"]]
    assert search(qtbot, tab, "shanli") == [site["shan"]]
    assert search(qtbot, tab, ID_ZHOU[-6:].lower()) == [site["zhou"]]
    assert search(qtbot, tab, "2345678") == [site["wang"]]
    assert tab.model.data(tab.model.index(0, 1)) == "李梅（电话 13812345678）"  # what matched is shown
    assert search(qtbot, tab, ID_ZHOU[-6:]) == [site["zhou"]]
    assert tab.model.data(tab.model.index(0, 1)) == "周艳（身份证号）"
    assert search(qtbot, tab, "2-1-501") == [site["wang"]]
    assert search(qtbot, tab, "2栋2单元") == [site["shan"]]
    assert search(qtbot, tab, "李梅") == [site["wang"]]
    assert tab.model.data(tab.model.index(0, 1)) == "李梅"  # the matched member is shown
    assert search(qtbot, tab, "没有这个人") == []
    assert tab.count_label.text() == "共 0 户"


def test_filters_narrow_the_list(qtbot, tab, site):
    tab.risk_filter.setCurrentIndex(tab.risk_filter.findData("red"))
    assert listed(tab) == [site["wang"]]
    tab.risk_filter.setCurrentIndex(0)
    tab.building_filter.setCurrentIndex(tab.building_filter.findText("2栋"))
    assert listed(tab) == [site["wang"], site["shan"]]


def test_sorting_happens_in_sql(qtbot, tab, site):
    tab.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # 地址
    assert listed(tab) == [site["shan"], site["wang"], site["zhou"]]
    tab.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # 户主, by pinyin
    assert listed(tab) == [site["shan"], site["wang"], site["zhou"]]


def test_sorting_by_risk_is_worked_out_on_the_worker(qtbot, tab, site):
    risk = next(i for i, c in enumerate(tab.model.columns) if c.key == "risk")
    with qtbot.waitSignal(tab.model.ordered, timeout=10000):
        tab.table.sortByColumn(risk, Qt.SortOrder.AscendingOrder)  # red first
    assert listed(tab)[0] == site["wang"] and tab.model.rowCount() == 3
    assert tab.model.find_row(site["wang"]) == 0
    # the household the clerk had selected stays selected, and the pane shows it
    tab.table.selectRow(tab.model.find_row(site["shan"]))
    with qtbot.waitSignal(tab.model.ordered, timeout=10000):
        tab.table.sortByColumn(risk, Qt.SortOrder.DescendingOrder)
    assert tab.current_household_id() == site["shan"]
    qtbot.waitUntil(lambda: tab.summary.household_id == site["shan"], timeout=3000)
    with qtbot.waitSignal(tab.model.ordered, timeout=10000):
        tab.table.sortByColumn(risk, Qt.SortOrder.AscendingOrder)
    # a search keeps the chosen order: it is worked out again for the matches
    with qtbot.waitSignal(tab.model.ordered, timeout=10000):
        type_text(qtbot, tab.search_box, "2-")
        tab.search_box.flush()
    assert listed(tab) == [site["wang"], site["shan"]]
    assert tab.current_household_id() == site["wang"]  # after a search, its top row
    assert tab.model.row(1)["number"] == households.get(tab.ctx.db, site["shan"]).number
    with qtbot.waitSignal(tab.model.ordered, timeout=10000):
        tab.table.sortByColumn(risk, Qt.SortOrder.DescendingOrder)
    assert listed(tab) == [site["shan"], site["wang"]]
    tab.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # 地址: back to paging in SQL
    assert not tab.model.sorting and tab.model._ordered is None
    assert listed(tab) == [site["wang"], site["shan"]]


def test_ctrl_f_search_enter_opens_household(qtbot, tab, site, opened):
    tab.table.setFocus()
    qtbot.keyClick(tab, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert tab.search_box.hasFocus()
    type_text(qtbot, tab.search_box, "wq")
    qtbot.keyClick(tab.search_box, Qt.Key.Key_Return)
    assert len(opened) == 1 and opened[0].household_id == site["wang"]
    dialog = opened[0]
    assert "2栋1单元501" in dialog.title.text()
    assert dialog.members.rowCount() == 2
    assert dialog.last_change.text().startswith("最后修改：测试员，本机")
    # Down from the search box, then Enter on the table opens the selected row too.
    dialog.close()
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    tab.search_box.setFocus()
    tab.search_box.clear()
    qtbot.keyClick(tab.search_box, Qt.Key.Key_Down)
    assert tab.table.hasFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert opened[-1].household_id == site["zhou"]


def test_edit_and_save_household_from_the_keyboard(qtbot, tab, site, opened):
    search(qtbot, tab, "单丽")
    qtbot.keyClick(tab.search_box, Qt.Key.Key_Return)
    dialog = opened[0]
    dialog.village.setFocus()
    dialog.village.selectAll()
    type_text(qtbot, dialog.village, "新田村")
    dialog.tags["tag_monitored"].setChecked(True)
    assert dialog.dirty
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    h = households.get(tab.ctx.db, site["shan"])
    assert h.origin_village == "新田村" and h.tag_monitored == 1
    assert not dialog.dirty
    qtbot.waitUntil(lambda: "监测户" in (tab.model.data(tab.model.index(0, 7)) or ""))


def test_bad_household_input_is_shown_at_the_field(qtbot, tab, site, opened):
    tab.open_household(site["zhou"])
    dialog = opened[0]
    dialog.village.setText("=cmd")
    dialog.garden.setText("二十")
    dialog.save()
    assert dialog.errors["origin_village"].isVisible()
    assert "不能以“=”开头" in dialog.errors["origin_village"].text()
    assert households.get(tab.ctx.db, site["zhou"]).origin_village == "岩脚村"


def test_esc_asks_before_discarding_changes(qtbot, tab, site, opened, messages):
    tab.open_household(site["zhou"])
    dialog = opened[0]
    type_text(qtbot, dialog.village, "改")
    messages.answer(False, True)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible() and "放弃" in messages.asked[0]
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert households.get(tab.ctx.db, site["zhou"]).origin_village == "岩脚村"


def drive_person_dialog(monkeypatch, script):
    """Replace the modal exec of member dialogs with `script(dialog)`; returns the dialogs seen."""
    seen = []

    def run(dialog):
        seen.append(dialog)
        dialog.show()
        dialog.activateWindow()
        QApplication.processEvents()
        script(dialog)
        return dialog.result() == QDialog.DialogCode.Accepted

    monkeypatch.setattr(household_dialog_module, "ask_dialog", run)
    return seen


def test_add_member_with_invalid_then_valid_id_number(qtbot, tab, site, opened, monkeypatch, messages):
    tab.open_household(site["zhou"])
    dialog = opened[0]
    good = id_numbers.make("532128", __import__("datetime").date(2010, 4, 5), 7, "男")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")

    messages.answer(False)

    def script(pd):
        type_text(qtbot, pd.name, "周小明")
        pd.sex.setCurrentText("女")  # typed before the number: flagged and corrected
        type_text(qtbot, pd.id_number.edit, bad)
        assert "校验位错误" in pd.id_number.message.text()
        qtbot.keyClick(pd, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        # Asked whether to keep it 待核实; "no" keeps the dialog open on the field.
        assert len(messages.asked) == 1 and "待核实" in messages.asked[0]
        assert pd.isVisible() and pd.errors["id_number"].isVisible()
        assert persons.members(tab.ctx.db, site["zhou"], include_gone=True).__len__() == 1
        pd.id_number.edit.selectAll()
        type_text(qtbot, pd.id_number.edit, good.lower())
        assert pd.id_number.message.text().startswith("✓ 男，2010-04-05")
        assert pd.sex.currentText() == "男" and pd.birth.text() == "2010-04-05"
        assert "性别原填“女”" in pd.warning.text()
        pd.relation.setCurrentText("子")
        qtbot.keyClick(pd, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)

    seen = drive_person_dialog(monkeypatch, script)
    qtbot.mouseClick(dialog.add_member_button, Qt.MouseButton.LeftButton)
    assert seen and seen[0].saved_id
    p = persons.get(tab.ctx.db, seen[0].saved_id)
    assert (p.name, p.id_number, p.sex, p.relation) == ("周小明", good, "男", "子")
    assert dialog.members.rowCount() == 2


def test_bad_person_input_messages(qtbot, tab, site, opened, monkeypatch):
    tab.open_household(site["zhou"])

    def script(pd):
        for name, expected in [("   ", "不能为空"), ("=SUM(A1)", "不能以“=”开头"), ("周😀", "表情"),
                               ("周" * 10000, "太长")]:
            pd.name.setText(name)
            pd.save()
            assert expected in pd.errors["name"].text() and pd.errors["name"].isVisible()
        pd.name.setText("周二")
        pd.phone.setText("138abcd5678")
        pd.save()
        assert "不能有字母" in pd.errors["phone"].text()
        pd.phone.setText("")
        pd.birth.setText("2023-02-30")
        pd.save()
        assert "不是有效日期" in pd.errors["birth_date"].text()
        pd.dirty = False
        pd.reject()

    drive_person_dialog(monkeypatch, script)
    opened[0].add_member()
    assert len(persons.members(tab.ctx.db, site["zhou"], include_gone=True)) == 1


def test_duplicate_id_number_opens_the_duplicate_dialog(qtbot, tab, site, opened, monkeypatch):
    tab.open_household(site["shan"])
    dialog = opened[0]
    shown = []

    def exec_(dup):
        shown.append(dup)
        assert dup.objectName() == "duplicateDialog"
        assert dup.table.item(0, 0).text() == "王强"
        assert dup.table.item(0, 4).text() == "2栋1单元501"
        assert dup.table.item(0, 1).text() == id_numbers.mask(ID_WANG)  # masked: the clerk typed it, the list shows no more
        dup._open()  # the clerk chooses 打开已有的户
        return 1

    monkeypatch.setattr(DuplicateDialog, "exec", exec_)

    def script(pd):
        type_text(qtbot, pd.name, "王强")
        type_text(qtbot, pd.id_number.edit, ID_WANG)
        pd.save()

    drive_person_dialog(monkeypatch, script)
    dialog.add_member()
    assert len(shown) == 1
    assert dialog.household_id == site["wang"]  # the card now shows the existing household
    assert len(persons.members(tab.ctx.db, site["shan"])) == 1


def test_same_name_same_birth_is_warned_not_blocked(qtbot, tab, site, opened, monkeypatch):
    tab.open_household(site["shan"])
    choices = []

    def exec_(dup):
        choices.append(dup.windowTitle())
        dup._save()  # 仍然保存
        return 1

    monkeypatch.setattr(DuplicateDialog, "exec", exec_)

    def script(pd):
        type_text(qtbot, pd.name, "周艳")
        pd.birth.setText("1985-03-02")
        pd.save()

    seen = drive_person_dialog(monkeypatch, script)
    opened[0].add_member()
    assert choices == ["可能重复登记"]
    assert seen[0].saved_id is not None


def test_move_household_and_see_its_history(qtbot, tab, site, opened, monkeypatch):
    tab.open_household(site["zhou"])
    dialog = opened[0]

    def script(md):
        type_text(qtbot, md.room, "9-9-909")
        md.save()
        assert "找不到房间" in md.error.text() and md.isVisible()
        md.room.clear()
        type_text(qtbot, md.room, "1栋2单元501")
        md.date.setText("2025-08-01")
        qtbot.mouseClick(md.buttons.button(md.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)

    seen = drive_person_dialog(monkeypatch, script)
    qtbot.mouseClick(dialog.move_button, Qt.MouseButton.LeftButton)
    assert seen[0].objectName() == "moveHouseholdDialog"
    assert "1栋2单元501" in dialog.title.text()
    rows = [[dialog.addresses.item(i, j).text() for j in range(3)] for i in range(dialog.addresses.rowCount())]
    assert rows[0][0] == "1栋1单元101" and rows[0][2] == "2025-08-01"
    assert rows[1] == ["1栋2单元501", "2025-08-01", "至今"]
    assert search(qtbot, tab, "1-2-501") == [site["zhou"]]


def test_member_status_and_head_change(qtbot, tab, site, opened, monkeypatch):
    tab.open_household(site["wang"])
    dialog = opened[0]
    dialog.members.selectRow(1)  # 李梅
    monkeypatch.setattr("app.ui.registry.household_dialog.QInputDialog.getItem", lambda *a, **k: ("配偶", True))
    dialog.make_head()
    h = households.get(tab.ctx.db, site["wang"])
    assert persons.get(tab.ctx.db, h.head_person_id).name == "李梅"
    row = dialog.member_ids.index(site["wang_head"])
    dialog.members.selectRow(row)

    def script(sd):
        sd.status.setCurrentText("死亡")
        sd.date.setText("2025-03-01")
        sd.save()

    drive_person_dialog(monkeypatch, script)
    dialog.member_status()
    p = persons.get(tab.ctx.db, site["wang_head"])
    assert (p.status, p.status_date, p.deleted) == ("死亡", "2025-03-01", 0)
    assert "死亡" in dialog.members.item(dialog.member_ids.index(p.id), 8).text()


def test_delete_asks_and_keeps_a_tombstone(qtbot, tab, site, monkeypatch, messages):
    search(qtbot, tab, "单丽")
    messages.answer(True)
    tab.delete_current()
    qtbot.waitUntil(lambda: site["shan"] not in listed(tab))
    assert tab.ctx.db.scalar("SELECT deleted FROM household WHERE id = ?", (site["shan"],)) == 1


def test_current_export_matches_what_is_seen(qtbot, tab, site):
    search(qtbot, tab, "2栋")
    view = tab.export_query()
    assert view.ledger == "residents"
    where, params = view.condition.sql, view.condition.params
    rows = tab.ctx.db.query(
        "SELECT p.name FROM person p JOIN household h ON h.id = p.household_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        f"WHERE {where} ORDER BY p.name", params)
    assert sorted(r[0] for r in rows) == sorted(["王强", "李梅", "单丽"])


def test_detail_pane_follows_selection(qtbot, tab, site):
    search(qtbot, tab, "王强")
    qtbot.waitUntil(lambda: tab.summary.household_id == site["wang"])
    assert "2栋1单元501" in tab.summary.title.text()
    assert tab.summary.members.rowCount() == 2
    assert tab.summary.last_change.text().startswith("最后修改：")


def test_new_household_from_the_keyboard(qtbot, tab, site, opened):
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    tab.search_box.setFocus()
    qtbot.keyClick(tab.search_box, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = opened[0]
    assert dialog.household_id is None and not dialog.pages.isTabEnabled(1)
    type_text(qtbot, dialog.room, "1-1-101")  # taken by 周艳
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "已住有" in dialog.errors["room"].text() and dialog.household_id is None
    dialog.room.clear()
    type_text(qtbot, dialog.room, "1栋2单元102")
    dialog.township.setCurrentText("坡头乡")
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialog.household_id is not None and dialog.pages.isTabEnabled(1)
    h = households.get(tab.ctx.db, dialog.household_id)
    assert (h.address, h.origin_township) == ("1栋2单元102", "坡头乡")
    assert "1栋2单元102" in dialog.title.text()


def test_deleted_household_can_be_found_and_restored(qtbot, tab, site, opened, monkeypatch):
    households.delete(tab.ctx.db, site["shan"])
    qtbot.waitUntil(lambda: site["shan"] not in listed(tab))
    tab.gone_filter.setCurrentIndex(tab.gone_filter.findData("deleted"))
    assert listed(tab) == [site["shan"]]
    tab.open_current()
    dialog = opened[0]
    assert "已删除" in dialog.title.text() and dialog.restore_button.isVisible()
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert households.get(tab.ctx.db, site["shan"]).deleted == 0
    qtbot.waitUntil(lambda: listed(tab) == [])


def test_move_member_to_another_household(qtbot, tab, site, opened, monkeypatch):
    db = tab.ctx.db
    tab.open_household(site["wang"])
    dialog = opened[0]
    pid = next(m for m in dialog.member_ids if persons.get(db, m).name == "李梅")
    dialog.members.selectRow(dialog.member_ids.index(pid))

    def script(md):
        assert md.objectName() == "movePersonDialog"
        type_text(qtbot, md.search_field, "周艳")
        assert md.results.count() == 1 and "1栋1单元101" in md.results.item(0).text()
        md.relation.setCurrentText("配偶")
        md.save()

    drive_person_dialog(monkeypatch, script)
    dialog.move_member()
    assert persons.get(db, pid).household_id == site["zhou"]
    assert persons.get(db, pid).relation == "配偶"
    assert dialog.members.rowCount() == 1


def test_cells_do_not_inherit_other_cells_roles(qtbot, tab, site):
    """The delegate reuses one role span for every cell: the risk mark must stay in its column."""
    from app.ui.common.table_models import RISK_COLOURS

    search(qtbot, tab, "")
    tab.table.clearSelection()
    tab.table.viewport().repaint()
    image = tab.table.viewport().grab().toImage()
    risk_col = next(i for i, c in enumerate(tab.model.columns) if c.key == "risk")
    colours = {c.rgb() for c in RISK_COLOURS.values()}
    for row in range(tab.model.rowCount()):
        for col in range(tab.model.columnCount()):
            if tab.table.isColumnHidden(col):
                continue
            rect = tab.table.visualRect(tab.model.index(row, col))
            left = image.pixelColor(rect.left() + 8, rect.center().y()).rgb()
            assert (left in colours) == (col == risk_col), (row, col)


def test_broad_search_says_the_list_is_cut(qtbot, tab, site, monkeypatch):
    from app.models.registry import registry_search

    monkeypatch.setattr(registry_search, "MATCH_CAP", 1)
    result = search(qtbot, tab, "z")
    assert result and "请继续输入" in tab.count_label.text()
    search(qtbot, tab, "")
    assert tab.count_label.text() == "共 3 户"


def test_f2_in_the_registry_opens_the_visit_form_on_the_selected_household(qtbot, tab, site):
    search(qtbot, tab, "王强")
    tab.table.setFocus()
    tab.table.selectRow(0)
    qtbot.keyClick(tab.table, Qt.Key.Key_F2)
    dlg = tab._visit_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.household_id == site["wang"]
    assert dlg.building.currentText() == "2栋" and dlg.room.text() == "1-501"
    dlg.close()


def test_a_wrong_check_digit_can_be_kept_marked_unverified(qtbot, tab, site, opened, monkeypatch, messages):
    from app.models.dashboard import stats
    from app.models.forms import forms
    from app.models.registry import registry_search

    tab.open_household(site["zhou"])
    dialog = opened[0]
    good = id_numbers.make("532128", __import__("datetime").date(1990, 4, 5), 7, "女")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    messages.always(True)

    def script(pd):
        type_text(qtbot, pd.name, "周小红")
        type_text(qtbot, pd.id_number.edit, bad)
        assert "待核实" in pd.id_number.message.text()
        qtbot.keyClick(pd, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)

    seen = drive_person_dialog(monkeypatch, script)
    qtbot.mouseClick(dialog.add_member_button, Qt.MouseButton.LeftButton)
    assert seen and seen[0].saved_id
    db = tab.ctx.db
    p = persons.get(db, seen[0].saved_id)
    assert p.id_number == bad and "校验位错误" in p.id_unverified  # the exact reason is kept
    assert (p.sex, p.birth_date) == ("女", "1990-04-05")
    shown = [dialog.members.item(r, 4).text() for r in range(dialog.members.rowCount())]
    assert any(t.endswith("（待核实）") for t in shown)
    # Editing something else keeps it; the list filter, the figures and the printed card say so.
    persons.update(db, p.id, {"phone": "13900001111"})
    assert persons.get(db, p.id).id_unverified
    search = registry_search.build(db, "", registry_search.Filters(id_state="unverified"))
    assert search.household_ids(db) == [site["zhou"]]
    assert stats.compute(db)["residents_id_unverified"] == 1
    card = forms.gather(db, "household-card", site["zhou"])
    assert any(m["id_number"].endswith("（待核实）") for m in card["members"])


def test_new_household_offers_empty_rooms_and_takes_members_before_the_first_save(
        qtbot, tab, site, opened, monkeypatch):
    db = tab.ctx.db
    tab.new_household()
    dialog = opened[0]
    # Only empty rooms are offered: 1栋1单元101 (周艳) is not among them.
    buildings = [dialog.empty_building.itemText(i) for i in range(dialog.empty_building.count())]
    assert buildings[1:] == ["1栋 空5间", "2栋 空4间"]
    dialog.empty_building.setCurrentIndex(1)
    rooms = [dialog.empty_room.itemText(i) for i in range(1, dialog.empty_room.count())]
    assert rooms == ["1单元102", "1单元501", "2单元101", "2单元102", "2单元501"]
    dialog.empty_room.setCurrentIndex(2)
    dialog.empty_room.activated.emit(2)
    assert dialog.room.text() == "1栋1单元501"

    head_id = id_numbers.make("532128", __import__("datetime").date(1975, 3, 2), 3, "男")
    people = iter([("赵大", head_id, "户主"), ("赵小", "", "子")])

    def script(pd):
        name, number, relation = next(people)
        type_text(qtbot, pd.name, name)
        if number:
            type_text(qtbot, pd.id_number.edit, number)
        pd.relation.setCurrentText(relation)
        qtbot.keyClick(pd, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)

    drive_person_dialog(monkeypatch, script)
    for _ in range(2):
        qtbot.mouseClick(dialog.add_member_button, Qt.MouseButton.LeftButton)
    assert dialog.household_id is None and dialog.members.rowCount() == 2  # nothing written yet
    assert db.scalar("SELECT count(*) FROM person WHERE name IN ('赵大', '赵小')") == 0
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialog.household_id is not None
    h = households.get(db, dialog.household_id)
    members = persons.members(db, dialog.household_id)
    assert h.address == "1栋1单元501" and [m.name for m in members] == ["赵大", "赵小"]
    assert db.scalar("SELECT name FROM person WHERE id = ?", (h.head_person_id,)) == "赵大"


def test_a_new_household_and_its_members_are_saved_together_or_not_at_all(db):
    from tests.builders.registry import make_site as build

    build(db)
    good = {"name": "钱一", "relation": "户主"}
    bad = {"name": "钱二", "id_number": "123"}
    before = db.scalar("SELECT count(*) FROM household")
    with pytest.raises(ValidationError, match="身份证号"):
        households.create(db, {}, room="2-2-501", members=[households.NewMember(good), households.NewMember(bad)])
    assert db.scalar("SELECT count(*) FROM household") == before
    assert db.scalar("SELECT count(*) FROM person WHERE name = '钱一'") == 0


def test_stored_tags_and_groups_are_ticked_when_the_dialogs_open(qtbot, tab, site, opened):
    db = tab.ctx.db
    households.update(db, site["wang"], {"tag_dibao": True})
    persons.update(db, site["wang_head"], {"party_member": True})
    tab.open_household(site["wang"])
    dialog = opened[0]
    assert dialog.tags["tag_dibao"].isChecked() and not dialog.tags["tag_lifted"].isChecked()
    tab.summary.show_household(site["wang"])
    assert "低保" in tab.summary.fields.text() and "脱贫户" not in tab.summary.fields.text()
    pd = PersonDialog(tab.ctx, site["wang"], site["wang_head"], parent=dialog)
    assert pd.flags["party_member"].isChecked() and not pd.flags["student"].isChecked()
    assert pd.name.text() == "王强"

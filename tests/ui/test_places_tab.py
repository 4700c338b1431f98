"""The places tab as a clerk and a building head use it: tree, signs, heads, visits by keyboard, due list."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QInputDialog

from app.models.places import places, rhythm
from tests.builders.places import add_household, add_visit_row, room_id
from tests.builders.ui import window_context


@pytest.fixture
def ctx(db):
    with window_context(db) as c:
        yield c


@pytest.fixture
def tab(qtbot, ctx):
    from app.ui.places.places_tab import PlacesTab

    t = PlacesTab(ctx)
    qtbot.addWidget(t)
    t.resize(1200, 760)
    t.show()
    qtbot.waitUntil(lambda: t.loaded)
    return t


def _wait_due(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.due.loading and not tab.due._reload_timer.isActive(), timeout=10000)


def test_build_community_signs_heads_visits_and_due_list(qtbot, monkeypatch, ctx, tab, messages):
    db = ctx.db
    assert tab.objectName() == "placesTab"
    assert tab.findChild(type(tab.due.view), "visitsDueTable") is tab.due.view

    # A community through the "新建" menu.
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("阳光社区", True)))
    tab.add_place("community")
    assert tab.current()[0] == "community"
    community = tab.current()[1]

    # Two buildings through the building dialog (name, units, floors, rooms per floor).
    from app.ui.places import place_dialogs

    names = iter(["1栋", "2栋"])

    def building_exec(dlg):
        dlg.name.setText(next(names))
        dlg.units.setValue(2)
        dlg.floors.setValue(3)
        dlg.per_floor.setValue(2)
        dlg.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(place_dialogs.BuildingDialog, "exec", building_exec)
    tab.add_place("building")
    b1 = tab.current()[1]
    tab.tree.setCurrentItem(tab._items[("community", community)])
    tab.add_place("building")
    b2 = tab.current()[1]
    assert tab.current() == ("building", b2)

    # Signs: the apple for 1栋; trying the apple again for 2栋 is refused with a clear message.
    from app.widgets.sign_chooser import SignChooserDialog

    picks = iter(["apple", "apple", None])

    def sign_exec(dlg):
        key = next(picks)
        if key is None:
            return QDialog.DialogCode.Rejected
        dlg.select(key)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SignChooserDialog, "exec", sign_exec)
    tab.select("building", b1)
    tab.choose_sign()
    assert places.get_place(db, "building", b1)["sign"] == "apple"
    tab.select("building", b2)
    tab.choose_sign()
    assert any("同一社区的两栋楼不能用同一个图标" in w for w in messages.texts("warn"))
    assert places.get_place(db, "building", b2)["sign"] is None
    tab.select("building", b1)
    assert "苹果" in tab._items[("building", b1)].text(0)
    assert not tab._items[("building", b1)].icon(0).isNull()
    assert "图标：苹果" in tab.title_label.text()

    # Heads: a staff member for 1栋.
    def role_exec(dlg):
        dlg.staff.setChecked(True)
        dlg.staff_name.setText("楼长老李")
        dlg.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(place_dialogs.RoleDialog, "exec", role_exec)
    tab.select("building", b1)
    tab.assign_role()
    assert "楼长老李" in tab.info_label.text()

    # Households (the registry's job; made directly here), then the due list for 1栋.
    today = dt.date.today()
    long_ago = (today - dt.timedelta(days=100)).isoformat()
    h1 = add_household(db, room_id(db, b1, 2, "301"), number="H1", move_in=long_ago, head="王大")
    h2 = add_household(
        db, room_id(db, b1, 1, "101"), number="H2", move_in=long_ago, head="刘二", colour="yellow"
    )
    add_visit_row(db, h2, (today - dt.timedelta(days=3)).isoformat())  # yellow, due in 4 days
    tab.select("building", b1)
    qtbot.waitUntil(lambda: tab._items.get(("building", b1)) is not None)
    tab.select("building", b1)
    tab.due.reload()
    _wait_due(qtbot, tab)
    assert [r.household_id for r in tab.due.model.rows] == [h1]
    assert tab.due.view.model().rowCount() == 1
    assert "逾期" in tab.due.model.index(0, 0).data()

    # The building head enters visits by keyboard: room, Enter, digit, Enter, Enter.
    tab.open_visit_entry()
    dlg = tab._visit_dialog
    qtbot.waitExposed(dlg)
    assert dlg.building_id() == b1 and dlg.visitor.text() == "楼长老李"
    dlg.room.setFocus()
    qtbot.keyClicks(dlg.room, "2-301")
    qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
    assert dlg.household_id == h1 and "王大" in dlg.household_label.text()
    assert dlg.focusWidget() is dlg.flags[0]
    qtbot.keyClick(dlg.flags[0], Qt.Key.Key_1)
    assert dlg.flags[0].isChecked()
    qtbot.keyClick(dlg.flags[0], Qt.Key.Key_Return)
    assert dlg.focusWidget() is dlg.findings
    dlg.findings.insert("老人在家")  # QTest cannot type Chinese; an input method would
    qtbot.keyClick(dlg.findings, Qt.Key.Key_Return)
    saved = db.query("SELECT * FROM visit WHERE household_id = ? AND deleted = 0", (h1,))
    assert len(saved) == 1 and saved[0]["visitor_name"] == "楼长老李" and saved[0]["kind"] == "月访"
    assert saved[0]["visit_date"] == today.isoformat() and saved[0]["findings"] == "老人在家"
    # Building and date are kept; the room is cleared for the next household.
    assert dlg.building_id() == b1 and dlg.room.text() == "" and dlg.focusWidget() is dlg.room
    assert "已保存" in dlg.status.text()

    # A room that does not exist: a clear message, nothing saved.
    qtbot.keyClicks(dlg.room, "2-901")
    qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
    assert "2单元没有901室" in dlg.household_label.text()
    assert dlg.save() is None
    assert db.scalar("SELECT count(*) FROM visit WHERE deleted = 0") == 2

    # A future date is refused by the data layer even if the form would allow it.
    dlg.room.clear()
    qtbot.keyClicks(dlg.room, "1-101")
    qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
    dlg.date.setMaximumDate(dlg.date.date().addDays(5))
    dlg.date.setDate(dlg.date.date().addDays(1))
    dlg.flags[0].setChecked(True)
    assert dlg.save() is None and "未来" in dlg.status.text()
    dlg.date.setDate(dlg.date.date().addDays(-1))

    # Problem raised → mediation case in one step.
    dlg.problems.setText("楼上漏水到楼下")
    visit_id = dlg.save()
    assert visit_id and dlg.mediation_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("楼上漏水", True)))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("邻里", True)))
    case_id = dlg.to_mediation()
    assert case_id
    assert db.scalar("SELECT mediation_case_id FROM visit WHERE id = ?", (visit_id,)) == case_id
    assert db.scalar("SELECT visit_id FROM mediation_case WHERE id = ?", (case_id,)) == visit_id
    dlg.close()

    # After the visits the due list is empty for 1栋.
    _wait_due(qtbot, tab)
    assert tab.due.model.rows == []

    # Change 王大's colour to red with a reason: his interval becomes 1 day.
    def risk_exec(d):
        d.colour.setCurrentIndex(d.colour.findData("red"))
        d.reason.setText("家中突发变故")
        d.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(place_dialogs.RiskColourDialog, "exec", risk_exec)
    tab.change_risk_colour(h1)
    assert rhythm.household_rhythm(db, h1, today)["interval_days"] == 1
    # The visit form shows the new rhythm for him, and proposes a daily visit.
    tab.open_visit_entry(h1, b1)
    assert "每 1 天" in dlg.household_label.text() and dlg.kind.currentText() == "日访"
    dlg.close()
    assert rhythm.risk_history(db, h1)[0]["reason"] == "家中突发变故"
    # Tomorrow he is due again; the yellow household is not.
    rows = rhythm.due_list(db, today + dt.timedelta(days=1), building_id=b1)
    assert [r.household_id for r in rows] == [h1]

    # Risk colour without a reason: refused, dialog stays open, nothing recorded.
    def risk_exec_no_reason(d):
        d.colour.setCurrentIndex(d.colour.findData("green"))
        d.accept()
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(place_dialogs.RiskColourDialog, "exec", risk_exec_no_reason)
    tab.change_risk_colour(h1)
    assert any("请填写调整风险颜色的原因" in w for w in messages.texts("warn"))
    assert len(rhythm.risk_history(db, h1)) == 1

    # Counts in the tree.
    qtbot.waitUntil(lambda: tab._counts.get(("building", b1)) is not None, timeout=10000)
    qtbot.waitUntil(lambda: tab._items[("building", b1)].text(1) == "2", timeout=10000)


def test_head_filter_and_print_document(qtbot, monkeypatch, ctx, tab):
    db = ctx.db
    c = places.add_community(db, "阳光社区")
    b1 = places.add_building(db, c, "1栋", floors=1, units=1, rooms_per_floor=2)
    b2 = places.add_building(db, c, "2栋", floors=1, units=1, rooms_per_floor=2)
    places.assign_role(db, "building", b2, staff_name="老周")
    h1 = add_household(db, room_id(db, b1, 1, "101"), number="A", move_in="2020-01-01")
    h2 = add_household(db, room_id(db, b2, 1, "101"), number="B", move_in="2020-01-01")
    qtbot.waitUntil(lambda: ("building", b2) in tab._items)
    tab.select("community", c)
    tab.due.load_heads()
    _wait_due(qtbot, tab)
    assert {r.household_id for r in tab.due.model.rows} == {h1, h2}
    i = tab.due.head_filter.findData("s:老周")
    assert i > 0
    tab.due.head_filter.setCurrentIndex(i)
    _wait_due(qtbot, tab)
    assert [r.household_id for r in tab.due.model.rows] == [h2]
    doc = tab.due.document()
    text = doc.toPlainText()
    assert "待走访住户清单" in text and "老周" in text and "B" in text


def test_delete_building_with_households_explains_and_offers_to_move(qtbot, monkeypatch, ctx, tab, messages):
    db = ctx.db
    c = places.add_community(db, "阳光社区")
    b1 = places.add_building(db, c, "1栋", floors=1, units=1, rooms_per_floor=2)
    b2 = places.add_building(db, c, "2栋", floors=1, units=1, rooms_per_floor=2)
    hid = add_household(db, room_id(db, b1, 1, "101"))
    qtbot.waitUntil(lambda: ("building", b1) in tab._items)
    tab.select("building", b1)
    from app.ui.places import place_dialogs

    def relocate_exec(dlg):
        dlg.building.setCurrentIndex(dlg.building.findData(b2))
        dlg.room.setText("1-102")
        dlg.move_selected()
        return 1

    monkeypatch.setattr(place_dialogs.RelocateDialog, "exec", relocate_exec)
    messages.answer("搬迁住户…")
    tab.delete_place()
    assert "还住着 1 户，不能删除或停用" in messages.asked[0]
    assert db.scalar("SELECT deleted FROM building WHERE id = ?", (b1,)) == 0
    assert places.resolve_room(db, b2, "1-102")["household_id"] == hid
    # Now empty: deleting asks first, then goes.
    messages.answer(True)
    tab.select("building", b1)
    tab.tree.setFocus()
    qtbot.keyClick(tab.tree, Qt.Key.Key_Delete)  # the Delete key in the tree
    assert db.scalar("SELECT deleted FROM building WHERE id = ?", (b1,)) == 1


def test_resident_head_rename_move_retire_and_sign_hint(qtbot, monkeypatch, ctx, tab, messages):
    db = ctx.db
    c = places.add_community(db, "阳光社区")
    g1 = places.add_grid(db, c, "一网格")
    g2 = places.add_grid(db, c, "二网格")
    b1 = places.add_building(db, c, "1栋", grid_id=g1, floors=1, units=1, rooms_per_floor=2)
    b2 = places.add_building(db, c, "2栋", grid_id=g1, floors=1, units=1, rooms_per_floor=2)
    places.set_sign(db, "building", b2, "fish")
    hid = add_household(db, room_id(db, b1, 1, "101"), head="周红梅")
    qtbot.waitUntil(lambda: ("building", b1) in tab._items)

    # A resident as building head, found by typing her name.
    from app.ui.places.place_dialogs import RoleDialog

    tab.select("building", b1)
    dlg = RoleDialog(ctx, "building", b1, tab)
    qtbot.addWidget(dlg)
    dlg.search.setText("周")
    assert dlg.results.count() == 1 and "周红梅" in dlg.results.item(0).text()
    dlg.accept()
    person = db.scalar("SELECT head_person_id FROM household WHERE id = ?", (hid,))
    assert places.roles_of(db, "building", b1)[0]["person_id"] == person
    # Entering her again is refused with a message, the dialog stays open.
    dlg2 = RoleDialog(ctx, "building", b1, tab)
    qtbot.addWidget(dlg2)
    dlg2.search.setText("周")
    dlg2.accept()
    assert any("已经是这里的楼栋长" in w for w in messages.texts("warn"))
    # Ending her role from the dialog.
    messages.answer(True)
    dlg2.current.setCurrentRow(0)
    dlg2.end_selected()
    assert places.roles_of(db, "building", b1) == []

    # Rename and move through the tab.
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("一号楼", True)))
    tab.select("building", b1)
    tab.rename_place()
    assert places.get_place(db, "building", b1)["name"] == "一号楼"
    qtbot.waitUntil(lambda: "一号楼" in tab._items[("building", b1)].text(0))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("二网格", True)))
    tab.select("building", b1)
    tab.move_place()
    assert places.get_place(db, "building", b1)["grid_id"] == g2
    assert tab._items[("building", b1)].parent() is tab._items[("grid", g2)]

    # Retire an empty building (asked first), then bring it back (not asked).
    tab.select("building", b2)
    messages.answer(True)
    tab.toggle_retired()
    assert places.get_place(db, "building", b2)["retired"] == 1
    assert "已停用" in tab._items[("building", b2)].text(0)
    tab.select("building", b2)
    assert tab.retire_button.text() == "恢复使用"
    tab.toggle_retired()
    assert places.get_place(db, "building", b2)["retired"] == 0

    # The sign chooser marks a sign already used in the community.
    from app.widgets.sign_chooser import SignChooserDialog

    chooser = SignChooserDialog(None, places.signs_in_use(db, c), tab)
    qtbot.addWidget(chooser)
    chooser.select("fish")
    assert "已经给了2栋" in chooser.hint.text()
    assert "2栋已用" in chooser.buttons["fish"].text()
    chooser.select("apple")
    assert chooser.hint.text() == "" and chooser.selected() == "apple"
    chooser.select(None)
    assert chooser.selected() is None


def test_visit_entry_bad_input_and_undo(qtbot, monkeypatch, ctx, tab, messages):
    db = ctx.db
    c = places.add_community(db, "阳光社区")
    b = places.add_building(db, c, "1栋", floors=5, units=1, rooms_per_floor=2)
    move_in = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    hid = add_household(db, room_id(db, b, 1, "501"), move_in=move_in)
    qtbot.waitUntil(lambda: ("building", b) in tab._items)
    tab.select("building", b)
    tab.open_visit_entry()
    dlg = tab._visit_dialog
    # One unit: "501" alone is enough; an empty room is refused.
    dlg.visitor.setText("王五")
    qtbot.keyClicks(dlg.room, "502")
    qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
    assert "是空房" in dlg.household_label.text() and dlg.household_id is None
    dlg.room.clear()
    qtbot.keyClicks(dlg.room, "501")
    qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
    assert dlg.household_id == hid
    # Before the move-in date: refused, nothing saved, the date field gets the focus.
    dlg.date.setDate(dlg.date.date().addDays(-5))
    qtbot.keyClick(dlg.flags[0], Qt.Key.Key_3)  # 3 ticks the third finding
    assert dlg.flags[2].isChecked()
    assert dlg.save() is None
    assert "早于这一户的入住日期" in dlg.status.text()
    assert db.scalar("SELECT count(*) FROM visit") == 0
    dlg.date.setDate(dlg.date.date().addDays(5))
    vid = dlg.save()
    assert vid and db.scalar("SELECT finding_flags FROM visit WHERE id = ?", (vid,)) == '["身体不适/住院"]'
    # The room's page in the tree shows the household and its visits.
    unit = db.scalar("SELECT id FROM unit WHERE building_id = ?", (b,))
    tab._items[("unit", unit)].setExpanded(True)
    assert tab.select("room", room_id(db, b, 1, "501"))
    assert tab.visits_table.rowCount() == 1 and tab.visits_table.item(0, 2).text() == "王五"
    assert "张三" in tab.info_label.text() and "每 30 天" in tab.info_label.text()
    # Undo a slip: delete the visit just saved, after a confirmation.
    messages.answer(True)
    assert dlg.undo_button.isEnabled()
    assert dlg.delete_selected()
    assert db.scalar("SELECT deleted FROM visit WHERE id = ?", (vid,)) == 1
    assert dlg.recent.count() == 0
    dlg.close()


def test_f2_opens_the_visit_form_even_without_buildings(qtbot, ctx, tab):
    tab.activateWindow()
    tab.tree.setFocus()
    qtbot.keyClick(tab.tree, Qt.Key.Key_F2)
    dlg = tab._visit_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.building.count() == 0
    qtbot.keyClicks(dlg.room, "1-101")
    assert dlg.save() is None and "请先选择楼栋" in dlg.status.text()
    dlg.close()


def test_f2_puts_the_cursor_in_the_room_so_typing_never_switches_the_building(qtbot, ctx, tab):
    from tests.builders.registry import add_household as add_hh
    from tests.builders.registry import make_site

    db = ctx.db
    make_site(db)
    hid, _ = add_hh(db, "1-2-501", "周艳")
    b1 = db.scalar("SELECT id FROM building WHERE name = '1栋'")
    qtbot.waitUntil(lambda: tab.select("building", b1))
    tab.activateWindow()
    tab.tree.setFocus()
    qtbot.keyClick(tab.tree, Qt.Key.Key_F2)
    dlg = tab._visit_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.room)
    # Typed where the cursor is, as a building head does: "2-501" must not pick 2栋.
    qtbot.keyClicks(QApplication.focusWidget(), "2-501")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert dlg.building.currentText() == "1栋"
    assert dlg.room.text() == "2-501"
    assert dlg.household_id == hid
    dlg.close()


def test_a_second_visit_the_same_day_asks_first(qtbot, ctx, tab, monkeypatch, messages):
    from app.ui.places.visit_entry import VisitEntryDialog

    db = ctx.db
    b = places.add_building(db, places.add_community(db, "测试社区"), "1栋", number=1, floors=5, units=1,
                            rooms_per_floor=2)
    hid = add_household(db, room_id(db, b, 1, "501"))
    dlg = VisitEntryDialog(ctx, b)
    qtbot.addWidget(dlg)
    dlg.present(b)
    dlg.visitor.setText("王五")

    def enter_visit() -> str | None:
        qtbot.keyClicks(dlg.room, "1-501")
        qtbot.keyClick(dlg.room, Qt.Key.Key_Return)
        dlg.flags[0].setChecked(True)
        return dlg.save()

    assert enter_visit() is not None and not messages.asked
    messages.answer(False)
    assert enter_visit() is None and len(messages.asked) == 1 and "已登记过一次" in messages.asked[0]
    assert db.scalar("SELECT count(*) FROM visit WHERE household_id = ? AND deleted = 0", (hid,)) == 1
    messages.answer(True)
    dlg.room.clear()
    assert enter_visit() is not None and len(messages.asked) == 2
    assert db.scalar("SELECT count(*) FROM visit WHERE household_id = ? AND deleted = 0", (hid,)) == 2
    dlg.close()

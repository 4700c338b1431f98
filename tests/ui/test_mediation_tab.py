"""The mediation tab driven like a clerk: new case with two residents, escalate, settle, follow up, close."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from app.models.mediation import mediation as med
from app.ui.common import events
from app.ui.mediation.mediation_dialogs import (
    CaseDialog,
    FollowupDialog,
    LevelDialog,
    SettingsDialog,
    StatusDialog,
)
from app.ui.mediation.mediation_tab import MediationTab
from tests.builders.mediation import make_places
from tests.builders.ui import window_context


@pytest.fixture
def ctx(db):
    with window_context(db) as c:
        yield c


@pytest.fixture
def places(db):
    return make_places(db)


@pytest.fixture
def tab(qtbot, ctx, places):
    w = MediationTab(ctx)
    qtbot.addWidget(w)
    w.resize(1400, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def drive(monkeypatch, cls, fill):
    """Replace the dialog's exec: `fill(dialog)` types into the real dialog, then OK is pressed."""

    def fake_exec(dlg):
        fill(dlg)
        dlg.accept()
        result = dlg.result()
        dlg.setResult(QDialog.DialogCode.Rejected)  # a refused OK leaves the dialog "open": cancel it
        return result

    monkeypatch.setattr(cls, "exec", fake_exec)


def test_case_life_from_new_to_closed(qtbot, tab, ctx, places, monkeypatch, messages):
    announced: list = []
    ctx.events.changed.connect(announced.append)

    def fill_case(dlg: CaseDialog):
        dlg.title_edit.insert("楼上漏水引发纠纷")  # QTest types ASCII only
        dlg.category.setCurrentText("邻里")
        dlg.building.setCurrentIndex(dlg.building.findData(places["building"]))
        for query in ("zs", "李四"):
            dlg.person_search.clear()
            dlg.person_search.insert(query)
            qtbot.keyClick(dlg.person_search, Qt.Key.Key_Return)
            assert dlg.person_results.count() == 1
            assert "1栋1单元10" in dlg.person_results.item(0).text()
            qtbot.mouseClick(dlg.add_person_button, Qt.MouseButton.LeftButton)
        assert dlg.party_table.rowCount() == 2

    drive(monkeypatch, CaseDialog, fill_case)
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    assert any(c.touches(events.MEDIATION) for c in announced)
    assert tab.model.rowCount() == 1
    case_id = tab.current_case_id()
    case = med.get_case(ctx.db, case_id)
    assert case["title"] == "楼上漏水引发纠纷" and case["number"] == f"{dt.date.today().year}-0001"
    assert [p["name"] for p in med.parties(ctx.db, case_id)] == ["张三", "李四"]
    parties_col = [c.key for c in tab.model.columns].index("parties")
    assert tab.model.data(tab.model.index(0, parties_col)) == "张三、李四"
    assert "剩 3 天" == tab.model.data(tab.model.index(0, 1))

    # escalate to 社区 with a reason
    def fill_level(dlg: LevelDialog):
        assert dlg.to_level.currentText() == "社区"
        dlg.reason.insert("楼栋调解未果")

    drive(monkeypatch, LevelDialog, fill_level)
    qtbot.mouseClick(tab.level_button, Qt.MouseButton.LeftButton)
    assert med.get_case(ctx.db, case_id)["level"] == "社区"
    assert "楼栋 → 社区" in tab.detail.toPlainText() and "楼栋调解未果" in tab.detail.toPlainText()

    # 受理 → 调解中 → 已调解 with the agreement; the dialog offers only allowed statuses
    def to_mediating(dlg: StatusDialog):
        assert [dlg.to_status.itemText(i) for i in range(dlg.to_status.count())] == ["调解中", "已移交"]
        dlg.to_status.setCurrentText("调解中")

    drive(monkeypatch, StatusDialog, to_mediating)
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)

    def settle_without_terms(dlg: StatusDialog):
        dlg.to_status.setCurrentText("已调解")

    # refused: no agreement text; the dialog stays open with the reason, nothing saved
    monkeypatch.setattr(StatusDialog, "exec", lambda dlg: (settle_without_terms(dlg), dlg.accept(), dlg.result())[2])
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)
    assert messages.said and "协议内容" in messages.said[-1]
    assert med.get_case(ctx.db, case_id)["status"] == "调解中"

    def settle(dlg: StatusDialog):
        dlg.to_status.setCurrentText("已调解")
        dlg.agreement_text.setPlainText("一、李四修复防水层；二、赔偿张三 500 元。")

    drive(monkeypatch, StatusDialog, settle)
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)
    case = med.get_case(ctx.db, case_id)
    assert case["status"] == "已调解" and case["outcome"] == "已调解"
    assert tab.agreement_button.isEnabled() and tab.followup_button.isEnabled()
    assert "须登记至少一次回访后才能结案" in tab.detail.toPlainText()

    # nothing can be chosen before the follow-up (已回访 comes from 登记回访); the hint says where
    def only_followup(dlg: StatusDialog):
        assert [dlg.to_status.itemText(i) for i in range(dlg.to_status.count())] == ["（无可选状态）"]
        assert not dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
        assert "须先登记回访" in dlg.hint.text() and "登记回访" in dlg.hint.text()
        assert "已已" not in dlg.hint.text()
        dlg.reject()

    monkeypatch.setattr(StatusDialog, "exec", lambda dlg: (only_followup(dlg), QDialog.DialogCode.Rejected)[1])
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)
    assert med.get_case(ctx.db, case_id)["status"] == "已调解"

    def follow(dlg: FollowupDialog):
        dlg.outcome_box.setCurrentText("满意")
        dlg.notes.setPlainText("双方关系缓和")

    drive(monkeypatch, FollowupDialog, follow)
    qtbot.mouseClick(tab.followup_button, Qt.MouseButton.LeftButton)
    assert med.get_case(ctx.db, case_id)["status"] == "已回访"
    assert "回访：满意" in tab.detail.toPlainText()

    def close(dlg: StatusDialog):
        dlg.to_status.setCurrentText("结案")

    drive(monkeypatch, StatusDialog, close)
    messages.answer(False, True)
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)  # "No" to the confirmation
    assert med.get_case(ctx.db, case_id)["status"] == "已回访"
    qtbot.mouseClick(tab.status_button, Qt.MouseButton.LeftButton)
    assert med.get_case(ctx.db, case_id)["status"] == "结案"
    assert not tab.status_button.isEnabled()

    # the monthly report shows it
    tab.inner.setCurrentIndex(1)
    tab.month_edit.setDate(QDate.currentDate())
    qtbot.mouseClick(tab.report_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.report is not None, timeout=10000)
    text = tab.report_view.toPlainText()
    assert tab.report["received"] == 1 and tab.report["settled"] == 1 and tab.report["followup_rate"] == 1.0
    assert "100.0%" in text and "矛盾纠纷排查情况表" in text


def test_case_dialog_refuses_empty_title_and_keeps_input(qtbot, tab, ctx, places, monkeypatch, messages):
    def fill(dlg: CaseDialog):
        dlg.outsider_name.insert("钱七")
        qtbot.mouseClick(dlg.findChild(type(dlg.add_person_button), "partyAddOutsider"), Qt.MouseButton.LeftButton)
        dlg.accept()  # empty title: refused, dialog still open
        assert dlg.isVisible() or dlg.result() != QDialog.DialogCode.Accepted
        assert "标题" in dlg.error_label.text()
        assert dlg.party_table.rowCount() == 1

    monkeypatch.setattr(CaseDialog, "exec", lambda dlg: (dlg.show(), fill(dlg), dlg.reject(), dlg.result())[3])
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    assert messages.said and "标题" in messages.said[0]
    assert ctx.db.scalar("SELECT count(*) FROM mediation_case") == 0


def test_filters_and_search_in_the_tab(qtbot, tab, ctx, places):
    today = dt.date.today()
    a = med.create_case(ctx.db, title="漏水", category="邻里", parties=[{"person_id": places["张三"]}],
                        received_date=today - dt.timedelta(days=10))
    b = med.create_case(ctx.db, title="物业费", category="物业费", building_id=places["building2"],
                        parties=[{"person_id": places["单雄"]}])
    assert tab.model.rowCount() == 2
    assert tab.model.row_id(0) == a  # overdue first
    assert tab.model.data(tab.model.index(0, 1)) == "超时 7 天"
    qtbot.keyClicks(tab.search, "sx")
    qtbot.keyClick(tab.search, Qt.Key.Key_Return)
    assert tab.model.rowCount() == 1 and tab.model.row_id(0) == b
    tab.search.clear()
    tab.apply_filter()
    tab.category_box.setCurrentIndex(tab.category_box.findData("邻里"))
    assert tab.model.rowCount() == 1 and tab.model.row_id(0) == a
    tab.category_box.setCurrentIndex(0)
    tab.building_box.setCurrentIndex(tab.building_box.findData(places["building2"]))
    assert tab.model.rowCount() == 1 and tab.model.row_id(0) == b
    tab.building_box.setCurrentIndex(0)
    tab.date_from.setDate(QDate.currentDate().addDays(-1))
    assert tab.model.rowCount() == 1 and tab.count_label.text() == "共 1 件"


def test_case_from_visit_shows_the_visit_and_edit_keeps_it(qtbot, tab, ctx, places, monkeypatch, messages):
    with ctx.db.write() as tx:
        vid = tx.insert("visit", {"household_id": places["hh1"], "visit_date": dt.date.today().isoformat(),
                                  "kind": "周访", "visitor_name": "楼栋长王", "problems": "与楼上因漏水争吵"})
    case_id = med.create_case_from_visit(ctx.db, vid, "漏水争吵", "邻里")
    assert tab.select_case(case_id)
    text = tab.detail.toPlainText()
    assert "来源走访" in text and "楼栋长王" in text and "与楼上因漏水争吵" in text

    def edit(dlg: CaseDialog):
        assert dlg.title_edit.text() == "漏水争吵" and dlg.party_table.rowCount() == 1
        assert not dlg.level.isEnabled()
        dlg.title_edit.setText("楼上漏水争吵")
        dlg.outsider_name.insert("物业公司")
        qtbot.mouseClick(dlg.findChild(type(dlg.add_person_button), "partyAddOutsider"), Qt.MouseButton.LeftButton)

    drive(monkeypatch, CaseDialog, edit)
    qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert med.get_case(ctx.db, case_id)["title"] == "楼上漏水争吵"
    assert [p["name"] for p in med.parties(ctx.db, case_id)] == ["张三", "物业公司"]
    assert "来源走访" in tab.detail.toPlainText() and not messages.said


def test_settings_change_recolours_the_list(qtbot, tab, ctx, places, monkeypatch, messages):
    med.create_case(ctx.db, title="漏水", parties=[{"person_id": places["张三"]}],
                    received_date=dt.date.today() - dt.timedelta(days=4))
    assert tab.model.data(tab.model.index(0, 1)) == "超时 1 天"

    def fill(dlg: SettingsDialog):
        dlg.spins["楼栋"].setValue(7)
        dlg.categories.setPlainText(dlg.categories.toPlainText() + "\n宅基地")

    drive(monkeypatch, SettingsDialog, fill)
    qtbot.mouseClick(tab.settings_button, Qt.MouseButton.LeftButton)
    assert med.limits(ctx.db)["楼栋"] == 7 and "宅基地" in med.categories(ctx.db)
    assert tab.model.data(tab.model.index(0, 1)) == "剩 3 天"
    assert tab.category_box.findData("宅基地") >= 0 and not messages.said


def test_in_the_real_main_window_with_demo_data(qtbot, main_window):
    tab = main_window.findChild(MediationTab, "mediationTab")
    main_window.tabs.setCurrentWidget(tab)
    table = main_window.findChild(type(tab.table), "mediationTable")
    assert table is tab.table and tab.model.rowCount() > 0
    tab.table.selectRow(0)
    assert tab.model.row(0)["number"] in tab.detail.toPlainText()
    # the demo's open cases come first, coloured by their time limit
    first = tab.model.row(0)
    if first["status"] in med.OPEN_STATUSES:
        assert tab.model.data(tab.model.index(0, 1), Qt.ItemDataRole.DecorationRole) is not None


def test_delete_asks_reason_and_confirmation(qtbot, tab, ctx, places, monkeypatch, messages):
    from PySide6.QtWidgets import QInputDialog

    cid = med.create_case(ctx.db, title="误登", parties=[{"person_id": places["张三"]}])
    tab.select_case(cid)
    assert tab.delete_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("重复登记", True))
    messages.answer(False)
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert tab.model.rowCount() == 1
    messages.answer(True)
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert tab.model.rowCount() == 0 and tab.count_label.text() == "共 0 件"
    assert not tab.delete_button.isEnabled() and not messages.said


def test_enter_in_the_party_search_searches_and_never_saves(qtbot, ctx, places, messages):
    dlg = CaseDialog(None, ctx)
    qtbot.addWidget(dlg)
    saved: list[str] = []
    dlg.apply = lambda db, v: saved.append(med.create_case(db, **v))
    dlg.show()
    dlg.activateWindow()
    dlg.title_edit.setText("楼道堆物")
    # First a save without parties: the error line says what is missing.
    dlg.accept()
    assert not saved and dlg.error_label.isVisible() and "当事人" in dlg.error_label.text()
    dlg.person_search.setFocus()
    qtbot.keyClicks(dlg.person_search, "1-1-102")  # a room, like every other search
    assert not dlg.error_label.isVisible()  # the clerk is fixing it: the old message goes
    warned = len(messages.said)
    qtbot.keyClick(dlg.person_search, Qt.Key.Key_Return)
    # Enter searched; it did not also press 保存 (which would warn "请至少添加一位当事人" again).
    assert not saved and dlg.isVisible() and len(messages.said) == warned and not dlg.error_label.isVisible()
    texts = [dlg.person_results.item(i).text() for i in range(dlg.person_results.count())]
    assert len(texts) == 2 and all("年龄" in t or "岁" in t for t in texts)
    assert "身份证尾号 101X" in texts[0] and "身份证尾号 111X" in texts[1]
    dlg._add_selected_person()
    # The party is in, the stale message is gone, and the case's building follows the party.
    assert not dlg.error_label.isVisible()
    assert dlg.building.currentData() == places["building"]
    dlg.close()

"""Undo from the window: an edit made through each tab's real dialog, then Ctrl+Z (and Ctrl+Y).

Also: a refused undo says who changed the value since; the op helper's failure shows its message
and changes nothing; an operation refreshes the views that watch its tables and no others.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QInputDialog

from app.models.core.db import open_database
from app.models.core.errors import ValidationError
from app.models.registry import persons
from app.ui.common.ops import perform


@pytest.fixture
def window(qtbot, main_window):
    main_window.activateWindow()
    qtbot.waitActive(main_window)
    return main_window


def press(qtbot, window, key: Qt.Key, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    """A shortcut typed into the window (not into a text box, whose own Ctrl+Z undoes typing)."""
    window.activateWindow()
    target = window.tabs.tabBar()
    target.setFocus()
    qtbot.keyClick(target, key, modifiers)


def undo(qtbot, window) -> None:
    press(qtbot, window, Qt.Key.Key_Z)


def show(window, name: str):
    tab = window.tab(name)
    window.tabs.setCurrentWidget(tab)
    return tab


def drive(monkeypatch, cls, fill) -> None:
    """The dialog's exec types into the real dialog, then presses OK."""

    def fake_exec(dlg):
        fill(dlg)
        dlg.accept()
        result = dlg.result()
        dlg.setResult(QDialog.DialogCode.Rejected)
        return result

    monkeypatch.setattr(cls, "exec", fake_exec)


def a_person(db):
    return db.one("SELECT p.id, p.name, p.phone, p.household_id FROM person p JOIN household h ON h.id = p.household_id "
                  "WHERE p.deleted = 0 AND p.status = '在册' AND h.deleted = 0 ORDER BY p.name LIMIT 1")


# -- registry ------------------------------------------------------------------------------------
def test_registry_member_phone_edit_is_undone_by_ctrl_z_and_redone_by_ctrl_y(qtbot, window, messages):
    from app.ui.registry.person_dialog import PersonDialog

    db = window.ctx.db
    show(window, "registryTab")
    p = a_person(db)
    dialog = PersonDialog(window.ctx, p["household_id"], p["id"], window)
    qtbot.addWidget(dialog)
    dialog.phone.setText("13900001111")
    dialog.save()
    assert db.get("person", p["id"])["phone"] == "13900001111"
    assert window.undo_action.text() == f"撤销“修改 {p['name']} 的电话”(&U)" and window.undo_action.isEnabled()

    undo(qtbot, window)
    assert db.get("person", p["id"])["phone"] == p["phone"]
    assert not window.undo_action.isEnabled() or window.undo_action.text() != f"撤销“修改 {p['name']} 的电话”(&U)"
    assert window.redo_action.text() == f"重做“修改 {p['name']} 的电话”(&R)"
    assert f"已撤销：修改 {p['name']} 的电话" in window.statusBar().currentMessage()

    press(qtbot, window, Qt.Key.Key_Y)
    assert db.get("person", p["id"])["phone"] == "13900001111"
    # The undo and the redo are audited writes like any other.
    assert db.scalar("SELECT count(*) FROM audit_log WHERE tbl = 'person' AND row_id = ? AND summary LIKE '撤销%'",
                     (p["id"],)) == 1
    assert not messages.texts("warn")


def test_registry_household_edit_undone_on_screen(qtbot, window, monkeypatch, messages):
    from app.ui.registry.household_dialog import HouseholdDialog

    tab = show(window, "registryTab")
    monkeypatch.setattr(HouseholdDialog, "run", classmethod(lambda cls, d: (d.show(), dialogs.append(d))))
    dialogs: list[HouseholdDialog] = []
    tab.table.selectRow(0)
    hid = tab.current_household_id()
    before = window.ctx.db.get("household", hid)["origin_village"]
    tab.open_current()
    dialog = dialogs[0]
    qtbot.addWidget(dialog)
    dialog.village.setText("新田村")
    assert dialog.save()
    qtbot.waitUntil(lambda: "新田村" in tab.summary.fields.text())
    dialog.close()

    undo(qtbot, window)
    assert window.ctx.db.get("household", hid)["origin_village"] == before
    assert "新田村" not in tab.summary.fields.text()
    assert not messages.texts("warn")


def test_an_undo_is_refused_when_someone_else_changed_the_value_since(qtbot, window, messages):
    from app.ui.registry.person_dialog import PersonDialog

    db = window.ctx.db
    p = a_person(db)
    dialog = PersonDialog(window.ctx, p["household_id"], p["id"], window)
    qtbot.addWidget(dialog)
    dialog.phone.setText("13900002222")
    dialog.save()
    other = open_database(db.path, user="王五")  # another clerk's PC sharing the file, or a sync
    try:
        persons.update(other, p["id"], {"phone": "13700003333"})
    finally:
        other.close()
    undo(qtbot, window)
    assert len(messages.texts("warn")) == 1
    assert messages.texts("warn")[0].startswith(f"无法撤销：{p['name']} 的电话 已被 王五 于 ") and messages.texts("warn")[0].endswith(" 修改。")
    assert db.get("person", p["id"])["phone"] == "13700003333"
    assert not window.undo_action.isEnabled()  # the refused step is gone; nothing else was done


# -- places and visits ---------------------------------------------------------------------------
def test_places_rename_undone(qtbot, window, monkeypatch, messages):
    tab = show(window, "placesTab")
    qtbot.waitUntil(lambda: tab.loaded and bool(tab._items))
    db = window.ctx.db
    b = db.one("SELECT id, name FROM building WHERE deleted = 0 ORDER BY name LIMIT 1")
    assert tab.select("building", b["id"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("新楼", True))
    tab.rename_place()
    assert db.get("building", b["id"])["name"] == "新楼"
    assert tab._items[("building", b["id"])].text(0).startswith("新楼")
    assert window.undo_action.text() == "撤销“修改 新楼 的楼栋名称”(&U)"

    undo(qtbot, window)
    assert db.get("building", b["id"])["name"] == b["name"]
    assert tab._items[("building", b["id"])].text(0).startswith(b["name"])
    assert not messages.texts("warn")


def test_a_visit_entered_in_the_visit_form_is_undone(qtbot, window, monkeypatch, messages):
    from app.ui.places.visit_entry import VisitEntryDialog

    db = window.ctx.db
    show(window, "placesTab")
    hid = db.scalar("SELECT id FROM household WHERE deleted = 0 AND room_id IS NOT NULL LIMIT 1")
    n = db.scalar("SELECT count(*) FROM visit WHERE deleted = 0 AND household_id = ?", (hid,))
    messages.always(True)  # visited today
    dialog = VisitEntryDialog(window.ctx, None, window)
    qtbot.addWidget(dialog)
    dialog.present(household_id=hid)
    dialog.findings.setText("家中一切正常")
    visit_id = dialog.save()
    assert visit_id and db.scalar("SELECT count(*) FROM visit WHERE deleted = 0 AND household_id = ?", (hid,)) == n + 1
    dialog.close()
    undo(qtbot, window)
    assert db.get("visit", visit_id)["deleted"] == 1
    assert db.scalar("SELECT count(*) FROM visit WHERE deleted = 0 AND household_id = ?", (hid,)) == n
    assert not messages.texts("warn")


# -- employment and training ---------------------------------------------------------------------
def test_employment_job_delete_and_course_edit_undone(qtbot, window, monkeypatch, messages):
    from app.ui.employment.training_dialogs import CourseDialog

    tab = show(window, "employmentTab")
    qtbot.waitUntil(lambda: tab.loaded and tab.jobs_model is not None)
    db = window.ctx.db
    tab.inner.setCurrentIndex(1)
    tab.jobs_table.selectRow(0)
    job_id = tab.jobs_model.row_id(0)
    total = tab.jobs_model.rowCount()
    messages.answer(True)
    tab.job_delete_button.click()
    assert db.get("employment", job_id)["deleted"] == 1 and tab.jobs_model.rowCount() == total - 1
    undo(qtbot, window)
    assert db.get("employment", job_id)["deleted"] == 0 and tab.jobs_model.rowCount() == total

    course = db.one("SELECT id, name FROM training_course WHERE deleted = 0 ORDER BY start_date DESC LIMIT 1")
    tab.inner.setCurrentIndex(2)
    row = next(r for r in range(tab.courses_model.rowCount()) if tab.courses_model.row_id(r) == course["id"])
    tab.training_table.selectRow(row)
    monkeypatch.setattr(CourseDialog, "exec", lambda dlg: (dlg.name.setText("改过名的培训"), dlg.save()))
    tab.edit_course()
    assert not messages.texts("warn")
    assert db.get("training_course", course["id"])["name"] == "改过名的培训"
    undo(qtbot, window)
    assert db.get("training_course", course["id"])["name"] == course["name"]
    assert not messages.texts("warn")


# -- mediation -----------------------------------------------------------------------------------
def test_mediation_case_edit_undone(qtbot, window, monkeypatch, messages):
    from app.ui.mediation.mediation_dialogs import CaseDialog

    tab = show(window, "mediationTab")
    db = window.ctx.db
    tab.table.selectRow(0)
    case_id = tab.current_case_id()
    title = db.get("mediation_case", case_id)["title"]
    drive(monkeypatch, CaseDialog, lambda dlg: dlg.title_edit.setText("改过的标题"))
    tab.edit_case()
    assert db.get("mediation_case", case_id)["title"] == "改过的标题"
    assert "改过的标题" in tab.detail.toPlainText()
    undo(qtbot, window)
    assert db.get("mediation_case", case_id)["title"] == title
    assert tab.select_case(case_id) and title in tab.detail.toPlainText()
    assert not messages.texts("warn")


# -- settings --------------------------------------------------------------------------------------
def test_office_settings_change_undone(qtbot, window, messages):
    from app.ui.setup.settings_dialog import SettingsDialog

    title = window.windowTitle()
    dialog = SettingsDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    dialog.texts["office_name"].setText("新的服务中心")
    dialog.save()
    assert "新的服务中心" in window.windowTitle()
    assert window.undo_action.text() == "撤销“修改单位设置”(&U)"
    undo(qtbot, window)
    assert window.windowTitle() == title
    assert not messages.texts("warn")


# -- the op helper and the views -------------------------------------------------------------------
def test_a_failed_operation_shows_its_message_and_changes_nothing(qtbot, window, messages):
    db = window.ctx.db
    p = a_person(db)
    heard = []
    window.ctx.events.changed.connect(heard.append)
    before = db.scalar("SELECT count(*) FROM change_log")

    def half_done(d):
        with d.write() as tx:
            tx.update("person", p["id"], {"phone": "13800009999"})
            raise ValidationError("出生日期不对：请按 2026-01-31 的样子填写。", field="birth_date")

    outcome = perform(window.ctx, window, half_done, title="无法保存")
    assert not outcome and messages.texts("warn") == ["出生日期不对：请按 2026-01-31 的样子填写。"]
    assert db.get("person", p["id"])["phone"] == p["phone"]
    assert db.scalar("SELECT count(*) FROM change_log") == before
    assert heard == [] and not window.undo_action.isEnabled()


def test_views_watching_a_table_refresh_and_the_others_do_not(qtbot, window):
    from app.models.mediation import mediation as med

    registry, places_tab = window.tab("registryTab"), window.tab("placesTab")
    employment, mediation = window.tab("employmentTab"), window.tab("mediationTab")
    for tab in (employment, places_tab, mediation, registry):  # load every tab once
        show(window, tab.objectName())
        qtbot.waitUntil(lambda tab=tab: tab.loaded)
    counts = {t.objectName(): t.refresh_count for t in (registry, places_tab, employment, mediation)}
    case_id = window.ctx.db.scalar("SELECT id FROM mediation_case WHERE deleted = 0 LIMIT 1")

    # The registry is on screen; a mediation note touches only mediation tables.
    assert perform(window.ctx, window, lambda d: med.add_note(d, case_id, note="电话回访，双方已和解"))
    assert registry.refresh_count == counts["registryTab"] and not registry.stale
    assert not employment.stale and not places_tab.stale
    assert mediation.stale and mediation.refresh_count == counts["mediationTab"]
    show(window, "mediationTab")  # refreshed once, when shown
    assert not mediation.stale and mediation.refresh_count == counts["mediationTab"] + 1

    # A person's edit: the registry (hidden now) and employment go stale, mediation (shown) refreshes.
    p = a_person(window.ctx.db)
    assert perform(window.ctx, window, lambda d: persons.update(d, p["id"], {"phone": "13500001111"}))
    assert mediation.refresh_count == counts["mediationTab"] + 2
    assert registry.stale and employment.stale and places_tab.stale
    assert registry.refresh_count == counts["registryTab"]


# -- actions routed through perform(): one undo step each, undone on screen and in the database -------
def _member_names(tab) -> set[str]:
    table = tab.summary.members
    return {table.item(r, 0).text() for r in range(table.rowCount()) if table.item(r, 0) is not None}


def test_a_person_moved_to_another_household_is_undone(qtbot, window, messages):
    from app.ui.registry.move_dialogs import MovePersonDialog

    db = window.ctx.db
    tab = show(window, "registryTab")
    p = db.one("SELECT p.id, p.name, p.household_id FROM person p JOIN household h ON h.id = p.household_id "
               "WHERE p.deleted = 0 AND p.status = '在册' AND p.relation <> '户主' AND h.deleted = 0 "
               "AND h.status = '在住' ORDER BY p.name LIMIT 1")
    target = db.one("SELECT id, number FROM household WHERE deleted = 0 AND status = '在住' AND id <> ? "
                    "ORDER BY number LIMIT 1", (p["household_id"],))
    tab.select_household(p["household_id"])
    qtbot.waitUntil(lambda: p["name"] in _member_names(tab))

    dialog = MovePersonDialog(window.ctx, p["id"], window)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.search_field, target["number"])
    qtbot.waitUntil(lambda: dialog.results.count() > 0)
    dialog.save()
    assert db.get("person", p["id"])["household_id"] == target["id"]
    tab.select_household(p["household_id"])
    qtbot.waitUntil(lambda: tab.current_household_id() == p["household_id"] and p["name"] not in _member_names(tab))
    tab.select_household(target["id"])
    qtbot.waitUntil(lambda: tab.current_household_id() == target["id"] and p["name"] in _member_names(tab))

    undo(qtbot, window)
    assert db.get("person", p["id"])["household_id"] == p["household_id"]
    qtbot.waitUntil(lambda: p["name"] not in _member_names(tab))  # the household shown reads it again
    tab.select_household(p["household_id"])
    qtbot.waitUntil(lambda: tab.current_household_id() == p["household_id"] and p["name"] in _member_names(tab))
    assert not messages.texts("warn")


def test_a_retired_place_is_undone(qtbot, window, monkeypatch, messages):
    from app.models.places import places

    tab = show(window, "placesTab")
    qtbot.waitUntil(lambda: tab.loaded and bool(tab._items))
    db = window.ctx.db
    community = db.scalar("SELECT id FROM community WHERE deleted = 0 LIMIT 1")
    grid = places.add_grid(db, community, "试点网格")  # no buildings: it may be retired
    qtbot.waitUntil(lambda: ("grid", grid) in tab._items)
    assert tab.select("grid", grid)
    messages.always(True)
    tab.retire_button.click()
    assert db.get("grid", grid)["retired"] == 1
    assert "［已停用］" in tab._items[("grid", grid)].text(0) and tab.retire_button.text() == "恢复使用"

    undo(qtbot, window)
    assert db.get("grid", grid)["retired"] == 0
    assert "［已停用］" not in tab._items[("grid", grid)].text(0)
    assert db.get("grid", grid)["deleted"] == 0  # only the retiring was undone, not the grid's creation
    assert not messages.texts("warn")


def test_a_mediation_followup_is_undone(qtbot, window, monkeypatch, messages):
    from app.models.mediation import mediation as med
    from app.ui.mediation.mediation_dialogs import FollowupDialog

    db = window.ctx.db
    a, b = db.query("SELECT id FROM person WHERE deleted = 0 AND status = '在册' ORDER BY household_id, name LIMIT 2")
    case_id = med.create_case(db, title="楼上漏水", category="邻里", parties=[{"person_id": a["id"]},
                                                                            {"person_id": b["id"]}])
    med.change_status(db, case_id, "调解中")
    med.change_status(db, case_id, "已调解", agreement_text="楼上负责修复防水。")
    case = db.one("SELECT id, status FROM mediation_case WHERE id = ?", (case_id,))
    tab = show(window, "mediationTab")
    qtbot.waitUntil(lambda: tab.select_case(case["id"]))
    before = db.scalar("SELECT count(*) FROM mediation_followup WHERE case_id = ? AND deleted = 0", (case["id"],))
    drive(monkeypatch, FollowupDialog, lambda dlg: dlg.notes.setPlainText("双方已和好，按协议履行"))
    tab.followup_button.click()
    assert db.scalar("SELECT count(*) FROM mediation_followup WHERE case_id = ? AND deleted = 0",
                     (case["id"],)) == before + 1
    assert "双方已和好" in tab.detail.toPlainText()
    # The follow-up and the move to 已回访 it caused are one step.
    assert db.get("mediation_case", case["id"])["status"] == "已回访"

    undo(qtbot, window)
    assert db.scalar("SELECT count(*) FROM mediation_followup WHERE case_id = ? AND deleted = 0",
                     (case["id"],)) == before
    assert db.get("mediation_case", case["id"])["status"] == case["status"]
    assert tab.select_case(case["id"]) and "双方已和好" not in tab.detail.toPlainText()
    assert not messages.texts("warn")


def test_a_visit_deleted_in_the_visit_form_is_undone(qtbot, window, monkeypatch, messages):
    from app.ui.places.visit_entry import VisitEntryDialog

    db = window.ctx.db
    show(window, "placesTab")
    hid = db.scalar("SELECT id FROM household WHERE deleted = 0 AND room_id IS NOT NULL LIMIT 1")
    messages.always(True)
    dialog = VisitEntryDialog(window.ctx, None, window)
    qtbot.addWidget(dialog)
    dialog.present(household_id=hid)
    dialog.findings.setText("楼道灯坏了")
    visit_id = dialog.save()
    assert visit_id
    dialog.recent.setCurrentRow(0)
    assert dialog.delete_selected()
    assert db.get("visit", visit_id)["deleted"] == 1 and dialog.recent.count() == 0
    assert window.undo_action.text().startswith("撤销“删除走访记录")

    undo(qtbot, window)
    assert db.get("visit", visit_id)["deleted"] == 0
    assert window.undo_action.isEnabled()  # the visit's own entry is the next step
    assert not messages.texts("warn")


def test_a_visit_turned_into_a_case_cannot_be_deleted(qtbot, window, monkeypatch, messages):
    from app.ui.places.visit_entry import VisitEntryDialog

    db = window.ctx.db
    hid = db.scalar("SELECT id FROM household WHERE deleted = 0 AND room_id IS NOT NULL LIMIT 1")
    messages.always(True)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("楼上漏水", True))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("邻里", True))
    dialog = VisitEntryDialog(window.ctx, None, window)
    qtbot.addWidget(dialog)
    dialog.present(household_id=hid)
    dialog.findings.setText("楼上漏水，已协调")
    dialog.problems.setText("楼上漏水")
    visit_id = dialog.save()
    dialog.recent.setCurrentRow(0)
    assert dialog.to_mediation()
    assert not dialog.delete_selected()
    assert messages.texts("warn") == ["这条走访记录已转为调解案件，不能删除。"]
    assert db.get("visit", visit_id)["deleted"] == 0 and dialog.recent.count() == 1


def test_the_generated_settings_dialog_saves_a_typed_value_and_ctrl_z_undoes_it(qtbot, window, messages):
    from PySide6.QtWidgets import QDialogButtonBox, QGroupBox, QLineEdit, QSpinBox

    from app.models.core import settings
    from app.ui.setup.settings_dialog import SettingsDialog

    db = window.ctx.db
    dialog = SettingsDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    dialog.show()
    # One widget per registered setting shown in the dialog, chosen by its type, in its section.
    shown = [s for _, members in settings.sections() for s in members]
    assert [g.title() for g in dialog.findChildren(QGroupBox)][:4] == ["单位", "走访频次", "就业统计", "调解时限"]
    for s in shown:
        editor = dialog.findChild(QSpinBox if isinstance(s, settings.IntSetting) else QLineEdit, f"setting_{s.key}")
        assert editor is not None and editor.toolTip() == s.help, s.key
    spin = dialog.findChild(QSpinBox, "setting_visit_interval_yellow")
    assert (spin.minimum(), spin.maximum(), spin.suffix()) == (1, 90, " 天")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "12")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    assert settings.get(db, "visit_interval_yellow") == 12
    assert window.undo_action.text() == "撤销“修改单位设置”(&U)"

    undo(qtbot, window)
    assert settings.get(db, "visit_interval_yellow") == 7
    assert not messages.texts("warn")


def test_the_settings_dialog_shows_what_the_registry_refuses(qtbot, window, messages):
    from app.models.core import settings
    from app.ui.setup.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    dialog.show()
    before = settings.get(window.ctx.db, "office_phone")
    phone = dialog.editors["office_phone"]
    phone.setMaxLength(100)  # the box stops at the registry's limit; the registry checks anyway
    phone.setText("0" * 41)
    dialog.save()
    assert messages.texts("warn") == ["联系电话太长：最多 40 个字（现在 41 个字）。"]
    assert dialog.isVisible() and settings.get(window.ctx.db, "office_phone") == before


# -- the undo history after a restart -------------------------------------------------------------
def test_ctrl_z_after_a_restart_still_undoes_the_last_edit(qtbot, demo_db_path, messages):
    from PySide6.QtWidgets import QApplication

    from app.ui.app import build_window
    from app.ui.registry.person_dialog import PersonDialog

    first = build_window(demo_db_path, demo=True, user="测试员")  # the session before: an edit, then quit
    p = a_person(first.ctx.db)
    dialog = PersonDialog(first.ctx, p["household_id"], p["id"], first)
    dialog.phone.setText("13900004444")
    dialog.save()
    assert first.ctx.db.get("person", p["id"])["phone"] == "13900004444"
    first.shutdown()
    first.close()
    first.deleteLater()

    window = build_window(demo_db_path, demo=True, user="测试员")  # the program started again
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.update_undo_actions()
    assert window.undo_action.isEnabled() and window.undo_action.text() == f"撤销“修改 {p['name']} 的电话”(&U)"
    undo(qtbot, window)
    assert window.ctx.db.get("person", p["id"])["phone"] == p["phone"]
    assert not messages.texts("warn")
    window.shutdown()

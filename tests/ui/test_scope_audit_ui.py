"""A building head's window, the masked ID numbers and their audited reveal, prints audited, the audit viewer."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.models.core.access import Principal, Role
from app.models.core.db import open_database
from app.models.core.id_numbers import mask
from app.models.excel import excel_export
from app.models.registry import persons
from app.ui.accounts.session import apply_principal
from app.ui.app import build_window


def _second_building(path) -> str:
    """Move a few households of the one-building demo into a new building; returns its id."""
    from app.models.places import places

    db = open_database(path)
    try:
        community = db.scalar("SELECT id FROM community WHERE deleted = 0 LIMIT 1")
        building = places.add_building(db, community, "99栋", number=99, floors=2, units=1, rooms_per_floor=4)
        rooms = [r[0] for r in db.query("SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ?",
                                        (building,))]
        homes = [r[0] for r in db.query("SELECT id FROM household WHERE deleted = 0 AND status = '在住' LIMIT 5")]
        with db.write() as tx:
            for home, room in zip(homes, rooms, strict=False):
                tx.update("household", home, {"room_id": room})
        return building
    finally:
        db.close()


@pytest.fixture
def head_window(qtbot, demo_db_path):
    first = _second_building(demo_db_path)
    head = Principal(name="楼栋长1", role=Role.BUILDING_HEAD, building_ids=frozenset({first}))
    window = build_window(demo_db_path, demo=True, user="楼栋长1", principal=head)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window, first
    window.shutdown()


def _events(db, action: str) -> list[dict]:
    return [{**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in db.query("SELECT * FROM main.audit_events WHERE action = ? ORDER BY id", (action,))]


def test_a_building_head_sees_only_their_building_in_registry_and_places(qtbot, head_window):
    window, first = head_window
    db = window.ctx.db
    registry = window.findChild(QWidget, "registryTab")
    mine = db.scalar("SELECT count(*) FROM main.household h JOIN main.room r ON r.id = h.room_id "
                     "JOIN main.unit u ON u.id = r.unit_id WHERE u.building_id = ? AND h.deleted = 0 "
                     "AND h.status = '在住'", (first,))
    everyone = db.scalar("SELECT count(*) FROM main.household WHERE deleted = 0 AND status = '在住'")
    assert 0 < mine < everyone
    qtbot.waitUntil(lambda: registry.model.rowCount() == mine, timeout=5000)
    # The worker's queries (sorting on the worker) run for the same principal, and follow a switch.
    got: list = []
    count = "SELECT count(*) FROM household WHERE deleted = 0 AND status = '在住'"
    window.ctx.runner.run(lambda wdb, _p: (wdb.principal, wdb.scalar(count)), on_success=got.append)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=5000)
    assert got[0] == (db.principal, mine)
    # A switch of user as the product makes it (views reload); the places tab may have been
    # preloaded while the administrator was in.
    apply_principal(window.ctx, Principal(name="管理员", role=Role.ADMIN))
    window.ctx.runner.run(lambda wdb, _p: wdb.scalar(count), on_success=got.append)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
    assert got[1] == everyone
    apply_principal(window.ctx, Principal(name="楼栋长1", role=Role.BUILDING_HEAD, building_ids=frozenset({first})))
    window.tabs.setCurrentWidget(window.findChild(QWidget, "placesTab"))
    places = window.findChild(QWidget, "placesTab")
    qtbot.waitUntil(lambda: bool(places._items), timeout=5000)
    assert {pid for (table, pid) in places._items if table == "building"} == {first}


def test_a_tab_loaded_for_the_previous_user_reloads_after_a_switch(qtbot, head_window):
    window, first = head_window
    places = window.findChild(QWidget, "placesTab")
    apply_principal(window.ctx, Principal(name="管理员", role=Role.ADMIN))
    places.reload()  # as the idle preload does while the tab is hidden
    assert {pid for (table, pid) in places._items if table == "building"} > {first}
    apply_principal(window.ctx, Principal(name="楼栋长1", role=Role.BUILDING_HEAD, building_ids=frozenset({first})))
    window.tabs.setCurrentWidget(places)
    # Rebuilt as it is shown, not one event later: the other building is never on screen.
    assert {pid for (table, pid) in places._items if table == "building"} == {first}


def test_a_worker_result_computed_for_the_previous_user_is_dropped(qtbot, head_window):
    window, first = head_window
    runner = window.ctx.runner
    head = window.ctx.db.principal
    started, release = threading.Event(), threading.Event()
    count = "SELECT count(*) FROM household WHERE deleted = 0 AND status = '在住'"
    got: list = []
    failed: list = []

    def held(wdb, _p):  # noqa: ANN001 - runner signature
        started.set()
        release.wait(10)
        return wdb.scalar(count)

    apply_principal(window.ctx, Principal(name="管理员", role=Role.ADMIN))
    runner.run(held, on_success=got.append, on_failure=failed.append)
    assert started.wait(10)  # running for the administrator
    apply_principal(window.ctx, head)
    release.set()
    assert runner.wait_idle(10000)
    QApplication.processEvents()
    runner.run(lambda wdb, _p: ("after", wdb.scalar(count)), on_success=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    mine = window.ctx.db.scalar(count)
    assert got == [("after", mine)] and failed == []  # the administrator's figure never arrived


def test_id_numbers_are_masked_and_a_reveal_asks_a_reason_and_is_audited(qtbot, main_window, monkeypatch):
    from app.ui.registry.reveal_id import RevealIdDialog

    registry = main_window.findChild(QWidget, "registryTab")
    db = main_window.ctx.db
    qtbot.waitUntil(lambda: registry.model.rowCount() > 0, timeout=5000)
    registry.table.selectRow(0)
    summary = registry.summary
    qtbot.waitUntil(lambda: summary.household_id is not None and summary.members.rowCount() > 0, timeout=5000)
    row = next(i for i in range(len(summary.member_ids)) if summary._has_id[i])
    whole = db.scalar("SELECT id_number FROM person WHERE id = ?", (summary.member_ids[row],))
    assert summary.members.item(row, 5).text() == mask(whole) != whole
    assert not summary.reveal_button.isEnabled()
    asked: list[str] = []
    monkeypatch.setattr(RevealIdDialog, "ask", classmethod(lambda cls, who, parent=None: asked.append(who) or None))
    summary.members.selectRow(row)
    assert summary.reveal_button.isEnabled()
    qtbot.mouseClick(summary.reveal_button, Qt.MouseButton.LeftButton)
    assert asked and summary.members.item(row, 5).text() == mask(whole)  # cancelled: still masked
    assert _events(db, "reveal_id") == []
    monkeypatch.setattr(RevealIdDialog, "ask", classmethod(lambda cls, who, parent=None: ("开具证明", "")))
    qtbot.mouseClick(summary.reveal_button, Qt.MouseButton.LeftButton)
    assert summary.members.item(row, 5).text() == whole
    got = _events(db, "reveal_id")
    assert len(got) == 1 and got[0]["detail"]["reason"] == "开具证明" and got[0]["user"] == "测试员"
    assert whole not in json.dumps(got[0], ensure_ascii=False)  # the audit never holds the whole number


def test_the_reveal_dialog_wants_a_note_for_other(qtbot):
    from app.ui.registry.reveal_id import RevealIdDialog

    dialog = RevealIdDialog("张三")
    qtbot.addWidget(dialog)
    dialog.show()
    assert [dialog.reason.itemText(i) for i in range(dialog.reason.count())] == list(persons.REVEAL_REASONS)
    dialog.reason.setCurrentText("其他")
    ok = dialog.findChild(QWidget, "revealOkButton")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "写明" in dialog.error.text()
    from tests.builders.ui import type_text

    type_text(qtbot, dialog.note, "协助派出所核对")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.choice() == ("其他", "协助派出所核对")


def test_a_print_is_audited(tmp_path, demo_db_path, qapp):
    from app.ui.printing import printing

    db = open_database(demo_db_path, user="测试员")
    number = db.scalar("SELECT number FROM household WHERE deleted = 0 ORDER BY number LIMIT 1")
    printing.save_form_pdf(db, "household-card", tmp_path / "户卡.pdf", household=number)
    got = _events(db, "print")
    assert got[0]["detail"]["form"] == "household-card" and got[0]["detail"]["count"] == 1
    assert number in got[0]["detail"]["records"][0] and "户卡.pdf" in got[0]["detail"]["to"]
    db.close()


def test_the_audit_viewer_filters_pages_and_exports(qtbot, main_window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from app.ui.accounts import audit_viewer

    db = main_window.ctx.db
    for i in range(230):  # more than one page of entries
        excel_export.export_ledger(db, "figures", tmp_path / f"f{i}.xlsx")
    db.user = "另一人"
    excel_export.export_ledger(db, "households", tmp_path / "户.xlsx", masked=True)
    db.user = "测试员"
    menu = main_window.menu_tools
    action = next(a for a in menu.actions() if a.objectName() == "actionAuditViewer")
    action.trigger()
    viewer = main_window.findChild(QWidget, "auditViewer")
    assert viewer is not None and viewer.isVisible()
    qtbot.waitUntil(lambda: viewer.model.rowCount() > 200, timeout=5000)
    total = viewer.model.rowCount()
    assert "共" in viewer.count_label.text()
    # Scrolling to the end fetches the last page on the worker.
    viewer.table.scrollToBottom()
    QApplication.processEvents()
    qtbot.waitUntil(lambda: viewer.model.entry(total - 1) is not None, timeout=5000)
    assert viewer.model.index(total - 1, 0).data() == "1"  # the oldest entry, last
    # Filter by user.
    viewer.user_filter.setCurrentIndex(viewer.user_filter.findData("另一人"))
    qtbot.mouseClick(viewer.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 1, timeout=5000)
    assert "户.xlsx" in viewer.model.index(0, 4).data()
    # Filter by record text and action.
    viewer.user_filter.setCurrentIndex(0)
    viewer.action_filter.setCurrentIndex(viewer.action_filter.findData("export"))
    viewer.record_filter.setText("f17.xlsx")
    qtbot.keyClick(viewer.record_filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 1, timeout=5000)
    # Export what is shown.
    out = tmp_path / "日志.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    qtbot.mouseClick(viewer.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: out.exists() and viewer.export_button.isEnabled(), timeout=5000)
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert len(rows) == 2 and "f17.xlsx" in rows[1][4]
    assert audit_viewer.AuditViewer is type(viewer)


def test_the_audit_viewer_is_only_for_admins_and_auditors(qtbot, main_window, monkeypatch, messages):
    from app.ui.accounts.audit_viewer import open_viewer

    main_window.ctx.db.principal = Principal(name="张干事", role=Role.CLERK)
    action = next(a for a in main_window.menu_tools.actions() if a.objectName() == "actionAuditViewer")
    main_window.menu_tools.aboutToShow.emit()
    assert not action.isVisible()
    open_viewer(main_window)
    assert messages.texts("warn") and main_window.findChild(QWidget, "auditViewer") is None
    main_window.ctx.db.principal = Principal(name="审计员", role=Role.AUDITOR)
    main_window.menu_tools.aboutToShow.emit()
    assert action.isVisible()


def test_the_person_dialog_holds_the_number_masked_until_revealed(qtbot, main_window, monkeypatch):
    from app.ui.registry.person_dialog import PersonDialog
    from app.ui.registry.reveal_id import RevealIdDialog

    db = main_window.ctx.db
    person = db.one("SELECT id, household_id, id_number, name FROM person WHERE id_number IS NOT NULL AND deleted = 0 "
                    "LIMIT 1")
    dialog = PersonDialog(main_window.ctx, person["household_id"], person["id"])
    qtbot.addWidget(dialog)
    dialog.show()
    field = dialog.id_number
    assert field.masked and field.edit.text() == "" and field.edit.isReadOnly()
    assert field.edit.placeholderText() == mask(person["id_number"])
    assert field.text() == person["id_number"]  # saving without a reveal keeps the number
    monkeypatch.setattr(RevealIdDialog, "ask", classmethod(lambda cls, who, parent=None: ("数据核查", "")))
    qtbot.mouseClick(field.reveal_button, Qt.MouseButton.LeftButton)
    assert not field.masked and field.edit.text() == person["id_number"] and not field.edit.isReadOnly()
    got = _events(db, "reveal_id")
    assert got[-1]["detail"]["reason"] == "数据核查" and got[-1]["detail"]["person"] == person["name"]

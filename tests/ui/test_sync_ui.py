"""pytest-qt: two demo PCs sync through a folder standing for the stick; a conflict is resolved on screen."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.models.core.db import open_database
from app.models.sync import review, sync
from app.ui.sync.conflicts_dialog import ConflictsDialog
from app.ui.sync.sync_dialog import SyncDialog
from tests.builders.sync import PASS, N, snapshot
from tests.builders.ui import open_context


def _sync(qtbot, ctx, stick, tmp_path=None):
    dialog = SyncDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.scrypt_n = N
    dialog.folder_edit.setText(str(stick))
    dialog.pass_edit.setText(PASS)  # QTest cannot type CJK characters
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_report is not None, timeout=60000)
    return dialog


def test_two_pcs_sync_and_resolve_a_conflict_on_screen(qtbot, demo_db_path, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a = open_context(demo_db_path, "甲")
    b = open_context(tmp_path / "pc-b.db", "乙")  # a new PC: joins by its first sync
    try:
        d = _sync(qtbot, a, stick)
        assert d.last_report.exported_ops > 1000 and "可以拔出U盘" in d.report_view.toPlainText()
        d = _sync(qtbot, b, stick)
        assert d.last_report.applied > 1000 and d.last_report.rejected == 0
        assert snapshot(a.db) == snapshot(b.db)

        pid = a.db.scalar("SELECT id FROM person WHERE deleted = 0 ORDER BY id LIMIT 1")
        with a.db.write() as tx:
            tx.update("person", pid, {"name": "甲改名"})
        with b.db.write() as tx:
            tx.update("person", pid, {"name": "乙改名"})
        _sync(qtbot, a, stick)
        d = _sync(qtbot, b, stick)
        assert d.last_report.conflicts == 1 and "冲突审核" in d.report_view.toPlainText()
        _sync(qtbot, a, stick)
        assert snapshot(a.db) == snapshot(b.db)

        dialog = ConflictsDialog(b)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.loaded, timeout=30000)
        assert dialog.table.rowCount() == 1
        assert {dialog.table.item(0, 4).text().split("（")[0], dialog.table.item(0, 5).text().split("（")[0]} == {
            "甲改名", "乙改名"}
        assert "甲" in dialog.table.item(0, 4).text() + dialog.table.item(0, 5).text()
        dialog.grab().save(str(tmp_path / "conflicts.png"))
        dialog.merged_edit.setFocus()
        dialog.merged_edit.setText("甲乙合名")
        qtbot.keyClick(dialog.merged_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dialog.loaded and dialog.table.rowCount() == 0, timeout=30000)
        assert b.db.get("person", pid)["name"] == "甲乙合名"

        _sync(qtbot, b, stick)
        _sync(qtbot, a, stick)
        assert a.db.get("person", pid)["name"] == "甲乙合名"
        assert snapshot(a.db) == snapshot(b.db)
        assert review.open_conflicts(a.db) == [] and review.open_conflicts(b.db) == []
    finally:
        for ctx in (a, b):
            ctx.runner.shutdown()
            ctx.db.close()


def test_sync_menu_entries_exist(main_window):
    names = [a.objectName() for a in main_window.menu_tools.actions()]
    assert "actionSyncUsb" in names and "actionSyncConflicts" in names
    main_window.sync_action.trigger()
    dialog = main_window.sync_dialog
    assert dialog.isVisible()
    dialog.start()  # no folder chosen: a clear message, nothing runs
    assert "同步文件夹" in dialog.report_view.toPlainText()
    dialog.close()


def test_screens_render(qtbot, tmp_path):
    """Renders both screens (also kept as PNGs for a look) with a conflict and a duplicate."""
    from tests.builders.sync import make_office

    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db")
    sync.import_from_folder(b, stick, PASS)
    num = "532128198005010034"  # a valid number: another PC refuses an invalid one
    with a.write() as tx:
        tx.update("household", ids["h1"], {"risk_colour": "red"})
        tx.insert("person", {"name": "王五", "id_number": num, "household_id": ids["h1"]})
    with b.write() as tx:
        tx.update("household", ids["h1"], {"risk_colour": "yellow"})
        tx.insert("person", {"name": "王伍", "id_number": num, "household_id": ids["h2"]})
    for db in (a, b, a):
        sync.sync_with_folder(db, stick, PASS, scrypt_n=N)
    a.close()
    ctx = open_context(tmp_path / "b.db", "乙")
    try:
        review = ConflictsDialog(ctx)
        qtbot.addWidget(review)
        review.show()
        qtbot.waitUntil(lambda: review.loaded, timeout=30000)
        assert review.table.rowCount() == 2
        review.grab().save(str(tmp_path / "conflicts.png"))
        review.table.selectRow(1)
        assert review.not_same.isEnabled() and not review.use_first.isEnabled()
        qtbot.mouseClick(review.not_same, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: review.loaded and review.table.rowCount() == 1, timeout=30000)
        review.table.selectRow(0)
        review.merged_edit.setText("紫")
        qtbot.keyClick(review.merged_edit, Qt.Key.Key_Return)
        assert "风险颜色只能是" in review.detail.text() and review.table.rowCount() == 1  # refused, nothing saved
        d = SyncDialog(ctx)
        qtbot.addWidget(d)
        d.show()
        d.grab().save(str(tmp_path / "sync.png"))
    finally:
        ctx.runner.shutdown()
        ctx.db.close()
        b.close()


def test_refused_files_are_listed_and_a_mass_delete_is_confirmed(qtbot, tmp_path, monkeypatch):
    """A forged file is listed as refused; a file deleting 60 households waits for the clerk's yes."""
    from app.ui.sync.sync_dialog import MassDeleteDialog
    from tests.builders.sync import forge, make_office, not_json

    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    with a.write() as tx:
        made = [tx.insert("household", {"number": f"M{i:03d}"}) for i in range(60)]
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db")
    sync.import_from_folder(b, stick, PASS)
    b.close()
    with a.write() as tx:
        tx.update("person", ids["p1"], {"phone": "13800000001"})
    src, _ = sync.export_to_folder(a, tmp_path, PASS, scrypt_n=N, full=True)
    bad = forge(src, stick, not_json)
    with a.write() as tx:
        for h in made:
            tx.delete("household", h)
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    a.close()
    asked = []

    def click_confirm(dialog):  # noqa: ANN001, ANN202 - the clerk reads the list and confirms
        qtbot.addWidget(dialog)
        dialog.show()
        table = dialog.table
        asked.append([[table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())])
        dialog.grab().save(str(tmp_path / "mass-delete.png"))
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
        return dialog.result() == dialog.DialogCode.Accepted

    monkeypatch.setattr(MassDeleteDialog, "show_modal", staticmethod(click_confirm))
    ctx = open_context(tmp_path / "b.db", "乙")
    try:
        d = _sync(qtbot, ctx, stick)
        qtbot.waitUntil(lambda: bool(d.last_report.mass_deleted) and d.start_button.isEnabled(), timeout=60000)
        assert len(asked) == 1 and [row[1:] for row in asked[0]] == [["户", "60"]]
        assert ctx.db.scalar("SELECT count(*) FROM household WHERE deleted = 1") == 60
        assert not d.refused_list.isHidden() and d.refused_list.count() == 1
        assert bad.name in d.refused_list.item(0).text()
        text = d.report_view.toPlainText()
        assert "户 60 条" in text and bad.name in text and "未导入" in text
        d.show()
        d.grab().save(str(tmp_path / "sync-refused.png"))
    finally:
        ctx.runner.shutdown()
        ctx.db.close()


def test_the_progress_bar_says_what_a_step_of_unknown_length_is_doing(qtbot, demo_db_path, tmp_path):
    # Rewriting a large file after the merge takes seconds and has no count: a busy bar with its name.
    ctx = open_context(demo_db_path, "甲")
    dialog = SyncDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog._progress(1, 3, "合并数据")
    assert dialog.progress.maximum() == 3 and dialog.progress.text().startswith("合并数据")
    dialog._progress(0, 0, "整理数据库文件")
    assert dialog.progress.maximum() == 0  # busy
    assert "整理数据库文件" in dialog.report_view.placeholderText()
    dialog._done(sync.SyncReport())
    assert dialog.progress.format() == "%p%"  # the percentage is back for the next run
    assert "整理" not in dialog.report_view.placeholderText()
    ctx.runner.shutdown()
    ctx.db.close()

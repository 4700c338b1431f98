"""Excel import preview and export dialogs driven like a clerk: preview, errors, apply, cancel, menu."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from PySide6.QtWidgets import QFileDialog

from app.models.core.list_query import Condition, ExportView
from app.models.excel.excel_export import export_ledger
from app.ui.excel.export_dialog import ExportDialog
from app.ui.excel.import_dialog import ImportDialog
from tests.builders.excel import build_office
from tests.builders.ui import window_context

SHOTS = Path("/tmp")


@pytest.fixture
def ctx(db):
    build_office(db)
    with window_context(db) as c:
        yield c


def _edited_workbook(db, tmp_path: Path) -> Path:
    """The office's own export with one change, one new resident and one bad ID number."""
    src = tmp_path / "export.xlsx"
    export_ledger(db, "residents", src)
    wb = openpyxl.load_workbook(src)
    ws = wb.active
    headers = {c.value: c.column for c in ws[2]}
    ws.cell(row=3, column=headers["联系电话"], value="13700000000")
    ws.append(["HL-0003", "马小红", "532301201503090028", "女", None, "汉族", "女", None, "2栋", 1, "201"])
    ws.cell(row=5, column=headers["身份证号"], value="532301201206010070")
    out = tmp_path / "edited.xlsx"
    wb.save(out)
    return out


def test_preview_shows_counts_changes_and_errors(qtbot, ctx, db, tmp_path, monkeypatch, messages):
    path = _edited_workbook(db, tmp_path)
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    c = dialog.plan.counts
    assert (c["new"], c["updated"], c["errors"]) == (1, 1, 1)
    assert "新增 1" in dialog.summary.text() and "错误 1" in dialog.summary.text()
    changes = [dialog.changes_model.rows[i] for i in range(dialog.changes_model.rowCount())]
    updated = [r for r in changes if r[1] == "更新"]
    assert "联系电话：13812345678 → 13700000000" in updated[0][6]
    err = dialog.errors_model.rows[0]
    assert err[1] == 5 and err[2] == "身份证号" and "校验位" in err[4]
    dialog.pages.setCurrentIndex(0)
    dialog.grab().save(str(SHOTS / "excel_import_preview.png"))
    dialog.pages.setCurrentIndex(1)
    dialog.grab().save(str(SHOTS / "excel_import_errors.png"))

    # All or nothing: refused while an error remains, nothing written.
    dialog.apply_button.click()
    assert messages.texts("info") and "不能导入" in messages.texts("info")[0]
    assert db.scalar("SELECT count(*) FROM person WHERE name = '马小红'") == 0

    # Valid rows only: the bad row goes to the error workbook, the rest is imported.
    errors_out = tmp_path / "errors.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(errors_out), ""))
    messages.answer(True)
    announced = []
    ctx.events.changed.connect(announced.append)
    dialog.valid_only.setChecked(True)
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert dialog.outcome["new"] == 1 and "导入完成" in dialog.summary.text()
    assert any(c.everything for c in announced)
    assert db.scalar("SELECT name_initials FROM person WHERE name = '马小红'") == "mxh"
    assert db.scalar("SELECT phone FROM person WHERE name = '张秀英'") == "13700000000"
    marked = openpyxl.load_workbook(errors_out).active
    last = marked.max_column
    assert marked.cell(row=2, column=last).value == "错误说明"
    assert "校验位" in marked.cell(row=5, column=last).value
    dialog.close()


def test_round_trip_preview_is_all_unchanged_and_apply_says_nothing_to_do(qtbot, ctx, db, tmp_path, monkeypatch, messages):
    path = tmp_path / "same.xlsx"
    export_ledger(db, "residents", path)
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert dialog.plan.counts == {"new": 0, "updated": 0, "unchanged": 6, "errors": 0}
    dialog.apply_button.click()
    assert "没有需要导入" in messages.texts("info")[0]


def test_bad_file_is_explained_in_the_dialog(qtbot, ctx, tmp_path):
    bad = tmp_path / "notes.xlsx"
    bad.write_text("这不是表格", encoding="utf-8")
    dialog = ImportDialog(ctx, bad)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.progress.isVisible() and "不是 Excel" in dialog.summary.text(), timeout=20000)
    assert not dialog.apply_button.isEnabled()


def test_cancel_during_apply_changes_nothing(qtbot, ctx, db, tmp_path, monkeypatch):
    path = _edited_workbook(db, tmp_path)
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    before = db.scalar("SELECT count(*) FROM change_log")
    # Cancel is pressed before the worker starts writing: the job sees it and rolls back.
    import app.models.excel.excel_import as ei

    monkeypatch.setattr(ei, "PROGRESS_EVERY", 1)
    dialog.apply(valid_only=True)
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.progress.isVisible(), timeout=20000)
    assert "取消" in dialog.summary.text()
    assert db.scalar("SELECT count(*) FROM change_log") == before


def test_export_dialog_writes_masked_filtered_file(qtbot, ctx, db, tmp_path, monkeypatch):
    view = ExportView("residents", Condition("h.number = ?", ("HL-0002",)))
    dialog = ExportDialog(ctx, current=view)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.filtered.isVisible() and dialog.filtered.isChecked()
    dialog.masked.setChecked(True)
    out = tmp_path / "out.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    dialog.grab().save(str(SHOTS / "excel_export_dialog.png"))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.last_path is not None, timeout=20000)
    ws = openpyxl.load_workbook(out).active
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0]]
    assert [r[1] for r in rows] == ["单春花", "王芳"]
    assert all("********" in r[2] for r in rows)
    assert "已导出 2 行" in dialog.status.text()


def test_file_menu_has_excel_entries(main_window, monkeypatch):
    names = [a.objectName() for a in main_window.menu_file.actions()]
    assert "actionExportExcel" in names and "actionImportExcel" in names
    from app.ui.excel import excel_menu

    main_window.tabs.setCurrentWidget(main_window.tab("registryTab"))
    current = excel_menu.current_export(main_window)
    assert current is not None and current.ledger == "residents"
    monkeypatch.setattr(ExportDialog, "open", lambda self: None)
    dialog = excel_menu.open_export(main_window)
    assert dialog.filtered.isChecked()
    dialog.deleteLater()


def test_save_error_workbook_button(qtbot, ctx, db, tmp_path, monkeypatch):
    path = _edited_workbook(db, tmp_path)
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert dialog.save_errors_button.isEnabled()
    out = tmp_path / "marked.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    dialog.save_errors_button.click()
    qtbot.waitUntil(lambda: out.exists() and "已保存" in dialog.progress_text.text(), timeout=20000)
    ws = openpyxl.load_workbook(out).active
    assert ws.cell(row=5, column=ws.max_column).value.startswith("身份证号：")
    assert db.scalar("SELECT count(*) FROM person WHERE name = '马小红'") == 0


def test_apply_uses_the_preview_and_refuses_a_file_edited_since(qtbot, ctx, db, tmp_path, monkeypatch, messages):
    import app.models.excel.excel_import as ei

    path = _edited_workbook(db, tmp_path)
    wb = openpyxl.load_workbook(path)
    wb.active.delete_rows(5)  # the row with the bad ID number: the file imports whole
    wb.save(path)
    planned = []
    real_plan = ei.plan_import
    monkeypatch.setattr(ei, "plan_import", lambda *a, **k: planned.append(a[1]) or real_plan(*a, **k))
    monkeypatch.setattr("app.ui.excel.import_dialog.plan_import", ei.plan_import)
    messages.always(True)
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert dialog.plan.counts["errors"] == 0 and len(planned) == 1

    # The clerk edits the file in Excel after the preview: the import refuses it, writes nothing.
    wb = openpyxl.load_workbook(path)
    wb.active.cell(row=3, column=2, value="改过")
    wb.save(path)
    before = db.scalar("SELECT count(*) FROM change_log")
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: "预览之后被修改" in dialog.summary.text(), timeout=20000)
    assert db.scalar("SELECT count(*) FROM change_log") == before

    # Previewed again, then applied: the preview's plan is written as it is, not made a second time.
    dialog.load(path)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert len(planned) == 2
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert len(planned) == 2 and dialog.outcome["new"] == 1
    assert db.scalar("SELECT count(*) FROM person WHERE name = '改过'") == 1
    dialog.grab().save("/tmp/excel/import_applied.png")

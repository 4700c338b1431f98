"""Lists opened from a figure go out to Excel (rows as shown, IDs masked) and to print."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from app.models.places import places
from app.ui.printing import printing
from app.widgets import file_dialogs

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def _figure_dialog(qtbot, main_window, key):
    tab = main_window.tab("employmentTab")
    main_window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.figures is not None and not tab._figures_running, timeout=20000)
    dialog = tab.open_figure(key)
    qtbot.waitUntil(lambda: dialog.ready, timeout=20000)
    return dialog


def test_figure_list_exports_its_rows_with_masked_ids(qtbot, main_window, tmp_path, monkeypatch, messages):
    dialog = _figure_dialog(qtbot, main_window, "unemployed")
    model = dialog.model
    shown = [model.row(i) for i in range(model.rowCount())]
    assert len(shown) > 3
    asked: list[str] = []

    def save_path(_parent, kind, _title, name, _filters):
        asked.append(name)
        return str(tmp_path / name)

    monkeypatch.setattr(file_dialogs, "save_path", save_path)
    assert dialog.output.masked.isChecked()
    dialog.findChild(type(dialog.job_button), "figureExportButton").click()
    qtbot.waitUntil(lambda: dialog.output.last_export is not None, timeout=20000)
    assert asked[0].startswith("未就业名单（脱敏）_") and asked[0].endswith(".xlsx")
    ws = load_workbook(dialog.output.last_export).active
    values = list(ws.iter_rows(values_only=True))
    assert "未就业名单" in values[0][0] and "脱敏" in values[0][0]
    header = list(values[1])
    assert header[:2] == ["姓名", "身份证号"]
    body = values[2:]
    assert [r[0] for r in body] == [r["name"] for r in shown]
    ids = [r[1] for r in body if r[1]]
    assert ids and all("*" in i and len(i) == 18 for i in ids)
    whole = {main_window.ctx.db.scalar("SELECT id_number FROM person WHERE id = ?", (model.row_id(0),))}
    assert not whole & {r[1] for r in body}
    assert messages.said and f"{len(shown)} 行" in messages.said[-1]
    dialog.close()


@needs_poppler
def test_figure_list_prints_a_titled_table(qtbot, main_window, tmp_path, messages):
    dialog = _figure_dialog(qtbot, main_window, "zero_employment_households")
    job = dialog.output.print_job()
    assert job.file_name(main_window.ctx.db).startswith("零就业家庭名单_")
    pdf = tmp_path / "list.pdf"
    pages = printing.BatchRunner(main_window.ctx, job, dialog).save_pdf(str(pdf))
    assert pages and pages >= 1
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "零就业家庭名单" in text and "户号" in text
    first = dialog.model.row(0)
    assert first is None or first["number"] in text
    dialog.close()


def test_due_list_exports_and_prints(qtbot, main_window, tmp_path, monkeypatch, messages):
    tab = main_window.tab("placesTab")
    main_window.tabs.setCurrentWidget(tab)
    community = main_window.ctx.db.scalar("SELECT id FROM community LIMIT 1")
    assert places  # the demo has its buildings already
    tab.due.set_scope(community, None, reload=False)
    tab.due.reload()
    qtbot.waitUntil(lambda: not tab.due.loading, timeout=20000)
    rows = tab.due.model.rows
    assert rows
    monkeypatch.setattr(file_dialogs, "save_path", lambda _p, _k, _t, name, _f: str(tmp_path / name))
    tab.due.export_button.click()
    qtbot.waitUntil(lambda: tab.due.output.last_export is not None, timeout=20000)
    assert tab.due.output.last_export.name.startswith("待走访住户清单_")
    ws = load_workbook(tab.due.output.last_export).active
    values = list(ws.iter_rows(values_only=True))
    assert values[1][0] == "逾期天数"
    assert [r[4] for r in values[2:]] == [r.household_number for r in rows]
    pdf = tmp_path / "due.pdf"
    assert printing.BatchRunner(main_window.ctx, tab.due.output.print_job(), tab).save_pdf(str(pdf))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "待走访住户清单" in text and rows[0].household_number in text

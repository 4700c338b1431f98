"""pytest-qt: the export dialog's full variant asks a clerk for a reason; a building head only gets the masked one."""

from __future__ import annotations

import json

from openpyxl import load_workbook

from app.models.core.access import Principal, Role
from app.ui.excel.export_dialog import ExportDialog
from app.ui.registry.reveal_id import RevealIdDialog


def _dialog(qtbot, main_window, principal):
    main_window.ctx.db.principal = principal
    dialog = ExportDialog(main_window.ctx, main_window)
    qtbot.addWidget(dialog)
    dialog.ledger.setCurrentIndex(dialog.ledger.findData("residents"))
    return dialog


def _last_export(main_window) -> dict:
    return json.loads(main_window.ctx.db.scalar(
        "SELECT detail FROM audit_events WHERE action = 'export' ORDER BY id DESC LIMIT 1"))


def test_a_clerk_gives_a_reason_for_the_full_file(qtbot, main_window, tmp_path, monkeypatch):
    asked = []
    answers = [None, ("数据核查", "")]
    monkeypatch.setattr(RevealIdDialog, "ask_for_file",
                        classmethod(lambda cls, what, parent=None: asked.append(what) or answers.pop(0)))
    dialog = _dialog(qtbot, main_window, Principal("李干事", Role.CLERK, "acc-1"))
    assert dialog.masked.isEnabled() and not dialog.masked.isChecked()
    dialog.start(str(tmp_path / "cancelled.xlsx"))  # the clerk cancels the reason: nothing written
    assert dialog.status.text() == "已取消导出。" and not (tmp_path / "cancelled.xlsx").exists()
    dialog.start(str(tmp_path / "full.xlsx"))
    qtbot.waitUntil(lambda: dialog.last_path is not None, timeout=30000)
    assert asked == ["居民花名册（户籍人员台账）"] * 2
    event = _last_export(main_window)
    assert event["masked"] is False and event["reason"] == "数据核查"
    header = [c.value for c in next(load_workbook(tmp_path / "full.xlsx").active.iter_rows(min_row=2, max_row=2))]
    assert "出生日期" in header


def test_a_building_head_only_gets_the_masked_file(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setattr(RevealIdDialog, "ask_for_file", classmethod(lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("no reason is asked: the file is masked anyway"))))
    buildings = frozenset(r[0] for r in main_window.ctx.db.query("SELECT id FROM building LIMIT 1"))
    dialog = _dialog(qtbot, main_window, Principal("王楼长", Role.BUILDING_HEAD, "acc-2", buildings))
    assert dialog.masked.isChecked() and not dialog.masked.isEnabled()
    dialog.start(str(tmp_path / "head.xlsx"))
    qtbot.waitUntil(lambda: dialog.last_path is not None, timeout=30000)
    assert _last_export(main_window)["masked"] is True
    rows = list(load_workbook(tmp_path / "head.xlsx").active.iter_rows(min_row=3, values_only=True))
    assert rows and all("********" in r[2] for r in rows if r[2])

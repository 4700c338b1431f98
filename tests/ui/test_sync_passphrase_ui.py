"""pytest-qt: the sync dialog judges the passphrase as it is typed, refuses a weak one, and keeps none on disk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.models.sync import passphrase as sync_passphrase
from app.ui.sync.sync_dialog import SyncDialog
from tests.builders.sync import N, make_office
from tests.builders.ui import open_context

STRONG = "青松楼-河边-Kq7-秋"


def test_weak_passphrase_is_refused_on_screen_and_the_strong_one_is_kept_nowhere(qtbot, tmp_path,
                                                                                _private_data_dir):
    make_office(tmp_path / "a.db")[0].close()
    stick = tmp_path / "stick"
    stick.mkdir()
    ctx = open_context(tmp_path / "a.db", "甲")
    dialog = SyncDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.scrypt_n = N
    dialog.folder_edit.setText(str(stick))
    qtbot.keyClicks(dialog.pass_edit, "hongluxinju2026")
    assert "名称" in dialog.pass_hint.text()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "名称" in dialog.report_view.toPlainText() and sync_passphrase.ADVICE in dialog.report_view.toPlainText()
    assert dialog.last_report is None and list(stick.iterdir()) == []
    dialog.pass_edit.setText(STRONG)  # QTest cannot type CJK characters
    assert dialog.pass_hint.text() == "口令强度合格。"
    dialog.grab().save(str(tmp_path / "sync.png"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_report is not None, timeout=60000)
    assert list(stick.iterdir())  # the bundle was written
    dialog.close()
    ctx.runner.shutdown()
    ctx.db.close()
    secret = STRONG.encode("utf-8")
    leaks = [p for folder in (tmp_path, Path(_private_data_dir)) for p in folder.rglob("*")
             if p.is_file() and secret in p.read_bytes()]
    assert leaks == []

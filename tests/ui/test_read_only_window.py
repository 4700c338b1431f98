"""A read-only or damaged database in the window: a banner, edit actions disabled, reading still works."""

from __future__ import annotations

import hashlib
import random
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton

from app.models.core import settings
from app.models.core.errors import ReadOnlyDatabaseError
from app.ui.common import read_only


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def read_only_window(qtbot, demo_db_path):
    from app.ui.app import build_window

    before = _digest(demo_db_path)
    window = build_window(demo_db_path, demo=True, user="测试员", read_only=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()
    assert _digest(demo_db_path) == before  # not even the window geometry was written


def test_banner_and_every_edit_action_disabled(qtbot, read_only_window):
    window = read_only_window
    banner = window.findChild(QLabel, "readOnlyBanner")
    assert banner is not None and banner.isVisible()
    assert "只读" in banner.text() and "复制到可写的文件夹" in banner.text()
    widgets = read_only.edit_widgets(window)
    actions = read_only.edit_actions(window)
    assert len(widgets) >= 30 and len(actions) >= 4
    assert not any(w.isEnabled() for w in widgets)
    assert not any(a.isEnabled() for a in actions)
    for name in ("actionImportExcel", "actionSyncUsb", "actionSettings"):
        assert any(a.objectName() == name for a in actions)
    # Reading works: the registry lists households and export stays available.
    registry = window.tab("registryTab")
    qtbot.waitUntil(lambda: registry.table.model().rowCount() > 0)
    assert window.excel_export_action.isEnabled()


def test_selecting_a_row_does_not_re_enable_delete(qtbot, read_only_window):
    registry = read_only_window.tab("registryTab")
    qtbot.waitUntil(lambda: registry.table.model().rowCount() > 0)
    registry.table.selectRow(0)
    registry.delete_button.setEnabled(True)  # what a selection handler does
    assert not registry.delete_button.isEnabled()
    assert not registry.new_button.isEnabled()


def test_f2_opens_no_visit_entry(qtbot, read_only_window, monkeypatch):
    window = read_only_window
    window.tabs.setCurrentWidget(window.tab("placesTab"))
    places = window.tab("placesTab")
    opened = []
    monkeypatch.setattr(QDialog, "exec", lambda self: opened.append(self) or 0)
    monkeypatch.setattr(QDialog, "open", lambda self: opened.append(self))
    places.setFocus()
    qtbot.keyClick(places, Qt.Key.Key_F2)
    qtbot.wait(50)
    assert not opened
    assert not places.visit_button.isEnabled()


def test_a_write_that_still_happens_says_what_to_do(read_only_window):
    with pytest.raises(ReadOnlyDatabaseError, match="复制到可写的文件夹"):
        settings.set_value(read_only_window.ctx.db, "office_name", "改名")


def test_worker_connection_is_read_only_too(qtbot, read_only_window):
    window = read_only_window
    results = []
    window.ctx.runner.run(lambda db, _p: db.read_only, on_success=results.append)
    qtbot.waitUntil(lambda: bool(results))
    assert results == [True]


def test_damaged_file_found_after_opening_locks_the_window(qtbot, demo_db_path):
    from app.ui.app import build_window

    # Damage a page the window never reads at start (the audit log): only the check notices.
    conn = sqlite3.connect(demo_db_path)
    pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'audit_log' ORDER BY pageno")]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(demo_db_path, "r+b") as fh:
        fh.seek((pages[-1] - 1) * page_size)
        fh.write(random.Random(5).randbytes(page_size))
    before = _digest(demo_db_path)
    window = build_window(demo_db_path, demo=True, user="测试员")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.read_only_banner is not None, timeout=10000)
        assert "已损坏" in window.read_only_banner.text() and "--rescue-to" in window.read_only_banner.text()
        assert not any(w.isEnabled() for w in read_only.edit_widgets(window))
        new = window.tab("registryTab").new_button
        assert isinstance(new, QPushButton) and not new.isEnabled()
        with pytest.raises(Exception, match="已损坏"):
            settings.set_value(window.ctx.db, "office_name", "改名")
    finally:
        window.shutdown()
    assert _digest(demo_db_path) == before


def test_a_household_opened_for_reading_cannot_be_saved(qtbot, read_only_window, monkeypatch):
    from app.ui.registry.household_dialog import HouseholdDialog

    opened = []
    monkeypatch.setattr(HouseholdDialog, "run", classmethod(lambda cls, d: (opened.append(d), d.show())))
    registry = read_only_window.tab("registryTab")
    qtbot.waitUntil(lambda: registry.table.model().rowCount() > 0)
    registry.table.selectRow(0)
    registry.open_current()
    dialog = opened[0]
    qtbot.waitExposed(dialog)
    save = dialog.findChild(QPushButton, "householdSaveButton")
    assert not save.isEnabled()
    save.setEnabled(True)  # editing a field enables Save in the dialog; it stays off
    assert not save.isEnabled()
    dialog.close()


def test_closing_the_window_stops_the_whole_file_check_first(qtbot, demo_db_path, monkeypatch):
    """The check reads the whole file on its own thread (seconds at 100,000 residents). Closing
    the window interrupts and waits for it: a thread still decrypting pages while the process
    exits crashed the program (OpenSSL is torn down under it)."""
    import threading
    import time

    from app.ui.app import build_window

    reading = threading.Event()

    def endless_read(db):  # noqa: ANN001 - stands in for a check of a very large file
        reading.set()
        db.conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                        "SELECT count(*) FROM n").fetchone()

    monkeypatch.setattr(read_only, "verify_whole_file", endless_read)
    window = build_window(demo_db_path, demo=True, user="测试员")
    qtbot.addWidget(window)
    window.show()
    assert reading.wait(10)
    started = time.perf_counter()
    window.shutdown()
    assert not window.health_thread.is_alive()
    assert time.perf_counter() - started < 5
    assert window.read_only_banner is None  # an interrupted check is not a damaged file

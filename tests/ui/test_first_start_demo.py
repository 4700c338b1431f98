"""The demo a first start makes (./dev.sh run): generated behind a progress dialog, then settled
like every other demo: its ops folded into the rows (23,000 residents: 51 MB instead of 128 MB)."""

from __future__ import annotations

from app.models.core.accounts import DEMO_PASSWORD
from app.models.core.db import open_database
from app.models.core.unlock import unlock


def test_the_first_start_demo_is_compacted_and_claims_its_path(qtbot, tmp_path, monkeypatch):
    import app.ui.app as app_module
    from app.widgets.qt_checked import qapp

    monkeypatch.setattr(app_module, "DEMO_HOUSEHOLDS", 40)
    path = tmp_path / "demo.db"
    assert app_module._generate_demo(path, qapp())
    unlock(path, "管理员", DEMO_PASSWORD, via="cli")
    db = open_database(path, user="管理员")
    try:
        assert db.scalar("SELECT count(*) FROM household") == 40
        assert db.scalar("SELECT count(*) FROM change_log") == 0  # folded: no other PC to wait for
        before = db.site_id
    finally:
        db.close()
    db = open_database(path, user="管理员")  # the same file at the same path: the same PC
    try:
        assert db.site_id == before
    finally:
        db.close()

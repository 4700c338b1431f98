"""The login screen of an encrypted file, the conversion with its progress bar, the recovery code dialog."""

from __future__ import annotations

import re
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.models.core import accounts, db_keys
from app.models.core.access import Role
from app.models.core.db import open_database
from app.models.demo.demo import create_demo_database
from app.ui.accounts.login_dialog import LoginDialog

PW = accounts.DEMO_PASSWORD


@pytest.fixture(scope="module")
def _encrypted_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("enc") / "demo.db"
    create_demo_database(path, households=6, seed=2)
    return path


@pytest.fixture
def encrypted(_encrypted_template, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copyfile(_encrypted_template, path)
    shutil.copyfile(db_keys.keys_path(_encrypted_template), db_keys.keys_path(path))
    db_keys._UNLOCKED.clear()
    yield path
    db_keys._UNLOCKED.clear()


def test_login_screen_of_an_encrypted_file_unwraps_the_key(qtbot, encrypted):
    before = (encrypted.read_bytes(), encrypted.stat().st_mtime_ns)
    dialog = LoginDialog(None, path=encrypted)
    qtbot.addWidget(dialog)
    names = [dialog.user.itemData(i) for i in range(dialog.user.count())]
    assert "管理员" in names and "楼栋长1" in names
    assert PW in dialog.findChild(QLabel, "loginDemoHint").text()
    dialog.user.setCurrentIndex(names.index("管理员"))
    qtbot.keyClicks(dialog.password, "wrong-password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.principal is None
    assert "密码不正确" in dialog.error.text()
    assert (encrypted.read_bytes(), encrypted.stat().st_mtime_ns) == before
    assert not (encrypted.parent / "demo.db-wal").exists()
    qtbot.keyClicks(dialog.password, PW)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.principal is not None and dialog.principal.role == Role.ADMIN
    assert db_keys.key_for(encrypted) is not None


def test_an_administrator_login_converts_with_a_progress_bar_and_shows_the_code(qtbot, tmp_path, monkeypatch):
    from app.models.demo.demo import generate
    from app.ui import app as app_module
    from app.ui.accounts.recovery_sheet import RecoveryCodeDialog
    from app.ui.app import encrypt_if_needed, ensure_application

    path = tmp_path / "office.db"
    db = open_database(path)
    try:
        generate(db, 5, seed=4)
        principal = accounts.authenticate(db, "管理员", PW)
    finally:
        db.close()
    shown: list[str] = []
    labels: list[str] = []
    monkeypatch.setattr(RecoveryCodeDialog, "exec", lambda self: shown.append(self.code) or 1)
    real = app_module.QProgressDialog.setLabelText
    monkeypatch.setattr(app_module.QProgressDialog, "setLabelText",
                        lambda self, text: (labels.append(text), real(self, text))[1])
    code = encrypt_if_needed(path, principal, ensure_application())
    assert code and shown == [code]
    assert db_keys.is_encrypted_file(path)
    assert labels, "the progress dialog showed no step"
    db = open_database(path, create=False)
    try:
        clerk = accounts.authenticate(db, "工作人员", PW)
    finally:
        db.close()
    assert encrypt_if_needed(path, clerk, ensure_application()) is None  # already encrypted: nothing to do
    dialog = RecoveryCodeDialog(code, "幸福社区", path)
    qtbot.addWidget(dialog)
    assert dialog.findChild(QLabel, "recoveryCode").text() == code
    assert not dialog.done_button.isEnabled()  # the code is shown once: it must be acknowledged
    dialog.keep.setChecked(True)
    assert dialog.done_button.isEnabled()


def test_recovery_sheet_is_one_pdf_page(tmp_path):
    import subprocess

    from app.ui.accounts.recovery_sheet import write_sheet_pdf
    from app.ui.app import ensure_application

    ensure_application()
    pdf = write_sheet_pdf(tmp_path / "sheet.pdf", "ACDE-FGHJ-KMNP-QRTU-VWXY-3467", "幸福社区", "anju.db")
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True)
    if info.returncode == 0:
        assert re.search(r"^Pages:\s+1$", info.stdout, re.M)

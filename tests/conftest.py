"""Shared fixtures: offscreen Qt, a private data folder, a fresh database per test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests: a few examples while working, the full 200 in CI (HYPOTHESIS_PROFILE=ci).
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
os.environ.setdefault("QT_QUICK_BACKEND", "software")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Settings, logs and demo databases of a test never touch the real user folder."""
    data = tmp_path_factory.mktemp("anju-data")
    monkeypatch.setenv("ANJU_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(data / "config"))
    return data


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "office.db"


@pytest.fixture
def db(db_path):
    from app.models.core.db import open_database

    database = open_database(db_path, user="测试员")
    yield database
    database.close()


def type_text(qtbot, widget, text: str) -> None:
    """Type `text` as a clerk would: ASCII by key presses, Chinese through the input method.

    QTest cannot synthesise key events for non-ASCII characters (it aborts), so Chinese text
    arrives as an input-method commit, exactly as from a Pinyin IME.
    """
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication

    run = ""
    for ch in text + "\0":
        if ch != "\0" and ch.isascii():
            run += ch
            continue
        if run:
            qtbot.keyClicks(widget, run)
            run = ""
        if ch != "\0":
            event = QInputMethodEvent()
            event.setCommitString(ch)
            QApplication.sendEvent(widget, event)


@pytest.fixture
def demo_login(tmp_path_factory, monkeypatch):
    """Command-line credentials of the demo administrator (管理员 / anju-demo) in the environment."""
    from app.models.core.accounts import DEMO_PASSWORD

    password_file = tmp_path_factory.mktemp("credentials") / "password.txt"
    password_file.write_text(DEMO_PASSWORD + "\n", encoding="utf-8")
    monkeypatch.setenv("ANJU_USER", "管理员")
    monkeypatch.setenv("ANJU_PASSWORD_FILE", str(password_file))
    return password_file


def copy_database(source: Path, target: Path) -> Path:
    """Copy a database file with its keys file; an encrypted copy is unlocked in this process as the
    demo administrator (the passwords of the original open the copy)."""
    import shutil

    from app.models.core import db_keys

    shutil.copyfile(source, target)
    keys = db_keys.keys_path(source)
    if keys.exists():
        shutil.copyfile(keys, db_keys.keys_path(target))
    if db_keys.is_encrypted_file(target):
        from app.models.core.accounts import DEMO_PASSWORD
        from app.models.core.unlock import unlock

        unlock(target, "管理员", DEMO_PASSWORD, via="test")
    return target

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


@pytest.fixture
def demo_login(tmp_path_factory, monkeypatch):
    """Command-line credentials of the demo administrator (管理员 / anju-demo) in the environment."""
    from app.models.core.accounts import DEMO_PASSWORD

    password_file = tmp_path_factory.mktemp("credentials") / "password.txt"
    password_file.write_text(DEMO_PASSWORD + "\n", encoding="utf-8")
    monkeypatch.setenv("ANJU_USER", "管理员")
    monkeypatch.setenv("ANJU_PASSWORD_FILE", str(password_file))
    return password_file

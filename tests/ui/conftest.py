"""UI fixtures: a small demo database (made once per session and copied) and the real main window."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(autouse=True)
def _crash_dialog_fails_the_test(monkeypatch):
    """An unexpected error fails the test at once instead of waiting on a modal crash dialog."""
    from app.ui.common import crash

    seen: list[BaseException] = []
    monkeypatch.setattr(crash, "_show_crash_box", lambda _parent, _path, exc: seen.append(exc))
    yield seen
    if seen:
        exc = seen[0]
        pytest.fail("an error reached the crash dialog:\n" + (getattr(exc, "__anju_traceback__", None) or repr(exc)))


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory):
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    create_demo_database(path, households=60, seed=7, encrypted=False)  # copied page by page: plain
    return path


@pytest.fixture
def demo_db_path(_demo_template, tmp_path):
    """A private copy of a 60-household demo community."""
    path = tmp_path / "demo.db"
    shutil.copy(_demo_template, path)
    return path


@pytest.fixture
def main_window(qtbot, demo_db_path):
    from app.ui.app import build_window

    window = build_window(demo_db_path, demo=True, user="测试员")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()

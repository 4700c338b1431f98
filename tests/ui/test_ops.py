"""The background worker keeps one connection for all its jobs and closes it on shutdown."""

from __future__ import annotations

import sqlite3

import pytest

from app.models.db import open_database
from app.ui.ops import OpRunner


def test_every_job_gets_the_same_worker_connection(qtbot, tmp_path):
    open_database(tmp_path / "office.db").close()
    runner = OpRunner(tmp_path / "office.db", "测试员")
    seen: list[int] = []
    for _ in range(5):
        with qtbot.waitSignal(runner._bridge.finished, timeout=5000):
            runner.run(lambda db, _p: id(db), on_success=seen.append)
        qtbot.wait(1)
    assert len(seen) == 5 and len(set(seen)) == 1  # one connection, not one per job
    kept = next(iter(runner._connections.values()))
    runner.shutdown()
    assert not runner._connections
    with pytest.raises(sqlite3.ProgrammingError):
        kept.conn.execute("SELECT 1")  # closed

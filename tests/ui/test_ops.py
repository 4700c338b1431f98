"""The background worker keeps one connection for all its jobs and closes it on shutdown."""

from __future__ import annotations

import pytest

from app.models.core import sqlite as sqlite3
from app.models.core.db import open_database
from app.ui.common.ops import OpRunner


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


def test_a_full_disk_in_a_job_reaches_the_clerk_as_advice(qtbot, tmp_path):
    from app.models.core.safe_files import DiskFullError

    open_database(tmp_path / "office.db").close()
    runner = OpRunner(tmp_path / "office.db", "测试员")
    failures: list[BaseException] = []

    def job(db, _progress):
        db.conn.execute(f"PRAGMA max_page_count = {db.scalar('PRAGMA page_count')}")
        with db.write() as tx:
            for i in range(2000):
                tx.insert("community", {"name": f"社区{i:05d}" + "区" * 30})  # within the name's limit

    with qtbot.waitSignal(runner._bridge.finished, timeout=10000):
        runner.run(job, on_failure=failures.append)
    runner.shutdown()
    (exc,) = failures
    assert isinstance(exc, DiskFullError)
    assert "磁盘空间不足" in str(exc) and str(tmp_path) in str(exc) and "完好" in str(exc)
    assert "database or disk is full" in exc.__anju_traceback__  # the log keeps what SQLite said

"""The op runner's contract, through its public API only: order, progress, failure, cancel, shutdown."""

from __future__ import annotations

import threading

import pytest

from app.models.core.db import Database, open_database
from app.models.core.errors import KnownError
from app.ui.common import crash
from app.ui.common.ops import OpRunner, Progress


@pytest.fixture
def office(tmp_path):
    path = tmp_path / "office.db"
    db = open_database(path, user="测试员")
    with db.write() as tx:
        tx.insert("community", {"name": "红路馨居社区"})
    yield path, db
    db.close()


@pytest.fixture
def runner(office, qtbot):
    path, _db = office
    r = OpRunner(path, "测试员")
    yield r
    r.shutdown()


def _community_names(db: Database) -> list[str]:
    return [r[0] for r in db.query("SELECT name FROM community WHERE deleted = 0 ORDER BY name")]


def test_jobs_run_in_the_order_given_and_report_progress_on_the_ui_thread(qtbot, runner):
    ui_thread = threading.get_ident()
    seen: list[str] = []
    progress_seen: list[tuple[int, int, str, bool]] = []

    def job(name: str):
        def fn(_db: Database, progress: Progress) -> str:
            for i in range(3):
                progress.report(i + 1, 3, name)
            return name
        return fn

    def on_progress(done: int, total: int, text: str) -> None:
        progress_seen.append((done, total, text, threading.get_ident() == ui_thread))

    for name in ("一", "二", "三"):
        runner.run(job(name), on_success=seen.append, on_progress=on_progress)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=10000)
    assert seen == ["一", "二", "三"]
    assert [p[:3] for p in progress_seen if p[2] == "二"] == [(1, 3, "二"), (2, 3, "二"), (3, 3, "二")]
    assert all(p[3] for p in progress_seen)


def test_a_failing_job_changes_nothing_and_hands_its_error_to_on_failure(qtbot, office, runner):
    _path, db = office
    failures: list[BaseException] = []
    successes: list[object] = []

    def fn(wdb: Database, _progress: Progress) -> None:
        with wdb.write() as tx:
            tx.insert("community", {"name": "写了一半的社区"})
            raise KnownError("房号“9-9-999”不存在。")

    runner.run(fn, on_success=successes.append, on_failure=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    assert isinstance(failures[0], KnownError) and "9-9-999" in str(failures[0])
    assert successes == []
    assert _community_names(db) == ["红路馨居社区"]


def test_a_failure_nobody_handles_is_reported_to_the_clerk(qtbot, runner, monkeypatch):
    reported: list[BaseException] = []
    monkeypatch.setattr(crash, "report_exception", reported.append)

    def fn(_db: Database, _progress: Progress) -> None:
        raise KnownError("文件已被别的程序占用。")

    runner.run(fn)
    qtbot.waitUntil(lambda: bool(reported), timeout=10000)
    assert "占用" in str(reported[0])


def test_a_cancelled_job_stops_at_its_next_check_rolls_back_and_calls_neither_callback(qtbot, office, runner):
    _path, db = office
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []
    after: list[str] = []

    def fn(wdb: Database, progress: Progress) -> None:
        with wdb.write() as tx:
            tx.insert("community", {"name": "取消前写入的社区"})
            started.set()
            release.wait(10)
            progress.check()  # raises Cancelled: the transaction is rolled back
            tx.insert("community", {"name": "不该出现的社区"})

    handle = runner.run(fn, on_success=lambda _r: calls.append("success"),
                        on_failure=lambda _e: calls.append("failure"))
    assert started.wait(10)
    handle.cancel()
    release.set()
    # A job queued behind the cancelled one still runs: cancelling is per job.
    runner.run(lambda _db, _p: "next", on_success=after.append)
    qtbot.waitUntil(lambda: after == ["next"], timeout=10000)
    assert calls == []
    assert _community_names(db) == ["红路馨居社区"]


def test_shutdown_lets_the_running_job_finish_closes_the_worker_connection_and_drops_late_callbacks(qtbot, office):
    path, db = office
    runner = OpRunner(path, "测试员")
    worker_dbs: list[Database] = []
    delivered: list[str] = []
    release = threading.Event()

    def fn(wdb: Database, _progress: Progress) -> str:
        worker_dbs.append(wdb)
        release.wait(10)
        with wdb.write() as tx:
            tx.insert("community", {"name": "关闭前完成的社区"})
        return "done"

    runner.run(fn, on_success=delivered.append)
    qtbot.waitUntil(lambda: bool(worker_dbs), timeout=10000)
    threading.Timer(0.2, release.set).start()
    runner.shutdown()  # waits for the job, then closes the worker's connection on its thread
    assert worker_dbs[0].closed
    assert "关闭前完成的社区" in _community_names(db)  # the job's write was finished, not cut off
    qtbot.wait(100)  # the finished signal is processed after shutdown: the closed window ignores it
    assert delivered == []
    runner.shutdown()  # idempotent

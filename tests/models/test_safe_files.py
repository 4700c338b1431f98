"""Every file the program writes is complete or absent: full disk, SQLite full, leftovers of killed writes."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
from pathlib import Path

import pytest
import xlsxwriter

from app.cli import main
from app.models.core import safe_files
from app.models.core import sqlite as sqlite3
from app.models.core.backup import backup_to
from app.models.core.db import open_database
from app.models.core.id_numbers import make
from app.models.core.safe_files import DiskFullError, remove_leftovers, write_bytes
from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import plan_import, write_error_workbook
from app.models.sync.bundle import read_bundle, write_bundle
from tests.builders.excel import build_office


@pytest.fixture
def disk_full(monkeypatch):
    """`disk_full(n)`: the disk takes n more bytes, then every write fails with ENOSPC (as a full stick)."""

    def arm(after: int) -> None:
        left = [after]
        real = safe_files._os_write

        def write(fd: int, data) -> int:
            if left[0] <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            n = real(fd, data[: left[0]])
            left[0] -= n
            return n

        monkeypatch.setattr(safe_files, "_os_write", write)

    return arm


@pytest.fixture
def office(db):
    return build_office(db)


def _nothing_left(folder: Path, target: Path) -> None:
    assert not target.exists()
    assert not [p.name for p in folder.iterdir() if ".part" in p.name]


def _bad_workbook(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号", "楼栋", "单元", "房号"])
    ws.write_row(1, 0, ["HL-0009", "新人", "123", "1栋", "1", "101"])
    ws.write_row(2, 0, ["HL-0009", "新人二", make("532301", dt.date(1999, 1, 1), 9, "男"), "1栋", "1", "101"])
    wb.close()
    return path


def _write_export(db, out: Path) -> None:
    export_ledger(db, "residents", out)


def _write_error_workbook(db, out: Path) -> None:
    plan = plan_import(db, _bad_workbook(out.parent.parent / "src" / "bad.xlsx"))
    assert plan.errors
    write_error_workbook(plan, out)


def _write_bundle(db, out: Path) -> None:
    header = {"bundle_id": "b-1", "community": "c", "sender": "s", "schema": 1, "ranges": {}}
    write_bundle(out.parent, header, {"ops": [["x" * 50] * 200]}, "口令", scrypt_n=2**4)


def _write_log(db, out: Path) -> None:
    write_bytes(out, ("错误详情\n" * 5000).encode("utf-8"), what="错误日志")


def _write_audit(db, out: Path) -> None:
    from app.models.core import audit_view

    audit_view.export(db, audit_view.AuditFilter(), out)


WRITERS = {"excel": _write_export, "error-workbook": _write_error_workbook, "bundle": _write_bundle,
           "log": _write_log, "audit": _write_audit}


@pytest.mark.parametrize("fraction", [0, 0.3, 0.95])
@pytest.mark.parametrize("kind", list(WRITERS))
def test_full_disk_leaves_no_file_and_says_so(db, office, tmp_path, disk_full, kind, fraction):
    """The disk fills up at the start, early, or just before the end of the file."""
    (tmp_path / "src").mkdir()
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    WRITERS[kind](db, roomy / "out.xlsx")
    size = sum(p.stat().st_size for p in roomy.iterdir())
    folder = tmp_path / "stick"
    folder.mkdir()
    out = folder / "out.xlsx"
    disk_full(int(size * fraction))
    with pytest.raises(DiskFullError) as info:
        WRITERS[kind](db, out)
    msg = str(info.value)
    assert "磁盘空间不足" in msg and str(folder) in msg and "可用" in msg
    _nothing_left(folder, out)
    assert not list(folder.glob("*.anjusync"))


def test_the_same_writers_succeed_with_room(db, office, tmp_path):
    folder = tmp_path / "stick"
    folder.mkdir()
    (tmp_path / "src").mkdir()
    for kind, writer in WRITERS.items():
        out = folder / f"{kind}.xlsx"
        writer(db, out)
    (bundle,) = folder.glob("*.anjusync")
    assert read_bundle(bundle, "口令").header["bundle_id"] == "b-1"
    assert not list(folder.glob("*.part"))


def test_a_check_that_fails_removes_the_part_file(tmp_path):
    target = tmp_path / "cards.pdf"
    with pytest.raises(safe_files.WriteError, match="不完整"):
        write_bytes(target, b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", check=safe_files.check_pdf)  # no trailer
    _nothing_left(tmp_path, target)


def test_cli_export_on_a_full_disk_fails_without_claiming_success(db, office, db_path, tmp_path, disk_full, capsys):
    db.close()
    out = tmp_path / "residents.xlsx"
    disk_full(2000)
    assert main(["export-excel", "--db", str(db_path), "--ledger", "residents", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "已导出" not in captured.out and "磁盘空间不足" in captured.err and "Traceback" not in captured.err
    _nothing_left(tmp_path, out)


# -- SQLite's "database or disk is full" ------------------------------------------------------------
def _limit_pages(module, monkeypatch, extra_pages: int = 0) -> None:
    """The command's own connection may not grow the file: SQLite raises a real SQLITE_FULL."""
    if not hasattr(module, "open_database"):  # commands that sign in open the file through app.cli.open_db
        import app.models.core.db as module
    real = module.open_database

    def limited(path, *a, **k):
        database = real(path, *a, **k)
        pages = database.scalar("PRAGMA page_count")
        database.conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")
        return database

    monkeypatch.setattr(module, "open_database", limited)


def test_import_on_a_full_disk_changes_nothing_and_does_not_call_the_file_damaged(
        db, office, db_path, tmp_path, monkeypatch, capsys):
    import app.commands.import_excel as command

    path = tmp_path / "new.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号", "楼栋", "单元", "房号", "备注"])
    for i in range(60):
        ws.write_row(i + 1, 0, ["HL-1000", "新人", make("532301", dt.date(1990, 1, 1) + dt.timedelta(days=i), 9, "男"),
                                "2栋", "1", "101", "备注" * 200])
    wb.close()
    before = db.scalar("SELECT count(*) FROM change_log")
    db.close()
    _limit_pages(command, monkeypatch)
    assert main(["import-excel", "--db", str(db_path), str(path)]) == 2
    captured = capsys.readouterr()
    assert "磁盘空间不足" in captured.err and str(tmp_path) in captured.err
    assert "已损坏" not in captured.err and "备份恢复" not in captured.err and "已导入" not in captured.out
    again = open_database(db_path)
    assert again.scalar("SELECT count(*) FROM change_log") == before
    assert again.scalar("PRAGMA quick_check") == "ok"
    again.close()


def test_demo_on_a_full_disk_leaves_no_database(tmp_path, monkeypatch, capsys):
    import app.models.demo.demo as demo

    _limit_pages(demo, monkeypatch, extra_pages=20)
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path), "--households", "40"]) == 2
    err = capsys.readouterr().err
    assert "磁盘空间不足" in err and "演示数据库" in err and "约需要" in err and "已损坏" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_backup_on_a_full_disk_leaves_no_file(db, office, tmp_path, monkeypatch):
    import app.models.core.backup as backup

    real_connect = sqlite3.connect

    def small(path, *a, **k):
        conn = real_connect(path, *a, **k)
        conn.execute("PRAGMA max_page_count = 3")
        return conn

    monkeypatch.setattr(backup.sqlite3, "connect", small)
    target = tmp_path / "copies" / "copy.db"
    target.parent.mkdir()
    with pytest.raises(DiskFullError, match="磁盘空间不足"):
        backup_to(db, target)
    _nothing_left(target.parent, target)


def test_sqlite_full_is_recognised_by_its_code_and_wrapped():
    err = sqlite3.OperationalError("database or disk is full")
    assert safe_files.is_disk_full(err)
    wrapped = RuntimeError("library")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert safe_files.is_disk_full(wrapped)
    assert not safe_files.is_disk_full(sqlite3.OperationalError("database is locked"))
    known = safe_files.disk_full_as_known(err, "/srv/office/anju.db")
    assert isinstance(known, DiskFullError) and "/srv/office" in str(known) and "完好" in str(known)


# -- leftovers of killed writes ----------------------------------------------------------------------
def test_leftovers_of_the_program_are_removed_others_and_running_writes_stay(tmp_path):
    ours = ["cards.pdf.part", "备份.db.part", "备份.db.part-journal", ".residents.xlsx.part",
            "anju-x.anjusync.part", "crash-1.log.part"]
    theirs = ["movie.mkv.part", "notes.txt", "cards.pdf", "report.part"]
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"x" * 100)
    running = tmp_path / "busy.xlsx.part"
    running.write_bytes(b"x")
    busy_journal = tmp_path / "busy.xlsx.part-journal"
    busy_journal.write_bytes(b"x")
    fd = os.open(running, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        removed = remove_leftovers(tmp_path)
    finally:
        os.close(fd)
    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs + [running.name, busy_journal.name])


def test_leftovers_go_at_the_next_start_and_the_next_write(db, office, db_path, tmp_path, capsys):
    db.close()
    (tmp_path / "office-备份-1.db.part").write_bytes(b"x" * 1000)
    (tmp_path / "office-备份-1.db.part-journal").write_bytes(b"x" * 1000)
    assert main(["stats", "--db", str(db_path)]) == 0  # any command start
    assert not list(tmp_path.glob("*.part*"))
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "cards.pdf.part").write_bytes(b"x")
    again = open_database(db_path)
    export_ledger(again, "residents", stick / "r.xlsx")
    again.close()
    assert [p.name for p in stick.iterdir()] == ["r.xlsx"]

"""The log file: what runs is logged (sync, Excel, migrations, backups, commands, jobs) and no personal data."""

from __future__ import annotations

import logging
import shutil
import stat
import sys
from pathlib import Path

import pytest

from app.models.core import logs
from app.models.core.db import open_database
from app.models.sync import sync

PASS = "培训楼-青松-2026-Kq7"


@pytest.fixture
def log_folder():
    """The program's own log folder (in the test's private data folder): crash reports go there too."""
    from app.paths import log_dir

    folder = log_dir()
    logs.setup(folder)
    return folder


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("logs") / "demo.db"
    create_demo_database(path, households=15, seed=5, encrypted=False)  # copied below: no keys file to carry
    return path


def personal_data(db_path: Path) -> list[bytes]:
    """Every name, ID number and phone of the database, as the bytes a file would hold."""
    with open_database(db_path) as db:
        values = [v for r in db.query("SELECT name, id_number, phone FROM person") for v in r if v]
    return [v.encode("utf-8") for v in set(values)]


def scan(folder: Path, secrets: list[bytes]) -> list[str]:
    found = []
    for f in folder.iterdir():
        data = f.read_bytes()
        found += [f"{f.name}: {s.decode()}" for s in secrets if s in data]
    return found


def test_redact_masks_numbers_and_chinese():
    assert logs.redact("file 张三 522401199001011234 13812345678 ok") == "file 〔略〕 522401********1234 138****5678 ok"
    assert logs.file_ref("/home/u/张三的材料.xlsx").startswith(".xlsx#") and "张" not in logs.file_ref("张.xlsx")


def test_a_day_of_work_leaves_a_log_without_personal_data(demo_file, tmp_path, log_folder):
    from app.models.core.backup import backup_to
    from app.models.excel.excel_export import export_ledger
    from app.models.excel.excel_import import apply_plan, plan_import
    from app.ui.common.crash import write_crash_log

    path = tmp_path / "office.db"
    shutil.copy(demo_file, path)
    secrets = personal_data(path)
    with open_database(path) as db:
        someone = db.one("SELECT name, id_number, phone FROM person WHERE phone IS NOT NULL AND id_number IS NOT NULL")
        # An export and an import of a file named after a resident.
        named = tmp_path / f"{someone['name']}的材料.xlsx"
        export_ledger(db, "residents", named)
        apply_plan(db, plan_import(db, named), valid_only=True)
        # A failing import: a file that is not a workbook.
        broken = tmp_path / f"{someone['id_number']}.xlsx"
        broken.write_bytes(b"not a zip")
        with pytest.raises(Exception):  # noqa: B017 - whatever the reader raises; the log is the point
            plan_import(db, broken)
        # A sync out and in, and a backup.
        stick = tmp_path / "stick"
        stick.mkdir()
        sync.export_to_folder(db, stick, PASS, scrypt_n=16)
        sync.import_from_folder(db, stick, PASS)
        backup_to(db, tmp_path)
        # Careless code handing a value to the log anyway: the filter still catches it.
        logging.getLogger("anju.test").warning("person %s %s %s", someone["name"], someone["id_number"],
                                               someone["phone"])
        # A crash whose message carries a resident's data.
        try:
            raise KeyError(f"{someone['name']} {someone['id_number']} {someone['phone']}")
        except KeyError as exc:
            crash = write_crash_log(exc)
    assert crash.parent == log_folder
    open_database(tmp_path / "new.db").close()  # migrations from 0 to the latest
    text = (log_folder / logs.LOG_NAME).read_text(encoding="utf-8")
    for expected in ("excel.export start", "excel.export done", "excel.plan done", "excel.import done",
                     "excel.plan failed", "sync.export done", "sync.import done", "backup.write done",
                     "migration start from_version=0", "migration done"):
        assert expected in text, expected
    assert "KeyError" in crash.read_text(encoding="utf-8")
    assert scan(log_folder, secrets) == []
    assert stat.S_IMODE((log_folder / logs.LOG_NAME).stat().st_mode) == 0o600 or sys.platform.startswith("win")


def test_commands_and_worker_jobs_are_logged(demo_file, tmp_path, log_folder, demo_login, qtbot):
    from app.cli import main
    from app.ui.common.ops import OpRunner

    path = tmp_path / "office.db"
    shutil.copy(demo_file, path)
    assert main(["stats", "--db", str(path)]) == 0
    assert main(["export-excel", "--db", str(path), "--ledger", "residents", "--out", str(tmp_path / "r.xlsx")]) == 2
    runner = OpRunner(path, "管理员")
    done = []

    def count_people(db, _progress):
        return db.scalar("SELECT count(*) FROM person")

    runner.run(count_people, on_success=done.append)
    runner.run(lambda db, _p: 1 / 0, on_failure=done.append)
    qtbot.waitUntil(lambda: len(done) == 2)
    runner.shutdown()
    text = (log_folder / logs.LOG_NAME).read_text(encoding="utf-8")
    assert "command export-excel refused: ValidationError" in text and "command export-excel exit 2" in text
    assert "count_people done" in text and "<lambda> failed" in text and "ZeroDivisionError" in text
    assert scan(log_folder, personal_data(path)) == []

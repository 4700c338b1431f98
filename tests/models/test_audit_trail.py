"""The event audit of item 5: exports, syncs, backups, settings; the chain check; `anju audit --json`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.models.core import audit_view, backup, settings
from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal, Role
from app.models.core.check import check_database
from app.models.core.db import Database, open_database
from app.models.core.errors import PermissionDeniedError
from app.models.excel import excel_export
from app.models.sync import sync
from tests.builders.sync import PASS, N

ROOT = Path(__file__).resolve().parents[2]


def events(db: Database, action: str) -> list[dict]:
    rows = db.query("SELECT * FROM audit_events WHERE action = ? ORDER BY id", (action,))
    return [{**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None} for r in rows]


def office(path: Path, user: str = "甲") -> Database:
    db = open_database(path, user=user)
    with db.write() as tx:
        tx.insert("community", {"name": "红路馨居社区"})
        h = tx.insert("household", {"number": "H001"})
        tx.insert("person", {"name": "张三", "household_id": h, "id_number": "520102199001012478"})
    return db


def test_an_export_is_audited_with_ledger_rows_masking_and_file(tmp_path):
    db = office(tmp_path / "a.db")
    excel_export.export_ledger(db, "households", tmp_path / "户台账.xlsx", masked=True)
    excel_export.export_ledger(db, "residents", tmp_path / "花名册.xlsx", masked=False)
    found = events(db, "export")
    assert [(e["detail"]["ledger"], e["detail"]["rows"], e["detail"]["masked"], e["detail"]["file"]) for e in found] == [
        ("households", 1, True, "户台账.xlsx"), ("residents", 1, False, "花名册.xlsx")]
    assert all(e["user"] == "甲" and e["outcome"] == "ok" for e in found)


def test_a_failed_export_is_audited_as_failed(tmp_path):
    db = office(tmp_path / "a.db")
    with pytest.raises(Exception):  # noqa: B017 - the folder does not exist
        excel_export.export_ledger(db, "households", tmp_path / "missing" / "x.xlsx")
    assert [e["outcome"] for e in events(db, "export")] == ["failed"]


def test_sync_out_and_in_are_audited(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a = office(tmp_path / "a.db")
    path, ops = sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    out = events(a, "sync_out")
    assert out[0]["detail"]["file"] == path.name and out[0]["detail"]["ops"] == ops
    b = open_database(tmp_path / "b.db", user="乙")
    report = sync.import_from_folder(b, stick, PASS)
    got = events(b, "sync_in")
    assert got[0]["user"] == "乙" and got[0]["detail"]["files"] == [path.name]
    assert got[0]["detail"]["applied"] == report.applied > 0
    # A wrong passphrase is reported (and audited) even when every file was applied before: a file is
    # recognised as known only once it is authenticated.
    assert sync.import_from_folder(b, stick, "错的口令").outcome == "failed"
    assert [e["outcome"] for e in events(b, "sync_in")] == ["ok", "failed"]
    sync.import_from_folder(b, stick, PASS)  # nothing new: already known, nothing audited again
    assert len(events(b, "sync_in")) == 2


def test_backup_and_settings_changes_are_audited(tmp_path):
    db = office(tmp_path / "a.db")
    target = backup.backup_to(db, tmp_path)
    assert events(db, "backup")[0]["detail"]["file"] == target.name
    settings.set_value(db, "visit_interval_red", 5)
    settings.set_value(db, "visit_interval_red", 5)  # no change, no entry
    got = events(db, "setting_change")
    assert len(got) == 1 and got[0]["detail"]["key"] == "visit_interval_red" and got[0]["detail"]["new"] == "5"


def test_a_building_head_cannot_back_up_the_whole_office(tmp_path):
    db = office(tmp_path / "a.db")
    db.principal = Principal(name="楼栋长1", role=Role.BUILDING_HEAD, building_ids=frozenset({"b1"}))
    with pytest.raises(PermissionDeniedError):
        backup.backup_to(db, tmp_path)
    assert [e["outcome"] for e in events(db, "backup")] == ["refused"]
    assert not list(tmp_path.glob("*备份*"))


def test_check_finds_an_entry_edited_in_the_file(tmp_path):
    db = office(tmp_path / "a.db")
    for name in ("x1", "x2", "x3"):
        excel_export.export_ledger(db, "households", tmp_path / f"{name}.xlsx", masked=True)
    assert check_database(db).ok
    db.close()
    raw = sqlite3.connect(tmp_path / "a.db")
    raw.execute("DROP TRIGGER audit_events_no_update")
    raw.execute("UPDATE audit_events SET detail = replace(detail, 'x2.xlsx', 'y.xlsx') WHERE id = 2")
    raw.commit()
    raw.close()
    db = open_database(tmp_path / "a.db")
    report = check_database(db)
    assert not report.ok
    assert any("第 2 条" in p for p in report.problems)
    cli = subprocess.run([sys.executable, "-m", "app", "check", "--db", str(tmp_path / "a.db")], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert cli.returncode == 1 and "操作日志第 2 条" in cli.stdout


def test_the_program_cannot_alter_the_audit(tmp_path):
    db = office(tmp_path / "a.db")
    excel_export.export_ledger(db, "households", tmp_path / "x.xlsx")
    with pytest.raises(sqlite3.DatabaseError):
        db.conn.execute("UPDATE audit_events SET user = '别人'")
    with pytest.raises(sqlite3.DatabaseError):
        db.conn.execute("DELETE FROM audit_events")


def test_anju_audit_json_prints_one_entry_per_line(tmp_path):
    db = office(tmp_path / "a.db")
    excel_export.export_ledger(db, "households", tmp_path / "x.xlsx", masked=True)
    backup.backup_to(db, tmp_path / "bak.db")
    db.close()
    run = subprocess.run([sys.executable, "-m", "app", "audit", "--db", str(tmp_path / "a.db"), "--since",
                          dt.date.today().isoformat(), "--json"], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["export", "backup"]
    for e in lines:
        assert {"at", "user", "action", "detail"} <= set(e)
        assert e["user"] == "甲"
    assert json.loads(lines[0]["detail"])["file"] == "x.xlsx"
    later = subprocess.run([sys.executable, "-m", "app", "audit", "--db", str(tmp_path / "a.db"), "--since",
                            (dt.date.today() + dt.timedelta(days=1)).isoformat(), "--json"], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert later.returncode == 0 and later.stdout == ""


def test_only_admins_and_auditors_read_the_audit(tmp_path):
    db = office(tmp_path / "a.db")
    excel_export.export_ledger(db, "households", tmp_path / "x.xlsx")
    f = audit_view.AuditFilter()
    for role in (Role.ADMIN, Role.AUDITOR):
        db.principal = Principal(name="某人", role=role)
        assert audit_view.count(db, f) >= 1
    for role in (Role.CLERK, Role.BUILDING_HEAD, Role.VIEWER):
        db.principal = Principal(name="某人", role=role)
        with pytest.raises(PermissionDeniedError):
            audit_view.count(db, f)


def test_audit_filters_and_export(tmp_path):
    db = office(tmp_path / "a.db")
    excel_export.export_ledger(db, "households", tmp_path / "甲的.xlsx")
    db.user = "乙"
    settings.set_value(db, "visit_interval_red", 9)
    everything = audit_view.AuditFilter()
    assert audit_view.count(db, everything) == 2
    assert audit_view.count(db, audit_view.AuditFilter(user="乙")) == 1
    assert audit_view.count(db, audit_view.AuditFilter(action="export")) == 1
    assert audit_view.count(db, audit_view.AuditFilter(record="甲的.xlsx")) == 1
    assert audit_view.count(db, audit_view.AuditFilter(until=dt.date.today() - dt.timedelta(days=1))) == 0
    n = audit_view.export(db, everything, tmp_path / "日志.xlsx")
    assert n == 2
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(tmp_path / "日志.xlsx")).get_sheet_by_index(0).to_python()
    assert rows[0][:4] == ["序号", "时间", "用户", "操作"]
    assert {r[3] for r in rows[1:]} == {"导出", "修改设置"}
    assert events(db, "export")[-1]["detail"]["ledger"] == "audit"

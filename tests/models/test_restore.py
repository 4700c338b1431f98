"""Restore drills: back up, change, restore, compare; refused backups change nothing; `anju restore`."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from app.models import migrations
from app.models.core import backup, db_keys, restore
from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal, Role
from app.models.core.accounts import DEMO_PASSWORD, use_principal
from app.models.core.audit_events import recent, verify_chain
from app.models.core.db import open_database
from app.models.core.errors import DatabaseError, PermissionDeniedError
from app.models.core.restore import BackupRefusedError, OtherCommunityError
from app.models.core.unlock import unlock
from tests.builders.database import copy_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("restore") / "demo.db"
    create_demo_database(path, households=30, seed=5)
    return path


@pytest.fixture
def office(template, tmp_path) -> Path:
    path = tmp_path / "office" / "anju.db"
    path.parent.mkdir()
    return copy_database(template, path)  # the demo has accounts: encrypted, with its keys file


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "backups"
    out.mkdir()
    return out


def live_rows(db) -> dict[str, list]:
    """The records a restore must bring back exactly (live rows of the main tables, every column)."""
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM main.{t} WHERE deleted = 0 ORDER BY id")]
            for t in ("household", "person", "visit", "mediation_case", "employment")}


def change_things(db) -> None:
    """A morning's work the restore will undo: two households removed, a name changed, a community added."""
    ids = [r[0] for r in db.query("SELECT id FROM household WHERE deleted = 0 ORDER BY id LIMIT 2")]
    person = db.scalar("SELECT id FROM person WHERE deleted = 0 ORDER BY id LIMIT 1")
    with db.write() as tx:
        for hid in ids:
            tx.delete("household", hid)
        tx.update("person", person, {"name": "改过的名字"})


def file_state(path: Path) -> dict[str, str | None]:
    return {s: hashlib.sha256(Path(f"{path}{s}").read_bytes()).hexdigest() if Path(f"{path}{s}").exists() else None
            for s in ("", "-wal")}


def test_restore_drill_back_up_change_restore_compare(office, folder, tmp_path):
    db = open_database(office)
    before = live_rows(db)
    saved = backup.backup_to(db, tmp_path)
    change_things(db)
    changed = live_rows(db)
    assert changed != before
    old_site = db.site_id

    report = restore.check_backup(db, saved)
    assert report.same_community and report.then["households"] == report.now["households"] + 2
    restored, prepared = restore.restore_database(db, saved, backup_folder=folder)
    try:
        assert live_rows(restored) == before
        assert restore.counts(restored) == report.then
        # The current file was kept first, recognisably named, holding the morning's work.
        assert "恢复前自动备份" in prepared.safety_copy.name and prepared.safety_copy.parent == folder
        kept = open_database(prepared.safety_copy, create=False, read_only=True)
        assert live_rows(kept) == changed
        kept.close()
        event = recent(restored, 1)[0]
        assert event["action"] == "restore" and event["outcome"] == "ok" and saved.name in event["detail"]
        assert '"households": 28' in event["detail"] and '"households": 30' in event["detail"]
        assert verify_chain(restored) == []
        # A restored file must not make new ops under the old identity (its sequence went back).
        with restored.write() as tx:
            tx.insert("community", {"name": "恢复后新增"})
        assert restored.site_id != old_site
    finally:
        restored.close()
    assert not Path(f"{office}.part").exists()


def _refused(office: Path, source: Path, match: str) -> None:
    db = open_database(office)
    change_things(db)  # something pending in the -wal, so the check covers it
    state = file_state(office)
    try:
        with pytest.raises(BackupRefusedError, match=match) as err:
            restore.prepare_restore(db, source, backup_folder=office.parent)
        assert "未作任何改动" in str(err.value) or "不能" in str(err.value)
        assert file_state(office) == state
        assert sorted(p.name for p in office.parent.iterdir()) == sorted(
            ["anju.db", "anju.db-wal", "anju.db-shm", "anju.db.keys"])
    finally:
        db.close()


def test_a_truncated_backup_is_refused_and_nothing_changes(office, tmp_path):
    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    db.close()
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    _refused(office, saved, "损坏或不完整|读不出来|不能用来恢复")


def test_a_damaged_backup_is_refused_and_nothing_changes(office, tmp_path):
    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    db.close()
    data = bytearray(saved.read_bytes())
    page = 4096
    for n in range(3, len(data) // page, 2):  # scribble over every other page after the schema
        data[n * page + 10: n * page + 200] = os.urandom(190)
    saved.write_bytes(bytes(data))
    _refused(office, saved, "损坏或不完整|读不出来")


@pytest.mark.parametrize("kind", ["text", "empty", "other-sqlite", "newer", "missing", "itself"])
def test_a_foreign_backup_is_refused_and_nothing_changes(office, tmp_path, kind):
    source = tmp_path / "chosen.db"
    expected = "不能用来恢复"
    if kind == "text":
        source.write_text("姓名,身份证号\n", encoding="utf-8")
        expected = "不是安居台账的数据库"
    elif kind == "empty":
        source.write_bytes(b"")
        expected = "空文件"
    elif kind == "other-sqlite":
        conn = sqlite3.connect(source)
        conn.execute("CREATE TABLE songs(title)")
        conn.commit()
        conn.close()
        expected = "其他程序"
    elif kind == "newer":
        db = open_database(office)
        backup.backup_to(db, source)
        db.close()
        conn = sqlite3.connect(source)
        sqlite3.apply_key(conn, db_keys.key_for(source))  # the demo has accounts: its backup is encrypted
        conn.execute(f"PRAGMA user_version = {migrations.latest_version() + 1}")
        conn.commit()
        conn.close()
        expected = "较新版本"
    elif kind == "missing":
        expected = "不存在"
    else:
        source = office
        expected = "正在使用的数据库文件本身"
    _refused(office, source, expected)


def test_another_communitys_backup_needs_explicit_confirmation(office, template, folder, tmp_path):
    other = copy_database(template, tmp_path / "other.db")
    odb = open_database(other)
    with odb.write() as tx:
        cid = odb.scalar("SELECT id FROM community")
        tx.update("community", cid, {"name": "幸福社区"})
    odb.conn.execute("PRAGMA foreign_keys = OFF")  # give it another community id, as another office has
    odb.conn.execute("DROP TRIGGER IF EXISTS community_guard_upd")
    odb.conn.execute("UPDATE community SET id = 'another-office'")
    saved = backup.backup_to(odb, tmp_path / "xingfu.db")
    odb.close()

    db = open_database(office)
    state = file_state(office)
    report = restore.check_backup(db, saved)
    assert not report.same_community and report.community_name == "幸福社区"
    with pytest.raises(OtherCommunityError, match="幸福社区"):
        restore.prepare_restore(db, saved, backup_folder=folder)
    assert file_state(office) == state and list(folder.iterdir()) == []
    restored, _ = restore.restore_database(db, saved, other_community_ok=True, backup_folder=folder)
    assert restored.scalar("SELECT name FROM community") == "幸福社区"
    restored.close()


def test_only_the_administrator_may_restore(office, folder, tmp_path):
    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    for role in (Role.CLERK, Role.BUILDING_HEAD, Role.AUDITOR, Role.VIEWER):
        use_principal(db, Principal("某人", role, account_id="x"))
        with pytest.raises(PermissionDeniedError, match="系统管理员"):
            restore.prepare_restore(db, saved, backup_folder=folder)
        event = recent(db, 1)[0]
        assert (event["action"], event["outcome"]) == ("restore", "refused")
    assert list(folder.iterdir()) == []
    use_principal(db, Principal("管理员", Role.ADMIN, account_id="y"))
    prepared = restore.prepare_restore(db, saved, backup_folder=folder)
    prepared.discard()
    db.close()


def test_swap_is_refused_while_another_connection_holds_the_file(office, folder, tmp_path):
    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    change_things(db)
    expected = live_rows(db)
    prepared = restore.prepare_restore(db, saved, backup_folder=folder)
    db.close()
    other = open_database(office)  # another window on the same file
    with pytest.raises(DatabaseError, match="另一个窗口或命令"):
        restore.swap_in(prepared)
    assert live_rows(other) == expected and not Path(f"{office}.part").exists()
    other.close()


def test_restore_on_a_full_disk_leaves_the_database_as_it_was(office, folder, tmp_path, monkeypatch):
    from app.models.core.safe_files import DiskFullError

    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    change_things(db)
    expected = live_rows(db)
    real_connect = sqlite3.connect

    def small(path, *a, **k):
        conn = real_connect(path, *a, **k)
        if str(path) == f"{office}.part":  # the file to swap in; the copy kept first fits
            conn.execute("PRAGMA max_page_count = 3")
        return conn

    monkeypatch.setattr(backup.sqlite3, "connect", small)
    with pytest.raises(DiskFullError, match="磁盘空间不足"):
        restore.prepare_restore(db, saved, backup_folder=folder)
    assert live_rows(db) == expected and not Path(f"{office}.part").exists()
    assert [b.kind for b in backup.list_backups([folder])] == [backup.PRE_RESTORE]  # it got that far
    db.close()


# -- the command line ------------------------------------------------------------------------------------
def anju(*args: str, user: str = "管理员", pw: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "ANJU_USER": user, "ANJU_PASSWORD_FILE": str(pw)}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def test_cli_restore_drill(office, tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text(DEMO_PASSWORD + "\n", encoding="utf-8")
    run = anju("backup", "--db", str(office), "--to", str(tmp_path), pw=pw)
    assert run.returncode == 0, run.stderr
    saved = next(tmp_path.glob("anju-备份-*.db"))
    unlock(saved, "管理员", DEMO_PASSWORD)  # the backup is encrypted; its keys file is beside it
    db = open_database(office)
    before = live_rows(open_database(saved, create=False, read_only=True))
    change_things(db)
    changed = live_rows(db)
    db.close()

    run = anju("restore", "--db", str(office), "--from", str(saved), user="工作人员", pw=pw)
    assert run.returncode == 2 and "系统管理员" in run.stderr
    run = anju("restore", "--db", str(office), "--from", str(saved), pw=pw)  # no terminal, no --yes
    assert run.returncode == 2 and "--yes" in run.stderr
    assert "户数：备份中 30，现在 28" in run.stdout
    db = open_database(office)
    assert live_rows(db) == changed
    db.close()

    run = anju("restore", "--db", str(office), "--from", str(saved), "--yes", pw=pw)
    assert run.returncode == 0, run.stderr
    assert "户数：备份中 30，现在 28（恢复后增加 2）" in run.stdout and "恢复前自动备份" in run.stdout
    db = open_database(office)
    assert live_rows(db) == before
    db.close()

    broken = tmp_path / "broken.db"
    broken.write_bytes(saved.read_bytes()[:8192])
    run = anju("restore", "--db", str(office), "--from", str(broken), "--yes", pw=pw)
    assert run.returncode == 2 and "不能用来恢复" in run.stderr


def test_a_damaged_current_file_is_kept_whole_and_replaced(office, folder, tmp_path):
    db = open_database(office)
    saved = backup.backup_to(db, tmp_path)
    expected = live_rows(db)
    db.close()
    data = bytearray(office.read_bytes())
    start = len(data) // 2 // 4096 * 4096  # a run of pages in the middle, as a failing disk leaves
    data[start: start + 64 * 1024] = random.Random(1).randbytes(64 * 1024)
    office.write_bytes(bytes(data))
    damaged = hashlib.sha256(bytes(data)).hexdigest()

    try:
        db = open_database(office)
    except DatabaseError:  # as anju restore does: a file too damaged to open for writing is read
        db = open_database(office, read_only=True, old_ok=True)
    restored, prepared = restore.restore_database(db, saved, backup_folder=folder)
    try:
        assert prepared.damaged and prepared.safety_copy.parent == office.parent
        assert prepared.safety_copy.name.endswith("-已损坏.db") and "恢复前自动备份" in prepared.safety_copy.name
        assert hashlib.sha256(prepared.safety_copy.read_bytes()).hexdigest() == damaged
        assert live_rows(restored) == expected
        assert recent(restored, 1)[0]["action"] == "restore"
    finally:
        restored.close()

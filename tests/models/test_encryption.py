"""Encryption at rest: no personal data in any file, logins that unwrap the key, recovery, conversion."""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from app.models.core import accounts, db_keys, encryption, unlock
from app.models.core import sqlite as sqlite3
from app.models.core.access import Role
from app.models.core.backup import backup_to
from app.models.core.db import open_database
from app.models.core.errors import DatabaseError
from app.models.core.rescue import rescue_database
from app.models.demo.demo import create_demo_database, generate

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = accounts.DEMO_PASSWORD


@pytest.fixture(autouse=True)
def _forget_keys():
    yield
    db_keys._UNLOCKED.clear()


def _password_file(tmp_path: Path, text: str = PASSWORD, name: str = "pw.txt") -> Path:
    f = tmp_path / name
    f.write_text(text + "\n", encoding="utf-8")
    return f


def _personal_needles(db) -> list[bytes]:
    needles: set[bytes] = set()
    for r in db.query("SELECT name, id_number, phone FROM person WHERE deleted = 0"):
        for value in r:
            if value and len(str(value)) >= 2:
                needles.add(str(value).encode("utf-8"))
    return sorted(needles)


def _found(path: Path, needles: list[bytes]) -> list[bytes]:
    data = path.read_bytes()
    return [n for n in needles if n in data]


def test_no_personal_data_in_database_wal_backup_or_rescue_copy(tmp_path):
    path = tmp_path / "demo.db"
    codes: list[str] = []
    create_demo_database(path, 12, seed=3, on_recovery_code=codes.append)
    assert codes and db_keys.is_encrypted_file(path)
    db = open_database(path, create=False)
    try:
        needles = _personal_needles(db)
        assert len(needles) > 50
        # A write still in the WAL (not checkpointed) is encrypted too.
        person = db.one("SELECT id FROM person LIMIT 1")["id"]
        with db.write() as tx:
            tx.update("person", person, {"phone": "13912345678"}, summary="改电话")
        needles.append(b"13912345678")
        wal = Path(f"{path}-wal")
        assert wal.exists() and wal.stat().st_size > 0
        assert _found(wal, needles) == []
        backup = backup_to(db, tmp_path / "backup.db")
    finally:
        db.close()
    rescued = tmp_path / "rescued.db"
    rescue_database(path, rescued)
    for f in (path, backup, rescued):
        assert f.stat().st_size > 100_000
        assert _found(f, needles) == [], f
        assert db_keys.is_encrypted_file(f)
    # The needles are really there once decrypted (the check above can fail).
    db = open_database(rescued, create=False)
    try:
        assert db.scalar("SELECT count(*) FROM person WHERE phone = '13912345678'") == 1
    finally:
        db.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("template") / "office.db"
    codes: list[str] = []
    create_demo_database(path, 5, seed=1, on_recovery_code=codes.append)
    return path, codes[0]


@pytest.fixture
def encrypted(template, tmp_path) -> Path:
    """A copy of the encrypted demo (file and keys file), as a new process sees it: nothing unlocked."""
    path = tmp_path / "office.db"
    shutil.copyfile(template[0], path)
    shutil.copyfile(db_keys.keys_path(template[0]), db_keys.keys_path(path))
    db_keys._UNLOCKED.clear()
    return path


def _snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in path.parent.iterdir()
            if p.name in {path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"}}


def test_wrong_password_is_refused_without_touching_the_file(encrypted, tmp_path):
    path = encrypted
    before = _snapshot(path)
    assert set(before) == {"office.db"}  # no -wal or -shm to begin with
    with pytest.raises(DatabaseError):
        open_database(path, create=False)  # no key: refused before SQLite reads it
    with pytest.raises(accounts.LoginError):
        unlock.login_encrypted(path, "管理员", "not-the-password")
    assert main(["stats", "--db", str(path), "--user", "管理员",
                 "--password-file", str(_password_file(tmp_path, "wrong-password"))]) == 2
    assert _snapshot(path) == before  # same bytes, same mtime, no WAL created
    assert db_keys.key_for(path) is None
    principal = unlock.login_encrypted(path, "管理员", PASSWORD)
    assert principal.role == Role.ADMIN


def test_lockout_counts_in_the_keys_file_and_reaches_the_audit_log(encrypted, tmp_path):
    path = encrypted
    for _ in range(accounts.LOCK_AFTER_FAILURES - 1):
        with pytest.raises(accounts.LoginError):
            unlock.unlock(path, "工作人员", "bad-password")
    with pytest.raises(accounts.AccountLockedError):
        unlock.unlock(path, "工作人员", "bad-password")
    with pytest.raises(accounts.AccountLockedError):  # even the right password while locked
        unlock.unlock(path, "工作人员", PASSWORD)
    unlock.login_encrypted(path, "管理员", PASSWORD)
    db = open_database(path, create=False)
    try:
        failed = db.scalar("SELECT count(*) FROM audit_events WHERE user = '工作人员' AND outcome <> 'ok'")
    finally:
        db.close()
    assert failed == accounts.LOCK_AFTER_FAILURES + 1
    assert db_keys.KeyFile.load(path).data["pending_events"] == []


def test_password_change_rewraps_and_disabling_removes_the_wrap(encrypted, tmp_path):
    path = encrypted
    unlock.unlock(path, "管理员", PASSWORD)
    db = open_database(path, create=False)
    try:
        accounts.login(db, "管理员", PASSWORD)
        clerk = accounts.account_by_name(db, "工作人员")
        accounts.set_password(db, clerk.id, "new-clerk-pass")
        leader = accounts.account_by_name(db, "领导")
        accounts.set_enabled(db, leader.id, False)
        accounts.add_account(db, "新同事", Role.CLERK, "colleague-pass")
    finally:
        db.close()
    keys = db_keys.KeyFile.load(path)
    assert keys.unlock_with_password("工作人员", PASSWORD) is None
    assert keys.unlock_with_password("工作人员", "new-clerk-pass") is not None
    assert keys.unlock_with_password("新同事", "colleague-pass") is not None
    assert "领导" not in {n for n, _ in keys.account_names()}
    assert stat.S_IMODE(os.stat(db_keys.keys_path(path)).st_mode) == 0o600


def test_recovery_code_opens_the_database_and_sets_an_admin_password(encrypted, template, tmp_path, capsys):
    path = encrypted
    codes = [template[1]]
    with pytest.raises(db_keys.WrongKeyError):
        unlock.unlock_with_recovery_code(path, "ACDE-" * 5 + "ACDE")
    code_file = _password_file(tmp_path, codes[0].lower().replace("-", " "), "code.txt")
    new_pw = _password_file(tmp_path, "brand-new-admin", "new.txt")
    assert main(["recover", "--db", str(path), "--code-file", str(code_file), "--new-password-file", str(new_pw)]) == 0
    db_keys._UNLOCKED.clear()
    assert unlock.login_encrypted(path, "管理员", "brand-new-admin").role == Role.ADMIN
    with pytest.raises(accounts.LoginError):
        unlock.unlock(path, "管理员", PASSWORD)


def test_backup_opens_with_the_passwords_of_its_day(encrypted, tmp_path):
    path = encrypted
    unlock.login_encrypted(path, "管理员", PASSWORD)
    db = open_database(path, create=False)
    try:
        accounts.login(db, "管理员", PASSWORD)
        backup = backup_to(db, tmp_path / "copy.db")
        accounts.set_password(db, accounts.account_by_name(db, "管理员").id, "changed-later",
                              old_password=PASSWORD)
    finally:
        db.close()
    db_keys._UNLOCKED.clear()
    assert unlock.login_encrypted(backup, "管理员", PASSWORD).role == Role.ADMIN
    assert stat.S_IMODE(os.stat(db_keys.keys_path(backup)).st_mode) == 0o600


def _plain_with_accounts(path: Path, households: int) -> dict[str, int]:
    db = open_database(path)
    try:
        generate(db, households, seed=2)  # the demo generator writes accounts too
        counts = {t: db.scalar(f'SELECT count(*) FROM "{t}"') for t in ("person", "household", "change_log")}
    finally:
        db.close()
    assert not db_keys.is_encrypted_file(path) and encryption.plain_with_accounts(path)
    return counts


def test_conversion_encrypts_verifies_and_removes_the_plain_file(tmp_path, capsys):
    path = tmp_path / "office.db"
    counts = _plain_with_accounts(path, 8)
    pw = _password_file(tmp_path)
    assert main(["stats", "--db", str(path), "--user", "工作人员", "--password-file", str(pw)]) == 0
    assert not db_keys.is_encrypted_file(path)  # only an administrator's login converts
    assert main(["stats", "--db", str(path), "--user", "管理员", "--password-file", str(pw)]) == 0
    out = capsys.readouterr().out
    assert "恢复码 / recovery code:" in out
    assert db_keys.is_encrypted_file(path)
    assert not (tmp_path / f"office.db{encryption.CONVERT_SUFFIX}").exists()
    for suffix in ("", db_keys.KEYS_SUFFIX):
        assert stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode) == 0o600
    db_keys._UNLOCKED.clear()
    unlock.login_encrypted(path, "楼栋长1", PASSWORD)  # every account got its wrap from its stored hash
    db = open_database(path, create=False)
    try:
        assert {t: db.scalar(f'SELECT count(*) FROM "{t}"') for t in counts} == counts
    finally:
        db.close()


_CONVERT = """
import sys
from app.models.core.encryption import convert_to_encrypted
convert_to_encrypted(sys.argv[1], lambda d, t, s: print(d, flush=True))
"""


@pytest.mark.slow
def test_conversion_killed_at_random_points_leaves_a_usable_file(tmp_path):
    template = tmp_path / "template.db"
    counts = _plain_with_accounts(template, 30)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(17)
    # How long an unkilled conversion takes, to spread the kills over it.
    probe = tmp_path / "probe.db"
    probe.write_bytes(template.read_bytes())
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CONVERT, str(probe)], env=env, check=True, capture_output=True)
    whole = time.perf_counter() - started
    outcomes = set()
    for i in range(6):
        path = tmp_path / f"kill{i}.db"
        path.write_bytes(template.read_bytes())
        proc = subprocess.Popen([sys.executable, "-c", _CONVERT, str(path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, whole * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        db_keys._UNLOCKED.clear()
        if db_keys.is_encrypted_file(path):
            outcomes.add("encrypted")
            unlock.unlock(path, "管理员", PASSWORD)
        else:
            outcomes.add("plain")
            assert path.read_bytes()[:16] == b"SQLite format 3\x00"
        db = open_database(path, create=False)
        try:
            assert db.scalar("PRAGMA quick_check") == "ok"
            assert {t: db.scalar(f'SELECT count(*) FROM "{t}"') for t in counts} == counts
        finally:
            db.close()
        if "plain" in outcomes and db_keys.is_encrypted_file(path) is False:
            # A later start converts the file that survived the kill.
            encryption.convert_to_encrypted(path)
            assert db_keys.is_encrypted_file(path)
    assert "plain" in outcomes


def test_a_plain_database_without_accounts_stays_plain(tmp_path, capsys):
    path = tmp_path / "single.db"
    open_database(path).close()
    assert main(["stats", "--db", str(path)]) == 0
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_first_admin_on_the_command_line_encrypts_the_new_file(tmp_path, capsys):
    path = tmp_path / "new.db"
    pw = _password_file(tmp_path, "first-admin-pw")
    assert main(["user", "add", "--db", str(path), "--name", "站长", "--role", "admin",
                 "--new-password-file", str(pw)]) == 0
    assert "recovery code" in capsys.readouterr().out
    assert db_keys.is_encrypted_file(path)
    db_keys._UNLOCKED.clear()
    assert main(["stats", "--db", str(path), "--user", "站长", "--password-file", str(pw)]) == 0


def test_a_keys_file_of_another_database_is_refused_without_writing(encrypted, tmp_path):
    one = encrypted
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = other_dir / "office.db"
    create_demo_database(other, 2, seed=5)
    db_keys._UNLOCKED.clear()
    key = unlock.unlock(other, "管理员", PASSWORD)
    before = _snapshot(one)
    with pytest.raises(DatabaseError, match="钥匙文件"):
        open_database(one, create=False, key=key)
    assert _snapshot(one) == before


def test_driver_reads_an_encrypted_file_only_with_its_key(encrypted, tmp_path):
    path = encrypted
    conn = sqlite3.connect(str(path))
    try:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    finally:
        conn.close()


def test_the_whole_file_check_reads_through_a_small_cache(encrypted, monkeypatch):
    """The window's background check reads every page once on a connection of its own: an encrypted
    file's 64 MB cache would only add to the window's peak memory (about 64 MB at 100,000 residents)."""
    from app.models.core import db as db_module

    seen: list[int] = []
    real = db_module.verify_health
    monkeypatch.setattr(db_module, "verify_health", lambda conn, path: (
        seen.append(conn.execute("PRAGMA cache_size").fetchone()[0]), real(conn, path)))
    unlock.login_encrypted(encrypted, "管理员", PASSWORD)
    db = open_database(encrypted, create=False, read_only=True)
    try:
        assert db.scalar("PRAGMA cache_size") == -db_module.ENCRYPTED_CACHE_KIB
        db_module.verify_whole_file(db)
    finally:
        db.close()
    assert seen == [-db_module.WHOLE_FILE_CHECK_CACHE_KIB]


def test_first_write_reads_the_whole_file_only_when_it_is_plain(encrypted, tmp_path, monkeypatch):
    """SQLCipher authenticates each page as it is read: the encrypted file's first write does not
    decrypt every page first (that made a cold start take a minute at 100,000 residents)."""
    from app.models.core import db as db_module

    checked: list[Path] = []
    real = db_module.verify_health
    monkeypatch.setattr(db_module, "verify_health", lambda conn, path: (checked.append(path), real(conn, path)))
    unlock.login_encrypted(encrypted, "管理员", PASSWORD)
    db = open_database(encrypted, user="管理员")
    with db.write() as tx:
        tx.insert("community", {"name": "新社区"})
    db.close()
    assert encrypted not in checked
    plain = open_database(tmp_path / "plain.db", user="测试员")
    plain.close()
    plain = open_database(tmp_path / "plain.db", user="测试员")
    with plain.write() as tx:
        tx.insert("community", {"name": "明文社区"})
    plain.close()
    assert tmp_path / "plain.db" in checked

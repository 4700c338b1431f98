"""Encryption at rest: keeping the key's wraps current, new encrypted files, and converting a plain
database that has accounts (logging in and recovery are in app/models/unlock.py).

A database with accounts is encrypted (SQLCipher 4, the data key of app/models/db_keys.py); one
without accounts stays plain. See db_keys for how the key is wrapped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal, Role
from app.models.core.db import Database, _q, damaged_message, is_damage_error
from app.models.core.db_keys import (
    AccountSecret,
    KeyFile,
    LockedDatabaseError,
    WrongKeyError,
    is_encrypted_file,
    key_for,
    keys_path,
    new_data_key,
    new_recovery_code,
    remember_key,
)
from app.models.core.errors import DamagedDatabaseError, DatabaseError

Progress = Callable[[int, int, str], None]
META_KEYS = "db_keys"  # the wraps kept inside the database, so a copy of the file carries them
CONVERT_SUFFIX = ".encrypting"
# Progress units: the copy is the first half, the row-by-row comparison most of the rest.
_COPY_UNITS, _VERIFY_UNITS, _TOTAL_UNITS = 50, 45, 100
# VM steps SQLite runs per page while exporting (measured at 100,000 residents), for the bar only.
_STEPS_PER_PAGE = 120


# -- accounts and wraps -----------------------------------------------------------------------------
def account_secrets(conn: sqlite3.Connection) -> list[AccountSecret]:
    """Every enabled account with its password hash: the accounts that may unlock the file."""
    rows = conn.execute(
        "SELECT id, name, role, password_hash FROM main.account WHERE deleted = 0 AND enabled = 1 ORDER BY id"
    ).fetchall()
    return [AccountSecret(r[0], r[1], r[2], r[3]) for r in rows if r[3]]


def refresh_wraps(db: Database) -> None:
    """Wrap the key for exactly the enabled accounts of an unlocked, writable file.

    Called after every account change and every login: an account added or re-enabled here, a
    password changed here or arriving by sync gets its wrap; a disabled or deleted one loses it.
    """
    if db.key is None or db.read_only:
        return
    keys = KeyFile.load(db.path) or KeyFile.new(db.path)
    changed = keys.set_accounts(account_secrets(db.conn), db.key)
    inside = json.dumps(keys.portable(), ensure_ascii=False, sort_keys=True)
    if changed or not keys.path.exists():
        keys.save()
    if db.meta(META_KEYS) != inside:
        db.set_meta(META_KEYS, inside)


# -- new encrypted files --------------------------------------------------------------------------
def start_encrypted(db_path: str | Path, key_file_for: str | Path | None = None) -> tuple[bytes, str]:
    """A key and recovery code for a new encrypted file at `db_path` (demo, first administrator).

    The keys file is written for `key_file_for` (the final name of a file built under a temporary
    one); the accounts' wraps are added once they exist (:func:`refresh_wraps`)."""
    key, code = new_data_key(), new_recovery_code()
    keys = KeyFile.new(key_file_for or db_path)
    keys.set_recovery(code, key)
    keys.save()
    remember_key(db_path, key)
    if key_file_for is not None:
        remember_key(key_file_for, key)
    return key, code


# -- conversion of a plain file -------------------------------------------------------------------
def plain_with_accounts(db_path: str | Path) -> bool:
    """Whether `db_path` is a plain file that has accounts, so must be converted."""
    path = Path(db_path)
    if not sqlite3.ENCRYPTION_AVAILABLE or not path.exists() or is_encrypted_file(path):
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM account WHERE deleted = 0 LIMIT 1").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _tables(conn: sqlite3.Connection, schema: str = "main") -> list[tuple[str, bool]]:
    """(name, has rowid) of every ordinary table, FTS5's own storage tables included."""
    rows = conn.execute(
        f"SELECT name, sql FROM {schema}.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    ).fetchall()
    return [(r[0], "WITHOUT ROWID" not in (r[1] or "").upper()) for r in rows]


def table_digest(conn: sqlite3.Connection, table: str, has_rowid: bool,
                 step: Callable[[int], None] | None = None) -> tuple[int, str]:
    """(rows, SHA-256 over every row in storage order): what must be equal in both copies."""
    digest = hashlib.sha256()
    count = 0
    order = " ORDER BY rowid" if has_rowid else ""
    cur = conn.execute(f"SELECT * FROM main.{_q(table)}{order}")
    while True:
        rows = cur.fetchmany(4096)
        if not rows:
            break
        count += len(rows)
        digest.update(repr([tuple(r) for r in rows]).encode("utf-8"))
        if step is not None:
            step(len(rows))
    return count, digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_with_companions(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def convert_to_encrypted(db_path: str | Path, progress: Progress | None = None) -> str:
    """Encrypt a plain database in place; returns the new recovery code (to be printed once).

    An encrypted copy is written beside the file, compared with it table by table (row count and
    a hash of every row), and only then renamed over it; the plain file's -wal and -shm go last.
    A failure or a kill at any point before the rename leaves the plain file as it was (the copy
    is removed on the next try); after the rename the encrypted file and its keys file are complete.
    The caller has closed every connection to the file.
    """
    path = Path(db_path)
    report = progress or (lambda _d, _t, _s: None)
    if is_encrypted_file(path):
        raise DatabaseError(f"“{path.name}”已经是加密的数据库。")
    part = path.with_name(path.name + CONVERT_SUFFIX)
    _remove_with_companions(part)
    key, code = new_data_key(), new_recovery_code()
    report(0, _TOTAL_UNITS, "正在写入加密副本……")
    src = sqlite3.connect(str(path), isolation_level=None)
    try:
        try:
            src.execute("PRAGMA busy_timeout = 5000")
            # Rows still in the -wal go into the file first, so the copy and the comparison see them all
            # (the content of the plain file does not change).
            src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            version = src.execute("PRAGMA user_version").fetchone()[0]
            pages = src.execute("PRAGMA page_count").fetchone()[0]
            src.execute(f"ATTACH DATABASE ? AS enc KEY \"x'{key.hex()}'\"", (str(part),))
            src.execute("PRAGMA enc.journal_mode = OFF")  # a new file: a kill leaves only a file we delete
            src.execute("PRAGMA enc.synchronous = OFF")  # fsynced once, below, before it is used
            steps = [0]

            def on_step() -> int:
                steps[0] += 1
                done = min(_COPY_UNITS - 1, steps[0] * 10_000 * _COPY_UNITS // max(1, pages * _STEPS_PER_PAGE))
                report(done, _TOTAL_UNITS, "正在写入加密副本……")
                return 0

            src.set_progress_handler(on_step, 10_000)
            src.execute("BEGIN")  # one snapshot for the copy
            src.execute("SELECT sqlcipher_export('enc')")
            src.execute("COMMIT")
            src.set_progress_handler(None, 0)
            src.execute(f"PRAGMA enc.user_version = {int(version)}")
            src.execute("DETACH DATABASE enc")
            report(_COPY_UNITS, _TOTAL_UNITS, "正在逐表核对加密副本……")
            secrets_ = account_secrets(src)
            _verify_copy(src, part, key, lambda d: report(d, _TOTAL_UNITS, "正在逐表核对加密副本……"))
        except sqlite3.Error as exc:
            if is_damage_error(exc):
                raise DamagedDatabaseError(damaged_message(path, str(exc))) from exc
            raise DatabaseError(f"无法加密数据库“{path.name}”：{exc}。原文件未作任何改动。") from exc
        keys = KeyFile.new(path)
        keys.set_recovery(code, key)
        keys.set_accounts(secrets_, key)
        enc = sqlite3.connect(str(part), isolation_level=None)
        try:
            sqlite3.apply_key(enc, key)
            enc.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                        (META_KEYS, json.dumps(keys.portable(), ensure_ascii=False, sort_keys=True)))
            enc.execute("PRAGMA journal_mode = WAL")
        finally:
            enc.close()
        _fsync(part)
        os.chmod(part, 0o600)
        report(_COPY_UNITS + _VERIFY_UNITS, _TOTAL_UNITS, "正在替换原文件……")
        keys.save()  # beside the plain file it is ignored; after the rename it opens the new one
    except BaseException:
        src.close()
        _remove_with_companions(part)
        raise
    src.close()
    os.replace(part, path)
    _fsync_dir(path.parent)
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        side.unlink(missing_ok=True)
    remember_key(path, key)
    report(_TOTAL_UNITS, _TOTAL_UNITS, "加密完成")
    return code


def _verify_copy(src: sqlite3.Connection, part: Path, key: bytes, step: Callable[[int], None]) -> None:
    """The encrypted copy holds exactly the plain file's rows: per table, the count and a hash."""
    enc = sqlite3.connect(f"{part.resolve().as_uri()}?mode=ro", uri=True)
    try:
        sqlite3.apply_key(enc, key)
        tables = _tables(src)
        if [t for t, _ in _tables(enc)] != [t for t, _ in tables]:
            raise DatabaseError("加密副本的表与原文件不一致，已放弃加密。原文件未作任何改动。")
        if enc.execute("PRAGMA user_version").fetchone()[0] != src.execute("PRAGMA user_version").fetchone()[0]:
            raise DatabaseError("加密副本的数据结构版本与原文件不一致，已放弃加密。原文件未作任何改动。")
        total = sum(src.execute(f"SELECT count(*) FROM main.{_q(t)}").fetchone()[0] for t, _ in tables) or 1
        seen = [0]

        def tick(n: int) -> None:
            seen[0] += n
            step(_COPY_UNITS + seen[0] * _VERIFY_UNITS // (2 * total))

        for table, has_rowid in tables:
            if table_digest(src, table, has_rowid, tick) != table_digest(enc, table, has_rowid, tick):
                raise DatabaseError(f"加密副本的“{table}”表与原文件不一致，已放弃加密。原文件未作任何改动。")
    finally:
        enc.close()


def ensure_encrypted(db_path: str | Path, principal: Principal | None,
                     progress: Progress | None = None) -> str | None:
    """Convert a plain file that has accounts when an administrator has logged in; the recovery
    code when it was converted (to be shown and printed once), else None."""
    if principal is None or principal.role != Role.ADMIN or not plain_with_accounts(db_path):
        return None
    return convert_to_encrypted(db_path, progress)


def is_locked(db_path: str | Path) -> bool:
    """An encrypted file whose key this process has not unlocked yet."""
    return is_encrypted_file(db_path) and keys_path(db_path).exists() and key_for(db_path) is None


__all__ = ["LockedDatabaseError", "WrongKeyError"]

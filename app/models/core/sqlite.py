"""The one SQLite driver every module uses: SQLCipher 4 (plain SQLite when no key is given).

Modules import this instead of ``sqlite3`` so that the exception classes they catch (``Error``,
``DatabaseError``, ``OperationalError``, ``IntegrityError``), ``Row`` and ``Connection`` are the
driver's own: a stdlib ``sqlite3.Error`` would never match what an SQLCipher connection raises.
A test refuses any other ``import sqlite3`` under app/.
"""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING

try:  # SQLCipher 4 built into the wheel; without a key it reads and writes plain SQLite files
    from sqlcipher3 import dbapi2 as _driver

    ENCRYPTION_AVAILABLE = True
except ImportError:  # pragma: no cover - a build without the wheel still opens plain files
    import sqlite3 as _driver  # the one permitted import of the stdlib module

    ENCRYPTION_AVAILABLE = False

if TYPE_CHECKING:  # sqlcipher3 ships no type stubs; its DB-API is the stdlib module's, type for type
    from sqlite3 import (
        Connection,
        Cursor,
        DatabaseError,
        Error,
        IntegrityError,
        InterfaceError,
        OperationalError,
        ProgrammingError,
        Row,
        complete_statement,
        connect,
        sqlite_version,
    )
else:
    connect = _driver.connect
    Connection = _driver.Connection
    Cursor = _driver.Cursor
    Row = _driver.Row
    Error = _driver.Error
    DatabaseError = _driver.DatabaseError
    OperationalError = _driver.OperationalError
    IntegrityError = _driver.IntegrityError
    ProgrammingError = _driver.ProgrammingError
    InterfaceError = _driver.InterfaceError
    complete_statement = _driver.complete_statement
    sqlite_version = _driver.sqlite_version

KEY_BYTES = 32


def apply_key(conn: Connection, key: bytes) -> None:
    """Key a fresh connection before its first read: a raw 256-bit key (no PBKDF2 on every open)."""
    if not ENCRYPTION_AVAILABLE:
        raise RuntimeError("SQLCipher is not installed")
    if len(key) != KEY_BYTES:
        raise ValueError("the database key is 32 bytes")
    conn.execute(f"PRAGMA key = \"x'{binascii.hexlify(key).decode('ascii')}'\"")


def cipher_version() -> str | None:
    """SQLCipher's version, or None when the driver is plain SQLite."""
    if not ENCRYPTION_AVAILABLE:
        return None
    conn = connect(":memory:")
    try:
        row = conn.execute("PRAGMA cipher_version").fetchone()
        return row[0] if row else None
    finally:
        conn.close()

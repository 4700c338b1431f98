"""Numbered, forward-only schema steps: ``mNNNN_<what>.py`` modules, each with ``up(conn)``.

A step may only add: new tables, new nullable (or defaulted) columns, indexes, and data
back-fills. ``PRAGMA user_version`` holds the number of the last step applied.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

from app.models.core import sqlite as sqlite3
from app.models.core.logs import step
from app.models.core.schema import refresh_change_triggers

_NAME = re.compile(r"^m(\d{4})_\w+$")


def steps() -> list[tuple[int, ModuleType]]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        m = _NAME.match(info.name)
        if m:
            found.append((int(m.group(1)), importlib.import_module(f"{__name__}.{info.name}")))
    found.sort(key=lambda s: s[0])
    numbers = [n for n, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


def latest_version() -> int:
    found = steps()
    return found[-1][0] if found else 0


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every step above the file's version, each in its own transaction."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    pending = [(number, module) for number, module in steps() if number > current]
    if not pending:
        return
    with step("migration", from_version=current, to_version=pending[-1][0]):
        for number, module in pending:
            conn.execute("BEGIN IMMEDIATE")
            try:
                module.up(conn)
                refresh_change_triggers(conn)
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

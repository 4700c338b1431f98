"""Schema step for mediation (filled in by that feature; empty until it needs a change)."""

from __future__ import annotations

import sqlite3


def up(conn: sqlite3.Connection) -> None:
    pass

"""Schema step for change-log compaction: what each other PC had seen when it last wrote a bundle."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

SQL = """
-- Local: per other PC, the highest seq of each site it held when it wrote its newest bundle we
-- applied (the bundle header's "seen" vector). Compaction may fold an op away only once every
-- known PC has seen it.
CREATE TABLE sync_peer (
    site_id TEXT NOT NULL, seen_site TEXT NOT NULL, seen_seq INTEGER NOT NULL,
    PRIMARY KEY (site_id, seen_site)
) WITHOUT ROWID;
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

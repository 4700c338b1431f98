"""Schema step for sync: causal knowledge per PC, bundles seen, conflict queue, review decisions, roll-up."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import run_script

SQL = """
-- What a PC had seen when it made its ops: ops of `site_id` with seq > after_seq were made after
-- that PC had applied every op of `seen_site` up to seen_seq. Immutable facts, carried in every
-- bundle, so every PC can decide alike whether two edits were concurrent.
CREATE TABLE sync_knowledge (
    site_id TEXT NOT NULL, after_seq INTEGER NOT NULL, seen_site TEXT NOT NULL, seen_seq INTEGER NOT NULL,
    PRIMARY KEY (site_id, seen_site, after_seq)
) WITHOUT ROWID;

-- Bundles this PC wrote or applied (local): lets the exporter skip ops already on the stick.
CREATE TABLE sync_bundle (
    bundle_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    file_name TEXT NOT NULL, size INTEGER NOT NULL,
    sender TEXT NOT NULL, sender_user TEXT, sender_pc TEXT,
    created TEXT, done_at TEXT NOT NULL,
    op_count INTEGER NOT NULL, ranges TEXT NOT NULL
);

-- Two concurrent edits of one key field (local, derived alike on every PC from the ops).
CREATE TABLE sync_conflict (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT NOT NULL,
    lo_site TEXT NOT NULL, lo_seq INTEGER NOT NULL,
    hi_site TEXT NOT NULL, hi_seq INTEGER NOT NULL,
    detected_at TEXT NOT NULL,
    UNIQUE (tbl, row_id, col, lo_site, lo_seq, hi_site, hi_seq)
);
CREATE INDEX sync_conflict_row ON sync_conflict(tbl, row_id, col);

-- Rows whose remote ops are stored but not yet written (their insert or a referenced row is missing).
CREATE TABLE sync_pending (tbl TEXT NOT NULL, row_id TEXT NOT NULL, PRIMARY KEY (tbl, row_id)) WITHOUT ROWID;

-- A clerk's review decision that is not itself a field edit ("these two are different people");
-- synced like any record so the other PCs stop asking.
CREATE TABLE sync_review (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, decision TEXT NOT NULL,
    decided_by TEXT, decided_at TEXT, deleted INTEGER NOT NULL DEFAULT 0
);

-- Roll-up databases (street office, county): which communities they hold; households' community.
CREATE TABLE rollup_source (
    community_id TEXT PRIMARY KEY, name TEXT, source TEXT NOT NULL, imported_at TEXT NOT NULL,
    households INTEGER NOT NULL DEFAULT 0, persons INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE rollup_household (
    household_id TEXT PRIMARY KEY, community_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX rollup_household_community ON rollup_household(community_id);

-- A roll-up is read-only: every write path starts by inserting write_ctx, so refusing it here
-- refuses every edit (the roll-up itself writes with mode 'rollup').
CREATE TRIGGER write_ctx_read_only BEFORE INSERT ON write_ctx
WHEN NEW.mode <> 'rollup' AND EXISTS (SELECT 1 FROM meta WHERE key = 'read_only' AND value = '1')
BEGIN SELECT RAISE(ABORT, 'anju: 这是汇总数据库（只读），不能修改。'); END;
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

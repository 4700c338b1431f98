"""Schema step for accounts: who may log in (synced, hashes only), their buildings, lockouts, the event audit."""

from __future__ import annotations

from app.models.core import sqlite as sqlite3
from app.models.migrations.m0001_initial import FK, run_script

SQL = f"""
-- Login accounts, synced between the office PCs like any record so a building head can log in on
-- any of them. Only a salted scrypt hash of the password is stored (see app/models/core/passwords.py).
-- Not app_user: that older table lists staff (names, phones) and has no passwords; its rows are
-- not accounts, so a database that only has them still counts as one without accounts.
CREATE TABLE account (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin','clerk','building_head','auditor','viewer')),
    password_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_name ON account(name);

-- The buildings a building head looks after (a link row each, so two PCs can add buildings to
-- one account and both links survive the merge).
CREATE TABLE account_building (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account(id) {FK},
    building_id TEXT NOT NULL REFERENCES building(id) {FK},
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_building_account ON account_building(account_id);
CREATE INDEX account_building_building ON account_building(building_id);

-- Failed logins per account on this PC (local: the lockout protects this keyboard).
CREATE TABLE login_state (
    account_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
) WITHOUT ROWID;

-- Events that are not row changes (logins, locks, account changes, exports, prints, reveals …),
-- local to this PC, append-only, each entry chained to the one before by its hash
-- (app/models/core/audit_events.py) so that editing or removing one is evident.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT,
    site_id TEXT,
    action TEXT NOT NULL,
    detail TEXT,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_user ON audit_events(user, at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'anju: 操作日志不能修改。'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'anju: 操作日志不能删除。'); END;
"""


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)

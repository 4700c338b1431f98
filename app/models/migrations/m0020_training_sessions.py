"""Training sessions (课次) and per-session attendance (出勤).

A course is held in sessions (a date, hours, optionally a time, topic and place); who was there is
ticked per session in ``training_presence``: one row per (session, attendance), ``present`` 1 or 0.
A participant stays on the course (``training_attendance``) even when absent from a session.

Upgrade: every existing course becomes one session spanning its dates with its hours, and every
participant is present at it, so person-times and figures stay what they were. The rows have ids
derived from the course and attendance ids, so two PCs upgrading apart make the very same rows,
and their insert ops are logged at the lowest clock: they travel to a PC that never had the old
data (a fresh install's first sync), and any real edit made anywhere after an upgrade wins over
them, whatever the order in which the PCs were upgraded.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from app.models.core import sqlite as sqlite3
from app.models.core.schema import refresh_change_triggers
from app.models.core.site import claim_identity
from app.models.migrations.m0001_initial import FK, run_script

# Ids of sessions and presence rows made from existing data: the same on every PC.
NAMESPACE = uuid.UUID("5b0f2f4e-7a43-4c55-9d0b-2f7d8f3a6c11")
# Ops of the upgrade carry the lowest clock: any edit made after an upgrade, on any PC, wins.
UPGRADE_HLC = "0000000000000-00000"

SQL = f"""
CREATE TABLE training_session (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES training_course(id) {FK},
    session_date TEXT NOT NULL,
    end_date TEXT,              -- only for a session spanning several days (a course entered as a whole)
    start_time TEXT,            -- "09:00", optional
    hours REAL,
    topic TEXT, place TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX training_session_course ON training_session(course_id, session_date);
CREATE INDEX training_session_date ON training_session(session_date);
CREATE TABLE training_presence (
    id TEXT PRIMARY KEY,        -- derived from (session, attendance): two PCs ticking one box make one row
    session_id TEXT NOT NULL REFERENCES training_session(id) {FK},
    attendance_id TEXT NOT NULL REFERENCES training_attendance(id) {FK},
    present INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX training_presence_session ON training_presence(session_id, attendance_id, present);
CREATE INDEX training_presence_attendance ON training_presence(attendance_id, present, session_id);
"""


def whole_course_session_id(course_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"training_session/{course_id}"))


def presence_id(session_id: str, attendance_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"training_presence/{session_id}/{attendance_id}"))


def up(conn: sqlite3.Connection) -> None:
    run_script(conn, SQL)
    courses = conn.execute("SELECT id, start_date, end_date, hours FROM training_course").fetchall()
    if not courses:
        return
    site = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()
    logged = site is not None
    if logged:
        refresh_change_triggers(conn)  # so the rows below are logged like any write
        site_id = site[0]
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        if path:
            # A copied file upgrades under its own identity, never under the original PC's.
            site_id = claim_identity(conn, Path(path))
        read_only = conn.execute("SELECT 1 FROM meta WHERE key = 'read_only' AND value = '1'").fetchone()
        conn.execute("INSERT INTO write_ctx(id, site_id, hlc, user, mode) VALUES (1, ?, ?, ?, ?)",
                     (site_id, UPGRADE_HLC, "升级", "rollup" if read_only else "local"))
    try:
        sessions = []
        for course_id, start, end, hours in courses:
            if not start:
                continue  # every course has a start date (validated); an odd row keeps no session
            sessions.append((whole_course_session_id(course_id), course_id, start[:10],
                             end[:10] if end and end[:10] > start[:10] else None, hours))
        conn.executemany(
            "INSERT INTO training_session(id, course_id, session_date, end_date, hours) VALUES (?, ?, ?, ?, ?)",
            sessions)
        rows = conn.execute(
            "SELECT s.id, a.id FROM training_attendance a JOIN training_session s ON s.course_id = a.course_id"
        ).fetchall()
        conn.executemany(
            "INSERT INTO training_presence(id, session_id, attendance_id, present) VALUES (?, ?, ?, 1)",
            [(presence_id(sid, aid), sid, aid) for sid, aid in rows])
    finally:
        if logged:
            conn.execute("DELETE FROM write_ctx")

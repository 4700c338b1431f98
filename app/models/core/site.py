"""Which PC (site) this database file writes as: one site id per file, renewed when the file is copied.

Every op carries its site id; two PCs writing under one id would break sync. A file copied or
moved to another place gets a new id before its first write (:func:`claim_identity`).
"""

from __future__ import annotations

import os
from pathlib import Path

from app.models.core import sqlite as sqlite3
from app.models.core.schema import new_id


def _marker(path: Path, inode_of: Path) -> str:
    """`path` (resolved) and the inode of the file at `inode_of`: what identifies this file here."""
    return f"{os.path.normcase(os.path.realpath(path))}|{os.stat(os.path.realpath(inode_of)).st_ino}"


def _file_marker(path: Path) -> str | None:
    try:
        return _marker(path, path)
    except OSError:
        return None


def claim_path_before_rename(conn: sqlite3.Connection, built: Path, final: Path) -> None:
    """A file built under a temporary name is this site's file at `final` once renamed there (a
    rename keeps the inode): a copy taken before its first write there still gets a new site id."""
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_file', ?)", (_marker(final, built),))


def claim_identity(conn: sqlite3.Connection, path: Path) -> str:
    """This file's site id; a file copied or moved (path or inode changed) gets a new one first.

    Called by Database.write() inside its transaction before the first write of a connection, so
    two PCs never make ops under one site id. The new site is born having seen everything the
    file holds, recorded as knowledge so its edits are not mistaken for concurrent ones.
    """
    site = conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()[0]
    marker = _file_marker(path)
    if marker is None:
        return site
    old = conn.execute("SELECT value FROM meta WHERE key = 'site_file'").fetchone()
    if old is None or old[0] == marker:
        if old is None:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_file', ?)", (marker,))
        return site
    have = have_vector(conn, site)
    new = new_id()
    if have.get(site):
        conn.execute("INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)", (site, have[site]))
    conn.executemany(
        "INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) VALUES (?, 0, ?, ?)",
        [(new, s, m) for s, m in have.items() if m > 0],
    )
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_id', ?)", (new,))
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_file', ?)", (marker,))
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_previous', ?)", (site,))
    return new


def have_vector(conn: sqlite3.Connection, local_site: str) -> dict[str, int]:
    """Per site, the highest seq up to which this PC holds every op."""
    have = {r[0]: r[1] for r in conn.execute("SELECT site_id, max_seq FROM sync_state")}
    mine = conn.execute("SELECT max(seq) FROM change_log WHERE site_id = ?", (local_site,)).fetchone()[0]
    if mine:
        have[local_site] = max(have.get(local_site, 0), mine)
    return have

"""Change-log compaction: ops every known PC already holds are folded into the rows they made.

An op is *stable* once each PC this one knows of has seen it and this PC holds every op that PC
made before seeing it: no op concurrent with it can still arrive from a known PC, and any later
op was made after seeing it, so its hybrid clock is higher (importing raises the clock above
every op taken). A stable op superseded on its column by a later op goes at once (the fold is
the same without it). So does a stable insert op of a row with a random id: no PC can edit a row
before it has received the op that made it, so no edit can ever be concurrent with that op
(rows whose id two PCs derive alike, such as a training presence, keep theirs until the
horizon). A row whose ops are all stable and older than the horizon loses them all:
"no op" then folds as the lowest clock. Rows with a conflict to review and rows waiting for a
missing record keep their ops. ``audit_log`` and ``audit_events`` are never touched, so the
row history and anything built on old and new values there keep working.

A PC that joins later (or one whose seen vector predates compacted ops) gets a snapshot of the
rows instead of their history (see ``sync.export_to_folder``). Compaction runs after the sync
button's import (``sync_with_folder``), after ``anju sync-import``, after demo generation and
with ``anju check --compact``; never on the UI thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.models.core import sqlite as sqlite3
from app.models.core.hlc import Hlc, wall_ms
from app.models.core.site import have_vector
from app.models.core.undo import HISTORY_ROWS

# VACUUM (it rewrites the file) only when at least this much and this share of the file is free,
VACUUM_MIN_BYTES = 4 << 20
VACUUM_MIN_SHARE = 0.05
# or when the file has grown by this share since it was last rewritten: edits split pages and
# leave them part empty without freeing any, which only a rewrite gives back. About a month's
# growth at 100,000 residents; rewriting 250 MB takes about 5 s of CPU on the sync worker.
VACUUM_GROWTH = 0.05
# How long a row's last ops stay after every known PC has them (see compact()).
HORIZON_MS = 30 * 24 * 3600 * 1000
# A random (version 4) UUID as SQL sees it: only the PC that drew it can insert a row with it.
_RANDOM_ID = "length(c.row_id) = 36 AND substr(c.row_id, 15, 1) = '4'"


@dataclass
class CompactReport:
    removed: int = 0
    kept: int = 0
    vacuumed: bool = False
    removed_steps: int = 0
    size_before: int = 0
    size_after: int = 0


def known_peers(conn: sqlite3.Connection, local: str) -> dict[str, dict[str, int] | None]:
    """Every other PC whose edits may still arrive, with what it is known to have seen (None: ask
    sync_peer). Authors of ops held and PCs that sent bundles or knowledge are real peers.

    An identity a copied or moved file left behind (the knowledge its successor was born with,
    ``after_seq = 0``) that never sent a bundle may have other, unknown copies: it stands for them
    as a virtual peer that has seen exactly what the copy was born with, so nothing newer is folded
    away under an edit such a copy may still send. Once it sends a bundle it is a real peer.
    """
    sites: set[str] = set()
    for sql in ("SELECT site_id FROM sync_state", "SELECT DISTINCT site_id FROM sync_knowledge",
                "SELECT DISTINCT seen_site FROM sync_knowledge WHERE after_seq > 0",
                "SELECT DISTINCT sender FROM sync_bundle WHERE direction = 'in'",
                "SELECT DISTINCT site_id FROM sync_peer"):
        sites.update(r[0] for r in conn.execute(sql))
    heard = {r[0] for r in conn.execute("SELECT DISTINCT site_id FROM sync_peer")}
    heard.update(r[0] for r in conn.execute("SELECT DISTINCT sender FROM sync_bundle WHERE direction = 'in'"))
    heard.update(r[0] for r in conn.execute("SELECT DISTINCT site_id FROM sync_knowledge WHERE after_seq > 0"))
    births: dict[str, dict[str, int]] = {}
    for d, s, n in conn.execute("SELECT site_id, seen_site, seen_seq FROM sync_knowledge WHERE after_seq = 0"):
        births.setdefault(d, {})[s] = n
    peers: dict[str, dict[str, int] | None] = {}
    for vector in births.values():
        for left in set(vector) - heard - {local}:
            sites.discard(left)
            old = peers.get(left)
            peers[left] = vector if old is None else {s: min(n, vector.get(s, 0)) for s, n in old.items()}
    for site in sites - {local}:
        peers.setdefault(site, None)
    peers.pop(local, None)
    return peers


def stable_vector(conn: sqlite3.Connection, local: str) -> dict[str, int]:
    """Per site, the seq up to which its ops are stable here (see the module docstring)."""
    have = have_vector(conn, local)
    seen: dict[str, dict[str, int]] = {}
    for p, s, n in conn.execute("SELECT site_id, seen_site, seen_seq FROM sync_peer"):
        seen.setdefault(p, {})[s] = n
    floor = dict(have)
    for p, virtual in known_peers(conn, local).items():
        got = virtual if virtual is not None else seen.get(p, {})
        # What p had seen counts only when this PC holds every op p had made by then.
        complete = virtual is not None or have.get(p, 0) >= got.get(p, 0)
        for s in floor:
            if s == p and virtual is None:
                continue
            floor[s] = min(floor[s], got.get(s, 0) if complete else 0)
    return {s: n for s, n in floor.items() if n > 0}


def compacted_vector(conn: sqlite3.Connection) -> dict[str, int]:
    """Per site, the seq up to which ops may have been folded away (a stick needs a snapshot below it)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'compacted'").fetchone()
    return {str(k): int(v) for k, v in json.loads(row[0]).items()} if row and row[0] else {}


def last_op_id(conn: sqlite3.Connection) -> int:
    """The highest op id ever given out here (op ids are never reused, even after compaction)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'").fetchone()
    top = conn.execute("SELECT coalesce(max(op_id), 0) FROM change_log").fetchone()[0]
    return max(int(row[0]) if row else 0, int(top))


def compact(conn: sqlite3.Connection, local: str, *, vacuum: bool = True,
            horizon_ms: int = HORIZON_MS) -> CompactReport:
    """Fold away what every known PC holds; VACUUM when it frees enough. Its own transaction.

    Three steps. A stable op superseded on its column by a later op is removed at once (folding
    gives the same row without it), and so is a stable insert op of a row with a random id (see
    the module docstring). A row whose ops are all stable and older than `horizon_ms`
    loses them all: a PC nobody has heard of yet (one that joined from the stick and has not
    written to it since, or a copy of a file) gets that long to show its edits; after that its
    edits of such rows merge as newer ones. The demo, a file nobody else can hold, passes 0.
    """
    report = CompactReport()
    # int(): the SQLCipher driver returns some pragmas as text.
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    report.size_before = int(conn.execute("PRAGMA page_count").fetchone()[0]) * page
    conn.execute("BEGIN IMMEDIATE")
    try:
        floor = stable_vector(conn, local)
        have = have_vector(conn, local)
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS compact_floor (site_id TEXT PRIMARY KEY, seq INTEGER)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS compact_keep (tbl TEXT, row_id TEXT, "
                     "PRIMARY KEY (tbl, row_id)) WITHOUT ROWID")
        conn.execute("DELETE FROM temp.compact_floor")
        conn.execute("DELETE FROM temp.compact_keep")
        conn.executemany("INSERT INTO temp.compact_floor VALUES (?, ?)", list(floor.items()))
        conn.execute("INSERT OR IGNORE INTO temp.compact_keep SELECT tbl, row_id FROM sync_conflict")
        conn.execute("INSERT OR IGNORE INTO temp.compact_keep SELECT tbl, row_id FROM sync_pending")
        report.removed = conn.execute(
            "DELETE FROM change_log WHERE op_id IN (SELECT c.op_id FROM change_log c "
            "JOIN temp.compact_floor f ON f.site_id = c.site_id "
            "WHERE c.col <> '*' AND c.seq <= f.seq "
            "AND NOT EXISTS (SELECT 1 FROM temp.compact_keep k WHERE k.tbl = c.tbl AND k.row_id = c.row_id) "
            "AND EXISTS (SELECT 1 FROM change_log d WHERE d.tbl = c.tbl AND d.row_id = c.row_id AND d.col = c.col "
            "AND (d.hlc > c.hlc OR (d.hlc = c.hlc AND (d.site_id > c.site_id "
            "OR (d.site_id = c.site_id AND d.seq > c.seq))))))").rowcount
        horizon = str(Hlc(max(0, wall_ms() - horizon_ms), 0)) if horizon_ms > 0 else "9"
        conn.execute(
            "INSERT OR IGNORE INTO temp.compact_keep SELECT c.tbl, c.row_id FROM change_log c "
            "LEFT JOIN temp.compact_floor f ON f.site_id = c.site_id "
            "WHERE c.seq > coalesce(f.seq, 0) OR c.hlc >= ?", (horizon,))
        report.removed += conn.execute(
            "DELETE FROM change_log WHERE NOT EXISTS (SELECT 1 FROM temp.compact_keep k "
            "WHERE k.tbl = change_log.tbl AND k.row_id = change_log.row_id)").rowcount
        # A row's stable insert op (most of a month's change log: visits, jobs, cases), after the
        # rows folded whole are gone (a first compaction of a big file leaves few to look at).
        report.removed += conn.execute(
            "DELETE FROM change_log AS c WHERE c.col = '*' "
            "AND c.seq <= (SELECT f.seq FROM temp.compact_floor f WHERE f.site_id = c.site_id) "
            f"AND {_RANDOM_ID} "
            "AND NOT EXISTS (SELECT 1 FROM sync_conflict k WHERE k.tbl = c.tbl AND k.row_id = c.row_id) "
            "AND NOT EXISTS (SELECT 1 FROM sync_pending k WHERE k.tbl = c.tbl AND k.row_id = c.row_id)"
        ).rowcount
        report.kept = conn.execute("SELECT count(*) FROM change_log").fetchone()[0]
        report.removed_steps = _trim_undo_log(conn)
        if report.removed:
            # The own site's last seq and the floor must outlive the ops that told them.
            if have.get(local):
                conn.execute("INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)",
                             (local, have[local]))
            done = compacted_vector(conn)
            for s, n in floor.items():
                done[s] = max(done.get(s, 0), n)
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('compacted', ?)",
                         (json.dumps(done, sort_keys=True),))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('compacted_at_op', ?)",
                         (str(last_op_id(conn)),))
        conn.execute("DROP TABLE temp.compact_floor")
        conn.execute("DROP TABLE temp.compact_keep")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if vacuum and _vacuum_pays(conn, page):
        # VACUUM builds the new file in a temporary database, which this SQLite build keeps in memory
        # (temp_store=2): a copy of the whole file (280 MB at 100,000 residents). On disk instead;
        # it is a pager file encrypted with the main key (SQLCipher), so no plain page reaches it.
        conn.execute("PRAGMA temp_store = FILE")
        try:
            conn.execute("VACUUM")
            report.vacuumed = True
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            with conn:
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('vacuumed_pages', ?)", (str(pages),))
        except sqlite3.OperationalError:
            pass  # another reader holds the file: the next compaction tries again
        finally:
            conn.execute("PRAGMA temp_store = DEFAULT")
    report.size_after = int(conn.execute("PRAGMA page_count").fetchone()[0]) * page
    return report


def _trim_undo_log(conn: sqlite3.Connection) -> int:
    """Drop the operations older than any user's undo history reads back (undo.HISTORY_ROWS per
    user and PC): ``op_log`` serves undo alone, and the audit log keeps what every action did."""
    return conn.execute(
        "DELETE FROM op_log WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
        "(PARTITION BY user, site_id ORDER BY rowid DESC) AS n FROM op_log) WHERE n > ?)",
        (HISTORY_ROWS,)).rowcount


def _vacuum_pays(conn: sqlite3.Connection, page: int) -> bool:
    """Enough of the file is free, or it has grown by VACUUM_GROWTH since it was last rewritten
    (never, for a file that predates this record: its first compaction rewrites it once)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0]) * page
    if free >= VACUUM_MIN_BYTES and free >= VACUUM_MIN_SHARE * pages * page:
        return True
    row = conn.execute("SELECT value FROM meta WHERE key = 'vacuumed_pages'").fetchone()
    last = int(row[0]) if row and row[0] else 0
    return pages * page >= VACUUM_MIN_BYTES and pages >= last * (1 + VACUUM_GROWTH)

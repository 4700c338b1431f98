"""Sync between the office PCs of one community through bundle files on a USB stick.

Coverage: every PC holds, per site, a contiguous prefix of that site's ops (``sync_state`` for
other sites; its own ops for itself). A bundle declares, per site, seq ranges it holds all ops
of; an importer takes a range only when it joins its prefix, so it never has gaps, and a range
that does not join waits for the missing bundle. The exporter writes every op it has that no
bundle on the stick (that it wrote or applied) already holds, so the stick as a whole carries
everything and a new PC joins by importing all of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models import merge
from app.models.audit_events import Action, Outcome, record_event
from app.models.bundle import (
    DEFAULT_SCRYPT_N,
    EXTENSION,
    PART_SUFFIX,
    Bundle,
    BundleError,
    read_bundle,
    read_header,
    write_bundle,
)
from app.models.db import Database
from app.models.errors import KnownError, PermissionDeniedError
from app.models.hlc import Hlc, observe, wall_ms
from app.models.merge import claim_identity, have_vector  # noqa: F401 - part of this module's API

# An op stamped more than this ahead of our clock comes from a PC whose clock is wrong: taking it
# would let that PC's edits win over every edit made here until our clock catches up.
MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000

Progress = Callable[[int, int, str], None]


class SyncError(KnownError):
    pass


@dataclass
class SyncReport:
    applied: int = 0
    already_had: int = 0
    conflicts: int = 0
    duplicates: int = 0
    shared_rooms: int = 0
    rejected: int = 0
    waiting: int = 0
    files_applied: list[str] = field(default_factory=list)
    files_known: int = 0
    other_community: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    from_pcs: dict[str, int] = field(default_factory=dict)
    exported_file: str | None = None
    exported_ops: int = 0

    def to_json(self) -> dict[str, int]:
        return {"applied": self.applied, "already_had": self.already_had, "conflicts": self.conflicts,
                "rejected": self.rejected}

    def lines(self) -> list[str]:
        out = [f"导入：新增 {self.applied} 条修改，已有 {self.already_had} 条，"
               f"新冲突 {self.conflicts} 处，拒收文件 {self.rejected} 个。"]
        for pc, n in sorted(self.from_pcs.items()):
            out.append(f"  来自 {pc}：{n} 条")
        if self.duplicates:
            out.append(f"发现 {self.duplicates} 对可能重复登记的人员（身份证号相同），请在“冲突审核”中处理。")
        if self.shared_rooms:
            out.append(f"发现 {self.shared_rooms} 间房住有两户以上（两台电脑把不同的户安排进了同一间房），"
                       "请在“冲突审核”中核实。")
        if self.waiting:
            out.append(f"有 {self.waiting} 条修改在等待更早的同步文件，导入那份文件后会自动补上。")
        if self.files_known:
            out.append(f"跳过已导入过的文件 {self.files_known} 个。")
        if self.other_community:
            out.append(f"跳过其他社区的文件 {len(self.other_community)} 个。")
        for name in self.incomplete:
            out.append(f"未写完的临时文件（已忽略）：{name}")
        out.extend(self.messages)
        if self.exported_file:
            out.append(f"导出：{self.exported_ops} 条修改写入 {self.exported_file}。")
        return out


def community_of(db: Database) -> tuple[str, str] | None:
    """(id, name) of the community this database syncs, or None for an empty database."""
    cid = db.meta("sync_community")
    if cid:
        name = db.scalar("SELECT name FROM community WHERE id = ?", (cid,))
        return cid, name or ""
    row = db.one("SELECT id, name FROM community WHERE deleted = 0 ORDER BY rowid LIMIT 1")
    return (row["id"], row["name"]) if row else None


def pc_name() -> str:
    try:
        return socket.gethostname()[:40]
    except OSError:
        return ""


def site_label(db: Database, site: str) -> str:
    """'本机' or the PC's name and user as last seen in a bundle."""
    if site == db.site_id:
        return "本机"
    row = db.one(
        "SELECT sender_pc, sender_user FROM sync_bundle WHERE sender = ? ORDER BY done_at DESC LIMIT 1", (site,)
    )
    if row and (row["sender_pc"] or row["sender_user"]):
        return f"电脑 {row['sender_pc'] or site[:8]}（{row['sender_user'] or '未知'}）"
    return f"电脑 {site[:8]}"


# -- ranges ---------------------------------------------------------------------------------

def _subtract(lo: int, hi: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    cur = lo
    for a, b in sorted(covered):
        if b < cur:
            continue
        if a > hi:
            break
        if a > cur:
            out.append((cur, min(hi, a - 1)))
        cur = max(cur, b + 1)
        if cur > hi:
            break
    if cur <= hi:
        out.append((cur, hi))
    return out


def _stick_coverage(db: Database, folder: Path) -> dict[str, list[tuple[int, int]]]:
    """Ranges held by bundles on the stick that this PC wrote or verified by applying them."""
    covered: dict[str, list[tuple[int, int]]] = defaultdict(list)
    present = {}
    for p in folder.glob(f"*{EXTENSION}"):
        try:
            present[p.name] = p.stat().st_size
        except OSError:
            continue
    for row in db.query("SELECT file_name, size, ranges FROM sync_bundle"):
        if present.get(row["file_name"]) == row["size"]:
            for site, ivs in json.loads(row["ranges"]).items():
                covered[site].extend((int(a), int(b)) for a, b in ivs)
    return covered


# -- export ---------------------------------------------------------------------------------

def export_to_folder(
    db: Database, folder: str | Path, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N,
    full: bool = False, progress: Progress | None = None,
) -> tuple[Path | None, int]:
    """Write one new bundle with every op the stick does not already carry; (path or None, ops)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SyncError(f"找不到文件夹“{folder}”（U盘是否已插好？）。")
    if not passphrase:
        raise SyncError("请填写同步口令。")
    with db.write(mode="apply"):
        pass  # claims this file's identity (a copied file gets its own site id first)
    community = community_of(db)
    if community is None:
        raise SyncError("本机数据库还没有社区信息，无法导出。请先建立社区，或从U盘导入其他电脑的数据。")
    have = have_vector(db.conn, db.site_id)
    covered = {} if full else _stick_coverage(db, folder)
    sites: list[str] = []
    ops: list[list[Any]] = []
    ranges: dict[str, list[list[int]]] = {}
    for site, top in sorted(have.items()):
        need = _subtract(1, top, covered.get(site, []))
        if not need:
            continue
        idx = len(sites)
        sites.append(site)
        ranges[site] = [[a, b] for a, b in need]
        for a, b in need:
            for r in db.conn.execute(
                "SELECT seq, tbl, row_id, col, value, hlc, user FROM change_log "
                "WHERE site_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                (site, a, b),
            ):
                ops.append([idx, *r])
    if progress:
        progress(1, 3, f"准备导出 {len(ops)} 条修改")
    if not ops:
        return None, 0
    knowledge = [list(r) for r in db.conn.execute(
        "SELECT site_id, after_seq, seen_site, seen_seq FROM sync_knowledge")]
    bundle_id = str(uuid.uuid4())
    header = {
        "bundle_id": bundle_id,
        "schema": db.schema_version,
        "community": community[0],
        "community_name": community[1],
        "sender": db.site_id,
        "sender_user": db.user,
        "sender_pc": pc_name(),
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "ops": len(ops),
        "ranges": ranges,
    }
    body = {"sites": sites, "ops": ops, "knowledge": knowledge}
    path = write_bundle(folder, header, body, passphrase, scrypt_n=scrypt_n)
    if progress:
        progress(2, 3, "已写入并校验")
    with db.write(mode="apply"):
        db.conn.execute(
            "INSERT INTO sync_bundle(bundle_id, direction, file_name, size, sender, sender_user, sender_pc, created, "
            "done_at, op_count, ranges) VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bundle_id, path.name, path.stat().st_size, db.site_id, db.user, header["sender_pc"], header["created"],
             dt.datetime.now().isoformat(timespec="seconds"), len(ops), json.dumps(ranges)),
        )
        if not db.meta("sync_community"):
            db.set_meta("sync_community", community[0])
        record_event(db, Action.SYNC_OUT, {"file": path.name, "folder": str(folder), "ops": len(ops)})
    return path, len(ops)


# -- import ---------------------------------------------------------------------------------

def _validate_body(b: Bundle, schema: merge.Schema) -> tuple[list[str], list[list[Any]], list[list[Any]]]:
    body = b.body or {}
    sites, ops, knowledge = body.get("sites"), body.get("ops"), body.get("knowledge")
    name = b.path.name
    if not isinstance(sites, list) or not isinstance(ops, list) or not isinstance(knowledge, list):
        raise BundleError(f"“{name}”内容不完整，未导入。")
    ranges = b.header["ranges"]
    for op in ops:
        if (not isinstance(op, list) or len(op) != 8 or not isinstance(op[0], int) or not 0 <= op[0] < len(sites)
                or not isinstance(op[1], int) or not isinstance(op[2], str) or not isinstance(op[4], str)):
            raise BundleError(f"“{name}”内容格式不对，未导入。")
        cols = schema.colsets.get(op[2])
        if cols is None or (op[4] != "*" and op[4] not in cols):
            raise BundleError(f"“{name}”含有本程序不认识的数据（表 {op[2]}），请先升级程序。")
        site = sites[op[0]]
        if not any(a <= op[1] <= z for a, z in ranges.get(site, [])):
            raise BundleError(f"“{name}”内容与文件头不符，未导入。")
    for k in knowledge:
        if not isinstance(k, list) or len(k) != 4 or not isinstance(k[1], int) or not isinstance(k[3], int):
            raise BundleError(f"“{name}”内容格式不对，未导入。")
    return sites, ops, knowledge


def list_bundles(folder: Path) -> tuple[list[Path], list[str]]:
    """(bundle files, names of incomplete temporary files) in a stick folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SyncError(f"找不到文件夹“{folder}”（U盘是否已插好？）。")
    files = sorted(p for p in folder.glob(f"*{EXTENSION}") if p.is_file())
    parts = sorted(p.name for p in folder.glob(f"*{EXTENSION}{PART_SUFFIX}"))
    return files, parts


def import_from_folder(
    db: Database, folder: str | Path, passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None,
) -> SyncReport:
    files, parts = list_bundles(Path(folder))
    report = import_files(db, files, passphrase, progress=progress, now_ms=now_ms)
    report.incomplete.extend(parts)
    return report


def import_files(
    db: Database, paths: Iterable[str | Path], passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None,
) -> SyncReport:
    """Verify, then apply every new bundle among `paths` in one transaction; returns the report."""
    paths = [Path(p) for p in paths]
    try:
        report = _import_files(db, paths, passphrase, progress=progress, now_ms=now_ms)
    except KnownError as exc:
        with contextlib.suppress(Exception):  # the import's own error is the one to show
            record_event(db, Action.SYNC_IN, {"files": [p.name for p in paths], "error": str(exc)},
                         Outcome.REFUSED if isinstance(exc, PermissionDeniedError) else Outcome.FAILED)
        raise
    if report.files_applied or report.rejected or report.other_community:
        record_event(db, Action.SYNC_IN, {
            "files": report.files_applied, "applied": report.applied, "already_had": report.already_had,
            "conflicts": report.conflicts, "rejected": report.rejected, "other_community": report.other_community,
        }, Outcome.OK if report.files_applied or not report.rejected else Outcome.FAILED)
    return report


def _import_files(
    db: Database, paths: list[Path], passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None,
) -> SyncReport:
    report = SyncReport()
    if not passphrase:
        raise SyncError("请填写同步口令。")
    now_ms = wall_ms() if now_ms is None else now_ms
    community = community_of(db)
    schema_version = db.schema_version
    schema = merge.Schema(db.conn)
    known = {r[0] for r in db.query("SELECT bundle_id FROM sync_bundle")}
    accepted: list[tuple[Bundle, list[str], list[list[Any]], list[list[Any]]]] = []
    paths = [Path(p) for p in paths]
    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths) + 2, f"检查 {path.name}")
        try:
            header = read_header(path)
            if header["bundle_id"] in known:
                report.files_known += 1
                continue
            if community is not None and header["community"] != community[0]:
                report.other_community.append(path.name)
                continue
            b = read_bundle(path, passphrase)
            h = b.header
            if h["schema"] > schema_version:
                raise BundleError(f"“{path.name}”来自较新版本的安居台账（数据结构第 {h['schema']} 版），"
                                  f"本机只支持到第 {schema_version} 版。请先升级本机程序，未导入。")
            sites, ops, knowledge = _validate_body(b, schema)
            top = max((Hlc.parse(op[6]).ms for op in ops), default=0)
            if top > now_ms + MAX_CLOCK_SKEW_MS:
                when = dt.datetime.fromtimestamp(top / 1000).strftime("%Y-%m-%d %H:%M")
                raise BundleError(
                    f"“{path.name}”来自时钟不准的电脑（{h.get('sender_pc') or h['sender'][:8]}，"
                    f"其修改时间为 {when}，比本机快很多）。为免它的修改盖过以后所有修改，未导入。"
                    "请先校正那台电脑的日期和时间，再在那台电脑上重新导出。")
        except (BundleError, OSError) as exc:
            report.rejected += 1
            report.messages.append(str(exc))
            continue
        if community is None:
            community = (h["community"], h.get("community_name") or "")
        known.add(h["bundle_id"])
        accepted.append((b, sites, ops, knowledge))
    if not accepted:
        return report
    if progress:
        progress(len(paths), len(paths) + 2, "合并数据")
    # A first sync into an empty database: materialize() already holds back every row whose
    # referenced row is missing, so SQLite's own per-row foreign-key work (a third of the insert
    # time) is redundant there. The pragma only takes effect outside a transaction.
    fresh = db._tx is None and db.scalar("SELECT 1 FROM change_log LIMIT 1") is None
    if fresh:
        db.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with db.write(mode="apply") as tx:
            _apply(db, tx.now, accepted, report, community)
    finally:
        if fresh:
            db.conn.execute("PRAGMA foreign_keys = ON")
    if progress:
        progress(len(paths) + 2, len(paths) + 2, "完成")
    return report


def _apply(db: Database, now: str, accepted: list, report: SyncReport, community: tuple[str, str]) -> None:
    conn = db.conn
    local = db.site_id
    if not db.meta("sync_community"):
        db.set_meta("sync_community", community[0])
    fresh = conn.execute("SELECT 1 FROM change_log LIMIT 1").fetchone() is None
    have = have_vector(conn, local)
    start = dict(have)
    # Per bundle: pieces (site, lo, hi, ops of that site sorted by seq), taken when they join the prefix.
    pieces: list[list[Any]] = []
    for b, sites, ops, knowledge in accepted:
        conn.executemany(
            "INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) VALUES (?, ?, ?, ?)",
            [tuple(k) for k in knowledge],
        )
        by_site: dict[str, list] = defaultdict(list)
        for op in ops:
            by_site[sites[op[0]]].append(op)
        for site, ivs in b.header["ranges"].items():
            site_ops = sorted(by_site.get(site, []), key=lambda o: o[1])
            for lo, hi in ivs:
                pieces.append([b, site, int(lo), int(hi), [o for o in site_ops if lo <= o[1] <= hi], False])
    taken: list[merge.Op] = []
    per_sender: dict[str, int] = defaultdict(int)
    progress_made = True
    while progress_made:
        progress_made = False
        for piece in pieces:
            b, site, lo, hi, site_ops, done = piece
            if done:
                continue
            h = have.get(site, 0)
            if hi <= h:
                piece[5] = True
                report.already_had += len(site_ops)
            elif lo <= h + 1:
                for o in site_ops:
                    if o[1] > h:
                        taken.append((site, o[1], o[2], o[3], o[4], o[5], o[6], o[7]))
                        per_sender[b.header["sender"]] += 1
                    else:
                        report.already_had += 1
                have[site] = hi
                piece[5] = True
                progress_made = True
    waiting_bundles = set()
    for b, _site, _lo, _hi, site_ops, done in pieces:
        if not done:
            report.waiting += len(site_ops)
            waiting_bundles.add(b.bundle_id)
    report.applied = len(taken)
    conn.executemany(
        "INSERT OR IGNORE INTO change_log(site_id, seq, tbl, row_id, col, value, hlc, user) VALUES (?,?,?,?,?,?,?,?)",
        taken,
    )
    conn.executemany(
        "INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)",
        [(s, m) for s, m in have.items() if s != local and m > start.get(s, 0)],
    )
    after = conn.execute("SELECT coalesce(max(op_id), 0) FROM change_log").fetchone()[0]
    conn.executemany(
        "INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) VALUES (?, ?, ?, ?)",
        [(local, after, s, m) for s, m in have.items() if s != local and m > start.get(s, 0)],
    )
    schema = merge.Schema(conn)
    if taken:
        keys: dict[tuple[str, str], list] = {}
        for o in taken:
            keys.setdefault((o[2], o[3]), []).append((o[0], o[1], o[4], o[5], o[6]))
        if fresh:
            merge.materialize(conn, schema, list(keys), mem_ops=keys)
        else:
            retry = [tuple(r) for r in conn.execute("SELECT tbl, row_id FROM sync_pending")]
            merge.materialize(conn, schema, list(dict.fromkeys([*keys, *retry])), was_pending=set(retry))
        report.conflicts = merge.detect_conflicts(conn, taken, now)
        # Only a new person, a changed ID number or a restored record can make a new duplicate.
        persons = {o[3] for o in taken if o[2] == "person" and o[4] in ("*", "id_number", "deleted")}
        report.duplicates = _count_duplicates(conn, persons)
        # Two PCs may each have put a household into the same empty room. The ops are applied as
        # sent (refusing them would make the PCs disagree for good); the room is flagged instead.
        moved = {o[3] for o in taken if o[2] == "household" and o[4] in ("*", "room_id", "status", "deleted")}
        report.shared_rooms = _count_shared_rooms(conn, moved)
        top = max(Hlc.parse(o[6]) for o in taken)
        last = db.meta("hlc")
        db.set_meta("hlc", str(observe(Hlc.parse(last) if last else None, top)))
    names = {b.header["sender"]: (b.header.get("sender_pc") or "", b.header.get("sender_user") or "")
             for b, *_ in accepted}
    for sender, n in per_sender.items():
        pc, user = names.get(sender, ("", ""))
        report.from_pcs[f"电脑 {pc or sender[:8]}（{user or '未知'}）"] = n
    for b, _sites, ops, _knowledge in accepted:
        if b.bundle_id in waiting_bundles:
            continue  # try again next time: the bundle it waits for may come later
        h = b.header
        conn.execute(
            "INSERT OR IGNORE INTO sync_bundle(bundle_id, direction, file_name, size, sender, sender_user, sender_pc, "
            "created, done_at, op_count, ranges) VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (h["bundle_id"], b.path.name, b.path.stat().st_size, h["sender"], h.get("sender_user"),
             h.get("sender_pc"), h.get("created"), now, len(ops), json.dumps(h["ranges"])),
        )
        report.files_applied.append(b.path.name)


def _count_duplicates(conn: sqlite3.Connection, persons: set[str]) -> int:
    if not persons:
        return 0
    n = 0
    for pid in persons:
        n += conn.execute(
            "SELECT count(*) FROM person AS a JOIN person AS b ON b.id_number = a.id_number AND b.id <> a.id "
            "AND b.deleted = 0 WHERE a.id = ? AND a.deleted = 0 AND a.id_number IS NOT NULL AND a.id_number <> ''",
            (pid,),
        ).fetchone()[0]
    return n


def _count_shared_rooms(conn: sqlite3.Connection, households: set[str]) -> int:
    rooms = set()
    for hid in households:
        row = conn.execute("SELECT room_id FROM household WHERE id = ? AND deleted = 0 AND status = '在住'",
                           (hid,)).fetchone()
        if row is not None and row[0] and conn.execute(
            "SELECT count(*) FROM household WHERE room_id = ? AND deleted = 0 AND status = '在住'", (row[0],)
        ).fetchone()[0] > 1:
            rooms.add(row[0])
    return len(rooms)


def sync_with_folder(
    db: Database, folder: str | Path, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N,
    progress: Progress | None = None,
) -> SyncReport:
    """The one button: import every new bundle on the stick, then write this PC's bundle."""
    report = import_from_folder(db, folder, passphrase, progress=progress)
    path, n = export_to_folder(db, folder, passphrase, scrypt_n=scrypt_n)
    if path is not None:
        report.exported_file = path.name
        report.exported_ops = n
    return report


# -- conflict review ------------------------------------------------------------------------

FIELD_LABELS: dict[tuple[str, str], str] = {
    ("person", "name"): "姓名",
    ("person", "id_number"): "身份证号",
    ("person", "household_id"): "所属户",
    ("household", "head_person_id"): "户主",
    ("household", "risk_colour"): "风险颜色",
    ("mediation_case", "status"): "调解案件状态",
}
RISK_LABELS = {"red": "红", "yellow": "黄", "green": "绿"}


@dataclass
class Side:
    value: Any
    shown: str
    user: str
    pc: str
    at: dt.datetime


@dataclass
class Conflict:
    id: int
    tbl: str
    row_id: str
    col: str
    field_label: str
    record: str
    current: Any
    current_shown: str
    loser: Side
    winner: Side


@dataclass
class Duplicate:
    id_number: str
    person_a: str
    person_b: str
    label_a: str
    label_b: str


def record_label(db: Database, tbl: str, row_id: str) -> str:
    from app.models.id_numbers import mask

    row = db.one(f'SELECT * FROM "{tbl}" WHERE id = ?', (row_id,)) if tbl in FIELD_TABLES else None
    if row is None:
        return f"{tbl} {row_id[:8]}"
    if tbl == "person":
        hh = db.scalar("SELECT number FROM household WHERE id = ?", (row["household_id"],))
        return f"{row['name']}（{mask(row['id_number']) if row['id_number'] else '无身份证号'}，户 {hh or '—'}）"
    if tbl == "household":
        return f"户 {row['number']}"
    return f"调解案件 {row['number']} {row['title']}"


FIELD_TABLES = {"person", "household", "mediation_case"}


def show_value(db: Database, tbl: str, col: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if col == "household_id":
        n = db.scalar("SELECT number FROM household WHERE id = ?", (value,))
        return f"户 {n}" if n else f"户 {str(value)[:8]}"
    if col == "head_person_id":
        n = db.scalar("SELECT name FROM person WHERE id = ?", (value,))
        return n or str(value)[:8]
    if col == "risk_colour":
        return RISK_LABELS.get(value, str(value))
    if col == "id_number":
        return str(value)
    return str(value)


def _side(db: Database, tbl: str, col: str, site: str, seq: int) -> Side:
    row = db.one("SELECT value, user, hlc FROM change_log WHERE site_id = ? AND seq = ?", (site, seq))
    value = json.loads(row["value"]) if row else None
    at = dt.datetime.fromtimestamp(Hlc.parse(row["hlc"]).ms / 1000) if row else dt.datetime.now()
    return Side(value, show_value(db, tbl, col, value), (row["user"] if row else "") or "未知", site_label(db, site), at)


def open_conflicts(db: Database) -> list[Conflict]:
    """Concurrent key-field edits no later edit (made having seen both) has settled yet."""
    causal = merge.Causality(db.conn)
    out = []
    field_ops: dict[tuple[str, str, str], list] = {}
    for c in db.query("SELECT * FROM sync_conflict ORDER BY id"):
        key = (c["tbl"], c["row_id"], c["col"])
        if key not in field_ops:
            field_ops[key] = db.query(
                "SELECT site_id, seq FROM change_log WHERE tbl = ? AND row_id = ? AND col = ?", key)
        lo, hi = (c["lo_site"], c["lo_seq"]), (c["hi_site"], c["hi_seq"])
        if any(causal.saw(z[0], z[1], *lo) and causal.saw(z[0], z[1], *hi) for z in field_ops[key]):
            continue
        current = db.scalar(f'SELECT "{c["col"]}" FROM "{c["tbl"]}" WHERE id = ?', (c["row_id"],))
        out.append(Conflict(
            c["id"], c["tbl"], c["row_id"], c["col"], FIELD_LABELS.get((c["tbl"], c["col"]), c["col"]),
            record_label(db, c["tbl"], c["row_id"]), current, show_value(db, c["tbl"], c["col"], current),
            _side(db, c["tbl"], c["col"], *lo), _side(db, c["tbl"], c["col"], *hi),
        ))
    return out


def _review_id(kind: str, subject: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"anju-review:{kind}:{subject}"))


def open_duplicates(db: Database) -> list[Duplicate]:
    """Live persons sharing an ID number (registered on two PCs), unless a clerk said they differ."""
    dismissed = {r[0] for r in db.query(
        "SELECT subject FROM sync_review WHERE kind = 'not_duplicate' AND deleted = 0")}
    out = []
    for r in db.query(
        "SELECT id_number FROM person WHERE deleted = 0 AND id_number IS NOT NULL AND id_number <> '' "
        "GROUP BY id_number HAVING count(*) > 1"
    ):
        people = db.query(
            "SELECT p.id, p.name, h.number FROM person AS p LEFT JOIN household AS h ON h.id = p.household_id "
            "WHERE p.id_number = ? AND p.deleted = 0 ORDER BY p.id", (r[0],))
        for i, a in enumerate(people):
            for b in people[i + 1:]:
                if f"{a['id']}|{b['id']}" in dismissed:
                    continue
                out.append(Duplicate(r[0], a["id"], b["id"], f"{a['name']}（户 {a['number'] or '—'}）",
                                     f"{b['name']}（户 {b['number'] or '—'}）"))
    return out


@dataclass
class SharedRoom:
    """A room with more than one live household, as sync can leave it (never a local edit)."""

    room_id: str
    address: str
    household_ids: list[str]
    labels: list[str]

    @property
    def subject(self) -> str:
        return "|".join([self.room_id, *sorted(self.household_ids)])


def open_shared_rooms(db: Database) -> list[SharedRoom]:
    """Rooms holding two or more 在住 households, unless a clerk confirmed that very set of households."""
    from app.models.households import room_address

    confirmed = {r[0] for r in db.query(
        "SELECT subject FROM sync_review WHERE kind = 'shared_room' AND deleted = 0")}
    out = []
    for r in db.query(
        "SELECT room_id FROM household WHERE deleted = 0 AND status = '在住' AND room_id IS NOT NULL "
        "GROUP BY room_id HAVING count(*) > 1"
    ):
        rows = db.query(
            "SELECT h.id, h.number, p.name FROM household h LEFT JOIN person p ON p.id = h.head_person_id "
            "WHERE h.room_id = ? AND h.deleted = 0 AND h.status = '在住' ORDER BY h.number", (r[0],))
        item = SharedRoom(r[0], room_address(db, r[0]), [x["id"] for x in rows],
                          [f"户 {x['number']}（户主 {x['name'] or '—'}）" for x in rows])
        if item.subject not in confirmed:
            out.append(item)
    return out


def confirm_shared_room(db: Database, item: SharedRoom) -> None:
    """The clerk checked that these households really share the room (a new op that syncs onward)."""
    with db.write() as tx:
        rid = _review_id("shared_room", item.subject)
        values = {"kind": "shared_room", "subject": item.subject, "decision": "已核实同住",
                  "decided_by": db.user, "decided_at": tx.now, "deleted": 0}
        if db.scalar("SELECT 1 FROM sync_review WHERE id = ?", (rid,)):
            tx.update("sync_review", rid, values, summary=f"一房多户审核：{item.address} 已核实")
        else:
            tx.insert("sync_review", {"id": rid, **values}, summary=f"一房多户审核：{item.address} 已核实")


def _validated(db: Database, tbl: str, col: str, value: Any) -> dict[str, Any]:
    """The columns to write for a reviewed value (derived columns included); raises ValidationError."""
    from app.models.errors import ValidationError

    if col == "name":
        from app.models.pinyin import name_pinyin

        name = str(value or "").strip()
        if not name:
            raise ValidationError("姓名不能为空。", field="name")
        full, initials = name_pinyin(name)
        return {"name": name, "name_pinyin": full, "name_initials": initials}
    if col == "id_number":
        if value in (None, ""):
            return {"id_number": None}
        from app.models.id_numbers import IdNumberError, parse

        try:
            info = parse(str(value))
        except IdNumberError as exc:
            raise ValidationError(str(exc), field="id_number") from exc
        return {"id_number": info.number}
    if col == "risk_colour":
        if value not in RISK_LABELS:
            raise ValidationError("风险颜色只能是红、黄、绿。", field="risk_colour")
        return {col: value}
    if col in ("household_id", "head_person_id"):
        target = "household" if col == "household_id" else "person"
        if value is not None and db.scalar(f'SELECT 1 FROM "{target}" WHERE id = ?', (value,)) is None:
            raise ValidationError("所选记录不存在。", field=col)
        return {col: value}
    if col == "status":
        if not str(value or "").strip():
            raise ValidationError("状态不能为空。", field="status")
        return {col: str(value).strip()}
    return {col: value}


def resolve_conflict(db: Database, conflict: Conflict, value: Any) -> None:
    """The clerk's decision: a new op on the field (even when the value stays) that syncs onward."""
    values = _validated(db, conflict.tbl, conflict.col, value)
    label = FIELD_LABELS.get((conflict.tbl, conflict.col), conflict.col)
    with db.write() as tx:
        changed = tx.update(conflict.tbl, conflict.row_id, values,
                            summary=f"冲突审核：{label} 定为“{show_value(db, conflict.tbl, conflict.col, values[conflict.col])}”")
        if conflict.col not in changed:
            # Keeping the current value still needs an op: it tells every PC the clerk decided.
            tx.conn.execute(
                "INSERT INTO change_log(site_id, tbl, row_id, col, value, hlc, user) "
                "SELECT site_id, ?, ?, ?, json_quote(?), hlc, user FROM write_ctx",
                (conflict.tbl, conflict.row_id, conflict.col, values[conflict.col]),
            )


def resolve_duplicate(db: Database, dup: Duplicate, *, remove: str | None) -> None:
    """`remove` = the person id to mark deleted (same person registered twice), or None: not the same person."""
    with db.write() as tx:
        if remove is None:
            subject = f"{dup.person_a}|{dup.person_b}"
            rid = _review_id("not_duplicate", subject)
            values = {"kind": "not_duplicate", "subject": subject, "decision": "不是同一人",
                      "decided_by": db.user, "decided_at": tx.now, "deleted": 0}
            if db.scalar("SELECT 1 FROM sync_review WHERE id = ?", (rid,)):
                tx.update("sync_review", rid, values, summary="重复登记审核：不是同一人")
            else:
                tx.insert("sync_review", {"id": rid, **values}, summary="重复登记审核：不是同一人")
        else:
            if remove not in (dup.person_a, dup.person_b):
                raise KnownError("只能删除这两条记录之一。")
            tx.delete("person", remove, summary=f"重复登记审核：删除重复的 {dup.id_number[-4:]}")

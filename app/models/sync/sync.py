"""Sync between the office PCs of one community through bundle files on a USB stick.

Coverage: every PC holds, per site, a contiguous prefix of that site's ops (``sync_state`` for
other sites; its own ops for itself). A bundle declares, per site, seq ranges it holds all ops
of; an importer takes a range only when it joins its prefix, so it never has gaps, and a range
that does not join waits for the missing bundle. The exporter writes every op it has that no
bundle on the stick (that it wrote or applied) already holds, so the stick as a whole carries
everything and a new PC joins by importing all of it.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import re
import secrets
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.core import field_rules, settings
from app.models.core import sqlite as sqlite3
from app.models.core.audit_events import Action, Outcome, record_event
from app.models.core.db import Database
from app.models.core.errors import KnownError, PermissionDeniedError, ValidationError
from app.models.core.hlc import Hlc, observe, wall_ms
from app.models.core.logs import file_ref, logged
from app.models.core.schema import _q, synced_tables
from app.models.core.site import claim_identity, have_vector  # noqa: F401 - part of this module's API
from app.models.migrations.m0040_contentless_person_search import DERIVED_TRIGGERS, refill_derived
from app.models.sync import merge
from app.models.sync import passphrase as sync_passphrase
from app.models.sync.bundle import (
    DEFAULT_SCRYPT_N,
    EXTENSION,
    MAX_BODY_BYTES,
    PART_SUFFIX,
    Bundle,
    BundleError,
    WrongPassphrase,
    is_snapshot,
    is_stream,
    iter_chunks,
    read_bundle,
    write_stream_bundle,
)
from app.models.sync.compact import compact, compacted_vector, last_op_id

# An op stamped more than this ahead of our clock comes from a PC whose clock is wrong: taking it
# would let that PC's edits win over every edit made here until our clock catches up.
MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000

Progress = Callable[[int, int, str], None]


class SyncError(KnownError):
    pass


@dataclass
class Refusal:
    """A bundle file that was not applied (nothing of it), and why, in words a clerk can act on."""

    file: str
    reason: str
    bundle_id: str | None = None
    # A refused mass delete: how many records of what (table label → count) it would delete.
    mass_delete: dict[str, int] | None = None


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
    refused: list[Refusal] = field(default_factory=list)
    # Mass deletes applied because the clerk allowed them: (file, {table label: count}).
    mass_deleted: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    from_pcs: dict[str, int] = field(default_factory=dict)
    exported_file: str | None = None
    exported_ops: int = 0

    def refuse(self, file: str, reason: str, *, bundle_id: str | None = None,
               mass_delete: dict[str, int] | None = None) -> None:
        self.refused.append(Refusal(file, reason, bundle_id, mass_delete))
        self.rejected += 1
        self.messages.append(reason)

    @property
    def mass_delete_refused(self) -> list[Refusal]:
        return [r for r in self.refused if r.mass_delete is not None]

    @property
    def outcome(self) -> str:
        """'ok' (nothing refused), 'partly' (some files applied, some refused) or 'failed' (only refusals)."""
        if not self.refused:
            return "ok"
        return "partly" if self.files_applied or self.applied else "failed"

    def to_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "already_had": self.already_had, "conflicts": self.conflicts,
                "rejected": self.rejected, "outcome": self.outcome,
                "refused": [{"file": r.file, "reason": r.reason, **({"mass_delete": r.mass_delete}
                                                                   if r.mass_delete else {})}
                            for r in self.refused]}

    def lines(self) -> list[str]:
        out = [f"导入：新增 {self.applied} 条修改，已有 {self.already_had} 条，"
               f"新冲突 {self.conflicts} 处，拒收文件 {self.rejected} 个。"]
        for pc, n in sorted(self.from_pcs.items()):
            out.append(f"  来自 {pc}：{n} 条")
        for name, counts in self.mass_deleted:
            out.append(f"“{name}”删除了：{_counts_text(counts)}（已确认后导入）。")
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
        if self.refused:
            out.append(f"以下 {len(self.refused)} 个文件未导入（其中的修改一条也没有写入）：")
            out.extend(f"  ✗ {r.reason}" for r in self.refused)
        elif self.messages:
            out.extend(self.messages)
        if self.exported_file:
            out.append(f"导出：{self.exported_ops} 条修改写入 {self.exported_file}。")
        return out


def _counts_text(counts: dict[str, int]) -> str:
    return "、".join(f"{label} {n} 条" for label, n in counts.items())


def community_of(db: Database) -> tuple[str, str] | None:
    """(id, name) of the community this database syncs, or None for an empty database."""
    cid = db.meta("sync_community")
    if cid:
        name = db.scalar("SELECT name FROM community WHERE id = ?", (cid,))
        return cid, name or ""
    row = db.one("SELECT id, name FROM community WHERE deleted = 0 ORDER BY rowid LIMIT 1")
    return (row["id"], row["name"]) if row else None


def passphrase_names(db: Database) -> list[str]:
    """The names a sync passphrase must not be made of: the communities' and the office's."""
    names = [r[0] for r in db.query("SELECT name FROM community WHERE deleted = 0")]
    return [*names, str(settings.get(db, "office_name") or "")]


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

@logged("sync.export", facts=lambda a: {"full": a["full"]},
        summary=lambda r: {"ops": r[1], "bundle": file_ref(r[0])})
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
        # Claims this file's identity (a copied file gets its own site id first) and this PC's salt.
        salt = db.meta("sync_salt")
        if not salt:
            salt = secrets.token_hex(16)
            db.set_meta("sync_salt", salt)
    community = community_of(db)
    if community is None:
        raise SyncError("本机数据库还没有社区信息，无法导出。请先建立社区，或从U盘导入其他电脑的数据。")
    # A bundle left on a stick is only as safe as its passphrase.
    sync_passphrase.check(passphrase, passphrase_names(db))
    have = have_vector(db.conn, db.site_id)
    covered = {} if full else _stick_coverage(db, folder)
    # Ops folded into the rows cannot be sent again: a stick lacking them gets a snapshot instead.
    compacted = compacted_vector(db.conn)
    for site, top in have.items():
        need = _subtract(1, top, covered.get(site, []))
        if need and need[0][0] <= compacted.get(site, 0):
            return _export_snapshot(db, folder, passphrase, salt, community, have, scrypt_n, progress)
    conn = db.conn
    conn.execute("BEGIN")  # one read snapshot: the ops counted in the header are the ops written
    try:
        made = _export_delta(db, folder, passphrase, salt, community, have, covered, scrypt_n, progress)
    finally:
        conn.execute("COMMIT")
    if made is None:
        return None, 0
    path, header = made
    if progress:
        progress(2, 3, "已写入并校验")
    _record_out(db, header, path, header["ops"], folder)
    return path, header["ops"]


def _export_delta(db: Database, folder: Path, passphrase: str, salt: str, community: tuple[str, str],
                  have: dict[str, int], covered: dict[str, list[tuple[int, int]]], scrypt_n: int,
                  progress: Progress | None) -> tuple[Path, dict[str, Any]] | None:
    """Write the ops the stick lacks as a streamed delta, read by cursor chunk by chunk (memory stays
    flat whatever their number); None when there is nothing new to tell. Inside a read transaction."""
    conn = db.conn
    sites: list[str] = []
    ranges: dict[str, list[list[int]]] = {}
    count = 0
    for site, top in sorted(have.items()):
        need = _subtract(1, top, covered.get(site, []))
        if not need:
            continue
        sites.append(site)
        ranges[site] = [[a, b] for a, b in need]
        for a, b in need:
            count += conn.execute("SELECT count(*) FROM change_log WHERE site_id = ? AND seq BETWEEN ? AND ?",
                                  (site, a, b)).fetchone()[0]
    if progress:
        progress(1, 3, f"准备导出 {count} 条修改")
    if not count and json.loads(db.meta("seen_sent") or "{}") == have:
        return None
    header = {
        "bundle_id": str(uuid.uuid4()),
        "kind": "delta",
        "schema": db.schema_version,
        "community": community[0],
        "community_name": community[1],
        "sender": db.site_id,
        "sender_user": db.user,
        "sender_pc": pc_name(),
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "ops": count,
        "ranges": ranges,
        "seen": have,
        "sites": sites,
    }

    def payloads() -> Iterable[dict[str, Any]]:
        for idx, site in enumerate(sites):
            for a, b in ranges[site]:
                cur = conn.cursor()
                cur.row_factory = None
                cur.execute("SELECT seq, tbl, row_id, col, value, hlc, user FROM change_log "
                            "WHERE site_id = ? AND seq BETWEEN ? AND ? ORDER BY seq", (site, a, b))
                while batch := cur.fetchmany(SNAPSHOT_ROWS):
                    yield {"o": [[idx, *r] for r in batch]}
        # Without ops of its own to send, a PC that has received new ones still writes a small
        # bundle: it tells the others what it has seen, so they may fold those ops away.
        cur = conn.cursor()
        cur.row_factory = None
        cur.execute("SELECT site_id, after_seq, seen_site, seen_seq FROM sync_knowledge")
        while batch := cur.fetchmany(SNAPSHOT_ROWS * 5):
            yield {"k": [list(r) for r in batch]}

    path = write_stream_bundle(folder, header, payloads(), passphrase, scrypt_n=scrypt_n, salt=bytes.fromhex(salt))
    return path, header


def _record_out(db: Database, header: dict[str, Any], path: Path, count: int, folder: Path) -> None:
    with db.write(mode="apply"):
        db.set_meta("seen_sent", json.dumps(header["seen"], sort_keys=True))
        db.conn.execute(
            "INSERT INTO sync_bundle(bundle_id, direction, file_name, size, sender, sender_user, sender_pc, created, "
            "done_at, op_count, ranges) VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (header["bundle_id"], path.name, path.stat().st_size, db.site_id, db.user, header["sender_pc"],
             header["created"], dt.datetime.now().isoformat(timespec="seconds"), count, json.dumps(header["ranges"])),
        )
        if not db.meta("sync_community"):
            db.set_meta("sync_community", header["community"])
        record_event(db, Action.SYNC_OUT, {"file": path.name, "folder": str(folder), "ops": count})


SNAPSHOT_ROWS = 2000  # rows (or ops) per chunk: about 1 MB of JSON


def _export_snapshot(db: Database, folder: Path, passphrase: str, salt: str, community: tuple[str, str],
                     have: dict[str, int], scrypt_n: int, progress: Progress | None) -> tuple[Path, int]:
    """A snapshot bundle: every row as it is, the ops still kept, the knowledge; read by cursor
    and written chunk by chunk, so memory stays flat whatever the size of the community."""
    conn = db.conn
    sites = sorted(have)
    index = {s: i for i, s in enumerate(sites)}
    counts = {"rows": 0, "ops": 0}
    bundle_id = str(uuid.uuid4())
    header = {
        "bundle_id": bundle_id, "kind": "snapshot", "schema": db.schema_version,
        "community": community[0], "community_name": community[1], "sender": db.site_id,
        "sender_user": db.user, "sender_pc": pc_name(), "created": dt.datetime.now().isoformat(timespec="seconds"),
        "ranges": {s: [[1, top]] for s, top in have.items() if top > 0}, "seen": have, "sites": sites,
        "hlc": db.meta("hlc") or str(Hlc(0, 0)),
    }

    def payloads() -> Iterable[dict[str, Any]]:
        conn.execute("BEGIN")  # one read snapshot: rows, ops and knowledge agree
        try:
            for table in synced_tables(conn):
                cols = [r[1] for r in conn.execute(f"PRAGMA table_info({_q(table)})")]
                cur = conn.cursor()
                cur.row_factory = None
                cur.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(table)}")
                while batch := cur.fetchmany(SNAPSHOT_ROWS):
                    counts["rows"] += len(batch)
                    yield {"t": table, "c": cols, "r": batch}
            if progress:
                progress(1, 3, f"已写入 {counts['rows']} 条记录")
            cur = conn.cursor()
            cur.row_factory = None
            cur.execute("SELECT site_id, seq, tbl, row_id, col, value, hlc, user FROM change_log ORDER BY op_id")
            while batch := cur.fetchmany(SNAPSHOT_ROWS):
                ops = [[index[r[0]], *r[1:]] for r in batch if r[0] in index]
                counts["ops"] += len(ops)
                yield {"o": ops}
            cur = conn.cursor()
            cur.row_factory = None
            cur.execute("SELECT site_id, after_seq, seen_site, seen_seq FROM sync_knowledge")
            while batch := cur.fetchmany(SNAPSHOT_ROWS * 5):
                yield {"k": batch}
        finally:
            conn.execute("COMMIT")

    path = write_stream_bundle(folder, header, payloads(), passphrase, scrypt_n=scrypt_n, salt=bytes.fromhex(salt))
    if progress:
        progress(2, 3, "已写入并校验")
    total = counts["rows"] + counts["ops"]
    _record_out(db, header, path, total, folder)
    return path, total


# -- import ---------------------------------------------------------------------------------

# A bundle deleting more than this many records, or more than this share of the residents (and
# more than MASS_DELETE_MIN_PERSONS of them), is applied only when the clerk allows it.
MASS_DELETE_RECORDS = 50
MASS_DELETE_SHARE = 0.02
MASS_DELETE_MIN_PERSONS = 10
# A site's sequence numbers are its change-log positions, so they never exceed every op there is:
# what this PC holds plus what the files being imported carry. The slack covers ops that reached
# the sender by another stick; a header or op beyond it (10^9) is forged, not merely early.
SEQ_SLACK = 1_000_000
_HLC = re.compile(r"^\d{13}-\d{5}$")
_SHORT_TEXT = 100


class Refused(Exception):
    """One bundle must not be applied; the reason is the clerk's message."""

    def __init__(self, bundle: Bundle | None, reason: str, mass_delete: dict[str, int] | None = None) -> None:
        self.bundle = bundle
        self.reason = reason
        self.mass_delete = mass_delete
        super().__init__(reason)


@dataclass
class _Incoming:
    """A bundle whose header passed every check; its ops are judged chunk by chunk as it is applied."""

    bundle: Bundle
    # Live records its new ops delete, per table (known once its ops have been read).
    deletes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Judge:
    """What judging the bodies of one import needs besides the bundles themselves."""

    passphrase: str
    rules: field_rules.Rules
    now_ms: int
    allow_mass_delete: AllowMassDelete
    own_max: int
    own_knowledge: set[tuple[Any, ...]]


@dataclass
class _Piece:
    """One declared seq range of one site in one bundle, and whether it joins what this PC holds."""

    inc: _Incoming
    site: str
    lo: int
    hi: int
    # Ops above it are new here; None: the piece waits for an earlier bundle.
    floor: int | None = None


@dataclass
class _Read:
    """What streaming one bundle's body left behind: small aggregates, never its ops."""

    ops: int = 0
    new: int = 0
    top_hlc: str = ""  # the format is fixed (13 digits, '-', 5 digits): text order is clock order
    top_new_hlc: str = ""
    knowledge_forged: bool = False
    knowledge_top: int = 0
    knowledge_local_top: int = 0
    doomed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _short(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _SHORT_TEXT


def _check_header(b: Bundle) -> None:
    """The authenticated header's fields, typed; refuses anything a genuine writer never makes."""
    h, name = b.header, b.path.name
    bad = []
    for k in ("bundle_id", "community", "sender"):
        if not _short(h.get(k)):
            bad.append(k)
    for k in ("sender_user", "sender_pc", "community_name", "created"):
        if h.get(k) is not None and not (isinstance(h[k], str) and len(h[k]) <= _SHORT_TEXT):
            bad.append(k)
    if not isinstance(h.get("schema"), int) or isinstance(h.get("schema"), bool):
        bad.append("schema")
    ranges = h.get("ranges")
    if not isinstance(ranges, dict):
        bad.append("ranges")
    else:
        for site, ivs in ranges.items():
            ok = _short(site) and isinstance(ivs, list) and all(
                isinstance(iv, list) and len(iv) == 2 and all(type(x) is int for x in iv) and 1 <= iv[0] <= iv[1]
                for iv in ivs)
            if not ok:
                bad.append("ranges")
                break
    seen = h.get("seen")
    if seen is not None and not (isinstance(seen, dict) and all(
            _short(k) and type(v) is int and 0 <= v < 1 << 53 for k, v in seen.items())):
        bad.append("seen")
    if is_stream(b):
        sites = h.get("sites")
        snapshot = is_snapshot(b)
        if h.get("kind") not in ("snapshot", "delta") or not isinstance(sites, list) \
                or not all(_short(x) for x in sites) or len(set(sites)) != len(sites):
            bad.append("sites")
        elif isinstance(ranges, dict) and not all(
                site in sites and isinstance(ivs, list) and (not snapshot or (len(ivs) == 1 and ivs[0][0] == 1))
                for site, ivs in ranges.items()):
            bad.append("ranges")
        if snapshot and (not isinstance(h.get("hlc"), str) or not _HLC.match(h["hlc"])):
            bad.append("hlc")
    if bad:
        raise Refused(b, f"“{name}”的文件头内容不对（{'、'.join(dict.fromkeys(bad))}），不是本程序写出的同步文件，未导入。")


def _op_where(name: str, i: int, tbl: Any = None, col: Any = None) -> str:
    if isinstance(tbl, str) and tbl in field_rules.TABLE_LABELS:
        what = field_rules.TABLE_LABELS[tbl]
        if isinstance(col, str) and col != "*":
            what += f"·{field_rules.label_of(tbl, col)}"
        return f"“{name}”第 {i + 1} 条修改（{what}）"
    return f"“{name}”第 {i + 1} 条修改"


def _check_op(b: Bundle, rules: field_rules.Rules, sites: list[str], ranges: dict[str, Any], i: int,
              op: Any) -> Any:
    """One op typed and passing the same field rules as a local edit (its value parsed is returned);
    raises Refused naming op and field."""
    name = b.path.name
    if not isinstance(op, list) or len(op) != 8:
        raise Refused(b, f"{_op_where(name, i)}格式不对：应是一组 8 项的数据，未导入。")
    idx, seq, tbl, row_id, col, value, hlc, user = op

    def where(i: int = i, tbl: Any = tbl, col: Any = col) -> str:
        return _op_where(name, i, tbl, col)

    if type(idx) is not int or not 0 <= idx < len(sites) or type(seq) is not int or seq < 1:
        raise Refused(b, f"{where()}的编号无效，未导入。")
    if not isinstance(tbl, str) or not isinstance(col, str) or not isinstance(value, str):
        raise Refused(b, f"{where()}格式不对（表名、字段或值的类型错误），未导入。")
    if not isinstance(hlc, str) or not _HLC.match(hlc):
        raise Refused(b, f"{where()}的修改时间“{str(hlc)[:24]}”格式不对，未导入。")
    if user is not None and not (isinstance(user, str) and len(user) <= _SHORT_TEXT):
        raise Refused(b, f"{where()}的修改人无效，未导入。")
    try:
        field_rules.check_row_id(row_id)
        parsed = json.loads(value)
    except ValidationError as exc:
        raise Refused(b, f"{where()}：{exc}未导入。") from None
    except (ValueError, RecursionError):
        raise Refused(b, f"{where()}的值不是有效的数据（JSON），未导入。") from None
    try:
        rules.check(tbl, col, parsed)
    except ValidationError as exc:
        raise Refused(b, f"{where()}：{exc} 未导入。") from None
    if isinstance(parsed, dict) and "id" in parsed and parsed["id"] != row_id:
        raise Refused(b, f"{where()}的记录编号前后不一致，未导入。")
    if not any(a <= seq <= z for a, z in ranges.get(sites[idx], [])):
        raise Refused(b, f"“{name}”内容与文件头不符（第 {i + 1} 条修改不在文件头声明的范围内），未导入。")
    return parsed


def _body_chunks(b: Bundle, passphrase: str) -> tuple[list[str], Iterator[tuple[str, list[Any]]]]:
    """(sites, the body as ("o", ops) and ("k", knowledge rows) pieces), read as they are used.

    A streamed delta is authenticated, inflated and parsed one sealed chunk at a time, so no more
    than a chunk of its ops is ever held. A format-1 body is one sealed message and can only be
    read whole (this program no longer writes it); it is handed out in slices all the same.
    Raises Refused (never BundleError) so that the import drops this bundle and applies the rest.
    """
    name = b.path.name
    if is_stream(b):
        def stream() -> Iterator[tuple[str, list[Any]]]:
            try:
                for chunk in iter_chunks(b, passphrase, budget=MAX_BODY_BYTES):
                    if isinstance(chunk.get("o"), list) and len(chunk) == 1:
                        yield "o", chunk["o"]
                    elif isinstance(chunk.get("k"), list) and len(chunk) == 1:
                        yield "k", chunk["k"]
                    else:
                        raise Refused(b, f"“{name}”内容格式不对（未知的数据块），未导入。")
            except (BundleError, OSError) as exc:  # damaged or changed since it was first read
                raise Refused(b, str(exc)) from None

        return b.header["sites"], stream()
    try:
        body = read_bundle(b.path, passphrase).body or {}
    except (BundleError, OSError) as exc:
        raise Refused(b, str(exc)) from None
    sites, ops, knowledge = body.get("sites"), body.get("ops"), body.get("knowledge")
    if not isinstance(sites, list) or not isinstance(ops, list) or not isinstance(knowledge, list):
        raise Refused(b, f"“{name}”内容不完整（缺少修改列表），未导入。")
    if not all(_short(s) for s in sites) or len(set(sites)) != len(sites):
        raise Refused(b, f"“{name}”内容格式不对（电脑编号无效），未导入。")

    def pieces() -> Iterator[tuple[str, list[Any]]]:
        for i in range(0, len(ops), SNAPSHOT_ROWS):
            yield "o", ops[i:i + SNAPSHOT_ROWS]
        yield "k", knowledge

    return sites, pieces()


def _check_knowledge(b: Bundle, k: Any) -> None:
    if (not isinstance(k, list) or len(k) != 4 or not _short(k[0]) or not _short(k[2])
            or type(k[1]) is not int or type(k[3]) is not int or k[1] < 0 or k[3] < 0):
        raise Refused(b, f"“{b.path.name}”内容格式不对（同步进度记录无效），未导入。")


def _check_sites(b: Bundle, read: _Read, local: str, own_max: int, bound: int) -> None:
    """Only this PC writes ops under its site id; no sequence number beyond what could exist."""
    name = b.path.name
    for site, ivs in b.header["ranges"].items():
        top = max(hi for _lo, hi in ivs) if ivs else 0
        if site == local and top > own_max:
            raise Refused(b, f"“{name}”含有以本机名义写的修改（编号到 {top}，本机只写到 {own_max}）。"
                             "只有本机能写这些修改，此文件是伪造或损坏的，未导入。")
        if top > bound:
            raise Refused(b, f"“{name}”声明的修改编号（{top}）远超任何电脑可能写到的数目，未导入。")
    if read.knowledge_forged:
        raise Refused(b, f"“{name}”含有关于本机同步进度的记录，而本机并无此记录（只有本机能写），未导入。")
    if read.knowledge_local_top > own_max or read.knowledge_top > bound:
        raise Refused(b, f"“{name}”的同步进度记录中有不可能的编号，未导入。")


def _clock_check(b: Bundle, top_hlc: str, now_ms: int) -> None:
    h = b.header
    top = Hlc.parse(top_hlc).ms if top_hlc else 0
    if top > now_ms + MAX_CLOCK_SKEW_MS:
        when = dt.datetime.fromtimestamp(min(top, 253402214400000) / 1000).strftime("%Y-%m-%d %H:%M")
        raise Refused(b, f"“{b.path.name}”来自时钟不准的电脑（{h.get('sender_pc') or h['sender'][:8]}，"
                         f"其修改时间为 {when}，比本机快很多）。为免它的修改盖过以后所有修改，未导入。"
                         "请先校正那台电脑的日期和时间，再在那台电脑上重新导出。")


def _check_mass_delete(db: Database, inc: _Incoming, allow_mass_delete: AllowMassDelete) -> bool:
    """Refuses a mass delete the clerk has not allowed; True for one allowed (the report says so)."""
    b = inc.bundle
    if not inc.deletes or not is_mass_delete(db, inc.deletes):
        return False
    if allow_mass_delete is True or (isinstance(allow_mass_delete, set) and b.bundle_id in allow_mass_delete):
        return True
    counts = _labelled(inc.deletes)
    raise Refused(b, f"“{b.path.name}”要删除 {_counts_text(counts)}，超过一次同步允许的数量"
                     f"（{MASS_DELETE_RECORDS} 条，或居民的 {MASS_DELETE_SHARE:.0%}），未导入。"
                     "请先与写出此文件的电脑核实；确认无误后，在同步窗口中确认删除，"
                     "或在命令行加 --allow-mass-delete 重新导入。", counts)


def _live(db: Database, tbl: str, ids: list[str]) -> list[str]:
    """Those of `ids` that are live records of `tbl` here."""
    out: list[str] = []
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        out.extend(r[0] for r in db.conn.execute(
            f"SELECT id FROM {_q(tbl)} WHERE deleted = 0 AND id IN ({', '.join('?' for _ in part)})", part))
    return out


def is_mass_delete(db: Database, counts: dict[str, int]) -> bool:
    residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0") or 0
    persons = counts.get("person", 0)
    return sum(counts.values()) > MASS_DELETE_RECORDS or (
        persons > MASS_DELETE_MIN_PERSONS and persons > MASS_DELETE_SHARE * residents)


def _labelled(counts: dict[str, int]) -> dict[str, int]:
    return {field_rules.TABLE_LABELS.get(t, t): n for t, n in sorted(counts.items(), key=lambda kv: -kv[1])}


def list_bundles(folder: Path) -> tuple[list[Path], list[str]]:
    """(bundle files, names of incomplete temporary files) in a stick folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SyncError(f"找不到文件夹“{folder}”（U盘是否已插好？）。")
    files = sorted(p for p in folder.glob(f"*{EXTENSION}") if p.is_file())
    parts = sorted(p.name for p in folder.glob(f"*{EXTENSION}{PART_SUFFIX}"))
    return files, parts


AllowMassDelete = bool | set[str]


def import_from_folder(
    db: Database, folder: str | Path, passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None, allow_mass_delete: AllowMassDelete = False,
) -> SyncReport:
    files, parts = list_bundles(Path(folder))
    report = import_files(db, files, passphrase, progress=progress, now_ms=now_ms,
                          allow_mass_delete=allow_mass_delete)
    report.incomplete.extend(parts)
    return report


@logged("sync.import", summary=lambda r: {
    "files": len(r.files_applied), "applied": r.applied, "already_had": r.already_had, "conflicts": r.conflicts,
    "rejected": r.rejected, "refused": len(r.refused)})
def import_files(
    db: Database, paths: Iterable[str | Path], passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None, allow_mass_delete: AllowMassDelete = False,
) -> SyncReport:
    """Judge every new bundle among `paths` alone, then apply the good ones in one transaction.

    A bundle is refused whole (nothing of it applied) when it is damaged, malformed, carries a
    value a local edit could not store, writes under this PC's site id, claims impossible sequence
    numbers, refers to records that cannot exist, or deletes more than the mass-delete threshold
    without `allow_mass_delete` (True, or the set of bundle ids the clerk confirmed). The other
    bundles still apply; ``report.refused`` says which files were refused and why.
    """
    files = [Path(p) for p in paths]
    try:
        report = _import_files(db, files, passphrase, progress=progress, now_ms=now_ms,
                               allow_mass_delete=allow_mass_delete)
    except KnownError as exc:
        with contextlib.suppress(Exception):  # the import's own error is the one to show
            record_event(db, Action.SYNC_IN, {"files": [p.name for p in files], "error": str(exc)},
                         Outcome.REFUSED if isinstance(exc, PermissionDeniedError) else Outcome.FAILED)
        raise
    if report.files_applied or report.rejected or report.other_community:
        record_event(db, Action.SYNC_IN, {
            "files": report.files_applied, "applied": report.applied, "already_had": report.already_had,
            "conflicts": report.conflicts, "rejected": report.rejected, "other_community": report.other_community,
            "refused": [r.file for r in report.refused],
            "mass_deleted": [{"file": f, "counts": c} for f, c in report.mass_deleted],
        }, Outcome.OK if report.files_applied or not report.rejected else Outcome.FAILED)
    return report


def _import_files(
    db: Database, paths: list[Path], passphrase: str, *, progress: Progress | None = None,
    now_ms: int | None = None, allow_mass_delete: AllowMassDelete = False,
) -> SyncReport:
    report = SyncReport()
    if not passphrase:
        raise SyncError("请填写同步口令。")
    now_ms = wall_ms() if now_ms is None else now_ms
    if not db._identity_checked:
        with db.write(mode="apply"):
            pass  # claims this file's identity first: the own-site checks below need the final site id
    local = db.site_id
    community = community_of(db)
    schema_version = db.schema_version
    rules = field_rules.Rules(db.conn)
    known = {r[0] for r in db.query("SELECT bundle_id FROM sync_bundle")}
    paths = [Path(p) for p in paths]
    opened: list[Bundle] = []
    locked: list[tuple[Path, str]] = []
    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths) + 2, f"检查 {path.name}")
        try:
            # Authenticated before anything in it is believed, even the community it names.
            b = read_bundle(path, passphrase, parse_body=False)
            _check_header(b)
        except WrongPassphrase as exc:
            locked.append((path, str(exc)))
            continue
        except (BundleError, OSError) as exc:
            report.refuse(path.name, str(exc))
            continue
        except Refused as exc:
            report.refuse(path.name, exc.reason)
            continue
        h = b.header
        if h["bundle_id"] in known:
            report.files_known += 1
            continue
        if community is not None and h["community"] != community[0]:
            report.other_community.append(path.name)
            continue
        if community is None:
            community = (h["community"], h.get("community_name") or "")
        known.add(h["bundle_id"])
        opened.append(b)
    opened_any = bool(opened) or report.files_known or report.other_community
    for path, message in locked:
        if not opened_any:
            # A flipped bit in the key parameters looks the same as a wrong passphrase.
            message = (f"同步口令不对，或文件已损坏，无法打开“{path.name}”。请向本社区管理员确认同步口令；"
                       "口令无误时，请在写出此文件的电脑上重新同步。")
        else:
            # Other files open with this passphrase: this one is damaged or was written under another.
            message = (f"“{path.name}”无法用本社区的同步口令打开：文件已损坏，或是用别的口令写的"
                       "（例如其他社区的文件）。未导入。")
        report.refuse(path.name, message)
    snapshots = sorted((b for b in opened if is_snapshot(b)),
                       key=lambda b: -sum(ivs[0][1] for ivs in b.header["ranges"].values()))
    for b in snapshots:
        try:
            _apply_snapshot(db, b, passphrase, rules, report, now_ms, allow_mass_delete)
        except (BundleError, OSError) as exc:
            report.refuse(b.path.name, str(exc), bundle_id=b.bundle_id)
        except Refused as exc:
            report.refuse(b.path.name, exc.reason, bundle_id=b.bundle_id, mass_delete=exc.mass_delete)
        except sqlite3.IntegrityError as exc:
            report.refuse(b.path.name, f"“{b.path.name}”的内容不符合数据库的约束（{exc}），未导入。",
                          bundle_id=b.bundle_id)
    opened = [b for b in opened if not is_snapshot(b)]
    if snapshots and community is None:
        community = community_of(db)
    judge = _Judge(passphrase, rules, now_ms, allow_mass_delete, have_vector(db.conn, local).get(local, 0),
                   {tuple(r) for r in db.query(
                       "SELECT site_id, after_seq, seen_site, seen_seq FROM sync_knowledge WHERE site_id = ?",
                       (local,))})
    # Only the headers are judged here: the bodies are read chunk by chunk inside the applying
    # transaction, and a bundle refused there (even by its last op) is rolled back whole.
    accepted: list[_Incoming] = []
    for b in opened:
        if b.header["schema"] > schema_version:
            report.refuse(b.path.name, f"“{b.path.name}”来自较新版本的安居台账（数据结构第 {b.header['schema']} 版），"
                                       f"本机只支持到第 {schema_version} 版。请先升级本机程序，未导入。",
                          bundle_id=b.bundle_id)
            continue
        accepted.append(_Incoming(b))
    if not accepted:
        return report
    if progress:
        progress(len(paths), len(paths) + 2, "合并数据")
    assert community is not None
    _apply_accepted(db, accepted, report, community, judge)
    if progress:
        progress(len(paths) + 2, len(paths) + 2, "完成")
    return report


def _apply_accepted(db: Database, accepted: list[_Incoming], report: SyncReport, community: tuple[str, str],
                    judge: _Judge) -> None:
    """Apply in one transaction; a bundle found bad while applying is dropped and the rest applied again.

    The bodies are judged while they are applied, a chunk at a time: a refusal anywhere in a
    bundle (its last op, its mass delete only known once every op is read) rolls the whole
    transaction back, so nothing of any bundle stays, and the others are applied again without it.
    """
    # A first sync into an empty database: materialize() already holds back every row whose
    # referenced row is missing, so SQLite's own per-row foreign-key work (a third of the insert
    # time) is redundant there. The pragma only takes effect outside a transaction.
    fresh = db._tx is None and merge.is_empty(db.conn)
    if fresh:
        db.conn.execute("PRAGMA foreign_keys = OFF")
    try:
        while accepted:
            attempt = SyncReport()
            mass_delete = None
            try:
                with db.write(mode="apply") as tx:
                    _apply(db, tx.now, accepted, attempt, community, judge)
            except Refused as exc:
                culprit = next(i for i in accepted if i.bundle is exc.bundle)
                reason, mass_delete = exc.reason, exc.mass_delete
            except sqlite3.IntegrityError as exc:
                # A rule this program lacks but the schema has: find the bundle that breaks it.
                found = _find_culprit(db, accepted, community, judge)
                if found is None:
                    raise
                culprit = found
                reason = f"“{culprit.bundle.path.name}”的内容不符合数据库的约束（{exc}），未导入。"
            else:
                for name in ("applied", "already_had", "conflicts", "duplicates", "shared_rooms", "waiting"):
                    setattr(report, name, getattr(attempt, name))
                report.files_applied.extend(attempt.files_applied)
                report.from_pcs.update(attempt.from_pcs)
                report.mass_deleted.extend(attempt.mass_deleted)
                return
            accepted = [i for i in accepted if i is not culprit]
            report.refuse(culprit.bundle.path.name, reason, bundle_id=culprit.bundle.bundle_id,
                          mass_delete=mass_delete)
    finally:
        if fresh:
            db.conn.execute("PRAGMA foreign_keys = ON")


def _apply_snapshot(db: Database, b: Bundle, passphrase: str, rules: field_rules.Rules, report: SyncReport,
                    now_ms: int, allow_mass_delete: AllowMassDelete) -> None:
    """Apply a snapshot in one transaction, chunk by chunk as it is read (refused whole on any bad chunk).

    Into an empty database the rows go in as they are. Into a database with rows (a PC whose seen
    vector predates what the sender folded away) the ops the snapshot covers are dropped, its rows
    written over, and the ops it does not cover (this PC's unsent edits) folded again on top: rows
    without ops fold as the lowest clock on every PC, so both sides end with the same rows.
    """
    conn = db.conn
    h, name, local = b.header, b.path.name, db.site_id
    if h["schema"] > db.schema_version:
        raise Refused(b, f"“{name}”来自较新版本的安居台账（数据结构第 {h['schema']} 版），"
                         f"本机只支持到第 {db.schema_version} 版。请先升级本机程序，未导入。")
    community = community_of(db)
    if community is not None and h["community"] != community[0]:
        report.other_community.append(name)
        return
    have = have_vector(conn, local)
    tops = {s: ivs[0][1] for s, ivs in h["ranges"].items()}
    if tops.get(local, 0) > have.get(local, 0):
        raise Refused(b, f"“{name}”含有以本机名义写的修改（编号到 {tops[local]}，本机只写到 {have.get(local, 0)}）。"
                         "只有本机能写这些修改，此文件是伪造或损坏的，未导入。")
    bound = last_op_id(conn) + 20 * SEQ_SLACK
    if any(top > bound for top in tops.values()):
        raise Refused(b, f"“{name}”声明的修改编号远超任何电脑可能写到的数目，未导入。")
    if Hlc.parse(h["hlc"]).ms > now_ms + MAX_CLOCK_SKEW_MS:
        raise Refused(b, f"“{name}”来自时钟不准的电脑（{h.get('sender_pc') or h['sender'][:8]}），"
                         "为免它的修改盖过以后所有修改，未导入。请先校正那台电脑的日期和时间，再重新导出。")
    if all(top <= have.get(s, 0) for s, top in tops.items()):
        with db.write(mode="apply") as tx:
            _record_in(conn, b, tx.now, 0)  # nothing new in it: known from now on
        report.files_known += 1
        return
    own_knowledge = {tuple(r) for r in conn.execute(
        "SELECT site_id, after_seq, seen_site, seen_seq FROM sync_knowledge WHERE site_id = ?", (local,))}
    schema = merge.Schema(conn)
    fresh = merge.is_empty(conn)
    deletes: dict[str, int] = defaultdict(int)
    # Random UUID keys scatter the inserts over every index: with SQLite's default 2 MB page cache a
    # 100,000-resident snapshot thrashes, so the cache is raised while it applies. Into an empty
    # database the foreign keys are checked once at the end instead of row by row.
    old_cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = {-SNAPSHOT_CACHE_KB}")
    if fresh:
        conn.execute("PRAGMA foreign_keys = OFF")
    try:
        _apply_snapshot_tx(db, b, passphrase, rules, report, schema, fresh, have, tops, own_knowledge, deletes,
                           allow_mass_delete)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(old_cache)}")
        if fresh:
            conn.execute("PRAGMA foreign_keys = ON")


SNAPSHOT_CACHE_KB = 256 << 10


def _apply_snapshot_tx(db: Database, b: Bundle, passphrase: str, rules: field_rules.Rules, report: SyncReport,
                       schema: merge.Schema, fresh: bool, have: dict[str, int], tops: dict[str, int],
                       own_knowledge: set[tuple], deletes: dict[str, int], allow_mass_delete: AllowMassDelete) -> None:
    conn = db.conn
    h, name, local = b.header, b.path.name, db.site_id
    sites = h["sites"]
    new_ops: list[merge.Op] = []
    top_hlc = h["hlc"]
    rows = 0
    with db.write(mode="apply") as tx:
        if not db.meta("sync_community"):
            db.set_meta("sync_community", h["community"])
        # Into an empty database each index is built once from the loaded rows (a sort) instead of
        # taking every row at a random place; a unique index that cannot be built refuses the file.
        indexes = [] if not fresh else [tuple(r) for r in conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
            f"({', '.join('?' for _ in schema.columns)}, 'person_search')", list(schema.columns))]
        triggers = " ".join(r[0] for r in conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'trigger'"))
        indexes = [(n, q) for n, q in indexes if n not in triggers]  # a trigger may name its index
        for index_name, _sql in indexes:
            conn.execute(f"DROP INDEX {_q(index_name)}")
        # Likewise the search and address-order tables are filled once at the end, not row by row.
        derived = [] if not fresh else [tuple(r) for r in conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'") if r[0] in DERIVED_TRIGGERS]
        for trigger_name, _sql in derived:
            conn.execute(f"DROP TRIGGER {_q(trigger_name)}")
        if not fresh:
            if have.get(local):  # this PC's last seq must outlive its ops
                conn.execute("INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)", (local, have[local]))
            conn.executemany("DELETE FROM change_log WHERE site_id = ? AND seq <= ?", list(tops.items()))
        for chunk in iter_chunks(b, passphrase):
            if "t" in chunk:
                rows += _snapshot_rows(db, b, rules, schema, chunk, fresh, deletes)
            elif "o" in chunk and isinstance(chunk["o"], list):
                taken = []
                for i, op in enumerate(chunk["o"]):
                    _check_op(b, rules, sites, h["ranges"], i, op)
                    o = (sites[op[0]], *op[1:])
                    taken.append(o)
                    if o[1] > have.get(o[0], 0):
                        new_ops.append(o)
                        top_hlc = max(top_hlc, o[6])
                conn.executemany("INSERT OR IGNORE INTO change_log(site_id, seq, tbl, row_id, col, value, hlc, user) "
                                 "VALUES (?,?,?,?,?,?,?,?)", taken)
            elif "k" in chunk and isinstance(chunk["k"], list):
                for k in chunk["k"]:
                    _check_knowledge(b, k)
                    if k[0] == local and tuple(k) not in own_knowledge:
                        raise Refused(b, f"“{name}”含有关于本机同步进度的记录，而本机并无此记录（只有本机能写），未导入。")
                conn.executemany("INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) "
                                 "VALUES (?, ?, ?, ?)", [tuple(k) for k in chunk["k"]])
            else:
                raise Refused(b, f"“{name}”内容格式不对（未知的数据块），未导入。")
        for _name, index_sql in indexes:
            conn.execute(index_sql)
        if derived:
            refill_derived(conn)
            for _name, trigger_sql in derived:
                conn.execute(trigger_sql)
        if fresh:
            broken = conn.execute("PRAGMA foreign_key_check").fetchone()
            if broken is not None:
                label = field_rules.TABLE_LABELS.get(broken[0], broken[0])
                raise Refused(b, f"“{name}”中的{label}记录指向不存在的{field_rules.TABLE_LABELS.get(broken[2], broken[2])}，"
                                 "是错误或伪造的数据，未导入。")
        if deletes and is_mass_delete(db, deletes):
            allowed = allow_mass_delete is True or (
                isinstance(allow_mass_delete, set) and b.bundle_id in allow_mass_delete)
            if not allowed:
                counts = _labelled(deletes)
                raise Refused(b, f"“{name}”要删除 {_counts_text(counts)}，超过一次同步允许的数量，未导入。"
                                 "请先与写出此文件的电脑核实；确认无误后，在同步窗口中确认删除，"
                                 "或在命令行加 --allow-mass-delete 重新导入。", counts)
            report.mass_deleted.append((name, _labelled(deletes)))
        after = last_op_id(conn)
        for s, top in tops.items():
            if s != local and top > have.get(s, 0):
                conn.execute("INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)", (s, top))
                conn.execute("INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) "
                             "VALUES (?, ?, ?, ?)", (local, after, s, top))
        # Rows whose ops the snapshot carries (or this PC kept) are folded again over the rows written.
        keys = [tuple(r) for r in conn.execute("SELECT DISTINCT tbl, row_id FROM change_log")] if not fresh \
            else list(dict.fromkeys((o[2], o[3]) for o in new_ops))
        if keys:
            merge.materialize(conn, schema, keys)
        report.conflicts += merge.detect_conflicts(conn, new_ops, tx.now)
        last = db.meta("hlc")
        db.set_meta("hlc", str(observe(Hlc.parse(last) if last else None, Hlc.parse(top_hlc))))
        # What the sender folded away is folded away here too: a stick lacking it needs a snapshot.
        done = compacted_vector(conn)
        for s, top in tops.items():
            done[s] = max(done.get(s, 0), top)
        db.set_meta("compacted", json.dumps(done, sort_keys=True))
        _record_in(conn, b, tx.now, rows + len(new_ops))
    report.applied += rows + len(new_ops)
    report.files_applied.append(name)
    pc, user = h.get("sender_pc") or "", h.get("sender_user") or ""
    report.from_pcs[f"电脑 {pc or h['sender'][:8]}（{user or '未知'}）"] = rows + len(new_ops)


def _snapshot_rows(db: Database, b: Bundle, rules: field_rules.Rules, schema: merge.Schema, chunk: dict[str, Any],
                   fresh: bool, deletes: dict[str, int]) -> int:
    """Write one chunk of a snapshot's rows after checking each against the field rules."""
    name = b.path.name
    tbl, cols, rows = chunk.get("t"), chunk.get("c"), chunk.get("r")
    if not isinstance(tbl, str) or tbl not in schema.colsets:
        raise Refused(b, f"“{name}”含有本程序不认识的数据表“{str(tbl)[:40]}”，未导入。")
    label = field_rules.TABLE_LABELS.get(tbl, tbl)
    if (not isinstance(cols, list) or "id" not in cols or len(set(cols)) != len(cols)
            or not all(isinstance(c, str) and c in schema.colsets[tbl] for c in cols)
            or not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == len(cols) for r in rows)):
        raise Refused(b, f"“{name}”中的{label}记录格式不对，未导入。")
    at = cols.index("id")
    for r in rows:
        values = dict(zip(cols, r, strict=True))
        try:
            field_rules.check_row_id(r[at])
            rules.check_insert(tbl, values)
        except ValidationError as exc:
            raise Refused(b, f"“{name}”中的{label}记录（{str(r[at])[:8]}）：{exc} 未导入。") from None
    names = ", ".join(_q(c) for c in cols)
    marks = ", ".join("?" for _ in cols)
    conn = db.conn
    if fresh:
        conn.executemany(f"INSERT INTO {_q(tbl)} ({names}) VALUES ({marks})", rows)
        return len(rows)
    if "deleted" in cols:
        d = cols.index("deleted")
        gone = [r[at] for r in rows if r[d] == 1]
        for i in range(0, len(gone), 500):
            part = gone[i:i + 500]
            n = conn.execute(f"SELECT count(*) FROM {_q(tbl)} WHERE deleted = 0 AND id IN "
                             f"({', '.join('?' for _ in part)})", part).fetchone()[0]
            if n:
                deletes[tbl] += n
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in cols if c != "id")
    differs = " OR ".join(f"{_q(c)} IS NOT excluded.{_q(c)}" for c in cols if c != "id") or "0"
    conn.executemany(f"INSERT INTO {_q(tbl)} ({names}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {sets} "
                     f"WHERE {differs}", rows)
    return len(rows)


class _Trial(Exception):
    pass


def _find_culprit(db: Database, accepted: list[_Incoming], community: tuple[str, str],
                  judge: _Judge) -> _Incoming | None:
    """The first bundle whose addition makes the apply fail (each try is rolled back).

    Bundles are added in the order their ops join what this PC holds, so a bundle is never tried
    before one it depends on (which would make it wait, and blame the next one).
    """
    order: list[Bundle] = []
    try:
        with db.write(mode="apply") as tx:
            _apply(db, tx.now, accepted, SyncReport(), community, judge, order=order)
            raise _Trial
    except (_Trial, sqlite3.IntegrityError, Refused):
        pass
    rank = {id(b): i for i, b in enumerate(order)}
    accepted = sorted(accepted, key=lambda inc: rank.get(id(inc.bundle), len(rank)))
    for k in range(1, len(accepted) + 1):
        try:
            with db.write(mode="apply") as tx:
                _apply(db, tx.now, accepted[:k], SyncReport(), community, judge)
                raise _Trial
        except _Trial:
            continue
        except (sqlite3.IntegrityError, Refused):
            return accepted[k - 1]
    return None


def _covered(conn: sqlite3.Connection, have: dict[str, int], site: str, seq: int) -> bool:
    """Does this PC now hold every op the author of (site, seq) had seen when making it?"""
    for seen_site, seen in conn.execute(
        "SELECT seen_site, max(seen_seq) FROM sync_knowledge WHERE site_id = ? AND after_seq < ? GROUP BY seen_site",
        (site, seq),
    ):
        if seen > have.get(seen_site, 0):
            return False
    return True


def _check_references(conn: sqlite3.Connection, rules: field_rules.Rules, after_op: int,
                      carrier: Callable[[str, int], Bundle | None], have: dict[str, int]) -> None:
    """A row held back for a record nobody has, although its author had nothing we lack: forged.

    Only rows this import touched (ops above `after_op`) and that wait in sync_pending are looked at.
    """
    held = conn.execute(
        "SELECT tbl, row_id FROM sync_pending AS p WHERE EXISTS (SELECT 1 FROM change_log AS c "
        "WHERE c.tbl = p.tbl AND c.row_id = p.row_id AND c.op_id > ?)", (after_op,)).fetchall()
    for key in held:
        tbl, row_id = key
        ops = conn.execute(
            "SELECT site_id, seq, col, value, hlc FROM change_log WHERE tbl = ? AND row_id = ?", key).fetchall()
        has_insert, state = merge.fold(ops)
        problems: list[tuple[tuple, str]] = []
        if not has_insert:
            clock = max((o[4], o[0], o[1]) for o in ops)
            problems.append((clock, f"修改的{field_rules.TABLE_LABELS.get(tbl, tbl)}记录（{row_id[:8]}）不存在"))
        for col, target in rules.refs(tbl):
            got = state.get(col)
            if got is None or got[1] is None:
                continue
            value = got[1]
            if conn.execute(f"SELECT 1 FROM {_q(target)} WHERE id = ?", (value,)).fetchone():
                continue
            if conn.execute("SELECT 1 FROM change_log WHERE tbl = ? AND row_id = ? LIMIT 1",
                            (target, value)).fetchone():
                continue  # the record exists but waits itself
            problems.append((got[0], f"{field_rules.label_of(tbl, col)}指向不存在的"
                                     f"{field_rules.TABLE_LABELS.get(target, target)}（{str(value)[:8]}）"))
        for (_hlc, site, seq), what in problems:
            b = carrier(site, seq)
            if b is not None and _covered(conn, have, site, seq):
                label = field_rules.TABLE_LABELS.get(tbl, tbl)
                raise Refused(b, f"“{b.path.name}”中的{label}记录：{what}。本机已有写出它的电脑当时的全部数据，"
                                 "所以这不是尚未送达，而是错误或伪造的数据，未导入。")


def _plan(accepted: list[_Incoming], have: dict[str, int], order: list[Bundle] | None) -> list[_Piece]:
    """Which declared ranges join what this PC holds (taking them in turn as they join), from the
    headers alone; `have` becomes what this PC holds afterwards."""
    pieces = [_Piece(inc, site, int(lo), int(hi)) for inc in accepted
              for site, ivs in inc.bundle.header["ranges"].items() for lo, hi in ivs]
    progress_made = True
    while progress_made:
        progress_made = False
        for p in pieces:
            if p.floor is not None:
                continue
            h = have.get(p.site, 0)
            if p.hi <= h:
                p.floor = p.hi  # every op of it is here already
            elif p.lo <= h + 1:
                p.floor = h
                have[p.site] = p.hi
                progress_made = True
                if order is not None and not any(x is p.inc.bundle for x in order):
                    order.append(p.inc.bundle)
    return pieces


# Rows folded at a time after an import's ops are stored (each batch's ops and rows in memory).
MATERIALIZE_ROWS = 5000


def _stream_in(db: Database, inc: _Incoming, judge: _Judge, find: Callable[[str, int], _Piece],
               start: dict[str, int], report: SyncReport) -> _Read:
    """Read one bundle's body chunk by chunk: judge every op and knowledge row, store the new ops in
    change_log and the knowledge as they come, and keep only aggregates for the checks that need
    the whole bundle. Rows are not touched yet, so the live records it deletes are counted as before."""
    conn, local = db.conn, db.site_id
    b = inc.bundle
    ranges = b.header["ranges"]
    sites, chunks = _body_chunks(b, judge.passphrase)
    read = _Read()
    for kind, items in chunks:
        if kind == "k":
            for k in items:
                _check_knowledge(b, k)
                if k[0] == local and tuple(k) not in judge.own_knowledge:
                    read.knowledge_forged = True
                if k[2] == local:
                    read.knowledge_local_top = max(read.knowledge_local_top, k[3])
                read.knowledge_top = max(read.knowledge_top, k[1], k[3])
            conn.executemany(
                "INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) VALUES (?, ?, ?, ?)",
                [tuple(k) for k in items])
            continue
        new: list[tuple[Any, ...]] = []
        doomed: dict[str, list[str]] = defaultdict(list)
        for op in items:
            value = _check_op(b, judge.rules, sites, ranges, read.ops, op)
            read.ops += 1
            site, seq = sites[op[0]], op[1]
            read.top_hlc = max(read.top_hlc, op[6])
            piece = find(site, seq)
            if piece.floor is None:
                report.waiting += 1
            elif seq > piece.floor:
                new.append((site, *op[1:]))
                read.top_new_hlc = max(read.top_new_hlc, op[6])
            else:
                report.already_had += 1
            if seq > start.get(site, 0) and (value == 1 if op[4] == "deleted"
                                             else op[4] == "*" and value.get("deleted") == 1):
                doomed[op[2]].append(op[3])
        conn.executemany(
            "INSERT OR IGNORE INTO change_log(site_id, seq, tbl, row_id, col, value, hlc, user) "
            "VALUES (?,?,?,?,?,?,?,?)", new)
        read.new += len(new)
        for tbl, ids in doomed.items():
            read.doomed[tbl].update(_live(db, tbl, ids))
    return read


def _apply(db: Database, now: str, accepted: list[_Incoming], report: SyncReport, community: tuple[str, str],
           judge: _Judge, order: list[Bundle] | None = None) -> None:
    """Apply the accepted bundles inside the caller's transaction; raises Refused naming the bundle
    that must not be applied (the caller rolls back and applies the others again).

    Memory stays flat whatever the number of ops: which ranges join what this PC holds is decided
    from the headers; each body is then streamed once, its new ops stored in change_log; the
    checks that need a whole bundle (own site, sequence bounds, clock, mass delete) run on the
    aggregates kept; the rows touched are folded in batches read back from change_log.
    """
    conn = db.conn
    local = db.site_id
    if not db.meta("sync_community"):
        db.set_meta("sync_community", community[0])
    fresh = merge.is_empty(conn)
    have = have_vector(conn, local)
    start = dict(have)
    start_op = last_op_id(conn)
    plan_order: list[Bundle] = []
    pieces = _plan(accepted, have, plan_order)
    if order is not None:
        order.extend(plan_order)
    index: dict[tuple[int, str], list[_Piece]] = defaultdict(list)
    for p in pieces:
        index[(id(p.inc), p.site)].append(p)
    for ps in index.values():
        ps.sort(key=lambda p: p.lo)
    rank = {id(b): i for i, b in enumerate(plan_order)}
    streamed = sorted(accepted, key=lambda inc: rank.get(id(inc.bundle), len(rank)))
    reads: dict[int, _Read] = {}
    for inc in streamed:
        ps_of = {site: (([p.lo for p in ps]), ps) for (key, site), ps in index.items() if key == id(inc)}

        def find(site: str, seq: int, ps_of: dict[str, tuple[list[int], list[_Piece]]] = ps_of) -> _Piece:
            los, ps = ps_of[site]
            i = bisect.bisect_right(los, seq)
            # _check_op made sure one range holds seq; ranges overlap only in a forged header.
            return next(p for p in reversed(ps[:i]) if seq <= p.hi)

        reads[id(inc)] = _stream_in(db, inc, judge, find, start, report)
    # The checks that need every op of a bundle, on what streaming kept.
    bound = start_op + sum(r.ops for r in reads.values()) + SEQ_SLACK
    mass: set[int] = set()
    for inc in streamed:
        read = reads[id(inc)]
        _check_sites(inc.bundle, read, local, judge.own_max, bound)
        _clock_check(inc.bundle, read.top_hlc, judge.now_ms)
        inc.deletes = {tbl: len(ids) for tbl, ids in read.doomed.items() if ids}
        if _check_mass_delete(db, inc, judge.allow_mass_delete):
            mass.add(id(inc))
    taken = [p for p in pieces if p.floor is not None and p.floor < p.hi]
    waiting_bundles = {p.inc.bundle.bundle_id for p in pieces if p.floor is None}
    report.applied = sum(r.new for r in reads.values())
    conn.executemany(
        "INSERT OR REPLACE INTO sync_state(site_id, max_seq) VALUES (?, ?)",
        [(s, m) for s, m in have.items() if s != local and m > start.get(s, 0)],
    )
    after = conn.execute("SELECT coalesce(max(op_id), 0) FROM change_log").fetchone()[0]
    conn.executemany(
        "INSERT OR IGNORE INTO sync_knowledge(site_id, after_seq, seen_site, seen_seq) VALUES (?, ?, ?, ?)",
        [(local, after, s, m) for s, m in have.items() if s != local and m > start.get(s, 0)],
    )
    if report.applied:
        schema = merge.Schema(conn)
        merge.materialize_since(conn, schema, start_op, fresh=fresh, batch=MATERIALIZE_ROWS)

        def carrier(site: str, seq: int) -> Bundle | None:
            for p in taken:
                if p.site == site and p.floor is not None and p.floor < seq <= p.hi:
                    return p.inc.bundle
            return None

        _check_references(conn, judge.rules, start_op, carrier, have)
        report.conflicts = merge.detect_conflicts_since(conn, start_op, now)
        # Only a new person, a changed ID number or a restored record can make a new duplicate.
        report.duplicates = _count_duplicates(conn, _touched(conn, start_op, "person", ("*", "id_number", "deleted")))
        # Two PCs may each have put a household into the same empty room. The ops are applied as
        # sent (refusing them would make the PCs disagree for good); the room is flagged instead.
        report.shared_rooms = _count_shared_rooms(
            conn, _touched(conn, start_op, "household", ("*", "room_id", "status", "deleted")))
        top = max(Hlc.parse(r.top_new_hlc) for r in reads.values() if r.new)
        last = db.meta("hlc")
        db.set_meta("hlc", str(observe(Hlc.parse(last) if last else None, top)))
    for inc in streamed:
        read = reads[id(inc)]
        b = inc.bundle
        if read.new:
            h = b.header
            pc, user = h.get("sender_pc") or "", h.get("sender_user") or ""
            label = f"电脑 {pc or h['sender'][:8]}（{user or '未知'}）"
            report.from_pcs[label] = report.from_pcs.get(label, 0) + read.new
        if b.bundle_id in waiting_bundles:
            continue  # try again next time: the bundle it waits for may come later
        _record_in(conn, b, now, read.ops)
        report.files_applied.append(b.path.name)
        if id(inc) in mass:
            report.mass_deleted.append((b.path.name, _labelled(inc.deletes)))


def _touched(conn: sqlite3.Connection, after_op: int, tbl: str, cols: tuple[str, ...]) -> set[str]:
    """Rows of `tbl` that ops above `after_op` wrote one of `cols` of."""
    return {r[0] for r in conn.execute(
        # '+tbl': read the import's ops by op id, not every op the table ever had by the row index.
        f"SELECT DISTINCT row_id FROM change_log WHERE op_id > ? AND +tbl = ? AND col IN ({', '.join('?' for _ in cols)})",
        (after_op, tbl, *cols))}


def _record_in(conn: sqlite3.Connection, b: Bundle, now: str, count: int) -> None:
    """The bundle is applied here; what its sender had seen (for compaction) is remembered."""
    h = b.header
    conn.execute(
        "INSERT OR IGNORE INTO sync_bundle(bundle_id, direction, file_name, size, sender, sender_user, sender_pc, "
        "created, done_at, op_count, ranges) VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (h["bundle_id"], b.path.name, b.path.stat().st_size, h["sender"], h.get("sender_user"),
         h.get("sender_pc"), h.get("created"), now, count, json.dumps(h["ranges"])),
    )
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sync_peer'").fetchone() is None:
        return  # today's code on a file of an older schema (a test's earlier program): nothing to remember
    have = have_vector(conn, conn.execute("SELECT value FROM meta WHERE key = 'site_id'").fetchone()[0])
    for site, seq in (h.get("seen") or {}).items():
        seq = min(seq, have.get(site, 0))  # what the sender saw beyond what we hold folds nothing here
        conn.execute(
            "INSERT INTO sync_peer(site_id, seen_site, seen_seq) VALUES (?, ?, ?) ON CONFLICT (site_id, seen_site) "
            "DO UPDATE SET seen_seq = max(seen_seq, excluded.seen_seq)", (h["sender"], site, seq))


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
    progress: Progress | None = None, allow_mass_delete: AllowMassDelete = False,
) -> SyncReport:
    """The one button: import every new bundle on the stick, then write this PC's bundle."""
    report = import_from_folder(db, folder, passphrase, progress=progress, allow_mass_delete=allow_mass_delete)
    if report.files_applied and db.can_write():
        if progress is not None:  # a rewrite of a large file takes seconds: say what is going on
            progress(0, 0, "整理数据库文件")
        compact(db.conn, db.site_id)  # what every PC now holds is folded into the rows
    path, n = export_to_folder(db, folder, passphrase, scrypt_n=scrypt_n, progress=progress)
    if path is not None:
        report.exported_file = path.name
        report.exported_ops = n
    return report

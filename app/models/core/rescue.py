"""Rescue of a damaged database: every row still readable, copied into a new, valid Anju file.

Rows are read table by table in rowid order; where a read hits a damaged page the scan jumps
ahead (1, 2, 4 … rowids) until it reads again, so one bad page loses only the rows on it. A
synced row that was lost but whose ops survive in ``change_log`` is rebuilt from them (the
'*' insert op, then each later column op in clock order, as sync's merge would).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.models.core import sqlite as sqlite3
from app.models.core.db import Database, is_damage_error, open_database
from app.models.core.db_keys import KeyFile, keys_path, remember_key
from app.models.core.errors import DatabaseError, KnownError
from app.models.core.logs import file_ref, logged
from app.models.core.natural import natural_compare
from app.models.core.schema import _q, synced_tables

BATCH = 500
MAX_ROWID = 2**62
# Tables the new file fills itself, or that only describe the old file.
SKIP = {"write_ctx", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}


@dataclass
class TableRescue:
    table: str
    rescued: int = 0
    rebuilt: int = 0  # lost rows rebuilt from change_log
    lost: int = 0  # rowids skipped over damaged pages, plus rows that broke a constraint
    unreadable: bool = False  # not even the table's first page could be read


@dataclass
class RescueReport:
    target: Path
    tables: list[TableRescue] = field(default_factory=list)
    orphans: dict[str, int] = field(default_factory=dict)  # rows whose parent was lost
    relogged: int = 0  # rescued rows whose insert op was lost, logged again

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tables)

    def lines(self) -> list[str]:
        out = [f"已抢救到新文件：{self.target}", "表 | 抢救的行 | 由变更记录重建 | 丢失的行（约）"]
        for t in self.tables:
            if t.rescued or t.rebuilt or t.lost or t.unreadable:
                if t.unreadable:
                    lost = f"{t.lost:,}（整表无法读取）" if t.lost else "行数不明（整表及其索引都无法读取）"
                else:
                    lost = f"{t.lost:,}"
                out.append(f"{t.table} | {t.rescued:,} | {t.rebuilt:,} | {lost}")
        if self.orphans:
            out.append(
                "引用已丢失记录的行（已保留，请核对）：" + "，".join(f"{k} {v} 行" for k, v in self.orphans.items())
            )
        if self.relogged:
            out.append(f"{self.relogged:,} 行的变更记录已丢失，已重新记录（下次同步时发给其他电脑）。")
        out.append(
            "请先核对新文件里的数据（anju stats / 打开程序查看），确认后再用它替换损坏的文件；损坏的文件未作任何改动。"
        )
        return out


@logged("backup.rescue", facts=lambda a: {"to": file_ref(a["target"])},
        summary=lambda r: {"relogged": r.relogged, "orphan_tables": len(r.orphans)})
def rescue_database(
    source: str | Path, target: str | Path, progress: Callable[[str], None] | None = None
) -> RescueReport:
    """Copy every readable row of `source` into the new file `target` (which must not exist)."""
    source, target = Path(source), Path(target)
    if target.exists():
        raise KnownError(f"“{target}”已经存在。抢救只写入新文件，请换一个文件名。")
    if source.resolve() == target.resolve():
        raise KnownError("抢救的目标不能是损坏的文件本身。")
    src = open_database(source, create=False, read_only=True, old_ok=True)
    tmp = target.with_name(target.name + ".part")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        p.unlink(missing_ok=True)
    try:
        # A rescue copy of an encrypted file is encrypted with the same key, its keys file beside it.
        open_database(tmp, create=True, key=src.key).close()
        dst = sqlite3.connect(str(tmp), isolation_level=None)
        if src.key is not None:
            sqlite3.apply_key(dst, src.key)
        dst.create_collation("natsort", natural_compare)
        try:
            report = _copy_all(src.conn, dst, target, progress or (lambda _t: None))
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        for side in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            side.unlink(missing_ok=True)
        os.replace(tmp, target)
        if src.key is not None:
            remember_key(target, src.key)
            keys = KeyFile.load(source)
            if keys is not None:
                keys.save(keys_path(target))
    except OSError as exc:
        _remove(tmp)
        raise KnownError(f"无法写入“{target}”：{exc.strerror or exc}（文件夹不存在或磁盘已满？）") from exc
    except BaseException:
        _remove(tmp)
        raise
    finally:
        src.close()
    # The rescued file must open as a healthy Anju database before anyone relies on it.
    check = open_database(target, create=False)
    try:
        if check.scalar("PRAGMA quick_check") != "ok":
            raise DatabaseError(f"抢救出的文件“{target}”没有通过检查，请把损坏的文件交给技术支持人员。")
        report.relogged = _log_rows_without_ops(check)
    finally:
        check.close()
    return report


def _log_rows_without_ops(db: Database) -> int:
    """Rows whose insert op was lost get one now, so they reach the other PCs at the next sync."""
    done = 0
    with db.write():
        for table in synced_tables(db.conn):
            cols = [r[1] for r in db.conn.execute(f"PRAGMA table_info({_q(table)})") if r[1] != "id"]
            obj = ", ".join(f"'{c}', t.{_q(c)}" for c in cols)
            done += db.conn.execute(
                "INSERT INTO change_log(site_id, tbl, row_id, col, value, hlc, user) "
                f"SELECT w.site_id, ?, t.id, '*', json_object({obj}), w.hlc, w.user FROM {_q(table)} t, write_ctx w "
                "WHERE NOT EXISTS (SELECT 1 FROM change_log c WHERE c.tbl = ? AND c.row_id = t.id)",
                (table, table),
            ).rowcount
    return done


def _remove(tmp: Path) -> None:
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)


def _copy_all(src: sqlite3.Connection, dst: sqlite3.Connection, target: Path,
              progress: Callable[[str], None]) -> RescueReport:
    report = RescueReport(target)
    dst.execute("PRAGMA foreign_keys = OFF")  # a row whose parent was lost is kept, and reported
    dst.execute("BEGIN")
    # 'apply' mode: the guard triggers let rows in, and no new ops are logged for copied rows.
    dst.execute("INSERT INTO write_ctx(id, site_id, hlc, user, mode) VALUES (1, '', '', '抢救', 'apply')")
    try:
        src_tables = {r[0] for r in src.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"文件的表结构已损坏，无法抢救（{exc}）。请用备份恢复。") from exc
    for table in _tables_to_copy(dst):
        rescue = TableRescue(table)
        report.tables.append(rescue)
        if table not in src_tables:
            continue
        progress(f"正在抢救 {table}")
        cols = [r[1] for r in dst.execute(f"PRAGMA table_info({_q(table)})")]
        have = {r[1] for r in src.execute(f"PRAGMA table_info({_q(table)})")}
        cols = [c for c in cols if c in have]
        _copy_table(src, dst, table, cols, rescue)
    for rescue in report.tables:
        if rescue.table in synced_tables(dst):
            _rebuild_from_log(dst, rescue)
    dst.execute("DELETE FROM write_ctx")
    dst.execute("COMMIT")
    for row in dst.execute("PRAGMA foreign_key_check"):
        report.orphans[row[0]] = report.orphans.get(row[0], 0) + 1
    return report


def _tables_to_copy(dst: sqlite3.Connection) -> list[str]:
    """Base tables in creation order; tables that triggers fill (search index, order keys) are left to them."""
    rows = dst.execute("SELECT type, name, sql FROM sqlite_schema WHERE type IN ('table', 'trigger') ORDER BY rowid").fetchall()
    virtual = [name for kind, name, sql in rows if kind == "table" and (sql or "").upper().startswith("CREATE VIRTUAL")]
    derived: set[str] = set()
    for kind, name, sql in rows:
        if kind == "trigger" and not re.search(r"_(log_ins|log_upd)$", name):
            derived.update(m.group(1) for m in re.finditer(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\"'`]?(\w+)", sql or "", re.I))
    return [
        name for kind, name, _sql in rows
        if kind == "table" and name not in SKIP and name not in derived and not name.startswith("sqlite_")
        and not any(name == v or name.startswith(v + "_") for v in virtual)
    ]


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, cols: list[str],
                rescue: TableRescue) -> None:
    names = ", ".join(_q(c) for c in cols)
    insert = f"INSERT OR REPLACE INTO {_q(table)} ({names}) VALUES ({', '.join('?' for _ in cols)})"
    try:
        src.execute(f"SELECT rowid FROM {_q(table)} LIMIT 0")
    except sqlite3.OperationalError:
        _copy_without_rowid(src, dst, table, names, insert, rescue)
        return
    select = f"SELECT rowid, {names} FROM {_q(table)} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}"
    after = -(2**63)
    while True:
        try:
            batch = src.execute(select, (after,)).fetchall()
        except sqlite3.DatabaseError as exc:
            if not is_damage_error(exc):
                raise
            batch = _rows_one_by_one(src, table, names, after)
            if batch:
                _insert(dst, insert, batch, rescue)
                after = batch[-1][0]
                continue
            resume = _next_readable(src, table, after)
            if resume is None:
                if after == -(2**63):
                    rescue.unreadable = True
                    rescue.lost = _count_by_index(src, table)
                break
            skipped_from = max(after, 0)
            rescue.lost += max(resume - skipped_from - 1, 0)
            after = resume - 1
            continue
        if not batch:
            break
        _insert(dst, insert, batch, rescue)
        after = batch[-1][0]


def _count_by_index(src: sqlite3.Connection, table: str) -> int:
    """How many rows a table whose own pages cannot be read had, told by any index still readable."""
    indexes = [r[0] for r in src.execute("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?", (table,))]
    for index in indexes:
        with contextlib.suppress(sqlite3.DatabaseError):
            return int(src.execute(f"SELECT count(*) FROM {_q(table)} INDEXED BY {_q(index)}").fetchone()[0])
    return 0


def _rows_one_by_one(src: sqlite3.Connection, table: str, names: str, after: int) -> list:
    """The rows before the damaged page of a batch that failed."""
    rows: list = []
    with contextlib.suppress(sqlite3.DatabaseError):
        cur = src.execute(f"SELECT rowid, {names} FROM {_q(table)} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}", (after,))
        for row in cur:
            rows.append(row)
    return rows


def _probe(src: sqlite3.Connection, table: str, start: int) -> int | None | bool:
    """The first rowid >= start (None past the end), or False when that spot cannot be read."""
    try:
        row = src.execute(f"SELECT rowid FROM {_q(table)} WHERE rowid >= ? ORDER BY rowid LIMIT 1", (start,)).fetchone()
        if row is not None:
            # The row itself must be readable, not only its key.
            src.execute(f"SELECT * FROM {_q(table)} WHERE rowid = ?", (row[0],)).fetchone()
    except sqlite3.DatabaseError:
        return False
    return None if row is None else row[0]


def _next_readable(src: sqlite3.Connection, table: str, after: int) -> int | None:
    """The smallest readable rowid past a damaged stretch that starts after `after`."""
    base = max(after, 0) + 1
    step, bad = 1, base
    while base + step < MAX_ROWID:
        found = _probe(src, table, base + step)
        if found is False:
            bad = base + step
            step *= 2
            continue
        if found is None:
            return None
        good = base + step
        # Narrow down: the first start in (bad, good] that reads, so few readable rows are skipped.
        while good - bad > 1:
            mid = (bad + good) // 2
            if _probe(src, table, mid) is False:
                bad = mid
            else:
                good = mid
        hit = _probe(src, table, good)
        return None if hit is None or hit is False else hit
    return None


def _copy_without_rowid(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, names: str, insert: str,
                        rescue: TableRescue) -> None:
    rows: list = []
    try:
        for row in src.execute(f"SELECT {names} FROM {_q(table)}"):
            rows.append((0, *row))
    except sqlite3.DatabaseError:
        rescue.unreadable = not rows
    _insert(dst, insert, rows, rescue)


def _insert(dst: sqlite3.Connection, insert: str, batch: list, rescue: TableRescue) -> None:
    values = [tuple(r)[1:] for r in batch]
    try:
        dst.executemany(insert, values)
        rescue.rescued += len(values)
    except sqlite3.DatabaseError:
        # A damaged cell can decode to values no valid row holds: take the rows one by one.
        for v in values:
            try:
                dst.execute(insert, v)
                rescue.rescued += 1
            except sqlite3.DatabaseError:
                rescue.lost += 1


def _rebuild_from_log(dst: sqlite3.Connection, rescue: TableRescue) -> None:
    table = rescue.table
    cols = {r[1] for r in dst.execute(f"PRAGMA table_info({_q(table)})")}
    missing = [
        r[0] for r in dst.execute(
            f"SELECT DISTINCT c.row_id FROM change_log c WHERE c.tbl = ? AND c.col = '*' "
            f"AND NOT EXISTS (SELECT 1 FROM {_q(table)} t WHERE t.id = c.row_id)",
            (table,),
        )
    ]
    for row_id in missing:
        row: dict = {}
        for col, value in dst.execute(
            "SELECT col, value FROM change_log WHERE tbl = ? AND row_id = ? ORDER BY hlc, op_id", (table, row_id)
        ):
            try:
                decoded = json.loads(value) if value is not None else None
            except ValueError:
                continue
            if col == "*" and isinstance(decoded, dict):
                row.update(decoded)
            elif col != "*":
                row[col] = decoded
        row = {k: v for k, v in row.items() if k in cols}
        row["id"] = row_id
        names = list(row)
        try:
            dst.execute(
                f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in names)}) VALUES ({', '.join('?' for _ in names)})",
                [row[c] for c in names],
            )
        except sqlite3.DatabaseError:
            continue
        rescue.rebuilt += 1
        rescue.lost = max(rescue.lost - 1, 0)

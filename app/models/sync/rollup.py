"""Roll-up: combine several communities' databases (or their sync bundles) into one read-only database."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.models.core.accounts import ACCOUNT_TABLES
from app.models.core.db import SQLITE_MAGIC, Database, open_database
from app.models.core.errors import KnownError
from app.models.core.schema import _q, synced_tables
from app.models.sync.bundle import EXTENSION

Progress = Callable[[int, int, str], None]


class RollupError(KnownError):
    pass


@dataclass
class RollupReport:
    communities: list[tuple[str, int, int]] = field(default_factory=list)  # (name, households, persons)
    rows: int = 0

    def lines(self) -> list[str]:
        out = [f"{name}：{h:,} 户，{p:,} 人" for name, h, p in self.communities]
        hh = sum(c[1] for c in self.communities)
        pp = sum(c[2] for c in self.communities)
        out.append(f"汇总：{len(self.communities)} 个社区，{hh:,} 户，{pp:,} 人，共 {self.rows:,} 条记录。")
        return out


def is_rollup(db: Database) -> bool:
    return db.meta("read_only") == "1"


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def rollup(
    target: str | Path, sources: list[str | Path], *, passphrase: str | None = None,
    progress: Progress | None = None, scrypt_n: int | None = None,
) -> RollupReport:
    """Add (or refresh) each source community in the read-only roll-up database at `target`.

    A source is a community's database file, a sync bundle, or a folder of bundles (these need
    the passphrase and must hold the community's full data, e.g. a first full export).
    """
    target = Path(target)
    report = RollupReport()
    db = open_database(target)
    try:
        if not is_rollup(db) and db.scalar("SELECT 1 FROM change_log LIMIT 1"):
            raise RollupError(f"“{target.name}”是一个社区的工作数据库，不是汇总库。请指定新的汇总库文件。")
        with tempfile.TemporaryDirectory(prefix="anju-rollup-") as tmp:
            for i, src in enumerate(sources):
                src = Path(src)
                if progress:
                    progress(i, len(sources), f"汇总 {src.name}")
                if src.resolve() == target.resolve():
                    raise RollupError("汇总库不能同时作为来源。")
                path = _source_db(src, Path(tmp) / f"src{i}.db", passphrase)
                _add_source(db, path, src, report)
    finally:
        db.close()
    if progress:
        progress(len(sources), len(sources), "完成")
    return report


def _source_db(src: Path, scratch: Path, passphrase: str | None) -> Path:
    if not src.exists():
        raise RollupError(f"找不到“{src}”。")
    if src.is_file() and _is_sqlite(src):
        return src
    from app.models.sync.sync import import_files, list_bundles

    if src.is_dir():
        files, _ = list_bundles(src)
    elif src.suffix == EXTENSION:
        files = [src]
    else:
        raise RollupError(f"“{src.name}”既不是安居台账数据库，也不是同步文件。")
    if not files:
        raise RollupError(f"“{src}”中没有同步文件。")
    if not passphrase:
        raise RollupError("汇总同步文件需要同步口令（--passphrase-file）。")
    sdb = open_database(scratch)
    try:
        rep = import_files(sdb, files, passphrase)
        if rep.rejected:
            raise RollupError(f"“{src.name}”中有同步文件无法使用：" + "；".join(rep.messages))
    finally:
        sdb.close()
    return scratch


def _add_source(db: Database, path: Path, label: Path, report: RollupReport) -> None:
    conn = db.conn
    conn.execute("ATTACH DATABASE ? AS src", (str(path),))
    # The sources are whole, consistent databases: per-row foreign-key work only slows the copy
    # (with deferred keys SQLite scans unindexed child columns for every parent row inserted).
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        src_tables = {r[0] for r in conn.execute("SELECT name FROM src.sqlite_schema WHERE type = 'table'")}
        if "community" not in src_tables or "person" not in src_tables:
            raise RollupError(f"“{label.name}”不是安居台账的数据库。")
        communities = conn.execute("SELECT id, name FROM src.community WHERE deleted = 0").fetchall()
        if not communities:
            raise RollupError(f"“{label.name}”中没有社区信息。")
        with db.write(mode="rollup") as tx:
            db.set_meta("read_only", "1")
            for table in synced_tables(conn):
                if table not in src_tables or table in ACCOUNT_TABLES:
                    continue
                mine = [r[1] for r in conn.execute(f"PRAGMA main.table_info({_q(table)})")]
                theirs = {r[1] for r in conn.execute(f"PRAGMA src.table_info({_q(table)})")}
                cols = ", ".join(_q(c) for c in mine if c in theirs)
                cur = conn.execute(f"INSERT OR REPLACE INTO main.{_q(table)} ({cols}) SELECT {cols} FROM src.{_q(table)}")
                report.rows += max(cur.rowcount, 0)
            if "rollup_household" in src_tables and conn.execute("SELECT 1 FROM src.rollup_household LIMIT 1").fetchone():
                conn.execute("INSERT OR REPLACE INTO main.rollup_household SELECT household_id, community_id "
                             "FROM src.rollup_household")
                conn.execute("INSERT OR REPLACE INTO main.rollup_source SELECT * FROM src.rollup_source")
                for r in conn.execute("SELECT name, households, persons FROM src.rollup_source").fetchall():
                    report.communities.append((r[0], r[1], r[2]))
                return
            # One community per office database: every household in it belongs to that community.
            cid, name = communities[0]["id"], communities[0]["name"]
            conn.execute("INSERT OR REPLACE INTO main.rollup_household(household_id, community_id) "
                         "SELECT id, ? FROM src.household", (cid,))
            hh = conn.execute("SELECT count(*) FROM src.household WHERE deleted = 0").fetchone()[0]
            pp = conn.execute("SELECT count(*) FROM src.person WHERE deleted = 0").fetchone()[0]
            conn.execute(
                "INSERT OR REPLACE INTO main.rollup_source(community_id, name, source, imported_at, households, "
                "persons) VALUES (?, ?, ?, ?, ?, ?)",
                (cid, name, str(label), tx.now, hh, pp),
            )
            report.communities.append((name, hh, pp))
    finally:
        conn.execute("DETACH DATABASE src")
        conn.execute("PRAGMA foreign_keys = ON")


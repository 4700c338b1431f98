"""Health check of a database file: SQLite integrity, foreign keys, and that every row has its ops."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models.core import sqlite as sqlite3
from app.models.core.audit_view import chain_problems
from app.models.core.db import Database
from app.models.core.schema import _q, synced_tables


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    damaged_tables: dict[str, int] = field(default_factory=dict)  # table → problems found in it (-1: unreadable)
    integrity_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def damaged(self) -> bool:
        return self.integrity_problems > 0


INTEGRITY_LIMIT = 1000  # problems listed by SQLite before it stops counting


def check_database(db: Database) -> CheckReport:
    """Every check, on a connection that may be read-only: a damaged file is reported, never raised."""
    report = CheckReport()
    _integrity(db, report)
    try:
        fk = db.query("PRAGMA foreign_key_check")
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"外键检查无法完成（{exc}）。")
        fk = []
    if fk:
        per_table: dict[str, int] = {}
        for row in fk:
            per_table[row[0]] = per_table.get(row[0], 0) + 1
        detail = "，".join(f"{t} {n} 条" for t, n in sorted(per_table.items(), key=lambda kv: -kv[1]))
        report.problems.append(f"外键检查：有 {len(fk)} 条记录引用了不存在的记录（{detail}）。")
    try:
        tables = synced_tables(db.conn)
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"无法读出表结构（{exc}）。")
        tables = []
    for table in tables:
        report.tables += 1
        try:
            report.rows += db.scalar(f"SELECT count(*) FROM {_q(table)}")
            # A row without its insert op was written around the data layer and would never sync.
            missing = db.scalar(
                f"SELECT count(*) FROM {_q(table)} t WHERE NOT EXISTS "
                "(SELECT 1 FROM change_log c WHERE c.tbl = ? AND c.row_id = t.id)",
                (table,),
            )
        except sqlite3.DatabaseError:
            continue  # already counted among the damaged tables
        if missing and not db.meta("compacted"):  # compaction folds the ops of rows every PC holds
            report.problems.append(f"表 {table} 有 {missing} 行没有变更记录（不会同步到其他电脑）。")
    try:
        report.problems.extend(chain_problems(db))
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"审计记录无法核对（{exc}）。")
    return report


def _integrity(db: Database, report: CheckReport) -> None:
    try:
        found = _messages(db, f"PRAGMA integrity_check({INTEGRITY_LIMIT})")
    except sqlite3.DatabaseError as exc:
        found = [str(exc)]
    if found == ["ok"]:
        return
    report.integrity_problems = len(found)
    # Which tables: each one checked alone (with its indexes) tells where the damage lies.
    tables = [r[0] for r in db.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
    for table in tables:
        try:
            own = _messages(db, f"PRAGMA integrity_check({_q(table)})")
        except sqlite3.DatabaseError:
            report.damaged_tables[table] = -1
            continue
        if own != ["ok"]:
            report.damaged_tables[table] = len(own)
    more = "（只列出前 1000 处）" if len(found) >= INTEGRITY_LIMIT else ""
    where = "，".join(
        f"{t}（无法读取）" if n < 0 else f"{t}（{'至少 ' if n >= 100 else ''}{n} 处）"
        for t, n in sorted(report.damaged_tables.items(), key=lambda kv: -kv[1] if kv[1] > 0 else -10**9)
    ) or "表结构或空闲页"
    report.problems.append(f"SQLite 完整性检查发现 {len(found)} 处问题{more}，涉及：{where}。")
    report.problems.append("SQLite 报告的前几处：" + "；".join(found[:3]))


def _messages(db: Database, pragma: str) -> list[str]:
    """integrity_check's findings, one per line (SQLite may put several in one row)."""
    lines: list[str] = []
    for (text,) in db.conn.execute(pragma).fetchall():
        lines.extend(line for line in str(text).splitlines() if line and not line.startswith("*** in database"))
    return lines or ["ok"]

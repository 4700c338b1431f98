"""Health check of a database file: SQLite integrity, foreign keys, and that every row has its ops."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models.audit_view import chain_problems
from app.models.db import Database, synced_tables


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_database(db: Database) -> CheckReport:
    report = CheckReport()
    integrity = [r[0] for r in db.query("PRAGMA integrity_check")]
    if integrity != ["ok"]:
        report.problems.append("SQLite 完整性检查失败：" + "；".join(integrity[:5]))
    fk = db.query("PRAGMA foreign_key_check")
    if fk:
        report.problems.append(f"有 {len(fk)} 条记录引用了不存在的记录（例如表 {fk[0][0]}）。")
    for table in synced_tables(db.conn):
        report.tables += 1
        report.rows += db.scalar(f'SELECT count(*) FROM "{table}"')
        # A row without its insert op was written around the data layer and would never sync.
        missing = db.scalar(
            f'SELECT count(*) FROM "{table}" t WHERE NOT EXISTS '
            "(SELECT 1 FROM change_log c WHERE c.tbl = ? AND c.row_id = t.id)",
            (table,),
        )
        if missing:
            report.problems.append(f"表 {table} 有 {missing} 行没有变更记录（不会同步到其他电脑）。")
    report.problems.extend(chain_problems(db))
    return report

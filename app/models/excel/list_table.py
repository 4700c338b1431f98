"""A list opened from a figure (零就业家庭, the due list …) as a plain table, for Excel and printing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.models.core.db import Database
from app.models.employment import labour
from app.models.excel.ledgers import AGE, DATE, ID, INT, PHONE, TEXT, LedgerColumn
from app.models.places.rhythm import DueRow
from app.models.registry import households


@dataclass(frozen=True)
class ListTable:
    """What a list window shows, in the order it shows it: columns and rows (ID numbers whole)."""

    title: str  # 零就业家庭名单, 待走访住户清单
    columns: list[LedgerColumn]
    rows: list[tuple] = field(default_factory=list)
    scope: str = ""  # what the list covers beyond its title, e.g. 楼栋长 王五 负责的楼栋
    unit: str = "条"  # 人 / 户 / 人次

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


# Kinds and widths (characters) of the figure lists' columns; anything else is text of width 10.
_FIGURE_KINDS = {
    "id_number": (ID, 21), "age": (AGE, 6), "labour": (INT, 8), "employed": (INT, 8), "stable": (INT, 8),
    "start_date": (DATE, 12), "address": (TEXT, 16), "current_job": (TEXT, 26), "last_training": (TEXT, 24),
    "course": (TEXT, 22), "number": (TEXT, 12), "household": (TEXT, 12), "phone": (PHONE, 14),
}
FIGURE_UNITS = {"people": "人", "households": "户", "attendance": "人次"}


def figure_table(db: Database, key: str, ids: Sequence[str], today: dt.date | None = None) -> ListTable:
    """The rows behind figure `key` for `ids` (the list window's rows, in its current order)."""
    fl = labour.figure_list(db, key, today)
    columns = [LedgerColumn(title, sql, *_FIGURE_KINDS.get(k, (TEXT, 10))) for k, title, sql in fl.columns]
    cols = ", ".join(sql for _k, _t, sql in fl.columns)
    # json_each keeps one bound parameter however long the list (58,000 labour-force members).
    sql = f"SELECT {fl.id_sql}, {cols} FROM {fl.from_sql} WHERE {fl.id_sql} IN (SELECT value FROM json_each(?))"
    by_id = {r[0]: tuple(r[1:]) for r in db.conn.execute(sql, [json.dumps(list(ids))])}
    rows = [by_id[i] for i in ids if i in by_id]
    return ListTable(f"{fl.title}名单", columns, rows, unit=FIGURE_UNITS[fl.kind])


DUE_COLUMNS = [
    LedgerColumn("逾期天数", kind=TEXT, width=12), LedgerColumn("应访日期", kind=DATE, width=12),
    LedgerColumn("楼栋", kind=TEXT, width=8), LedgerColumn("单元-房号", kind=TEXT, width=10),
    LedgerColumn("户号", kind=TEXT, width=12), LedgerColumn("户主", kind=TEXT, width=10),
    LedgerColumn("颜色", kind=TEXT, width=10), LedgerColumn("间隔", kind=TEXT, width=8),
    LedgerColumn("上次走访", kind=DATE, width=12), LedgerColumn("走访人", kind=TEXT, width=10),
]


def overdue_text(row: DueRow) -> str:
    if row.days_overdue is None:
        return "从未走访"
    if row.days_overdue == 0:
        return "今天到期"
    return f"逾期 {row.days_overdue} 天"


def due_cells(row: DueRow) -> list[str]:
    """One line of the due list as shown, printed and exported."""
    return [
        overdue_text(row),
        row.due_date or "",
        row.building_name or "（未分配）",
        f"{row.unit_number or ''}-{row.room_number or ''}" if row.room_number else "",
        row.household_number,
        row.head_name or "",
        households.RISK_COLOURS.get(row.risk_colour, row.risk_colour) + ("·四必访" if row.special else ""),
        f"{row.interval_days} 天",
        row.last_visit_date or "—",
        row.last_visitor or "",
    ]


def due_table(rows: Sequence[DueRow], scope: str) -> ListTable:
    """The due / overdue list as the places tab shows it (most overdue first)."""
    return ListTable("待走访住户清单", list(DUE_COLUMNS), [tuple(due_cells(r)) for r in rows], scope=scope, unit="户")

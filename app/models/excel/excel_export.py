"""Writing a ledger to .xlsx: title row, frozen bold header, text IDs and phones, real dates.

The sheet is written by app.models.excel.xlsx_stream (SpreadsheetML straight into the zip): measured
3-4x faster than XlsxWriter's constant-memory mode at 100,000 residents (bench/bench_excel.py),
and it streams rows the same way, so 100,000 residents never sit in memory at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.models.core import settings
from app.models.core.audit_events import Action, Outcome, record_event
from app.models.core.db import Database
from app.models.core.id_numbers import mask
from app.models.core.safe_files import atomic_file, check_zip
from app.models.core.text_rules import EXCEL_CELL_LIMIT
from app.models.excel.ledgers import DATE, ID, INT, MONEY, NUMBER, get_ledger
from app.models.excel.list_table import ListTable
from app.models.excel.xlsx_stream import S_DATE, S_MONEY, S_NUMBER, S_TEXT, SheetColumn, SheetWriter

ProgressFn = Callable[[int, int], None]
PROGRESS_EVERY = 2000


def export_ledger(
    db: Database,
    ledger_name: str,
    out: str | Path,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    masked: bool = False,
    options: dict | None = None,
    progress: ProgressFn | None = None,
) -> ExportResult:
    """Write the ledger to `out` (.xlsx); returns the number of data rows written (and the cells cut).

    The file appears complete or not at all: it is written under a temporary name first.
    """
    ledger = get_ledger(ledger_name)
    columns, total, rows = ledger.rows(db, where, params, options)
    event = {"ledger": ledger.name, "title": ledger.title, "masked": masked, "filtered": bool(where)}
    return _export(db, out, event, lambda fh, cut: _write(db, ledger.title, columns, total, rows, fh, masked,
                                                          options or {}, progress, cut))


def export_table(db: Database, table: ListTable, out: str | Path, *, masked: bool = True) -> ExportResult:
    """Write a list window's table (零就业家庭名单 …) like a ledger: same sheet, masking and safe write."""
    title = f"{table.title}（{table.scope}）" if table.scope else table.title
    event = {"ledger": "list", "title": title, "masked": masked, "filtered": True}
    return _export(db, out, event, lambda fh, cut: _write(db, title, table.columns, len(table.rows),
                                                          iter(table.rows), fh, masked, {}, None, cut))


def default_table_file_name(title: str, masked: bool = True) -> str:
    """零就业家庭名单（脱敏）_20261204.xlsx: the list's name and the day, so two lists never collide."""
    return f"{title}{'（脱敏）' if masked else ''}_{dt.date.today():%Y%m%d}.xlsx"


class ExportResult(int):
    """The number of data rows written, and the cells Excel's cell limit made us cut (if any)."""

    cut_cells: list[str]

    def __new__(cls, count: int, cut_cells: list[str]) -> ExportResult:
        obj = super().__new__(cls, count)
        obj.cut_cells = cut_cells
        return obj

    def cut_notice(self, limit: int = 10) -> str:
        """A Chinese line per cut cell (sheet, row, column), or "" when nothing was cut."""
        if not self.cut_cells:
            return ""
        more = f"\n  … 另有 {len(self.cut_cells) - limit} 处" if len(self.cut_cells) > limit else ""
        lines = "\n".join(f"  {c}" for c in self.cut_cells[:limit])
        return (f"注意：以下 {len(self.cut_cells)} 个单元格超过 Excel 单元格的 {EXCEL_CELL_LIMIT:,} 字上限，"
                f"导出文件中只保留了前 {EXCEL_CELL_LIMIT:,} 字（数据库中的原文完整未动）：\n{lines}{more}")


def _export(db: Database, out: str | Path, event: dict, write: Callable[[Any, list[str]], int]) -> ExportResult:
    # The file appears complete or not at all: the safe writer checks, fsyncs and renames it.
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    event = {**event, "file": out.name}
    cut: list[str] = []
    try:
        with atomic_file(out, check=check_zip, what="Excel 文件") as fh:
            count = write(fh, cut)
    except BaseException as exc:
        if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
            with contextlib.suppress(Exception):  # the export's own error is the one to show
                record_event(db, Action.EXPORT, {**event, "error": type(exc).__name__}, Outcome.FAILED)
        raise
    record_event(db, Action.EXPORT, {**event, "rows": count})
    return ExportResult(count, cut)


# How a ledger column's kind is written (IDs and phones are text; masking is a column's `prepare`).
SHEET_KINDS = {DATE: S_DATE, MONEY: S_MONEY, INT: S_NUMBER, NUMBER: S_NUMBER}


def _write(db, title, columns, total, rows, path: Any, masked: bool, options: dict, progress,
           cut: list[str]) -> int:
    # Excel refuses []:*?/\ in a sheet name, and a list's title may carry a building's name.
    sheet_name = re.sub(r"[\[\]:*?/\\]", "-", title.replace("（", "(").replace("）", ")"))[:31]
    office = settings.get(db, "office_name")
    today = dt.date.today().isoformat()
    extra = f"（{options['month']}）" if options.get("month") else ""
    suffix = "（证件号已脱敏）" if masked else ""
    heading = f"{office}　{title}{extra}{suffix}　导出日期：{today}　共 {total} 条"
    sheet_cols = [SheetColumn(col.header, SHEET_KINDS.get(col.kind, S_TEXT), col.width) for col in columns]
    prepare = [masker(col.kind) if masked else None for col in columns]
    writer = SheetWriter(path, sheet_name, sheet_cols, title=heading, expected_rows=total,
                         text_limit=EXCEL_CELL_LIMIT)

    def on_cut(r: int, c: int, text: str) -> None:  # Excel cannot hold it: cut, and say where
        cut.append(f"工作表“{sheet_name}”第 {r} 行“{columns[c].header}”列（{len(text):,} 字）")

    count = writer.write_rows(rows, prepare=prepare, on_cut=on_cut, progress_every=PROGRESS_EVERY,
                              progress=None if progress is None else (lambda n: progress(n, total)))
    writer.close()
    return count


def masker(kind: str) -> Callable[[Any], Any] | None:
    """What a masked export shows of a column of this kind (None: the value as stored)."""
    if kind == ID:
        return lambda value: mask(str(value))
    return None


def default_file_name(ledger_name: str, masked: bool = False) -> str:
    ledger = get_ledger(ledger_name)
    title = ledger.title.split("（")[0]
    return f"{title}{'（脱敏）' if masked else ''}_{dt.date.today():%Y%m%d}.xlsx"

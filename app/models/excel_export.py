"""Writing a ledger to .xlsx: title row, frozen bold header, text IDs and phones, real dates.

XlsxWriter (not openpyxl) writes: it was the fastest writer measured on the office PC class of
machine (see bench/bench_excel.py), and its constant-memory mode streams rows to disk so
100,000 residents never sit in memory at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from app.models import settings
from app.models.audit_events import Action, Outcome, record_event
from app.models.db import Database
from app.models.id_numbers import mask
from app.models.ledgers import DATE, ID, INT, MONEY, NUMBER, get_ledger
from app.models.list_table import ListTable
from app.models.safe_files import atomic_file, check_zip
from app.models.text_rules import EXCEL_CELL_LIMIT

ProgressFn = Callable[[int, int], None]
PROGRESS_EVERY = 2000
# Constant-memory mode streams each row to disk; measured on 100k residents it keeps peak memory
# under 100 MB for about the same time as the in-memory mode (see bench/bench_excel.py).
CONSTANT_MEMORY = True


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


def _write(db, title, columns, total, rows, path: Any, masked: bool, options: dict, progress,
           cut: list[str]) -> int:
    wb = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": CONSTANT_MEMORY,
            # User text is never a formula, a number or a link: it goes out exactly as typed.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        # Excel refuses []:*?/\ in a sheet name, and a list's title may carry a building's name.
        sheet_name = re.sub(r"[\[\]:*?/\\]", "-", title.replace("（", "(").replace("）", ")"))[:31]
        ws = wb.add_worksheet(sheet_name)
        f_title = wb.add_format({"bold": True, "font_size": 14, "align": "left", "valign": "vcenter"})
        f_head = wb.add_format(
            {"bold": True, "border": 1, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter",
             "text_wrap": True}
        )
        f_text = wb.add_format({"num_format": "@"})
        f_date = wb.add_format({"num_format": "yyyy-mm-dd", "align": "left"})
        f_money = wb.add_format({"num_format": "#,##0.00"})
        office = settings.get(db, "office_name")
        today = dt.date.today().isoformat()
        extra = f"（{options['month']}）" if options.get("month") else ""
        suffix = "（证件号已脱敏）" if masked else ""
        ncols = len(columns)
        heading = f"{office}　{title}{extra}{suffix}　导出日期：{today}　共 {total} 条"
        ws.set_row(0, 24)
        if ncols > 1:
            ws.merge_range(0, 0, 0, ncols - 1, heading, f_title)
        else:
            ws.write_string(0, 0, heading, f_title)
        for c, col in enumerate(columns):
            # Text columns get the text format so a clerk typing into them in Excel keeps text.
            ws.set_column(c, c, col.width, f_text if col.kind not in (DATE, MONEY, INT, NUMBER) else None)
            ws.write_string(1, c, col.header, f_head)
        ws.freeze_panes(2, 0)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(1)
        ws.autofilter(1, 0, 1 + max(total, 0), ncols - 1)
        write_number, write_datetime = ws.write_number, ws.write_datetime

        def write_string(r: int, c: int, text: str, *fmt: Any) -> None:
            if len(text) > EXCEL_CELL_LIMIT:  # Excel cannot hold it: cut, and say where
                cut.append(f"工作表“{sheet_name}”第 {r + 1} 行“{columns[c].header}”列（{len(text):,} 字）")
                text = text[:EXCEL_CELL_LIMIT]
            ws.write_string(r, c, text, *fmt)

        kinds = [col.kind for col in columns]
        r = 1
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                kind = kinds[c]
                if kind == ID:
                    write_string(r, c, mask(str(value)) if masked else str(value))
                elif kind == DATE:
                    d = _as_date(value)
                    if d is None:
                        write_string(r, c, str(value))
                    else:
                        write_datetime(r, c, d, f_date)
                elif kind == MONEY:
                    write_number(r, c, int(value) / 100, f_money)
                elif kind in (INT, NUMBER) and isinstance(value, (int, float)):
                    write_number(r, c, value)
                else:
                    write_string(r, c, str(value))
            if progress is not None and r % PROGRESS_EVERY == 0:
                progress(r - 1, total)
        count = r - 1
        if progress is not None:
            progress(count, total)
    finally:
        wb.close()
    return count


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def default_file_name(ledger_name: str, masked: bool = False) -> str:
    ledger = get_ledger(ledger_name)
    title = ledger.title.split("（")[0]
    return f"{title}{'（脱敏）' if masked else ''}_{dt.date.today():%Y%m%d}.xlsx"

"""Writing a ledger to .xlsx: title row, frozen bold header, text IDs and phones, real dates.

The sheet is written by app.models.excel.xlsx_stream (SpreadsheetML straight into the zip): measured
3-4x faster than XlsxWriter's constant-memory mode at 100,000 residents (bench/bench_excel.py),
and it streams rows the same way, so 100,000 residents never sit in memory at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from app.models.core import masking, settings
from app.models.core.audit_events import Action, Outcome, record_event
from app.models.core.db import Database
from app.models.core.errors import ValidationError
from app.models.core.list_query import Condition
from app.models.core.logs import file_ref, logged
from app.models.core.safe_files import atomic_file, check_zip
from app.models.core.text_rules import EXCEL_CELL_LIMIT
from app.models.excel.ledgers import (
    AGE,
    BIRTH,
    DATE,
    INT,
    MONEY,
    NUMBER,
    LedgerColumn,
    get_ledger,
    has_personal_columns,
    masked_view,
)
from app.models.excel.list_table import ListTable
from app.models.excel.xlsx_stream import S_DATE, S_MONEY, S_NUMBER, S_TEXT, SheetColumn, SheetWriter

ProgressFn = Callable[[int, int], None]
PROGRESS_EVERY = 2000


def export_ledger(
    db: Database,
    ledger_name: str,
    out: str | Path,
    *,
    view: Condition | None = None,
    masked: bool = False,
    options: dict | None = None,
    progress: ProgressFn | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> ExportResult:
    """Write the ledger to `out` (.xlsx); returns the number of data rows written (and the cells cut).

    `view`: only the rows a tab shows ("export what I see", a condition over the ledger's aliases).

    The file appears complete or not at all: it is written under a temporary name first.
    ``masked``: the masked variant (app.models.core.masking). The full variant of a ledger with ID
    numbers or phones is for administrators and clerks only, and asks for a ``reason``
    (:data:`FULL_EXPORT_REASONS`; ``note`` required with 其他), kept in the audit; any other
    role always gets the masked variant.
    """
    ledger = get_ledger(ledger_name)
    where, params = (view.sql, view.params) if view is not None else ("", ())
    columns, total, rows = ledger.rows(db, where, params, options)
    masked, event = _masking_decision(db, columns, masked, reason, note)
    if masked:
        columns, rows = masked_view(columns, rows)
    event = {"ledger": ledger.name, "title": ledger.title, "filtered": bool(where), **event}
    return _export(db, out, event, lambda fh, cut: _write(db, ledger.title, columns, total, rows, fh, masked,
                                                          options or {}, progress, cut))


def export_table(db: Database, table: ListTable, out: str | Path, *, masked: bool = True,
                 reason: str | None = None, note: str | None = None) -> ExportResult:
    """Write a list window's table (零就业家庭名单 …) like a ledger: same sheet, masking and safe write."""
    title = f"{table.title}（{table.scope}）" if table.scope else table.title
    columns: list[LedgerColumn] = list(table.columns)
    rows: Iterator[tuple] = iter(table.rows)
    masked, event = _masking_decision(db, columns, masked, reason, note)
    if masked:
        columns, rows = masked_view(columns, rows)
    event = {"ledger": "list", "title": title, "filtered": True, **event}
    return _export(db, out, event, lambda fh, cut: _write(db, title, columns, len(table.rows),
                                                          rows, fh, masked, {}, None, cut))


FULL_EXPORT_REASONS = masking.FULL_REASONS


def _masking_decision(db: Database, columns: Sequence[LedgerColumn], masked: bool, reason: str | None,
                      note: str | None) -> tuple[bool, dict[str, Any]]:
    """(masked, what the audit keeps) for one export, deciding in the data layer who gets what."""
    if masked or not has_personal_columns(columns):
        return masked, {"masked": masked}
    if not db.principal.may_export_full:
        # Not an error: a building head's or a viewer's export is simply the masked one.
        return True, {"masked": True, "forced": True}
    if not db.principal.has_account:
        return False, {"masked": False}  # a file without accounts: one implicit user with full access
    reason, note = check_full_reason(reason, note)
    return False, {"masked": False, "reason": reason, "note": note}


def check_full_reason(reason: str | None, note: str | None) -> tuple[str, str | None]:
    """The reason for whole ID numbers and phones in a file, validated like a reveal on screen."""
    reason = (reason or "").strip()
    note = (note or "").strip() or None
    if not reason:
        raise ValidationError(
            f"导出完整身份证号和电话须说明理由（{'、'.join(FULL_EXPORT_REASONS)}），会记入操作日志；"
            "报送外单位请导出脱敏版。", field="reason")
    if reason not in FULL_EXPORT_REASONS:
        reason, note = "其他", reason if note is None else f"{reason}：{note}"
    if reason == "其他" and not note:
        raise ValidationError("理由选“其他”时请写明用途。", field="note")
    return reason, note


def default_table_file_name(title: str, masked: bool = True) -> str:
    """零就业家庭名单（脱敏）_20261204.xlsx: the list's name and the day, so two lists never collide."""
    return f"{title}{'（脱敏）' if masked else ''}_{dt.date.today():%Y%m%d}.xlsx"


class ExportResult(int):
    """The number of data rows written, and the cells Excel's cell limit made us cut (if any)."""

    cut_cells: list[str]
    forced_masked: bool  # the role may not have whole numbers: the masked variant was written

    def __new__(cls, count: int, cut_cells: list[str], forced_masked: bool = False) -> ExportResult:
        obj = super().__new__(cls, count)
        obj.cut_cells = cut_cells
        obj.forced_masked = forced_masked
        return obj

    def cut_notice(self, limit: int = 10) -> str:
        """A Chinese line per cut cell (sheet, row, column), or "" when nothing was cut."""
        if not self.cut_cells:
            return ""
        more = f"\n  … 另有 {len(self.cut_cells) - limit} 处" if len(self.cut_cells) > limit else ""
        lines = "\n".join(f"  {c}" for c in self.cut_cells[:limit])
        return (f"注意：以下 {len(self.cut_cells)} 个单元格超过 Excel 单元格的 {EXCEL_CELL_LIMIT:,} 字上限，"
                f"导出文件中只保留了前 {EXCEL_CELL_LIMIT:,} 字（数据库中的原文完整未动）：\n{lines}{more}")


@logged("excel.export", facts=lambda a: {"ledger": a["event"]["ledger"], "masked": a["event"]["masked"],
                                  "file": file_ref(a["out"])},
        summary=lambda n: {"rows": int(n), "cut": len(n.cut_cells)})
def _export(db: Database, out: str | Path, event: dict, write: Callable[[BinaryIO, list[str]], int]) -> ExportResult:
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
    return ExportResult(count, cut, bool(event.get("forced")))


# How a ledger column's kind is written (IDs and phones are text). The masked variant is already
# in the rows (app.models.excel.ledgers.masked_view): the writer writes what it is given.
SHEET_KINDS = {DATE: S_DATE, BIRTH: S_DATE, MONEY: S_MONEY, INT: S_NUMBER, AGE: S_NUMBER, NUMBER: S_NUMBER}


def _write(db: Database, title: str, columns: Sequence[LedgerColumn], total: int, rows: Iterable[Sequence[Any]],
           path: BinaryIO, masked: bool, options: dict[str, Any], progress: ProgressFn | None,
           cut: list[str]) -> int:
    # Excel refuses []:*?/\ in a sheet name, and a list's title may carry a building's name.
    sheet_name = re.sub(r"[\[\]:*?/\\]", "-", title.replace("（", "(").replace("）", ")"))[:31]
    office = settings.get(db, "office_name")
    today = dt.date.today().isoformat()
    extra = f"（{options['month']}）" if options.get("month") else ""
    suffix = "（脱敏）" if masked else ""
    heading = f"{office}　{title}{extra}{suffix}　导出日期：{today}　共 {total} 条"
    sheet_cols = [SheetColumn(col.header, SHEET_KINDS.get(col.kind, S_TEXT), col.width) for col in columns]
    writer = SheetWriter(path, sheet_name, sheet_cols, title=heading, expected_rows=total,
                         text_limit=EXCEL_CELL_LIMIT)

    def on_cut(r: int, c: int, text: str) -> None:  # Excel cannot hold it: cut, and say where
        cut.append(f"工作表“{sheet_name}”第 {r} 行“{columns[c].header}”列（{len(text):,} 字）")

    count = writer.write_rows(rows, on_cut=on_cut, progress_every=PROGRESS_EVERY,
                              progress=None if progress is None else (lambda n: progress(n, total)))
    writer.close()
    return count


def default_file_name(ledger_name: str, masked: bool = False) -> str:
    ledger = get_ledger(ledger_name)
    title = ledger.title.split("（")[0]
    return f"{title}{'（脱敏）' if masked else ''}_{dt.date.today():%Y%m%d}.xlsx"

"""导出Excel… and 打印… for the list windows opened from a figure (零就业家庭, the due list …)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QPushButton, QWidget

from app.models.core import masking
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.excel.excel_export import default_table_file_name, export_table
from app.models.excel.list_table import ListTable
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.registry.reveal_id import full_export_reason
from app.widgets import file_dialogs

TableOf = Callable[[Database], ListTable]
# Called on the UI thread: captures what the window shows now (its ids, its rows) and returns the
# builder that reads the table from a database (the worker's for an export).
Snapshot = Callable[[], TableOf]


class ListOutput:
    """The two buttons (and the masking box, for lists with ID numbers) a list window puts in its bar.

    `title()` names the default file; `snapshot()` captures the list as the window shows it; the export builds the table on the
    worker, the print on the UI thread. `prefix` starts the buttons' objectNames (figureExport, dueExport …).
    """

    def __init__(self, ctx: AppContext, parent: QWidget, prefix: str, title: Callable[[], str], snapshot: Snapshot, *,
                 with_ids: bool = False) -> None:
        self.ctx = ctx
        self.parent = parent
        self.title = title
        self.snapshot = snapshot
        self.export_button = QPushButton("导出Excel…", parent)
        self.export_button.setObjectName(f"{prefix}ExportButton")
        self.export_button.setToolTip("把这份名单（按当前排序）导出为 Excel 工作簿，格式与台账相同")
        self.export_button.clicked.connect(lambda _checked=False: self.export())
        self.print_button = QPushButton("打印…", parent)
        self.print_button.setObjectName(f"{prefix}PrintButton")
        self.print_button.setToolTip("预览并打印这份名单，也可保存为 PDF；身份证号遮挡打印")
        self.print_button.clicked.connect(lambda _checked=False: self.print_preview())
        self.masked = QCheckBox("脱敏", parent)
        self.masked.setObjectName(f"{prefix}MaskedCheck")
        self.masked.setToolTip(masking.describe() + "（报送外单位时请勾选）")
        self.masked.setChecked(True)
        if not ctx.db.principal.may_export_full:
            self.masked.setEnabled(False)
            self.masked.setToolTip("您的账号只能导出脱敏版本。")
        self.masked.setVisible(with_ids)
        self.with_ids = with_ids
        self.last_export: Path | None = None
        self.last_count = 0
        self.exporting = False

    def widgets(self) -> list[QWidget]:
        return [self.masked, self.export_button, self.print_button]

    def export(self, path: str | None = None) -> None:
        """Ask where (unless given), then write the workbook in the background."""
        masked = self.with_ids and self.masked.isChecked()
        table_of = self.snapshot()
        if path is None:
            path = file_dialogs.save_path(self.parent, "excel-export", "导出名单到 Excel",
                                          default_table_file_name(self.title(), masked), "Excel 工作簿 (*.xlsx)")
            if not path:
                return
        out = Path(path)
        reason = note = ""
        if not masked and self.with_ids:
            answer = full_export_reason(self.ctx.db, self.title(), self.parent)
            if answer is None:
                return
            reason, note = answer
        self.exporting = True
        self.export_button.setEnabled(False)
        self.ctx.runner.run(lambda db, _p: export_table(db, table_of(db), out, masked=masked, reason=reason, note=note),
                            on_success=lambda n: self._exported(out, n), on_failure=self._failed)

    def _exported(self, out: Path, count: int) -> None:
        self.exporting = False
        self.export_button.setEnabled(True)
        self.last_export, self.last_count = out.with_suffix(".xlsx"), count
        messages.info(self.parent, "已导出", f"已导出 {count} 行到：\n{self.last_export}")

    def _failed(self, exc: BaseException) -> None:
        self.exporting = False
        self.export_button.setEnabled(True)
        if isinstance(exc, KnownError):
            messages.warn(self.parent, "导出失败", str(exc))
            return
        from app.ui.common.crash import report_exception

        report_exception(exc)

    def print_job(self):  # noqa: ANN201 - printing.ListPrintJob, imported late (printing loads fonts)
        from app.ui.printing.printing import ListPrintJob

        return ListPrintJob(self.snapshot()(self.ctx.db))

    def print_preview(self) -> None:
        from app.ui.printing.printing import PrintPreview

        PrintPreview(self.ctx, self.print_job(), self.parent).exec()

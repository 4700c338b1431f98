"""File → 导出 Excel…: choose a ledger, masked or not, the current filter, and write it off the UI thread."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.core import masking
from app.models.core.errors import KnownError
from app.models.core.list_query import ExportView
from app.models.excel.excel_export import default_file_name, export_ledger
from app.models.excel.ledgers import LEDGERS, has_personal_columns
from app.ui.common.context import AppContext
from app.ui.common.crash import report_exception
from app.ui.common.ops import Cancelled, OpHandle
from app.ui.registry.reveal_id import full_export_reason
from app.widgets import file_dialogs


def _applies(current: ExportView | None, name: str) -> bool:
    """A tab's filter applies to the ledger it names (its condition uses that ledger's aliases)."""
    return current is not None and current.ledger == name and LEDGERS[name].filterable


class ExportDialog(QDialog):
    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        current: ExportView | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.current = current
        self.handle: OpHandle | None = None
        self.last_path: Path | None = None
        self.setObjectName("exportDialog")
        self.setAccessibleName("导出 Excel")
        self.setWindowTitle("导出 Excel")
        self.setMinimumWidth(460)

        self.ledger = QComboBox(self)
        self.ledger.setObjectName("exportLedgerCombo")
        self.ledger.setAccessibleName("台账")
        for name, ledger in LEDGERS.items():
            self.ledger.addItem(ledger.title, name)
        self.month = QLineEdit(dt.date.today().strftime("%Y-%m"), self)
        self.month.setObjectName("exportMonthEdit")
        self.month.setAccessibleName("月份")
        self.month.setPlaceholderText("YYYY-MM")
        self.masked = QCheckBox("脱敏（身份证号只留前 6 位和后 4 位、电话遮挡、不含出生日期；报送外单位用）", self)
        self.masked.setObjectName("exportMaskedCheck")
        self.masked.setToolTip(masking.describe())
        if not ctx.db.principal.may_export_full:
            # The data layer masks every export of this role; the box says so.
            self.masked.setChecked(True)
            self.masked.setEnabled(False)
            self.masked.setToolTip("您的账号只能导出脱敏版本。")
        self.filtered = QCheckBox("只导出当前筛选结果（当前页面正在显示的记录）", self)
        self.filtered.setObjectName("exportFilterCheck")
        self.filtered.setChecked(current is not None)

        form = QFormLayout()
        form.addRow("台账(&L)：", self.ledger)
        self.month_label = QLabel("月份(&M)：", self)
        self.month_label.setBuddy(self.month)
        form.addRow(self.month_label, self.month)
        form.addRow("", self.masked)
        form.addRow("", self.filtered)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("exportProgress")
        self.progress.hide()
        self.status = QLabel("", self)
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.export_button = QPushButton("导出(&E)…", self)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("取消导出", self)
        self.cancel_button.setObjectName("exportCancelButton")
        self.cancel_button.hide()
        self.close_button = QPushButton("关闭", self)
        self.close_button.setObjectName("exportCloseButton")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.ledger.currentIndexChanged.connect(self._ledger_changed)
        self.export_button.clicked.connect(self.choose_and_export)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        if current is not None:
            self.ledger.setCurrentIndex(max(0, self.ledger.findData(current.ledger)))
        self._ledger_changed()

    def ledger_name(self) -> str:
        return str(self.ledger.currentData())

    def _ledger_changed(self) -> None:
        name = self.ledger_name()
        monthly = name == "monthly-disputes"
        self.month.setVisible(monthly)
        self.month_label.setVisible(monthly)
        can_filter = _applies(self.current, name)
        self.filtered.setVisible(self.current is not None)
        self.filtered.setEnabled(can_filter)
        if self.current is not None and not can_filter:
            self.filtered.setToolTip("当前页面的筛选不适用于这个台账，将导出全部记录。")

    def choose_and_export(self) -> None:
        masked = self.masked.isChecked()
        path = file_dialogs.save_path(self, "excel-export", "导出到", default_file_name(self.ledger_name(), masked),
                                      "Excel 工作簿 (*.xlsx)")
        if path:
            self.start(path)

    def start(self, path: str) -> None:
        name = self.ledger_name()
        masked = self.masked.isChecked()
        view = None
        if self.current is not None and self.filtered.isChecked() and _applies(self.current, name):
            view = self.current.condition
        options = {"month": self.month.text().strip()} if name == "monthly-disputes" else {}
        out = Path(path)
        reason = note = ""
        if not masked and has_personal_columns(LEDGERS[name].columns):
            answer = full_export_reason(self.ctx.db, LEDGERS[name].title, self)
            if answer is None:
                self.status.setText("已取消导出。")
                return
            reason, note = answer

        def job(db, progress):
            def report(done: int, total: int) -> None:
                progress.check()
                progress.report(done, total, f"已写入 {done} / {total} 行")

            return export_ledger(db, name, out, view=view, masked=masked,
                                 options=options, progress=report, reason=reason, note=note)

        self._busy(True)
        self.status.setText("正在导出…")
        self.handle = self.ctx.runner.run(
            job,
            on_success=lambda n: self._done(out, n),
            on_failure=self._failed,
            on_progress=self._progress,
        )

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.status.setText(text)

    def _done(self, path: Path, count: int) -> None:
        self._busy(False)
        self.last_path = path.with_suffix(".xlsx")
        notice = count.cut_notice() if hasattr(count, "cut_notice") else ""
        self.status.setText(f"已导出 {count} 行到：{self.last_path}" + (f"\n{notice}" if notice else ""))

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        if isinstance(exc, Cancelled):
            self.status.setText("已取消导出，没有生成文件。")
            return
        self.status.setText(f"导出失败：{exc}" if isinstance(exc, KnownError) else "导出失败。")
        report_exception(exc)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self._busy(False)
            self.status.setText("已取消导出，没有生成文件。")

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.export_button.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)

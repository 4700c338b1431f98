"""The one-button sync with a USB stick: choose the stick's folder, type the passphrase, sync, read the report."""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core import sqlite as sqlite3
from app.models.core.errors import KnownError
from app.models.sync import passphrase as sync_passphrase
from app.models.sync.bundle import DEFAULT_SCRYPT_N
from app.models.sync.sync import Refusal, passphrase_names
from app.ui.common.context import AppContext

REPORT_PLACEHOLDER = "同步结果会显示在这里。"


class MassDeleteDialog(QDialog):
    """Asks the clerk whether bundles deleting many records may be applied; lists how many of what."""

    def __init__(self, refusals: list[Refusal], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("massDeleteDialog")
        self.setWindowTitle("确认大量删除")
        self.setMinimumWidth(520)
        text = QLabel(
            "U盘上的同步文件要删除大量记录。删除后这些记录在所有电脑上都会被标记为已删除。"
            "请先与写出文件的电脑核实，确实要删除时再确认。"
        )
        text.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("massDeleteTable")
        self.table.setAccessibleName("要删除的记录")
        self.table.setHorizontalHeaderLabels(["同步文件", "记录类型", "删除条数"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for r in refusals:
            for label, n in (r.mass_delete or {}).items():
                row = self.table.rowCount()
                self.table.insertRow(row)
                for col, value in enumerate((r.file, label, str(n))):
                    self.table.setItem(row, col, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox()
        self.confirm_button = buttons.addButton("确认删除并导入(&D)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.confirm_button.setObjectName("massDeleteConfirm")
        self.cancel_button = buttons.addButton("不导入(&N)", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("massDeleteCancel")
        self.cancel_button.setDefault(True)  # Enter must not delete thousands of records
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(600, 320)

    @classmethod
    def ask(cls, parent: QWidget | None, refusals: list[Refusal]) -> bool:
        return cls.show_modal(cls(refusals, parent))

    @staticmethod
    def show_modal(dialog: QDialog) -> bool:
        """Runs the dialog modally; tests replace this to click it without a nested event loop."""
        return dialog.exec() == QDialog.DialogCode.Accepted


class SyncDialog(QDialog):
    """Import every new bundle on the stick, then write this PC's bundle; shows what happened."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.scrypt_n = DEFAULT_SCRYPT_N
        self.last_report = None
        self.mass_delete_confirmed = False
        self.setObjectName("syncDialog")
        self.setWindowTitle("同步（U盘）")
        self.setMinimumWidth(560)
        intro = QLabel(
            "把U盘插上，选择U盘上的同步文件夹。本机先导入其他电脑留在U盘上的新数据，"
            "再把本机的新数据写到U盘上。每台电脑都同步一次，数据就一致了。"
        )
        intro.setWordWrap(True)
        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("syncFolderEdit")
        self.folder_edit.setAccessibleName("U盘文件夹")
        self.folder_edit.setPlaceholderText("例如 E:\\安居同步")
        last = ctx.db.meta("sync_last_folder")
        if last:
            self.folder_edit.setText(last)
        browse = QPushButton("浏览(&B)…")
        browse.setObjectName("syncBrowseButton")
        browse.clicked.connect(self.choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        self.pass_edit = QLineEdit()
        self.pass_edit.setObjectName("syncPassphraseEdit")
        self.pass_edit.setAccessibleName("同步口令")
        self.pass_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass_edit.setPlaceholderText("本社区各电脑共用的同步口令")
        form = QFormLayout()
        folder_label = QLabel("U盘文件夹(&F)：")
        folder_label.setBuddy(self.folder_edit)
        form.addRow(folder_label, row)
        form.addRow("同步口令(&P)：", self.pass_edit)
        # The rule is checked as the clerk types; the passphrase itself is never kept anywhere.
        self.pass_hint = QLabel(self)
        self.pass_hint.setObjectName("syncPassphraseHint")
        self.pass_hint.setWordWrap(True)
        form.addRow("", self.pass_hint)
        self._names = passphrase_names(ctx.db)
        self.pass_edit.textChanged.connect(self._passphrase_changed)
        self._passphrase_changed("")
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.report_view = QPlainTextEdit()
        self.report_view.setObjectName("syncReportView")
        self.report_view.setAccessibleName("同步结果")
        self.report_view.setReadOnly(True)
        self.report_view.setPlaceholderText(REPORT_PLACEHOLDER)
        self.refused_label = QLabel("未导入的文件：")
        self.refused_list = QListWidget()
        self.refused_list.setObjectName("syncRefusedList")
        self.refused_list.setAccessibleName("未导入的文件")
        self.refused_list.setWordWrap(True)
        self.refused_label.setVisible(False)
        self.refused_list.setVisible(False)
        self.start_button = QPushButton("开始同步(&S)")
        self.start_button.setObjectName("syncStartButton")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.conflicts_button = QPushButton("冲突审核(&C)…")
        self.conflicts_button.setObjectName("syncConflictsButton")
        self.conflicts_button.clicked.connect(self.open_conflicts)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.conflicts_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.report_view, 3)
        layout.addWidget(self.refused_label)
        layout.addWidget(self.refused_list, 2)
        layout.addWidget(buttons)
        self.resize(620, 440)

    def _passphrase_changed(self, text: str) -> None:
        if not text:
            self.pass_hint.setStyleSheet("color: #666;")
            self.pass_hint.setText("各台电脑用同一个口令。至少 10 个字母或数字（一个汉字算 2 个），不用社区名称和常用词。")
            return
        why = sync_passphrase.problem(text, self._names)
        self.pass_hint.setStyleSheet("color: #b02a30;" if why else "color: #2e7d32;")
        self.pass_hint.setText(why or "口令强度合格。")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "选择U盘上的同步文件夹", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def start(self, *, allow_mass_delete: set[str] | None = None) -> None:
        folder = self.folder_edit.text().strip()
        phrase = self.pass_edit.text()
        if not folder or not Path(folder).is_dir():
            self.report_view.setPlainText("请先选择U盘上的同步文件夹（文件夹不存在或U盘未插好）。")
            self.folder_edit.setFocus()
            return
        why = sync_passphrase.problem(phrase, self._names)
        if why is not None:
            # Refused before anything is read or written: the bundle this PC leaves would carry it.
            self.report_view.setPlainText(why if not phrase else f"{why}\n{sync_passphrase.ADVICE}")
            self.pass_edit.setFocus()
            return
        self.start_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.report_view.setPlainText("正在同步，请不要拔出U盘……")
        self.refused_list.clear()
        n = self.scrypt_n
        allowed = set(allow_mass_delete or ())
        self.mass_delete_confirmed = bool(allowed)

        def job(db, progress):  # noqa: ANN001, ANN202 - runs on the worker thread
            from app.models.sync.sync import sync_with_folder

            return sync_with_folder(db, folder, phrase, scrypt_n=n, allow_mass_delete=allowed,
                                    progress=lambda d, t, s: progress.report(d, t, s))

        # Rows arrive from other PCs: every view refreshes when it ends.
        self.ctx.runner.run(job, on_success=self._done, on_failure=self._failed, on_progress=self._progress,
                            everything=True)

    def _progress(self, done: int, total: int, text: str) -> None:
        # total 0: a step of unknown length (rewriting the file after the merge): a busy bar, whose
        # style shows no text, so the step is named in the (still empty) report too.
        self.progress.setRange(0, total if total > 0 else 0)
        self.progress.setValue(done)
        self.progress.setFormat(f"{text}  %p%" if text else "%p%")
        if text:
            self.report_view.setPlaceholderText(f"正在进行：{text}……")

    def _finished(self, *, done: bool) -> None:
        """The run is over: the button back, a full (or empty) bar with its percentage, the report's hint."""
        self.start_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if done else 0)
        self.progress.setFormat("%p%")
        self.report_view.setPlaceholderText(REPORT_PLACEHOLDER)

    def _done(self, report) -> None:  # noqa: ANN001 - sync.SyncReport
        self.last_report = report
        self._finished(done=True)
        head = "同步完成。" if not report.rejected else "同步完成，但有文件未能导入（见下）。"
        self.refused_list.clear()
        for r in report.refused:
            item = QListWidgetItem(r.reason)
            item.setToolTip(r.file)
            self.refused_list.addItem(item)
        self.refused_label.setVisible(bool(report.refused))
        self.refused_list.setVisible(bool(report.refused))
        if report.refused and self.height() < 600:
            self.resize(max(self.width(), 680), 600)
        tail = []
        if report.conflicts or report.duplicates or report.shared_rooms:
            tail.append("请点“冲突审核”处理两台电脑同时修改的内容。")
        tail.append("可以拔出U盘了。")
        self.report_view.setPlainText("\n".join([head, *report.lines(), *tail]))
        with contextlib.suppress(sqlite3.Error):  # a local convenience: never worth failing the sync over
            self.ctx.db.set_meta("sync_last_folder", self.folder_edit.text().strip())
        asking = [r for r in report.mass_delete_refused if r.bundle_id]
        if asking and not self.mass_delete_confirmed and MassDeleteDialog.ask(self, asking):
            # Only the files the clerk saw in the dialog are allowed; anything new on the stick is judged again.
            self.start(allow_mass_delete={r.bundle_id for r in asking if r.bundle_id})

    def _failed(self, exc: BaseException) -> None:
        self._finished(done=False)
        if isinstance(exc, KnownError):
            self.report_view.setPlainText(f"同步未完成：{exc}\n本机数据没有任何改动。")
            return
        from app.ui.common.crash import report_exception

        report_exception(exc)

    def open_conflicts(self) -> None:
        from app.ui.sync.conflicts_dialog import ConflictsDialog

        dialog = ConflictsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.conflicts_dialog = dialog

"""工具 → 从备份恢复: choose a backup, see it checked and what will change, then swap it in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core import accounts, backup, restore
from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.core.restore import BackupReport, OtherCommunityError, PreparedRestore
from app.models.core.safe_files import human_size
from app.ui.common import messages
from app.widgets import file_dialogs

LIST_HEADERS = ["备份时间", "类型", "大小", "社区", "文件"]
COUNT_HEADERS = ["备份中（恢复后）", "现在", "恢复后变化"]
ERROR_STYLE = "color: #b00020;"
OK_STYLE = "color: #1b5e20;"


class RestoreDialog(QDialog):
    """Lists the backups; a chosen one is checked on the worker before anything can be swapped."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.ctx = window.ctx
        self.setObjectName("restoreDialog")
        self.setAccessibleName("从备份恢复")
        self.setWindowTitle("从备份恢复")
        self.resize(820, 600)
        self.report: BackupReport | None = None
        self.chosen: Path | None = None
        self._checking = 0  # generation: a slower check of an earlier choice is ignored

        intro = QLabel(
            "选择一个备份文件。程序会先检查它，再列出恢复前后的数量。恢复会用备份替换当前数据库，"
            "备份以后录入的内容都会撤销；当前数据库会先另存为“恢复前自动备份”，需要时还能找回。", self)
        intro.setWordWrap(True)

        self.table = QTableWidget(0, len(LIST_HEADERS), self)
        self.table.setObjectName("restoreBackupList")
        self.table.setAccessibleName("备份列表")
        self.table.setHorizontalHeaderLabels(LIST_HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for col in range(len(LIST_HEADERS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.choose_button = QPushButton("选择其他文件…", self)
        self.choose_button.setObjectName("restoreChooseFile")
        self.choose_button.clicked.connect(self.choose_file)
        self.folder_label = QLabel(f"自动备份位置：{backup.default_folder()}", self)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.folder_label, 1)
        row.addWidget(self.choose_button)

        box = QGroupBox("检查结果", self)
        self.status = QLabel("请在上面选择一个备份。", box)
        self.status.setObjectName("restoreStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts = QTableWidget(len(restore.COUNTED), len(COUNT_HEADERS), box)
        self.counts.setObjectName("restoreCounts")
        self.counts.setAccessibleName("恢复前后的数量")
        self.counts.setHorizontalHeaderLabels(COUNT_HEADERS)
        self.counts.setVerticalHeaderLabels([label for _key, label, _sql in restore.COUNTED])
        self.counts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.counts.setFixedHeight(self.counts.horizontalHeader().sizeHint().height()
                                   + 34 * len(restore.COUNTED) + 2 * self.counts.frameWidth() + 2)
        for r in range(len(restore.COUNTED)):
            self.counts.setRowHeight(r, 34)
        self.other = QCheckBox("这是另一个社区的备份。我确认要用它替换本机的台账。", box)
        self.other.setObjectName("restoreOtherCommunity")
        self.other.hide()
        self.other.toggled.connect(self._update_buttons)
        inner = QVBoxLayout(box)
        inner.addWidget(self.status)
        inner.addWidget(self.counts)
        inner.addWidget(self.other)

        buttons = QDialogButtonBox(self)
        self.restore_button = buttons.addButton("恢复…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self.start_restore)
        close = buttons.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        close.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(box)
        layout.addWidget(buttons)
        self.load_list()

    # -- the list ------------------------------------------------------------------------------------
    def folders(self) -> list[Path | None]:
        second, _note = backup.second_place_folder(self.ctx.db, create=False)
        return [backup.default_folder(), second]

    def load_list(self) -> None:
        self.backups = backup.list_backups(self.folders())
        self.table.setRowCount(len(self.backups))
        for r, b in enumerate(self.backups):
            cells = [f"{b.taken:%Y-%m-%d %H:%M}", b.kind_label, human_size(b.size), b.owner, b.path.name]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(b.path))
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        if not self.backups:
            self.status.setText("自动备份位置还没有备份。可以点“选择其他文件…”选 U 盘或其他位置的备份。")

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.use_file(self.backups[rows[0].row()].path)

    def choose_file(self) -> None:
        path = file_dialogs.open_path(self, "restore", "选择备份文件", "数据库备份 (*.db);;所有文件 (*)")
        if path:
            self.table.clearSelection()
            self.use_file(Path(path))

    # -- checking the chosen file ---------------------------------------------------------------------
    def use_file(self, path: Path) -> None:
        """Check `path` on the worker; the counts and the 恢复 button follow."""
        self.chosen = Path(path)
        self.report = None
        self._checking += 1
        gen = self._checking
        self._show_counts(None)
        self.other.hide()
        self.other.setChecked(False)
        self._set_status(f"正在检查“{self.chosen.name}”……", None)
        self._update_buttons()
        self.ctx.runner.run(
            lambda db, _p: restore.check_backup(db, path),
            on_success=lambda report: self._checked(gen, report),
            on_failure=lambda exc: self._check_failed(gen, exc),
        )

    def _checked(self, gen: int, report: BackupReport) -> None:
        if gen != self._checking:
            return
        self.report = report
        self._show_counts(report)
        text = (f"“{report.path.name}”检查通过：{report.taken:%Y-%m-%d %H:%M} 的{report.kind}，"
                f"{human_size(report.size)}，社区：{report.community_name or '（未设置）'}。")
        if not report.same_community:
            text += f"\n注意：这不是本机社区“{report.current_community_name}”的备份。"
            self.other.show()
        self._set_status(text, True if report.same_community else None)
        self._update_buttons()

    def _check_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._checking:
            return
        if not isinstance(exc, KnownError):
            from app.ui.common.crash import report_exception

            report_exception(exc)
            return
        self._set_status(str(exc), False)
        self._update_buttons()

    def _set_status(self, text: str, ok: bool | None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("" if ok is None else (OK_STYLE if ok else ERROR_STYLE))

    def _show_counts(self, report: BackupReport | None) -> None:
        for r, (_key, _label, _sql) in enumerate(restore.COUNTED):
            then, now = (report.rows()[r][1:] if report else (None, None))
            diff = "" if then is None or now is None else (f"{then - now:+,}" if then != now else "不变")
            for c, text in enumerate((_num(then) if report else "", _num(now) if report else "", diff)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 2 and diff not in ("", "不变"):
                    item.setForeground(QColor("#b00020"))
                self.counts.setItem(r, c, item)

    def _update_buttons(self) -> None:
        ready = self.report is not None and (self.report.same_community or self.other.isChecked())
        self.restore_button.setEnabled(bool(ready))

    # -- restoring -------------------------------------------------------------------------------------
    def start_restore(self) -> None:
        report = self.report
        if report is None:
            return
        lines = [f"{label}：备份中 {_num(then)}，现在 {_num(now)}" for label, then, now in report.rows()]
        question = (f"用 {report.taken:%Y-%m-%d %H:%M} 的备份替换当前数据库吗？\n\n" + "\n".join(lines)
                    + "\n\n备份以后录入和修改的内容都会撤销。当前数据库会先另存为“恢复前自动备份”。")
        if not messages.confirm_destructive(self, "从备份恢复", question):
            return
        other_ok = not report.same_community and self.other.isChecked()
        self.restore_button.setEnabled(False)
        self.choose_button.setEnabled(False)
        self.table.setEnabled(False)
        self._set_status("正在恢复：先另存当前数据库，再写入备份……", None)
        path = report.path
        self.ctx.runner.run(
            lambda db, _p: restore.prepare_restore(db, path, other_community_ok=other_ok),
            on_success=self._prepared,
            on_failure=self._restore_failed,
        )

    def _restore_failed(self, exc: BaseException) -> None:
        self.table.setEnabled(True)
        self.choose_button.setEnabled(True)
        if isinstance(exc, OtherCommunityError):
            self.other.show()
        if not isinstance(exc, KnownError):
            from app.ui.common.crash import report_exception

            report_exception(exc)
            return
        self._set_status(str(exc), False)
        self._update_buttons()

    def _prepared(self, prepared: PreparedRestore) -> None:
        """The swap itself, on the UI thread with every connection closed: quick (a rename), and
        no view can read a closed connection meanwhile."""
        error = swap_database(self.window_, prepared)
        self.table.setEnabled(True)
        self.choose_button.setEnabled(True)
        if error is not None:
            self._set_status(str(error), False)
            messages.warn(self, "从备份恢复", f"没有恢复：{error}")
            return
        text = (f"已从备份恢复（{prepared.report.taken:%Y-%m-%d %H:%M}）。\n\n"
                f"恢复前的数据库已另存为：\n{prepared.safety_copy}")
        if prepared.damaged:  # the window was locked for the damage: a fresh start unlocks it
            text += "\n\n程序现在关闭，请重新打开。"
        messages.info(self, "从备份恢复", text)
        self.accept()
        if prepared.damaged:
            self.window_.close()


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def swap_database(window: Any, prepared: PreparedRestore) -> KnownError | None:
    """Close the program's connections, swap the prepared file in, reopen and refresh every view.
    Returns the reason when the swap was refused (the old file is reopened, unchanged)."""
    ctx = window.ctx
    db: Database = ctx.db
    principal = db.principal
    error: KnownError | None = None
    if not ctx.runner.release():
        prepared.discard()
        return KnownError("后台任务还没有结束，请稍后再恢复。数据库未作任何改动。")
    db.close()
    try:
        restore.swap_in(prepared)
    except KnownError as exc:
        error = exc
    db.reopen()
    if error is None:
        # direct write: the note of a restore in the restored file; the undo history is cleared and every view reloads below
        restore.record_restore(db, prepared, principal)
    if error is None:
        ctx.undo.clear()  # the steps were operations of the file that was replaced
    ctx.events.broadcast(Changes.all("从备份恢复"))  # another file: every view reads it again
    if error is None:
        _recheck_login(window)
    return error


def _recheck_login(window: Any) -> None:
    """The restored file has its own accounts: carry on as the same account if it is there (with
    its role as it was then), else lock so someone with an account in it logs in."""
    principal = window.ctx.db.principal
    session = getattr(window, "session", None)
    if session is None or not principal.account_id:
        return
    try:
        account = accounts.get_account(window.ctx.db, principal.account_id)
    except KnownError:
        account = None
    if account is None or not account.enabled:
        session.lock("restored")
    else:
        session.switch_to(accounts.principal_of(account))

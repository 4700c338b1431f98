"""工具 → 账号管理 (administrators): accounts, their roles and buildings, passwords, the idle lock."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core import accounts
from app.models.core.access import ROLE_LABELS, Role
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.ui.accounts.login_dialog import _error_label, _password_edit
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform


class AccountEditDialog(QDialog):
    """A new account (with its password) or an existing one's name, role and buildings."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, account: accounts.Account | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.account = account
        self.setObjectName("accountEditDialog")
        self.setWindowTitle(f"修改账号 — {account.name}" if account else "新建账号")
        self.setMinimumWidth(440)
        self.name = QLineEdit(account.name if account else "", self)
        self.name.setObjectName("accountName")
        self.name.setMaxLength(accounts.NAME_MAX)
        self.role = QComboBox(self)
        self.role.setObjectName("accountRole")
        for role in Role:
            self.role.addItem(ROLE_LABELS[role], role.value)
        self.role.setCurrentIndex(self.role.findData((account.role if account else Role.CLERK).value))
        self.buildings = QListWidget(self)
        self.buildings.setObjectName("accountBuildings")
        self.buildings.setMaximumHeight(160)
        chosen = set(account.building_ids) if account else set()
        for building_id, name in accounts.building_choices(ctx.db):
            item = QListWidgetItem(name, self.buildings)
            item.setData(Qt.ItemDataRole.UserRole, building_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if building_id in chosen else Qt.CheckState.Unchecked)
        self.role.currentIndexChanged.connect(self._role_changed)
        form = QFormLayout()
        form.addRow("账号名称：", self.name)
        form.addRow("角色：", self.role)
        form.addRow("负责楼栋：", self.buildings)
        self.password = self.confirm = None
        if account is None:
            self.password = _password_edit(self, "accountPassword")
            self.confirm = _password_edit(self, "accountConfirm")
            form.addRow("密码：", self.password)
            form.addRow("再输一次：", self.confirm)
            form.addRow("", QLabel("至少 8 个字符，不能与账号名称相同，不能全是同一个字符。", self))
        self.error = _error_label(self, "accountError")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("accountSave")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._role_changed()

    def _role_changed(self) -> None:
        self.buildings.setEnabled(self.role.currentData() == Role.BUILDING_HEAD)

    def chosen_buildings(self) -> list[str]:
        return [self.buildings.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.buildings.count())
                if self.buildings.item(i).checkState() == Qt.CheckState.Checked]

    def save(self) -> None:
        role = Role(self.role.currentData())
        ids = self.chosen_buildings() if role == Role.BUILDING_HEAD else []
        account, name = self.account, self.name.text()
        password = ""
        if account is None:
            assert self.password is not None and self.confirm is not None
            if self.password.text() != self.confirm.text():
                self._refused(KnownError("两次输入的密码不一致。"))
                return
            password = self.password.text()

        def save(db: Database) -> object:
            if account is None:
                return accounts.add_account(db, name, role, password, ids)
            accounts.update_account(db, account.id, name=name, role=role, building_ids=ids)
            return None

        if perform(self.ctx, self, save, on_error=self._refused):
            self.accept()

    def _refused(self, exc: KnownError) -> None:
        self.error.setText(str(exc))
        self.error.show()


class PasswordDialog(QDialog):
    """A new password twice; for one's own password also the old one."""

    def __init__(self, ctx: AppContext, account: accounts.Account, parent: QWidget | None = None,
                 *, own: bool = False) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.account = account
        self.setObjectName("passwordDialog")
        self.setWindowTitle("修改我的密码" if own else f"重设密码 — {account.name}")
        self.setMinimumWidth(400)
        form = QFormLayout()
        self.old = None
        if own:
            self.old = _password_edit(self, "passwordOld")
            form.addRow("原密码：", self.old)
        self.new = _password_edit(self, "passwordNew")
        self.again = _password_edit(self, "passwordConfirm")
        self.again.returnPressed.connect(self.save)
        form.addRow("新密码：", self.new)
        form.addRow("再输一次：", self.again)
        self.error = _error_label(self, "passwordError")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("passwordSave")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if not own:
            note = QLabel(f"为 {account.name} 设一个新密码，并当面告诉本人。", self)
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        (self.old or self.new).setFocus()

    def save(self) -> None:
        if self.new.text() != self.again.text():
            self._refused(KnownError("两次输入的新密码不一致。"))
            return
        account_id, new, old = self.account.id, self.new.text(), self.old.text() if self.old is not None else None
        if perform(self.ctx, self, lambda db: accounts.set_password(db, account_id, new, old_password=old),
                   on_error=self._refused):
            self.accept()

    def _refused(self, exc: KnownError) -> None:
        self.error.setText(str(exc))
        self.error.show()


class AccountsDialog(QDialog):
    COLUMNS = ["账号", "角色", "负责楼栋", "状态"]

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("accountsDialog")
        self.setWindowTitle("账号管理")
        self.resize(680, 460)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setObjectName("accountsTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(self.edit)

        side = QVBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (("accountAdd", "新建账号…", self.add), ("accountEdit", "修改…", self.edit),
                                ("accountResetPassword", "重设密码…", self.reset_password),
                                ("accountToggle", "停用", self.toggle), ("accountDelete", "删除", self.delete)):
            button = QPushButton(text, self)
            button.setObjectName(key)
            button.clicked.connect(slot)
            side.addWidget(button)
            self.buttons[key] = button
        side.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.table, 1)
        top.addLayout(side)

        self.minutes = QSpinBox(self)
        self.minutes.setObjectName("lockMinutes")
        self.minutes.setRange(*accounts.IDLE_MINUTES_RANGE)
        self.minutes.setSuffix(" 分钟")
        self.minutes.setValue(accounts.idle_lock_minutes(ctx.db))
        apply_minutes = QPushButton("应用", self)
        apply_minutes.setObjectName("lockMinutesApply")
        apply_minutes.clicked.connect(self.apply_minutes)
        idle = QHBoxLayout()
        idle.addWidget(QLabel("无人操作多久后自动锁定：", self))
        idle.addWidget(self.minutes)
        idle.addWidget(apply_minutes)
        idle.addStretch(1)
        self.message = QLabel(self)
        self.message.setObjectName("accountsMessage")
        self.message.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(idle)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self.reload()

    # -- list ---------------------------------------------------------------------------------
    def reload(self, select_id: str | None = None) -> None:
        self.rows = accounts.list_accounts(self.ctx.db)
        self.table.setRowCount(len(self.rows))
        for r, a in enumerate(self.rows):
            values = [a.name, a.role_label, "、".join(a.building_names), "可用" if a.enabled else "已停用"]
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        row = next((i for i, a in enumerate(self.rows) if a.id == select_id), 0 if self.rows else -1)
        if row >= 0:
            self.table.selectRow(row)
        self._selection_changed()

    def selected(self) -> accounts.Account | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        account = self.selected()
        for key in ("accountEdit", "accountResetPassword", "accountToggle", "accountDelete"):
            self.buttons[key].setEnabled(account is not None)
        self.buttons["accountToggle"].setText("启用" if account is not None and not account.enabled else "停用")

    def _done(self, text: str, select_id: str | None = None) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.reload(select_id)

    def _failed(self, exc: KnownError) -> None:
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(str(exc))

    # -- actions ------------------------------------------------------------------------------
    def add(self) -> None:
        dialog = AccountEditDialog(self.ctx, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._done(f"已新建账号“{dialog.name.text().strip()}”。")

    def edit(self) -> None:
        account = self.selected()
        if account is None:
            return
        dialog = AccountEditDialog(self.ctx, self, account)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._done(f"已保存账号“{dialog.name.text().strip()}”。", account.id)

    def reset_password(self) -> None:
        account = self.selected()
        if account is None:
            return
        if PasswordDialog(self.ctx, account, self).exec() == QDialog.DialogCode.Accepted:
            self._done(f"已为“{account.name}”设新密码。", account.id)

    def toggle(self) -> None:
        account = self.selected()
        if account is None:
            return
        if not perform(self.ctx, self, lambda db: accounts.set_enabled(db, account.id, not account.enabled),
                       on_error=self._failed):
            return
        self._done(f"已{'启用' if not account.enabled else '停用'}账号“{account.name}”。", account.id)

    def delete(self) -> None:
        account = self.selected()
        if account is None or not messages.confirm(self, "删除账号", f"删除账号“{account.name}”？删除后此人不能再登录。"):
            return
        if not perform(self.ctx, self, lambda db: accounts.delete_account(db, account.id), on_error=self._failed):
            return
        self._done(f"已删除账号“{account.name}”。")

    def apply_minutes(self) -> None:
        minutes = self.minutes.value()
        if not perform(self.ctx, self, lambda db: accounts.set_idle_lock_minutes(db, minutes), on_error=self._failed):
            return
        self._done(f"无人操作 {self.minutes.value()} 分钟后自动锁定。", getattr(self.selected(), "id", None))

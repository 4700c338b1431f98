"""Who is at the keyboard: the login dialog (also the lock screen) and the first administrator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.core import accounts, unlock
from app.models.core.access import ROLE_LABELS, Principal, Role
from app.models.core.db import Database
from app.models.core.errors import KnownError


def _error_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setStyleSheet("color: #b00020;")
    label.setWordWrap(True)
    label.hide()
    return label


def _password_edit(parent: QWidget, name: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(128)
    return edit


class LoginDialog(QDialog):
    """Pick an account, type its password, press Enter. ``principal`` holds who logged in.

    As the lock screen (``locked_by`` given) it starts on the locked account; choosing another
    account there switches user.
    """

    clock: accounts.Clock | None = None  # tests put a fake clock here

    def __init__(self, db: Database | None, parent: QWidget | None = None, *, locked_by: Principal | None = None,
                 preset_name: str | None = None, message: str | None = None, path: Path | None = None) -> None:
        """``db`` None: an encrypted file at ``path`` not yet unlocked; its accounts come from its
        keys file and the password unwraps the key before the file is opened."""
        super().__init__(parent)
        self.db = db
        self.path = Path(path) if path is not None else db.path  # type: ignore[union-attr]
        self.locked_by = locked_by
        self.principal: Principal | None = None
        self.setObjectName("lockScreen" if locked_by else "loginDialog")
        self.setWindowTitle("安居台账 — 已锁定" if locked_by else "安居台账 — 登录")
        self.setMinimumWidth(420)

        heading = QLabel(self)
        heading.setObjectName("loginHeading")
        heading.setWordWrap(True)
        if locked_by:
            heading.setText(f"<b>程序已锁定</b><br>{locked_by.name} 离开后程序已锁定。请输入密码继续，"
                            "或选择其他账号切换用户。")
        else:
            heading.setText(f"<b>安居台账</b><br>数据库：{self.path.name}")

        self.user = QComboBox(self)
        self.user.setObjectName("loginUser")
        self.user.setAccessibleName("账号")
        if db is None:
            for name, role in unlock.login_names(self.path):
                label = ROLE_LABELS.get(Role(role), "") if role in {r.value for r in Role} else ""
                self.user.addItem(f"{name}（{label}）" if label else name, name)
        else:
            for account in accounts.list_accounts(db, enabled_only=True):
                self.user.addItem(f"{account.name}（{account.role_label}）", account.name)
        wanted = locked_by.name if locked_by else preset_name
        if wanted is not None and self.user.findData(wanted) >= 0:
            self.user.setCurrentIndex(self.user.findData(wanted))
        self.password = _password_edit(self, "loginPassword")
        self.password.setAccessibleName("密码")
        self.password.returnPressed.connect(self.try_login)
        self.error = _error_label(self, "loginError")

        form = QFormLayout()
        form.addRow("账号：", self.user)
        form.addRow("密码：", self.password)

        buttons = QDialogButtonBox(self)
        self.login_button = buttons.addButton("解锁" if locked_by else "登录", QDialogButtonBox.ButtonRole.AcceptRole)
        self.login_button.setObjectName("loginButton")
        self.login_button.setDefault(True)
        self.quit_button = buttons.addButton("退出程序", QDialogButtonBox.ButtonRole.RejectRole)
        self.quit_button.setObjectName("loginQuit")
        self.login_button.clicked.connect(self.try_login)
        self.quit_button.clicked.connect(self.reject)

        panel = QWidget(self)
        layout = QVBoxLayout(panel)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        hint = accounts.demo_password_hint(db) if db is not None else (
            accounts.DEMO_PASSWORD if unlock.demo_hint(self.path) else None)
        if hint:
            demo = QLabel(f"演示数据库：各演示账号（管理员、楼栋长1 等）的密码都是 <b>{hint}</b>", self)
            demo.setObjectName("loginDemoHint")
            demo.setStyleSheet("color: #555;")
            demo.setWordWrap(True)
            layout.addWidget(demo)
        layout.addWidget(buttons)
        outer = QVBoxLayout(self)
        if locked_by:
            # The lock screen covers the whole window; the form stays a readable column in its middle.
            panel.setFixedWidth(460)
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(panel)
            row.addStretch(1)
            outer.addStretch(1)
            outer.addLayout(row)
            outer.addStretch(2)
        else:
            outer.setContentsMargins(0, 0, 0, 0)
            outer.addWidget(panel)
        if message:
            self.show_error(message)
        self.password.setFocus()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def try_login(self) -> None:
        name = self.user.currentData()
        if not name:
            self.show_error("没有可用的账号，请联系系统管理员。")
            return
        try:
            if self.db is None:
                # direct write: signing in (its audit entry) happens before any window or operation exists
                principal = unlock.login_encrypted(self.path, name, self.password.text(), via="gui", clock=self.clock)
            else:
                # direct write: signing in (its audit entry) happens before any window or operation exists
                principal = accounts.authenticate(self.db, name, self.password.text(), via="gui", clock=self.clock)
        except KnownError as exc:
            self.password.clear()
            self.password.setFocus()
            self.show_error(str(exc))
            return
        self.principal = principal
        self.accept()

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        # Escape must not dismiss a lock screen (that would unlock it); it does nothing there.
        if self.locked_by is not None and event.key() == Qt.Key.Key_Escape:
            return
        super().keyPressEvent(event)


class FirstAdminDialog(QDialog):
    """A database without accounts: create the first administrator before anything else."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.principal: Principal | None = None
        self.setObjectName("firstAdminDialog")
        self.setWindowTitle("安居台账 — 建立第一个管理员账号")
        self.setMinimumWidth(480)
        intro = QLabel(
            "这个数据库还没有任何账号。为保护居民个人信息，从现在起使用本程序须先登录。<br>"
            "请先建立第一个<b>系统管理员</b>账号；之后可在“工具 → 账号管理”中为工作人员、楼栋长等建立账号。<br>"
            "不建立账号将无法打开这个数据库。",
            self,
        )
        intro.setObjectName("firstAdminIntro")
        intro.setWordWrap(True)
        self.name = QLineEdit("管理员", self)
        self.name.setObjectName("firstAdminName")
        self.name.setMaxLength(accounts.NAME_MAX)
        self.password = _password_edit(self, "firstAdminPassword")
        self.confirm = _password_edit(self, "firstAdminConfirm")
        self.confirm.returnPressed.connect(self.create_account)
        rules = QLabel("密码至少 8 个字符，不能与账号名称相同，不能全是同一个字符。", self)
        rules.setStyleSheet("color: #555;")
        rules.setWordWrap(True)
        self.error = _error_label(self, "firstAdminError")
        form = QFormLayout()
        form.addRow("账号名称：", self.name)
        form.addRow("密码：", self.password)
        form.addRow("再输一次：", self.confirm)
        buttons = QDialogButtonBox(self)
        create = buttons.addButton("建立并登录", QDialogButtonBox.ButtonRole.AcceptRole)
        create.setObjectName("firstAdminCreate")
        create.setDefault(True)
        skip = buttons.addButton("退出程序", QDialogButtonBox.ButtonRole.RejectRole)
        skip.setObjectName("firstAdminQuit")
        create.clicked.connect(self.create_account)
        skip.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(rules)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.password.setFocus()

    def create_account(self) -> None:
        if self.password.text() != self.confirm.text():
            self._fail("两次输入的密码不一致。", self.confirm)
            return
        try:
            # direct write: the first administrator is made before any window exists
            accounts.add_account(self.db, self.name.text(), Role.ADMIN, self.password.text())
            # direct write: signing in, before any window exists
            self.principal = accounts.authenticate(self.db, self.name.text().strip(), self.password.text(), via="gui")
        except KnownError as exc:
            field = getattr(exc, "field", None)
            self._fail(str(exc), self.name if field == "name" else self.password)
            return
        self.accept()

    def _fail(self, text: str, focus: QLineEdit) -> None:
        self.error.setText(text)
        self.error.show()
        focus.setFocus()
        focus.selectAll()


def describe(principal: Principal) -> str:
    """「张三（楼栋长：1栋、2栋）」 for the status bar."""
    if principal.role is None:
        return principal.name
    return f"{principal.name}（{ROLE_LABELS[principal.role]}）"

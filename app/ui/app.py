"""Starting the GUI: the QApplication, the database (the demo one made on first use), the window."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QProgressDialog

from app.models.core import encryption, unlock
from app.models.core.access import Principal
from app.models.core.db import DEFAULT_USER, Database, open_database
from app.models.core.errors import KnownError
from app.models.core.safe_files import DiskFullError, atomic_path, remember_database, remove_leftovers
from app.models.registry import households
from app.paths import log_dir, resource_dir
from app.start_options import credentials, read_secret_file, resolve_db
from app.ui.common import messages, text_size
from app.ui.common.context import AppContext
from app.ui.common.events import DataEvents
from app.ui.common.ops import OpRunner, Progress
from app.ui.main_window import MainWindow
from app.widgets import screen_fit

DEMO_HOUSEHOLDS = 5300  # the scale of the fourth-largest site in China (~23,000 residents)


def ensure_application() -> QApplication:
    """The existing QApplication (tests, tools) or a new one."""
    # The worker thread's Python work holds the GIL in slices; shorter slices let the UI thread
    # in sooner while figures compute in the background.
    sys.setswitchinterval(0.001)
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Anju")
        app.setOrganizationName("Anju")
        app.setApplicationDisplayName("安居台账")
        # Matches the installed anju.desktop, so Wayland shells show the menu entry's icon.
        app.setDesktopFileName("anju")
        app.setWindowIcon(QIcon(str(resource_dir() / "icons" / "anju.svg")))
        _install_qt_chinese(app)
        screen_fit.install(app)
        text_size.apply_saved()  # before any window is built, so every size starts from it
    return app  # type: ignore[return-value]


def _install_qt_chinese(app: QApplication) -> None:
    """Qt's own strings (Save, Cancel, Yes, No in standard buttons and dialogs) in Chinese."""
    from app.ui.common import qt_chinese

    qt_chinese.install(app)


def _process_age_ms() -> float:
    """Milliseconds since this process started (Linux), else since this module was imported."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return (uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError):
        return (time.perf_counter() - _IMPORTED) * 1000


_IMPORTED = time.perf_counter()


def build_window(db_path: str | Path, *, demo: bool = False, user: str | None = None,
                 principal: Principal | None = None, read_only: bool | None = None) -> MainWindow:
    """Open the database and build the main window on it (also used by tests and the bench).

    ``principal``: who is logged in; the UI connection and the worker's both act for them.
    ``read_only`` as for :func:`open_database`: None opens read-only only when the file cannot be written.
    """
    db = open_database(db_path, read_only=read_only, user=user or DEFAULT_USER)
    if not user:
        from app.models.places.community_setup import saved_user

        db.user = saved_user(db) or db.user  # the name given in the set-up wizard on this PC
    remember_database(db.path)
    runner = OpRunner(db.path, db.user, read_only=db.read_only)
    runner.principal_of = lambda: db.principal  # the worker follows every login and switch of user
    ctx = AppContext(db=db, runner=runner, events=DataEvents(), demo=demo)
    if principal is not None:
        from app.ui.accounts.session import apply_principal

        apply_principal(ctx, principal)
    return MainWindow(ctx)


def sign_in(path: Path, args: argparse.Namespace) -> Principal | None:
    """Who uses the window: the first administrator on a file without accounts, else a login.

    Valid ``--user``/``--password-file`` (or ANJU_USER/ANJU_PASSWORD_FILE) skip the login
    dialog; invalid ones open it with the reason shown. None: the clerk quit, nothing opens.
    """
    from app.models.core import accounts
    from app.ui.accounts.login_dialog import FirstAdminDialog, LoginDialog

    if encryption.is_locked(path):
        return _sign_in_encrypted(path, args)
    db = open_database(path)
    try:
        if not accounts.has_accounts(db):
            first = FirstAdminDialog(db)
            first.exec()
            return first.principal
        principal, user, message = _sign_in_from_args(
            # direct write: signing in, before the window exists
            args, lambda name, password: accounts.authenticate(db, name, password, via="gui"))
        if principal is not None:
            return principal
        login = LoginDialog(db, preset_name=user, message=message)
        login.exec()
        return login.principal
    finally:
        db.close()


_LOGIN_MS: float | None = None


def _sign_in_from_args(
    args: argparse.Namespace, attempt: Callable[[str, str], Principal],
) -> tuple[Principal | None, str | None, str | None]:
    """Sign in with the user and password file given at start, if both were: (principal, user,
    why it failed). Without them, or when refused, the login dialog opens preset with the user."""
    global _LOGIN_MS
    user, password_file = credentials(args)
    if not (user and password_file):
        return None, user, None
    started = time.perf_counter()
    try:
        principal = attempt(user, read_secret_file(password_file))
    except KnownError as exc:
        return None, user, str(exc)
    _LOGIN_MS = (time.perf_counter() - started) * 1000
    return principal, user, None


def _sign_in_encrypted(path: Path, args: argparse.Namespace) -> Principal | None:
    """An encrypted file: the login screen lists the accounts of its keys file; the password
    unwraps the key before the file is opened (a wrong one leaves the file untouched)."""
    from app.ui.accounts.login_dialog import LoginDialog

    principal, user, message = _sign_in_from_args(
        # direct write: signing in, before the window exists
        args, lambda name, password: unlock.login_encrypted(path, name, password, via="gui"))
    if principal is not None:
        return principal
    login = LoginDialog(None, preset_name=user, message=message, path=path)
    login.exec()
    return login.principal


def encrypt_if_needed(path: Path, principal: Principal | None, app: QApplication) -> str | None:
    """A plain file with accounts is encrypted when an administrator logs in: on a worker thread,
    with a progress bar; then the recovery code is shown once. Returns the code (None: nothing done)."""
    if principal is None or principal.role is None or principal.role.value != "admin":
        return None
    if not encryption.plain_with_accounts(path):
        return None
    try:
        db = open_database(path, create=False)
        try:
            healthy = db.can_write()  # a damaged or read-only file is opened as it is, not converted
        finally:
            db.close()
    except KnownError:
        return None
    if not healthy:
        return None
    dialog = QProgressDialog(labelText="正在加密数据库，请勿关闭电脑……", minimum=0, maximum=100)
    dialog.setObjectName("encryptProgress")
    dialog.setWindowTitle("安居台账 — 加密数据库")
    dialog.setMinimumDuration(0)
    dialog.setCancelButton(None)
    state = _EncryptState()

    def progress(done: int, total: int, text: str) -> None:
        state.done, state.total, state.text = done, total, text

    def work() -> None:
        try:
            state.code = encryption.convert_to_encrypted(path, progress)
        except BaseException as exc:  # shown on the UI thread below
            state.error = exc

    worker = threading.Thread(target=work, name="anju-encrypt", daemon=False)
    worker.start()
    dialog.show()
    while worker.is_alive():
        dialog.setMaximum(state.total)
        dialog.setValue(state.done)
        if state.text:
            dialog.setLabelText(f"{state.text}\n（{path.name}）")
        app.processEvents()
        time.sleep(0.02)
    worker.join()
    dialog.close()
    if state.error is not None:
        raise state.error
    code = str(state.code)
    show_recovery_code(path, code)
    return code


@dataclass
class _EncryptState:
    """What the encrypting thread reports to the UI thread's wait loop."""

    done: int = 0
    total: int = 100
    text: str = ""
    code: str | None = None  # the recovery code, once the file is encrypted
    error: BaseException | None = None


@dataclass
class _JobOutcome:
    """How the demo job ended, as the UI thread's wait loop sees it."""

    ok: bool = False
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.ok or self.error is not None


def show_recovery_code(path: Path, code: str) -> None:
    from app.models.places.community_setup import current_community
    from app.ui.accounts.recovery_sheet import RecoveryCodeDialog

    db = open_database(path, create=False)
    try:
        community = (current_community(db) or {}).get("name") or ""
    finally:
        db.close()
    RecoveryCodeDialog(code, str(community), path).exec()


class _DemoCancelled(Exception):
    pass


def _generate_demo(path: Path, app: QApplication) -> bool:
    """Make the demo community with a progress dialog; False if the clerk cancelled.

    A new file is built under a temporary name, so a full disk or a kill leaves no half demo."""
    from app.models.demo import demo

    if path.exists():
        return _demo_job(path, path, app)
    try:
        with atomic_path(path, check=demo.check_demo_file, what="演示数据库") as part:
            if not _demo_job(part, path, app):
                raise _DemoCancelled
    except _DemoCancelled:
        return False
    except DiskFullError as exc:
        raise DiskFullError(exc.folder, needed=demo.estimated_size(DEMO_HOUSEHOLDS), what="演示数据库",
                            estimate=True) from exc
    return True


def _demo_job(target: Path, path: Path, app: QApplication) -> bool:
    from app.models.demo import demo

    demo.begin_encrypted(target)  # the demo has accounts: encrypted from its first page
    db = open_database(target)
    runner = OpRunner(target, db.user)
    dialog = QProgressDialog("正在生成演示社区（约 23,000 位居民）……", "取消", 0, 100)
    dialog.setWindowTitle("安居台账 — 首次启动")
    dialog.setMinimumDuration(0)
    outcome = _JobOutcome()

    def job(wdb: Database, progress: Progress) -> None:
        def report(done: int, total: int, text: str) -> None:
            progress.check()
            progress.report(done, total, text)

        demo.generate(wdb, DEMO_HOUSEHOLDS, seed=1, progress=report)
        progress.report(1, 1, "整理数据库文件")
        demo.settle(wdb, target, path)

    def on_progress(done: int, total: int, text: str) -> None:
        dialog.setMaximum(max(total, 1))
        dialog.setValue(done)
        if text:
            dialog.setLabelText(f"正在生成演示社区：{text}")

    def succeeded(_result: object) -> None:
        outcome.ok = True

    def failed(exc: BaseException) -> None:
        outcome.error = exc

    handle = runner.run(job, on_success=succeeded, on_failure=failed, on_progress=on_progress)
    dialog.canceled.connect(handle.cancel)
    while not outcome.finished and not (dialog.wasCanceled() and not runner.busy):
        app.processEvents()
        time.sleep(0.01)
    runner.shutdown()
    dialog.close()
    db.close()
    if outcome.error is not None:
        raise outcome.error
    if outcome.ok:
        from app.models.core.accounts import DEMO_PASSWORD

        demo.finish_encrypted(target, path, DEMO_PASSWORD)
    if not outcome.ok:
        if target == path:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return False
    return True


def _needs_demo(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    if encryption.is_locked(path):
        return False  # an encrypted demo has its data (and the login opens it)
    db = open_database(path, create=False)
    try:
        return not households.any_household(db)
    finally:
        db.close()


def _confirm_new_in_empty_file(path: Path) -> bool:
    """A 0-byte file becomes a new database only when the clerk says so (it may be a damaged copy)."""
    return messages.confirm_destructive(
        None,
        "空的数据库文件",
        f"“{path}”是一个空文件（0 字节）。\n\n如果这是原来的数据库，说明它已损坏，请用备份恢复，不要在这里新建。"
        "\n\n要在这个文件里新建一个空的安居台账数据库吗？",
    )


def run_gui(args: argparse.Namespace) -> int:
    """Open the main window; returns the application's exit code."""
    from app.ui.common.crash import install_excepthook

    app = ensure_application()
    path = resolve_db(args)
    for folder in {path.parent, log_dir()}:
        remove_leftovers(folder)  # temporary files of writes killed last time
    demo = bool(getattr(args, "demo", False)) or path.name == "demo.db"
    try:
        if demo and _needs_demo(path) and not _generate_demo(path, app):
            return 1
        if not demo and path.exists() and path.stat().st_size == 0 and not _confirm_new_in_empty_file(path):
            return 1
        principal = sign_in(path, args)
        if principal is None:
            print("未登录，程序未打开数据库。", file=sys.stderr)
            return 1
        if not getattr(args, "smoke_test", False):  # an installation check converts nothing
            encrypt_if_needed(path, principal, app)  # a file with accounts is encrypted
        window = build_window(path, demo=demo, principal=principal)
    except KnownError as exc:
        messages.error(None, "无法打开数据库", str(exc))
        return 2
    install_excepthook()
    window.show()
    smoke = getattr(args, "smoke_test", False)
    if not smoke:
        from app.ui.setup.setup_wizard import start_if_needed

        start_if_needed(window)  # an empty database: the set-up wizard opens over the window
    if smoke:
        app.processEvents()
        if sys.stdout is not None:  # a windowed Windows program has no console
            print(f"anju-shown-ms {_process_age_ms():.1f}", flush=True)
            if _LOGIN_MS is not None:
                print(f"anju-login-ms {_LOGIN_MS:.1f}", flush=True)
        auto = getattr(window, "auto_backup", None)
        if auto is not None:
            auto.enabled = False  # a check of the installation writes no backup
        QTimer.singleShot(0, window.close)
    code = app.exec()
    window.shutdown()
    return code

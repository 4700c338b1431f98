"""Command line: `anju` opens the GUI; sub-commands do batch work on the same database."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app import __version__
from app.commands import COMMAND_MODULES
from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal, Role
from app.models.core.errors import KnownError
from app.models.core.safe_files import disk_full_as_known, remember_database, remove_leftovers
from app.models.core.text_rules import escape_controls
from app.start_options import PASSWORD_FILE_ENV, USER_ENV, credentials, read_secret_file, resolve_db

if TYPE_CHECKING:
    from app.models.core.db import Database

log = logging.getLogger("anju.cli")
_NEEDS_LOGIN = ("这个数据库已设置账号，命令行也须登录：请加上 --user 账号名 --password-file 密码文件"
                f"（或设置环境变量 {USER_ENV} 和 {PASSWORD_FILE_ENV}）。")


def _force_utf8_output() -> None:
    # A Windows console may default to a legacy code page that cannot print Chinese.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):
                pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anju",
        description="安居台账 Anju: 易地扶贫搬迁安置社区台账. Without a sub-command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"anju {__version__}")
    parser.add_argument("--db", type=Path, help="database file (default: the one in the user's data folder)")
    parser.add_argument("--demo", action="store_true", help="open the demo community (generated on first use)")
    add_credential_arguments(parser, suppress=False)
    parser.add_argument(
        "--smoke-test", action="store_true",
        help="open the window, print 'anju-shown-ms N' once it is shown, and quit (checks an installation)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"app.commands.{name}")
        module.register(sub)
    return parser


def add_db_argument(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """Every sub-command takes --db PATH and the credentials (also accepted before the sub-command)."""
    parser.add_argument("--db", type=Path, required=required, default=argparse.SUPPRESS, help="database file")
    add_credential_arguments(parser, suppress=True)


def add_credential_arguments(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--user", default=default, metavar="NAME",
                        help=f"account name (or ${USER_ENV}); on a database without accounts, the author's name")
    parser.add_argument("--password-file", type=Path, default=default, metavar="F",
                        help=f"file holding the account's password (or ${PASSWORD_FILE_ENV})")


def sign_in(db: Database, args: argparse.Namespace, *, damaged_ok: bool = False) -> None:
    """Make `db` act for the account named by the credentials; refuse (and record) if they fail.

    On a database without accounts nothing is required and a given name is recorded as the author.
    """
    from app.models.core import accounts
    from app.models.core.access import Principal
    from app.models.core.audit_events import Action, Outcome, record_event

    user, password_file = credentials(args)
    try:
        has_accounts = accounts.has_accounts(db)
    except sqlite3.DatabaseError:
        if not damaged_ok:
            raise
        # anju check on a damaged file: the accounts cannot be read, the damage must still be reported.
        return
    if not has_accounts:
        if user:
            accounts.use_principal(db, Principal(name=user))
        return
    via = _via(args)
    if not user or not password_file:
        if not db.read_only:
            record_event(db, Action.LOGIN, {"via": via, "reason": "no credentials"}, Outcome.REFUSED, user=user or "")
        raise accounts.LoginError(_NEEDS_LOGIN)
    try:
        password = read_secret_file(password_file)
    except KnownError:
        if not db.read_only:
            record_event(db, Action.LOGIN, {"via": via, "reason": "password file unreadable"}, Outcome.FAILED,
                         user=user)
        raise
    accounts.login(db, user, password, via=via)


def open_db(args: argparse.Namespace, *, path: Path | None = None, create: bool = False,
            damaged_ok: bool = False, read_only: bool | None = None, old_ok: bool = False) -> Database:
    """Open the command's database and sign in with the given credentials (see :func:`sign_in`).

    ``read_only`` and ``old_ok`` go to :func:`open_database`. On a file opened
    read-only the credentials are checked but the attempt cannot be recorded. ``damaged_ok``:
    a file whose accounts cannot be read is opened without a login (anju check reports the damage).
    """
    from app.models.core import accounts, encryption, unlock
    from app.models.core.db import open_database

    target = path or resolve_db(args)
    unlock_if_encrypted(args, target)
    db = open_database(target, create=create, read_only=read_only, old_ok=old_ok)
    try:
        sign_in(db, args, damaged_ok=damaged_ok)
        unlock.after_login(db)
    except BaseException:
        db.close()
        raise
    if db.key is None and not db.read_only and encryption.plain_with_accounts(db.path) and db.can_write():
        principal = db.principal
        if principal.role == Role.ADMIN:
            db.close()
            convert_and_tell(target, principal)
            db = open_database(target, create=False, read_only=read_only, old_ok=old_ok)
            accounts.use_principal(db, principal)
    return db


def unlock_if_encrypted(args: argparse.Namespace, path: Path) -> None:
    """An encrypted file: the password unwraps its key before the file is read at all."""
    from app.models.core import accounts, encryption, unlock

    if encryption.is_locked(path):
        user, password_file = credentials(args)
        if not user or not password_file:
            raise accounts.LoginError(_NEEDS_LOGIN)
        unlock.unlock(path, user, read_secret_file(password_file), via=_via(args))


def convert_and_tell(path: Path, principal: Principal | None) -> str | None:
    """A plain file with accounts is encrypted once an administrator signs in; the recovery code is
    printed this once (it opens the file when every password is lost)."""
    from app.models.core import encryption

    interactive = sys.stderr.isatty()

    def progress(done: int, total: int, text: str) -> None:
        if interactive:
            print(f"\r[{done * 100 // max(total, 1):3d}%] {text}".ljust(50), end="", file=sys.stderr, flush=True)

    print(f"正在加密数据库 / encrypting the database: {path}", file=sys.stderr)
    code = encryption.ensure_encrypted(path, principal, progress)
    if interactive:
        print(file=sys.stderr)
    if code is not None:
        print_recovery_code(path, code)
    return code


def print_recovery_code(path: Path, code: str) -> None:
    print(f"数据库已加密 / database encrypted: {path}（钥匙文件 keys file: {path.name}.keys）")
    print(f"恢复码 / recovery code: {code}")
    print("请把恢复码抄在纸上（或在程序中打印恢复码单），锁在与电脑分开的地方。所有密码都丢失时，只有它能打开数据；"
          "本程序不会再显示它。/ Write it down and lock it away from the PC; it is shown only this once.")


def _via(args: argparse.Namespace) -> str:
    return f"cli {getattr(args, 'command', None) or ''}".strip()


class _EscapingStream:
    """stdout/stderr of a sub-command: whatever data a message carries, control characters are
    shown escaped (an ESC sequence in a cell cannot clear the console or fake green text).

    Line feeds and tabs stay (columns of a listing; a tab moves no cursor back and clears
    nothing); a carriage return stays only where a progress line starts with one."""

    def __init__(self, raw: TextIO) -> None:
        self._raw = raw

    def write(self, text: str) -> int:
        lead = "\r" if text.startswith("\r") else ""
        self._raw.write(lead + escape_controls(text[len(lead):], keep="\n\t"))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _cleanup_leftovers(args: argparse.Namespace) -> None:
    """Temporary files of a write that was killed (the PC lost power, the command was stopped)."""
    from app.paths import log_dir

    folders = {log_dir()}
    with contextlib.suppress(Exception):
        folders.add(resolve_db(args).parent)
    for folder in folders:
        remove_leftovers(folder)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the GUI's when no sub-command is given)."""
    _force_utf8_output()
    old_umask = _private_files_and_log()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _EscapingStream(sys.stdout), _EscapingStream(sys.stderr)
    try:
        parser = build_parser()
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command is None:
            sys.stdout, sys.stderr = saved
            from app.ui.app import run_gui

            return run_gui(args)
        return _run_command(args)
    except BrokenPipeError:
        # The reader went away (`anju stats --json | head -c 20`): stop quietly, like any Unix tool.
        _silence_stdout()
        return 141
    finally:
        sys.stdout, sys.stderr = saved
        if old_umask is not None:
            os.umask(old_umask)


def _private_files_and_log() -> int | None:
    """Once at start, for the window and every command: what this process creates is owner-only
    (files 0600, folders 0700, whatever a library writes), and the log file is open. Returns the
    umask to restore when :func:`main` returns (it may run inside another program, a test)."""
    old = None if sys.platform.startswith("win") else os.umask(0o077)
    from app.models.core import logs
    from app.paths import log_dir

    with contextlib.suppress(OSError):  # no log folder (read-only profile): the program still runs
        logs.setup(log_dir())
    return old


def _run_command(args: argparse.Namespace) -> int:
    with contextlib.suppress(Exception):
        remember_database(resolve_db(args))
    _cleanup_leftovers(args)
    started = time.perf_counter()
    code = 1
    log.info("command %s start (anju %s)", args.command, __version__)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        raise
    except KnownError as exc:
        code = 2
        log.info("command %s refused: %s", args.command, type(exc).__name__)
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        code = 130
        print("已中断，未作改动。", file=sys.stderr)
        return 130
    except Exception as exc:
        # A full disk may surface anywhere SQLite or a file writes: one place turns it into advice
        # (a healthy file on a full disk is not called damaged).
        known = disk_full_as_known(exc)
        if known is exc and isinstance(exc, sqlite3.DatabaseError):
            # A damaged page or a read-only file met in the middle of a command: the clerk gets
            # what happened and the way back, not a traceback.
            from app.models.core.db import describe_sqlite_error

            known = describe_sqlite_error(exc, resolve_db(args))
        if known is exc:
            log.error("command %s crashed: %s", args.command, type(exc).__name__)
            raise
        code = 2
        log.info("command %s refused: %s", args.command, type(known).__name__)
        print(f"错误：{known}", file=sys.stderr)
        return 2
    finally:
        log.info("command %s exit %d in %.2f s", args.command, code, time.perf_counter() - started)


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at the null device so that flush cannot fail.
    if sys.__stdout__ is None:  # started without a console: nothing to flush
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())

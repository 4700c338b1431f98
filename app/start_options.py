"""What the command line and the window both read from the options a start was given: which
database file to open, and which account signs in (options, else environment variables)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from app.models.core.errors import KnownError
from app.paths import default_db_path, demo_db_path

USER_ENV = "ANJU_USER"
PASSWORD_FILE_ENV = "ANJU_PASSWORD_FILE"


def resolve_db(args: argparse.Namespace) -> Path:
    """--db, else the demo database with --demo, else the one in the user's data folder."""
    if getattr(args, "db", None):
        return Path(args.db)
    return demo_db_path() if getattr(args, "demo", False) else default_db_path()


def credentials(args: argparse.Namespace) -> tuple[str | None, Path | None]:
    """The account name and password file from the options, else from the environment."""
    user = getattr(args, "user", None) or os.environ.get(USER_ENV) or None
    password_file = getattr(args, "password_file", None) or os.environ.get(PASSWORD_FILE_ENV) or None
    return (user.strip() if user else None), (Path(password_file) if password_file else None)


def read_secret_file(path: Path, what: str = "密码") -> str:
    """A password (or passphrase) from a file: the first line, without its line ending."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KnownError(f"{what}文件“{path}”不存在。") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(f"无法读取{what}文件“{path}”：{exc}") from None
    return text.splitlines()[0] if text.strip("\r\n") else ""

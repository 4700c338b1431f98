"""`anju recover`: open an encrypted database with its recovery code and set an administrator's password."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import add_db_argument
from app.start_options import read_secret_file, resolve_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recover", help="用恢复码重设管理员密码 / set an admin password with the recovery code")
    add_db_argument(p)
    p.add_argument("--code-file", type=Path, required=True, help="file holding the recovery code (from the sheet)")
    p.add_argument("--name", default="管理员", help="administrator account to set (created if missing)")
    p.add_argument("--new-password-file", type=Path, required=True, help="file holding the new password")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.core.unlock import recover

    code = read_secret_file(args.code_file, "恢复码")
    password = read_secret_file(args.new_password_file, "新密码")
    done = recover(resolve_db(args), code, args.name, password)
    print(f"{done} / password set with the recovery code: {args.name}")
    return 0

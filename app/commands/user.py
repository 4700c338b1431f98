"""`anju user add|list|passwd|disable|enable`: the accounts that may log in."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from app.cli import add_db_argument, convert_and_tell, open_db
from app.models.core.access import ROLE_LABELS, Role
from app.models.core.errors import KnownError
from app.start_options import credentials, read_secret_file

ROLE_CHOICES = [r.value for r in Role]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("user", help="账号管理 / accounts (add, list, passwd, disable, enable)")
    add_db_argument(p)
    actions = p.add_subparsers(dest="user_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="新建账号 / add an account (the first one: admin, no credentials)")
    add_db_argument(add)
    add.add_argument("--name", required=True, help="account name")
    add.add_argument("--role", required=True, choices=ROLE_CHOICES, help="role")
    add.add_argument("--buildings", default="", help='building heads: their buildings, e.g. "5栋,6栋"')
    add.add_argument("--new-password-file", type=Path, required=True, help="file holding the new password")
    add.set_defaults(func=run_add)

    lst = actions.add_parser("list", help="列出账号 / list accounts")
    add_db_argument(lst)
    lst.add_argument("--json", action="store_true", help="one JSON object per line")
    lst.set_defaults(func=run_list)

    pw = actions.add_parser("passwd", help="重设密码 / set an account's password")
    add_db_argument(pw)
    pw.add_argument("--name", required=True, help="account name")
    pw.add_argument("--new-password-file", type=Path, required=True, help="file holding the new password")
    pw.set_defaults(func=run_passwd)

    for action, label in (("disable", "停用账号 / disable an account"), ("enable", "启用账号 / enable an account")):
        q = actions.add_parser(action, help=label)
        add_db_argument(q)
        q.add_argument("--name", required=True, help="account name")
        q.set_defaults(func=run_enable if action == "enable" else run_disable)


def _split_buildings(text: str) -> list[str]:
    return [part for part in re.split(r"[,，、;；\s]+", text) if part]


def run_add(args: argparse.Namespace) -> int:
    from app.models.core import accounts

    password = read_secret_file(args.new_password_file, "新密码")
    # A new file may start with its first administrator (a fresh office's first step).
    with open_db(args, create=True) as db:
        ids = accounts.building_ids_by_name(db, _split_buildings(args.buildings))
        if ids and args.role != Role.BUILDING_HEAD:
            raise KnownError("只有楼栋长账号需要 --buildings。")
        accounts.add_account(db, args.name, args.role, password, ids)
        account = accounts.account_by_name(db, args.name)
        path = db.path
    if account.role == Role.ADMIN:
        convert_and_tell(path, accounts.principal_of(account))  # a file with accounts is encrypted
    extra = f"，负责 {'、'.join(account.building_names)}" if account.building_names else ""
    print(f"已新建账号 / added: {account.name}（{account.role_label}{extra}）")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from app.models.core import accounts
    from app.models.core.errors import PermissionDeniedError

    with open_db(args) as db:
        if not (db.principal.can_manage_accounts or db.principal.can_read_audit):
            raise PermissionDeniedError("只有系统管理员和审计员可以查看账号列表。")
        rows = accounts.list_accounts(db)
    if not rows:
        print("还没有账号 / no accounts。")
    for a in rows:
        if args.json:
            print(json.dumps({"name": a.name, "role": a.role.value, "enabled": a.enabled,
                              "buildings": list(a.building_names)}, ensure_ascii=False))
        else:
            state = "" if a.enabled else "（已停用）"
            where = f"  {'、'.join(a.building_names)}" if a.building_names else ""
            print(f"{a.name}\t{ROLE_LABELS[a.role]}{state}{where}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from app.models.core import accounts

    password = read_secret_file(args.new_password_file, "新密码")
    with open_db(args) as db:
        account = accounts.account_by_name(db, args.name)
        # Changing one's own password: the credentials just checked are the old password.
        old = read_secret_file(_password_file(args)) if db.principal.account_id == account.id else None
        accounts.set_password(db, account.id, password, old_password=old)
    print(f"已修改密码 / password set: {account.name}")
    return 0


def _password_file(args: argparse.Namespace) -> Path:
    path = credentials(args)[1]
    assert path is not None  # open_db signed in with it
    return path


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    from app.models.core import accounts

    with open_db(args) as db:
        account = accounts.account_by_name(db, args.name)
        accounts.set_enabled(db, account.id, enabled)
    print(f"已{'启用' if enabled else '停用'}账号 / {'enabled' if enabled else 'disabled'}: {account.name}")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    return _set_enabled(args, False)


def run_enable(args: argparse.Namespace) -> int:
    return _set_enabled(args, True)

"""`anju demo`: generate the demo community into a new (or empty) database file."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from app.cli import add_db_argument
from app.models.core.errors import KnownError
from app.start_options import credentials, read_secret_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="生成演示社区数据 / generate the demo community")
    add_db_argument(p)
    p.add_argument("--households", type=int, default=5300, help="number of households (default 5300)")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed and day → same data)")
    p.add_argument("--today", default=None, help="generate as if today were YYYY-MM-DD")
    # --password-file (shared with every command) here gives the demo accounts' password.
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.core.accounts import DEMO_PASSWORD, list_accounts
    from app.models.core.db import open_database
    from app.models.demo.demo import create_demo_database
    from app.paths import demo_db_path

    path = Path(args.db) if getattr(args, "db", None) else demo_db_path()
    if args.households < 1:
        raise KnownError("户数必须至少为 1。")
    today = None
    if args.today:
        try:
            today = dt.date.fromisoformat(args.today)
        except ValueError:
            raise KnownError(f"日期“{args.today}”格式不对，应为 YYYY-MM-DD。") from None
    _user, password_file = credentials(args)
    password = read_secret_file(password_file) if password_file else DEMO_PASSWORD
    if password_file:
        from app.models.core.passwords import check_password_rules

        check_password_rules("管理员", password)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int, text: str) -> None:
        if interactive:
            print(f"\r[{done}/{total}] {text}".ljust(60), end="", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    codes: list[str] = []
    create_demo_database(path, args.households, args.seed, progress=progress, today=today, password=password,
                         on_recovery_code=codes.append)
    seconds = time.perf_counter() - t0
    if interactive:
        print(file=sys.stderr)
    db = open_database(path, create=False)  # the key was unlocked when the demo was made
    try:
        households = db.scalar("SELECT count(*) FROM household WHERE deleted = 0")
        residents = db.scalar("SELECT count(*) FROM person WHERE deleted = 0")
        names = [a.name for a in list_accounts(db)]
    finally:
        db.close()
    print(f"已生成演示社区 / demo generated: {path}")
    print(f"  {households:,} 户 households, {residents:,} 人 residents, {seconds:.1f} 秒 s (seed {args.seed})")
    shown = f"“{DEMO_PASSWORD}”" if password == DEMO_PASSWORD else f"见 {password_file}"
    print(f"  演示账号 accounts：{'、'.join(names)}（密码 password {shown}）")
    for code in codes:
        print(f"  已加密 encrypted；恢复码 recovery code：{code}（钥匙文件 keys file：{path.name}.keys）")
    return 0

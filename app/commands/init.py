"""`anju init`: a new, empty office database with its community (the set-up wizard's first page)."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from app.cli import add_db_argument
from app.models.core.errors import KnownError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="新建一个空的社区数据库 / make an empty office database for one community",
        description="新建一个空的社区数据库并登记社区（相当于“社区设置”向导的第一页）。已存在的文件不会被改动。",
    )
    add_db_argument(p, required=True)
    p.add_argument("--community", required=True, help="社区名称 / community name")
    p.add_argument("--street", default="", help="街道办事处 / street office")
    p.add_argument("--county", default="", help="县（市、区）/ county")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.core.db import open_database
    from app.models.places import community_setup

    path = Path(args.db)
    # An existing file (even an empty one) may be someone's data or a mistyped path: never touch it.
    if path.exists() or path.is_symlink():
        raise KnownError(f"“{path}”已经存在，未作任何改动。init 只新建数据库；要修改社区信息，请在程序中打开“工具 → 社区设置”。")
    info = community_setup.clean_community(
        community_setup.CommunityInfo(name=args.community, street=args.street, county=args.county)
    )
    created = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    try:
        with open_database(path) as db:
            community_setup.save_community(db, info)
    except BaseException:
        # Half a database is worse than none: the next `init` must find the path free again.
        for f in created:
            with contextlib.suppress(OSError):
                f.unlink()
        raise
    print(f"已新建社区数据库 / created: {path}")
    print(f"  社区 community: {info.name}" + (f"，{info.street}" if info.street else "")
          + (f"，{info.county}" if info.county else ""))
    print("  下一步：打开程序（anju --db 该文件），在“社区设置”中添加网格和楼栋，或 anju import-excel 导入房间清单。")
    return 0

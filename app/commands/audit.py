"""`anju audit`: the event audit (exports, prints, syncs, logins …) as text or JSON lines."""

from __future__ import annotations

import argparse
import json

from app.cli import add_db_argument, open_db
from app.models.core import audit_view


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="查看操作日志 / print the audit of events")
    add_db_argument(p)
    p.add_argument("--since", help="从这一天起 YYYY-MM-DD")
    p.add_argument("--until", help="到这一天为止 YYYY-MM-DD")
    p.add_argument("--by", dest="by_user", metavar="NAME", help="只看这个用户的操作")
    p.add_argument("--action", help="只看这种操作（如 export、print、reveal_id、login）")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: id, at, user, action, detail, outcome, site_id")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    f = audit_view.AuditFilter(
        user=args.by_user, since=audit_view.parse_day(args.since, "起始日期"),
        until=audit_view.parse_day(args.until, "截止日期"), action=args.action,
    )
    db = open_db(args)
    try:
        n = 0
        for e in audit_view.entries(db, f):
            n += 1
            if args.json:
                print(json.dumps(e, ensure_ascii=False))
            else:
                print(f"{e['id']:>6}  {e['at']}  {e['user'] or '':<8}  {audit_view.action_label(e['action']):<6}  "
                      f"{audit_view.outcome_label(e['outcome'])}  {audit_view.describe(e['detail'])}")
        if not args.json:
            print(f"共 {n} 条 / {n} entries")
    finally:
        db.close()
    return 0

"""`anju stats`: the headline figures (households, employment, visits, mediation), as a table or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from app.cli import add_db_argument, open_db
from app.models.core.errors import KnownError

COLOUR_NAMES = {"red": "红", "yellow": "黄", "green": "绿"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="主要统计数字 / headline figures")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on one line")
    p.add_argument("--today", default=None, help="compute as of YYYY-MM-DD (default: today)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.dashboard import stats

    today = None
    if args.today:
        try:
            today = dt.date.fromisoformat(args.today)
        except ValueError:
            raise KnownError(f"日期“{args.today}”格式不对，应为 YYYY-MM-DD。") from None
    db = open_db(args)
    try:
        figures = stats.compute(db, today)
    finally:
        db.close()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(render_table(figures))
    return 0


def render_table(f: dict[str, Any]) -> str:
    """A readable Chinese table of the figures (plain text, aligned for a console)."""
    open_cases = f["open_mediation_cases"]
    rows: list[tuple[str, str]] = [
        ("统计日期", f["today"]),
        ("户数", f"{f['households']:,}"),
        ("在册人口", f"{f['residents']:,}"),
        ("风险等级（红/黄/绿）", " / ".join(f"{f['risk_colours'][c]:,}" for c in COLOUR_NAMES)),
        ("劳动力", f"{f['labour_force']:,}"),
        ("已就业", f"{f['employed']:,}"),
        ("就业率", f"{f['employment_rate'] * 100:.2f}%"),
        ("户均就业", f"{f['employed_per_household']:.2f}"),
        ("有劳动力户", f"{f['households_with_labour']:,}"),
        ("有稳定就业户", f"{f['households_with_stable_job']:,}"),
        ("零就业家庭", f"{f['zero_employment_households']:,}"),
        ("从未参加培训的劳动力", f"{f['never_trained']:,}"),
        ("本年培训人次", f"{f['training_person_times_year']:,}"),
        ("累计培训人次", f"{f['training_person_times_total']:,}"),
        ("本年培训学时（人·学时）", f"{f['training_hours_year']:,g}"),
        ("累计培训学时（人·学时）", f"{f['training_hours_total']:,g}"),
        ("公益性岗位在岗", f"{f['public_welfare_posts']:,}"),
        ("走访逾期户", f"{f['visits_overdue']:,}"),
        ("未结案调解（楼栋/社区/街道）",
         f"{open_cases['total']:,}（{open_cases['楼栋']} / {open_cases['社区']} / {open_cases['街道']}）"),
    ]
    width = max(_display_width(k) for k, _ in rows)
    return "\n".join(f"{k}{' ' * (width - _display_width(k))}  {v}" for k, v in rows)


def _display_width(text: str) -> int:
    # Chinese characters take two columns in a console.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

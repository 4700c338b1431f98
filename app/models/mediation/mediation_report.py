"""The monthly 矛盾纠纷排查情况表: counts by category, level and source, outcomes, rates, open cases.

Definitions (also shown to the clerk as the report's tooltip, :data:`RATE_TOOLTIP`):

- 受理件数 (received): cases whose received_date falls in the month.
- by category / level / source: of the received cases; level is the case's current level.
- 调解成功 (settled) / 调解不成 (failed) / 已移交 (referred): of the received cases, by their
  outcome as of the moment the report is made (a case received in March and settled in April
  counts as settled in March's report run after April). 办理中: received, still 受理/调解中.
- 调解成功率 = 调解成功件数 ÷ 受理件数 (the usual definition), None when nothing was received.
- 回访率 = settled cases (above) with at least one follow-up ÷ settled cases.
- 本月办结: cases concluded (outcome date) in the month, whatever month they were received.
- open cases: every case still 受理/调解中 received on or before the month's last day, most
  urgent first, with its time-limit colour as of today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import re
from typing import Any

from app.models.core import settings
from app.models.core.db import Database
from app.models.core.errors import ValidationError
from app.models.mediation import mediation as med

RATE_TOOLTIP = (
    "调解成功率 = 本月受理案件中调解成功件数 ÷ 本月受理件数\n"
    "回访率 = 本月受理且调解成功的案件中已回访的件数 ÷ 调解成功件数\n"
    "按生成报表时各案件的办理结果统计。"
)


def month_bounds(month: str) -> tuple[str, str]:
    """('2026-03-01', '2026-03-31') for '2026-03'."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (month or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValidationError(f"月份“{month}”格式不对，应为 2026-03 这样的年-月。", field="month")
    year, mon = int(m.group(1)), int(m.group(2))
    last = calendar.monthrange(year, mon)[1]
    return f"{year:04d}-{mon:02d}-01", f"{year:04d}-{mon:02d}-{last:02d}"


def _counts(db: Database, column: str, first: str, last: str, keys: list[str]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    for r in db.query(
        f"SELECT coalesce({column}, '未填') AS k, count(*) AS n FROM mediation_case "
        "WHERE deleted = 0 AND received_date BETWEEN ? AND ? GROUP BY k",
        (first, last),
    ):
        out[r["k"]] = out.get(r["k"], 0) + r["n"]
    return out


def monthly_report(db: Database, month: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """Plain data of the month's report (see the module docstring for every definition)."""
    first, last = month_bounds(month)
    totals = db.query(  # an aggregate: always exactly one row
        "SELECT count(*) AS received, "
        "sum(outcome = '已调解') AS settled, sum(outcome = '调解不成') AS failed, "
        "sum(outcome = '已移交') AS referred, sum(status IN ('受理','调解中')) AS in_progress, "
        "sum(status = '结案') AS closed, "
        "sum(outcome = '已调解' AND EXISTS (SELECT 1 FROM mediation_followup f "
        "    WHERE f.case_id = c.id AND f.deleted = 0)) AS settled_followed, "
        "sum(EXISTS (SELECT 1 FROM mediation_event e WHERE e.case_id = c.id AND e.deleted = 0 "
        "    AND e.kind = 'level')) AS escalated "
        "FROM mediation_case c WHERE deleted = 0 AND received_date BETWEEN ? AND ?",
        (first, last),
    )[0]
    received = int(totals["received"] or 0)
    settled = int(totals["settled"] or 0)
    followed = int(totals["settled_followed"] or 0)
    concluded = {k: 0 for k in med.CONCLUDED}
    for r in db.query(
        "SELECT outcome, count(*) AS n FROM mediation_case WHERE deleted = 0 AND outcome IS NOT NULL "
        "AND outcome_date BETWEEN ? AND ? GROUP BY outcome", (first, last)
    ):
        concluded[r["outcome"]] = r["n"]
    followups_in_month = int(db.scalar(
        "SELECT count(*) FROM mediation_followup WHERE deleted = 0 AND followup_date BETWEEN ? AND ?",
        (first, last)) or 0)
    limit_days = med.limits(db)
    open_rows = db.query(
        f"SELECT c.id, c.number, c.received_date, c.title, c.category, c.level, c.level_since, c.status, "
        f"c.mediators, b.name AS building, {med.PARTY_NAMES_SQL} AS parties "
        f"FROM {med.FROM_SQL} WHERE c.deleted = 0 AND c.status IN ('受理','调解中') AND c.received_date <= ? "
        f"ORDER BY {med.urgency_sql(limit_days)} DESC, c.received_date, c.number",
        (last,),
    )
    open_cases = []
    for r in open_rows:
        d = dict(r)
        d["colour"] = med.limit_colour(r["level"], r["level_since"], r["status"], limit_days, today)
        d["days_left"] = med.days_left(r["level"], r["level_since"], limit_days, today)
        open_cases.append(d)
    return {
        "month": month.strip(), "first_day": first, "last_day": last,
        "office_name": settings.get(db, "office_name"),
        "received": received,
        "by_category": _counts(db, "category", first, last, med.categories(db)),
        "by_level": _counts(db, "level", first, last, list(med.LEVELS)),
        "by_source": _counts(db, "source", first, last, list(med.SOURCES)),
        "settled": settled, "failed": int(totals["failed"] or 0), "referred": int(totals["referred"] or 0),
        "in_progress": int(totals["in_progress"] or 0), "closed": int(totals["closed"] or 0),
        "escalated": int(totals["escalated"] or 0),
        "settlement_rate": (settled / received) if received else None,
        "settled_followed_up": followed,
        "followup_rate": (followed / settled) if settled else None,
        "concluded_in_month": concluded,
        "followups_in_month": followups_in_month,
        "open_cases": open_cases,
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
    }


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def report_html(r: dict[str, Any], *, max_open_rows: int | None = None) -> str:
    """The report as simple HTML (screen and plain print; Excel export uses the data itself).

    `max_open_rows` shortens the open-case list on screen (a rich-text view lays out a
    thousand-row table slowly); the print passes None and lists every case.
    """
    y, m = r["month"].split("-")

    def table(title: str, counts: dict[str, int]) -> str:
        head = "".join(f"<th>{_e(k)}</th>" for k in counts)
        body = "".join(f"<td align='center'>{v}</td>" for v in counts.values())
        return (f"<h4>{title}</h4><table border='1' cellspacing='0' cellpadding='4'>"
                f"<tr>{head}<th>合计</th></tr><tr>{body}<td align='center'>{sum(counts.values())}</td></tr></table>")

    colours = {"green": "#2f9e44", "amber": "#e6a700", "red": "#d9363e"}
    rows = []
    shown = r["open_cases"] if max_open_rows is None else r["open_cases"][:max_open_rows]
    for c in shown:
        left = c["days_left"]
        limit = "" if left is None else (f"超时 {-left} 天" if left < 0 else f"剩 {left} 天")
        col = colours.get(c["colour"] or "", "#000")
        rows.append(
            f"<tr><td>{_e(c['number'])}</td><td>{_e(c['received_date'])}</td><td>{_e(c['title'])}</td>"
            f"<td>{_e(c['parties'])}</td><td>{_e(c['category'])}</td><td>{_e(c['level'])}</td>"
            f"<td>{_e(c['status'])}</td><td style='color:{col}'><b>{limit}</b></td></tr>"
        )
    concl = r["concluded_in_month"]
    return (
        f"<h2 align='center'>{_e(r['office_name'])}矛盾纠纷排查情况表（{y}年{int(m)}月）</h2>"
        f"<p>统计期间：{r['first_day']} 至 {r['last_day']}　生成时间：{_e(r['generated'])}</p>"
        "<table border='1' cellspacing='0' cellpadding='4'><tr><th>受理件数</th><th>调解成功</th><th>调解不成</th>"
        "<th>已移交</th><th>办理中</th><th>已结案</th><th>升级/调整层级</th><th>调解成功率</th><th>回访率</th></tr>"
        f"<tr><td align='center'>{r['received']}</td><td align='center'>{r['settled']}</td>"
        f"<td align='center'>{r['failed']}</td><td align='center'>{r['referred']}</td>"
        f"<td align='center'>{r['in_progress']}</td><td align='center'>{r['closed']}</td>"
        f"<td align='center'>{r['escalated']}</td><td align='center'>{percent(r['settlement_rate'])}</td>"
        f"<td align='center'>{percent(r['followup_rate'])}</td></tr></table>"
        "<p style='color:#555'>调解成功率 = 调解成功件数 ÷ 受理件数；回访率 = 调解成功且已回访件数 ÷ 调解成功件数。</p>"
        + table("按纠纷类别", r["by_category"]) + table("按调解层级", r["by_level"])
        + table("按案件来源", r["by_source"])
        + f"<p>本月办结（按办结日期）：调解成功 {concl['已调解']} 件，调解不成 {concl['调解不成']} 件，"
        f"移交 {concl['已移交']} 件；本月回访 {r['followups_in_month']} 次。</p>"
        f"<h4>未办结案件（{len(r['open_cases'])} 件，超时在前）</h4>"
        "<table border='1' cellspacing='0' cellpadding='3'><tr><th>案号</th><th>受理日期</th><th>标题</th>"
        "<th>当事人</th><th>类别</th><th>层级</th><th>状态</th><th>时限</th></tr>"
        + "".join(rows) + "</table>"
        + (f"<p>另有 {len(r['open_cases']) - len(shown)} 件未列出（打印或导出时全部列出；"
           "也可在“案件台账”中按状态“未办结”筛选查看）。</p>" if len(shown) < len(r["open_cases"]) else "")
    )

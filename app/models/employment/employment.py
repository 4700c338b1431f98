"""Employment records (就业台账): the five kinds of work, validation, ending a job, yuan ↔ fen."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.models.core import field_rules, settings, vocab
from app.models.core.db import Database, Tx
from app.models.core.errors import NeedsConfirmation, NotFoundError, ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.core.list_query import Condition, ListQuery
from app.models.core.vocab import PersonStatus
from app.models.employment import intentions, labour

KINDS = vocab.EMPLOYMENT_KINDS
SUB_KINDS = vocab.EMPLOYMENT_SUB_KINDS
FIELDS = (
    "person_id", "kind", "sub_kind", "organised", "in_province", "destination", "employer", "place",
    "post_name", "funding_source", "business_type", "subsidy_fen", "start_date", "end_date",
    "monthly_income_fen", "notes",
)
MAX_MONTHLY_FEN = field_rules.MAX_MONTHLY_FEN
_YUAN = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")


class OverlapWarning(NeedsConfirmation):
    """The person already has a job in the same period; the clerk may confirm and save anyway."""

    def __init__(self, message: str, overlaps: list[dict[str, Any]]) -> None:
        self.overlaps = overlaps
        super().__init__(message)


def parse_yuan(text: Any, *, what: str = "金额", field: str | None = None) -> int | None:
    """Yuan as typed ("3500", "3,500.50", "3500元") → integer fen; empty → None. Never via float."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    raw = str(text).strip().replace(",", "").replace("，", "").replace(" ", "")
    if raw.endswith("元"):
        raw = raw[:-1]
    if not raw:
        return None
    if raw.startswith("-") or raw.startswith("－"):
        raise ValidationError(f"{what}不能是负数（填写的是“{text}”）。", field=field)
    m = _YUAN.match(raw)
    if not m:
        if re.match(r"^\d+\.\d{3,}$", raw):
            raise ValidationError(f"{what}最多保留两位小数（到分）：“{text}”。", field=field)
        raise ValidationError(f"{what}“{text}”不是有效的金额，请填写数字，如 3500 或 3500.50。", field=field)
    fen = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    return fen


def format_fen(fen: int | None) -> str:
    """Integer fen → yuan text for display and editing: 350050 → "3500.50", 350000 → "3500"."""
    if fen is None:
        return ""
    yuan, cents = divmod(int(fen), 100)
    return f"{yuan}" if cents == 0 else f"{yuan}.{cents:02d}"


def describe(row: Mapping[str, Any]) -> str:
    """"外出务工（浙江 鞋厂，2025-01-01 起）" — a job in one line, for lists and messages."""
    where = " ".join(x for x in (row.get("destination"), row.get("employer") or row.get("post_name")) if x)
    span = f"{row.get('start_date') or '?'} 起"
    if row.get("end_date"):
        span = f"{row.get('start_date') or '?'} 至 {row['end_date']}"
    kind = row.get("kind") or ""
    if row.get("sub_kind"):
        kind += f"·{row['sub_kind']}"
    return f"{kind}（{where + '，' if where else ''}{span}）"


def _person(db: Database, person_id: str) -> dict[str, Any]:
    row = db.one("SELECT * FROM person WHERE id = ? AND deleted = 0", (person_id,))
    if row is None:
        raise NotFoundError("找不到这位居民（可能已被删除），请重新选择。")
    return dict(row)


def overlapping_jobs(
    db: Database, person_id: str, start: str, end: str | None, exclude_id: str | None = None
) -> list[dict[str, Any]]:
    """Other live jobs of the person whose period meets [start, end] (an open end runs forever)."""
    rows = db.query(
        "SELECT * FROM employment WHERE person_id = ? AND deleted = 0 AND id IS NOT ? "
        "AND (end_date IS NULL OR end_date = '' OR end_date >= ?) AND (? IS NULL OR start_date <= ?) "
        "ORDER BY start_date",
        (person_id, exclude_id, start, end, end),
    )
    return [dict(r) for r in rows]


def validate(db: Database, values: Mapping[str, Any], *, job_id: str | None = None) -> dict[str, Any]:
    """Check and normalise a job as the dialog gives it (money as yuan text); returns table values."""
    person_id = values.get("person_id")
    if not person_id:
        raise ValidationError("请先选择就业人员。", field="person_id")
    person = _person(db, person_id)
    kind = (values.get("kind") or "").strip()
    if kind not in KINDS:
        raise ValidationError(f"就业类型应为：{'、'.join(KINDS)}。", field="kind")
    start = entered_iso_date(values.get("start_date"), "开始日期", field="start_date", required=True)
    end = entered_iso_date(values.get("end_date"), "结束日期", field="end_date")
    assert start is not None
    if end is not None and end < start:
        raise ValidationError(f"结束日期（{end}）早于开始日期（{start}），请核对。", field="end_date")
    age_min = int(settings.get(db, "working_age_min"))
    age = labour.age_on(person.get("birth_date"), dt.date.fromisoformat(start))
    if age is not None and age < age_min:
        raise ValidationError(
            f"{person['name']}在 {start} 时只有 {age} 周岁，未满 {age_min} 周岁，不能登记就业"
            f"（劳动力台账只收 {age_min} 周岁以上的居民）。",
            field="start_date",
        )
    if person.get("status") != PersonStatus.REGISTERED:
        gone = person.get("status_date")
        if not gone or start > gone:
            when = f"已于 {gone} " if gone else "已"
            raise ValidationError(
                f"{person['name']}{when}{person.get('status')}，不能登记此后开始的就业。", field="start_date"
            )
    income = parse_yuan(values.get("monthly_income"), what="月收入", field="monthly_income")
    if income is None and values.get("monthly_income_fen") is not None:
        income = int(values["monthly_income_fen"])
        if income < 0:
            raise ValidationError("月收入不能是负数。", field="monthly_income")
    if income is not None and income > MAX_MONTHLY_FEN:
        raise ValidationError(f"月收入 {format_fen(income)} 元过大，请核对是否多输了零。", field="monthly_income")
    subsidy = parse_yuan(values.get("subsidy"), what="创业补贴", field="subsidy")
    if subsidy is None and values.get("subsidy_fen") is not None:
        subsidy = int(values["subsidy_fen"])
    sub_kind = (values.get("sub_kind") or "").strip() or None
    if sub_kind and SUB_KINDS[kind] and sub_kind not in SUB_KINDS[kind]:
        raise ValidationError(f"{kind}的细类应为：{'、'.join(SUB_KINDS[kind])}。", field="sub_kind")
    if kind == "公益性岗位" and not (values.get("post_name") or "").strip():
        raise ValidationError("公益性岗位请填写岗位名称（如 保洁员、护林员）。", field="post_name")

    def text(key: str) -> str | None:
        v = values.get(key)
        v = v.strip() if isinstance(v, str) else v
        return v or None

    def flag(key: str) -> int | None:
        v = values.get(key)
        return None if v is None else int(bool(v))

    out = {
        "person_id": person_id, "kind": kind, "sub_kind": sub_kind,
        "organised": flag("organised") if kind == "外出务工" else None,
        "in_province": flag("in_province") if kind == "外出务工" else None,
        "destination": text("destination"), "employer": text("employer"), "place": text("place"),
        "post_name": text("post_name") if kind == "公益性岗位" else None,
        "funding_source": text("funding_source") if kind == "公益性岗位" else None,
        "business_type": text("business_type") if kind == "自主创业" else None,
        "subsidy_fen": subsidy if kind == "自主创业" else None,
        "start_date": start, "end_date": end, "monthly_income_fen": income, "notes": text("notes"),
    }
    return out


def save_job(
    db: Database,
    values: Mapping[str, Any],
    *,
    job_id: str | None = None,
    confirm_overlap: bool = False,
    close_intention_ids: Iterable[str] = (),
) -> str:
    """Add (or, with `job_id`, change) a job in one transaction; returns its id.

    Raises :class:`OverlapWarning` when the person already has a job in that period, unless
    `confirm_overlap`. Open intentions named in `close_intention_ids` are closed as met by this job.
    """
    row = validate(db, values, job_id=job_id)
    if job_id is not None:
        old = db.one("SELECT person_id FROM employment WHERE id = ? AND deleted = 0", (job_id,))
        if old is None:
            raise NotFoundError("这条就业记录已不存在（可能已被删除）。")
    overlaps = overlapping_jobs(db, row["person_id"], row["start_date"], row["end_date"], job_id)
    if overlaps and not confirm_overlap:
        name = db.scalar("SELECT name FROM person WHERE id = ?", (row["person_id"],))
        listed = "\n".join("· " + describe(o) for o in overlaps)
        raise OverlapWarning(
            f"{name}在这段时间已有工作：\n{listed}\n同一人同时有两份工作（尤其两份稳定工作）较少见，"
            "请核对是否重复登记，或先给旧工作填写结束日期。",
            overlaps,
        )
    name = db.scalar("SELECT name FROM person WHERE id = ?", (row["person_id"],))
    with db.write() as tx:
        if job_id is None:
            job_id = tx.insert("employment", row, summary=f"登记就业：{name} {describe(row)}")
        else:
            tx.update("employment", job_id, row, summary=f"修改就业：{name} {describe(row)}")
        for intention_id in close_intention_ids:
            intentions.close_in(tx, intention_id, row["start_date"], met_employment_id=job_id)
    return job_id


def end_job(db: Database, job_id: str, end_date: Any) -> None:
    """Give a job its end date; the job stays in the person's history."""
    job = db.one("SELECT e.*, p.name FROM employment e JOIN person p ON p.id = e.person_id "
                 "WHERE e.id = ? AND e.deleted = 0", (job_id,))
    if job is None:
        raise NotFoundError("这条就业记录已不存在（可能已被删除）。")
    end = entered_iso_date(end_date, "结束日期", field="end_date", required=True)
    if job["start_date"] and end < job["start_date"]:
        raise ValidationError(f"结束日期（{end}）早于开始日期（{job['start_date']}），请核对。", field="end_date")
    with db.write() as tx:
        tx.update("employment", job_id, {"end_date": end}, summary=f"结束就业：{job['name']} {end}")


def delete_job(db: Database, job_id: str) -> None:
    """Remove a wrongly entered job (tombstone). A job that really ended should be ended instead."""
    job = db.one("SELECT e.*, p.name FROM employment e JOIN person p ON p.id = e.person_id WHERE e.id = ?",
                 (job_id,))
    if job is None or job["deleted"]:
        raise NotFoundError("这条就业记录已不存在（可能已被删除）。")
    with db.write() as tx:
        tx.delete("employment", job_id, summary=f"删除就业记录：{job['name']} {describe(dict(job))}")
        _unlink_intentions(tx, "met_employment_id", job_id)


def _unlink_intentions(tx: Tx, column: str, row_id: str) -> None:
    # An intention "met" by a record that was entered by mistake is open again.
    for r in tx.conn.execute(f"SELECT id FROM intention WHERE {column} = ? AND deleted = 0", (row_id,)).fetchall():
        tx.update("intention", r[0], {column: None, "closed_date": None}, summary="需求重新打开（关联记录已删除）")


def jobs_of(db: Database, person_id: str) -> list[dict[str, Any]]:
    """The person's whole history, newest first."""
    return [dict(r) for r in db.query(
        "SELECT * FROM employment WHERE person_id = ? AND deleted = 0 ORDER BY start_date DESC", (person_id,)
    )]


JOBS_FROM = (
    "employment e JOIN person p ON p.id = e.person_id LEFT JOIN household h ON h.id = p.household_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)


def jobs_columns(today: dt.date) -> list[tuple[str, str, str]]:
    """Columns of the employment ledger (one row per job, ended ones included)."""
    t = today.isoformat()
    return [
        ("name", "姓名", "p.name"),
        ("id_number", "身份证号", "p.id_number"),
        ("address", "住址", labour.ADDRESS_SQL),
        ("kind", "就业类型", "e.kind || coalesce('·' || nullif(e.sub_kind, ''), '')"),
        ("where", "单位/岗位/去向",
         "trim(coalesce(e.destination, '') || ' ' || coalesce(e.employer, e.post_name, e.business_type, ''))"),
        ("start_date", "开始日期", "e.start_date"),
        ("end_date", "结束日期", "e.end_date"),
        ("income", "月收入（元）",
         "CASE WHEN e.monthly_income_fen IS NULL THEN '' WHEN e.monthly_income_fen % 100 = 0 "
         "THEN CAST(e.monthly_income_fen / 100 AS TEXT) ELSE printf('%d.%02d', e.monthly_income_fen / 100, "
         "e.monthly_income_fen % 100) END"),
        ("state", "状态",
         f"CASE WHEN e.start_date > '{t}' THEN '未开始' WHEN e.end_date IS NOT NULL AND e.end_date <> '' "
         f"AND e.end_date < '{t}' THEN '已结束' ELSE '在岗' END"),
    ]


JOB_STATES = ("current", "ended", "all")


def jobs_query(r: labour.LabourRules, *, state: str = "current", kind: str | None = None,
               person_id: str | None = None, search: Condition = Condition()) -> ListQuery:  # noqa: B008
    """The employment ledger as shown: jobs of living people in a state (:data:`JOB_STATES`: at
    work today, ended before today, or every one), of a `kind`, of one person, matching a
    person search (``registry_search.person_condition``: the registry's grammar)."""
    if state not in JOB_STATES:
        raise ValueError(state)
    t = r.today.isoformat()
    parts = [Condition("e.deleted = 0"), Condition(labour.live_person_sql("e.person_id"))]
    if state == "current":
        parts.append(Condition(r.current_job("e")))
    elif state == "ended":
        parts.append(Condition(f"e.end_date IS NOT NULL AND e.end_date <> '' AND e.end_date < '{t}'"))
    if kind:
        parts.append(Condition("e.kind = ?", (kind,)))
    if person_id:
        parts.append(Condition("e.person_id = ?", (person_id,)))
    parts.append(search)
    return ListQuery(JOBS_FROM, id_sql="e.id", lean_from="employment e",
                     joined_aliases=("p", "h", "r", "u", "b")).filtered(Condition.all_of(parts))


def job_with_name(db: Database, job_id: str) -> dict[str, Any] | None:
    """One job with its holder's ``name`` (None if there is no such job)."""
    row = db.one("SELECT e.*, p.name FROM employment e JOIN person p ON p.id = e.person_id WHERE e.id = ?", (job_id,))
    return None if row is None else dict(row)

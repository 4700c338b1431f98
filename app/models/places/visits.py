"""Visit records (走访记录) that building heads enter, and turning a raised problem into a mediation case."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from app.models.core import field_rules, vocab
from app.models.core.db import Database
from app.models.core.errors import KnownError, NeedsConfirmation, NotFoundError, ValidationError
from app.models.mediation import mediation

KINDS = vocab.VISIT_KINDS
# The usual findings, offered as check boxes; anything else goes into the free text.
FINDINGS = (
    "一切正常",
    "家中无人",
    "身体不适/住院",
    "生活困难",
    "有就业需求",
    "邻里矛盾",
    "家庭矛盾",
    "房屋设施问题",
    "情绪异常",
    "政策咨询",
)
MAX_TEXT = field_rules.VISIT_TEXT_LIMIT


@dataclass
class VisitInput:
    household_id: str
    visit_date: str
    kind: str
    visitor_name: str | None = None
    visitor_person_id: str | None = None
    findings: str | None = None
    finding_flags: list[str] = field(default_factory=list)
    problems: str | None = None
    follow_up_needed: bool = False
    follow_up_note: str | None = None


def kind_for_colour(colour: str | None) -> str:
    """The kind a visit to a household of this colour usually is (the form's default)."""
    return {"red": "日访", "yellow": "周访"}.get(colour or "", "月访")


def _parse_date(text: str) -> dt.date:
    from app.models.core.excel_dates import entered_date

    day = entered_date(text, "走访日期", "date")
    if day is None:
        raise ValidationError("请填写走访日期。", field="date")
    return day


def validate(db: Database, v: VisitInput, today: dt.date | None = None) -> dict[str, Any]:
    """Check a visit and return the row to insert; raise ValidationError (Chinese) on bad input."""
    today = today or dt.date.today()
    hh = db.one(
        "SELECT number, move_in_date, status FROM household WHERE id = ? AND +deleted = 0", (v.household_id,)
    )
    if hh is None:
        raise NotFoundError("找不到这一户（可能已被删除）。")
    day = _parse_date(v.visit_date)
    if day > today:
        raise ValidationError(f"走访日期 {day} 在今天（{today}）之后，不能登记未来的走访。", field="date")
    if hh["move_in_date"]:
        try:
            move_in = dt.date.fromisoformat(hh["move_in_date"][:10])
        except ValueError:
            move_in = None
        if move_in and day < move_in:
            raise ValidationError(
                f"走访日期 {day} 早于这一户的入住日期 {move_in}，请检查日期。", field="date"
            )
    if v.kind not in KINDS:
        raise ValidationError(f"走访类型只能是：{'、'.join(KINDS)}。", field="kind")
    visitor = (v.visitor_name or "").strip() or None
    if not visitor and not v.visitor_person_id:
        raise ValidationError("请填写走访人。", field="visitor")
    flags = [f for f in v.finding_flags if f]
    unknown = [f for f in flags if f not in FINDINGS]
    if unknown:
        raise ValidationError(f"未知的走访情况：{'、'.join(unknown)}", field="flags")
    findings = (v.findings or "").strip() or None
    problems = (v.problems or "").strip() or None
    note = (v.follow_up_note or "").strip() or None
    for text, name in ((findings, "走访情况"), (problems, "反映问题"), (note, "跟进说明")):
        if text and len(text) > MAX_TEXT:
            raise ValidationError(f"{name}太长（最多 {MAX_TEXT} 个字）。", field=name)
    if not findings and not flags:
        raise ValidationError("请勾选或填写走访情况。", field="findings")
    return {
        "household_id": v.household_id,
        "visit_date": day.isoformat(),
        "kind": v.kind,
        "visitor_name": visitor,
        "visitor_person_id": v.visitor_person_id,
        "findings": findings,
        "finding_flags": json.dumps(flags, ensure_ascii=False) if flags else None,
        "problems": problems,
        "follow_up_needed": 1 if (v.follow_up_needed or note) else 0,
        "follow_up_note": note,
        "_household_number": hh["number"],
    }


def add_visit(db: Database, v: VisitInput, today: dt.date | None = None, *, confirmed: bool = False) -> str:
    """Save one visit record; returns its id. Nothing is saved if any field is wrong.

    A second visit to the same household on the same day is usually the same visit typed twice:
    it raises NeedsConfirmation unless ``confirmed``.
    """
    row = validate(db, v, today)
    number = row.pop("_household_number")
    with db.write() as tx:
        if not confirmed:
            earlier = db.one(
                "SELECT coalesce(v.visitor_name, p.name) AS visitor, v.kind FROM visit v "
                "LEFT JOIN person p ON p.id = v.visitor_person_id "
                "WHERE v.household_id = ? AND v.visit_date = ? AND v.deleted = 0 LIMIT 1",
                (row["household_id"], row["visit_date"]),
            )
            if earlier is not None:
                raise NeedsConfirmation(
                    f"户 {number} 在 {row['visit_date']} 已登记过一次{earlier['kind']}"
                    f"（走访人：{earlier['visitor'] or '未填'}）。确实要再登记一次吗？"
                )
        row["created_at"] = tx.now
        return tx.insert("visit", row, summary=f"走访 户 {number} {row['visit_date']} {row['kind']}")


def delete_visit(db: Database, visit_id: str) -> None:
    with db.write() as tx:
        v = db.one("SELECT visit_date, mediation_case_id FROM visit WHERE id = ? AND deleted = 0", (visit_id,))
        if v is None:
            raise NotFoundError("找不到这条走访记录。")
        if v["mediation_case_id"]:
            raise ValidationError("这条走访记录已转为调解案件，不能删除。")
        tx.delete("visit", visit_id, summary=f"删除走访记录 {v['visit_date']}")


def get_visit(db: Database, visit_id: str) -> dict:
    row = db.one("SELECT * FROM visit WHERE id = ? AND deleted = 0", (visit_id,))
    if row is None:
        raise NotFoundError("找不到这条走访记录。")
    d = dict(row)
    d["flags"] = json.loads(d["finding_flags"]) if d["finding_flags"] else []
    return d


def visits_of(db: Database, household_id: str, limit: int = 50) -> list[dict]:
    rows = db.query(
        "SELECT v.*, coalesce(v.visitor_name, p.name) AS visitor FROM visit v "
        "LEFT JOIN person p ON p.id = v.visitor_person_id "
        "WHERE v.household_id = ? AND v.deleted = 0 ORDER BY v.visit_date DESC, v.created_at DESC LIMIT ?",
        (household_id, limit),
    )
    out = []
    for r in rows:
        d = dict(r)
        d["flags"] = json.loads(d["finding_flags"]) if d["finding_flags"] else []
        out.append(d)
    return out


def household_brief(db: Database, household_id: str) -> dict:
    """Number, head's name and address of a household, for the visit form."""
    row = db.one(
        "SELECT h.id, h.number, h.risk_colour, h.move_in_date, p.name AS head_name, b.name AS building_name, "
        "u.number AS unit_number, r.number AS room_number, "
        "(SELECT count(*) FROM person m WHERE m.household_id = h.id AND +m.deleted = 0 AND +m.status = '在册') AS size "
        "FROM household h LEFT JOIN person p ON p.id = h.head_person_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        "WHERE h.id = ? AND +h.deleted = 0",
        (household_id,),
    )
    if row is None:
        raise NotFoundError("找不到这一户。")
    return dict(row)


def to_mediation_case(
    db: Database, visit_id: str, title: str | None = None, category: str | None = None
) -> str:
    """Turn the problem raised in a visit into a mediation case (linked both ways); returns the case id."""
    v = get_visit(db, visit_id)
    if v["mediation_case_id"]:
        raise KnownError("这条走访记录已经转为调解案件了。")
    title = (title or v["problems"] or "").strip()
    if not title:
        raise ValidationError("这条走访记录没有反映问题，请先填写案件标题。", field="title")
    return mediation.create_case_from_visit(db, visit_id, title[:60], category)

"""Mediation cases (矛盾纠纷调解): create, workflow, escalation, follow-ups, agreement, list filters.

Workflow (only these transitions are allowed, see :data:`TRANSITIONS`)::

    受理 → 调解中 → 已调解 / 调解不成 / 已移交 → 已回访 → 结案
    受理 → 已移交          (referred at once, e.g. not a community matter)
    调解不成 → 调解中       (tried again, usually after escalation)

A follow-up (回访) can only be recorded once the case is concluded (已调解 / 调解不成 / 已移交);
the first one moves the case to 已回访. 结案 is refused until at least one follow-up exists
dated on or after the conclusion date.

Time limits: each level has a limit in days (settings ``mediation_limit_楼栋`` etc.), counted
from ``level_since`` (the date the case reached its current level). Only open cases (受理 /
调解中) have a colour. With d = whole days since level_since and L = the limit:

- green  when 3·d < 2·L          (less than two thirds of the limit used)
- amber  when 3·d ≥ 2·L and d ≤ L (two thirds or more used, not yet over)
- red    when d > L              (overdue)

e.g. 楼栋 (3 days): day 0–1 green, day 2–3 amber, day 4 on red.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

from app.models.core import settings, vocab
from app.models.core.db import Database, Tx
from app.models.core.errors import NotFoundError, ValidationError
from app.models.core.list_query import Condition, ListQuery
from app.models.core.pinyin import name_pinyin
from app.models.core.vocab import CaseLevel, CaseStatus
from app.models.registry.registry_search import person_condition

SOURCES = vocab.CASE_SOURCES
LEVELS: list[str] = list(CaseLevel)
STATUSES: list[str] = list(CaseStatus)
OPEN_STATUSES = (CaseStatus.RECEIVED, CaseStatus.MEDIATING)
CONCLUDED = ("已调解", "调解不成", "已移交")
OUTCOMES_FOLLOWUP = vocab.FOLLOWUP_OUTCOMES

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "受理": ("调解中", "已移交"),
    "调解中": ("已调解", "调解不成", "已移交"),
    "已调解": ("已回访",),
    "调解不成": ("调解中", "已移交", "已回访"),
    "已移交": ("已回访",),
    "已回访": ("结案",),
    "结案": (),
}

GREEN, AMBER, RED = "green", "amber", "red"
COLOUR_NAMES = {GREEN: "正常", AMBER: "临近时限", RED: "已超时"}


# -- small helpers ---------------------------------------------------------------------------
def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


@overload
def _date(value: Any, field: str, label: str, *, today: dt.date | None = None,
          required: Literal[True] = True) -> str: ...
@overload
def _date(value: Any, field: str, label: str, *, today: dt.date | None = None, required: bool) -> str | None: ...
def _date(value: Any, field: str, label: str, *, today: dt.date | None = None, required: bool = True) -> str | None:
    """ISO date text from a date or text; refuses bad text and dates in the future."""
    if value is None or value == "":
        if required:
            raise ValidationError(f"请填写{label}。", field=field)
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        d = value
    else:
        from app.models.core.excel_dates import entered_date

        parsed = entered_date(value, label, field)
        assert parsed is not None
        d = parsed
    if d > _today(today):
        raise ValidationError(f"{label}（{d.isoformat()}）不能晚于今天。", field=field)
    return d.isoformat()


def limits(db: Database) -> dict[str, int]:
    """Days allowed at each level, from settings."""
    return {lv: int(settings.get(db, f"mediation_limit_{lv}")) for lv in LEVELS}


def categories(db: Database) -> list[str]:
    return list(settings.get(db, "mediation_categories"))


def save_settings(db: Database, limit_days: Mapping[str, int], category_list: Sequence[str]) -> None:
    """Save the levels' time limits and the category list together (one transaction).

    The settings registry refuses a limit outside its range and an empty or repeated category; here
    also removing a category that cases still use (they would drop out of the category filter and
    the report), checked inside the transaction.
    """
    limits = {f"mediation_limit_{lv}": settings.clean(f"mediation_limit_{lv}", limit_days.get(lv)) for lv in LEVELS}
    cats = settings.clean("mediation_categories", list(category_list))
    with db.write():
        for c in set(categories(db)) - set(cats):
            used = db.scalar("SELECT count(*) FROM mediation_case WHERE deleted = 0 AND category = ?", (c,))
            if used:
                raise ValidationError(f"类别“{c}”已有 {used} 件案件使用，不能删除。", field="mediation_categories")
        for key, n in limits.items():
            settings.set_value(db, key, n)
        settings.set_value(db, "mediation_categories", cats)


def limit_colour(level: str, level_since: str | None, status: str, limit_days: Mapping[str, int],
                 today: dt.date | None = None) -> str | None:
    """green / amber / red for an open case (thresholds in the module docstring); None if not open."""
    if status not in OPEN_STATUSES or not level_since:
        return None
    days = (_today(today) - dt.date.fromisoformat(level_since[:10])).days
    limit = int(limit_days.get(level, 0))
    if days > limit:
        return RED
    if 3 * days >= 2 * limit:
        return AMBER
    return GREEN


def days_left(level: str, level_since: str | None, limit_days: Mapping[str, int], today: dt.date | None = None) -> int | None:
    if not level_since:
        return None
    days = (_today(today) - dt.date.fromisoformat(level_since[:10])).days
    return int(limit_days.get(level, 0)) - days


def urgency_sql(limit_days: Mapping[str, int], alias: str = "c") -> str:
    """SQL for the share of the level's limit used by an open case (-1 for other cases).

    Sorting by it descending puts overdue cases first, then the nearest to their limit.
    """
    cases = " ".join(f"WHEN '{lv}' THEN {max(int(limit_days.get(lv, 1)), 1)}" for lv in LEVELS)
    return (
        f"(CASE WHEN {alias}.status IN ('受理','调解中') THEN "
        f"(julianday(date('now','localtime')) - julianday({alias}.level_since)) * 1.0 / "
        f"(CASE {alias}.level {cases} ELSE 1 END) ELSE -1 END)"
    )


def _office_year_number(tx: Tx, year: int) -> str:
    """Next case number of the year, e.g. 2026-0042 (max existing + 1; inside the write lock)."""
    prefix = f"{year:04d}-"
    last = tx.conn.execute(
        "SELECT max(CAST(substr(number, 6) AS INTEGER)) FROM mediation_case WHERE number LIKE ?",
        (prefix + "%",),
    ).fetchone()[0]
    return f"{prefix}{(last or 0) + 1:04d}"


def _event(tx: Tx, case_id: str, at: str, kind: str, from_value: str | None, to_value: str | None,
           note: str | None) -> None:
    tx.insert("mediation_event", {
        "case_id": case_id, "at": at, "by_user": tx.db.user, "kind": kind,
        "from_value": from_value, "to_value": to_value, "note": note or None,
    })


def _clean_parties(db: Database, parties: Iterable[Mapping[str, Any]]) -> list[dict]:
    out: list[dict] = []
    seen_persons: set[str] = set()
    for i, p in enumerate(parties, start=1):
        person_id = (p.get("person_id") or "").strip() or None
        name = (p.get("outsider_name") or "").strip() or None
        phone = (p.get("outsider_phone") or "").strip() or None
        role = (p.get("role") or "").strip() or None
        if person_id and (name or phone):
            raise ValidationError(
                f"第 {i} 位当事人既选了登记居民，又填写了外来人员姓名/电话。请只选一种：居民从台账中选择，外来人员填写姓名和电话。",
                field="parties",
            )
        if person_id:
            row = db.one("SELECT name FROM person WHERE id = ? AND deleted = 0", (person_id,))
            if row is None:
                raise ValidationError(f"第 {i} 位当事人在居民台账中找不到（可能已删除）。", field="parties")
            if person_id in seen_persons:
                raise ValidationError(f"当事人“{row['name']}”重复添加了。", field="parties")
            seen_persons.add(person_id)
            out.append({"person_id": person_id, "role": role})
        elif name:
            if phone and not re.fullmatch(r"[0-9\-+ ]{5,20}", phone):
                raise ValidationError(f"外来当事人“{name}”的电话“{phone}”格式不对。", field="parties")
            if phone and db.one("SELECT 1 FROM person WHERE name = ? AND phone = ? AND deleted = 0", (name, phone)):
                # the same person entered twice, once as a resident record and once by hand
                raise ValidationError(
                    f"“{name}”（电话 {phone}）是台账中登记的居民，请从居民台账中选择，不要作为外来人员填写。",
                    field="parties",
                )
            out.append({"outsider_name": name, "outsider_phone": phone, "role": role,
                        "outsider_initials": name_pinyin(name)[1]})
        else:
            raise ValidationError(f"第 {i} 位当事人没有姓名：请从居民台账中选择，或填写外来人员姓名。", field="parties")
    if not out:
        raise ValidationError("请至少添加一位当事人。", field="parties")
    return out


# -- creating ----------------------------------------------------------------------------------
def create_case(db: Database, *, title: str, received_date: Any = None, source: str | None = "来访",
                category: str | None = None, description: str | None = None, building_id: str | None = None,
                level: str = "楼栋", mediators: str | None = None, visit_id: str | None = None,
                parties: Sequence[Mapping[str, Any]] = (), today: dt.date | None = None,
                number: str | None = None) -> str:
    """Create a case with its parties in one transaction; returns the new case id.

    ``parties``: ``{"person_id": …}`` for a registered resident or ``{"outsider_name": …,
    "outsider_phone": …}`` for someone outside the registry (never both), optional ``role``.
    The number is the office's next of the received year (``2026-0042``), unless an existing
    ledger's own ``number`` is given (imports keep the numbers people already refer to).
    """
    title = (title or "").strip()
    if not title:
        raise ValidationError("请填写案件标题（简要说明纠纷）。", field="title")
    received = _date(received_date or _today(today), "received_date", "受理日期", today=today)
    if source and source not in SOURCES:
        raise ValidationError(f"案件来源“{source}”无效，应为：{'、'.join(SOURCES)}。", field="source")
    if category and category not in categories(db):
        raise ValidationError(f"纠纷类别“{category}”不在类别设置中。", field="category")
    if level not in LEVELS:
        raise ValidationError(f"调解层级“{level}”无效，应为楼栋、社区或街道。", field="level")
    if building_id and db.one("SELECT 1 FROM building WHERE id = ? AND deleted = 0", (building_id,)) is None:
        raise ValidationError("所选楼栋不存在。", field="building_id")
    clean = _clean_parties(db, parties)
    if number is not None and not re.fullmatch(r"\d{4}-\d{4}", number):
        raise ValidationError(f"案件编号“{number}”格式不对，应为 年份-四位序号，如 2026-0042。", field="number")
    with db.write() as tx:
        if number is None:
            number = _office_year_number(tx, int(received[:4]))
        elif tx.conn.execute("SELECT 1 FROM mediation_case WHERE number = ? AND deleted = 0", (number,)).fetchone():
            raise ValidationError(f"案件编号 {number} 已被使用。", field="number")
        case_id = tx.insert("mediation_case", {
            "number": number, "received_date": received, "source": source, "category": category,
            "title": title, "description": (description or "").strip() or None,
            "building_id": building_id, "level": level, "level_since": received,
            "mediators": (mediators or "").strip() or None, "status": "受理", "visit_id": visit_id,
        }, summary=f"受理调解案件 {number}：{title}")
        for p in clean:
            tx.insert("mediation_party", {"case_id": case_id, **p})
        _event(tx, case_id, received, "status", None, "受理", f"来源：{source or '未填'}")
    return case_id


def create_case_from_visit(db: Database, visit_id: str, title: str, category: str | None = None) -> str:
    """Open a case from a visit (source 走访发现): the visited household's head is the party, the
    building is the household's, level 楼栋; links case.visit_id and visit.mediation_case_id in
    the same transaction."""
    visit = db.one("SELECT * FROM visit WHERE id = ? AND deleted = 0", (visit_id,))
    if visit is None:
        raise NotFoundError("找不到这条走访记录（可能已删除）。")
    if visit["mediation_case_id"]:
        num = db.scalar("SELECT number FROM mediation_case WHERE id = ?", (visit["mediation_case_id"],))
        raise ValidationError(f"这条走访记录已关联调解案件 {num or ''}。", field="visit_id")
    hh = db.one(
        "SELECT h.head_person_id, u.building_id FROM household h "
        "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id WHERE h.id = ?",
        (visit["household_id"],),
    )
    parties = [{"person_id": hh["head_person_id"], "role": "户主"}] if hh and hh["head_person_id"] else []
    if not parties:
        raise ValidationError("走访的这一户没有登记户主，无法自动列为当事人；请在调解台账中手工新建案件。")
    today = dt.date.today()
    received = min(dt.date.fromisoformat(visit["visit_date"][:10]), today)
    with db.write() as tx:
        case_id = create_case(
            db, title=title, received_date=received, source="走访发现", category=category,
            description=(visit["problems"] or visit["findings"] or None),
            building_id=hh["building_id"] if hh else None, level="楼栋", visit_id=visit_id,
            parties=parties,
        )
        tx.update("visit", visit_id, {"mediation_case_id": case_id}, summary="走访记录关联调解案件")
    return case_id


def update_case(db: Database, case_id: str, *, title: str, description: str | None = None,
                source: str | None = None, category: str | None = None, building_id: str | None = None,
                mediators: str | None = None, parties: Sequence[Mapping[str, Any]] | None = None) -> None:
    """Edit a case's descriptive fields (status and level change only through their own steps)."""
    case = get_case(db, case_id)
    title = (title or "").strip()
    if not title:
        raise ValidationError("请填写案件标题（简要说明纠纷）。", field="title")
    if source and source not in SOURCES:
        raise ValidationError(f"案件来源“{source}”无效。", field="source")
    if category and category not in categories(db):
        raise ValidationError(f"纠纷类别“{category}”不在类别设置中。", field="category")
    clean = _clean_parties(db, parties) if parties is not None else None
    with db.write() as tx:
        tx.update("mediation_case", case_id, {
            "title": title, "description": (description or "").strip() or None, "source": source,
            "category": category, "building_id": building_id, "mediators": (mediators or "").strip() or None,
        }, summary=f"修改调解案件 {case['number']}")
        if clean is not None:
            olds = [dict(r) for r in db.query(
                "SELECT id, person_id, outsider_name, outsider_phone FROM mediation_party "
                "WHERE case_id = ? AND deleted = 0 ORDER BY rowid", (case_id,))]

            def key(p: Mapping[str, Any]) -> tuple:
                return (p.get("person_id"), p.get("outsider_name"), p.get("outsider_phone"))

            # rewrite the parties only when they changed: each rewrite is synced to the other PCs
            if [key(o) for o in olds] != [key(p) for p in clean]:
                for old in olds:
                    tx.delete("mediation_party", old["id"])
                for p in clean:
                    tx.insert("mediation_party", {"case_id": case_id, **p})


def delete_case(db: Database, case_id: str, *, reason: str) -> None:
    """Tombstone a case entered by mistake (only while still 受理: once handled, its history stays).

    The parties go with it and a visit it came from is unlinked, all in one transaction.
    """
    case = get_case(db, case_id)
    if case["status"] != "受理":
        raise ValidationError(
            f"案件 {case['number']} 已在办理（{case['status']}），不能删除；办理记录需要保留。"
            "如属误登，请在“记录调解经过”中说明。"
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写删除原因（如：重复登记、登记错误）。", field="reason")
    with db.write() as tx:
        for p in db.query("SELECT id FROM mediation_party WHERE case_id = ? AND deleted = 0", (case_id,)):
            tx.delete("mediation_party", p["id"])
        for v in db.query("SELECT id FROM visit WHERE mediation_case_id = ? AND deleted = 0", (case_id,)):
            tx.update("visit", v["id"], {"mediation_case_id": None}, summary="调解案件删除，取消走访关联")
        _event(tx, case_id, _today(None).isoformat(), "note", None, None, f"删除：{reason}")
        tx.delete("mediation_case", case_id, summary=f"删除调解案件 {case['number']}：{reason}")


# -- reading -----------------------------------------------------------------------------------
def get_case(db: Database, case_id: str) -> dict:
    row = db.one("SELECT * FROM mediation_case WHERE id = ? AND deleted = 0", (case_id,))
    if row is None:
        raise NotFoundError("找不到这个调解案件（可能已删除）。")
    return dict(row)


def parties(db: Database, case_id: str) -> list[dict]:
    """Parties with name, ID number, phone, household number and address (building-unit-room)."""
    rows = db.query(
        "SELECT p.id, p.person_id, p.role, p.outsider_name, p.outsider_phone, pe.name, pe.id_number, "
        "pe.phone, pe.sex, h.number AS household_number, b.name AS building_name, u.number AS unit_number, "
        "r.number AS room_number "
        "FROM mediation_party p LEFT JOIN person pe ON pe.id = p.person_id "
        "LEFT JOIN household h ON h.id = pe.household_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        "WHERE p.case_id = ? AND p.deleted = 0 ORDER BY p.rowid",
        (case_id,),
    )
    out = []
    for r in rows:
        resident = r["person_id"] is not None
        address = ""
        if resident and r["building_name"]:
            address = f"{r['building_name']}{r['unit_number'] or ''}单元{r['room_number'] or ''}"
        out.append({
            "party_id": r["id"], "person_id": r["person_id"], "resident": resident,
            "name": r["name"] if resident else r["outsider_name"],
            "id_number": r["id_number"] if resident else None, "sex": r["sex"] if resident else None,
            "phone": r["phone"] if resident else r["outsider_phone"],
            "household_number": r["household_number"], "address": address, "role": r["role"],
        })
    return out


def history(db: Database, case_id: str) -> list[dict]:
    """Status and level changes and notes, oldest first."""
    return [dict(r) for r in db.query(
        "SELECT at, by_user, kind, from_value, to_value, note FROM mediation_event "
        "WHERE case_id = ? AND deleted = 0 ORDER BY at, rowid", (case_id,))]


def followups(db: Database, case_id: str) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT id, followup_date, visitor, outcome, notes, next_date FROM mediation_followup "
        "WHERE case_id = ? AND deleted = 0 ORDER BY followup_date, rowid", (case_id,))]


def linked_visit(db: Database, case_id: str) -> dict | None:
    """The visit a case was opened from (either link direction), with the household number."""
    row = db.one(
        "SELECT v.id, v.visit_date, v.kind, v.visitor_name, v.findings, v.problems, h.number AS household_number "
        "FROM visit v LEFT JOIN household h ON h.id = v.household_id "
        "WHERE v.deleted = 0 AND (v.id = (SELECT visit_id FROM mediation_case WHERE id = ?) "
        "OR v.mediation_case_id = ?) LIMIT 1",
        (case_id, case_id),
    )
    return dict(row) if row else None


# Reached only by recording a follow-up (登记回访), never chosen by hand.
AUTOMATIC_STATUSES = ("已回访",)


def manual_next(status: str) -> list[str]:
    """The statuses a clerk can choose from `status` in the status dialog."""
    return [s for s in TRANSITIONS.get(status, ()) if s not in AUTOMATIC_STATUSES]


def agreement(db: Database, case_id: str) -> dict:
    """Plain data for the 调解协议书: office, case, parties (name/ID/address/phone), terms, dates."""
    case = get_case(db, case_id)
    if case["status"] not in ("已调解", "已回访", "结案") or case["outcome"] != "已调解" or not case["agreement_text"]:
        raise ValidationError("只有已调解并填写了协议内容的案件才能出具调解协议书。")
    return {
        "office_name": settings.get(db, "office_name"),
        "office_address": settings.get(db, "office_address"),
        "office_phone": settings.get(db, "office_phone"),
        "case_id": case_id, "number": case["number"], "title": case["title"],
        "category": case["category"], "description": case["description"] or "",
        "received_date": case["received_date"], "level": case["level"],
        "mediators": case["mediators"] or "",
        "parties": [{k: p[k] for k in ("name", "id_number", "sex", "address", "phone", "role", "resident")}
                    for p in parties(db, case_id)],
        "terms": case["agreement_text"], "agreement_date": case["agreement_date"],
    }


# -- workflow ----------------------------------------------------------------------------------
def _last_event_date(db: Database, case_id: str) -> str:
    return db.scalar(
        "SELECT max(substr(at, 1, 10)) FROM mediation_event WHERE case_id = ? AND deleted = 0", (case_id,)
    ) or ""


def change_status(db: Database, case_id: str, to_status: str, *, date: Any = None, note: str | None = None,
                  referred_to: str | None = None, agreement_text: str | None = None,
                  today: dt.date | None = None) -> None:
    """Move a case along the workflow; refuses transitions not in :data:`TRANSITIONS` with the reason."""
    case = get_case(db, case_id)
    cur = case["status"]
    if to_status not in STATUSES:
        raise ValidationError(f"未知的状态“{to_status}”。")
    if to_status == "结案" and cur in CONCLUDED:
        raise ValidationError(
            f"案件 {case['number']} {cur}后还没有回访记录，不能结案。请先用“登记回访”记录至少一次回访（强回访），再结案。"
        )
    if to_status not in TRANSITIONS.get(cur, ()):
        allowed = "、".join(TRANSITIONS.get(cur, ())) or "无（已结案）"
        raise ValidationError(f"案件 {case['number']} 当前状态为“{cur}”，不能改为“{to_status}”。可改为：{allowed}。")
    when = _date(date or _today(today), "date", "日期", today=today)
    assert when is not None
    if when < case["received_date"][:10]:
        raise ValidationError(f"日期（{when}）不能早于受理日期（{case['received_date']}）。", field="date")
    last = _last_event_date(db, case_id)
    if last and when < last:
        raise ValidationError(f"日期（{when}）不能早于上一次办理记录（{last}）。", field="date")
    changes: dict[str, Any] = {"status": to_status}
    if to_status == "已调解":
        text = (agreement_text or "").strip()
        if not text:
            raise ValidationError("调解成功须填写协议内容（双方达成的具体条款；口头协议也请简要记录）。",
                                  field="agreement_text")
        changes.update(agreement_text=text, agreement_date=when)
    if to_status == "已移交":
        target = (referred_to or "").strip()
        if not target:
            raise ValidationError("请填写移交给哪个单位或部门（如：街道综治中心、派出所、劳动监察）。",
                                  field="referred_to")
        changes["referred_to"] = target
    if to_status in CONCLUDED:
        changes.update(outcome=to_status, outcome_date=when)
    if to_status == "调解中" and cur == "调解不成":
        changes.update(outcome=None, outcome_date=None)
    if to_status == "已回访" and not _followup_after(db, case_id, case["outcome_date"]):
        raise ValidationError("还没有回访记录：请先登记一次回访（登记后自动变为“已回访”）。")
    if to_status == "结案":
        if not _followup_after(db, case_id, case["outcome_date"]):
            raise ValidationError(
                f"案件 {case['number']} 还没有{case['outcome'] or '办结'}之后的回访记录，不能结案。"
                "请先登记至少一次回访（强回访），再结案。"
            )
        changes["closed_date"] = when
    with db.write() as tx:
        tx.update("mediation_case", case_id, changes, summary=f"调解案件 {case['number']}：{cur} → {to_status}")
        extra = f"移交：{changes['referred_to']}" if to_status == "已移交" else None
        full_note = "；".join(x for x in ((note or "").strip(), extra) if x)
        _event(tx, case_id, when, "status", cur, to_status, full_note)


def _followup_after(db: Database, case_id: str, since: str | None) -> bool:
    return bool(db.scalar(
        "SELECT 1 FROM mediation_followup WHERE case_id = ? AND deleted = 0 AND followup_date >= ? LIMIT 1",
        (case_id, since or ""),
    ))


def change_level(db: Database, case_id: str, to_level: str, *, reason: str, date: Any = None,
                 today: dt.date | None = None) -> None:
    """Escalate (楼栋 → 社区 → 街道) or hand back down; keeps the reason in the history and restarts
    the level's time limit from `date`. A failed case escalated goes back to 调解中."""
    case = get_case(db, case_id)
    if to_level not in LEVELS:
        raise ValidationError(f"调解层级“{to_level}”无效，应为楼栋、社区或街道。", field="level")
    if to_level == case["level"]:
        raise ValidationError(f"案件已经在{to_level}层级。", field="level")
    if case["status"] not in ("受理", "调解中", "调解不成"):
        raise ValidationError(f"案件当前状态为“{case['status']}”，已办结，不能再调整层级。")
    reason = (reason or "").strip()
    if not reason:
        word = "升级" if LEVELS.index(to_level) > LEVELS.index(case["level"]) else "下放"
        raise ValidationError(f"请填写{word}原因。", field="reason")
    when = _date(date or _today(today), "date", "日期", today=today)
    assert when is not None
    if when < case["received_date"][:10] or when < _last_event_date(db, case_id):
        raise ValidationError("层级调整日期不能早于受理日期或上一次办理记录。", field="date")
    changes: dict[str, Any] = {"level": to_level, "level_since": when}
    with db.write() as tx:
        _event(tx, case_id, when, "level", case["level"], to_level, reason)
        if case["status"] == "调解不成":
            changes.update(status="调解中", outcome=None, outcome_date=None)
            _event(tx, case_id, when, "status", "调解不成", "调解中", f"{to_level}层级继续调解")
        tx.update("mediation_case", case_id, changes,
                  summary=f"调解案件 {case['number']}：{case['level']} → {to_level}")


def add_note(db: Database, case_id: str, note: str, *, date: Any = None, today: dt.date | None = None) -> None:
    """A progress note (调解经过) in the case history."""
    case = get_case(db, case_id)
    note = (note or "").strip()
    if not note:
        raise ValidationError("请填写记录内容。", field="note")
    when = _date(date or _today(today), "date", "日期", today=today)
    assert when is not None
    if when < case["received_date"][:10]:
        raise ValidationError("记录日期不能早于受理日期。", field="date")
    with db.write() as tx:
        _event(tx, case_id, when, "note", None, None, note)


def add_followup(db: Database, case_id: str, *, followup_date: Any, visitor: str | None, outcome: str,
                 notes: str | None = None, next_date: Any = None, today: dt.date | None = None) -> str:
    """Record a follow-up visit (回访) of a concluded case; the first moves it to 已回访."""
    case = get_case(db, case_id)
    if case["status"] in OPEN_STATUSES:
        raise ValidationError(
            f"案件 {case['number']} 还在“{case['status']}”，尚未调解成功或办结，不能登记回访。"
            "请先把状态改为已调解、调解不成或已移交。"
        )
    if case["status"] == "结案":
        raise ValidationError(f"案件 {case['number']} 已结案，不能再登记回访。")
    if outcome not in OUTCOMES_FOLLOWUP:
        raise ValidationError(f"请选择回访结果：{'、'.join(OUTCOMES_FOLLOWUP)}。", field="outcome")
    when = _date(followup_date, "followup_date", "回访日期", today=today)
    assert when is not None
    if case["outcome_date"] and when < case["outcome_date"]:
        raise ValidationError(
            f"回访日期（{when}）早于{case['outcome']}日期（{case['outcome_date']}）：回访必须在办结之后。",
            field="followup_date",
        )
    nxt = None
    if next_date:
        try:
            nxt = dt.date.fromisoformat(str(next_date)[:10]).isoformat()
        except ValueError:
            raise ValidationError(f"下次回访日期“{next_date}”不是有效日期。", field="next_date") from None
        if nxt <= when:
            raise ValidationError("下次回访日期应晚于本次回访日期。", field="next_date")
    with db.write() as tx:
        fid = tx.insert("mediation_followup", {
            "case_id": case_id, "followup_date": when, "visitor": (visitor or "").strip() or None,
            "outcome": outcome, "notes": (notes or "").strip() or None, "next_date": nxt,
        }, summary=f"调解案件 {case['number']} 回访")
        if case["status"] in CONCLUDED:
            tx.update("mediation_case", case_id, {"status": "已回访"})
            _event(tx, case_id, when, "status", case["status"], "已回访", f"回访结果：{outcome}")
    return fid


# -- list and filters --------------------------------------------------------------------------
FROM_SQL = "mediation_case c LEFT JOIN building b ON b.id = c.building_id"

PARTY_NAMES_SQL = (
    "(SELECT group_concat(coalesce(pe.name, p.outsider_name), '、') FROM mediation_party p "
    "LEFT JOIN person pe ON pe.id = p.person_id WHERE p.case_id = c.id AND p.deleted = 0)"
)


FOLLOWUP_DUE_SQL = (
    "(c.status IN ('已调解','调解不成','已移交') OR (c.status = '已回访' AND EXISTS ("
    "SELECT 1 FROM mediation_followup f WHERE f.case_id = c.id AND f.deleted = 0 AND f.next_date IS NOT NULL "
    "AND f.next_date <= date('now','localtime') AND NOT EXISTS (SELECT 1 FROM mediation_followup g "
    "WHERE g.case_id = c.id AND g.deleted = 0 AND g.followup_date >= f.next_date))))"
)


def party_names(db: Database, case_id: str) -> str:
    """“张三、李四”: the parties of one case, in the order they were entered."""
    return db.scalar(
        "SELECT group_concat(name, '、') FROM (SELECT coalesce(pe.name, p.outsider_name) AS name "
        "FROM mediation_party p LEFT JOIN person pe ON pe.id = p.person_id "
        "WHERE p.case_id = ? AND p.deleted = 0 ORDER BY p.rowid)", (case_id,)) or ""


def case_filter(*, search: str = "", status: str | None = None, level: str | None = None,
                category: str | None = None, date_from: str | None = None, date_to: str | None = None,
                building_id: str | None = None, open_only: bool = False,
                followup_due: bool = False) -> tuple[str, list[Any]]:
    """WHERE clause (over :data:`FROM_SQL`) and params for the case list.

    `open_only`: 受理 / 调解中. `followup_due` (待回访): concluded and not yet followed up, or
    已回访 with a planned next follow-up date that has come without a follow-up on or after it.

    `search` matches the case number, title, or a party's name; latin letters match the pinyin
    initials of a party (``zs`` finds 张三) as a prefix.
    """
    where = ["c.deleted = 0"]
    params: list[Any] = []
    text = (search or "").strip()
    if text:
        # IN (uncorrelated subquery) is computed once, not per case: a few ms on 5,000 cases.
        if re.fullmatch(r"[A-Za-z]+", text):
            # GLOB (case-sensitive, initials are stored lower case) can use the person_by_initials index
            where.append(
                "c.id IN (SELECT p.case_id FROM mediation_party p WHERE p.deleted = 0 AND "
                "(p.person_id IN (SELECT id FROM person WHERE name_initials GLOB ? AND deleted = 0) "
                "OR p.outsider_initials GLOB ?))"
            )
            params += [text.lower() + "*"] * 2
        else:
            like = f"%{text}%"
            # matching persons first (one scan of person), then the parties that are among them:
            # cheaper than looking up the person of every party
            where.append(
                "(c.number LIKE ? OR c.title LIKE ? OR c.id IN (SELECT p.case_id FROM mediation_party p "
                "WHERE p.deleted = 0 AND (p.person_id IN (SELECT id FROM person WHERE name LIKE ? AND deleted = 0) "
                "OR p.outsider_name LIKE ?)))"
            )
            params += [like] * 4
    if status:
        where.append("c.status = ?")
        params.append(status)
    if open_only:
        where.append("c.status IN ('受理','调解中')")
    if followup_due:
        where.append(FOLLOWUP_DUE_SQL)
    if level:
        where.append("c.level = ?")
        params.append(level)
    if category:
        where.append("c.category = ?")
        params.append(category)
    if date_from:
        where.append("c.received_date >= ?")
        params.append(date_from)
    if date_to:
        where.append("c.received_date <= ?")
        params.append(date_to)
    if building_id:
        where.append("c.building_id = ?")
        params.append(building_id)
    return " AND ".join(where), params


def cases_query(**filters: Any) -> ListQuery:
    """The case list as shown, for the filters of :func:`case_filter`."""
    where, params = case_filter(**filters)
    return ListQuery(FROM_SQL, id_sql="c.id").filtered(Condition(where, tuple(params)))


def case_rows(db: Database, *, limit: int | None = None, **filters: Any) -> list[dict]:
    """Cases as plain rows for export (Excel) in list order, overdue first; `filters` as
    :func:`case_filter`. Each row has the case columns, ``parties``, ``building``,
    ``limit_colour`` (green/amber/red/None) and ``days_left``."""
    where, params = case_filter(**filters)
    lim = limits(db)
    sql = (f"SELECT c.*, b.name AS building, {PARTY_NAMES_SQL} AS parties FROM {FROM_SQL} WHERE {where} "
           f"ORDER BY {urgency_sql(lim)} DESC, c.received_date DESC, c.number DESC")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    out = []
    for r in db.query(sql, params):
        d = dict(r)
        d["limit_colour"] = limit_colour(d["level"], d["level_since"], d["status"], lim)
        d["days_left"] = days_left(d["level"], d["level_since"], lim) if d["limit_colour"] else None
        out.append(d)
    return out


def search_persons(db: Database, text: str, limit: int = 50) -> list[dict]:
    """Residents for the party picker, found as every resident search of the program finds them
    (``registry_search.person_condition``): name, pinyin, ID number or phone, a room ("10-2-1003",
    "10栋2单元1003"), a household number. Moved-out residents are found too: a party may have left."""
    search = person_condition((text or "").strip(), alias="pe", db=db)
    if not search.sql:
        return []
    cond, params = search.sql, list(search.params)
    rows = db.query(
        "SELECT pe.id, pe.name, pe.sex, pe.id_number, pe.birth_date, pe.phone, h.number AS household_number, "
        "b.id AS building_id, b.name AS building_name, u.number AS unit_number, r.number AS room_number "
        "FROM person pe LEFT JOIN household h ON h.id = pe.household_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        f"WHERE pe.deleted = 0 AND {cond} ORDER BY pe.name_pinyin, pe.name LIMIT ?",
        [*params, limit],
    )
    today = dt.date.today()
    out = []
    for r in rows:
        room = f"{r['building_name']}{r['unit_number'] or ''}单元{r['room_number'] or ''}" if r["building_name"] else ""
        out.append({**dict(r), "room": room, "age": _age(r["birth_date"], today),
                    "id_tail": (r["id_number"] or "")[-4:]})
    return out


def _age(birth_date: str | None, today: dt.date) -> int | None:
    try:
        born = dt.date.fromisoformat(birth_date or "")
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def unclosed_cases_by_level(db: Database) -> dict[str, int]:
    """Cases not yet 结案 per level plus ``total`` (the dashboard's 未结矛盾纠纷)."""
    out = dict.fromkeys(LEVELS, 0)
    for r in db.query(
        "SELECT level, count(*) AS n FROM mediation_case WHERE deleted = 0 AND status <> '结案' GROUP BY level"
    ):
        if r["level"] in out:
            out[r["level"]] = int(r["n"])
    out["total"] = sum(out.values())
    return out


def buildings(db: Database) -> list[tuple[str, str]]:
    """(id, name) of buildings for the filter and case form."""
    return [(r["id"], r["name"]) for r in db.query(
        "SELECT id, name FROM building WHERE deleted = 0 ORDER BY number, name COLLATE natsort")]


def same_number_count(db: Database, case_id: str, number: str) -> int:
    """Other cases (not deleted) bearing `number`: two PCs numbered cases offline at the same time."""
    return int(db.scalar("SELECT count(*) FROM mediation_case WHERE number = ? AND deleted = 0 AND id <> ?",
                         (number, case_id)))


def case_number(db: Database, case_id: str | None) -> str | None:
    if not case_id:
        return None
    return db.scalar("SELECT number FROM mediation_case WHERE id = ?", (case_id,))


def recent_cases(db: Database, *, limit: int) -> list[dict[str, Any]]:
    """Cases not deleted, the latest received first: id, number, title, status."""
    return [dict(r) for r in db.query(
        "SELECT id, number, title, status FROM mediation_case WHERE deleted = 0 "
        "ORDER BY received_date DESC, number DESC LIMIT ?", (limit,))]

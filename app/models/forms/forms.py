"""Printed forms: which records each form is printed for, and the data each printed page shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.models.core import masking, settings
from app.models.core.db import Database
from app.models.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.core.id_numbers import mask
from app.models.places.signs import sign_name
from app.models.registry.persons import id_display
from app.models.registry.registry_search import person_condition

RISK_NAMES = {"red": "红", "yellow": "黄", "green": "绿"}
VISIT_KINDS = ["日访", "周访", "月访", "三必到", "四必访", "其他"]
# Person flags that put a household into the 四必访 groups (plus 特困 on the household).
SPECIAL_GROUPS = {
    "sg_left_behind_child": "留守儿童",
    "sg_elderly_alone": "孤寡老人",
    "sg_disabled": "残疾",
    "sg_incapacitated": "失能",
    "sg_hospitalised": "住院",
}
FOUR_MUST_VISIT = ("sg_elderly_alone", "sg_disabled", "sg_incapacitated", "sg_hospitalised")
LABOUR_NAMES = {"全": "全劳动力", "半": "半劳动力", "无": "无劳动力"}


@dataclass(frozen=True)
class FormSpec:
    key: str  # command-line name, e.g. "household-card"
    title: str  # Chinese title, shown in menus and dialogs
    template: str  # resources/templates/<template>.html
    full_id_numbers: bool  # True only where the law needs the whole number
    selectors: tuple[str, ...]  # selector keywords this form accepts (first one = its record)
    landscape: bool = False  # wide tables (reports upward) print across the page


FORMS: dict[str, FormSpec] = {
    f.key: f
    for f in (
        FormSpec("household-card", "一户一档", "household_card", False, ("household", "building")),
        FormSpec("residence-certificate", "居住证明", "residence_certificate", True, ("person", "household")),
        FormSpec("round-sheet", "楼栋走访表", "round_sheet", False, ("building",)),
        FormSpec("visit-form", "走访记录表", "visit_form", False, ("household", "building")),
        FormSpec("mediation-agreement", "调解协议书", "mediation_agreement", False, ("case", "month")),
        FormSpec("monthly-disputes", "矛盾纠纷排查情况表", "monthly_disputes", False, ("month",), landscape=True),
        FormSpec("training-attendance", "培训签到表", "training_attendance", False, ("course", "session")),
        FormSpec("training-certificate", "培训结业证明", "training_certificate", False, ("person", "course")),
    )
}


def spec(form: str) -> FormSpec:
    try:
        return FORMS[form]
    except KeyError:
        names = "、".join(FORMS)
        raise ValidationError(f"没有名为“{form}”的表单。可用的表单：{names}。", field="form") from None


# -- small helpers --------------------------------------------------------------------------


def chinese_date(value: str | dt.date | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day.year}年{day.month}月{day.day}日"


def _yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen / 100:,.0f}" if fen % 100 == 0 else f"{fen / 100:,.2f}"


def _yes_no(flag: Any) -> str:
    return "是" if flag else "否"


def office(db: Database) -> dict[str, str]:
    return {
        "name": str(settings.get(db, "office_name") or ""),
        "address": str(settings.get(db, "office_address") or ""),
        "phone": str(settings.get(db, "office_phone") or ""),
    }


def _common(db: Database, form: str, today: dt.date) -> dict[str, Any]:
    return {
        "office": office(db),
        "today": chinese_date(today),
        "today_iso": today.isoformat(),
        "form_title": FORMS[form].title,
    }


def _sign(key: str | None) -> dict[str, str] | None:
    if not key:
        return None
    return {"key": key, "name": sign_name(key) or key, "src": f"sign:{key}"}


# -- places and addresses -------------------------------------------------------------------

_ADDRESS_SQL = """
SELECT h.id AS household_id, r.number AS room, r.floor AS floor, u.number AS unit, u.sign AS unit_sign,
       b.id AS building_id, b.name AS building, b.sign AS building_sign, c.name AS community
FROM household AS h
LEFT JOIN room AS r ON r.id = h.room_id
LEFT JOIN unit AS u ON u.id = r.unit_id
LEFT JOIN building AS b ON b.id = u.building_id
LEFT JOIN community AS c ON c.id = b.community_id
WHERE h.id = ?
"""


def household_place(db: Database, household_id: str) -> dict[str, Any]:
    """Community, building (with its picture sign), unit and room of a household, and its address."""
    row = db.one(_ADDRESS_SQL, (household_id,))
    place = dict(row) if row else {}
    place["text"] = format_address(place)
    place["short"] = format_address({**place, "community": ""})
    place["sign"] = _sign(place.get("unit_sign") or place.get("building_sign"))
    return place


def format_address(place: dict[str, Any]) -> str:
    """Community name + "3栋2单元501" (the registry's own address format)."""
    if not place.get("building"):
        return ""
    from app.models.registry.households import address_text

    return (place.get("community") or "") + address_text(place["building"], place.get("unit"), place.get("room"))


# -- finding the records a clerk names ------------------------------------------------------


def find_building(db: Database, name: str) -> str:
    """A building by name ("3栋"), number ("3") or record id."""
    name = (name or "").strip()
    rows = db.query(
        "SELECT id FROM building WHERE deleted = 0 AND (name = ? OR CAST(number AS TEXT) = ? OR id = ?) "
        "ORDER BY retired, name",
        (name, name, name),
    )
    if not rows:
        raise NotFoundError(f"找不到名为“{name}”的楼栋。")
    return rows[0]["id"]


def _find_id(db: Database, sql: str, params: tuple[str, ...], missing: str) -> str:
    """The id of the first row `sql` finds; NotFoundError(missing) when there is none."""
    row = db.one(sql, params)
    if row is None:
        raise NotFoundError(missing)
    return str(row["id"])


def find_household(db: Database, number: str) -> str:
    """A household by its number or record id."""
    number = (number or "").strip()
    return _find_id(db, "SELECT id FROM household WHERE deleted = 0 AND (number = ? OR id = ?) "
                    "ORDER BY status = '在住' DESC", (number, number), f"找不到户号为“{number}”的家庭。")


def find_person(db: Database, key: str) -> str:
    """A person by record id, or by full ID number."""
    key = (key or "").strip()
    return _find_id(db, "SELECT id FROM person WHERE deleted = 0 AND (id = ? OR id_number = ?) "
                    "ORDER BY status = '在册' DESC", (key, key.upper()), f"找不到人员“{key}”（可输入身份证号）。")


def find_case(db: Database, number: str) -> str:
    number = (number or "").strip()
    return _find_id(db, "SELECT id FROM mediation_case WHERE deleted = 0 AND (number = ? OR id = ?)",
                    (number, number), f"找不到编号为“{number}”的调解案件。")


def find_course(db: Database, name: str) -> str:
    name = (name or "").strip()
    return _find_id(db, "SELECT id FROM training_course WHERE deleted = 0 AND (name = ? OR id = ?) "
                    "ORDER BY start_date DESC", (name, name), f"找不到名为“{name}”的培训班。")


def course_sessions(db: Database, course_id: str) -> list[str]:
    return [r["id"] for r in db.query(
        "SELECT id FROM training_session WHERE course_id = ? AND deleted = 0 "
        "ORDER BY session_date, coalesce(start_time, ''), id", (course_id,))]


def session_rows(db: Database, course_id: str) -> dict[str, dict[str, Any]]:
    """The course's sessions by id: session_date, start_time, topic."""
    return {r["id"]: dict(r) for r in db.query(
        "SELECT id, session_date, start_time, topic FROM training_session WHERE course_id = ? AND deleted = 0",
        (course_id,))}


# Prefix searches as index ranges (LIKE cannot use SQLite's case-sensitive indexes), so a keystroke
# of the print dialog's search stays within a few milliseconds on 100,000 residents.
def find_households(db: Database, text: str, limit: int) -> list[dict[str, Any]]:
    """Households (number, head's name) whose number, head's name or head's pinyin initials start with `text`."""
    if not text:
        return []
    return [dict(r) for r in db.query(
        "SELECT h.number, p.name FROM household AS h LEFT JOIN person AS p ON p.id = h.head_person_id "
        "WHERE +h.deleted = 0 AND h.id IN ("
        " SELECT id FROM (SELECT id FROM household WHERE number >= :t AND number < :t || char(1114111)"
        "  AND +deleted = 0 ORDER BY number LIMIT :n)"
        " UNION SELECT id FROM (SELECT h2.id FROM person AS p2 JOIN household AS h2 ON h2.head_person_id = p2.id"
        "  WHERE p2.name >= :t AND p2.name < :t || char(1114111) AND +h2.deleted = 0 ORDER BY p2.name LIMIT :n)"
        " UNION SELECT id FROM (SELECT h3.id FROM person AS p3 JOIN household AS h3 ON h3.head_person_id = p3.id"
        "  WHERE p3.name_initials >= :i AND p3.name_initials < :i || char(1114111) AND +h3.deleted = 0"
        "  ORDER BY p3.name_initials LIMIT :n)"
        ") ORDER BY h.number LIMIT :n",
        {"t": text, "i": text.lower(), "n": limit},
    )]


def find_persons(db: Database, text: str, limit: int) -> list[dict[str, Any]]:
    """Registered residents (id, name, id_number, household number) for what is typed, read as every
    resident search reads it (``registry_search.person_condition``: name, pinyin, ID number or
    phone, a room, a household number)."""
    search = person_condition(text.strip(), db=db)
    if not search.sql:
        return []
    return [dict(r) for r in db.query(
        "SELECT p.id, p.name, p.id_number, h.number FROM person AS p LEFT JOIN household AS h ON h.id = p.household_id "
        f"WHERE +p.deleted = 0 AND +p.status = '在册' AND {search.sql} ORDER BY p.name LIMIT ?",
        (*search.params, limit),
    )]


def find_session(db: Database, key: str, course_id: str | None) -> str:
    """A session by its id, or within a course by its number (第 2 次 → "2") or its date."""
    key = (key or "").strip()
    row = db.one("SELECT s.id FROM training_session s JOIN training_course c ON c.id = s.course_id "
                 "WHERE s.id = ? AND s.deleted = 0 AND c.deleted = 0", (key,))
    if row is not None:
        return row["id"]
    if course_id is None:
        raise ValidationError("请同时用 --course 培训班名称 指定培训班，--session 写第几次课（如 2）或上课日期。",
                              field="session")
    ids = course_sessions(db, course_id)
    if key.isdigit():
        n = int(key)
        if 1 <= n <= len(ids):
            return ids[n - 1]
        raise NotFoundError(f"这期培训共 {len(ids)} 次课，没有第 {n} 次。")
    day = entered_iso_date(key, "上课日期", field="session")
    found = [r["id"] for r in db.query(
        "SELECT id FROM training_session WHERE course_id = ? AND deleted = 0 AND session_date = ? "
        "ORDER BY coalesce(start_time, ''), id", (course_id, day))]
    if not found:
        raise NotFoundError(f"这期培训在 {day} 没有课。")
    if len(found) > 1:
        raise ValidationError(f"这期培训在 {day} 有 {len(found)} 次课，请用第几次课（如 --session 2）指定。",
                              field="session")
    return found[0]


def check_month(month: str) -> str:
    month = (month or "").strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValidationError(f"月份“{month}”格式不对，应为 YYYY-MM，例如 2026-03。", field="month")
    return month


def _building_households(db: Database, building_id: str) -> list[str]:
    return [
        r["id"]
        for r in db.query(
            "SELECT h.id FROM household AS h JOIN room AS r ON r.id = h.room_id JOIN unit AS u ON u.id = r.unit_id "
            "WHERE u.building_id = ? AND h.deleted = 0 AND h.status = '在住' "
            "ORDER BY u.number, CAST(r.number AS INTEGER), r.number, h.number",
            (building_id,),
        )
    ]


def records(db: Database, form: str, **selector: str | None) -> list[str | None]:
    """The record ids one print job covers: one record, or every record of a batch selector.

    ``None`` in the result stands for a blank form (visit form without a household).
    """
    fs = spec(form)
    require_form_access(db, form)
    given = {k: v for k, v in selector.items() if v not in (None, "")}
    unknown = [k for k in given if k not in fs.selectors]
    if unknown:
        allowed = "、".join(f"--{s}" for s in fs.selectors)
        raise ValidationError(f"{fs.title}不能按 --{unknown[0]} 选择；可用：{allowed}。", field=unknown[0])
    if form == "household-card":
        if "household" in given or "building" in given:
            return _households_given(db, given)
        raise ValidationError("请用 --household 户号 或 --building 楼栋 指定要打印的户。", field="household")
    if form == "residence-certificate":
        if "person" in given:
            return [find_person(db, given["person"])]
        if "household" in given:
            return _ids(db, "SELECT id FROM person WHERE household_id = ? AND deleted = 0 AND status = '在册' "
                        "ORDER BY relation = '户主' DESC, birth_date", [find_household(db, given["household"])],
                        "该户没有在册人员。")
        raise ValidationError("请用 --person 身份证号 或 --household 户号 指定人员。", field="person")
    if form == "round-sheet":
        if "building" in given:
            return [find_building(db, given["building"])]
        return _ids(db, "SELECT id FROM building WHERE deleted = 0 AND retired = 0 ORDER BY number, name COLLATE natsort",
                    [], "还没有楼栋。")
    if form == "visit-form":
        if "household" in given or "building" in given:
            return _households_given(db, given)
        return [None]
    if form == "mediation-agreement":
        if "case" in given:
            return [find_case(db, given["case"])]
        if "month" in given:
            month = check_month(given["month"])
            return _ids(db, "SELECT id FROM mediation_case WHERE deleted = 0 AND agreement_date LIKE ? || '%' "
                        "AND COALESCE(agreement_text, '') <> '' ORDER BY number", [month],
                        f"{month} 没有达成调解协议的案件。")
        raise ValidationError("请用 --case 案件编号 或 --month 月份 指定案件。", field="case")
    if form == "monthly-disputes":
        return [check_month(given.get("month") or dt.date.today().strftime("%Y-%m"))]
    if form == "training-attendance":
        # One sheet per session: the one asked for, or every session of the course.
        course_id = find_course(db, given["course"]) if "course" in given else None
        if "session" in given:
            return [find_session(db, given["session"], course_id)]
        if course_id is not None:
            return _non_empty(course_sessions(db, course_id), "这期培训还没有课次。")
        raise ValidationError("请用 --course 培训班名称 指定培训班（可加 --session 第几次课或上课日期）。", field="course")
    if form == "training-certificate":
        if "person" in given:
            pid = find_person(db, given["person"])
            sql = (
                "SELECT a.id FROM training_attendance AS a JOIN training_course AS c ON c.id = a.course_id "
                "WHERE a.person_id = ? AND a.deleted = 0 AND c.deleted = 0"
            )
            params: list[Any] = [pid]
            if "course" in given:
                sql += " AND c.id = ?"
                params.append(find_course(db, given["course"]))
            return _ids(db, sql + " ORDER BY c.start_date", params, "该人员没有培训记录。")
        if "course" in given:
            return _ids(db, "SELECT a.id FROM training_attendance AS a JOIN person AS p ON p.id = a.person_id "
                        "WHERE a.course_id = ? AND a.deleted = 0 ORDER BY p.name_pinyin, p.name",
                        [find_course(db, given["course"])], "该培训班还没有学员。")
        raise ValidationError("请用 --course 培训班 或 --person 人员 指定。", field="course")
    raise AssertionError(form)


def _households_given(db: Database, given: dict[str, str]) -> list[str | None]:
    """The household asked for, or the households living in the building asked for."""
    if "household" in given:
        return [find_household(db, given["household"])]
    return _non_empty(_building_households(db, find_building(db, given["building"])), "该楼栋没有在住户。")


def _ids(db: Database, sql: str, params: list[Any], message: str) -> list[str | None]:
    """The ids `sql` selects; NotFoundError(message) when there are none."""
    return _non_empty([r["id"] for r in db.query(sql, params)], message)


def _non_empty(ids: list[str], message: str) -> list[str | None]:
    if not ids:
        raise NotFoundError(message)
    return list(ids)


# -- data of each form ----------------------------------------------------------------------


def gather(db: Database, form: str, record_id: str | None, *, today: dt.date | None = None) -> dict[str, Any]:
    """Everything one printed copy of `form` shows for the record `record_id`."""
    today = today or dt.date.today()
    require_form_access(db, form)
    data = _common(db, form, today)
    data.update(_GATHERERS[form](db, record_id, today))
    data.pop("_row", None)
    if not FORMS[form].full_id_numbers:
        data = mask_form_data(data)
    return data


def require_form_access(db: Database, form: str) -> None:
    """A form with whole ID numbers is printed only by roles that may have them (the others print
    masked forms only); the print itself is recorded in the audit."""
    if form in FORMS and FORMS[form].full_id_numbers and not db.principal.may_export_full:
        raise PermissionDeniedError(
            f"“{db.principal.name}”的账号只能打印脱敏的表单；{FORMS[form].title}含完整身份证号，请由社区工作人员打印。")


# Keys of a form's data that hold a phone number; "office" (the office's own contact) stays whole.
_PHONE_KEYS = frozenset({"phone", "head_phone", "outsider_phone"})
_DROPPED_KEYS = frozenset({"birth_date", "age"})


def mask_form_data(data: Any, key: str = "") -> Any:
    """The data of a masked form under the one masking policy (app.models.core.masking): phones
    masked, birth dates and ages left out, ID and mobile numbers inside any text masked."""
    if isinstance(data, dict):
        return {k: (v if k == "office" else mask_form_data(v, k)) for k, v in data.items() if k not in _DROPPED_KEYS}
    if isinstance(data, list):
        return [mask_form_data(v, key) for v in data]
    if isinstance(data, str):
        return masking.phone(data) if key in _PHONE_KEYS else masking.text(data)
    return data


def _members(db: Database, household_id: str, *, full_ids: bool = False) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT * FROM person WHERE household_id = ? AND deleted = 0 AND status = '在册' "
        "ORDER BY relation = '户主' DESC, birth_date, name",
        (household_id,),
    )
    out = []
    for i, p in enumerate(rows, 1):
        special = [label for col, label in SPECIAL_GROUPS.items() if p[col]]
        if p["party_member"]:
            special.append("党员")
        if p["student"]:
            special.append("在校生")
        out.append(
            {
                "no": i,
                "id": p["id"],
                "name": p["name"],
                "relation": p["relation"] or "",
                "sex": p["sex"] or "",
                "birth_date": p["birth_date"] or "",
                "id_number": id_display(p, masked=not full_ids),
                "ethnicity": p["ethnicity"] or "",
                "phone": p["phone"] or "",
                "education": p["education"] or "",
                "labour": LABOUR_NAMES.get(p["labour_ability"] or "", ""),
                "special": "、".join(special),
            }
        )
    return out


def household_tags(h: Any) -> list[str]:
    tags = []
    for col, label in (("tag_lifted", "脱贫户"), ("tag_monitored", "监测户"), ("tag_dibao", "低保"), ("tag_tekun", "特困")):
        if h[col]:
            tags.append(label)
    return tags


def _household_base(db: Database, household_id: str) -> dict[str, Any]:
    h = db.one("SELECT * FROM household WHERE id = ? AND deleted = 0", (household_id,))
    if h is None:
        raise NotFoundError("找不到该户（可能已删除）。")
    place = household_place(db, household_id)
    head = db.one("SELECT name, phone FROM person WHERE id = ?", (h["head_person_id"],)) if h["head_person_id"] else None
    members = _members(db, household_id)
    tags = household_tags(h)
    has_labour = any(m["labour"] in ("全劳动力", "半劳动力") for m in members)
    if has_labour and not _current_jobs(db, household_id):
        tags.append("零就业家庭")
    return {
        "household_id": h["id"],
        "number": h["number"],
        "address": place["text"],
        "building": place.get("building") or "",
        "sign": place["sign"],
        "head_name": head["name"] if head else (members[0]["name"] if members else ""),
        "head_phone": (head["phone"] or "") if head else "",
        "origin": "".join(x for x in (h["origin_township"], h["origin_village"]) if x),
        "move_in_date": h["move_in_date"] or "",
        "risk": RISK_NAMES.get(h["risk_colour"], ""),
        "risk_key": h["risk_colour"],
        "tags": "、".join(tags) or "无",
        "hukou_moved": _yes_no(h["hukou_moved"]),
        "residence_permit": h["residence_permit"] or "未登记",
        "property_cert": h["property_cert"] or "未登记",
        "garden_plot": f"{h['garden_plot_m2']:g} 平方米" if h["garden_plot_m2"] else "无",
        "status": h["status"],
        "notes": h["notes"] or "",
        "members": members,
        "size": len(members),
        "_row": h,
    }


def _current_jobs(db: Database, household_id: str, today: dt.date | None = None) -> list[dict[str, Any]]:
    day = (today or dt.date.today()).isoformat()
    rows = db.query(
        "SELECT p.name, e.* FROM employment AS e JOIN person AS p ON p.id = e.person_id "
        "WHERE p.household_id = ? AND e.deleted = 0 AND p.deleted = 0 "
        "AND (e.end_date IS NULL OR e.end_date = '' OR e.end_date >= ?) ORDER BY p.name, e.start_date",
        (household_id, day),
    )
    return [
        {
            "name": r["name"],
            "kind": r["kind"] + (f"（{r['sub_kind']}）" if r["sub_kind"] else ""),
            "employer": r["employer"] or r["post_name"] or "",
            "place": r["place"] or r["destination"] or "",
            "start_date": r["start_date"] or "",
            "income": _yuan(r["monthly_income_fen"]),
        }
        for r in rows
    ]


def _last_visits(db: Database, household_id: str, limit: int = 5) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT * FROM visit WHERE household_id = ? AND deleted = 0 ORDER BY visit_date DESC, created_at DESC LIMIT ?",
        (household_id, limit),
    )
    return [
        {
            "date": r["visit_date"],
            "kind": r["kind"],
            "visitor": r["visitor_name"] or "",
            "findings": r["findings"] or "",
            "problems": r["problems"] or "",
        }
        for r in rows
    ]


def household_card(db: Database, household_id: str | None, today: dt.date) -> dict[str, Any]:
    data = _household_base(db, _required(household_id))
    data["visits"] = _last_visits(db, data["household_id"])
    data["jobs"] = _current_jobs(db, data["household_id"], today)
    return data


def residence_certificate(db: Database, person_id: str | None, today: dt.date) -> dict[str, Any]:
    p = db.one("SELECT * FROM person WHERE id = ? AND deleted = 0", (_required(person_id),))
    if p is None:
        raise NotFoundError("找不到该人员（可能已删除）。")
    if not p["household_id"]:
        raise ValidationError(f"{p['name']} 没有登记所属户，无法开具居住证明。", field="household")
    h = db.one("SELECT * FROM household WHERE id = ?", (p["household_id"],))
    place = household_place(db, p["household_id"])
    return {
        "name": p["name"],
        "sex": p["sex"] or "",
        "ethnicity": p["ethnicity"] or "",
        "birth_date": chinese_date(p["birth_date"]),
        "id_number": id_display(p, masked=False) if p["id_number"] else "（未登记）",
        "address": place["text"] or "（未登记住址）",
        "sign": place["sign"],
        "household_number": h["number"] if h else "",
        "move_in_date": chinese_date(h["move_in_date"]) if h and h["move_in_date"] else "",
        "origin": "".join(x for x in ((h["origin_township"], h["origin_village"]) if h else ()) if x),
        "relation": p["relation"] or "",
    }


def next_due_dates(db: Database, building_id: str, today: dt.date) -> dict[str, str]:
    """household id → next visit due date (ISO) for every household of a building; the due
    list's own rule, so the sheet and the list never disagree. Never seen and no date: today."""
    from app.models.places import rhythm

    return {hid: due or today.isoformat() for hid, due in rhythm.due_dates(db, today, building_id).items()}


def round_sheet(db: Database, building_id: str | None, today: dt.date) -> dict[str, Any]:
    b = db.one("SELECT * FROM building WHERE id = ? AND deleted = 0", (_required(building_id),))
    if b is None:
        raise NotFoundError("找不到该楼栋（可能已删除）。")
    heads = db.query(
        "SELECT pr.role, COALESCE(p.name, pr.staff_name) AS name, COALESCE(pr.phone, p.phone) AS phone "
        "FROM place_role AS pr LEFT JOIN person AS p ON p.id = pr.person_id "
        "WHERE pr.place_table = 'building' AND pr.place_id = ? AND pr.deleted = 0 "
        "AND (pr.end_date IS NULL OR pr.end_date = '' OR pr.end_date >= ?) ORDER BY pr.role = 'building_head' DESC",
        (b["id"], today.isoformat()),
    )
    head = next((h for h in heads if h["role"] == "building_head"), heads[0] if heads else None)
    due = next_due_dates(db, b["id"], today)
    rows = db.query(
        "SELECT h.id, h.number, h.risk_colour, u.number AS unit, r.number AS room, hp.name AS head_name, hp.phone, "
        "(SELECT COUNT(*) FROM person AS p WHERE p.household_id = h.id AND p.deleted = 0 AND p.status = '在册') AS size, "
        + ", ".join(
            f"(SELECT MAX(p.{c}) FROM person AS p WHERE p.household_id = h.id AND p.deleted = 0 AND p.status = '在册') AS {c}"
            for c in SPECIAL_GROUPS
        )
        + " FROM household AS h JOIN room AS r ON r.id = h.room_id JOIN unit AS u ON u.id = r.unit_id "
        "LEFT JOIN person AS hp ON hp.id = h.head_person_id "
        "WHERE u.building_id = ? AND h.deleted = 0 AND h.status = '在住' "
        "ORDER BY u.number, CAST(r.number AS INTEGER), r.number, h.number",
        (b["id"],),
    )
    households = []
    for r in rows:
        next_due = due.get(r["id"], "")
        households.append(
            {
                "unit": r["unit"],
                "room": r["room"],
                "number": r["number"],
                "head_name": r["head_name"] or "",
                "phone": r["phone"] or "",
                "size": r["size"],
                "risk": RISK_NAMES.get(r["risk_colour"], ""),
                "risk_key": r["risk_colour"],
                "special": "、".join(label for c, label in SPECIAL_GROUPS.items() if r[c]),
                "next_due": next_due[5:] if next_due[:4] == str(today.year) else next_due,
                "overdue": bool(next_due) and next_due < today.isoformat(),
            }
        )
    counts = {k: sum(1 for h in households if h["risk_key"] == k) for k in RISK_NAMES}
    return {
        "building": b["name"],
        "sign": _sign(b["sign"]),
        "head_name": head["name"] if head else "（未设楼栋长）",
        "head_phone": (head["phone"] or "") if head else "",
        "households": households,
        "count": len(households),
        "red": counts["red"],
        "yellow": counts["yellow"],
        "green": counts["green"],
    }


def visit_form(db: Database, household_id: str | None, today: dt.date) -> dict[str, Any]:
    kinds = [{"name": k} for k in VISIT_KINDS]
    if household_id is None:
        return {"blank": True, "prefilled": False, "kinds": kinds, "members": [], "blank_rows": [{}] * 6}
    data = _household_base(db, household_id)
    visits = _last_visits(db, household_id, 1)
    data.update(
        {
            "blank": False,
            "prefilled": True,
            "kinds": kinds,
            "last_visit": visits[0] if visits else None,
            "special": "、".join(sorted({m["special"] for m in data["members"] if m["special"]})),
            "blank_rows": [],
        }
    )
    return data


def _party_rows(db: Database, case_id: str) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT mp.role, mp.outsider_name, mp.outsider_phone, p.name, p.sex, p.id_number, p.phone, p.household_id "
        "FROM mediation_party AS mp LEFT JOIN person AS p ON p.id = mp.person_id "
        "WHERE mp.case_id = ? AND mp.deleted = 0 ORDER BY mp.role, p.name, mp.outsider_name",
        (case_id,),
    )
    out = []
    for i, r in enumerate(rows, 1):
        address = household_place(db, r["household_id"])["text"] if r["household_id"] else ""
        out.append(
            {
                "no": i,
                "label": f"当事人{_CN_NUMBERS[i] if i < len(_CN_NUMBERS) else i}",
                "role": r["role"] or "",
                "name": r["name"] or r["outsider_name"] or "",
                "sex": r["sex"] or "",
                "id_number": mask(r["id_number"]),
                "phone": r["phone"] or r["outsider_phone"] or "",
                "address": address or ("非本社区人员" if r["outsider_name"] else ""),
            }
        )
    return out


_CN_NUMBERS = "〇一二三四五六七八九十"


def mediation_agreement(db: Database, case_id: str | None, today: dt.date) -> dict[str, Any]:
    c = db.one("SELECT * FROM mediation_case WHERE id = ? AND deleted = 0", (_required(case_id),))
    if c is None:
        raise NotFoundError("找不到该调解案件（可能已删除）。")
    from app.models.mediation.mediation import agreement

    # The mediation module decides which cases may have an agreement (settled, with terms).
    got = agreement(db, c["id"])
    text = str(got.get("terms") or "")
    agreement_date = got.get("agreement_date") or ""
    terms = agreement_terms(text)
    building = db.one("SELECT name FROM building WHERE id = ?", (c["building_id"],)) if c["building_id"] else None
    parties = _party_rows(db, c["id"])
    return {
        "number": c["number"],
        "title": c["title"],
        "category": c["category"] or "",
        "received_date": chinese_date(c["received_date"]),
        "facts": c["description"] or c["title"],
        "building": building["name"] if building else "",
        "level": c["level"],
        "mediators": c["mediators"] or "",
        "parties": parties,
        "terms": terms,
        "agreement_date": chinese_date(agreement_date) or "      年    月    日",
        "signature_rows": [{"label": p["label"], "name": p["name"]} for p in parties]
        or [{"label": "当事人一", "name": ""}, {"label": "当事人二", "name": ""}],
    }


# "1、" "（二）" "3." "一、" at the start of a line: the clerk numbered the terms.
_TERM_NUMBER = re.compile(r"^\s*[（(]?\s*(\d+|[一二三四五六七八九十]+)\s*[、.．）)]\s*")
_CHINESE_NUMERALS = "一二三四五六七八九十"


def agreement_terms(text: str) -> list[dict[str, str]]:
    """The terms as the clerk wrote them, one per line. Several lines nobody numbered get 一、二、三、
    (as agreements are written); a numbering the clerk chose, or one paragraph, is kept exactly."""
    lines = [t.strip() for t in re.split(r"\n+", text) if t.strip()]
    if len(lines) < 2 or any(_TERM_NUMBER.match(t) for t in lines):
        return [{"no": "", "text": t} for t in lines]  # one paragraph, or numbered by the clerk
    return [{"no": _chinese_ordinal(i) + "、", "text": t} for i, t in enumerate(lines, 1)]


def _chinese_ordinal(n: int) -> str:
    if n <= 10:
        return _CHINESE_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (_CHINESE_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (_CHINESE_NUMERALS[ones - 1] if ones else "")


def monthly_disputes(db: Database, month: str | None, today: dt.date) -> dict[str, Any]:
    """The month's figures as the mediation module defines them, and the list of its cases."""
    from app.models.mediation.mediation_report import monthly_report, percent

    month = check_month(_required(month))
    report = monthly_report(db, month, today=today)
    first, last = report["first_day"], report["last_day"]
    rows = db.query(
        "SELECT c.*, b.name AS building FROM mediation_case AS c LEFT JOIN building AS b ON b.id = c.building_id "
        "WHERE c.deleted = 0 AND c.received_date BETWEEN ? AND ? ORDER BY c.received_date, c.number",
        (first, last),
    )
    cases = [_case_row(db, i, r) for i, r in enumerate(rows, 1)]
    earlier = [
        {**c, "no": i, "building": c.get("building") or "", "mediators": c.get("mediators") or ""}
        for i, c in enumerate((c for c in report["open_cases"] if c["received_date"] < first), 1)
    ]

    def table(counts: dict[str, int]) -> list[dict[str, Any]]:
        return [{"name": k, "count": v} for k, v in counts.items()]

    year, mon = month.split("-")
    return {
        "month": month,
        "month_text": f"{int(year)}年{int(mon)}月",
        "received": report["received"],
        "settled": report["settled"],
        "failed": report["failed"],
        "referred": report["referred"],
        "in_progress": report["in_progress"],
        "escalated": report["escalated"],
        "settlement_rate": percent(report["settlement_rate"]),
        "followup_rate": percent(report["followup_rate"]),
        "concluded": sum(report["concluded_in_month"].values()),
        "followups_in_month": report["followups_in_month"],
        "by_category": table(report["by_category"]),
        "by_level": table(report["by_level"]),
        "by_source": table(report["by_source"]),
        "cases": cases,
        "count": len(cases),
        "earlier": earlier,
        "earlier_count": len(earlier),
    }


def _case_row(db: Database, no: int, r: Any) -> dict[str, Any]:
    return {
        "no": no,
        "number": r["number"],
        "received_date": r["received_date"],
        "category": r["category"] or "",
        "title": r["title"],
        "parties": "、".join(p["name"] for p in _party_rows(db, r["id"]) if p["name"]),
        "building": r["building"] or "",
        "level": r["level"],
        "source": r["source"] or "",
        "mediators": r["mediators"] or "",
        "status": r["status"],
        "outcome": _row_get(r, "outcome") or "",
        "closed_date": r["closed_date"] or "",
    }


def training_attendance(db: Database, session_id: str | None, today: dt.date) -> dict[str, Any]:
    """The sign-in sheet of one session: the session's date, time, hours, topic and place, and a
    row with a signature box for everyone on the course (present or not: they sign on the day)."""
    s = db.one("SELECT s.*, c.id AS cid FROM training_session s JOIN training_course c ON c.id = s.course_id "
               "WHERE s.id = ? AND s.deleted = 0 AND c.deleted = 0", (_required(session_id),))
    if s is None:
        raise NotFoundError("找不到这次课（可能已删除）。")
    c = db.get("training_course", s["cid"])
    order = course_sessions(db, c["id"])
    rows = db.query(
        "SELECT p.name, p.sex, p.id_number, p.phone, p.household_id "
        "FROM training_attendance AS a JOIN person AS p ON p.id = a.person_id "
        "WHERE a.course_id = ? AND a.deleted = 0 AND p.deleted = 0 ORDER BY p.name_pinyin, p.name",
        (c["id"],),
    )
    people = []
    for i, r in enumerate(rows, 1):
        people.append(
            {
                "no": i,
                "name": r["name"],
                "sex": r["sex"] or "",
                "id_number": mask(r["id_number"]),
                "phone": r["phone"] or "",
                # One community per sheet: the short form keeps the row on one line.
                "address": household_place(db, r["household_id"])["short"] if r["household_id"] else "",
            }
        )
    when = chinese_date(s["session_date"])
    if s["end_date"]:
        when += f" 至 {chinese_date(s['end_date'])}"
    if s["start_time"]:
        when += f" {s['start_time']}"
    return {
        **_course(c),
        "session": f"第 {order.index(s['id']) + 1} 次（共 {len(order)} 次）" if s["id"] in order else "",
        "session_date": when,
        "session_hours": f"{s['hours']:g}" if s["hours"] else "",
        "topic": s["topic"] or "",
        "place": s["place"] or "",
        "people": people,
        "count": len(people),
    }


def _course(c: Any) -> dict[str, Any]:
    dates = chinese_date(c["start_date"])
    if c["end_date"] and c["end_date"] != c["start_date"]:
        dates += f" 至 {chinese_date(c['end_date'])}"
    return {
        "course": c["name"],
        "kind": c["kind"],
        "provider": c["provider"] or "",
        "dates": dates,
        "hours": f"{c['hours']:g}" if c["hours"] else "",
        "with_certificate": bool(c["with_certificate"]),
        "certificate_name": c["certificate_name"] or "",
    }


def training_certificate(db: Database, attendance_id: str | None, today: dt.date) -> dict[str, Any]:
    a = db.one("SELECT * FROM training_attendance WHERE id = ? AND deleted = 0", (_required(attendance_id),))
    if a is None:
        raise NotFoundError("找不到该培训记录（可能已删除）。")
    c = db.get("training_course", a["course_id"])
    p = db.get("person", a["person_id"])
    return {
        **_course(c),
        "name": p["name"],
        "sex": p["sex"] or "",
        "id_number": mask(p["id_number"]),
        "certificate_obtained": bool(a["certificate_obtained"]),
    }


def _row_get(row: Any, key: str) -> Any:
    return row[key] if key in row.keys() else None


def _required(record_id: str | None) -> str:
    if not record_id:
        raise ValidationError("没有指定要打印的记录。")
    return record_id


_GATHERERS: dict[str, Callable[[Database, str | None, dt.date], dict[str, Any]]] = {
    "household-card": household_card,
    "residence-certificate": residence_certificate,
    "round-sheet": round_sheet,
    "visit-form": visit_form,
    "mediation-agreement": mediation_agreement,
    "monthly-disputes": monthly_disputes,
    "training-attendance": training_attendance,
    "training-certificate": training_certificate,
}


def record_label(db: Database, form: str, record_id: str | None) -> str:
    """A short Chinese name of the record, for dialogs and progress text."""
    if record_id is None:
        return "空白表"
    table = {
        "household-card": "household",
        "visit-form": "household",
        "residence-certificate": "person",
        "round-sheet": "building",
        "mediation-agreement": "mediation_case",
        "training-attendance": "training_session",
        "training-certificate": "training_attendance",
    }.get(form)
    if table == "household":
        row = db.one(
            "SELECT h.number, p.name FROM household AS h LEFT JOIN person AS p ON p.id = h.head_person_id WHERE h.id = ?",
            (record_id,),
        )
        return f"{row['number']} {row['name'] or ''}".strip() if row else record_id
    if table in ("person", "building", "training_course"):
        return str(db.scalar(f"SELECT name FROM {table} WHERE id = ?", (record_id,)) or record_id)
    if table == "mediation_case":
        return str(db.scalar("SELECT number FROM mediation_case WHERE id = ?", (record_id,)) or record_id)
    if table == "training_session":
        row = db.one("SELECT c.name, s.session_date, s.course_id FROM training_session AS s "
                     "JOIN training_course AS c ON c.id = s.course_id WHERE s.id = ?", (record_id,))
        if row is None:
            return record_id
        ids = course_sessions(db, row["course_id"])
        number = f"第{ids.index(record_id) + 1}次" if record_id in ids else ""
        return f"{row['name']} {number} {row['session_date']}".replace("  ", " ")
    if table == "training_attendance":
        return str(
            db.scalar("SELECT p.name FROM training_attendance AS a JOIN person AS p ON p.id = a.person_id WHERE a.id = ?", (record_id,))
            or record_id
        )
    return record_id

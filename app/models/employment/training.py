"""Training courses (培训) and attendance: a course with its participants is entered in one go."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models.core import settings
from app.models.core.db import Database, Tx
from app.models.core.errors import NotFoundError, ValidationError
from app.models.employment import intentions, labour
from app.models.employment.employment import parse_date

KINDS = ("岗前", "技能提升", "创业")


def parse_hours(text: Any) -> float | None:
    """Class hours as typed ("40", "12.5") → number; empty → None."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    raw = str(text).strip().removesuffix("学时").removesuffix("小时").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"学时“{text}”不是数字，请填写如 40 或 12.5。", field="hours") from None
    if value <= 0 or value > 2000:
        raise ValidationError(f"学时“{text}”不合理，应大于 0 且不超过 2000。", field="hours")
    return float(value)


def validate_course(values: Mapping[str, Any]) -> dict[str, Any]:
    name = (values.get("name") or "").strip()
    if not name:
        raise ValidationError("请填写培训名称。", field="name")
    kind = (values.get("kind") or "").strip()
    if kind not in KINDS:
        raise ValidationError(f"培训类别应为：{'、'.join(KINDS)}。", field="kind")
    start = parse_date(values.get("start_date"), "开班日期", field="start_date", required=True)
    end = parse_date(values.get("end_date"), "结业日期", field="end_date")
    assert start is not None
    if end is not None and end < start:
        raise ValidationError(f"结业日期（{end}）早于开班日期（{start}），请核对。", field="end_date")
    with_cert = int(bool(values.get("with_certificate")))
    cert_name = (values.get("certificate_name") or "").strip() or None
    if with_cert and not cert_name:
        raise ValidationError("有证书的培训请填写证书名称（如 焊工职业技能等级证书）。", field="certificate_name")
    return {
        "name": name, "kind": kind, "provider": (values.get("provider") or "").strip() or None,
        "start_date": start, "end_date": end, "hours": parse_hours(values.get("hours")),
        "with_certificate": with_cert, "certificate_name": cert_name if with_cert else None,
        "notes": (values.get("notes") or "").strip() or None,
    }


def check_participants(db: Database, course_start: str, person_ids: Iterable[str]) -> list[str]:
    """Ids in order without repeats; raises listing everyone who cannot attend (nothing is saved)."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return ids
    problems = []
    found: dict[str, Any] = {}
    # Vocational training is for the working-age: a child picked with a whole stairwell is refused.
    age_min = int(settings.get(db, "working_age_min"))
    start = dt.date.fromisoformat(course_start[:10]) if course_start else dt.date.today()
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in db.query(f"SELECT id, name, status, status_date, deleted, birth_date FROM person WHERE id IN ({marks})",
                          chunk):
            found[r["id"]] = r
    for pid in ids:
        r = found.get(pid)
        if r is None or r["deleted"]:
            problems.append("有一位所选居民已被删除")
            continue
        if r["status"] != "在册":
            gone = r["status_date"]
            if not gone:
                problems.append(f"{r['name']}（已{r['status']}，无日期）")
            elif gone < course_start:
                problems.append(f"{r['name']}（{gone} 已{r['status']}，早于开班日期）")
                continue
        age = labour.age_on(r["birth_date"], start)
        if age is not None and age < age_min:
            problems.append(f"{r['name']}（开班时 {age} 周岁，未满 {age_min} 周岁）")
    if problems:
        raise ValidationError(
            "以下人员不能登记参训，本次培训未保存：\n" + "\n".join("· " + p for p in problems), field="people"
        )
    return ids


def save_course(
    db: Database,
    values: Mapping[str, Any],
    person_ids: Iterable[str] = (),
    *,
    course_id: str | None = None,
    close_intentions: bool = True,
) -> str:
    """Add (or change) a course and add its participants, all in one transaction; returns the course id.

    People already on the course are kept once. With `close_intentions`, each participant's open
    培训 intentions are closed as met by this attendance.
    """
    row = validate_course(values)
    ids = check_participants(db, row["start_date"], person_ids)
    with db.write() as tx:
        if course_id is None:
            course_id = tx.insert("training_course", row, summary=f"新增培训：{row['name']}（{len(ids)} 人）")
        else:
            if db.one("SELECT 1 FROM training_course WHERE id = ? AND deleted = 0", (course_id,)) is None:
                raise NotFoundError("这期培训已不存在（可能已被删除）。")
            tx.update("training_course", course_id, row, summary=f"修改培训：{row['name']}")
        _add_people(tx, course_id, row["start_date"], ids, close_intentions)
    return course_id


def add_attendance(db: Database, course_id: str, person_ids: Iterable[str], *, close_intentions: bool = True) -> int:
    """Add participants to an existing course; returns how many were new."""
    course = db.one("SELECT * FROM training_course WHERE id = ? AND deleted = 0", (course_id,))
    if course is None:
        raise NotFoundError("这期培训已不存在（可能已被删除）。")
    ids = check_participants(db, course["start_date"], person_ids)
    with db.write() as tx:
        return _add_people(tx, course_id, course["start_date"], ids, close_intentions)


def _add_people(tx: Tx, course_id: str, start: str, ids: list[str], close_intentions: bool) -> int:
    have = {r[0] for r in tx.conn.execute(
        "SELECT person_id FROM training_attendance WHERE course_id = ? AND deleted = 0", (course_id,))}
    course_name = tx.conn.execute("SELECT name FROM training_course WHERE id = ?", (course_id,)).fetchone()[0]
    added = 0
    for pid in ids:
        if pid in have:
            continue
        att = tx.insert("training_attendance", {"course_id": course_id, "person_id": pid},
                        summary=f"参训：{course_name}")
        added += 1
        if close_intentions:
            for it in tx.conn.execute(
                "SELECT id FROM intention WHERE person_id = ? AND kind = '培训' AND deleted = 0 "
                "AND (closed_date IS NULL OR closed_date = '')", (pid,)
            ).fetchall():
                intentions.close_in(tx, it[0], start, met_attendance_id=att)
    return added


def remove_attendance(db: Database, attendance_id: str) -> None:
    """Take a person off a course (entered by mistake); an intention it had met opens again."""
    row = db.one("SELECT a.id, p.name, c.name AS course FROM training_attendance a JOIN person p ON p.id = a.person_id "
                 "JOIN training_course c ON c.id = a.course_id WHERE a.id = ? AND a.deleted = 0", (attendance_id,))
    if row is None:
        raise NotFoundError("这条参训记录已不存在。")
    with db.write() as tx:
        tx.delete("training_attendance", attendance_id, summary=f"移出培训：{row['name']}（{row['course']}）")
        for r in tx.conn.execute("SELECT id FROM intention WHERE met_attendance_id = ? AND deleted = 0",
                                 (attendance_id,)).fetchall():
            tx.update("intention", r[0], {"met_attendance_id": None, "closed_date": None},
                      summary="需求重新打开（参训记录已删除）")


def set_certificate(db: Database, attendance_ids: Iterable[str], obtained: bool) -> None:
    with db.write() as tx:
        for aid in attendance_ids:
            tx.update("training_attendance", aid, {"certificate_obtained": int(obtained)},
                      summary="已取得证书" if obtained else "取消已取得证书")


def delete_course(db: Database, course_id: str) -> int:
    """Tombstone a course and its attendance; returns how many attendances went with it."""
    course = db.one("SELECT name FROM training_course WHERE id = ? AND deleted = 0", (course_id,))
    if course is None:
        raise NotFoundError("这期培训已不存在（可能已被删除）。")
    with db.write() as tx:
        rows = tx.conn.execute("SELECT id FROM training_attendance WHERE course_id = ? AND deleted = 0",
                               (course_id,)).fetchall()
        for r in rows:
            tx.delete("training_attendance", r[0], summary=f"随培训删除：{course['name']}")
            for it in tx.conn.execute("SELECT id FROM intention WHERE met_attendance_id = ? AND deleted = 0",
                                      (r[0],)).fetchall():
                tx.update("intention", it[0], {"met_attendance_id": None, "closed_date": None},
                          summary="需求重新打开（培训已删除）")
        tx.delete("training_course", course_id, summary=f"删除培训：{course['name']}")
    return len(rows)


def participants(db: Database, course_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in db.query(
        "SELECT a.id AS attendance_id, a.certificate_obtained, p.id AS person_id, p.name, p.id_number "
        "FROM training_attendance a JOIN person p ON p.id = a.person_id "
        "WHERE a.course_id = ? AND a.deleted = 0 ORDER BY p.name_pinyin, p.name", (course_id,))]


COURSES_FROM = "training_course c"


def courses_columns() -> list[tuple[str, str, str]]:
    return [
        ("name", "培训名称", "c.name"),
        ("kind", "类别", "c.kind"),
        ("provider", "承办单位", "c.provider"),
        ("start_date", "开班日期", "c.start_date"),
        ("end_date", "结业日期", "c.end_date"),
        ("hours", "学时", "CASE WHEN c.hours IS NULL THEN '' WHEN c.hours = CAST(c.hours AS INTEGER) "
                          "THEN CAST(CAST(c.hours AS INTEGER) AS TEXT) ELSE CAST(c.hours AS TEXT) END"),
        ("certificate", "证书", "CASE WHEN c.with_certificate = 1 THEN coalesce(c.certificate_name, '有') ELSE '无证书' END"),
        ("people", "参训人数", "(SELECT count(*) FROM training_attendance a JOIN person p ON p.id = a.person_id "
                           "WHERE a.course_id = c.id AND a.deleted = 0 AND p.deleted = 0)"),
    ]


ATTENDANCE_FROM = labour.ATTENDANCE_FROM


def attendance_columns() -> list[tuple[str, str, str]]:
    return [
        ("name", "姓名", "p.name"),
        ("id_number", "身份证号", "p.id_number"),
        ("address", "住址", labour.ADDRESS_SQL),
        ("phone", "电话", "p.phone"),
        ("obtained", "已取得证书", "CASE WHEN a.certificate_obtained = 1 THEN '是' ELSE '' END"),
    ]


def match_names(db: Database, text: str) -> tuple[list[str], list[str]]:
    """A pasted sign-in list (one name or ID number per line, optionally with a room) → person ids.

    Returns (ids found exactly once, lines that matched nobody or several people — with why).
    """
    found: list[str] = []
    problems: list[str] = []
    for raw in re.split(r"[\n\r;；,，、\t]+", text or ""):
        line = raw.strip()
        if not line:
            continue
        words = line.split()
        sql = ("SELECT p.id, p.name FROM person p JOIN household h ON h.id = p.household_id "
               "LEFT JOIN room r ON r.id = h.room_id WHERE p.deleted = 0 AND p.status = '在册' AND h.deleted = 0 ")
        params: list[Any] = []
        first = words[0].upper()
        if re.match(r"^\d{17}[\dX]$", first) or re.match(r"^\d{15}$", first):
            sql += "AND p.id_number = ?"
            params.append(first)
        else:
            sql += "AND p.name = ?"
            params.append(words[0])
            if len(words) > 1 and words[1].isdigit():
                sql += " AND r.number = ?"
                params.append(words[1])
        rows = db.query(sql + " LIMIT 5", params)
        if len(rows) == 1:
            found.append(rows[0]["id"])
        elif not rows:
            problems.append(f"{line}：找不到（在册居民中没有此人）")
        else:
            problems.append(f"{line}：有 {len(rows)} 位同名居民，请在后面加房号（如“{words[0]} 501”）或用身份证号")
    return list(dict.fromkeys(found)), problems

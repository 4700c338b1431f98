"""Training courses (培训): a course, its participants, its sessions (课次) and who was at each session.

What counts as trained, person-times and hours is defined once, in :mod:`app.models.employment.labour`
(``PRESENT_FROM``); this module writes the rows those definitions read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models.core import field_rules, settings, vocab
from app.models.core.db import Database, Tx
from app.models.core.errors import NeedsConfirmation, NotFoundError, ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.core.list_query import NOTHING, Condition, ListQuery
from app.models.core.vocab import PersonStatus
from app.models.employment import intentions, labour
from app.models.employment.intention_state import open_sql
from app.models.migrations.m0020_training_sessions import presence_id, whole_course_session_id

KINDS = vocab.TRAINING_KINDS


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
    start = entered_iso_date(values.get("start_date"), "开班日期", field="start_date", required=True)
    end = entered_iso_date(values.get("end_date"), "结业日期", field="end_date")
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
        for row in db.query(f"SELECT id, name, status, status_date, deleted, birth_date FROM person WHERE id IN ({marks})",
                            chunk):
            found[row["id"]] = row
    for pid in ids:
        r = found.get(pid)
        if r is None or r["deleted"]:
            problems.append("有一位所选居民已被删除")
            continue
        if r["status"] != PersonStatus.REGISTERED:
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
        _keep_whole_course_session(tx, course_id, row)
        _add_people(tx, course_id, row["start_date"], ids, close_intentions)
    return course_id


def _keep_whole_course_session(tx: Tx, course_id: str, row: Mapping[str, Any]) -> None:
    """A course entered as a whole (no sessions of its own: an import, the command line) is one
    session spanning its dates with its hours, kept in step with the course's dates and hours."""
    live = tx.conn.execute("SELECT id FROM training_session WHERE course_id = ? AND deleted = 0",
                           (course_id,)).fetchall()
    whole = whole_course_session_id(course_id)
    end = row["end_date"] if row["end_date"] and row["end_date"] > row["start_date"] else None
    values = {"session_date": row["start_date"], "end_date": end, "hours": row["hours"]}
    if not live:
        if tx.conn.execute("SELECT 1 FROM training_session WHERE id = ?", (whole,)).fetchone() is None:
            tx.insert("training_session", {"id": whole, "course_id": course_id, **values},
                      summary=f"课次（整期）：{row['start_date']}")
        else:
            tx.update("training_session", whole, {**values, "deleted": 0}, summary="课次（整期）恢复")
    elif len(live) == 1 and live[0][0] == whole:
        tx.update("training_session", whole, values, summary="课次（整期）随培训日期、学时修改")


def add_attendance(db: Database, course_id: str, person_ids: Iterable[str], *, close_intentions: bool = True) -> int:
    """Add participants to an existing course; returns how many were new."""
    course = db.one("SELECT * FROM training_course WHERE id = ? AND deleted = 0", (course_id,))
    if course is None:
        raise NotFoundError("这期培训已不存在（可能已被删除）。")
    ids = check_participants(db, course["start_date"], person_ids)
    with db.write() as tx:
        return _add_people(tx, course_id, course["start_date"], ids, close_intentions)


def _add_people(tx: Tx, course_id: str, start: str, ids: list[str], close_intentions: bool,
                present_at: Iterable[str] | None = None) -> int:
    """Add the people not yet on the course; each is present at the sessions of `present_at`
    (default: every live session of the course: an added participant took part in the course)."""
    have = {r[0] for r in tx.conn.execute(
        "SELECT person_id FROM training_attendance WHERE course_id = ? AND deleted = 0", (course_id,))}
    course_name = tx.conn.execute("SELECT name FROM training_course WHERE id = ?", (course_id,)).fetchone()[0]
    if present_at is None:
        present_at = [r[0] for r in tx.conn.execute(
            "SELECT id FROM training_session WHERE course_id = ? AND deleted = 0", (course_id,))]
    sessions = list(present_at)
    added = 0
    for pid in ids:
        if pid in have:
            continue
        att = tx.insert("training_attendance", {"course_id": course_id, "person_id": pid},
                        summary=f"参训：{course_name}")
        for sid in sessions:
            set_presence(tx, sid, att, True)
        added += 1
        if close_intentions:
            for it in tx.conn.execute(
                f"SELECT id FROM intention WHERE person_id = ? AND kind = '培训' AND deleted = 0 AND {open_sql('')}",
                (pid,)
            ).fetchall():
                intentions.close_in(tx, it[0], start, met_attendance_id=att)
    return added


def remove_attendances(db: Database, attendance_ids: Iterable[str]) -> None:
    """Take the chosen people off a course, all or none."""
    with db.write():
        for aid in attendance_ids:
            remove_attendance(db, aid)


def remove_attendance(db: Database, attendance_id: str) -> None:
    """Take a person off a course (entered by mistake); an intention it had met opens again."""
    with db.write() as tx:
        row = db.one("SELECT a.id, p.name, c.name AS course FROM training_attendance a "
                     "JOIN person p ON p.id = a.person_id JOIN training_course c ON c.id = a.course_id "
                     "WHERE a.id = ? AND a.deleted = 0", (attendance_id,))
        if row is None:
            raise NotFoundError("这条参训记录已不存在。")
        _remove_attendance(tx, attendance_id, row["name"], row["course"])


def _remove_attendance(tx: Tx, attendance_id: str, name: str, course: str) -> None:
    tx.delete("training_attendance", attendance_id, summary=f"移出培训：{name}（{course}）")
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


# -- sessions (课次) and who was at each ------------------------------------------------------------
MAX_SESSION_HOURS_PER_DAY = 24
TOPIC_LIMIT = field_rules.TRAINING_TOPIC_LIMIT
PLACE_LIMIT = field_rules.TRAINING_PLACE_LIMIT
_TIME = re.compile(r"^(\d{1,2})(?:[:：点时.](\d{1,2})?分?)?$")


@dataclass
class SessionInput:
    """One session as the clerk entered it; `present`: person ids ticked (None: everyone on the course)."""

    session_date: Any
    hours: Any
    id: str | None = None
    end_date: Any = None
    start_time: Any = None
    topic: Any = None
    place: Any = None
    present: set[str] | None = field(default=None)


def parse_time(text: Any, what: str, field_name: str = "start_time") -> str | None:
    """"9:00", "09:00", "9点", "14点30" → "HH:MM"; empty → None."""
    raw = str(text or "").strip()
    if not raw:
        return None
    m = _TIME.match(raw)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise ValidationError(f"{what}“{raw}”不是时间，请写成如 9:00 或 14:30。", field=field_name)


def validate_session(s: SessionInput, n: int, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The row of session number `n` (1-based, for messages); `stored` is its saved row when it has one.

    Hours must be over 0 and at most 24 a day. A session made on upgrade from a course without hours
    keeps its empty hours as long as nobody changes that session.
    """
    what = f"第 {n} 次课"
    day = entered_iso_date(s.session_date, f"{what}的日期", field="sessions", required=True)
    assert day is not None
    end = entered_iso_date(s.end_date, f"{what}的结束日期", field="sessions")
    if end is not None and end < day:
        raise ValidationError(f"{what}的结束日期（{end}）早于上课日期（{day}），请核对。", field="sessions")
    if end == day:
        end = None
    days = 1 if end is None else (dt.date.fromisoformat(end) - dt.date.fromisoformat(day)).days + 1
    row: dict[str, Any] = {
        "session_date": day, "end_date": end, "start_time": parse_time(s.start_time, f"{what}的开始时间", "sessions"),
        "topic": (str(s.topic or "")).strip() or None, "place": (str(s.place or "")).strip() or None,
    }
    raw_hours = s.hours
    unchanged = stored is not None and all(stored[k] == v for k, v in row.items())
    if (raw_hours is None or str(raw_hours).strip() == "") and unchanged and stored is not None \
            and stored["hours"] is None:
        row["hours"] = None
    else:
        if raw_hours is None or str(raw_hours).strip() == "":
            raise ValidationError(f"请填写{what}（{day}）的学时。", field="sessions")
        raw = str(raw_hours).strip().removesuffix("学时").removesuffix("小时").strip()
        try:
            hours = Decimal(raw)
        except InvalidOperation:
            raise ValidationError(f"{what}的学时“{raw_hours}”不是数字，请填写如 4 或 3.5。", field="sessions") from None
        top = MAX_SESSION_HOURS_PER_DAY * days
        if hours <= 0 or hours > top:
            span = "一天" if days == 1 else f"{days} 天"
            raise ValidationError(f"{what}的学时“{raw_hours}”不合理：应大于 0，{span}最多 {top} 学时。",
                                  field="sessions")
        row["hours"] = float(hours)
    for key, limit, label in (("topic", TOPIC_LIMIT, "内容"), ("place", PLACE_LIMIT, "地点")):
        if row[key] and len(row[key]) > limit:
            raise ValidationError(f"{what}的{label}太长：最多 {limit} 个字。", field="sessions")
    return row


def course_period(start: str, end: str | None, rows: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """The course's dates widened to hold every session (a session outside them moves them, it is
    never refused: clerks add the sessions as they are held, after the planned dates were typed)."""
    if not rows:
        return start, end
    first = min(r["session_date"] for r in rows)
    last = max(r["end_date"] or r["session_date"] for r in rows)
    new_start = min(start, first)
    if end:
        new_end: str | None = max(end, last)
    else:
        new_end = last if last > new_start else None
    return new_start, new_end


def _clashes(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Sessions on the same date at the same time (no time given counts as the same time)."""
    seen: dict[tuple[str, str | None], int] = {}
    found = []
    for i, r in enumerate(rows, 1):
        key = (r["session_date"], r["start_time"])
        if key in seen:
            when = r["start_time"] or "未填时间"
            found.append(f"第 {seen[key]} 次课和第 {i} 次课都在 {r['session_date']}（{when}）")
        else:
            seen[key] = i
    return found


def sessions(db: Database, course_id: str) -> list[dict[str, Any]]:
    """The course's live sessions in the order they were held."""
    return [dict(r) for r in db.query(
        "SELECT id, session_date, end_date, start_time, hours, topic, place FROM training_session "
        "WHERE course_id = ? AND deleted = 0 ORDER BY session_date, coalesce(start_time, ''), id", (course_id,))]


def presence(db: Database, course_id: str) -> dict[str, set[str]]:
    """Session id → ids of the people present (live participants only)."""
    out: dict[str, set[str]] = {s["id"]: set() for s in sessions(db, course_id)}
    for sid, pid in db.query(
        "SELECT x.session_id, a.person_id FROM training_presence x "
        "JOIN training_attendance a ON a.id = x.attendance_id JOIN training_session s ON s.id = x.session_id "
        "WHERE s.course_id = ? AND a.course_id = s.course_id AND x.present = 1 AND x.deleted = 0 "
        "AND a.deleted = 0 AND s.deleted = 0", (course_id,)):
        out.setdefault(sid, set()).add(pid)
    return out


def set_presence(tx: Tx, session_id: str, attendance_id: str, present: bool) -> None:
    """Tick or untick one box; the row's id comes from the pair, so two PCs ticking it make one row."""
    pid = presence_id(session_id, attendance_id)
    old = tx.conn.execute("SELECT present, deleted FROM training_presence WHERE id = ?", (pid,)).fetchone()
    if old is None:
        if present:
            tx.insert("training_presence", {"id": pid, "session_id": session_id, "attendance_id": attendance_id,
                                            "present": 1}, summary="出勤")
    elif bool(old[0]) != present or old[1]:
        tx.update("training_presence", pid, {"present": int(present), "deleted": 0},
                  summary="出勤" if present else "缺勤")


def ensure_sessions(tx: Tx, course_ids: Iterable[str] | None = None) -> int:
    """Give each live course that has never had a session (rows written without any: another PC's
    older program, a builder) its whole-course session with every live participant present, exactly
    as the upgrade does (same ids). Returns how many courses got one."""
    sql = ("SELECT id, name, kind, provider, start_date, end_date, hours, with_certificate, certificate_name, notes "
           "FROM training_course c WHERE deleted = 0 "
           "AND NOT EXISTS (SELECT 1 FROM training_session s WHERE s.course_id = c.id)")
    params: list[Any] = []
    if course_ids is not None:
        wanted = list(course_ids)
        if not wanted:
            return 0
        sql += f" AND id IN ({', '.join('?' for _ in wanted)})"
        params = wanted
    done = 0
    for course in tx.conn.execute(sql, params).fetchall():
        if not course["start_date"]:
            continue
        _keep_whole_course_session(tx, course["id"], dict(course))
        sid = whole_course_session_id(course["id"])
        for (att_id,) in tx.conn.execute(
                "SELECT id FROM training_attendance WHERE course_id = ? AND deleted = 0", (course["id"],)).fetchall():
            set_presence(tx, sid, att_id, True)
        done += 1
    return done


def follow_course(tx: Tx, course_id: str) -> None:
    """After a course's dates or hours changed elsewhere (an import): a course held as one
    whole-course session keeps that session in step; one with sessions of its own keeps them."""
    row = tx.conn.execute("SELECT start_date, end_date, hours FROM training_course WHERE id = ?",
                          (course_id,)).fetchone()
    if row is not None and row["start_date"]:
        _keep_whole_course_session(tx, course_id, dict(row))


def present_at_all_sessions(tx: Tx, attendance_id: str, course_id: str) -> None:
    """A participant added without per-session detail (an imported ledger row) attended every session."""
    for (sid,) in tx.conn.execute("SELECT id FROM training_session WHERE course_id = ? AND deleted = 0",
                                  (course_id,)).fetchall():
        set_presence(tx, sid, attendance_id, True)


def save_course_sessions(
    db: Database,
    values: Mapping[str, Any],
    person_ids: Iterable[str],
    session_inputs: list[SessionInput],
    *,
    course_id: str | None = None,
    close_intentions: bool = True,
    confirmed: bool = False,
) -> str:
    """The course dialog's save: the course, exactly these participants, these sessions (in this
    order) and who was present at each, in one transaction; returns the course id.

    People no longer listed leave the course (an intention they had met opens again); a participant
    absent from every session stays on the course. The course's dates widen to hold its sessions and
    its hours become the sum of theirs. Two sessions on one date at one time raise NeedsConfirmation
    unless ``confirmed``.
    """
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise ValidationError("还没有选择参训人员。请在“参训人员”中查找并加入。", field="people")
    if not session_inputs:
        raise ValidationError("请至少添加一次课（上课日期和学时）。", field="sessions")
    row = validate_course(values)
    with db.write() as tx:
        stored: dict[str, Any] = {}
        if course_id is not None:
            if db.one("SELECT 1 FROM training_course WHERE id = ? AND deleted = 0", (course_id,)) is None:
                raise NotFoundError("这期培训已不存在（可能已被删除）。")
            stored = {r["id"]: r for r in db.query(
                "SELECT * FROM training_session WHERE course_id = ? AND deleted = 0", (course_id,))}
        rows = [validate_session(si, n, stored.get(si.id or "")) for n, si in enumerate(session_inputs, 1)]
        clashes = _clashes(rows)
        if clashes and not confirmed:
            raise NeedsConfirmation("；".join(clashes) + "。确实是同一天同一时间的两次课吗？")
        row["start_date"], row["end_date"] = course_period(row["start_date"], row["end_date"], rows)
        known = [r["hours"] for r in rows if r["hours"] is not None]
        row["hours"] = float(sum(known)) if known else None
        ids = check_participants(db, row["start_date"], ids)
        if course_id is None:
            course_id = tx.insert("training_course", row, summary=f"新增培训：{row['name']}（{len(ids)} 人，"
                                                                 f"{len(rows)} 次课）")
        else:
            tx.update("training_course", course_id, row, summary=f"修改培训：{row['name']}")
        # Participants: the ones taken off first (their intentions reopen), then the new ones.
        for att_id, pid, name in tx.conn.execute(
                "SELECT a.id, a.person_id, p.name FROM training_attendance a JOIN person p ON p.id = a.person_id "
                "WHERE a.course_id = ? AND a.deleted = 0", (course_id,)).fetchall():
            if pid not in ids:
                _remove_attendance(tx, att_id, name, row["name"])
        # Sessions: removed ones tombstoned, the others changed or added.
        keep = {si.id for si in session_inputs if si.id in stored}
        for sid in stored:
            if sid not in keep:
                tx.delete("training_session", sid, summary=f"删除课次：{stored[sid]['session_date']}")
        session_ids = []
        for si, srow in zip(session_inputs, rows, strict=True):
            label = f"课次：{srow['session_date']}（{srow['hours'] if srow['hours'] is not None else '?'} 学时）"
            if si.id in stored:
                tx.update("training_session", si.id, srow, summary=label)
                session_ids.append(si.id)
            else:
                session_ids.append(tx.insert("training_session", {"course_id": course_id, **srow}, summary=label))
        _add_people(tx, course_id, row["start_date"], ids, close_intentions, present_at=())
        attendance = {r[1]: r[0] for r in tx.conn.execute(
            "SELECT id, person_id FROM training_attendance WHERE course_id = ? AND deleted = 0", (course_id,))}
        for sid, si in zip(session_ids, session_inputs, strict=True):
            present = set(ids) if si.present is None else si.present
            for pid, att_id in attendance.items():
                set_presence(tx, sid, att_id, pid in present)
    return course_id


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
        ("hours", "学时", labour.hours_text("c.hours")),
        ("certificate", "证书", "CASE WHEN c.with_certificate = 1 THEN coalesce(c.certificate_name, '有') ELSE '无证书' END"),
        ("people", "参训人数", "(SELECT count(*) FROM training_attendance a JOIN person p ON p.id = a.person_id "
                           "WHERE a.course_id = c.id AND a.deleted = 0 AND p.deleted = 0)"),
        ("sessions", "课次", "(SELECT count(*) FROM training_session s WHERE s.course_id = c.id AND s.deleted = 0)"),
        ("person_times", "人次", labour.course_person_times_sql("c")),
    ]


ATTENDANCE_FROM = labour.ATTENDANCE_FROM


def attendance_columns() -> list[tuple[str, str, str]]:
    times, hours = labour.attended_sql("a")
    return [
        ("name", "姓名", "p.name"),
        ("id_number", "身份证号", "p.id_number"),
        ("address", "住址", labour.ADDRESS_SQL),
        ("phone", "电话", "p.phone"),
        ("present", "出勤", f"{times} || ' 次，' || {labour.hours_text(hours)} || ' 学时'"),
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


def courses_query(*, search: str = "", year: str | None = None) -> ListQuery:
    """The training list as shown: courses whose name or provider contains `search`, started in `year`."""
    parts = [Condition("c.deleted = 0")]
    text = (search or "").strip()
    if text:
        parts.append(Condition("(c.name LIKE ? OR c.provider LIKE ?)", (f"%{text}%", f"%{text}%")))
    if year:
        parts.append(Condition("substr(c.start_date, 1, 4) = ?", (year,)))
    return ListQuery(COURSES_FROM, id_sql="c.id").filtered(Condition.all_of(parts))


def attendance_query(course_id: str | None) -> ListQuery:
    """The participants of one course (none when no course is chosen)."""
    query = ListQuery(ATTENDANCE_FROM, id_sql="a.id")
    if course_id is None:
        return query.filtered(NOTHING)
    return query.filtered(Condition("a.deleted = 0 AND p.deleted = 0 AND a.course_id = ?", (course_id,)))


def course(db: Database, course_id: str) -> dict[str, Any]:
    """One course's row."""
    return dict(db.get("training_course", course_id))


def recent_courses(db: Database, *, limit: int, exclude: str | None = None) -> list[dict[str, Any]]:
    """Courses not deleted, the latest first: id, name, start_date (`exclude`: the one being edited)."""
    return [dict(r) for r in db.query(
        "SELECT id, name, start_date FROM training_course WHERE deleted = 0 AND id IS NOT ? "
        "ORDER BY start_date DESC LIMIT ?", (exclude, limit))]


def registered_participants(db: Database, course_id: str) -> set[str]:
    """Ids of a course's participants who are still registered residents (在册)."""
    return {r[0] for r in db.query(
        "SELECT a.person_id FROM training_attendance a JOIN person p ON p.id = a.person_id "
        "WHERE a.course_id = ? AND a.deleted = 0 AND p.status = '在册'", (course_id,))}


def attendances_of(db: Database, person_id: str) -> list[dict[str, Any]]:
    """The person's course attendances, the latest course first: id (attendance), name, start_date."""
    return [dict(r) for r in db.query(
        "SELECT a.id, c.name, c.start_date FROM training_attendance a JOIN training_course c ON c.id = a.course_id "
        "WHERE a.person_id = ? AND a.deleted = 0 AND c.deleted = 0 ORDER BY c.start_date DESC", (person_id,))]

"""Intentions (需求台账): wants a job, training or a start-up; closed when met, linked to what met it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app.models.core import vocab
from app.models.core.db import Database, Tx
from app.models.core.errors import NotFoundError, ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.core.list_query import Condition, ListQuery
from app.models.employment import labour
from app.models.employment.intention_state import closed_sql, is_open, open_sql

KINDS = vocab.INTENTION_KINDS


def add(db: Database, values: Mapping[str, Any]) -> str:
    """Record an intention; `recorded_date` defaults to today."""
    person_id = values.get("person_id")
    if not person_id:
        raise ValidationError("请先选择居民。", field="person_id")
    person = db.one("SELECT name FROM person WHERE id = ? AND deleted = 0", (person_id,))
    if person is None:
        raise NotFoundError("找不到这位居民（可能已被删除），请重新选择。")
    kind = (values.get("kind") or "").strip()
    if kind not in KINDS:
        raise ValidationError(f"需求类型应为：{'、'.join(KINDS)}。", field="kind")
    recorded = entered_iso_date(values.get("recorded_date"), "登记日期", field="recorded_date") or dt.date.today().isoformat()

    def text(key: str) -> str | None:
        v = values.get(key)
        return (v.strip() or None) if isinstance(v, str) else v

    if kind == "培训" and not text("training_wanted"):
        raise ValidationError("请填写想参加什么培训（如 电焊、家政、厨师）。", field="training_wanted")
    row = {
        "person_id": person_id, "kind": kind, "job_kind": text("job_kind") if kind == "就业" else None,
        "place": text("place"), "training_wanted": text("training_wanted") if kind == "培训" else None,
        "detail": text("detail"), "recorded_date": recorded, "notes": text("notes"),
    }
    with db.write() as tx:
        return tx.insert("intention", row, summary=f"登记{kind}需求：{person['name']}")


def close_in(
    tx: Tx,
    intention_id: str,
    closed_date: Any,
    *,
    met_employment_id: str | None = None,
    met_attendance_id: str | None = None,
) -> None:
    """Close an intention inside the caller's transaction (a job or attendance being saved)."""
    row = tx.conn.execute(
        "SELECT i.*, p.name FROM intention i JOIN person p ON p.id = i.person_id WHERE i.id = ? AND i.deleted = 0",
        (intention_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError("这条需求已不存在（可能已被删除）。")
    if not is_open(row["closed_date"]):
        raise ValidationError(f"{row['name']}的这条{row['kind']}需求已于 {row['closed_date']} 关闭。")
    closed = entered_iso_date(closed_date, "关闭日期", field="closed_date") or dt.date.today().isoformat()
    if closed < row["recorded_date"]:
        closed = row["recorded_date"]  # met by a job that began before the need was written down
    for link, table in ((met_employment_id, "employment"), (met_attendance_id, "training_attendance")):
        if link is None:
            continue
        owner = tx.conn.execute(f"SELECT person_id FROM {table} WHERE id = ? AND deleted = 0", (link,)).fetchone()
        if owner is None or owner[0] != row["person_id"]:
            raise ValidationError(f"用来满足{row['name']}需求的记录不是本人的，不能关联。")
    tx.update(
        "intention", intention_id,
        {"closed_date": closed, "met_employment_id": met_employment_id, "met_attendance_id": met_attendance_id},
        summary=f"{row['kind']}需求已满足：{row['name']}",
    )


def close(
    db: Database,
    intention_id: str,
    closed_date: Any = None,
    *,
    met_employment_id: str | None = None,
    met_attendance_id: str | None = None,
) -> None:
    """Close an intention as met (optionally linking the job or training attendance that met it)."""
    with db.write() as tx:
        close_in(tx, intention_id, closed_date, met_employment_id=met_employment_id,
                 met_attendance_id=met_attendance_id)


def reopen(db: Database, intention_id: str) -> None:
    with db.write() as tx:
        tx.update("intention", intention_id, {"closed_date": None, "met_employment_id": None,
                                              "met_attendance_id": None}, summary="需求重新打开")


def delete(db: Database, intention_id: str) -> None:
    with db.write() as tx:
        tx.delete("intention", intention_id, summary="删除需求记录")


def open_for(db: Database, person_id: str, kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """The person's open intentions of the given kinds, oldest first."""
    marks = ", ".join("?" for _ in kinds)
    return [dict(r) for r in db.query(
        f"SELECT * FROM intention WHERE person_id = ? AND deleted = 0 AND {open_sql('')} "
        f"AND kind IN ({marks}) ORDER BY recorded_date", (person_id, *kinds),
    )]


def describe(row: Mapping[str, Any]) -> str:
    what = row.get("job_kind") or row.get("training_wanted") or row.get("detail") or ""
    place = f"，{row['place']}" if row.get("place") else ""
    return f"想{row.get('kind') or ''}{('：' + what) if what else ''}{place}（{row.get('recorded_date')} 登记）"


INTENTIONS_FROM = (
    "intention i JOIN person p ON p.id = i.person_id LEFT JOIN household h ON h.id = p.household_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)


def intentions_columns() -> list[tuple[str, str, str]]:
    return [
        ("name", "姓名", "p.name"),
        ("address", "住址", labour.ADDRESS_SQL),
        ("kind", "需求", "i.kind"),
        ("what", "内容", "trim(coalesce(i.job_kind, i.training_wanted, '') || coalesce(' ' || i.detail, ''))"),
        ("place", "意向地点", "i.place"),
        ("recorded_date", "登记日期", "i.recorded_date"),
        ("closed_date", "满足日期", "i.closed_date"),
        ("met", "由何满足",
         "CASE WHEN i.met_employment_id IS NOT NULL THEN (SELECT '就业：' || e.kind || coalesce('（' || "
         "coalesce(e.employer, e.post_name, e.destination) || '）', '') FROM employment e WHERE e.id = i.met_employment_id) "
         "WHEN i.met_attendance_id IS NOT NULL THEN (SELECT '培训：' || c.name FROM training_attendance a "
         "JOIN training_course c ON c.id = a.course_id WHERE a.id = i.met_attendance_id) ELSE '' END"),
    ]


INTENTION_STATES = ("open", "closed", "all")


def intentions_query(*, state: str = "open", kind: str | None = None,
                     search: Condition = Condition()) -> ListQuery:  # noqa: B008
    """The intentions ledger as shown: intentions of living people, open (:mod:`intention_state`),
    met, or all, of a `kind`, matching a person search (``registry_search.person_condition``)."""
    if state not in INTENTION_STATES:
        raise ValueError(state)
    parts = [Condition("i.deleted = 0"), Condition(labour.live_person_sql("i.person_id"))]
    if state == "open":
        parts.append(Condition(open_sql("i")))
    elif state == "closed":
        parts.append(Condition(closed_sql("i")))
    if kind:
        parts.append(Condition("i.kind = ?", (kind,)))
    parts.append(search)
    return ListQuery(INTENTIONS_FROM, id_sql="i.id", lean_from="intention i",
                     joined_aliases=("p", "h", "r", "u", "b")).filtered(Condition.all_of(parts))


def with_name(db: Database, intention_id: str) -> dict[str, Any] | None:
    """One intention with its person's ``name`` (None if there is no such intention)."""
    row = db.one("SELECT i.*, p.name FROM intention i JOIN person p ON p.id = i.person_id WHERE i.id = ?",
                 (intention_id,))
    return None if row is None else dict(row)

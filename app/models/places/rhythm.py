"""Visit rhythm: risk colour → visit interval, 四必访 groups, due and overdue lists, risk colour changes.

Rules (one place, used by the places tab, the dashboard statistics and the printed round sheet):

- The interval in days comes from the office settings ``visit_interval_red/yellow/green``
  (defaults 1 / 7 / 30). "Monthly" is a fixed 30 days, not a calendar month: a household visited on
  Jan 31 is due on Mar 2 (Mar 1 in a leap year). Plain day counts keep the rule the same for every
  date, make month ends and leap years harmless, and let SQLite compute it with ``date(x, '+N days')``.
- A household with a 四必访 member (disabled, incapacitated, in hospital, elderly living alone) or
  flagged 特困 (extreme hardship) gets ``min(colour interval, visit_interval_special)``.
- Due date = last visit date + interval; a household never visited counts from the later of its
  move-in date and the day it was entered in the program (a household registered today with a
  move-in two years ago is not "overdue 700 days"). A household with neither is due from the start
  (listed first, counted overdue: nobody has seen it).
- "Due" means due date <= today; "overdue" means due date < today. Lists are sorted by how overdue.
- Only households living there (status 在住) are counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.models.core import settings
from app.models.core.db import Database
from app.models.core.errors import NotFoundError, ValidationError
from app.models.places.place_roles import CURRENT_ROLE_SQL, ROLE_VALUES_SQL

COLOURS = ("red", "yellow", "green")
COLOUR_NAMES = {"red": "红", "yellow": "黄", "green": "绿"}
_COLOUR_ALIASES = {
    "红": "red",
    "黄": "yellow",
    "绿": "green",
    "红色": "red",
    "黄色": "yellow",
    "绿色": "green",
}
SPECIAL_COLUMNS = ("sg_disabled", "sg_incapacitated", "sg_hospitalised", "sg_elderly_alone")


@dataclass(frozen=True)
class Intervals:
    red: int = 1
    yellow: int = 7
    green: int = 30
    special: int = 7

    def for_household(self, colour: str, special: bool) -> int:
        days = {"red": self.red, "yellow": self.yellow}.get(colour, self.green)
        return min(days, self.special) if special else days


def intervals(db: Database) -> Intervals:
    """The office's visit intervals (days), falling back to the defaults for unusable values."""

    def val(key: str) -> int:
        try:
            n = int(settings.get(db, key))
        except (TypeError, ValueError):
            n = int(settings.DEFAULTS[key])
        return n if n >= 1 else int(settings.DEFAULTS[key])

    return Intervals(
        val("visit_interval_red"),
        val("visit_interval_yellow"),
        val("visit_interval_green"),
        val("visit_interval_special"),
    )


# The date a never-visited household counts from, over alias h: the later of move-in and entry.
FIRST_BASE_SQL = (
    "CASE WHEN h.entered_date > coalesce(nullif(h.move_in_date, ''), '') THEN h.entered_date "
    "ELSE nullif(h.move_in_date, '') END"
)


def due_date(
    last_visit: str | None, move_in: str | None, interval_days: int, entered: str | None = None
) -> dt.date | None:
    """The date the next visit is due (None when there is neither a visit nor a move-in date)."""
    first = max((d[:10] for d in (move_in, entered) if d), default=None)
    base = last_visit or first
    if not base:
        return None
    return dt.date.fromisoformat(base[:10]) + dt.timedelta(days=interval_days)


def status(due: dt.date | None, today: dt.date) -> str:
    """'overdue', 'due' (today) or 'ok'."""
    if due is None or due < today:
        return "overdue"
    return "due" if due == today else "ok"


@dataclass
class DueRow:
    household_id: str
    household_number: str
    head_name: str | None
    building_id: str | None
    building_name: str | None
    unit_number: int | None
    room_number: str | None
    risk_colour: str
    special: bool
    interval_days: int
    last_visit_date: str | None
    last_visitor: str | None
    due_date: str | None
    days_overdue: int | None  # None when never visited and no move-in date

    @property
    def address(self) -> str:
        if not self.building_name:
            return "（未分配住房）"
        return f"{self.building_name}{self.unit_number or ''}-{self.room_number or ''}"


# The special-group test in SQL. For the whole community a non-correlated IN list, built once per
# query from the small partial index person_special (m0003), is far cheaper than a probe per household;
# for one building or one household the correlated probe is cheaper than building the list.
_SPECIAL_COND = (
    "(sp.sg_disabled <> 0 OR sp.sg_incapacitated <> 0 OR sp.sg_hospitalised <> 0 OR sp.sg_elderly_alone <> 0) "
    "AND +sp.deleted = 0 AND +sp.status = '在册'"
)
_SPECIAL_LIST = f"(h.tag_tekun <> 0 OR h.id IN (SELECT sp.household_id FROM person sp WHERE {_SPECIAL_COND}))"
_SPECIAL_PROBE = (
    f"(h.tag_tekun <> 0 OR EXISTS (SELECT 1 FROM person sp WHERE sp.household_id = h.id AND {_SPECIAL_COND}))"
)
_SPECIAL_SQL = _SPECIAL_LIST

# The base reads households only; rooms, units and buildings are joined for the rows that come out
# (a place filter becomes a list of room ids), so the whole-community count touches one table.
# "+h.deleted", "+h.status": keep SQLite scanning the table rather than probing a status index.
_BASE_SQL = """
SELECT h.id AS household_id, h.number AS household_number, h.risk_colour, h.head_person_id, h.room_id,
       (SELECT v.visit_date FROM visit v WHERE v.household_id = h.id AND v.deleted = 0
        ORDER BY v.visit_date DESC LIMIT 1) AS last_visit,
       {first_base} AS move_in_date,
       {special} AS special
FROM household h
WHERE +h.deleted = 0 AND +h.status = '在住' {where}
"""

# Due means base date + interval <= today, i.e. base date <= today - interval: the cut-off date per
# (colour, special) is computed once in Python, so each row costs a string comparison, not date maths.
_DUE_SQL = """
WITH base AS MATERIALIZED ({base}),
dd AS (
  SELECT base.*, coalesce(last_visit, move_in_date) AS base_date,
         CASE WHEN special THEN
              CASE risk_colour WHEN 'red' THEN :iv_red_s WHEN 'yellow' THEN :iv_yellow_s ELSE :iv_green_s END
         ELSE CASE risk_colour WHEN 'red' THEN :iv_red WHEN 'yellow' THEN :iv_yellow ELSE :iv_green END
         END AS interval_days,
         CASE WHEN special THEN
              CASE risk_colour WHEN 'red' THEN :cut_red_s WHEN 'yellow' THEN :cut_yellow_s ELSE :cut_green_s END
         ELSE CASE risk_colour WHEN 'red' THEN :cut_red WHEN 'yellow' THEN :cut_yellow ELSE :cut_green END
         END AS cutoff
  FROM base
)
"""
# Rows of dd that are due (<=) or overdue (<); never-seen households (no base date) are both.
_DUE_WHERE = "(base_date IS NULL OR substr(base_date, 1, 10) <= cutoff)"
_OVERDUE_WHERE = "(base_date IS NULL OR substr(base_date, 1, 10) < cutoff)"
_DUE_COL = "date(base_date, '+' || interval_days || ' days')"

_PLACE_JOIN = (
    "LEFT JOIN room r ON r.id = dd.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)


def _base(where: str) -> str:
    # A building, a head's buildings or one household: probe; the whole community: the list.
    narrow = bool(where) and ":community_id" not in where
    return _BASE_SQL.format(where=where, special=_SPECIAL_PROBE if narrow else _SPECIAL_LIST,
                            first_base=FIRST_BASE_SQL)


def _several_communities(db: Database) -> bool:
    """Most offices keep one community: then a community filter is no filter and is skipped."""
    return int(db.scalar("SELECT count(*) FROM community WHERE deleted = 0")) > 1


def _filters(
    db: Database,
    building_id: str | None,
    head_person_id: str | None,
    head_staff_name: str | None,
    community_id: str | None,
) -> tuple[str, dict[str, Any]]:
    """A WHERE fragment over households h restricting them to rooms of the chosen buildings."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if building_id:
        conds.append("u.building_id = :building_id")
        params["building_id"] = building_id
    if community_id and _several_communities(db):
        conds.append("u.building_id IN (SELECT id FROM building WHERE community_id = :community_id)")
        params["community_id"] = community_id
    if head_person_id or head_staff_name:
        who = "pr.person_id = :head" if head_person_id else "pr.person_id IS NULL AND pr.staff_name = :head"
        conds.append(
            "u.building_id IN (SELECT pr.place_id FROM place_role pr WHERE pr.place_table = 'building' "
            f"AND pr.role IN {ROLE_VALUES_SQL['building']} AND pr.deleted = 0 AND {CURRENT_ROLE_SQL} AND {who})"
        )
        params["head"] = head_person_id or head_staff_name
    if not conds:
        return "", params
    where = (
        " AND h.room_id IN (SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id WHERE "
        + " AND ".join(conds)
        + ")"
    )
    return where, params


def _params(db: Database, today: dt.date | str | None) -> dict[str, Any]:
    iv = intervals(db)
    day = dt.date.fromisoformat(_iso(today))
    out: dict[str, Any] = {"today": day.isoformat()}
    for colour in COLOURS:
        for special in (False, True):
            days = iv.for_household(colour, special)
            suffix = "_s" if special else ""
            out[f"iv_{colour}{suffix}"] = days
            out[f"cut_{colour}{suffix}"] = (day - dt.timedelta(days=days)).isoformat()
    return out


def _iso(day: dt.date | str | None) -> str:
    if day is None:
        return dt.date.today().isoformat()
    return day if isinstance(day, str) else day.isoformat()


def due_list(
    db: Database,
    today: dt.date | str | None = None,
    building_id: str | None = None,
    head_person_id: str | None = None,
    *,
    head_staff_name: str | None = None,
    community_id: str | None = None,
    include_due_today: bool = True,
    limit: int | None = None,
) -> list[DueRow]:
    """Households due (or only overdue) for a visit, the most overdue first.

    Filter by building, by the building head (a resident's person id, or a staff member's name),
    or by community.
    """
    where, params = _filters(db, building_id, head_person_id, head_staff_name, community_id)
    params.update(_params(db, today))
    cond = _DUE_WHERE if include_due_today else _OVERDUE_WHERE
    sql = (
        _DUE_SQL.format(base=_base(where))
        + f"""
SELECT dd.*, {_DUE_COL} AS due, p.name AS head_name, b.id AS building_id, b.name AS building_name,
       u.number AS unit_number, r.number AS room_number,
       CAST(julianday(:today) - julianday({_DUE_COL}) AS INTEGER) AS days_overdue,
       (SELECT coalesce(v.visitor_name, (SELECT vp.name FROM person vp WHERE vp.id = v.visitor_person_id))
        FROM visit v WHERE v.household_id = dd.household_id AND v.deleted = 0 AND v.visit_date = dd.last_visit
        ORDER BY v.created_at DESC LIMIT 1) AS last_visitor
FROM dd LEFT JOIN person p ON p.id = dd.head_person_id {_PLACE_JOIN}
WHERE {cond}
ORDER BY base_date IS NOT NULL, days_overdue DESC, b.number, b.name COLLATE natsort, u.number, r.number COLLATE natsort
"""
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [
        DueRow(
            r["household_id"],
            r["household_number"],
            r["head_name"],
            r["building_id"],
            r["building_name"],
            r["unit_number"],
            r["room_number"],
            r["risk_colour"],
            bool(r["special"]),
            int(r["interval_days"]),
            r["last_visit"],
            r["last_visitor"],
            r["due"],
            r["days_overdue"],
        )
        for r in db.query(sql, params)
    ]


def overdue_count(
    db: Database, today: dt.date | str | None = None, *, community_id: str | None = None
) -> int:
    """How many households are overdue for a visit (due date before today, or never seen at all)."""
    where, params = _filters(db, None, None, None, community_id)
    params.update(_params(db, today))
    sql = _DUE_SQL.format(base=_base(where)) + f"SELECT count(*) FROM dd WHERE {_OVERDUE_WHERE}"
    return int(db.scalar(sql, params))


def overdue_by_unit(db: Database, today: dt.date | str | None = None) -> dict[str, int]:
    """unit id → overdue households (for the counts in the places tree)."""
    params = _params(db, today)
    sql = _DUE_SQL.format(base=_base("")) + (
        "SELECT r.unit_id, count(*) AS n FROM dd JOIN room r ON r.id = dd.room_id "
        f"WHERE {_OVERDUE_WHERE} GROUP BY r.unit_id"
    )
    return {r["unit_id"]: r["n"] for r in db.query(sql, params)}


def due_dates(
    db: Database, today: dt.date | str | None = None, building_id: str | None = None
) -> dict[str, str | None]:
    """household id → next visit due date (ISO; None if never visited and no move-in date), for every
    household living in a building (or everywhere). For printed round sheets and other reports."""
    where, params = _filters(db, building_id, None, None, None)
    params.update(_params(db, today))
    sql = _DUE_SQL.format(base=_base(where)) + f"SELECT household_id, {_DUE_COL} AS due FROM dd"
    return {r["household_id"]: r["due"] for r in db.query(sql, params)}


def household_rhythm(db: Database, household_id: str, today: dt.date | str | None = None) -> dict:
    """Colour, special group, interval, last visit and due date of one household (for the visit form)."""
    params = _params(db, today)
    params["hid"] = household_id
    sql = _DUE_SQL.format(base=_base("AND h.id = :hid")) + (
        f"SELECT dd.*, {_DUE_COL} AS due, CAST(julianday(:today) - julianday({_DUE_COL}) AS INTEGER) "
        "AS days_overdue FROM dd"
    )
    row = db.one(sql, params)
    if row is None:
        raise NotFoundError("找不到这一户（可能已迁出或被删除）。")
    return dict(row)


# -- risk colour ---------------------------------------------------------------------------------
def normalise_colour(colour: str) -> str:
    c = (colour or "").strip()
    c = _COLOUR_ALIASES.get(c, c)
    if c not in COLOURS:
        raise ValidationError(f"风险颜色只能是红、黄、绿，不能是“{colour}”。", field="colour")
    return c


def set_risk_colour(db: Database, household_id: str, colour: str, reason: str) -> str:
    """Change a household's risk colour; the reason is required and the change is kept in risk_change.

    Returns the id of the risk_change row.
    """
    new = normalise_colour(colour)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写调整风险颜色的原因。", field="reason")
    if len(reason) > 200:
        raise ValidationError("原因太长（最多 200 个字）。", field="reason")
    row = db.one("SELECT number, risk_colour FROM household WHERE id = ? AND +deleted = 0", (household_id,))
    if row is None:
        raise NotFoundError("找不到这一户（可能已被删除）。")
    old = row["risk_colour"]
    if old == new:
        raise ValidationError(f"这一户已经是{COLOUR_NAMES[new]}色，无需调整。", field="colour")
    summary = f"户 {row['number']} 风险颜色 {COLOUR_NAMES.get(old, old)}→{COLOUR_NAMES[new]}：{reason}"
    with db.write() as tx:
        tx.update("household", household_id, {"risk_colour": new}, summary=summary)
        return tx.insert(
            "risk_change",
            {
                "household_id": household_id,
                "old_colour": old,
                "new_colour": new,
                "reason": reason,
                "changed_by": db.user,
                "changed_at": tx.now,
            },
            summary=summary,
        )


def risk_history(db: Database, household_id: str) -> list[dict]:
    rows = db.query(
        "SELECT old_colour, new_colour, reason, changed_by, changed_at FROM risk_change "
        "WHERE household_id = ? AND deleted = 0 ORDER BY changed_at DESC",
        (household_id,),
    )
    return [dict(r) for r in rows]

"""The headline figures of the office (households, labour and employment, visits, mediation) in one dict.

One small function per domain so each feature's owner answers for its own figures (employment is
already app.models.employment.labour's). Every figure is a SQL aggregate, no rows pulled into Python: about 50 ms
at 23,000 residents; at 100,000 about 250-300 ms of CPU (half of it the labour figures), so a window
should call it on the background runner. Definitions (all "on `today`"):

- residents: persons 在册 of non-deleted households; residents_id_missing / _unverified count
  residents without an ID number (待补录) and with one kept 待核实 (check digit wrong, saved as the paper record has it);
- labour force: residents aged working_age_min..working_age_max (whole years, inclusive) with labour
  ability 全 or 半 (a person without a birth date cannot be counted);
- employed: labour-force people with a current job (start_date <= today and end_date empty or >= today);
  a household has a stable job when such a job started at least stable_job_months months ago;
- visits_overdue: households living here (在住) whose last visit + interval < today; the interval is
  the risk colour's, or at most visit_interval_special for a household with a 四必访 member or 特困;
  a household never visited counts from the later of move-in and entry (none at all: overdue);
- open_mediation_cases: cases whose status is not 结案, per level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.models.core import settings
from app.models.core.db import Database
from app.models.places.rhythm import FIRST_BASE_SQL

LEVELS = ("楼栋", "社区", "街道")
# "A resident": 在册 and in a household that is not deleted. NOT IN over the (usually empty) set of
# deleted households reads person alone; joining household per person costs 20 times more at 100k.
RESIDENT = (
    "p.deleted = 0 AND p.status = '在册' AND p.household_id IS NOT NULL "
    "AND p.household_id NOT IN (SELECT id FROM household WHERE deleted <> 0)"
)


def compute(db: Database, today: dt.date | None = None) -> dict[str, Any]:
    """Every headline figure for `today` (default: the real today) as one JSON-able dict."""
    today = today or dt.date.today()
    cfg = settings.get_all(db)
    out: dict[str, Any] = {"today": today.isoformat()}
    out.update(_registry(db))
    out.update(_employment(db, today, cfg))
    out.update(_visits(db, today, cfg))
    out.update(_mediation(db))
    return out


def _registry(db: Database) -> dict[str, Any]:
    h = db.one(
        "SELECT count(*) AS n, sum(risk_colour = 'red') AS red, sum(risk_colour = 'yellow') AS yellow, "
        "sum(risk_colour = 'green') AS green, sum(tag_lifted) AS lifted, sum(tag_monitored) AS monitored, "
        "sum(tag_dibao) AS dibao, sum(tag_tekun) AS tekun FROM household WHERE deleted = 0"
    )
    p = db.one(
        "SELECT count(*) AS n, sum(p.sg_left_behind_child <> 0) AS left_behind, "
        "sum(p.sg_elderly_alone <> 0) AS elderly_alone, sum(p.sg_disabled <> 0) AS disabled, "
        "sum(p.sg_incapacitated <> 0) AS incapacitated, sum(p.sg_hospitalised <> 0) AS hospitalised, "
        "sum(p.party_member <> 0) AS party, sum(p.student <> 0) AS students, "
        "sum(p.id_number IS NULL) AS id_missing, sum(p.id_unverified IS NOT NULL) AS id_unverified "
        f"FROM person p NOT INDEXED WHERE {RESIDENT}"
    )
    assert h is not None and p is not None

    def n(row: Any, key: str) -> int:
        return int(row[key] or 0)

    return {
        "households": n(h, "n"),
        "residents": n(p, "n"),
        "risk_colours": {c: n(h, c) for c in ("red", "yellow", "green")},
        "household_tags": {"脱贫户": n(h, "lifted"), "监测户": n(h, "monitored"), "低保": n(h, "dibao"),
                           "特困": n(h, "tekun")},
        "special_groups": {"留守儿童": n(p, "left_behind"), "孤寡老人": n(p, "elderly_alone"),
                           "残疾": n(p, "disabled"), "失能": n(p, "incapacitated"), "住院": n(p, "hospitalised")},
        "party_members": n(p, "party"),
        "students": n(p, "students"),
        "residents_id_missing": n(p, "id_missing"),
        "residents_id_unverified": n(p, "id_unverified"),
    }


def _employment(db: Database, today: dt.date, cfg: dict[str, Any]) -> dict[str, Any]:
    # The employment tab's own figures (app.models.employment.labour), so the tab, the dashboard and
    # `anju stats --json` can never disagree; `cfg` is read there through the same settings.
    from app.models.employment import labour

    return labour.compute_figures(db, today).as_stats()


def _visits(db: Database, today: dt.date, cfg: dict[str, Any]) -> dict[str, Any]:
    special = int(cfg["visit_interval_special"])
    params: dict[str, str] = {}
    for colour in ("red", "yellow", "green"):
        days = int(cfg[f"visit_interval_{colour}"])
        # Overdue ⇔ last visit (or move-in) + interval < today ⇔ last visit < today - interval.
        params[colour] = (today - dt.timedelta(days=days)).isoformat()
        params[f"{colour}_special"] = (today - dt.timedelta(days=min(days, special))).isoformat()
    # MATERIALIZED: otherwise SQLite inlines the subquery and runs the last-visit probe once per use.
    row = db.one(
        f"""
        WITH live AS MATERIALIZED (
                SELECT h.risk_colour, {FIRST_BASE_SQL} AS move_in_date,
                       (SELECT substr(v.visit_date, 1, 10) FROM visit v
                         WHERE v.household_id = h.id AND v.deleted = 0
                         ORDER BY v.visit_date DESC LIMIT 1) AS last_visit,
                       h.tag_tekun <> 0 OR h.id IN (
                           SELECT p.household_id FROM person p WHERE p.deleted = 0 AND p.status = '在册'
                              AND (p.sg_disabled <> 0 OR p.sg_incapacitated <> 0
                              OR p.sg_hospitalised <> 0 OR p.sg_elderly_alone <> 0)) AS special
                FROM household h WHERE +h.deleted = 0 AND +h.status = '在住'
        )
        SELECT count(*) AS households, sum(CASE WHEN base IS NULL THEN 1 ELSE base < cutoff END) AS overdue,
               sum(last_visit IS NULL) AS never_visited
        FROM (
            SELECT coalesce(last_visit, move_in_date) AS base, last_visit,
                   CASE risk_colour
                       WHEN 'red' THEN CASE WHEN special THEN :red_special ELSE :red END
                       WHEN 'yellow' THEN CASE WHEN special THEN :yellow_special ELSE :yellow END
                       ELSE CASE WHEN special THEN :green_special ELSE :green END
                   END AS cutoff
            FROM live
        )
        """,
        params,
    )
    assert row is not None
    return {
        "visits_overdue": int(row["overdue"] or 0),
        "never_visited": int(row["never_visited"] or 0),
    }


def _mediation(db: Database) -> dict[str, Any]:
    from app.models.mediation.mediation import unclosed_cases_by_level

    open_cases = unclosed_cases_by_level(db)
    total = db.scalar("SELECT count(*) FROM mediation_case WHERE deleted = 0")
    return {"open_mediation_cases": open_cases, "mediation_cases_total": int(total or 0)}


def risk_counts(db: Database) -> dict[str | None, int]:
    """Households (not deleted) per risk colour."""
    return {r[0]: r[1] for r in db.query(
        "SELECT risk_colour, count(*) FROM household WHERE deleted = 0 GROUP BY risk_colour")}


def job_kinds(db: Database) -> list[tuple[str, int]]:
    """(kind of work, registered people holding such a job today), the most common first."""
    return [(r[0], r[1]) for r in db.query(
        "SELECT e.kind, count(DISTINCT e.person_id) FROM employment e JOIN person p ON p.id = e.person_id "
        "WHERE e.deleted = 0 AND p.deleted = 0 AND p.status = '在册' "
        "AND (e.end_date IS NULL OR e.end_date >= date('now', 'localtime')) GROUP BY e.kind ORDER BY 2 DESC")]

"""The ledgers (台账) that go out to Excel: for each, its columns and the SQL that fills them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.models.core import masking
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.dashboard import stats
from app.models.employment import labour
from app.models.excel import ledger_fields as fields
from app.models.excel.excel_read import RESIDENTS as RESIDENT_SPEC

# Column kinds (how a value is written) and the residents' SQL pieces are defined with the fields
# in ledger_spec.
from app.models.excel.ledger_spec import (
    AGE,
    BIRTH,
    ID,
    INT,
    JOB_STATUS_SQL,
    LABOUR_SQL,
    MASK_BIRTHDATE,
    NUMBER,
    PHONE,
    TAGS_SQL,
    TEXT,
    LedgerSpec,
)
from app.models.excel.ledger_spec import DATE as DATE  # the writers' kinds, with the columns
from app.models.excel.ledger_spec import MONEY as MONEY
from app.models.mediation import mediation_report

# Kinds a masked document leaves out altogether: they give back the hidden digits of an ID
# number (see app.models.core.masking).
DROPPED_WHEN_MASKED = frozenset({BIRTH, AGE})


@dataclass(frozen=True)
class LedgerColumn:
    header: str
    sql: str = ""
    kind: str = TEXT
    width: int = 10  # in characters of a Chinese font; ~2 per Han character


@dataclass(frozen=True)
class Ledger:
    name: str  # CLI name: residents, households …
    title: str  # Chinese title of the sheet and the workbook
    columns: tuple[LedgerColumn, ...] = ()
    from_sql: str = ""
    base_where: str = ""
    order_by: str = ""
    # Ledgers that are not one SQL select (monthly table, figures) produce their rows here.
    producer: Callable[[Database, dict], tuple[list[LedgerColumn], list[tuple]]] | None = None
    # Accepts a tab's "export what I see" WHERE, written over this ledger's aliases: p person,
    # h household, r room, u unit, b building; e employment; a/c attendance/course; i intention;
    # v visit; m mediation case.
    filterable: bool = False
    # A feature module's own SELECT for this ledger (columns, sql, params), preferred when present.
    sql_source: Callable[[Database], tuple[list[LedgerColumn], str, list]] | None = None
    options: dict = field(default_factory=dict)
    # The FROM of the unfiltered count when it can leave out joins the rows do not depend on (the
    # place joins are LEFT joins on keys): SQLite keeps them, and they tripled the count's time.
    count_from: str = ""
    # The ledger's one definition, shared with its import (None: an export-only table).
    spec: LedgerSpec | None = None

    def select_sql(self, where: str = "") -> str:
        cols = ", ".join(c.sql for c in self.columns)
        conds = [c for c in (self.base_where, where) if c]
        sql = f"SELECT {cols} FROM {self.from_sql}"
        if conds:
            sql += " WHERE " + " AND ".join(f"({c})" for c in conds)
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        return sql

    def count_sql(self, where: str = "") -> str:
        conds = [c for c in (self.base_where, where) if c]
        sql = f"SELECT count(*) FROM {self.count_from if self.count_from and not where else self.from_sql}"
        if conds:
            sql += " WHERE " + " AND ".join(f"({c})" for c in conds)
        return sql

    def rows(
        self, db: Database, where: str = "", params: Sequence[Any] = (), options: dict | None = None,
        *, masked: bool = False,
    ) -> tuple[list[LedgerColumn], int, Iterator[tuple]]:
        """(columns, row count, row iterator); the iterator streams from SQLite.

        ``masked``: the columns and rows of the masked variant (:func:`masked_view`), so every
        writer of a ledger gets the masking with the rows.
        """
        columns, total, rows = self._rows(db, where, params, options)
        if masked:
            columns, rows = masked_view(columns, rows)
        return columns, total, rows

    def _rows(
        self, db: Database, where: str, params: Sequence[Any], options: dict | None
    ) -> tuple[list[LedgerColumn], int, Iterator[tuple]]:
        if where and not self.filterable:
            raise KnownError(f"“{self.title}”不支持按当前筛选导出。")
        if self.producer is not None:
            cols, rows = self.producer(db, options or {})
            return cols, len(rows), iter(rows)
        source = self.sql_source(db) if self.sql_source is not None else None
        if source is not None:
            cols, sql, src_params = source
            total = int(db.scalar(f"SELECT count(*) FROM ({sql})", src_params) or 0)
            cursor = db.conn.execute(sql, src_params)
            cursor.row_factory = None
            return cols, total, iter(cursor)
        total = int(db.scalar(self.count_sql(where), params) or 0)
        cursor = db.conn.execute(self.select_sql(where), params)
        cursor.row_factory = None  # plain tuples: faster than sqlite3.Row for 100k rows
        return list(self.columns), total, iter(cursor)


def has_personal_columns(columns: Sequence[LedgerColumn]) -> bool:
    """Whether the masked and the full variant differ in kind (ID numbers, phones, birth dates)."""
    return any(c.kind in (ID, PHONE, BIRTH, AGE) for c in columns)


def masked_view(columns: Sequence[LedgerColumn], rows: Iterable[Sequence[Any]]
                ) -> tuple[list[LedgerColumn], Iterator[tuple]]:
    """The masked variant of a table: birth dates and ages left out, ID numbers and phones masked,
    ID and mobile numbers inside text masked (the policy of app.models.core.masking)."""
    keep = [i for i, c in enumerate(columns) if c.kind not in DROPPED_WHEN_MASKED]
    by_kind = {ID: masking.id_number, PHONE: masking.phone, TEXT: masking.text}
    # (position in the output row, masking function) for the columns that need one
    maskers = [(n, by_kind[columns[i].kind]) for n, i in enumerate(keep) if columns[i].kind in by_kind]

    def masked_rows() -> Iterator[tuple]:
        for row in rows:
            out = [row[i] for i in keep]
            for n, fn in maskers:
                value = out[n]
                if value is not None and value != "":
                    out[n] = fn(str(value))
            yield tuple(out)

    return [columns[i] for i in keep], masked_rows()


# -- shared SQL pieces -------------------------------------------------------------------------
PLACE_JOINS = (
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)


def columns_of(spec: LedgerSpec) -> tuple[LedgerColumn, ...]:
    """The export's columns: the fields of the ledger's one definition that have SQL, in order. A
    birth date is written as a date, and left out of the masked variant."""
    return tuple(LedgerColumn(f.header, f.sql, BIRTH if f.mask == MASK_BIRTHDATE else f.kind, f.width)
                 for f in spec.exported)


def spec_ledger(spec: LedgerSpec, **kw: Any) -> Ledger:
    """The export of a ledger with one definition (its name, title and columns)."""
    return Ledger(name=spec.name, title=spec.title, columns=columns_of(spec), spec=spec, **kw)


RESIDENT_COLUMNS = columns_of(RESIDENT_SPEC)

RESIDENTS = spec_ledger(
    RESIDENT_SPEC,
    from_sql=f"person p JOIN household h ON h.id = p.household_id {PLACE_JOINS}",
    base_where="p.deleted = 0 AND h.deleted = 0 AND p.status = '在册'",
    order_by="b.number, b.name, u.number, r.number, h.number, (p.id = h.head_person_id) DESC, p.birth_date",
    count_from="person p JOIN household h ON h.id = p.household_id",
    filterable=True,
)

HOUSEHOLDS = spec_ledger(
    fields.HOUSEHOLDS,
    from_sql=f"household h {PLACE_JOINS}",
    base_where="h.deleted = 0",
    count_from="household h",
    order_by="b.number, b.name, u.number, r.number, h.number",
    filterable=True,
)

AGE_SQL = (
    "CASE WHEN p.birth_date IS NOT NULL THEN CAST(strftime('%Y', 'now', 'localtime') AS INTEGER)"
    " - CAST(substr(p.birth_date, 1, 4) AS INTEGER)"
    " - (strftime('%m-%d', 'now', 'localtime') < substr(p.birth_date, 6, 5)) END"
)

LABOUR = Ledger(
    name="labour",
    title="劳动力台账",
    columns=(
        LedgerColumn("户编号", "h.number", TEXT, 12),
        LedgerColumn("姓名", "p.name", TEXT, 10),
        LedgerColumn("身份证号", "p.id_number", ID, 21),
        LedgerColumn("性别", "p.sex", TEXT, 6),
        LedgerColumn("年龄", AGE_SQL, AGE, 6),
        LedgerColumn("文化程度", "p.education", TEXT, 10),
        LedgerColumn("劳动能力", LABOUR_SQL, TEXT, 10),
        LedgerColumn("就业状态", JOB_STATUS_SQL, TEXT, 10),
        LedgerColumn(
            "工作单位",
            "(SELECT e.employer FROM employment e WHERE e.person_id = p.id AND e.deleted = 0"
            " AND (e.end_date IS NULL OR e.end_date = '' OR e.end_date >= date('now', 'localtime'))"
            " ORDER BY e.start_date DESC LIMIT 1)",
            TEXT,
            16,
        ),
        LedgerColumn("联系电话", "p.phone", PHONE, 14),
        LedgerColumn("楼栋", "b.name", TEXT, 8),
        LedgerColumn("单元", "u.number", INT, 6),
        LedgerColumn("房号", "r.number", TEXT, 8),
        LedgerColumn("户标签", TAGS_SQL, TEXT, 16),
    ),
    from_sql=f"person p JOIN household h ON h.id = p.household_id {PLACE_JOINS}",
    base_where="p.deleted = 0 AND h.deleted = 0 AND p.status = '在册' AND p.labour_ability IN ('全','半')",
    order_by="b.number, b.name, u.number, r.number, h.number, p.birth_date",
    sql_source=lambda db: _labour_source(db),
)

LABOUR_KINDS = {"id_number": ID, "age": AGE, "phone": PHONE}
LABOUR_WIDTHS = {"name": 10, "id_number": 21, "household": 12, "address": 18, "age": 6, "labour_ability": 10,
                 "current_job": 24, "last_training": 24, "intention": 12}


def _labour_source(db: Database) -> tuple[list[LedgerColumn], str, list]:
    """The employment feature's labour-force ledger (same people as its 劳动力 figure)."""
    sql, params = labour.labour_ledger_sql(db)
    cols = [LedgerColumn(title, key, LABOUR_KINDS.get(key, TEXT), LABOUR_WIDTHS.get(key, 12))
            for key, title in labour.labour_ledger_titles(db)]
    return cols, sql, list(params)

PERSON_JOINS = f"JOIN person p ON p.id = {{0}} LEFT JOIN household h ON h.id = p.household_id {PLACE_JOINS}"

EMPLOYMENT = spec_ledger(
    fields.EMPLOYMENT,
    from_sql="employment e " + PERSON_JOINS.format("e.person_id"),
    base_where="e.deleted = 0 AND p.deleted = 0",
    order_by="h.number, p.name, e.start_date",
    filterable=True,
)

TRAINING = spec_ledger(
    fields.TRAINING,
    from_sql="training_attendance a JOIN training_course c ON c.id = a.course_id "
    + PERSON_JOINS.format("a.person_id"),
    base_where="a.deleted = 0 AND c.deleted = 0 AND p.deleted = 0",
    order_by="c.start_date, c.name, h.number, p.name",
    filterable=True,
)

INTENTIONS = spec_ledger(
    fields.INTENTIONS,
    from_sql="intention i " + PERSON_JOINS.format("i.person_id"),
    base_where="i.deleted = 0 AND p.deleted = 0",
    order_by="i.recorded_date, h.number, p.name",
    filterable=True,
)

VISITS = spec_ledger(
    fields.VISITS,
    from_sql=f"visit v JOIN household h ON h.id = v.household_id {PLACE_JOINS}",
    base_where="v.deleted = 0",
    order_by="v.visit_date DESC, h.number",
    filterable=True,
)

MEDIATION = spec_ledger(
    fields.MEDIATION,
    from_sql="mediation_case m LEFT JOIN building b ON b.id = m.building_id",
    base_where="m.deleted = 0",
    order_by="m.received_date, m.number",
    filterable=True,
)


# -- ledgers that are tables of counts ---------------------------------------------------------

def _month(options: dict) -> str:
    month = options.get("month") or dt.date.today().strftime("%Y-%m")
    try:
        dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise KnownError(f"月份“{month}”格式不对，应为 YYYY-MM，例如 2026-03。") from None
    return month


def monthly_disputes(db: Database, options: dict) -> tuple[list[LedgerColumn], list[tuple]]:
    """矛盾纠纷排查情况表 of the month: the mediation feature's monthly report."""
    return _monthly_from_report(mediation_report.monthly_report(db, _month(options)))


def _monthly_from_report(rep: dict) -> tuple[list[LedgerColumn], list[tuple]]:
    cols = [LedgerColumn("类别", kind=TEXT, width=12), LedgerColumn("项目", kind=TEXT, width=22),
            LedgerColumn("数量", kind=NUMBER, width=16)]
    pct = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    rows: list[tuple] = [("合计", "本月排查受理(件)", rep.get("received", 0))]
    for section, key in (("按纠纷类别", "by_category"), ("按调处层级", "by_level"), ("按线索来源", "by_source")):
        for name, n in (rep.get(key) or {}).items():
            rows.append((section, str(name), n))
    for label, key in (("已调解(件)", "settled"), ("调解不成(件)", "failed"), ("已移交(件)", "referred"),
                       ("办理中(件)", "in_progress"), ("已结案(件)", "closed"), ("上报升级(件)", "escalated")):
        rows.append(("办理情况", label, rep.get(key) or 0))
    rows.append(("办理情况", "调解成功率", pct(rep.get("settlement_rate"))))
    rows.append(("回访", "已调解且已回访(件)", rep.get("settled_followed_up") or 0))
    rows.append(("回访", "回访率", pct(rep.get("followup_rate"))))
    rows.append(("回访", "本月回访(次)", rep.get("followups_in_month") or 0))
    for case in rep.get("open_cases") or []:
        left = case.get("days_left")
        due = "" if left is None else (f"剩 {left} 天" if left >= 0 else f"超期 {-left} 天")
        rows.append(("未办结案件", f"{case.get('number', '')} {case.get('title', '')}",
                     f"{case.get('level', '')} {case.get('status', '')} {due}".strip()))
    return cols, rows


def _rate(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"


def figures(db: Database, options: dict) -> tuple[list[LedgerColumn], list[tuple]]:
    """The headline figures asked for upward: the dashboard's own count, one row per figure."""
    cols = [LedgerColumn("指标", kind=TEXT, width=30), LedgerColumn("数值", kind=NUMBER, width=16)]
    rows = []
    for key, value in stats.compute(db).items():
        label = FIGURE_LABELS.get(key, key)
        if isinstance(value, dict):
            for sub, v in value.items():
                sub_label = RISK_LABELS.get(sub, "合计" if sub == "total" else sub)
                rows.append((f"{label}·{sub_label}", _fmt_figure(key, v)))
        elif not isinstance(value, (list, tuple)):
            rows.append((label, _fmt_figure(key, value)))
    return cols, rows


FIGURE_LABELS = {
    "today": "统计日期", "households": "搬迁户数(户)", "residents": "搬迁人口(人)", "risk_colours": "风险户(户)",
    "household_tags": "户标签(户)", "special_groups": "特殊群体(人)", "party_members": "党员(人)",
    "students": "在校学生(人)", "labour_force": "劳动力(人)", "employed": "已就业劳动力(人)",
    "employment_rate": "劳动力就业率", "employed_per_household": "户均就业(人)",
    "households_with_labour": "有劳动力的户(户)", "households_with_stable_job": "有稳定就业的户(户)",
    "zero_employment_households": "零就业家庭(户)", "never_trained": "从未参加培训的劳动力(人)",
    "training_person_times_year": "本年培训(人次)", "training_person_times_total": "累计培训(人次)",
    "training_hours_year": "本年培训(人·学时)", "training_hours_total": "累计培训(人·学时)",
    "public_welfare_posts": "公益性岗位(人)", "visits_overdue": "走访超期(户)", "never_visited": "从未走访(户)",
    "visits_last_30_days": "近30天走访(次)", "open_mediation_cases": "未办结矛盾纠纷(件)",
    "mediation_cases_total": "矛盾纠纷累计(件)",
}
RISK_LABELS = {"red": "红", "yellow": "黄", "green": "绿"}


def _fmt_figure(key: str, value: Any) -> Any:
    if key.endswith("_rate") and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if isinstance(value, bool) or value is None:
        return _fmt(value)
    if isinstance(value, int):
        return value  # a number the county can add up
    if isinstance(value, float):
        return round(value, 2)
    return _fmt(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


MONTHLY_DISPUTES = Ledger(name="monthly-disputes", title="矛盾纠纷排查情况表", producer=monthly_disputes)
FIGURES = Ledger(name="figures", title="主要指标", producer=figures)

LEDGERS: dict[str, Ledger] = {
    ledger.name: ledger
    for ledger in (
        RESIDENTS, HOUSEHOLDS, LABOUR, EMPLOYMENT, TRAINING, INTENTIONS, VISITS, MEDIATION,
        MONTHLY_DISPUTES, FIGURES,
    )
}
LEDGER_TITLES = {name: ledger.title for name, ledger in LEDGERS.items()}


def get_ledger(name: str) -> Ledger:
    try:
        return LEDGERS[name]
    except KeyError:
        raise KnownError(f"没有名为“{name}”的台账；可选：{', '.join(LEDGERS)}。") from None

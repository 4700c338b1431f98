"""Labour-force ledger, the employment figures the county asks for, and the lists behind each figure.

Definitions (all "on `today`"; ages and months come from the office settings):

- labour force (劳动力): person 在册, household not deleted, age working_age_min..working_age_max
  inclusive, labour ability 全 or 半 (a person without a birth date cannot be counted);
- employed (就业): a labour-force member with a job whose start_date <= today and whose end_date is
  empty or >= today; stable (稳定就业) when that job started at least stable_job_months months ago;
- household with labour (有劳动力户): has at least one labour-force member; zero-employment household
  (零就业家庭): has labour, none of it employed;
- training (培训) counts from per-session attendance (:data:`PRESENT_FROM` / :data:`PRESENT_WHERE`, the one
  definition every figure, list, export and print uses): 培训人次 = persons present summed over sessions;
  培训学时 = hours of the sessions each person attended, summed; trained (参加过培训) = present at one
  session or more. A year's figures take the sessions held that year.

The Excel export of the labour ledger uses :func:`labour_ledger_sql` (one data row per member of
the labour force, so its row count equals ``compute_figures(...).labour_force``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from app.models.core import settings
from app.models.core.db import Database
from app.models.core.list_query import NOTHING, Condition, ListQuery
from app.models.employment import labour_snapshot
from app.models.employment.intention_state import open_sql
from app.models.registry import households

ABILITIES = ("全", "半")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _minus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February in a common year
        return d.replace(year=d.year - years, day=28)


def minus_months(d: dt.date, months: int) -> dt.date:
    """`d` moved back `months` calendar months, the day clamped to the month's end."""
    index = d.year * 12 + (d.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    for day in (d.day, 30, 29, 28):
        if day > d.day:
            continue
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return dt.date(year, month, 28)


def _lit(value: str) -> str:
    # Dates are built here from date objects, never from user text; quoting them inline lets the
    # same WHERE fragments serve SqlTableModel (positional params) and plain queries alike.
    if not _ISO.match(value):
        raise ValueError(f"not an ISO date: {value!r}")
    return f"'{value}'"


@dataclass(frozen=True)
class LabourRules:
    """The settings and dates that every figure on one day depends on."""

    today: dt.date
    age_min: int
    age_max: int
    stable_months: int

    @property
    def born_after(self) -> str:
        """Exclusive lower bound of birth dates: born after this → not older than age_max."""
        return _minus_years(self.today, self.age_max + 1).isoformat()

    @property
    def born_by(self) -> str:
        """Inclusive upper bound of birth dates: born on or before this → at least age_min."""
        return _minus_years(self.today, self.age_min).isoformat()

    @property
    def stable_start_by(self) -> str:
        return minus_months(self.today, self.stable_months).isoformat()

    @property
    def year_start(self) -> str:
        return f"{self.today.year:04d}-01-01"

    @property
    def year_end(self) -> str:
        return f"{self.today.year:04d}-12-31"

    # -- SQL fragments (aliases: p = person, h = household) ----------------------------------
    def labour_where(self, p: str = "p", *, use_index: bool = True) -> str:
        # "Household not deleted" as NOT IN over the (few) deleted households: no join per person,
        # so counting the labour force reads one covering index (person_labour) and nothing else.
        # With a search typed, `use_index=False` (unary +) leaves the name/initials index to SQLite.
        plus = "" if use_index else "+"
        return (
            f"{plus}{p}.labour_ability IN ('全', '半') "
            f"AND {plus}{p}.birth_date > {_lit(self.born_after)} AND {plus}{p}.birth_date <= {_lit(self.born_by)} "
            f"AND {self.live_where(p)}"
        )

    @staticmethod
    def live_where(p: str = "p") -> str:
        """A registered resident (在册, not deleted) of a household that is not deleted."""
        return (f"{p}.status = '在册' AND {p}.deleted = 0 "
                f"AND {p}.household_id NOT IN (SELECT id FROM household WHERE deleted = 1)")

    def welfare_post_where(self, p: str = "p") -> str:
        """A live resident holding a public-welfare post today, whatever the age (many are past 60)."""
        return (f"{self.live_where(p)} AND {p}.id IN "
                f"(SELECT e.person_id FROM employment e WHERE e.kind = '公益性岗位' AND {self.current_job('e')})")

    def current_job(self, e: str = "e") -> str:
        today = _lit(self.today.isoformat())
        return (
            f"{e}.deleted = 0 AND {e}.start_date <= {today} "
            f"AND ({e}.end_date IS NULL OR {e}.end_date = '' OR {e}.end_date >= {today})"
        )

    def stable_job(self, e: str = "e") -> str:
        return f"{self.current_job(e)} AND {e}.start_date <= {_lit(self.stable_start_by)}"

    def employed_exists(self, p: str = "p", *, stable: bool = False) -> str:
        cond = self.stable_job("e") if stable else self.current_job("e")
        return f"EXISTS (SELECT 1 FROM employment e WHERE e.person_id = {p}.id AND {cond})"

    def employed_list(self) -> str:
        """Everyone with a current job, as a list SQLite builds once per query.

        Counting "p.id IN (list)" over the labour force costs less than an EXISTS probe per person
        (68 against 83 ms at 100,000 residents), which matters where a count runs on the UI thread.
        """
        return f"(SELECT e.person_id FROM employment e WHERE {self.current_job('e')})"

    @staticmethod
    def trained_select() -> str:
        """SELECT of everyone present at a session of a live course (one row per presence)."""
        return f"SELECT DISTINCT a.person_id FROM {PRESENT_FROM} WHERE {PRESENT_WHERE}"

    def session_in_year(self, s: str = "s") -> str:
        return f"{s}.session_date BETWEEN {_lit(self.year_start)} AND {_lit(self.year_end)}"

    def training_counts_select(self) -> str:
        """SELECT of person-times (all, with a certificate, this year …) and person-hours, in one row."""
        year = self.session_in_year("s")
        return (
            "SELECT count(*) AS total, sum(c.with_certificate = 1) AS total_cert, "
            f"sum({year}) AS year, sum({year} AND c.with_certificate = 1) AS year_cert, "
            f"total(s.hours) AS hours_total, total(CASE WHEN {year} THEN s.hours END) AS hours_year "
            f"FROM {PRESENT_FROM} WHERE {PRESENT_WHERE} "
            "AND a.person_id NOT IN (SELECT id FROM person INDEXED BY person_gone WHERE deleted = 1)"
        )

    def trained_list(self) -> str:
        """Everyone present at a session of a live course, as a list SQLite builds once per query."""
        return f"({self.trained_select()})"

    def trained_exists(self, p: str = "p") -> str:
        return f"{p}.id IN {self.trained_list()}"

    def age_sql(self, p: str = "p") -> str:
        today = self.today.isoformat()
        return (
            f"CASE WHEN {p}.birth_date IS NULL OR {p}.birth_date = '' THEN NULL ELSE "
            f"{self.today.year} - CAST(substr({p}.birth_date, 1, 4) AS INTEGER) "
            f"- ('{today[5:]}' < substr({p}.birth_date, 6, 5)) END"
        )


# -- training: the one definition of who was trained, and how much ------------------------------
# One row per person present at one session: the tick, its session, the participant's attendance and
# the course all live. 培训人次 counts these rows, 培训学时 sums their sessions' hours, and a person
# with one row or more has been trained. (Aliases: x presence, s session, a attendance, c course.)
PRESENT_FROM = (
    "training_presence x JOIN training_session s ON s.id = x.session_id "
    "JOIN training_attendance a ON a.id = x.attendance_id JOIN training_course c ON c.id = a.course_id"
)
PRESENT_WHERE = (
    "x.present = 1 AND x.deleted = 0 AND s.deleted = 0 AND a.deleted = 0 AND c.deleted = 0 "
    "AND s.course_id = a.course_id"
)


def attended_sql(a: str = "a") -> tuple[str, str]:
    """(sessions present, hours present) of attendance `a`, as two scalar subqueries (ledgers, lists)."""
    base = (f"FROM training_presence x JOIN training_session s ON s.id = x.session_id "
            f"WHERE x.attendance_id = {a}.id AND x.present = 1 AND x.deleted = 0 AND s.deleted = 0 "
            f"AND s.course_id = {a}.course_id")
    return f"(SELECT count(*) {base})", f"(SELECT total(s.hours) {base})"


def course_person_times_sql(c: str = "c") -> str:
    """Person-times of course `c` (a scalar subquery for the course list)."""
    return ("(SELECT count(*) FROM training_presence x JOIN training_session s ON s.id = x.session_id "
            f"JOIN training_attendance a ON a.id = x.attendance_id WHERE s.course_id = {c}.id "
            "AND a.course_id = s.course_id AND x.present = 1 AND x.deleted = 0 AND s.deleted = 0 AND a.deleted = 0 "
            "AND a.person_id NOT IN (SELECT id FROM person WHERE deleted = 1))")


def hours_text(sql: str) -> str:
    """SQL showing a number of hours as a clerk writes it: 40, 12.5; empty when NULL."""
    return (f"CASE WHEN {sql} IS NULL THEN '' WHEN {sql} = CAST({sql} AS INTEGER) "
            f"THEN CAST(CAST({sql} AS INTEGER) AS TEXT) ELSE CAST(round({sql}, 2) AS TEXT) END")


def rules(db: Database, today: dt.date | None = None) -> LabourRules:
    """The rules in force for `today` (default: the real today) from the office settings."""
    return LabourRules(
        today=today or dt.date.today(),
        age_min=int(settings.get(db, "working_age_min")),
        age_max=int(settings.get(db, "working_age_max")),
        stable_months=int(settings.get(db, "stable_job_months")),
    )


def age_on(birth_date: str | None, today: dt.date) -> int | None:
    """Whole years of age on `today` from an ISO birth date (None when unknown)."""
    if not birth_date or not _ISO.match(birth_date[:10]):
        return None
    born = dt.date.fromisoformat(birth_date[:10])
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# -- the figures --------------------------------------------------------------------------------
@dataclass
class LabourFigures:
    """Every figure of the employment tab for one day; ``as_stats()`` gives the stats.json keys."""

    today: str
    labour_force: int = 0
    employed: int = 0
    employed_stable: int = 0
    employed_other: int = 0
    unemployed: int = 0
    employment_rate: float = 0.0
    employed_per_household: float = 0.0
    households_with_labour: int = 0
    households_with_stable_job: int = 0
    households_without_stable_job: int = 0
    zero_employment_households: int = 0
    never_trained: int = 0
    training_person_times_year: int = 0
    training_person_times_year_cert: int = 0
    training_person_times_year_nocert: int = 0
    training_person_times_total: int = 0
    training_person_times_total_cert: int = 0
    training_person_times_total_nocert: int = 0
    training_hours_year: float = 0.0
    training_hours_total: float = 0.0
    public_welfare_posts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_stats(self) -> dict[str, Any]:
        """The keys `anju stats --json` carries for employment."""
        return {
            "labour_force": self.labour_force,
            "employed": self.employed,
            "employed_stable": self.employed_stable,
            "employment_rate": round(self.employment_rate, 4),
            "employed_per_household": round(self.employed_per_household, 2),
            "households_with_labour": self.households_with_labour,
            "households_with_stable_job": self.households_with_stable_job,
            "households_without_stable_job": self.households_without_stable_job,
            "zero_employment_households": self.zero_employment_households,
            "never_trained": self.never_trained,
            "training_person_times_year": self.training_person_times_year,
            "training_person_times_total": self.training_person_times_total,
            "training_person_times_year_cert": self.training_person_times_year_cert,
            "training_person_times_year_nocert": self.training_person_times_year_nocert,
            "training_hours_year": round(self.training_hours_year, 2),
            "training_hours_total": round(self.training_hours_total, 2),
            "public_welfare_posts": self.public_welfare_posts,
        }


def compute_figures(db: Database, today: dt.date | None = None) -> LabourFigures:
    """All figures, from the connection's labour snapshot (see :mod:`app.models.employment.labour_snapshot`)."""
    r = rules(db, today)
    snap = labour_snapshot.snapshot(db, r)
    f = LabourFigures(today=r.today.isoformat())
    none, other, stable = snap.counts
    best = snap.best
    f.labour_force = none + other + stable
    f.employed = other + stable
    f.employed_stable = stable
    f.employed_other = other
    f.unemployed = none
    f.households_with_labour = len(best)
    f.households_with_stable_job = sum(1 for code in best.values() if code == labour_snapshot.STABLE)
    f.households_without_stable_job = f.households_with_labour - f.households_with_stable_job
    f.zero_employment_households = sum(1 for code in best.values() if code == labour_snapshot.NONE)
    assert snap.trained is not None and snap.training is not None and snap.posts is not None
    f.never_trained = f.labour_force - sum(1 for pid in snap.trained if pid in snap.people)
    f.employment_rate = f.employed / f.labour_force if f.labour_force else 0.0
    f.employed_per_household = f.employed / f.households_with_labour if f.households_with_labour else 0.0
    t = snap.training
    f.training_person_times_total = t["total"]
    f.training_person_times_total_cert = t["total_cert"]
    f.training_person_times_total_nocert = t["total"] - t["total_cert"]
    f.training_person_times_year = t["year"]
    f.training_person_times_year_cert = t["year_cert"]
    f.training_person_times_year_nocert = t["year"] - t["year_cert"]
    f.training_hours_total = t["hours_total"]
    f.training_hours_year = t["hours_year"]
    f.public_welfare_posts = snap.posts
    return f


# -- what each figure means (shown as tooltips, so a clerk can explain a number) ----------------
def figure_definitions(r: LabourRules) -> dict[str, tuple[str, str]]:
    """key → (short Chinese title, definition)."""
    lf = (
        f"在册、所在户未注销、年龄 {r.age_min}–{r.age_max} 周岁（含）、劳动能力为全劳动力或半劳动力的居民"
        f"（按 {r.today.isoformat()} 计算；没有出生日期的居民无法计入）"
    )
    cur = "有一份开始日期不晚于今天、且未结束（或结束日期不早于今天）的工作"
    stable = f"当前工作开始日期在 {r.stable_start_by} 或更早（已连续工作满 {r.stable_months} 个月）"
    return {
        "labour_force": ("劳动力", f"劳动力：{lf}。"),
        "employed": ("已就业", f"已就业：劳动力中{cur}的人数（稳定就业 + 其他就业）。"),
        "employed_stable": ("稳定就业", f"稳定就业：已就业且{stable}的人数。"),
        "employed_other": ("其他就业", f"其他就业：已就业但当前工作未满 {r.stable_months} 个月的人数。"),
        "unemployed": ("未就业", "未就业：劳动力中当前没有工作的人数。"),
        "employment_rate": ("就业率", "就业率 = 已就业人数 ÷ 劳动力人数。"),
        "employed_per_household": ("户均就业", "户均就业 = 已就业人数 ÷ 有劳动力户数。"),
        "households_with_labour": ("有劳动力户", "有劳动力户：至少有一名劳动力的户数。"),
        "households_with_stable_job": (
            "一户一人以上稳定就业",
            f"有劳动力、且至少一人稳定就业的户数（稳定就业：{stable}）。",
        ),
        "households_without_stable_job": (
            "未实现稳定就业户",
            "有劳动力、但没有任何一人稳定就业的户数（需重点帮扶）。",
        ),
        "zero_employment_households": (
            "零就业家庭",
            "零就业家庭：有劳动力、但劳动力中没有任何人就业的户数。登记就业后立即从名单中消失（动态清零）。",
        ),
        "never_trained": ("从未培训", "从未培训：劳动力中没有出勤过任何一次培训课的人数。"),
        "training_person_times_year": (
            f"{r.today.year}年培训人次",
            f"{r.today.year} 年上课的培训课次的出勤人次之和（每次课按当次出勤人数计，一人上两次课算两人次），"
            "含有证书/无证书培训。",
        ),
        "training_person_times_total": ("累计培训人次", "全部培训课次的出勤人次之和（累计）。"),
        "training_hours_year": (
            f"{r.today.year}年培训学时",
            f"{r.today.year} 年上课的培训课次中，每人出勤课次的学时之和（人·学时）。",
        ),
        "training_hours_total": ("累计培训学时", "全部培训课次中，每人出勤课次的学时之和（人·学时，累计）。"),
        "public_welfare_posts": (
            "公益性岗位",
            "公益性岗位：当前在公益性岗位上的在册居民人数（不限年龄；一人两岗算一人）。",
        ),
    }


# -- the lists behind the figures ---------------------------------------------------------------
# LEFT JOINs: the labour WHERE never needs them, so SQLite drops them when it only counts rows.
PEOPLE_FROM = (
    "person p LEFT JOIN household h ON h.id = p.household_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)
HOUSEHOLD_FROM = (
    "household h LEFT JOIN person hp ON hp.id = h.head_person_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)
ATTENDANCE_FROM = (
    "training_attendance a JOIN training_course c ON c.id = a.course_id "
    "JOIN person p ON p.id = a.person_id LEFT JOIN household h ON h.id = p.household_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)
# One row per person present at one session (the rows behind person-times), with the person's place.
PRESENCE_LIST_FROM = (
    f"{PRESENT_FROM} JOIN person p ON p.id = a.person_id LEFT JOIN household h ON h.id = p.household_id "
    "LEFT JOIN room r ON r.id = h.room_id LEFT JOIN unit u ON u.id = r.unit_id "
    "LEFT JOIN building b ON b.id = u.building_id"
)
ADDRESS_SQL = households.ADDRESS_SQL  # "3栋2单元501", as in the registry


@dataclass(frozen=True)
class FigureList:
    """The rows behind one figure: a FROM, the columns (key, title, sql), a WHERE and an order."""

    key: str
    title: str
    kind: str  # people / households / attendance
    from_sql: str
    lean_from: str
    columns: list[tuple[str, str, str]]
    where: str
    order_by: str
    id_sql: str

    @property
    def joined_aliases(self) -> tuple[str, ...]:
        """Aliases `from_sql` joins beyond `lean_from` (a WHERE naming one needs the full FROM)."""
        return ("r", "u", "b", "hp") if self.kind == "households" else ("h", "r", "u", "b", "hp")

    def count_sql(self) -> str:
        return f"SELECT count(*) FROM {self.lean_from} WHERE {self.where}"

    def query(self) -> ListQuery:
        """The list's rows for a table that is given their ids (:func:`figure_ids`) and pages them."""
        return ListQuery(self.from_sql, id_sql=self.id_sql, lean_from=self.lean_from,
                         joined_aliases=self.joined_aliases)

    def select_sql(self, limit: int | None = None) -> str:
        cols = ", ".join(f'{sql} AS "{key}"' for key, _t, sql in self.columns)
        tail = f" LIMIT {int(limit)}" if limit else ""
        return (
            f"SELECT {self.id_sql} AS _id, {cols} FROM {self.from_sql} WHERE {self.where} "
            f"ORDER BY {self.order_by}{tail}"
        )


def people_columns(r: LabourRules) -> list[tuple[str, str, str]]:
    """The labour-ledger columns (ID number whole here; the UI masks it for display)."""
    return [
        ("name", "姓名", "p.name"),
        ("id_number", "身份证号", "p.id_number"),
        ("household", "户号", "h.number"),
        ("address", "住址", ADDRESS_SQL),
        ("age", "年龄", r.age_sql("p")),
        ("labour_ability", "劳动能力", "p.labour_ability"),
        (
            "current_job",
            "当前就业",
            "(SELECT e.kind || coalesce('·' || nullif(e.sub_kind, ''), '') "
            "|| coalesce('（' || nullif(e.employer, '') || '）', '') "
            f"|| CASE WHEN e.start_date <= {_lit(r.stable_start_by)} THEN ' 稳定' ELSE '' END "
            f"FROM employment e WHERE e.person_id = p.id AND {r.current_job('e')} "
            "ORDER BY e.start_date DESC LIMIT 1)",
        ),
        (
            "last_training",
            "最近培训",
            f"(SELECT c.name || '（' || coalesce(s.session_date, '') || '）' FROM {PRESENT_FROM} "
            f"WHERE a.person_id = p.id AND {PRESENT_WHERE} ORDER BY s.session_date DESC LIMIT 1)",
        ),
        (
            "intention",
            "需求",
            "(SELECT group_concat(i.kind, '、') FROM intention i WHERE i.person_id = p.id "
            f"AND i.deleted = 0 AND {open_sql('i')})",
        ),
    ]


def household_columns(r: LabourRules) -> list[tuple[str, str, str]]:
    # Per household row: look its members up by household (never a range over the labour index).
    lf = r.labour_where("p", use_index=False)
    members = "FROM person p INDEXED BY person_household_status WHERE p.household_id = h.id"
    return [
        ("number", "户号", "h.number"),
        ("head", "户主", "hp.name"),
        ("address", "住址", ADDRESS_SQL),
        ("labour", "劳动力", f"(SELECT count(*) {members} AND {lf})"),
        ("employed", "已就业", f"(SELECT count(*) {members} AND {lf} AND {r.employed_exists('p')})"),
        ("stable", "稳定就业", f"(SELECT count(*) {members} AND {lf} AND {r.employed_exists('p', stable=True)})"),
        ("phone", "户主电话", "hp.phone"),
    ]


def attendance_columns() -> list[tuple[str, str, str]]:
    """Columns of the person-times list: one row per person present at one session."""
    return [
        ("name", "姓名", "p.name"),
        ("id_number", "身份证号", "p.id_number"),
        ("address", "住址", ADDRESS_SQL),
        ("course", "培训班", "c.name"),
        ("kind", "类别", "c.kind"),
        ("session_date", "上课日期", "s.session_date || coalesce(' ' || s.start_time, '')"),
        ("hours", "学时", hours_text("s.hours")),
        ("certificate", "证书", "CASE WHEN c.with_certificate = 1 THEN coalesce(c.certificate_name, '有证书') ELSE '无证书' END"),
        ("obtained", "已取得证书", "CASE WHEN a.certificate_obtained = 1 THEN '是' ELSE '' END"),
    ]


PEOPLE_FIGURES = ("labour_force", "employed", "employed_stable", "employed_other", "unemployed", "never_trained",
                  "public_welfare_posts")
HOUSEHOLD_FIGURES = ("households_with_labour", "households_with_stable_job", "households_without_stable_job",
                     "zero_employment_households")
ATTENDANCE_FIGURES = ("training_person_times_year", "training_person_times_total")
# Hours are a sum over the same rows: their list is the person-times list of the same period.
HOURS_LISTS = {"training_hours_year": "training_person_times_year",
               "training_hours_total": "training_person_times_total"}


def _household_filter(r: LabourRules, having: str) -> str:
    # One grouped pass over the labour force (an IN-list SQLite builds once) rather than a correlated
    # EXISTS per household.
    return (
        f"h.deleted = 0 AND h.id IN (SELECT p.household_id FROM person p WHERE {r.labour_where()} "
        f"GROUP BY p.household_id HAVING {having})"
    )


def figure_list(db: Database, key: str, today: dt.date | None = None) -> FigureList:
    """The people / households / attendances behind figure `key`."""
    r = rules(db, today)
    titles = figure_definitions(r)
    title = titles.get(key, (key, ""))[0]
    lf = r.labour_where()
    emp = r.employed_exists("p")
    stable = r.employed_exists("p", stable=True)
    people_where = {
        "labour_force": lf,
        "employed": f"{lf} AND {emp}",
        "employed_stable": f"{lf} AND {stable}",
        "employed_other": f"{lf} AND {emp} AND NOT {stable}",
        "unemployed": f"{lf} AND NOT {emp}",
        "never_trained": f"{lf} AND NOT {r.trained_exists('p')}",
        "public_welfare_posts": r.welfare_post_where("p"),
    }
    if key in people_where:
        # Default order: registration order (rowid), which keeps a household's members together and
        # needs no join or sort over 58,000 rows; any column header sorts properly.
        return FigureList(key, title, "people", PEOPLE_FROM, "person p", people_columns(r), people_where[key],
                          "p.rowid", "p.id")
    household_where = {
        "households_with_labour": (
            "h.deleted = 0 AND h.id IN (SELECT p.household_id FROM person p "
            f"WHERE {r.labour_where()})"
        ),
        "households_with_stable_job": _household_filter(r, f"max({stable}) = 1"),
        "households_without_stable_job": _household_filter(r, f"max({stable}) = 0"),
        "zero_employment_households": _household_filter(r, f"max({emp}) = 0"),
    }
    if key in household_where:
        return FigureList(key, title, "households", HOUSEHOLD_FROM, "household h", household_columns(r),
                          household_where[key], "h.number", "h.id")
    base = f"{PRESENT_WHERE} AND p.deleted = 0"
    attendance_where = {
        "training_person_times_total": base,
        "training_person_times_year": f"{base} AND {r.session_in_year('s')}",
    }
    if key in HOURS_LISTS:
        title, key = titles[key][0], HOURS_LISTS[key]
    if key in attendance_where:
        # Counting and listing ids need no address: the lean FROM joins the person alone.
        return FigureList(key, title, "attendance", PRESENCE_LIST_FROM, f"{PRESENT_FROM} JOIN person p ON p.id = a.person_id",
                          attendance_columns(), attendance_where[key], "s.session_date DESC, c.name, p.name", "x.id")
    raise KeyError(key)


# Which members / households each figure keeps, by job code (see labour_snapshot).
_PEOPLE_CODES = {
    "labour_force": (0, 1, 2), "employed": (1, 2), "employed_stable": (2,), "employed_other": (1,),
    "unemployed": (0,),
}
_HOUSEHOLD_CODES = {
    "households_with_labour": (0, 1, 2), "households_with_stable_job": (2,),
    "households_without_stable_job": (0, 1), "zero_employment_households": (0,),
}


def figure_ids(db: Database, key: str, today: dt.date | None = None) -> list[str]:
    """Ids of the rows behind a figure, in the list's order (the list window pages rows by id).

    Labour-force people and households come from the snapshot; the public-welfare and attendance
    lists, which reach beyond the labour force, from their SQL.
    """
    r = rules(db, today)
    if key in _PEOPLE_CODES or key == "never_trained" or key in _HOUSEHOLD_CODES:
        snap = labour_snapshot.snapshot(db, r)
        if key in _HOUSEHOLD_CODES:
            keep = _HOUSEHOLD_CODES[key]
            numbers = labour_snapshot.household_numbers(db, snap)
            hids = [hid for hid, code in snap.best.items() if code in keep]
            return sorted(hids, key=lambda hid: (numbers.get(hid) or "", hid))
        if key == "never_trained":
            trained = snap.trained or set()
            return [pid for pid, _code in snap.ordered if pid not in trained]
        keep = _PEOPLE_CODES[key]
        return [pid for pid, code in snap.ordered if code in keep]
    fl = figure_list(db, key, today)
    sql = f"SELECT {fl.id_sql} FROM {fl.lean_from} WHERE {fl.where} ORDER BY {fl.order_by}, {fl.id_sql}"
    return [row[0] for row in db.conn.execute(sql)]


def labour_ledger_sql(db: Database, today: dt.date | None = None) -> tuple[str, list[Any]]:
    """SELECT of the labour-force ledger for export: one row per labour-force member.

    Columns (aliases, in order): name, id_number (whole; mask it if the sheet leaves the office),
    household, address, age, labour_ability, current_job, last_training, intention. The row count
    equals ``compute_figures(db, today).labour_force``.
    """
    fl = figure_list(db, "labour_force", today)
    cols = ", ".join(f'{sql} AS "{key}"' for key, _t, sql in fl.columns)
    return f"SELECT {cols} FROM {fl.from_sql} WHERE {fl.where} ORDER BY {fl.order_by}", []


def labour_ledger_titles(db: Database, today: dt.date | None = None) -> list[tuple[str, str]]:
    """(alias, Chinese header) of the columns :func:`labour_ledger_sql` selects."""
    return [(key, title) for key, title, _sql in people_columns(rules(db, today))]


# -- lists of the employment tab -------------------------------------------------------------------
def live_person_sql(col: str) -> str:
    """Rows whose person (column `col`) is not deleted, without joining person for every row
    (deleted people are few)."""
    return f"{col} NOT IN (SELECT id FROM person WHERE deleted = 1)"


RESIDENT_LIVE = Condition("p.deleted = 0 AND p.status = '在册' AND h.deleted = 0")


def residents_query(search: Condition = Condition(), *, household_id: str | None = None) -> ListQuery:  # noqa: B008
    """The registered residents a person search shows (the resident picker of every ledger).

    `search`: what is typed, read as in the registry (``registry_search.person_condition``); with
    `household_id`, only that household's members, listed before anything is typed. Without
    either, nothing: no list of the whole community.
    """
    parts = [RESIDENT_LIVE]
    if household_id is not None:
        parts.append(Condition("(p.household_id = ?)", (household_id,)))
    if search.sql:
        parts.append(search)
    elif household_id is None:
        parts.append(NOTHING)
    walk_from = ""
    if search.walk and household_id is None:  # one household's members are few: its own index serves
        walk_from = PEOPLE_FROM.replace("person p ", f"person p INDEXED BY {search.walk} ", 1)
    return ListQuery(PEOPLE_FROM, id_sql="p.id", walk_from=walk_from).filtered(Condition.all_of(parts))


def residents_rows(db: Database, columns: list[tuple[str, str]], person_ids: list[str]) -> list[dict[str, Any]]:
    """The picker's columns of `person_ids` (a pasted list, a previous course's participants)."""
    return ListQuery(PEOPLE_FROM, id_sql="p.id").rows_of(db, columns, person_ids)


# The labour ledger's filters, in the order the tab offers them.
LEDGER_VIEWS = ("labour_force", "employed", "unemployed", "never_trained", "open_intention")


def ledger_ids(db: Database, today: dt.date, view: str, search: Condition = Condition()) -> list[str]:  # noqa: B008
    """The labour-ledger rows for a view (:data:`LEDGER_VIEWS`) and a person search
    (``registry_search.person_condition``), in ledger order.

    Without a search the figures' snapshot answers (every view but open_intention is a figure);
    with one, the search narrows in SQL.
    """
    if view not in LEDGER_VIEWS:
        raise ValueError(view)
    cond = search
    if not cond.sql and view != "open_intention":
        return figure_ids(db, view, today)
    r = rules(db, today)
    # A search leaves few people: probing their jobs beats building the list of every job holder.
    employed = r.employed_exists("p") if cond.sql else f"p.id IN {r.employed_list()}"
    extra = {
        "employed": f" AND {employed}",
        "unemployed": f" AND NOT {employed}",
        "never_trained": f" AND NOT {r.trained_exists('p')}",
        "open_intention": f" AND p.id IN (SELECT i.person_id FROM intention i WHERE i.deleted = 0 AND {open_sql('i')})",
    }.get(view, "")
    where = r.labour_where("p", use_index=not cond.sql) + extra + (f" AND {cond.sql}" if cond.sql else "")
    from_sql = PEOPLE_FROM if cond.sql else "person p"
    sql = f"SELECT p.id FROM {from_sql} WHERE {where} ORDER BY p.rowid"
    return [row[0] for row in db.conn.execute(sql, cond.params)]


def person_line(db: Database, person_id: str, today: dt.date) -> dict[str, Any] | None:
    """Name, age on `today`, address and ID number of one person (for the line naming them in a form)."""
    row = db.one(f"SELECT p.name, p.birth_date, p.id_number, {ADDRESS_SQL} AS address FROM {PEOPLE_FROM} "
                 "WHERE p.id = ?", (person_id,))
    if row is None:
        return None
    return {"name": row["name"], "age": age_on(row["birth_date"], today), "address": row["address"],
            "id_number": row["id_number"]}

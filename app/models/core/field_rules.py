"""What a stored field may hold, table by table: one registry that every incoming sync op is checked against.

Each synced column has a :class:`Rule` (type, vocabulary, length limit, extra check). Explicit
rules are declared here from the stored vocabularies (:mod:`app.models.core.vocab`), the limits
below (which the feature modules and their dialogs use too) and the ID-number check;
a column nobody declared gets a rule derived from the schema (declared type, NOT NULL, foreign
key) with :data:`DEFAULT_TEXT_LIMIT`. A new synced table declares its rules with :func:`register`.

The rules are context-free on purpose: two PCs judging the same op must reach the same verdict
whatever their data or clock, or they would stop converging. Whether a referenced row exists is
decided by the sync importer once the bundle is applied.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.models.core import access, vocab
from app.models.core import sqlite as sqlite3
from app.models.core.errors import ValidationError
from app.models.core.schema import _q, synced_tables
from app.models.core.text_rules import CONTROL_CLASS
from app.models.core.vocab import CaseLevel, CaseStatus, HouseholdStatus, LabourAbility, PersonStatus
from app.models.places.signs import all_signs

# Nothing longer fits in one Excel cell, so no ledger could show it: the limit for text fields
# that declare none of their own (free notes, descriptions).
DEFAULT_TEXT_LIMIT = 32_767
ROW_ID_LIMIT = 100
# The same characters entry and import refuse (text_rules), so sync judges an op as a form would.
CONTROL = _CONTROL = re.compile(f"[{CONTROL_CLASS}]")
_LINE_BREAK = re.compile("[\t\r\n]")

# Limits and labels of the domain's fields, stated once here (persons, visits, employment and
# training read them from here for their own checks and dialogs).
PERSON_TEXT_LIMITS = {"name": 30, "ethnicity": 20, "relation": 20, "education": 20, "notes": 1000}
PERSON_LABELS = {"name": "姓名", "ethnicity": "民族", "relation": "与户主关系", "education": "文化程度", "notes": "备注",
                 "phone": "电话", "id_number": "身份证号", "birth_date": "出生日期", "sex": "性别",
                 "labour_ability": "劳动能力"}
VISIT_TEXT_LIMIT = 1000
MAX_MONTHLY_FEN = 100_000_00  # 100,000 yuan a month: anything above is a typing slip
TRAINING_TOPIC_LIMIT = 100
TRAINING_PLACE_LIMIT = 60

TABLE_LABELS: dict[str, str] = {
    "person": "居民", "household": "户", "household_address": "住址记录", "community": "社区", "district": "片区",
    "grid": "网格", "building": "楼栋", "unit": "单元", "room": "房间", "place_role": "楼栋长/网格员",
    "income_check": "收支核查", "risk_change": "风险变更", "visit": "走访记录", "employment": "就业记录",
    "training_course": "培训班", "training_attendance": "培训参加记录", "training_session": "培训课次",
    "training_presence": "培训出勤", "intention": "需求记录",
    "mediation_case": "调解案件", "mediation_party": "调解当事人", "mediation_event": "调解办理记录",
    "mediation_followup": "调解回访", "setting": "单位设置", "app_user": "用户", "sync_review": "审核决定",
    "account": "登录账号", "account_building": "账号负责的楼栋",
}


# Labels of the columns that refer to another record (their rules come from the schema).
REF_LABELS: dict[str, str] = {
    "household_id": "所属户", "person_id": "居民", "head_person_id": "户主", "room_id": "房间", "unit_id": "单元",
    "building_id": "楼栋", "grid_id": "网格", "district_id": "片区", "community_id": "社区", "case_id": "调解案件",
    "course_id": "培训班", "visit_id": "走访记录", "mediation_case_id": "调解案件", "visitor_person_id": "走访人",
    "met_employment_id": "对应的就业记录", "met_attendance_id": "对应的培训记录",
    "session_id": "培训课次", "attendance_id": "参训记录",
}


@dataclass(frozen=True)
class Rule:
    """What one column may hold. ``kind``: text, int, real, flag (0/1), date, id_number or ref (a row id)."""

    label: str
    kind: str = "text"
    max_len: int | None = None
    choices: tuple[Any, ...] | None = None
    required: bool = False
    single_line: bool = False
    low: float | None = None
    high: float | None = None
    ref: str | None = None
    extra: Callable[[Any], None] | None = None

    @property
    def limit(self) -> int:
        return self.max_len if self.max_len is not None else DEFAULT_TEXT_LIMIT


_RULES: dict[str, dict[str, Rule]] = {}


def register(table: str, rules: Mapping[str, Rule]) -> None:
    """Declare (or replace) the rules of some columns of `table`; the others keep schema-derived rules."""
    _RULES.setdefault(table, {}).update(rules)


def declared(table: str) -> dict[str, Rule]:
    return dict(_RULES.get(table, {}))


def text_limit(table: str, col: str) -> int:
    """The stated length limit of a text field (the default one when the field declares none)."""
    rule = _RULES.get(table, {}).get(col)
    return rule.limit if rule else DEFAULT_TEXT_LIMIT


def label_of(table: str, col: str) -> str:
    rule = _RULES.get(table, {}).get(col)
    return rule.label if rule else REF_LABELS.get(col, col)


# -- the checks ----------------------------------------------------------------------------------
def _fail(rule: Rule, col: str, text: str) -> ValidationError:
    return ValidationError(f"{rule.label}{text}", field=col)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = _CONTROL.sub("?", text)
    return text if len(text) <= 20 else text[:20] + "…"


def check_value(rule: Rule, col: str, value: Any) -> None:
    """Raise ValidationError (Chinese, naming the field and the limit) unless `value` fits `rule`."""
    if value is None or (value == "" and rule.kind in ("date", "id_number", "ref")):
        if rule.required:
            raise _fail(rule, col, "不能为空。")
        return
    kind = rule.kind
    if kind in ("int", "flag"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(rule, col, f"应为整数，收到的是“{_show(value)}”。")
        if kind == "flag" and value not in (0, 1):
            raise _fail(rule, col, f"只能是 0 或 1，收到的是 {_show(value)}。")
    elif kind == "real":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _fail(rule, col, f"应为数字，收到的是“{_show(value)}”。")
    else:
        if not isinstance(value, str):
            raise _fail(rule, col, f"应为文字，收到的是“{_show(value)}”。")
        if len(value) > rule.limit:
            raise _fail(rule, col, f"太长：最多 {rule.limit} 个字，收到 {len(value)} 个。")
        if _CONTROL.search(value) or (rule.single_line and _LINE_BREAK.search(value)):
            raise _fail(rule, col, "含有不可见的控制字符。")
        if kind == "date":
            try:
                dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
            except ValueError:
                raise _fail(rule, col, f"“{_show(value)}”不是有效日期。") from None
        elif kind == "id_number":
            from app.models.core.id_numbers import IdNumberError, parse

            try:
                # A baby registered today on a PC whose clock runs a day ahead is still genuine.
                # A wrong check digit is allowed as at entry, where the clerk keeps it 待核实.
                info = parse(value, today=dt.date.today() + dt.timedelta(days=2), allow_bad_check_digit=True)
            except IdNumberError as exc:
                raise _fail(rule, col, f"“{_show(value)}”无效：{exc}") from None
            if info.number != value:
                raise _fail(rule, col, f"“{_show(value)}”不是 18 位标准写法。")
    if rule.choices is not None and value not in rule.choices:
        shown = "、".join(str(c) for c in rule.choices)
        raise _fail(rule, col, f"只能是：{shown}；收到的是“{_show(value)}”。")
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        raise _fail(rule, col, f"应在 {rule.low:g} 到 {rule.high:g} 之间，收到的是 {_show(value)}。")
    if rule.extra is not None:
        rule.extra(value)


_BAD_TEXT = re.compile(_CONTROL.pattern[:-1] + "\t\r\n]")


def _fast(rule: Rule) -> Callable[[Any], bool]:
    """A quick test that is True only for values :func:`check_value` accepts (False: ask it why).

    A first sync checks every field of every row (a community is millions of values): the common
    cases are decided here without building a message.
    """
    empty_ok = not rule.required
    lim = rule.limit
    if rule.extra is not None or rule.kind in ("date", "id_number"):
        return lambda v: False if v is not None else empty_ok
    if rule.choices is not None and rule.low is None:
        choices = frozenset(rule.choices)
        return lambda v: (v is None and empty_ok) or (type(v) is str and v in choices)
    if rule.kind == "flag":
        return lambda v: (v is None and empty_ok) or (type(v) is int and (v == 0 or v == 1))
    if rule.kind in ("int", "real"):
        lo = -math.inf if rule.low is None else rule.low
        hi = math.inf if rule.high is None else rule.high
        types = (int,) if rule.kind == "int" else (int, float)
        return lambda v: (v is None and empty_ok) or (type(v) in types and lo <= v <= hi)
    bad = (_BAD_TEXT if rule.single_line or rule.kind == "ref" else _CONTROL).search
    return lambda v: (v is None and empty_ok) or (type(v) is str and len(v) <= lim and not bad(v))


def check_row_id(row_id: Any) -> None:
    if not isinstance(row_id, str) or not row_id or len(row_id) > ROW_ID_LIMIT or _CONTROL.search(row_id) \
            or _LINE_BREAK.search(row_id):
        raise ValidationError(f"记录编号“{_show(row_id)}”无效。", field="id")


class Rules:
    """The rules of every synced table of one database (declared ones over schema-derived ones)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.columns: dict[str, dict[str, Rule]] = {}
        self.required: dict[str, list[str]] = {}
        self.fast: dict[str, dict[str, Callable[[Any], bool]]] = {}
        for table in synced_tables(conn):
            fks = {r[3]: r[2] for r in conn.execute(f"PRAGMA foreign_key_list({_q(table)})")}
            own = _RULES.get(table, {})
            cols: dict[str, Rule] = {}
            required = []
            for _cid, name, decl, notnull, default, pk in conn.execute(f"PRAGMA table_info({_q(table)})"):
                if pk:
                    continue
                rule = own.get(name) or _from_schema(name, str(decl or "").upper(), fks.get(name))
                if notnull and not rule.required:
                    rule = replace(rule, required=True)
                if fks.get(name) and rule.ref is None:
                    rule = replace(rule, ref=fks[name])
                cols[name] = rule
                if notnull and default is None:
                    required.append(name)
            self.columns[table] = cols
            self.required[table] = required
            self.fast[table] = {c: _fast(r) for c, r in cols.items()}

    def check(self, table: str, col: str, value: Any) -> None:
        cols = self.columns.get(table)
        if cols is None:
            raise ValidationError(f"本程序不认识数据表“{_show(table)}”。")
        if col == "*":
            if not isinstance(value, dict):
                raise ValidationError(f"{TABLE_LABELS.get(table, table)}的新记录应是一组字段，收到的不是。")
            self.check_insert(table, value)
            return
        rule = cols.get(col)
        if rule is None:
            raise ValidationError(f"本程序不认识“{TABLE_LABELS.get(table, table)}”的字段“{_show(col)}”。")
        if not self.fast[table][col](value):
            check_value(rule, col, value)

    def check_insert(self, table: str, values: Mapping[str, Any]) -> None:
        cols = self.columns[table]
        fast = self.fast[table]
        for col, value in values.items():
            quick = fast.get(col)
            if quick is not None and quick(value):
                continue
            if col == "id":
                continue
            rule = cols.get(col)
            if rule is None:
                raise ValidationError(f"本程序不认识“{TABLE_LABELS.get(table, table)}”的字段“{_show(col)}”。")
            check_value(rule, col, value)
        for col in self.required[table]:
            if values.get(col) is None:
                raise _fail(cols[col], col, "不能为空。")

    def refs(self, table: str) -> list[tuple[str, str]]:
        """(column, referenced table) of the table's foreign keys."""
        return [(c, r.ref) for c, r in self.columns.get(table, {}).items() if r.ref]


_FLAG_COLUMNS = {"retired", "active", "with_certificate", "certificate_obtained", "follow_up_needed", "deleted",
                 "hukou_moved", "party_member", "student", "organised", "in_province"}


def _from_schema(name: str, decl: str, ref: str | None) -> Rule:
    if ref:
        return Rule(REF_LABELS.get(name, name), "ref", max_len=ROW_ID_LIMIT, single_line=True, ref=ref)
    if name in _FLAG_COLUMNS or name.startswith(("sg_", "tag_")):
        return Rule(name, "flag")
    if "INT" in decl:
        return Rule(name, "int")
    if "REAL" in decl or "FLOA" in decl or "DOUB" in decl:
        return Rule(name, "real")
    if name.endswith("_date"):
        return Rule(name, "date", max_len=32, single_line=True)
    return Rule(name, "text")


# -- the declared rules ----------------------------------------------------------------------------
def _declare() -> None:
    """Declare the domain's rules (once, when this module is loaded)."""

    def text(label: str, n: int, **kw: Any) -> Rule:
        return Rule(label, "text", max_len=n, **kw)

    def date(label: str, **kw: Any) -> Rule:
        return Rule(label, "date", max_len=32, single_line=True, **kw)

    def one_of(label: str, values: Any, **kw: Any) -> Rule:
        return Rule(label, "text", max_len=40, choices=tuple(values), single_line=True, **kw)

    lim = PERSON_TEXT_LIMITS
    lab = PERSON_LABELS
    register("person", {
        "name": text(lab["name"], lim["name"], required=True, single_line=True),
        "name_pinyin": text("姓名拼音", 200, single_line=True),
        "name_initials": text("姓名首字母", 60, single_line=True),
        "id_number": Rule(lab["id_number"], "id_number", max_len=18),
        "sex": one_of(lab["sex"], vocab.SEXES),
        "birth_date": date(lab["birth_date"]),
        "ethnicity": text(lab["ethnicity"], lim["ethnicity"], single_line=True),
        "relation": text(lab["relation"], lim["relation"], single_line=True),
        "phone": text(lab["phone"], 40, single_line=True),
        "education": text(lab["education"], lim["education"], single_line=True),
        "labour_ability": one_of(lab["labour_ability"], list(LabourAbility)),
        "status": one_of("人员状态", list(PersonStatus), required=True),
        "status_date": date("状态日期"),
        "notes": text(lab["notes"], lim["notes"]),
    })
    register("household", {
        "number": text("户号", 30, required=True, single_line=True),
        "origin_township": text("迁出乡镇", 30, single_line=True),
        "origin_village": text("迁出村", 30, single_line=True),
        "move_in_date": date("入住日期"),
        "risk_colour": one_of("风险等级", vocab.RISK_COLOURS, required=True),
        "residence_permit": one_of("居住证", vocab.CERT_STATES),
        "property_cert": one_of("产权证", vocab.CERT_STATES),
        "garden_plot_m2": Rule("微菜园面积", "real", low=0, high=10000),
        "status": one_of("户状态", list(HouseholdStatus), required=True),
        "notes": text("备注", 2000),
    })
    for table, kind in (("community", "社区"), ("district", "片区"), ("grid", "网格"), ("building", "楼栋")):
        register(table, {"name": text(f"{kind}名称", 40, required=True, single_line=True)})
    register("unit", {"number": Rule("单元号", "int", required=True, low=0, high=999),
                      "name": text("单元名称", 40, single_line=True)})
    register("room", {"number": text("房号", 10, required=True, single_line=True),
                      "floor": Rule("楼层", "int", low=-10, high=200), "area_m2": Rule("面积", "real", low=0, high=10000)})
    register("place_role", {"place_table": one_of("所在层级", ("grid", "building", "unit"), required=True)})
    register("risk_change", {"old_colour": one_of("原风险等级", vocab.RISK_COLOURS),
                             "new_colour": one_of("新风险等级", vocab.RISK_COLOURS, required=True)})
    register("visit", {
        "visit_date": date("走访日期", required=True),
        "kind": one_of("走访类型", vocab.VISIT_KINDS, required=True),
        "findings": text("走访情况", VISIT_TEXT_LIMIT),
        "problems": text("反映问题", VISIT_TEXT_LIMIT),
        "follow_up_note": text("跟进说明", VISIT_TEXT_LIMIT),
    })
    sub_kinds = tuple(s for subs in vocab.EMPLOYMENT_SUB_KINDS.values() for s in subs)
    register("employment", {
        "kind": one_of("就业类型", vocab.EMPLOYMENT_KINDS, required=True),
        "sub_kind": one_of("就业细类", sub_kinds),
        "monthly_income_fen": Rule("月收入（分）", "int", low=0, high=MAX_MONTHLY_FEN),
        "subsidy_fen": Rule("创业补贴（分）", "int", low=0, high=10**10),
    })
    register("training_course", {"kind": one_of("培训类别", vocab.TRAINING_KINDS, required=True),
                                 "hours": Rule("学时", "real", low=0, high=2000)})
    def clock_time(value: Any) -> None:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValidationError(f"开始时间“{_show(value)}”不是 HH:MM 格式的时间。", field="start_time")

    register("training_session", {
        "session_date": date("上课日期", required=True),
        "end_date": date("课次结束日期"),
        "start_time": text("开始时间", 5, single_line=True, extra=clock_time),
        "hours": Rule("学时", "real", low=0, high=2000),
        "topic": text("课次内容", TRAINING_TOPIC_LIMIT, single_line=True),
        "place": text("上课地点", TRAINING_PLACE_LIMIT, single_line=True),
    })
    register("training_presence", {"present": Rule("出勤", "flag", required=True)})
    register("intention", {"kind": one_of("需求类型", vocab.INTENTION_KINDS, required=True)})
    register("mediation_case", {
        "source": one_of("案件来源", vocab.CASE_SOURCES),
        "level": one_of("调解层级", list(CaseLevel), required=True),
        "status": one_of("案件状态", list(CaseStatus), required=True),
    })
    register("mediation_followup", {"outcome": one_of("回访结果", vocab.FOLLOWUP_OUTCOMES)})
    register("person", {"id_unverified": text("身份证待核实原因", 200, single_line=True)})
    register("building", {"sign": one_of("楼栋图标", all_signs())})
    register("unit", {"sign": one_of("单元图标", all_signs())})
    register("household", {"ext_number": text("县里的户编号", 40, single_line=True),
                            "entered_date": date("录入日期")})
    register("account", {"name": text("账号名", 40, required=True, single_line=True),
                         "role": one_of("角色", [r.value for r in access.Role], required=True),
                         "password_hash": text("口令摘要", 500, required=True, single_line=True)})


_declare()

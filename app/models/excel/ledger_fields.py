"""The fields of the ledgers besides the residents' (theirs: app.models.excel.excel_read.RESIDENTS).

Each ledger is one LedgerSpec: the export (app.models.excel.ledgers) writes its fields that have
SQL, in order, and the import (excel_import_ledgers, excel_import_mediation) recognises the same
fields by header or alias, reads each cell with the field's converter and shows a change with the
field's `show`. SQL aliases are those of the export's FROM: p person, h household, r room,
u unit, b building; e employment; a/c attendance/course; i intention; v visit; m mediation case.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models.core.errors import ValidationError
from app.models.core.excel_dates import DateError
from app.models.employment.labour import attended_sql
from app.models.excel.excel_read import (
    TAG_SPLIT,
    CellError,
    CellProblem,
    ImportPlan,
    ProgressFn,
    cell_text,
    checkpoint,
    convert_date,
    convert_id,
    convert_risk,
    convert_tags,
    convert_unit,
    show_value,
)
from app.models.excel.ledger_spec import (
    DATE,
    ID,
    INT,
    MASK_ID,
    MASK_PHONE,
    MONEY,
    NUMBER,
    PHONE,
    RISK_SQL,
    TAGS_SQL,
    TEXT,
    FieldSpec,
    LedgerSpec,
)

# -- converters (cell → stored value) and their inverse for change lists ---------------------------
YES_VALUES = ("是", "有", "有组织", "1", "Y", "y")
NO_VALUES = ("否", "无", "无组织", "自发", "0", "N", "n")
CERT_VALUES = ("未办", "办理中", "已办")


def convert_yes_no(value: Any) -> int | None:
    t = cell_text(value)
    if t is None:
        return None
    if t in YES_VALUES:
        return 1
    if t in NO_VALUES:
        return 0
    raise CellProblem("应填“是”或“否”", "")


def convert_province(value: Any) -> int | None:
    t = cell_text(value)
    if t is None:
        return None
    if t in ("省内", "省内务工", "是"):
        return 1
    if t in ("省外", "省外务工", "否"):
        return 0
    raise CellProblem("应填“省内”或“省外”", "")


def convert_fen(value: Any) -> int | None:
    """Yuan as typed (3500, "3,500.50元") → whole fen; never through a float's rounding."""
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            amount = Decimal(repr(value))  # repr: the shortest text of the float, e.g. 3123.45
        else:
            amount = Decimal(str(value).strip().replace(",", "").removesuffix("元"))
    except InvalidOperation:
        raise CellProblem("不是金额", "应为数字，例如 3500 或 3500.50（单位：元）") from None
    if amount < 0:
        raise CellProblem("金额不能是负数", "")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise CellProblem("金额最多两位小数（到分）", "")
    return int(fen)


def convert_id_number(value: Any) -> str:
    return convert_id(value)[0]


def convert_certificate(value: Any) -> int | None:
    t = cell_text(value)
    if t in ("有证书", "有", "是", "发证"):
        return 1
    if t in ("无证书", "无", "否", "不发证"):
        return 0
    raise CellProblem("应填“有证书”或“无证书”", "")


def convert_hours(value: Any) -> float | None:
    from app.models.employment import training

    try:
        return training.parse_hours(value)
    except ValidationError as exc:
        raise CellProblem(str(exc.message).rstrip("。"), "") from None


def convert_area(value: Any) -> float:
    try:
        area = float(value)
    except (TypeError, ValueError):
        raise CellProblem("不是面积", "应为数字（平方米），例如 20 或 25.5") from None
    if area < 0 or area > 10_000:
        raise CellProblem("面积不合理", "应为 0 到 10000 之间的平方米数")
    return area


def convert_certificate_state(label: str) -> Callable[[Any], str]:
    """居住证 / 产权证: one of CERT_VALUES."""
    def convert(value: Any) -> str:
        t = cell_text(value)
        if t not in CERT_VALUES:
            raise CellProblem(f"{label}办理情况不对", f"应为 {'、'.join(CERT_VALUES)}")
        return t
    return convert


def convert_flags(value: Any) -> list[str]:
    return [f for f in TAG_SPLIT.split(cell_text(value) or "") if f]


def show_yuan(value: Any) -> str:
    if value is None:
        return ""
    yuan, cents = divmod(int(value), 100)
    return f"{yuan}" if not cents else f"{yuan}.{cents:02d}"


def show_yes_no(value: Any) -> str:
    return "" if value is None else ("是" if value else "否")


def show_province(value: Any) -> str:
    return "" if value is None else ("省内" if value else "省外")


def show_got(value: Any) -> str:
    return "是" if value else "否"  # a certificate not recorded as obtained was not obtained


# -- reading one row of a ledger ----------------------------------------------------------------
def read_row(spec: LedgerSpec, cells: list[Any], columns: dict[str, int], sheet: str, r: int,
             headers: dict[str, str]) -> tuple[dict[str, Any], list[CellError]]:
    """(field values, problems) of the cells of data row `r` (0-based) that the import reads.

    Blank cells are left out (an exact field's blanks are read, as typed); a field without its own
    converter is text within its length limit."""
    by_key = spec.by_key
    values: dict[str, Any] = {}
    errs: list[CellError] = []
    for key, c in columns.items():
        f = by_key[key]
        if not f.import_:
            continue
        v = cells[c] if c < len(cells) else None
        if v is None or (isinstance(v, str) and not v.strip() and not f.exact):
            continue
        try:
            values[key] = f.convert(v) if f.convert is not None else cell_text(v, exact=f.exact, key=key)
        except CellProblem as p:
            errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
        except DateError as exc:
            errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0],
                                  "应为日期，例如 2024-03-05"))
    return values, errs


Raw = list[tuple[int, dict[str, Any], list[CellError]]]  # (0-based row, field values, problems)


def read_rows(spec: LedgerSpec, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
              progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> Raw:
    """Every row read (:func:`read_row`), reporting progress and stopping if the clerk cancels."""
    out: Raw = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values, errs = read_row(spec, cells, plan.columns, plan.sheet, r, plan.headers)
        out.append((r, values, errs))
    return out


ErrFn = Callable[..., None]


def reporter(spec: LedgerSpec, plan: ImportPlan, r: int, values: dict[str, Any], errs: list[CellError],
             show: Callable[[str, Any], Any] | None = None) -> ErrFn:
    """err(key, problem, hint="", value=None): a problem of row `r` in the column of `key` (the
    ledger's own header when the file lacks that column); the value is the row's, unless given."""
    def err(key: str, problem: str, hint: str = "", value: Any = None) -> None:
        if value is None:
            value = values.get(key) if show is None else show(key, values.get(key))
        errs.append(CellError(plan.sheet, r + 1, plan.headers.get(key, spec.labels.get(key, "")),
                              plan.columns.get(key), value, problem, hint))
    return err


def shown(spec: LedgerSpec, key: str, value: Any) -> str:
    """A stored value as a change list shows it."""
    f = spec.by_key[key]
    if f.show is not None:
        return f.show(value)
    return "" if value is None else show_value(value)


# -- SQL pieces ------------------------------------------------------------------------------------
HEAD_NAME_SQL = "(SELECT hp.name FROM person hp WHERE hp.id = h.head_person_id)"
YES_NO_SQL = "CASE WHEN {0} THEN '是' ELSE '否' END"

# -- fields several ledgers share -------------------------------------------------------------------
F = FieldSpec
HH_NUMBER = F("hh_number", "户编号", ("户号",), "h.number", TEXT, 12)
ID_NUMBER = F("id_number", "身份证号", ("身份证号码", "公民身份号码"), "p.id_number", ID, 21, mask=MASK_ID,
              convert=convert_id_number)
# The person's phone, shown beside a record for the reader; changed in the resident roll only.
PERSON_PHONE = F("phone", "联系电话", ("手机号",), "p.phone", PHONE, 14, mask=MASK_PHONE, import_=False)
NOTES = "备注"


def person_name(*aliases: str) -> FieldSpec:
    return FieldSpec("name", "姓名", aliases, "p.name", TEXT, 10)


def notes(sql: str) -> FieldSpec:
    return FieldSpec("notes", NOTES, (), sql, TEXT, 20, exact=True)


# -- the ledgers ------------------------------------------------------------------------------------
HOUSEHOLDS = LedgerSpec("households", "搬迁户台账", (
    HH_NUMBER,
    # shown for the reader; members and heads change through the resident roll
    F("head_name", "户主姓名", ("户主",), HEAD_NAME_SQL, TEXT, 10, import_=False),
    F("head_id", "户主身份证号", (), "(SELECT hp.id_number FROM person hp WHERE hp.id = h.head_person_id)", ID, 21,
      mask=MASK_ID, import_=False),
    F("phone", "联系电话", (), "(SELECT hp.phone FROM person hp WHERE hp.id = h.head_person_id)", PHONE, 14,
      mask=MASK_PHONE, import_=False),
    F("size", "人口数", ("家庭人口",),
      "(SELECT count(*) FROM person m WHERE m.household_id = h.id AND m.deleted = 0 AND m.status = '在册')", INT, 8,
      import_=False),
    F("building", "楼栋", ("楼栋号",), "b.name", TEXT, 8),
    F("unit", "单元", ("单元号",), "u.number", INT, 6, convert=convert_unit),
    F("room", "房号", ("房间号",), "r.number", TEXT, 8),
    F("origin_township", "迁出乡镇", ("迁出地乡镇",), "h.origin_township", TEXT, 10),
    F("origin_village", "迁出村", ("迁出地村",), "h.origin_village", TEXT, 10),
    F("move_in_date", "入住日期", ("搬迁入住时间",), "h.move_in_date", DATE, 12, convert=convert_date),
    F("tags", "户标签", ("户类型",), TAGS_SQL, TEXT, 16, convert=convert_tags),
    F("risk", "风险等级", ("风险颜色",), RISK_SQL, TEXT, 8, convert=convert_risk),
    F("hukou_moved", "户口已迁入", ("户籍是否迁入",), YES_NO_SQL.format("h.hukou_moved"), TEXT, 10,
      convert=convert_yes_no, show=show_yes_no),
    F("residence_permit", "居住证", (), "h.residence_permit", TEXT, 8, convert=convert_certificate_state("居住证")),
    F("property_cert", "产权证", ("不动产权证",), "h.property_cert", TEXT, 8,
      convert=convert_certificate_state("产权证")),
    F("garden_plot_m2", "微菜园面积(㎡)", ("微菜园面积", "菜园面积"), "h.garden_plot_m2", NUMBER, 12,
      convert=convert_area),
    F("status", "状态", ("在住状态",), "h.status", TEXT, 8),
    notes("h.notes"),
    F("ext_number", "县级户编号", ("家庭编号", "户码"), "h.ext_number", TEXT, 21),
))

EMPLOYMENT = LedgerSpec("employment", "就业台账", (
    HH_NUMBER,
    person_name("就业人员姓名"),
    ID_NUMBER,
    F("sex", "性别", (), "p.sex", TEXT, 6, import_=False),  # derived from the ID number
    F("kind", "就业形式", ("就业类型", "就业方式"), "e.kind", TEXT, 12),
    F("sub_kind", "就业类别", ("就业细类", "细类"), "e.sub_kind", TEXT, 12),
    F("organised", "有组织", ("是否有组织", "组织化输出"), "CASE e.organised WHEN 1 THEN '是' WHEN 0 THEN '否' END",
      TEXT, 8, convert=convert_yes_no, show=show_yes_no),
    F("in_province", "省内/省外", ("省内外", "务工区域"), "CASE e.in_province WHEN 1 THEN '省内' WHEN 0 THEN '省外' END",
      TEXT, 9, convert=convert_province, show=show_province),
    F("destination", "务工地点", ("务工地", "输出地"), "e.destination", TEXT, 14),
    F("place", "工作地点", (), "e.place", TEXT, 14),
    F("employer", "工作单位", ("就业单位", "用工单位"), "e.employer", TEXT, 18),
    F("post_name", "岗位", ("岗位名称", "公益性岗位名称"), "e.post_name", TEXT, 12),
    F("funding_source", "资金来源", ("岗位资金来源",), "e.funding_source", TEXT, 12),
    F("business_type", "经营项目", ("创业项目",), "e.business_type", TEXT, 12),
    F("start_date", "开始日期", ("就业时间", "务工时间", "开始时间"), "e.start_date", DATE, 12, convert=convert_date),
    F("end_date", "结束日期", ("结束时间",), "e.end_date", DATE, 12, convert=convert_date),
    F("monthly_income_fen", "月收入(元)", ("月收入", "月工资", "月工资(元)", "人均月收入(元)"), "e.monthly_income_fen",
      MONEY, 12, convert=convert_fen, show=show_yuan),
    F("subsidy_fen", "创业补贴(元)", ("补贴(元)", "创业补贴"), "e.subsidy_fen", MONEY, 12, convert=convert_fen,
      show=show_yuan),
    PERSON_PHONE,
    notes("e.notes"),
))

TRAINING = LedgerSpec("training", "培训台账", (
    HH_NUMBER,
    person_name("学员姓名"),
    ID_NUMBER,
    F("course", "培训名称", ("培训班名称", "培训项目", "培训工种"), "c.name", TEXT, 20),
    F("kind", "培训类型", ("培训类别",), "c.kind", TEXT, 10),
    F("provider", "培训机构", ("承办单位",), "c.provider", TEXT, 16),
    F("start_date", "开始日期", ("开班日期", "培训开始时间"), "c.start_date", DATE, 12, convert=convert_date),
    F("end_date", "结束日期", ("结业日期", "培训结束时间"), "c.end_date", DATE, 12, convert=convert_date),
    F("hours", "学时", ("培训学时",), "c.hours", NUMBER, 6, convert=convert_hours),
    # shown for the reader (counted from the sessions' attendance), not imported
    F("sessions", "课次", (), "(SELECT count(*) FROM training_session s WHERE s.course_id = c.id AND s.deleted = 0)",
      INT, 6, import_=False),
    F("attended", "出勤次数", (), attended_sql("a")[0], INT, 8, import_=False),
    F("attended_hours", "出勤学时", (), attended_sql("a")[1], NUMBER, 8, import_=False),
    F("with_certificate", "有无证书", ("是否发证",), "CASE WHEN c.with_certificate THEN '有证书' ELSE '无证书' END",
      TEXT, 10, convert=convert_certificate),
    F("certificate_name", "证书名称", (), "c.certificate_name", TEXT, 20),
    F("certificate_obtained", "取得证书", ("是否取得证书",), YES_NO_SQL.format("a.certificate_obtained"), TEXT, 10,
      convert=convert_yes_no, show=show_got),
    PERSON_PHONE,
    notes("a.notes"),
))

INTENTIONS = LedgerSpec("intentions", "就业培训需求台账", (
    HH_NUMBER,
    person_name(),
    ID_NUMBER,
    F("kind", "需求类型", ("需求类别", "意向类型"), "i.kind", TEXT, 10),
    F("job_kind", "意向工种", ("求职意向", "意向岗位"), "i.job_kind", TEXT, 12),
    F("place", "意向地点", ("意向就业地",), "i.place", TEXT, 12),
    F("training_wanted", "培训需求", ("培训意向", "意向培训"), "i.training_wanted", TEXT, 14),
    F("detail", "需求详情", ("具体需求",), "i.detail", TEXT, 20, exact=True),
    F("recorded_date", "登记日期", ("登记时间",), "i.recorded_date", DATE, 12, convert=convert_date),
    F("closed_date", "办结日期", ("办结时间", "满足日期"), "i.closed_date", DATE, 12, convert=convert_date),
    PERSON_PHONE,
    notes("i.notes"),
))

VISITS = LedgerSpec("visits", "入户走访台账", (
    F("visit_date", "走访日期", ("走访时间", "入户日期"), "v.visit_date", DATE, 12, convert=convert_date),
    HH_NUMBER,
    # shown for the reader, not imported
    F("head", "户主", (), HEAD_NAME_SQL, TEXT, 10, import_=False),
    F("building", "楼栋", (), "b.name", TEXT, 8, import_=False),
    F("unit", "单元", (), "u.number", INT, 6, import_=False),
    F("room", "房号", (), "r.number", TEXT, 8, import_=False),
    F("risk", "风险等级", (), RISK_SQL, TEXT, 8, import_=False),
    F("kind", "走访类型", ("走访方式", "走访类别"), "v.kind", TEXT, 10),
    F("visitor_name", "走访人", ("走访人员", "走访干部"), "v.visitor_name", TEXT, 10),
    F("flags", "走访情况(勾选)", ("走访情况勾选", "情况类别"),
      "(SELECT group_concat(f.value, '、') FROM json_each(CASE WHEN json_valid(v.finding_flags)"
      " THEN v.finding_flags END) AS f)", TEXT, 18, convert=convert_flags),
    F("findings", "发现情况", ("走访情况", "走访内容"), "v.findings", TEXT, 24),
    F("problems", "反映问题", ("群众反映问题", "诉求"), "v.problems", TEXT, 24),
    F("follow_up_needed", "需跟进", ("是否需要跟进",), YES_NO_SQL.format("v.follow_up_needed"), TEXT, 8,
      convert=convert_yes_no),
    F("follow_up_note", "跟进说明", ("跟进情况", "办理情况"), "v.follow_up_note", TEXT, 20),
))

MEDIATION = LedgerSpec("mediation", "矛盾纠纷调解台账", (
    F("number", "案件编号", ("案号", "案件号", "编号"), "m.number", TEXT, 12),
    F("received_date", "受理日期", ("受理时间", "登记日期"), "m.received_date", DATE, 12, convert=convert_date),
    F("source", "线索来源", ("案件来源", "来源"), "m.source", TEXT, 10),
    F("category", "纠纷类别", ("矛盾类别", "纠纷类型", "类别"), "m.category", TEXT, 10),
    F("title", "事由", ("案件标题", "纠纷事由", "标题"), "m.title", TEXT, 20),
    F("parties", "当事人", ("当事人姓名", "双方当事人"),
      "(SELECT group_concat(coalesce(pp.name, mp.outsider_name), '、') FROM mediation_party mp"
      " LEFT JOIN person pp ON pp.id = mp.person_id WHERE mp.case_id = m.id AND mp.deleted = 0)", TEXT, 16),
    F("description", "简要情况", ("基本情况", "纠纷简要情况", "简要案情"), "m.description", TEXT, 30),
    F("building", "楼栋", (), "b.name", TEXT, 8),
    F("level", "调处层级", ("调解层级", "层级"), "m.level", TEXT, 8),
    F("mediators", "调解员", ("调解人",), "m.mediators", TEXT, 12),
    F("status", "办理状态", ("状态",), "m.status", TEXT, 10),
    # kept by the workflow: shown in the export, never imported
    F("outcome", "调解结果", (), "m.outcome", TEXT, 10, import_=False),
    F("outcome_date", "结果日期", (), "m.outcome_date", DATE, 12, import_=False),
    F("referred_to", "移交单位", (), "m.referred_to", TEXT, 12, import_=False),
    F("agreement_date", "协议日期", (), "m.agreement_date", DATE, 12, import_=False),
    F("closed_date", "办结日期", (), "m.closed_date", DATE, 12, import_=False),
    F("followups", "回访次数", (), "(SELECT count(*) FROM mediation_followup f WHERE f.case_id = m.id AND f.deleted = 0)",
      INT, 8, import_=False),
))
del F

"""Importing ledgers other than the resident roll: employment, intentions and visits, record by record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import KnownError, ValidationError
from app.models.core.excel_dates import DateError, parse_date
from app.models.excel.excel_read import (
    RISK_DISPLAY,
    TAG_COLUMNS,
    TAG_SPLIT,
    CellError,
    CellProblem,
    ImportCancelled,
    ImportPlan,
    LedgerImporter,
    Places,
    ProgressFn,
    RowResult,
    cell_show,
    cell_text,
    checkpoint,
    chunks,
    convert_cell,
    convert_id,
    filled_cells,
    header_finder,
    norm_header,
    place_text,
    show_value,
)

# Employment ledger columns: key → (header as exported, other names seen in county sheets).
EMPLOYMENT_HEADERS: dict[str, tuple[str, ...]] = {
    "hh_number": ("户编号", "户号"),
    "name": ("姓名", "就业人员姓名"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "kind": ("就业形式", "就业类型", "就业方式"),
    "sub_kind": ("就业类别", "就业细类", "细类"),
    "organised": ("有组织", "是否有组织", "组织化输出"),
    "in_province": ("省内/省外", "省内外", "务工区域"),
    "destination": ("务工地点", "务工地", "输出地"),
    "place": ("工作地点",),
    "employer": ("工作单位", "就业单位", "用工单位"),
    "post_name": ("岗位", "岗位名称", "公益性岗位名称"),
    "funding_source": ("资金来源", "岗位资金来源"),
    "business_type": ("经营项目", "创业项目"),
    "start_date": ("开始日期", "就业时间", "务工时间", "开始时间"),
    "end_date": ("结束日期", "结束时间"),
    "monthly_income_fen": ("月收入(元)", "月收入", "月工资", "月工资(元)", "人均月收入(元)"),
    "subsidy_fen": ("创业补贴(元)", "补贴(元)", "创业补贴"),
    "notes": ("备注",),
    "phone": ("联系电话", "手机号"),  # the person's: shown, not imported here
    "sex": ("性别",),  # derived from the ID number
}
EMPLOYMENT_ALIASES = {norm_header(h): k for k, hs in EMPLOYMENT_HEADERS.items() for h in hs}
COMPARED = ("sub_kind", "organised", "in_province", "destination", "place", "employer", "post_name",
            "funding_source", "business_type", "end_date", "monthly_income_fen", "subsidy_fen", "notes")
LABELS = {k: hs[0] for k, hs in EMPLOYMENT_HEADERS.items()}


def looks_like_employment(header_cells: list[Any]) -> bool:
    keys = {EMPLOYMENT_ALIASES.get(norm_header(c)) for c in header_cells if c is not None}
    return "kind" in keys and "start_date" in keys


def _yes_no(value: Any) -> int | None:
    t = cell_text(value)
    if t is None:
        return None
    if t in ("是", "有", "有组织", "1", "Y", "y"):
        return 1
    if t in ("否", "无", "无组织", "自发", "0", "N", "n"):
        return 0
    raise CellProblem("应填“是”或“否”", "")


def _province(value: Any) -> int | None:
    t = cell_text(value)
    if t is None:
        return None
    if t in ("省内", "省内务工", "是"):
        return 1
    if t in ("省外", "省外务工", "否"):
        return 0
    raise CellProblem("应填“省内”或“省外”", "")


def _fen(value: Any) -> int | None:
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


@dataclass(frozen=True)
class PersonRecords:
    """How one ledger of per-person records (jobs, intentions) is read, matched and checked."""

    table: str
    labels: dict[str, str]
    key_fields: tuple[str, str]  # with the person, what identifies a record: (kind, its date)
    compared: tuple[str, ...]
    converters: dict[str, Callable[[Any], Any]]
    validate: Callable[[Database, dict], dict]
    what: str  # 就业 / 需求, for messages
    field_map: dict[str, str]  # the feature's ValidationError.field → our key
    exact: frozenset[str] = frozenset({"notes"})
    shown_only: frozenset[str] = frozenset({"phone", "sex"})


def _date_iso(value: Any) -> str | None:
    d = parse_date(value)
    return d.isoformat() if d else None


def _plan_person_records(
    db: Database,
    plan: ImportPlan,
    rows: list[tuple[int, list[Any]]],
    spec: PersonRecords,
    *,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Validate every row with the feature's own rules and match it to the person's records."""
    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    raw = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c in columns.items():
            if key in spec.shown_only:
                continue
            v = cells[c] if c < len(cells) else None
            if v is None or (isinstance(v, str) and not v.strip() and key not in spec.exact):
                continue
            try:
                if key == "id_number":
                    values[key] = convert_id(v)[0]
                elif key in spec.converters:
                    values[key] = spec.converters[key](v)
                else:
                    values[key] = cell_text(v, exact=key in spec.exact, key=key)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
            except DateError as exc:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0], "应为日期，例如 2024-03-05"))
        raw.append((r, values, errs))

    by_id, by_name = _people(db, raw)

    person_ids = sorted({p["id"] for ps in by_id.values() for p in ps} | {p["id"] for ps in by_name.values() for p in ps})
    k1, k2 = spec.key_fields
    records: dict[tuple, dict] = {}
    for chunk in chunks(person_ids, 500):
        for j in db.query(f"SELECT * FROM {spec.table} WHERE deleted = 0 AND person_id IN ({','.join('?' * len(chunk))})",
                          chunk):
            records.setdefault((j["person_id"], j[k1], j[k2]), dict(j))
    seen: dict[tuple, list[RowResult]] = {}
    for r, values, errs in raw:
        res = RowResult(row=r + 1, status="error", name=values.get("name") or "", id_number=values.get("id_number") or "",
                        hh_number=values.get("hh_number") or "", errors=errs)
        plan.rows.append(res)

        def err(key: str, problem: str, hint: str = "", value: Any = None, errs=errs, r=r, values=values) -> None:
            errs.append(CellError(sheet, r + 1, headers.get(key, spec.labels.get(key, "")), columns.get(key),
                                  values.get(key) if value is None else value, problem, hint))

        if errs:
            continue
        person = _find_person(values, by_id, by_name, err)
        if person is None:
            continue
        missing = [k for k in spec.key_fields if not values.get(k)]
        if missing:
            err(missing[0], f"缺少{spec.labels[missing[0]]}",
                f"每条{spec.what}记录都要有{spec.labels[k1]}和{spec.labels[k2]}")
            continue
        key3 = (person["id"], values[k1], values[k2])
        seen.setdefault(key3, []).append(res)
        existing = records.get(key3)
        present = [k for k in spec.compared if k in values]
        if existing is not None:
            res.person_id = existing["id"]  # the record's id
            diffs = [k for k in present if values[k] != existing.get(k)]
            if not diffs:
                res.status = "unchanged"  # as recorded: not checked again against today's rules
                continue
            merged = {**existing, **{k: values[k] for k in present}}
        else:
            merged = {k: values.get(k) for k in spec.compared}
            merged.update({k1: values[k1], k2: values[k2]})
        merged["person_id"] = person["id"]
        try:
            row = spec.validate(db, merged)
        except ValidationError as exc:
            key = spec.field_map.get(exc.field or "", exc.field or k1)
            err(key if key in columns else k1, str(exc.message).rstrip("。"), "")
            continue
        if existing is None:
            # The feature's normal form, but what the file says is kept as said (a post name on a
            # flexible job, say), so that exporting and importing again changes nothing.
            row.update({k: values[k] for k in present})
            res.values = row
            res.status = "new"
        else:
            res.values = {k: values[k] for k in diffs}
            res.changes = [(headers.get(k, spec.labels[k]), _display(k, existing.get(k)), _display(k, values[k]))
                           for k in diffs]
            res.status = "updated"
    for results in seen.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get(k2, spec.labels[k2]), columns.get(k2),
                                          None, f"第 {rows_txt} 行是同一人的同一条{spec.what}记录"
                                          f"（{spec.labels[k1]}和{spec.labels[k2]}相同）", "请删除重复的行"))


def _employment_spec() -> PersonRecords:
    from app.models.employment import employment

    return PersonRecords(
        table="employment", labels=LABELS, key_fields=("kind", "start_date"), compared=COMPARED,
        converters={"start_date": _date_iso, "end_date": _date_iso, "monthly_income_fen": _fen, "subsidy_fen": _fen,
                    "organised": _yes_no, "in_province": _province},
        validate=employment.validate, what="就业",
        field_map={"monthly_income": "monthly_income_fen", "subsidy": "subsidy_fen", "person_id": "id_number"},
    )


def plan_employment(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                    progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """The employment ledger, checked with the employment feature's own rules."""
    _plan_person_records(db, plan, rows, _employment_spec(), progress=progress, cancelled=cancelled)


def _display(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in ("monthly_income_fen", "subsidy_fen"):
        yuan, cents = divmod(int(value), 100)
        return f"{yuan}" if not cents else f"{yuan}.{cents:02d}"
    if key == "organised":
        return "是" if value else "否"
    if key == "in_province":
        return "省内" if value else "省外"
    return show_value(value)


def _apply_person_records(db: Database, plan: ImportPlan, table: str, *, progress: ProgressFn | None = None,
                          cancelled: Callable[[], bool] | None = None) -> None:
    """Inside the caller's transaction: insert the new records, update the changed ones."""
    summary = f"Excel 导入 {Path(plan.path).name}"
    good = [r for r in plan.rows if r.status in ("new", "updated")]
    with db.write() as tx:
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            if r.status == "new":
                tx.insert(table, r.values, summary=summary)
            else:
                assert r.person_id is not None
                tx.update(table, r.person_id, r.values, summary=summary)


def apply_employment(db: Database, plan: ImportPlan, **kw: Any) -> None:
    _apply_person_records(db, plan, "employment", **kw)


# -- the intentions ledger -----------------------------------------------------------------------
INTENTION_HEADERS: dict[str, tuple[str, ...]] = {
    "hh_number": ("户编号", "户号"),
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "kind": ("需求类型", "需求类别", "意向类型"),
    "job_kind": ("意向工种", "求职意向", "意向岗位"),
    "place": ("意向地点", "意向就业地"),
    "training_wanted": ("培训需求", "培训意向", "意向培训"),
    "detail": ("需求详情", "具体需求"),
    "recorded_date": ("登记日期", "登记时间"),
    "closed_date": ("办结日期", "办结时间", "满足日期"),
    "notes": ("备注",),
    "phone": ("联系电话", "手机号"),
}
INTENTION_ALIASES = {norm_header(h): k for k, hs in INTENTION_HEADERS.items() for h in hs}
INTENTION_LABELS = {k: hs[0] for k, hs in INTENTION_HEADERS.items()}
INTENTION_COMPARED = ("job_kind", "place", "training_wanted", "detail", "closed_date", "notes")


def looks_like_intentions(header_cells: list[Any]) -> bool:
    keys = {INTENTION_ALIASES.get(norm_header(c)) for c in header_cells if c is not None}
    return "kind" in keys and "recorded_date" in keys and "name" in keys


def _validate_intention(db: Database, values: dict) -> dict:
    """The intentions feature's rules (its `add` checks and writes at once; here they are apart)."""
    from app.models.employment import intentions

    kind = (values.get("kind") or "").strip()
    if kind not in intentions.KINDS:
        raise ValidationError(f"需求类型应为：{'、'.join(intentions.KINDS)}。", field="kind")
    if kind == "培训" and not values.get("training_wanted"):
        raise ValidationError("请填写想参加什么培训（如 电焊、家政、厨师）。", field="training_wanted")
    recorded, closed = values.get("recorded_date"), values.get("closed_date")
    if closed and recorded and closed < recorded:
        raise ValidationError(f"办结日期（{closed}）早于登记日期（{recorded}），请核对。", field="closed_date")
    return {
        "person_id": values["person_id"], "kind": kind,
        "job_kind": values.get("job_kind") if kind == "就业" else None, "place": values.get("place"),
        "training_wanted": values.get("training_wanted") if kind == "培训" else None,
        "detail": values.get("detail"), "recorded_date": recorded, "closed_date": closed, "notes": values.get("notes"),
    }


def plan_intentions(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                    progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    spec = PersonRecords(
        table="intention", labels=INTENTION_LABELS, key_fields=("kind", "recorded_date"), compared=INTENTION_COMPARED,
        converters={"recorded_date": _date_iso, "closed_date": _date_iso}, validate=_validate_intention, what="需求",
        field_map={"person_id": "id_number"}, exact=frozenset({"notes", "detail"}), shown_only=frozenset({"phone"}),
    )
    _plan_person_records(db, plan, rows, spec, progress=progress, cancelled=cancelled)


def apply_intentions(db: Database, plan: ImportPlan, **kw: Any) -> None:
    _apply_person_records(db, plan, "intention", **kw)


# -- the visits ledger ---------------------------------------------------------------------------
VISIT_HEADERS: dict[str, tuple[str, ...]] = {
    "visit_date": ("走访日期", "走访时间", "入户日期"),
    "hh_number": ("户编号", "户号"),
    "kind": ("走访类型", "走访方式", "走访类别"),
    "visitor_name": ("走访人", "走访人员", "走访干部"),
    "flags": ("走访情况(勾选)", "走访情况勾选", "情况类别"),
    "findings": ("发现情况", "走访情况", "走访内容"),
    "problems": ("反映问题", "群众反映问题", "诉求"),
    "follow_up_needed": ("需跟进", "是否需要跟进"),
    "follow_up_note": ("跟进说明", "跟进情况", "办理情况"),
    # shown in the export for the reader, not imported
    "head": ("户主",), "building": ("楼栋",), "unit": ("单元",), "room": ("房号",), "risk": ("风险等级",),
}
VISIT_ALIASES = {norm_header(h): k for k, hs in VISIT_HEADERS.items() for h in hs}
VISIT_LABELS = {k: hs[0] for k, hs in VISIT_HEADERS.items()}
VISIT_COMPARED = ("findings", "finding_flags", "problems", "follow_up_needed", "follow_up_note")
_SHOWN_ONLY = {"head", "building", "unit", "room", "risk"}


def visits_header(found: set[str]) -> bool:
    return {"hh_number", "visit_date", "kind"} <= found


def looks_like_visits(header_cells: list[Any]) -> bool:
    return visits_header({VISIT_ALIASES.get(norm_header(c)) for c in header_cells if c is not None} - {None})


def plan_visits(
    db: Database,
    plan: ImportPlan,
    rows: list[tuple[int, list[Any]]],
    *,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Visit records are insert-only: a row is new, the same as one on record, or an error."""
    import json

    from app.models.places import visits

    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    numbers: set[str] = set()
    parsed = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c, v in filled_cells(cells, columns, _SHOWN_ONLY):
            try:
                if key == "visit_date":
                    d = parse_date(v)
                    values[key] = d.isoformat() if d else None
                elif key == "follow_up_needed":
                    values[key] = _yes_no(v)
                elif key == "flags":
                    values[key] = [f for f in TAG_SPLIT.split(cell_text(v) or "") if f]
                else:
                    values[key] = cell_text(v, key=key)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
            except DateError as exc:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0], "应为日期，例如 2024-03-05"))
        if values.get("hh_number"):
            numbers.add(values["hh_number"])
        parsed.append((r, values, errs))
    households: dict[str, list[str]] = {}
    for chunk in chunks(sorted(numbers), 500):
        for h in db.query(f"SELECT id, number FROM household WHERE deleted = 0 AND number IN ({','.join('?' * len(chunk))})",
                          chunk):
            households.setdefault(h["number"], []).append(h["id"])
    on_record: dict[tuple, dict] = {}
    ids = sorted({i for v in households.values() for i in v})
    for chunk in chunks(ids, 500):
        for v in db.query(f"SELECT * FROM visit WHERE deleted = 0 AND household_id IN ({','.join('?' * len(chunk))})", chunk):
            on_record.setdefault((v["household_id"], v["visit_date"], v["kind"], v["visitor_name"]), dict(v))
    seen: dict[tuple, list[RowResult]] = {}
    for r, values, errs in parsed:
        res = RowResult(row=r + 1, status="error", hh_number=values.get("hh_number") or "",
                        name=f"{values.get('visit_date') or ''} {values.get('kind') or ''}".strip(), errors=errs)
        plan.rows.append(res)

        def err(key: str, problem: str, hint: str = "", errs=errs, r=r, values=values) -> None:
            errs.append(CellError(sheet, r + 1, headers.get(key, VISIT_LABELS.get(key, "")), columns.get(key),
                                  values.get(key), problem, hint))

        if errs:
            continue
        number = values.get("hh_number")
        found = households.get(number or "", [])
        if not number:
            err("hh_number", "户编号为空", "每条走访记录都要写明走访的是哪一户")
            continue
        if len(found) != 1:
            err("hh_number", f"系统中{'没有' if not found else '有多户使用'}户编号“{number}”",
                "请核对户编号，或先在居民管理中登记这一户")
            continue
        flags = values.get("flags") or []
        key4 = (found[0], values.get("visit_date"), values.get("kind"), values.get("visitor_name"))
        old = on_record.get(key4)
        if old is not None:
            # On record already: compared as it is, not checked again against today's rules.
            seen.setdefault(key4, []).append(res)
            note = values.get("follow_up_note")
            cand = {
                "findings": values.get("findings"), "problems": values.get("problems"), "follow_up_note": note,
                "finding_flags": (json.dumps(flags, ensure_ascii=False) if flags else None) if "flags" in columns
                else old["finding_flags"],
                "follow_up_needed": 1 if (values.get("follow_up_needed") or note) else 0,
            }
            diffs = [k for k in VISIT_COMPARED if (cand.get(k) or None) != (old.get(k) or None)]
            if not diffs:
                res.status = "unchanged"
                continue
            shown = "、".join(VISIT_LABELS.get("flags" if k == "finding_flags" else k, k) for k in diffs)
            err("findings" if "findings" in columns else "visit_date",
                f"系统中已有这次走访（同户、同日、同类型、同走访人），但{shown}不同；走访记录只能新增，不能通过导入修改",
                "如是另一次走访，请改正日期或走访人；如需更正原记录，请在走访页面处理")
            continue
        try:
            row = visits.validate(db, visits.VisitInput(
                household_id=found[0], visit_date=values.get("visit_date") or "", kind=values.get("kind") or "",
                visitor_name=values.get("visitor_name"), findings=values.get("findings"), finding_flags=flags,
                problems=values.get("problems"), follow_up_needed=bool(values.get("follow_up_needed")),
                follow_up_note=values.get("follow_up_note")))
        except (ValidationError, KnownError) as exc:
            field = {"date": "visit_date", "kind": "kind", "visitor": "visitor_name", "flags": "flags",
                     "findings": "findings", "走访情况": "findings", "反映问题": "problems", "跟进说明": "follow_up_note"}
            key = field.get(getattr(exc, "field", None) or "", "visit_date")
            err(key if key in columns else "visit_date", str(exc.message).rstrip("。"), "")
            continue
        row.pop("_household_number", None)
        seen.setdefault((row["household_id"], row["visit_date"], row["kind"], row["visitor_name"]), []).append(res)
        res.values, res.status = row, "new"
    for results in seen.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("visit_date", "走访日期"), columns.get("visit_date"),
                                          None, f"第 {rows_txt} 行是同一次走访（同户、同日、同类型、同走访人）",
                                          "请删除重复的行"))


def apply_visits(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
    summary = f"Excel 导入 {Path(plan.path).name}"
    good = [r for r in plan.rows if r.status == "new"]
    with db.write() as tx:
        rows = []
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            rows.append({**r.values, "created_at": tx.now})
        if cancelled is not None and cancelled():
            raise ImportCancelled("已取消导入，未作任何改动。")
        tx.insert_many("visit", rows, summary=summary)


# -- the households ledger -----------------------------------------------------------------------
HOUSEHOLD_HEADERS: dict[str, tuple[str, ...]] = {
    "hh_number": ("户编号", "户号"),
    "ext_number": ("县级户编号", "家庭编号", "户码"),
    "building": ("楼栋", "楼栋号"), "unit": ("单元", "单元号"), "room": ("房号", "房间号"),
    "origin_township": ("迁出乡镇", "迁出地乡镇"), "origin_village": ("迁出村", "迁出地村"),
    "move_in_date": ("入住日期", "搬迁入住时间"),
    "tags": ("户标签", "户类型"), "risk": ("风险等级", "风险颜色"),
    "hukou_moved": ("户口已迁入", "户籍是否迁入"),
    "residence_permit": ("居住证",), "property_cert": ("产权证", "不动产权证"),
    "garden_plot_m2": ("微菜园面积(㎡)", "微菜园面积", "菜园面积"),
    "status": ("状态", "在住状态"), "notes": ("备注",),
    # shown for the reader; members and heads change through the resident roll
    "head_name": ("户主姓名", "户主"), "head_id": ("户主身份证号",), "phone": ("联系电话",), "size": ("人口数", "家庭人口"),
}
HOUSEHOLD_ALIASES = {norm_header(h): k for k, hs in HOUSEHOLD_HEADERS.items() for h in hs}
HOUSEHOLD_LABELS = {k: hs[0] for k, hs in HOUSEHOLD_HEADERS.items()}
_HH_SHOWN_ONLY = {"head_name", "head_id", "phone", "size"}
HH_SIMPLE = ("ext_number", "origin_township", "origin_village", "move_in_date", "hukou_moved", "residence_permit", "property_cert",
             "garden_plot_m2", "status", "notes")
CERT_VALUES = ("未办", "办理中", "已办")


def households_header(found: set[str]) -> bool:
    return "hh_number" in found and ("head_name" in found or "size" in found)


def looks_like_households(header_cells: list[Any]) -> bool:
    keys = {HOUSEHOLD_ALIASES.get(norm_header(c)) for c in header_cells if c is not None}
    return households_header(keys - {None}) and norm_header("姓名") not in {norm_header(c) for c in header_cells}


def _area(value: Any) -> float:
    try:
        area = float(value)
    except (TypeError, ValueError):
        raise CellProblem("不是面积", "应为数字（平方米），例如 20 或 25.5") from None
    if area < 0 or area > 10_000:
        raise CellProblem("面积不合理", "应为 0 到 10000 之间的平方米数")
    return area


def plan_households(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                    progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Household attributes by 户编号: changed, or new households (which need their room)."""
    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    parsed = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c in columns.items():
            v = cells[c] if c < len(cells) else None
            if key in _HH_SHOWN_ONLY or v is None or (isinstance(v, str) and not v.strip() and key != "notes"):
                continue
            try:
                if key in ("tags", "risk", "unit", "move_in_date"):
                    values[key] = convert_cell(key, v)
                elif key == "hukou_moved":
                    values[key] = _yes_no(v)
                elif key == "garden_plot_m2":
                    values[key] = _area(v)
                elif key in ("residence_permit", "property_cert"):
                    t = cell_text(v)
                    if t not in CERT_VALUES:
                        raise CellProblem(f"{HOUSEHOLD_LABELS[key]}办理情况不对", f"应为 {'、'.join(CERT_VALUES)}")
                    values[key] = t
                else:
                    values[key] = cell_text(v, exact=key == "notes", key=key)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
            except DateError as exc:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0], "应为日期，例如 2024-03-05"))
        parsed.append((r, values, errs))
    numbers = sorted({v["hh_number"] for _, v, _ in parsed if v.get("hh_number")})
    existing: dict[str, list[dict]] = {}
    for chunk in chunks(numbers, 500):
        for h in db.query(f"SELECT * FROM household WHERE deleted = 0 AND number IN ({','.join('?' * len(chunk))})", chunk):
            existing.setdefault(h["number"], []).append(dict(h))
    places = Places(db)
    occupants = {row[0]: (row[1], row[2]) for row in db.query(
        "SELECT room_id, id, number FROM household WHERE deleted = 0 AND status = '在住' AND room_id IS NOT NULL")}
    claimed: dict[str, str] = {}
    seen: dict[str, list[RowResult]] = {}
    for r, values, errs in parsed:
        number = values.get("hh_number") or ""
        res = RowResult(row=r + 1, status="error", hh_number=number, name=number, errors=errs)
        plan.rows.append(res)

        def err(key: str, problem: str, hint: str = "", errs=errs, r=r, values=values) -> None:
            errs.append(CellError(sheet, r + 1, headers.get(key, HOUSEHOLD_LABELS.get(key, "")), columns.get(key),
                                  cell_show(key, values.get(key)), problem, hint))

        if errs:
            continue
        if not number:
            err("hh_number", "户编号为空", "每行都要有户编号")
            continue
        seen.setdefault(number, []).append(res)
        found = existing.get(number, [])
        if len(found) > 1:
            err("hh_number", f"系统中有多户使用户编号“{number}”", "请先在居民管理中处理重复的户编号")
            continue
        old = found[0] if found else {}
        want: dict[str, Any] = {}
        place = [k for k in ("building", "unit", "room") if k in values]
        if place:
            if len(place) < 3:
                err(place[0], "楼栋、单元、房号要一起填写", "")
                continue
            try:
                want["room_id"] = places.room(str(values["building"]), int(values["unit"]), str(values["room"]))
            except CellProblem as p:
                err("building", p.problem, p.hint)
                continue
            occ = occupants.get(want["room_id"])
            if want["room_id"] != old.get("room_id") and occ is not None and occ[0] != old.get("id"):
                err("building", f"{place_text(places, want['room_id'])} 已住有户号 {occ[1]} 的住户", "一间房只能住一户")
                continue
            if claimed.setdefault(want["room_id"], number) != number:
                err("building", f"{place_text(places, want['room_id'])} 在本文件中已分给户 {claimed[want['room_id']]}",
                    "一间房只能住一户，请核对房号")
                continue
        elif not old:
            err("building" if "building" in columns else "hh_number", "新户需要填写楼栋、单元、房号",
                "请填写该户所住的楼栋、单元和房号（家庭成员请用居民花名册导入）")
            continue
        want.update({k: values[k] for k in HH_SIMPLE if k in values})
        if "tags" in values:
            want.update(values["tags"])
        if "risk" in values:
            want["risk_colour"] = values["risk"]
        if not old:
            res.values, res.status = want, "new"
            continue
        res.person_id = old["id"]  # the household's id
        diffs = {k: v for k, v in want.items() if v != old.get(k) and not (k in TAG_COLUMNS and v == (old.get(k) or 0))}
        if not diffs:
            res.status = "unchanged"
            continue
        res.values, res.status = diffs, "updated"
        for k, v in diffs.items():
            if k == "room_id":
                res.changes.append(("房屋", place_text(places, old.get("room_id")), place_text(places, v)))
            elif k == "risk_colour":
                res.changes.append(("风险等级", RISK_DISPLAY.get(old.get(k), ""), RISK_DISPLAY.get(v, "")))
            elif k in TAG_COLUMNS:
                if not any(c[0] == "户标签" for c in res.changes):
                    res.changes.append(("户标签", cell_show("tags", {c: old.get(c) for c in TAG_COLUMNS}),
                                        cell_show("tags", {c: want.get(c, old.get(c)) for c in TAG_COLUMNS})))
            else:
                shown = {"hukou_moved": lambda x: "" if x is None else ("是" if x else "否")}.get(k, show_value)
                res.changes.append((headers.get(k, HOUSEHOLD_LABELS[k]), "" if old.get(k) is None else shown(old.get(k)),
                                    "" if v is None else shown(v)))
    for results in seen.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("hh_number", "户编号"), columns.get("hh_number"),
                                          x.hh_number, f"同一户编号出现在第 {rows_txt} 行", "每户只能有一行，请删除重复的行"))


def apply_households(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> None:
    summary = f"Excel 导入 {Path(plan.path).name}"
    good = [r for r in plan.rows if r.status in ("new", "updated")]
    with db.write() as tx:
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            if r.status == "new":
                tx.insert("household", {"number": r.hh_number, **r.values,
                                        "entered_date": dt.date.today().isoformat()}, summary=summary)
                continue
            assert r.person_id is not None
            old_risk = tx.conn.execute("SELECT risk_colour FROM household WHERE id = ?", (r.person_id,)).fetchone()[0]
            tx.update("household", r.person_id, r.values, summary=summary)
            if "risk_colour" in r.values:
                tx.insert("risk_change", {"household_id": r.person_id, "old_colour": old_risk,
                                          "new_colour": r.values["risk_colour"], "reason": summary,
                                          "changed_by": db.user, "changed_at": tx.now}, summary=summary)


# -- the training ledger -------------------------------------------------------------------------
TRAINING_HEADERS: dict[str, tuple[str, ...]] = {
    "hh_number": ("户编号", "户号"),
    "name": ("姓名", "学员姓名"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "course": ("培训名称", "培训班名称", "培训项目", "培训工种"),
    "kind": ("培训类型", "培训类别"),
    "provider": ("培训机构", "承办单位"),
    "start_date": ("开始日期", "开班日期", "培训开始时间"),
    "end_date": ("结束日期", "结业日期", "培训结束时间"),
    "hours": ("学时", "培训学时"),
    "with_certificate": ("有无证书", "是否发证"),
    "certificate_name": ("证书名称",),
    "certificate_obtained": ("取得证书", "是否取得证书"),
    "notes": ("备注",),
    "phone": ("联系电话", "手机号"),
    # shown in the export for the reader (counted from the sessions' attendance), not imported
    "sessions": ("课次",), "attended": ("出勤次数",), "attended_hours": ("出勤学时",),
}
_TRAINING_SHOWN_ONLY = {"phone", "sessions", "attended", "attended_hours"}
TRAINING_ALIASES = {norm_header(h): k for k, hs in TRAINING_HEADERS.items() for h in hs}
TRAINING_LABELS = {k: hs[0] for k, hs in TRAINING_HEADERS.items()}
COURSE_FIELDS = ("kind", "provider", "end_date", "hours", "with_certificate", "certificate_name")


def looks_like_training(header_cells: list[Any]) -> bool:
    keys = {TRAINING_ALIASES.get(norm_header(c)) for c in header_cells if c is not None}
    return {"course", "start_date", "name"} <= keys


def _certificate(value: Any) -> int | None:
    t = cell_text(value)
    if t in ("有证书", "有", "是", "发证"):
        return 1
    if t in ("无证书", "无", "否", "不发证"):
        return 0
    raise CellProblem("应填“有证书”或“无证书”", "")


def _hours(value: Any) -> float | None:
    from app.models.employment import training

    try:
        return training.parse_hours(value)
    except ValidationError as exc:
        raise CellProblem(str(exc.message).rstrip("。"), "") from None


def plan_training(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                  progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Attendance rows; a course is found by name and start date, or created from the first row naming it."""
    from app.models.employment import training

    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    converters = {"start_date": _date_iso, "end_date": _date_iso, "hours": _hours, "with_certificate": _certificate,
                  "certificate_obtained": _yes_no}
    raw = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c in columns.items():
            v = cells[c] if c < len(cells) else None
            if key in _TRAINING_SHOWN_ONLY or v is None or (isinstance(v, str) and not v.strip() and key != "notes"):
                continue
            try:
                if key == "id_number":
                    values[key] = convert_id(v)[0]
                elif key in converters:
                    values[key] = converters[key](v)
                else:
                    values[key] = cell_text(v, exact=key == "notes", key=key)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
            except DateError as exc:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0], "应为日期，例如 2024-03-05"))
        raw.append((r, values, errs))
    by_id, by_name = _people(db, raw)
    courses: dict[tuple, dict] = {}
    for c in db.query("SELECT * FROM training_course WHERE deleted = 0"):
        courses.setdefault((c["name"], c["start_date"]), dict(c))
    attendance: dict[tuple, dict] = {}
    for a in db.query("SELECT * FROM training_attendance WHERE deleted = 0"):
        attendance.setdefault((a["course_id"], a["person_id"]), dict(a))
    course_plan: dict[tuple, dict] = {}  # key → {"first": row, "set": {...}, "error": str | None, "id": ...}
    seen: dict[tuple, list[RowResult]] = {}
    for r, values, errs in raw:
        res = RowResult(row=r + 1, status="error", name=values.get("name") or "", id_number=values.get("id_number") or "",
                        hh_number=values.get("hh_number") or "", errors=errs)
        plan.rows.append(res)

        def err(key: str, problem: str, hint: str = "", errs=errs, r=r, values=values) -> None:
            errs.append(CellError(sheet, r + 1, headers.get(key, TRAINING_LABELS.get(key, "")), columns.get(key),
                                  values.get(key), problem, hint))

        if errs:
            continue
        person = _find_person(values, by_id, by_name, err)
        if person is None:
            continue
        if not values.get("course") or not values.get("start_date"):
            key = "course" if not values.get("course") else "start_date"
            err(key, f"缺少{TRAINING_LABELS[key]}", "每行都要有培训名称和开始日期")
            continue
        ckey = (values["course"], values["start_date"])
        entry = course_plan.get(ckey)
        old_course = courses.get(ckey)
        if entry is None:
            given = {k: values[k] for k in COURSE_FIELDS if k in values}
            entry = {"first": r, "error": None, "id": old_course["id"] if old_course else None, "given": given, "set": {},
                     "changes": []}
            course_plan[ckey] = entry
            if old_course is None:
                try:
                    entry["set"] = training.validate_course({"name": ckey[0], "start_date": ckey[1], **given})
                except ValidationError as exc:
                    field = {"name": "course", "start_date": "start_date"}.get(exc.field or "", exc.field or "kind")
                    entry["error"] = (field if field in columns else "course", str(exc.message).rstrip("。"))
            else:
                diffs = {k: v for k, v in given.items() if v != old_course.get(k)}
                if diffs:
                    try:
                        training.validate_course({**old_course, **diffs})
                    except ValidationError as exc:
                        entry["error"] = (exc.field if exc.field in columns else "course", str(exc.message).rstrip("。"))
                    entry["set"] = diffs
                    entry["changes"] = [(headers.get(k, TRAINING_LABELS[k]), show_value(old_course.get(k)) if old_course.get(k)
                                         is not None else "", show_value(v)) for k, v in diffs.items()]
            if entry["error"] is not None:
                err(entry["error"][0], entry["error"][1], "")
                continue
        else:
            clash = [k for k in COURSE_FIELDS if k in values and k in entry["given"] and values[k] != entry["given"][k]]
            if clash:
                err(clash[0], f"同一培训班（{ckey[0]}，{ckey[1]}）在第 {entry['first'] + 1} 行填的是"
                    f"“{show_value(entry['given'][clash[0]])}”，与本行不一致", "同一培训班各行的培训信息应一致")
                continue
            if entry["error"] is not None:
                err("course", f"这个培训班的信息有错，见第 {entry['first'] + 1} 行", "")
                continue
        seen.setdefault((ckey, person["id"]), []).append(res)
        old = attendance.get((entry["id"], person["id"])) if entry["id"] else None
        mine = {k: values[k] for k in ("certificate_obtained", "notes") if k in values}
        if old is None:
            try:
                training.check_participants(db, ckey[1], [person["id"]])
            except ValidationError as exc:
                err("name", str(exc.message).replace("\n", "").rstrip("。"), "")
                continue
            res.values = {"course": ckey, "person_id": person["id"], "certificate_obtained": mine.get("certificate_obtained")
                          or 0, "notes": mine.get("notes")}
            res.status = "new"
        else:
            diffs = {k: v for k, v in mine.items() if v != old.get(k)}
            res.person_id = old["id"]
            res.values = {"course": ckey, **diffs}
            res.changes = [(headers.get(k, TRAINING_LABELS[k]), _display(k, old.get(k)) if k != "certificate_obtained"
                            else ("是" if old.get(k) else "否"), _display(k, v) if k != "certificate_obtained"
                            else ("是" if v else "否")) for k, v in diffs.items()]
            res.status = "updated" if diffs else "unchanged"
        if entry["first"] == r and entry["changes"]:
            res.changes.extend(entry["changes"])
            if res.status == "unchanged":
                res.status = "updated"
    plan.extra["courses"] = course_plan
    for results in seen.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("name", "姓名"), columns.get("name"), x.name,
                                          f"第 {rows_txt} 行是同一人参加同一培训班", "请删除重复的行"))


def apply_training(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                   cancelled: Callable[[], bool] | None = None) -> None:
    """Write the plan. A ledger row carries no sessions: a new course is one whole-course session,
    a new participant attended every session of the course, and a participant already on the
    course keeps the sessions ticked for them."""
    from app.models.employment import training

    summary = f"Excel 导入 {Path(plan.path).name}"
    course_plan: dict[tuple, dict] = plan.extra.get("courses", {})
    good = [r for r in plan.rows if r.status in ("new", "updated")]
    used = {r.values["course"] for r in good}
    ok_rows = {r.row for r in plan.rows if r.status != "error"}
    with db.write() as tx:
        ids: dict[tuple, str] = {}
        for key, entry in course_plan.items():
            if entry["error"] is not None:
                continue
            if entry["id"] is None:
                if key in used:
                    ids[key] = tx.insert("training_course", entry["set"], summary=summary)
                    training.follow_course(tx, ids[key])
            else:
                ids[key] = entry["id"]
                if entry["set"] and entry["first"] + 1 in ok_rows:
                    tx.update("training_course", entry["id"], entry["set"], summary=summary)
                    training.follow_course(tx, entry["id"])
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            values = {k: v for k, v in r.values.items() if k != "course"}
            if r.status == "new":
                course_id = ids[r.values["course"]]
                att = tx.insert("training_attendance", {"course_id": course_id, **values}, summary=summary)
                training.present_at_all_sessions(tx, att, course_id)
            elif values:
                assert r.person_id is not None
                tx.update("training_attendance", r.person_id, values, summary=summary)


def _people(db: Database, raw: list[tuple[int, dict, list]]) -> tuple[dict, dict]:
    """The people a file names: by ID number, and by (household number, name) for rows without one."""
    ids = sorted({v["id_number"] for _, v, _ in raw if v.get("id_number")})
    by_id: dict[str, list[dict]] = {}
    for chunk in chunks(ids, 500):
        for p in db.query(f"SELECT id, name, id_number FROM person WHERE deleted = 0 AND id_number IN "
                          f"({','.join('?' * len(chunk))})", chunk):
            by_id.setdefault(p["id_number"], []).append(dict(p))
    numbers = sorted({v["hh_number"] for _, v, _ in raw if v.get("hh_number") and not v.get("id_number")})
    by_name: dict[tuple[str, str], list[dict]] = {}
    for chunk in chunks(numbers, 500):
        for p in db.query(f"SELECT p.id, p.name, h.number FROM person p JOIN household h ON h.id = p.household_id "
                          f"WHERE p.deleted = 0 AND h.number IN ({','.join('?' * len(chunk))})", chunk):
            by_name.setdefault((p["number"], p["name"]), []).append(dict(p))
    return by_id, by_name


def _find_person(values: dict, by_id: dict, by_name: dict, err: Callable[..., None]) -> dict | None:
    person = None
    if values.get("id_number"):
        found = by_id.get(values["id_number"], [])
        if not found:
            err("id_number", "系统中没有这个身份证号的居民", "请先在居民管理中登记此人（或先导入居民花名册）")
        elif len(found) > 1:
            err("id_number", "系统中有两条以上记录使用这个身份证号", "请先在居民管理中合并重复的居民")
        else:
            person = found[0]
    elif values.get("hh_number") and values.get("name"):
        found = by_name.get((values["hh_number"], values["name"]), [])
        if len(found) == 1:
            person = found[0]
        else:
            err("name", f"户 {values['hh_number']} 中{'没有' if not found else '有多位'}叫“{values['name']}”的居民",
                "请填写身份证号")
    else:
        err("id_number", "缺少身份证号", "每行都要有身份证号（或户编号加姓名）")
    if person is not None and values.get("name") and values["name"] != person["name"]:
        err("name", f"与身份证号不符（系统中此身份证号是“{person['name']}”）", "请核对姓名或身份证号")
        return None
    return person


# -- the registry entries of this module's ledgers -----------------------------------------------
IMPORTERS = (
    LedgerImporter("employment", "就业台账", EMPLOYMENT_ALIASES, LABELS, looks_like_employment,
                   "看起来不是就业台账：表头中没有“就业形式”和“开始日期”。", plan_employment, apply_employment),
    LedgerImporter("visits", "入户走访台账", VISIT_ALIASES, VISIT_LABELS, looks_like_visits,
                   "看起来不是走访台账：表头中没有“户编号”“走访日期”和“走访类型”。", plan_visits, apply_visits,
                   header_finder(VISIT_ALIASES, visits_header)),
    LedgerImporter("intentions", "就业培训需求台账", INTENTION_ALIASES, INTENTION_LABELS, looks_like_intentions,
                   "看起来不是需求台账：表头中没有“姓名”“需求类型”和“登记日期”。", plan_intentions, apply_intentions),
    LedgerImporter("training", "培训台账", TRAINING_ALIASES, TRAINING_LABELS, looks_like_training,
                   "看起来不是培训台账：表头中没有“姓名”“培训名称”和“开始日期”。", plan_training, apply_training),
    LedgerImporter("households", "搬迁户台账", HOUSEHOLD_ALIASES, HOUSEHOLD_LABELS, looks_like_households,
                   "看起来不是搬迁户台账：表头中没有“户编号”和“户主姓名”（或“人口数”）。", plan_households,
                   apply_households, header_finder(HOUSEHOLD_ALIASES, households_header)),
)

"""Importing the mediation cases ledger (矛盾纠纷台账): cases matched by case number."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import ValidationError
from app.models.core.excel_dates import DateError, parse_date
from app.models.excel.excel_read import (
    CellError,
    CellProblem,
    ImportPlan,
    LedgerImporter,
    ProgressFn,
    RowResult,
    cell_text,
    checkpoint,
    chunks,
    filled_cells,
    header_finder,
    norm_header,
    show_value,
)

# key → (header as exported, other names seen in county sheets)
MEDIATION_HEADERS: dict[str, tuple[str, ...]] = {
    "number": ("案件编号", "案号", "案件号", "编号"),
    "received_date": ("受理日期", "受理时间", "登记日期"),
    "source": ("线索来源", "案件来源", "来源"),
    "category": ("纠纷类别", "矛盾类别", "纠纷类型", "类别"),
    "title": ("事由", "案件标题", "纠纷事由", "标题"),
    "parties": ("当事人", "当事人姓名", "双方当事人"),
    "description": ("简要情况", "基本情况", "纠纷简要情况", "简要案情"),
    "building": ("楼栋",),
    "level": ("调处层级", "调解层级", "层级"),
    "mediators": ("调解员", "调解人"),
    "status": ("办理状态", "状态"),
    # kept by the workflow: shown in the export, never imported
    "outcome": ("调解结果",),
    "outcome_date": ("结果日期",),
    "referred_to": ("移交单位",),
    "agreement_date": ("协议日期",),
    "closed_date": ("办结日期",),
    "followups": ("回访次数",),
}
MEDIATION_ALIASES = {norm_header(h): k for k, hs in MEDIATION_HEADERS.items() for h in hs}
MEDIATION_LABELS = {k: hs[0] for k, hs in MEDIATION_HEADERS.items()}
SHOWN_ONLY = frozenset({"outcome", "outcome_date", "referred_to", "agreement_date", "closed_date", "followups"})
PLAIN = ("title", "description", "category", "source", "mediators")  # what an import may change
WORKFLOW_HINT = "请在矛盾调解页面办理状态变更/升级"
_PARTY_SPLIT = re.compile(r"[、，,；;/\s]+")


def mediation_header(found: set[str]) -> bool:
    return {"number", "title"} <= found or {"title", "received_date", "parties"} <= found


def looks_like_mediation(header_cells: list[Any]) -> bool:
    keys = {MEDIATION_ALIASES.get(norm_header(c)) for c in header_cells if c is not None}
    return mediation_header(keys)


def _date_iso(value: Any) -> str | None:
    d = parse_date(value)
    return d.isoformat() if d else None


def split_parties(text: str | None) -> list[str]:
    return [n for n in _PARTY_SPLIT.split(text or "") if n]


def plan_mediation(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                   progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Match rows to cases by number; check new cases with the mediation feature's rules."""
    from app.models.mediation import mediation

    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    raw = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c, v in filled_cells(cells, columns, SHOWN_ONLY):
            try:
                values[key] = _date_iso(v) if key == "received_date" else cell_text(v, key=key)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
            except DateError as exc:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, str(exc).split("；")[0],
                                      "应为日期，例如 2024-03-05"))
        raw.append((r, values, errs))

    numbers = sorted({v["number"] for _, v, _ in raw if v.get("number")})
    cases: dict[str, dict] = {}
    for chunk in chunks(numbers, 500):
        for c in db.query(
            f"SELECT m.*, b.name AS building_name, (SELECT group_concat(coalesce(pp.name, mp.outsider_name), '、') "
            f"FROM mediation_party mp LEFT JOIN person pp ON pp.id = mp.person_id WHERE mp.case_id = m.id "
            f"AND mp.deleted = 0) AS party_names FROM mediation_case m LEFT JOIN building b ON b.id = m.building_id "
            f"WHERE m.deleted = 0 AND m.number IN ({','.join('?' * len(chunk))})", chunk):
            cases.setdefault(c["number"], dict(c))
    names = sorted({n for _, v, _ in raw for n in split_parties(v.get("parties"))})
    people: dict[str, list[str]] = {}
    for chunk in chunks(names, 500):
        for p in db.query(f"SELECT id, name FROM person WHERE deleted = 0 AND name IN ({','.join('?' * len(chunk))})",
                          chunk):
            people.setdefault(p["name"], []).append(p["id"])
    buildings: dict[str, list[str]] = {}
    for b in db.query("SELECT id, name FROM building WHERE deleted = 0"):
        buildings.setdefault(b["name"], []).append(b["id"])
    category_list = mediation.categories(db)
    today = dt.date.today().isoformat()

    seen: dict[str, list[RowResult]] = {}
    for r, values, errs in raw:
        number = values.get("number") or ""
        res = RowResult(row=r + 1, status="error", name=values.get("title") or "", hh_number=number, errors=errs)
        plan.rows.append(res)

        def err(key: str, problem: str, hint: str = "", errs=errs, r=r, values=values) -> None:
            errs.append(CellError(sheet, r + 1, headers.get(key, MEDIATION_LABELS.get(key, "")), columns.get(key),
                                  values.get(key), problem, hint))

        if number:
            seen.setdefault(number, []).append(res)
        existing = cases.get(number) if number else None

        def given(key: str, values=values, existing=existing) -> bool:
            # checked against today's rules only when new or changed: what is recorded stays as it is
            return bool(values.get(key)) and (existing is None or values[key] != existing.get(key))

        if given("source") and values["source"] not in mediation.SOURCES:
            err("source", "线索来源无效", f"应为：{'、'.join(mediation.SOURCES)}")
        if given("level") and values["level"] not in mediation.LEVELS:
            err("level", "调处层级无效", f"应为：{'、'.join(mediation.LEVELS)}")
        if given("status") and values["status"] not in mediation.STATUSES:
            err("status", "办理状态无效", f"应为：{'、'.join(mediation.STATUSES)}")
        if given("received_date") and values["received_date"] > today:
            err("received_date", "受理日期不能晚于今天", "")
        if existing is not None:
            res.person_id = existing["id"]
            for key, allowed in (("status", mediation.STATUSES), ("level", mediation.LEVELS)):
                if key in values and values[key] != existing.get(key) and values[key] in allowed:
                    word = "办理状态" if key == "status" else "调处层级"
                    err(key, f"{word}不能通过 Excel 修改（系统中为“{existing.get(key) or ''}”）", WORKFLOW_HINT)
            if "received_date" in values and values["received_date"] != existing.get("received_date"):
                err("received_date", f"受理日期不能通过 Excel 修改（系统中为“{existing.get('received_date')}”）",
                    "请在矛盾调解页面办理")
            if "parties" in values and sorted(split_parties(values["parties"])) != sorted(
                    split_parties(existing.get("party_names"))):
                err("parties", f"当事人不能通过 Excel 修改（系统中为“{existing.get('party_names') or ''}”）",
                    "请在矛盾调解页面修改当事人")
            if "building" in values and values["building"] != existing.get("building_name"):
                err("building", f"楼栋不能通过 Excel 修改（系统中为“{existing.get('building_name') or ''}”）",
                    "请在矛盾调解页面修改")
            diffs = [k for k in PLAIN if k in values and values[k] != existing.get(k)]
            if "title" in values and not values["title"]:
                err("title", "缺少事由", "")
            if diffs and "category" in diffs and values["category"] not in category_list:
                err("category", "纠纷类别不在类别设置中", f"应为：{'、'.join(category_list)}")
            if errs:
                continue
            if not diffs:
                res.status = "unchanged"
                continue
            res.values = {k: values[k] for k in diffs}
            res.changes = [(headers.get(k, MEDIATION_LABELS[k]), show_value(existing.get(k)) if existing.get(k) is not None
                            else "", show_value(values[k])) for k in diffs]
            res.status = "updated"
            continue
        # a new case
        if not values.get("title"):
            err("title", "缺少事由", "新案件必须填写事由")
        if not values.get("received_date"):
            err("received_date", "缺少受理日期", "新案件必须填写受理日期")
        if values.get("category") and values["category"] not in category_list:
            err("category", "纠纷类别不在类别设置中", f"应为：{'、'.join(category_list)}")
        if values.get("status") and values["status"] != "受理":
            err("status", f"新案件只能以“受理”状态导入（本行为“{values['status']}”）", WORKFLOW_HINT)
        building_id = None
        if values.get("building"):
            found = buildings.get(values["building"], [])
            if len(found) != 1:
                err("building", "系统中没有这个楼栋" if not found else "系统中有多个同名楼栋", "请核对楼栋名称")
            else:
                building_id = found[0]
        party_names = split_parties(values.get("parties"))
        if not party_names:
            err("parties", "缺少当事人", "每件案件至少要有一位当事人，多人用“、”分隔")
        elif len(set(party_names)) != len(party_names):
            err("parties", "当事人姓名重复", "")
        if errs:
            continue
        parties = []
        outsiders = []
        for name in party_names:
            ids = people.get(name, [])
            if len(ids) == 1:
                parties.append({"person_id": ids[0]})
            else:
                parties.append({"outsider_name": name})
                outsiders.append(name)
        res.values = {
            "title": values["title"], "received_date": values["received_date"], "source": values.get("source"),
            "category": values.get("category"), "description": values.get("description"),
            "building_id": building_id, "level": values.get("level") or "楼栋",
            "mediators": values.get("mediators"), "parties": parties,
        }
        if number and re.fullmatch(r"\d{4}-\d{4}", number):
            res.values["number"] = number  # keep the ledger's own number: a second import then matches it
        res.changes = [("案件编号", "", number)] if number else [("案件编号", "", "由系统编排")]
        if outsiders:
            res.changes.append(("当事人", "", f"{'、'.join(outsiders)} 按外来人员登记"))
        res.status = "new"
    for results in seen.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("number", "案件编号"), columns.get("number"),
                                          x.hh_number, f"同一案件编号出现在第 {rows_txt} 行", "请删除重复的行"))


def apply_mediation(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                    cancelled: Callable[[], bool] | None = None) -> None:
    """Inside the caller's transaction: new cases through create_case, plain fields through update_case."""
    from app.models.mediation import mediation

    good = [r for r in plan.rows if r.status in ("new", "updated")]
    with db.write():
        for n, r in enumerate(good):
            checkpoint(n, len(good), progress, cancelled, "正在写入…")
            try:
                if r.status == "new":
                    mediation.create_case(db, **r.values)
                    continue
                assert r.person_id is not None
                case = mediation.get_case(db, r.person_id)
                merged = {k: case.get(k) for k in PLAIN}
                merged.update(r.values)
                mediation.update_case(db, r.person_id, building_id=case.get("building_id"), **merged)
            except ValidationError as exc:
                raise ValidationError(f"第 {r.row} 行（{Path(plan.path).name}）：{exc.message}", field=exc.field) from None


IMPORTER = LedgerImporter("mediation", "矛盾纠纷调解台账", MEDIATION_ALIASES, MEDIATION_LABELS, looks_like_mediation,
                          "看起来不是矛盾纠纷调解台账：表头中没有“案件编号”和“事由”。", plan_mediation, apply_mediation,
                          header_finder(MEDIATION_ALIASES, mediation_header))

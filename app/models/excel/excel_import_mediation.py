"""Importing the mediation cases ledger (矛盾纠纷台账): cases matched by case number."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import ValidationError
from app.models.excel.excel_read import (
    CellError,
    ImportPlan,
    LedgerImporter,
    ProgressFn,
    RowResult,
    checkpoint,
    header_finder,
    mark_repeated,
    query_in,
    rows_planner,
)
from app.models.excel.ledger_fields import MEDIATION, read_rows, reporter, shown

PLAIN = ("title", "description", "category", "source", "mediators")  # what an import may change
WORKFLOW_HINT = "请在矛盾调解页面办理状态变更/升级"
_PARTY_SPLIT = re.compile(r"[、，,；;/\s]+")


def mediation_header(found: set[str]) -> bool:
    return {"number", "title"} <= found or {"title", "received_date", "parties"} <= found


def looks_like_mediation(header_cells: list[Any]) -> bool:
    return mediation_header(MEDIATION.keys_of(header_cells))


def split_parties(text: str | None) -> list[str]:
    return [n for n in _PARTY_SPLIT.split(text or "") if n]


def plan_mediation(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
                   progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Match rows to cases by number; check new cases with the mediation feature's rules."""
    from app.models.mediation import mediation

    columns, headers, labels = plan.columns, plan.headers, MEDIATION.labels
    raw = read_rows(MEDIATION, plan, rows, progress=progress, cancelled=cancelled)

    numbers = sorted({v["number"] for _, v, _ in raw if v.get("number")})
    cases: dict[str, dict[str, Any]] = {}
    for c in query_in(db, "SELECT m.*, b.name AS building_name, (SELECT group_concat(coalesce(pp.name, mp.outsider_name), "
                      "'、') FROM mediation_party mp LEFT JOIN person pp ON pp.id = mp.person_id WHERE mp.case_id = m.id "
                      "AND mp.deleted = 0) AS party_names FROM mediation_case m LEFT JOIN building b ON b.id = m.building_id "
                      "WHERE m.deleted = 0 AND m.number IN ({marks})", numbers):
        cases.setdefault(c["number"], dict(c))
    names = sorted({n for _, v, _ in raw for n in split_parties(v.get("parties"))})
    people: dict[str, list[str]] = {}
    for p in query_in(db, "SELECT id, name FROM person WHERE deleted = 0 AND name IN ({marks})", names):
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

        err = reporter(MEDIATION, plan, r, values, errs)
        if number:
            seen.setdefault(number, []).append(res)
        existing = cases.get(number) if number else None
        given = _given(values, existing)

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
            res.changes = [(headers.get(k, labels[k]), shown(MEDIATION, k, existing.get(k)), shown(MEDIATION, k, values[k]))
                           for k in diffs]
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
    mark_repeated(seen.values(), lambda x, rows_txt: CellError(
        plan.sheet, x.row, headers.get("number", "案件编号"), columns.get("number"), x.hh_number,
        f"同一案件编号出现在第 {rows_txt} 行", "请删除重复的行"))


def _given(values: dict[str, Any], existing: dict[str, Any] | None) -> Callable[[str], bool]:
    """Whether a row gives a field anew: checked against today's rules only when new or changed
    (what is recorded stays as it is)."""
    return lambda key: bool(values.get(key)) and (existing is None or values[key] != existing.get(key))


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
                merged: dict[str, Any] = {k: case.get(k) for k in PLAIN}
                merged.update(r.values)
                mediation.update_case(db, r.person_id, building_id=case.get("building_id"), **merged)
            except ValidationError as exc:
                raise ValidationError(f"第 {r.row} 行（{Path(plan.path).name}）：{exc.message}", field=exc.field) from None


IMPORTER = LedgerImporter("mediation", MEDIATION.title, MEDIATION.aliases, MEDIATION.labels, looks_like_mediation,
                          "看起来不是矛盾纠纷调解台账：表头中没有“案件编号”和“事由”。", rows_planner(plan_mediation), apply_mediation,
                          header_finder(MEDIATION.aliases, mediation_header))

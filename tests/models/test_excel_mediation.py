"""Excel import of the mediation cases ledger: round trip, new cases, workflow fields refused, cell errors."""

from __future__ import annotations

import openpyxl
import pytest

from app.models.core.errors import KnownError
from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import apply_plan, plan_import
from app.models.mediation import mediation
from tests.builders.excel import build_office


@pytest.fixture
def office(db):
    ids = build_office(db)
    ids["case_a"] = mediation.create_case(
        db, title="楼上漏水", received_date="2024-03-01", source="来访", category="邻里", description="卫生间渗水",
        building_id=ids["b1"], mediators="王楼长", parties=[{"person_id": ids["张秀英"]}, {"outsider_name": "李外来"}])
    mediation.change_status(db, ids["case_a"], "调解中", date="2024-03-02")
    ids["case_b"] = mediation.create_case(
        db, title="赡养纠纷", received_date="2024-04-10", source="网格上报", category="家庭/婚姻", level="社区",
        parties=[{"person_id": ids["王芳"]}])
    return ids


def _export(db, tmp_path):
    out = tmp_path / "med.xlsx"
    assert export_ledger(db, "mediation", out) == 2
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = {c.value: c.column for c in ws[2]}
    return out, wb, ws, header


def _row_of(ws, header, number):
    return next(r for r in range(3, ws.max_row + 1) if ws.cell(row=r, column=header["案件编号"]).value == number)


def _stamp(db):
    return db.scalar("SELECT coalesce(max(op_id), 0) FROM change_log")


def _append(ws, header, **cells):
    row = [None] * len(header)
    for k, v in cells.items():
        row[header[k] - 1] = v
    ws.append(row)


def test_round_trip_is_unchanged(db, office, tmp_path):
    out, *_ = _export(db, tmp_path)
    plan = plan_import(db, out)
    assert plan.ledger == "mediation"
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": 2, "errors": 0}, [e.message() for e in plan.errors]
    before = _stamp(db)
    apply_plan(db, plan)
    assert _stamp(db) == before
    assert plan_import(db, out, ledger="mediation").counts["unchanged"] == 2


def test_plain_fields_update(db, office, tmp_path):
    out, wb, ws, h = _export(db, tmp_path)
    r = _row_of(ws, h, "2024-0001")
    ws.cell(row=r, column=h["事由"], value="楼上卫生间漏水")
    ws.cell(row=r, column=h["调解员"], value="王楼长、李网格员")
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 0, "updated": 1, "unchanged": 1, "errors": 0}, [e.message() for e in plan.errors]
    events = db.scalar("SELECT count(*) FROM mediation_event WHERE case_id = ?", (office["case_a"],))
    apply_plan(db, plan)
    case = mediation.get_case(db, office["case_a"])
    assert case["title"] == "楼上卫生间漏水" and case["mediators"] == "王楼长、李网格员"
    assert case["status"] == "调解中" and case["building_id"] == office["b1"] and case["description"] == "卫生间渗水"
    assert db.scalar("SELECT count(*) FROM mediation_event WHERE case_id = ?", (office["case_a"],)) == events
    assert len(mediation.parties(db, office["case_a"])) == 2


def test_new_case_imports_through_create_case(db, office, tmp_path):
    out, wb, ws, h = _export(db, tmp_path)
    _append(ws, h, 受理日期="2024-05-06", 线索来源="热线", 纠纷类别="物业费", 事由="物业费争议",
            当事人="张秀英、陌生人", 楼栋="2栋", 调处层级="社区", 调解员="赵主任", 办理状态="受理")
    _append(ws, h, 案件编号="2024-0099", 受理日期="2024-05-07", 事由="噪音", 当事人="王芳")
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 2, "updated": 0, "unchanged": 2, "errors": 0}, [e.message() for e in plan.errors]
    assert any("陌生人" in new for r in plan.rows for _, _, new in r.changes)
    apply_plan(db, plan)
    case = db.one("SELECT * FROM mediation_case WHERE title = '物业费争议'")
    assert case["number"] == "2024-0003" and case["status"] == "受理" and case["level"] == "社区"
    assert case["level_since"] == "2024-05-06" and case["building_id"] == office["b2"] and case["source"] == "热线"
    parties = {(p["person_id"], p["outsider_name"]) for p in db.query(
        "SELECT person_id, outsider_name FROM mediation_party WHERE case_id = ?", (case["id"],))}
    assert parties == {(office["张秀英"], None), (None, "陌生人")}
    # an existing ledger's own number is kept; a row without one is numbered by the office
    assert db.scalar("SELECT number FROM mediation_case WHERE title = '噪音'") == "2024-0099"
    assert db.scalar("SELECT count(*) FROM mediation_event WHERE case_id = ?", (case["id"],)) == 1
    # so importing the same ledger again recognises the numbered case instead of duplicating it
    again = plan_import(db, out)
    assert again.counts["errors"] == 0
    assert db.scalar("SELECT count(*) FROM mediation_case WHERE title = '噪音'") == 1
    assert not [r for r in again.rows if r.status == "new" and r.values.get("number") == "2024-0099"]


def test_status_or_level_change_is_refused_and_nothing_written(db, office, tmp_path):
    out, wb, ws, h = _export(db, tmp_path)
    ws.cell(row=_row_of(ws, h, "2024-0001"), column=h["办理状态"], value="已调解")
    r = _row_of(ws, h, "2024-0002")
    ws.cell(row=r, column=h["调处层级"], value="街道")
    ws.cell(row=r, column=h["事由"], value="改了事由")
    _append(ws, h, 受理日期="2024-05-06", 事由="新纠纷", 当事人="王芳")
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 0, "unchanged": 0, "errors": 2}
    msgs = [e.message() for e in plan.errors]
    assert any("办理状态" in m and "请在矛盾调解页面办理状态变更/升级" in m for m in msgs), msgs
    assert any("调处层级" in m and "请在矛盾调解页面办理状态变更/升级" in m for m in msgs), msgs
    before = _stamp(db)
    with pytest.raises(KnownError, match="没有导入任何数据"):
        apply_plan(db, plan)
    assert _stamp(db) == before
    assert db.scalar("SELECT count(*) FROM mediation_case") == 2
    assert mediation.get_case(db, office["case_b"])["title"] == "赡养纠纷"


def test_bad_date_category_and_source_error_per_cell(db, office, tmp_path):
    out, wb, ws, h = _export(db, tmp_path)
    _append(ws, h, 受理日期="2024-13-01", 纠纷类别="邻里", 事由="甲", 当事人="王芳")
    _append(ws, h, 受理日期="2024-05-06", 纠纷类别="打架", 线索来源="路上", 事由="乙", 当事人="王芳")
    _append(ws, h, 受理日期="2999-01-01", 事由="丙")
    ws.cell(row=_row_of(ws, h, "2024-0002"), column=h["纠纷类别"], value="打架")
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 4}
    by_cell = {(e.row, e.column): e.problem for e in plan.errors}
    last = ws.max_row
    assert (last - 2, "受理日期") in by_cell
    assert "类别" in by_cell[(last - 1, "纠纷类别")] and "来源" in by_cell[(last - 1, "线索来源")]
    assert "晚于今天" in by_cell[(last, "受理日期")] and "当事人" in by_cell[(last, "当事人")]
    assert "类别" in by_cell[(_row_of(ws, h, "2024-0002"), "纠纷类别")]
    assert all(e.column for e in plan.errors)


def test_duplicate_case_numbers_and_wrong_ledger(db, office, tmp_path):
    out, wb, ws, h = _export(db, tmp_path)
    r = _row_of(ws, h, "2024-0001")
    ws.append([c.value for c in ws[r]])
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts["errors"] == 2 and "同一案件编号" in plan.errors[0].problem
    other = tmp_path / "vis.xlsx"
    export_ledger(db, "residents", other)
    with pytest.raises(KnownError, match="矛盾纠纷调解台账"):
        plan_import(db, other, ledger="mediation")

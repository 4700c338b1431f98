"""Excel export and import of the ledgers: layout, round trips, dry run, all-or-nothing, CLI."""

from __future__ import annotations

import datetime as dt
import json
import string
import tempfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.core.db import open_database
from app.models.core.errors import KnownError
from app.models.core.excel_dates import DateError, parse_date
from app.models.core.id_numbers import make
from app.models.core.list_query import Condition
from app.models.employment import employment, labour, training
from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import IMPORTERS, apply_plan, import_file, plan_import
from app.models.excel.excel_read import Sheet, check_file
from app.models.excel.ledgers import LEDGERS
from tests.builders.excel import PEOPLE, add_records, build_office


@pytest.fixture
def office(db):
    return build_office(db)


def _sheet_rows(path: Path) -> list[list]:
    sheet = Sheet(path, check_file(path))
    return [cells for _r, cells in sheet.rows()]


def _write_xlsx(path: Path, rows: list[list], *, title_rows: int = 0, merge_title: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("花名册")
    for t in range(title_rows):
        if merge_title:
            ws.merge_range(t, 0, t, len(rows[0]) - 1, f"大坪镇搬迁户花名册 第{t + 1}行标题")
        else:
            ws.write_string(t, 0, f"标题 {t + 1}")
    for r, row in enumerate(rows, start=title_rows):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r, c, v, wb.add_format({"num_format": "yyyy-mm-dd"}))
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    wb.close()
    return path


# -- dates ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    ["2024-03-05", "2024.3.5", "2024/3/5", "2024年3月5日", "20240305", 20240305, 45356, 45356.0,
     dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 0, 0), "'2024-03-05", " 2024-3-5 ", "２０２４－０３－０５"],
)
def test_dates_in_every_form_read_the_same(value):
    assert parse_date(value) == dt.date(2024, 3, 5)


@pytest.mark.parametrize("value", ["2024-02-30", "三月五日", "2024-13-01", -5, "12/03"])
def test_bad_dates_say_what_would_be_right(value):
    with pytest.raises(DateError, match="2024-03-05"):
        parse_date(value)


# -- export layout -------------------------------------------------------------------------------
def test_resident_export_layout(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    assert export_ledger(db, "residents", out) == len(PEOPLE)
    ws = openpyxl.load_workbook(out).active
    assert "红路馨居社区服务中心" in ws["A1"].value and dt.date.today().isoformat() in ws["A1"].value
    headers = [c.value for c in ws[2]]
    for required in ("户编号 姓名 身份证号 性别 出生日期 民族 与户主关系 联系电话 楼栋 单元 房号 迁出乡镇 迁出村 "
                     "劳动能力 就业状态 户标签 风险等级 备注").split():
        assert required in headers
    assert ws.freeze_panes == "A3"
    assert all(c.font.b for c in ws[2])
    col = {h: i for i, h in enumerate(headers)}
    row = [c for c in ws[3]]
    assert row[col["身份证号"]].data_type == "s" and len(row[col["身份证号"]].value) == 18
    assert row[col["联系电话"]].data_type == "s"
    assert isinstance(row[col["出生日期"]].value, dt.datetime)
    assert ws.column_dimensions["C"].width > 15
    # Read back as Excel does (openpyxl leaves the _x000D_ escape of a carriage return undecoded).
    notes = [r[col["备注"]] for r in _sheet_rows(out)[2:]]
    assert "=SUM(A1:A9)" in notes and "\t前面有制表符" in notes and "\r回车开头" in notes
    assert all(r[col["备注"]].data_type == "s" for r in ws.iter_rows(min_row=3))


def test_masked_export_keeps_first_six_and_last_four(db, office, tmp_path):
    out = tmp_path / "m.xlsx"
    export_ledger(db, "residents", out, masked=True)
    ids = [r[2] for r in _sheet_rows(out)[2:]]
    assert all(len(i) == 18 and i[6:14] == "********" for i in ids)


def test_export_what_i_see(db, office, tmp_path):
    out = tmp_path / "f.xlsx"
    n = export_ledger(db, "residents", out, view=Condition("h.number = ? AND p.sex = ?", ("HL-0001", "男")))
    assert n == 2
    assert [r[1] for r in _sheet_rows(out)[2:]] == ["李建国", "李小龙"]
    add_records(db, office)  # another tab's filter, over its own ledger's aliases
    r = labour.rules(db)
    # the jobs tab's own list query, as its "export what I see" hands it over
    jobs = employment.jobs_query(r, state="all", kind="就近就业")
    assert jobs.view_of("employment").condition == jobs.condition
    assert export_ledger(db, "employment", out, view=jobs.condition) == jobs.count(db) == 1
    assert export_ledger(db, "employment", out, view=employment.jobs_query(r, kind="外出务工").condition) == 0
    with pytest.raises(KnownError, match="不支持按当前筛选导出"):
        export_ledger(db, "figures", out, view=Condition("1"))


@pytest.mark.parametrize("name", list(LEDGERS))
def test_every_ledger_round_trips_through_excel(db, office, tmp_path, name):
    add_records(db, office)
    ledger = LEDGERS[name]
    out = tmp_path / f"{name}.xlsx"
    n = export_ledger(db, name, out)
    columns, total, rows = ledger.rows(db)
    expected = list(rows)
    assert n == total == len(expected) and n >= 1
    read = _sheet_rows(out)
    assert read[1][: len(columns)] == [c.header for c in columns]
    for want, got in zip(expected, read[2:], strict=True):
        for col, w, g in zip(columns, want, got, strict=False):
            if w in (None, ""):
                assert g is None
            elif col.kind in ("date", "birth"):
                assert parse_date(g) == dt.date.fromisoformat(w)
            elif col.kind == "money":
                assert round(g * 100) == w
            elif col.kind in ("int", "age", "number"):
                assert g == w
            else:
                assert g == str(w)


@pytest.mark.parametrize("name", sorted(set(LEDGERS) & set(IMPORTERS)))
def test_every_importable_ledger_exports_and_imports_back_unchanged(db, office, tmp_path, name):
    """Export, then a dry run of the import of that very file: the ledger's one definition means
    every exported column is read back as the same value (nothing new, changed or wrong)."""
    add_records(db, office)
    out = tmp_path / f"{name}.xlsx"
    n = export_ledger(db, name, out)
    plan = plan_import(db, out, ledger=name)
    assert plan.ledger == name and n >= 1
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": n, "errors": 0}, [e.message() for e in plan.errors]
    exported = [c.value for c in openpyxl.load_workbook(out).active[2]]
    assert set(plan.headers.values()) <= set(exported) and plan.ignored_headers == []


# -- import: the round trip ----------------------------------------------------------------------
def test_round_trip_reports_no_change(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": len(PEOPLE), "errors": 0}
    assert plan.ignored_headers == []


def test_update_new_and_change_log(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    cell = ws.cell(row=3, column=h["备注"], value="=改过的备注")
    cell.data_type = "s"  # openpyxl would otherwise write a formula (which the import refuses)
    for row in (3, 4, 5):  # the three members of HL-0001: household values must agree
        ws.cell(row=row, column=h["风险等级"], value="红")
    ws.cell(row=4, column=h["劳动能力"], value="无劳动力")
    new_id = make("532301", dt.date(2001, 9, 9), 7, "男")
    ws.append(["HL-0009", "区小明", f" '{new_id} ", None, None, "回族", "户主", 13611112222, "2栋", "2单元", "0301",
               "大坪镇", "新九村"])
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 2, "unchanged": 4, "errors": 0}
    changes = {r.name: r.changes for r in plan.rows if r.status == "updated"}
    assert ("备注", "=SUM(A1:A9)", "=改过的备注") in changes["张秀英"]
    assert ("风险等级", "绿", "红") in changes["张秀英"]
    assert ("劳动能力", "半劳动力", "无劳动力") in changes["李建国"]
    before = db.scalar("SELECT count(*) FROM change_log")
    apply_plan(db, plan)
    assert db.scalar("SELECT notes FROM person WHERE name = '张秀英'") == "=改过的备注"
    new = db.one("SELECT p.*, h.number, h.head_person_id, r.number AS room FROM person p JOIN household h ON h.id = p.household_id "
                 "JOIN room r ON r.id = h.room_id WHERE p.name = '区小明'")
    assert (new["id_number"], new["sex"], new["birth_date"], new["phone"]) == (new_id, "男", "2001-09-09", "13611112222")
    assert (new["name_pinyin"], new["name_initials"], new["room"]) == ("ouxiaoming", "oxm", "301")
    assert new["head_person_id"] == new["id"]
    assert db.scalar("SELECT count(*) FROM risk_change WHERE new_colour = 'red'") == 1
    assert db.scalar("SELECT count(*) FROM change_log") > before
    assert db.scalar("SELECT count(*) FROM change_log WHERE tbl = 'person' AND col = 'notes' AND value = '\"=改过的备注\"'") == 1
    # Importing the same file again: nothing more to do.
    assert plan_import(db, out).counts["unchanged"] == len(PEOPLE) + 1


def test_import_gives_a_headless_household_the_files_head_and_keeps_other_heads(db, office, tmp_path):
    with db.write() as tx:
        tx.update("household", office["hh-HL-0002"], {"head_person_id": None})
        tx.update("household", office["hh-HL-0003"], {"head_person_id": office["王芳"]})  # kept: it has one
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    for row in range(3, ws.max_row + 1):  # every row changed, so every head row is written
        ws.cell(row=row, column=h["备注"], value=f"改{row}").data_type = "s"
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts["updated"] == len(PEOPLE)
    apply_plan(db, plan)
    heads = {r[0]: r[1] for r in db.query("SELECT number, head_person_id FROM household")}
    assert heads == {"HL-0001": office["张秀英"], "HL-0002": office["单春花"], "HL-0003": office["王芳"]}


def test_all_or_nothing_and_valid_only(db, office, tmp_path):
    rows = [["户编号", "姓名", "身份证号", "楼栋", "单元", "房号"],
            ["N-1", "甲", make("532301", dt.date(1990, 1, 1), 1, "男"), "1栋", 1, "201"],
            ["N-2", "乙", "532301199001010000", "1栋", 1, "102"],
            ["N-3", "丙", make("532301", dt.date(1990, 1, 1), 2, "男"), "9栋", 1, "101"]]
    path = _write_xlsx(tmp_path / "n.xlsx", rows)
    before = db.scalar("SELECT count(*) FROM change_log")
    plan, applied = import_file(db, path)
    assert not applied and plan.counts == {"new": 1, "updated": 0, "unchanged": 0, "errors": 2}
    assert db.scalar("SELECT count(*) FROM change_log") == before
    msgs = [e.message() for e in plan.errors]
    assert any("第 3 行“身份证号”列" in m and "校验位" in m for m in msgs)
    assert any("第 4 行“楼栋”列" in m and "系统中没有楼栋“9栋”" in m and "1栋" in m for m in msgs)
    errors_out = tmp_path / "errs.xlsx"
    plan, applied = import_file(db, path, valid_only=True, errors_out=errors_out)
    assert applied
    assert db.scalar("SELECT count(*) FROM person WHERE name IN ('甲','乙','丙')") == 1
    ws = openpyxl.load_workbook(errors_out).active
    assert ws.cell(row=1, column=7).value == "错误说明"
    assert ws.cell(row=3, column=3).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(row=2, column=7).value is None


def test_header_under_titles_merged_cells_and_variants(db, office, tmp_path):
    id1 = make("532301", dt.date(1980, 5, 6), 3, "女")
    rows = [["户编号", "姓名", "公民身份号码", "手机号", "出生年月", "楼栋号", "单元号", "房间号", "劳动力状况", "备注", "其它"],
            ["N-7", "周艳", id1, "138 0000 1234", "1980.5.6", "1号楼", "1单元", "201", "全劳动力", "+好", "x"]]
    path = _write_xlsx(tmp_path / "v.xlsx", rows, title_rows=2, merge_title=True)
    plan = plan_import(db, path)
    assert plan.header_row == 3 and plan.ignored_headers == ["其它"]
    assert plan.counts["new"] == 1, [e.message() for e in plan.errors]
    apply_plan(db, plan)
    p = db.one("SELECT * FROM person WHERE id_number = ?", (id1,))
    assert (p["phone"], p["labour_ability"], p["notes"], p["name_initials"]) == ("13800001234", "全", "+好", "zy")


def test_two_row_header_with_vertically_merged_cells(db, office, tmp_path):
    id1 = make("532301", dt.date(1980, 5, 6), 4, "女")
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 1, 0, "户编号")
    ws.merge_range(0, 1, 1, 1, "姓名")
    ws.merge_range(0, 2, 1, 2, "身份证号码")
    ws.merge_range(0, 3, 0, 5, "现住址")
    for c, t in enumerate(["楼栋", "单元", "房号"], start=3):
        ws.write_string(1, c, t)
    for c, v in enumerate(["N-8", "吴敏", id1, "1栋", "1", "202"]):
        ws.write_string(2, c, v)
    wb.close()
    plan = plan_import(db, path)
    assert plan.header_row == 2 and set(plan.columns) >= {"hh_number", "name", "id_number", "building", "unit", "room"}
    assert plan.counts["new"] == 1


def test_id_problems_explained(db, office, tmp_path):
    ok = make("532301", dt.date(1975, 1, 2), 5, "男")
    rows = [["户编号", "姓名", "身份证号", "性别", "楼栋", "单元", "房号"],
            ["HL-0001", "甲", float(ok[:17] + "0"), "男", None, None, None],
            ["HL-0001", "乙", ok, "女", None, None, None],
            ["HL-0001", "丙", ok, None, None, None, None],
            ["HL-0001", "丁", "532301********1234", None, None, None, None]]
    plan = plan_import(db, _write_xlsx(tmp_path / "id.xlsx", rows))
    by_row = {e.row: e for e in plan.errors}
    assert "存成了数字" in by_row[2].problem and "文本" in by_row[2].hint
    assert "出现了多次" in [e for e in plan.errors if e.row == 4][0].problem
    assert any("与身份证号不符" in e.problem for e in plan.errors if e.row == 3)
    assert "脱敏" in by_row[5].problem
    assert plan.counts["errors"] == 4


def test_people_without_id_matched_by_household_and_name(db, tmp_path):
    people = [("HL-0001", "张三", dt.date(1970, 1, 1), "男", "户主", None, "全", None)]
    build_office(db, people=people)
    with db.write() as tx:
        tx.update("person", db.scalar("SELECT id FROM person WHERE name = '张三'"), {"id_number": None})
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    assert plan_import(db, out).counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}


# -- property: random valid residents survive export → import unchanged ----------------------------
NAME_CHARS = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤秀英华明建国芳"
resident = st.fixed_dictionaries({
    "name": st.text(NAME_CHARS, min_size=2, max_size=4),
    "birth": st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)),
    "sex": st.sampled_from(["男", "女"]),
    "phone": st.none() | st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    "labour": st.sampled_from([None, "全", "半", "无"]),
    "notes": st.none() | st.text(string.ascii_letters + "=+-@\t\r 备注中文", min_size=1, max_size=12).filter(str.strip),
    "household": st.integers(1, 4),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resident, min_size=1, max_size=8))
def test_property_random_residents_round_trip(people):
    with tempfile.TemporaryDirectory() as d:
        db = open_database(Path(d) / "p.db")
        try:
            rows = [(f"H-{p['household']}", p["name"], p["birth"], p["sex"], "户主" if i == 0 else "其他",
                     p["phone"], p["labour"], p["notes"]) for i, p in enumerate(people)]
            build_office(db, people=rows)
            out = Path(d) / "x.xlsx"
            export_ledger(db, "residents", out)
            plan = plan_import(db, out)
            assert plan.counts == {"new": 0, "updated": 0, "unchanged": len(people), "errors": 0}, [
                (r.changes, [e.message() for e in r.errors]) for r in plan.rows]
        finally:
            db.close()


# -- command line --------------------------------------------------------------------------------
def _cli(argv, capsys):
    import app.cli as cli

    parser_modules = cli.COMMAND_MODULES
    cli.COMMAND_MODULES = ["export_excel", "import_excel"]
    try:
        code = cli.main(argv)
    finally:
        cli.COMMAND_MODULES = parser_modules
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_export_and_import(db, office, db_path, tmp_path, capsys):
    out = tmp_path / "cli.xlsx"
    code, text, _ = _cli(["export-excel", "--db", str(db_path), "--ledger", "residents", "--out", str(out), "--masked"], capsys)
    assert code == 0 and out.exists() and "6 行" in text
    code, text, _ = _cli(["import-excel", "--db", str(db_path), str(out), "--json", "--dry-run"], capsys)
    assert code == 1 and json.loads(text.strip().splitlines()[-1]) == {"new": 0, "updated": 0, "unchanged": 0, "errors": 6,
                                                                       "households_new": 0, "places_new": 0}
    export_ledger(db, "residents", out)
    code, text, _ = _cli(["import-excel", "--db", str(db_path), str(out), "--json"], capsys)
    assert code == 0 and json.loads(text.strip().splitlines()[-1]) == {"new": 0, "updated": 0, "unchanged": 6, "errors": 0,
                                                                       "households_new": 0, "places_new": 0}
    code, text, _ = _cli(["export-excel", "--db", str(db_path), "--ledger", "monthly-disputes", "--out", str(out),
                          "--month", "2024-13"], capsys)
    assert code == 2


def test_cli_errors_out_and_exit_status(db, office, db_path, tmp_path, capsys):
    rows = [["户编号", "姓名", "身份证号", "楼栋", "单元", "房号"], ["N-1", "甲", "123", "1栋", 1, "101"]]
    path = _write_xlsx(tmp_path / "bad.xlsx", rows)
    errs = tmp_path / "bad_errors.xlsx"
    code, text, _ = _cli(["import-excel", "--db", str(db_path), str(path), "--errors-out", str(errs), "--json"], capsys)
    assert code == 1 and errs.exists() and "18 位" in text
    assert json.loads(text.strip().splitlines()[-1])["errors"] == 1


def test_legacy_rows_without_id_and_ids_filled_in(db, office, tmp_path):
    with db.write() as tx:
        tx.update("person", office["王芳"], {"id_number": None})
    wang_id = make("532301", dt.date(1990, 2, 28), 5, "女")
    rows = [["户编号", "姓名", "身份证号", "联系电话"],
            ["HL-0001", "李建国", None, "13900000000"],  # no ID in the old ledger: matched by household + name
            ["HL-0002", "王芳", wang_id, None],  # the ID is new to the database: filled in for her
            ["HL-0001", "李建国", None, None]]  # the same person twice
    plan = plan_import(db, _write_xlsx(tmp_path / "old.xlsx", rows))
    by_row = {r.row: r for r in plan.rows}
    for row in (2, 4):
        assert by_row[row].status == "error" and "第 2、4 行是系统中的同一位居民" in by_row[row].errors[0].problem
    assert by_row[3].status == "updated" and ("身份证号", "", wang_id) in by_row[3].changes
    rows.pop()
    plan = plan_import(db, _write_xlsx(tmp_path / "old2.xlsx", rows))
    assert plan.counts == {"new": 0, "updated": 2, "unchanged": 0, "errors": 0}
    apply_plan(db, plan)
    assert db.scalar("SELECT id_number FROM person WHERE id = ?", (office["王芳"],)) == wang_id
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (office["李建国"],)) == "13900000000"
    assert db.scalar("SELECT id_number FROM person WHERE id = ?", (office["李建国"],)) is not None


# -- the employment ledger ------------------------------------------------------------------------
def test_employment_ledger_round_trip_and_import(db, office, tmp_path):
    add_records(db, office)
    out = tmp_path / "emp.xlsx"
    export_ledger(db, "employment", out)
    plan = plan_import(db, out)
    assert plan.ledger == "employment"
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    ws.cell(row=3, column=h["月收入(元)"], value=3500.5)
    wang = db.one("SELECT id_number FROM person WHERE name = '王芳'")[0]
    ws.append(["HL-0002", "王芳", wang, None, "外出务工", None, "是", "省外", "浙江宁波", None, "鞋厂", None, None, None,
               "2024.3.5", None, "4800", None, None, "=备注"])
    ws.cell(row=4, column=h["备注"]).data_type = "s"
    ws.append(["HL-0002", "王芳", wang, None, "打零工", None, None, None, None, None, None, None, None, None,
               "2024-01-01"])
    ws.append(["HL-0001", "李小龙", db.one("SELECT id_number FROM person WHERE name = '李小龙'")[0], None, "灵活就业",
               None, None, None, None, None, None, None, None, None, "2020-01-01"])
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 1, "unchanged": 0, "errors": 2}, [e.message() for e in plan.errors]
    (upd,) = [r for r in plan.rows if r.status == "updated"]
    assert upd.changes == [("月收入(元)", "3123.45", "3500.50")]
    msgs = " ".join(e.message() for e in plan.errors)
    assert "就业类型应为" in msgs and "未满 16 周岁" in msgs
    apply_plan(db, plan, valid_only=True)
    job = db.one("SELECT * FROM employment WHERE employer = '鞋厂'")
    assert (job["start_date"], job["monthly_income_fen"], job["organised"], job["in_province"], job["notes"]) == (
        "2024-03-05", 480000, 1, 0, "=备注")
    assert db.scalar("SELECT monthly_income_fen FROM employment WHERE employer = '=HYPERLINK(1)'") == 350050


# -- the visits ledger -----------------------------------------------------------------------------
def test_visits_ledger_round_trip_and_insert_only_import(db, office, tmp_path):
    add_records(db, office)
    out = tmp_path / "vis.xlsx"
    export_ledger(db, "visits", out)
    plan = plan_import(db, out)
    assert plan.ledger == "visits" and plan.counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    cell = ws.cell(row=3, column=h["发现情况"], value="@改了")
    cell.data_type = "s"

    def visit(number, date, kind, who, flags, findings):
        row = [None] * len(h)
        for k, v in (("走访日期", date), ("户编号", number), ("走访类型", kind), ("走访人", who),
                     ("走访情况(勾选)", flags), ("发现情况", findings)):
            row[h[k] - 1] = v
        ws.append(row)

    visit("HL-0002", "2024年6月8日", "周访", "王楼长", "生活困难、有就业需求", "=要帮助")
    ws.cell(row=ws.max_row, column=h["发现情况"]).data_type = "s"
    visit("HL-9999", "2024-06-08", "周访", "王楼长", "一切正常", None)
    visit("HL-0003", "2999-01-01", "月访", "王楼长", "一切正常", None)
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 0, "unchanged": 0, "errors": 3}, [e.message() for e in plan.errors]
    msgs = " ".join(e.message() for e in plan.errors)
    assert "只能新增" in msgs and "HL-9999" in msgs and "之后" in msgs
    apply_plan(db, plan, valid_only=True)
    v = db.one("SELECT * FROM visit WHERE findings = '=要帮助'")
    assert v["visit_date"] == "2024-06-08" and json.loads(v["finding_flags"]) == ["生活困难", "有就业需求"]
    assert v["created_at"]


def test_intentions_ledger_round_trip_and_import(db, office, tmp_path):
    add_records(db, office)
    out = tmp_path / "int.xlsx"
    export_ledger(db, "intentions", out)
    plan = plan_import(db, out)
    assert plan.ledger == "intentions" and plan.counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    ws.cell(row=3, column=h["办结日期"], value="2024.7.1")
    ma = db.one("SELECT id_number FROM person WHERE name = '马文学'")[0]
    ws.append(["HL-0003", "马文学", ma, "就业", "电工", "昆明", None, None, "20240301"])
    ws.append(["HL-0003", "马文学", ma, "培训", None, None, None, None, "2024-03-02"])
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 1, "unchanged": 0, "errors": 1}, [e.message() for e in plan.errors]
    assert "想参加什么培训" in plan.errors[0].problem
    assert [r.changes for r in plan.rows if r.status == "updated"] == [[("办结日期", "", "2024-07-01")]]
    apply_plan(db, plan, valid_only=True)
    assert db.scalar("SELECT job_kind FROM intention WHERE recorded_date = '2024-03-01'") == "电工"


def test_households_ledger_round_trip_and_import(db, office, tmp_path):
    out = tmp_path / "hh.xlsx"
    export_ledger(db, "households", out)
    plan = plan_import(db, out)
    assert plan.ledger == "households" and plan.counts == {"new": 0, "updated": 0, "unchanged": 3, "errors": 0}
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    ws.cell(row=3, column=h["居住证"], value="已办")
    ws.cell(row=3, column=h["户口已迁入"], value="是")
    ws.cell(row=3, column=h["风险等级"], value="黄色")
    ws.cell(row=4, column=h["产权证"], value="拿到了")

    def household(number, building=None, unit=None, room=None):
        row = [None] * len(h)
        for k, v in (("户编号", number), ("楼栋", building), ("单元", unit), ("房号", room), ("微菜园面积(㎡)", 20)):
            row[h[k] - 1] = v
        ws.append(row)

    household("HL-0100", "2栋", "2单元", "102")
    household("HL-0101")
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 1, "updated": 1, "unchanged": 1, "errors": 2}, [e.message() for e in plan.errors]
    (upd,) = [r for r in plan.rows if r.status == "updated"]
    assert ("居住证", "", "已办") in upd.changes and ("风险等级", "绿", "黄") in upd.changes
    assert any("应为 未办、办理中、已办" in e.hint for e in plan.errors)
    apply_plan(db, plan, valid_only=True)
    new = db.one("SELECT * FROM household WHERE number = 'HL-0100'")
    assert new["room_id"] == office["room-2-2-102"] and new["garden_plot_m2"] == 20
    first = db.one("SELECT * FROM household WHERE number = 'HL-0001'")
    assert (first["residence_permit"], first["hukou_moved"], first["risk_colour"]) == ("已办", 1, "yellow")
    assert db.scalar("SELECT count(*) FROM risk_change WHERE household_id = ?", (first["id"],)) == 1


def test_training_ledger_round_trip_and_import(db, office, tmp_path):
    add_records(db, office)
    with db.write() as tx:
        tx.update("training_course", db.scalar("SELECT id FROM training_course"), {"certificate_name": "家政服务员证"})
    out = tmp_path / "tr.xlsx"
    export_ledger(db, "training", out)
    plan = plan_import(db, out)
    assert plan.ledger == "training" and plan.counts == {"new": 0, "updated": 0, "unchanged": 1, "errors": 0}
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    ws.cell(row=3, column=h["学时"], value=48)

    def attend(name, course, kind, start, cert=None, got=None):
        row = [None] * len(h)
        pid = db.scalar("SELECT id_number FROM person WHERE name = ?", (name,))
        for k, v in (("姓名", name), ("身份证号", pid), ("培训名称", course), ("培训类型", kind), ("开始日期", start),
                     ("有无证书", cert), ("取得证书", got)):
            row[h[k] - 1] = v
        ws.append(row)

    attend("王芳", "家政服务", "技能提升", "2024-04-01", "有证书", "是")  # same course, another person
    attend("马文学", "电商创业", "创业", "2024-09-01", "无证书")  # a new course
    attend("单春花", "电焊", "高级", "2024-09-02")  # bad kind
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts == {"new": 2, "updated": 1, "unchanged": 0, "errors": 1}, [e.message() for e in plan.errors]
    assert "培训类别应为" in plan.errors[0].problem
    (upd,) = [r for r in plan.rows if r.status == "updated"]
    assert ("学时", "40.0", "48") in upd.changes or ("学时", "40", "48") in upd.changes
    apply_plan(db, plan, valid_only=True)
    assert db.scalar("SELECT hours FROM training_course WHERE name = '家政服务'") == 48
    assert db.scalar("SELECT count(*) FROM training_attendance a JOIN training_course c ON c.id = a.course_id "
                     "WHERE c.name = '家政服务'") == 2
    assert db.scalar("SELECT kind FROM training_course WHERE name = '电商创业'") == "创业"
    assert plan_import(db, out).counts["errors"] == 1  # the bad row stays bad; the rest is now on record
    # An imported row attended every session; a course held as a whole keeps its one session in step.
    for name, hours, present in (("家政服务", 48, 2), ("电商创业", None, 1)):
        course = db.scalar("SELECT id FROM training_course WHERE name = ?", (name,))
        (whole,) = training.sessions(db, course)
        assert whole["hours"] == hours and len(training.presence(db, course)[whole["id"]]) == present
    # The export says how often and how long each person was there (the figures' own definition).
    again = tmp_path / "tr2.xlsx"
    export_ledger(db, "training", again)
    ws = openpyxl.load_workbook(again).active
    h = {c.value: c.column - 1 for c in ws[2]}
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert {(r[h["培训名称"]], r[h["课次"]], r[h["出勤次数"]], r[h["出勤学时"]]) for r in rows} == {
        ("家政服务", 1, 1, 48), ("电商创业", 1, 1, 0)}


def test_updates_are_batched_but_audited_row_by_row(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    h = {c.value: c.column for c in ws[2]}
    phones = {}
    for row in range(3, ws.max_row + 1):
        name = ws.cell(row=row, column=h["姓名"]).value
        phones[name] = f"1390000{row:04d}"
        ws.cell(row=row, column=h["联系电话"], value=phones[name])
    wb.save(out)
    plan = plan_import(db, out)
    assert plan.counts["updated"] == len(PEOPLE)
    audit_before = db.scalar("SELECT count(*) FROM audit_log WHERE tbl = 'person'")
    pinyin_before = db.scalar("SELECT count(*) FROM change_log WHERE tbl = 'person' AND col = 'name_pinyin'")
    apply_plan(db, plan)
    for name, phone in phones.items():
        pid = db.scalar("SELECT id FROM person WHERE name = ?", (name,))
        assert db.scalar("SELECT phone FROM person WHERE id = ?", (pid,)) == phone
        entry = db.one("SELECT * FROM audit_log WHERE tbl = 'person' AND row_id = ? ORDER BY id DESC LIMIT 1", (pid,))
        assert entry["action"] == "update" and json.loads(entry["detail"])["phone"][1] == phone
        assert db.scalar("SELECT value FROM change_log WHERE tbl = 'person' AND row_id = ? AND col = 'phone' "
                         "ORDER BY op_id DESC LIMIT 1", (pid,)) == json.dumps(phone)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE tbl = 'person'") == audit_before + len(PEOPLE)
    # Names did not change: their pinyin is not written again.
    assert db.scalar("SELECT count(*) FROM change_log WHERE tbl = 'person' AND col = 'name_pinyin'") == pinyin_before


def test_apply_refuses_a_file_changed_after_the_preview(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    plan = plan_import(db, out)
    assert plan.source is not None and plan.source[0] == out.stat().st_size
    wb = openpyxl.load_workbook(out)
    wb.active.cell(row=3, column=2, value="改名")
    wb.save(out)
    before = db.scalar("SELECT count(*) FROM change_log")
    with pytest.raises(KnownError, match="预览之后被修改"):
        apply_plan(db, plan)
    assert db.scalar("SELECT count(*) FROM change_log") == before
    # The same file, untouched since its preview: the plan is applied as it is.
    plan = plan_import(db, out)
    apply_plan(db, plan)
    assert db.scalar("SELECT count(*) FROM person WHERE name = '改名'") == 1

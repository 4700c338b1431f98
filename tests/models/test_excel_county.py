"""County resident ledgers in layouts the program never saw: households formed, addresses read,
values normalised, re-import idempotent, occupied rooms refused, uncertain matches listed."""

from __future__ import annotations

import json

import pytest

from app.models.core.errors import KnownError
from app.models.excel.excel_import import apply_plan, plan_import, preview_lines
from app.models.excel.excel_import_county import parse_address
from app.models.registry import households
from tests.builders.excel import county_office, pid, write_sheet

ZHANG = pid((1985, 3, 12), 1, "男")
LI = pid((1987, 4, 15), 2, "女")
SON = pid((2010, 1, 1), 3, "男")
WANG = pid((1970, 1, 1), 5, "男")
WIFE = pid((1972, 6, 1), 6, "女")


@pytest.fixture
def office(db):
    return county_office(db)


def _households(db):
    return {tuple(r) for r in db.query(
        "SELECT h.number, coalesce(h.ext_number, ''), b.name || u.number || '-' || r.number, hp.name, "
        "(SELECT count(*) FROM person m WHERE m.household_id = h.id) FROM household h "
        "JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        "LEFT JOIN person hp ON hp.id = h.head_person_id")}


def _import_twice(db, path, **kw):
    plan = plan_import(db, path, **kw)
    assert plan.counts["errors"] == 0, [e.message() for e in plan.errors]
    apply_plan(db, plan)
    again = plan_import(db, path, **kw)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": plan.counts["new"], "errors": 0}, \
        [(r.row, r.changes) for r in again.rows if r.changes]
    assert again.households_new == 0
    return plan


@pytest.mark.parametrize("text, expected", [
    ("红路馨居社区5栋1单元501室", ("5", 1, "501")), ("5栋1单元501", ("5", 1, "501")), ("5-1-501", ("5", 1, "501")),
    ("5栋501", ("5", None, "501")), ("XX县XX镇 红路馨居 12号楼2单元1102号", ("12", 2, "1102")), ("新村", None),
])
def test_address_forms(text, expected):
    assert parse_address(text) == expected


def test_county_number_title_rows_merged_title_dates_and_values(db, office, tmp_path):
    rows = [["序号", "家庭编号", "姓名", "家庭关系", "公民身份号码", "性别", "民族", "出生日期", "搬迁地址", "劳动技能",
             "政治面貌"],
            [1, "5223010010010000001", "张三", "户主", ZHANG, None, "苗", "1985.03.12", "红路馨居社区5栋1单元501室",
             "普通劳动力", "群众"],
            [2, "5223010010010000001", "李四", "妻", LI, "女", "苗族", "1987年4月15日", "红路馨居社区5栋1单元501室",
             "弱劳动力或半劳动力", None],
            [None] * 11,
            [3, "5223010010010000001", "张小", "长子", SON, "男", "汉", 20100101, "红路馨居社区5栋1单元501室",
             "无劳动力", None],
            [4, "5223010010010000002", "王五", "本人", WANG, "男", "彝", "1970/1/1", "6栋301", "技能劳动力", None]]
    path = write_sheet(tmp_path / "county.xlsx", rows, title_rows=2, merge_title=True)
    plan = _import_twice(db, path)
    assert plan.header_row == 3 and plan.ignored_headers == ["政治面貌"]
    assert plan.extra["rule"] == "ext" and plan.households_new == 2
    assert _households(db) == {("HLX-000001", "5223010010010000001", "5栋1-501", "张三", 3),
                               ("HLX-000002", "5223010010010000002", "6栋1-301", "王五", 1)}
    people = {r["name"]: dict(r) for r in db.query("SELECT * FROM person")}
    assert (people["张三"]["ethnicity"], people["张三"]["sex"], people["张三"]["labour_ability"]) == ("苗族", "男", "全")
    assert (people["李四"]["relation"], people["李四"]["labour_ability"]) == ("配偶", "半")
    assert (people["张小"]["relation"], people["张小"]["ethnicity"], people["张小"]["labour_ability"]) == ("子", "汉族", "无")
    from app.models.registry import registry_search

    found = registry_search.build(db, "52230100100100").household_ids(db)
    assert [db.scalar("SELECT number FROM household WHERE id = ?", (h,)) for h in found] == ["HLX-000001",
                                                                                              "HLX-000002"]
    text = "\n".join(preview_lines(plan))
    assert "按文件中的户编号" in text and "HLX-000001  5栋1单元501  户主 张三  3 人" in text
    assert {r.row: r.reason for r in plan.rows}[7].endswith("新建户 HLX-000001")


def test_relation_rule_consecutive_rows(db, office, tmp_path):
    rows = [["姓名", "与户主关系", "身份证号码", "住址"],
            ["张三", "户主", ZHANG, "5-1-501"], ["李四", "配偶", LI, "5-1-501"], ["张小", "次子", SON, None],
            ["王五", "户主", WANG, "5-2-101"], ["赵六", "妻子", WIFE, "5-2-101"]]
    plan = _import_twice(db, write_sheet(tmp_path / "rel.xlsx", rows))
    assert plan.extra["rule"] == "relation"
    assert {(h[2], h[3], h[4]) for h in _households(db)} == {("5栋1-501", "张三", 3), ("5栋2-101", "王五", 2)}


def test_head_name_rule_tells_two_heads_of_one_name_apart_by_address(db, office, tmp_path):
    rows = [["户主姓名", "成员姓名", "证件号码", "楼栋", "单元", "房号"],
            ["张三", "张三", ZHANG, "5栋", "1单元", "501"], ["张三", "李四", LI, "5栋", "1单元", "501"],
            ["张三", "张三", WANG, "6", None, "102"], ["张三", "赵六", WIFE, "6", None, "102"]]
    plan = _import_twice(db, write_sheet(tmp_path / "head.xlsx", rows))
    assert plan.extra["rule"] == "head_name"
    assert {(h[2], h[3], h[4]) for h in _households(db)} == {("5栋1-501", "张三", 2), ("6栋1-102", "张三", 2)}


def test_address_rule_without_id_numbers_matches_by_name_birth_and_room(db, office, tmp_path):
    rows = [["姓名", "出生年月", "安置地址"],
            ["张三", "1985-03-12", "5栋1单元501"], ["李四", "1987.4.15", "5栋1单元501"], ["王五", "19700101", "6栋102"]]
    plan = _import_twice(db, write_sheet(tmp_path / "addr.xlsx", rows))
    assert plan.extra["rule"] == "address" and plan.households_new == 2
    assert {(h[2], h[4]) for h in _households(db)} == {("5栋1-501", 2), ("6栋1-102", 1)}


def test_unknown_places_listed_grouped_and_created_on_request(db, office, tmp_path, capsys):
    from app.cli import main

    rows = [["姓名", "与户主关系", "身份证号码", "安置地址"],
            ["张三", "户主", ZHANG, "12栋1单元501"], ["李四", "配偶", LI, "12栋1单元501"],
            ["王五", "户主", WANG, "5栋3单元101"], ["赵六", "户主", WIFE, "5栋1单元901"]]
    path = write_sheet(tmp_path / "places.xlsx", rows)
    plan = plan_import(db, path)
    assert plan.counts["errors"] == 4 and plan.places_new == 0
    assert plan.extra["place_index"].missing_text() == "12栋：2 行；5栋 1单元 901：1 行；5栋 3单元：1 行"
    assert "系统中没有楼栋“12栋”" in plan.errors[0].message() and "--create-places" in plan.errors[0].message()
    db_path = str(db.path)
    assert main(["import-excel", "--db", db_path, str(path), "--create-places", "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == {"new": 4, "updated": 0, "unchanged": 0, "errors": 0, "households_new": 3, "places_new": 6}
    assert db.scalar("SELECT count(*) FROM building WHERE name = '12栋' AND number = 12") == 1
    assert db.scalar("SELECT floor FROM room WHERE number = '901'") == 9
    assert main(["import-excel", "--db", db_path, str(path), "--create-places", "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == {"new": 0, "updated": 0, "unchanged": 4, "errors": 0, "households_new": 0, "places_new": 0}


def test_occupied_room_is_an_error_unless_ids_show_the_same_household(db, office, tmp_path):
    hid = households.create(db, {"number": "HLX-000050"}, room="5-1-501")
    with db.write() as tx:
        pid_ = tx.insert("person", {"household_id": hid, "name": "张三", "id_number": ZHANG, "relation": "户主"})
        tx.update("household", hid, {"head_person_id": pid_})
    rows = [["姓名", "与户主关系", "身份证号码", "安置地址"],
            ["王五", "户主", WANG, "5栋1单元501"], ["赵六", "配偶", WIFE, "5栋1单元501"]]
    plan = plan_import(db, write_sheet(tmp_path / "occ.xlsx", rows))
    assert plan.counts["errors"] == 2
    assert "5栋1单元501已住有户号 HLX-000050（户主 张三）的住户" in plan.errors[0].message()
    # The same household, told by an ID number: its new member joins it, nothing new is created.
    rows = [["姓名", "与户主关系", "身份证号码", "安置地址"],
            ["张三", "户主", ZHANG, "5栋1单元501"], ["李四", "妻", LI, "5栋1单元501"]]
    plan = plan_import(db, write_sheet(tmp_path / "same.xlsx", rows))
    assert plan.counts == {"new": 1, "updated": 0, "unchanged": 1, "errors": 0} and plan.households_new == 0
    apply_plan(db, plan)
    assert db.scalar("SELECT count(*) FROM person WHERE household_id = ?", (hid,)) == 2
    # Our own numbering: a new household number into an occupied room is refused as well.
    rows = [["户编号", "姓名", "身份证号", "楼栋", "单元", "房号"], ["N-9", "王五", WANG, "5栋", 1, "501"]]
    plan = plan_import(db, write_sheet(tmp_path / "own.xlsx", rows))
    assert plan.counts["errors"] == 1 and "已住有户号 HLX-000050" in plan.errors[0].message()
    assert db.scalar("SELECT count(*) FROM household WHERE status = '在住'") == 1


def test_possible_same_person_is_listed_not_merged(db, office, tmp_path):
    hid = households.create(db, {"number": "HLX-000050"}, room="6-1-101")
    with db.write() as tx:
        tx.insert("person", {"household_id": hid, "name": "张三", "birth_date": "1985-03-12", "relation": "户主"})
    rows = [["姓名", "出生日期", "与户主关系", "安置地址"], ["张三", "1985.3.12", "户主", "5-1-501"]]
    plan = plan_import(db, write_sheet(tmp_path / "maybe.xlsx", rows))
    assert plan.counts["new"] == 1
    assert plan.extra["maybe_same"] == [(2, "可能是同一人：系统中已有 张三（1985-03-12，户 HLX-000050）")]
    assert any("可能是同一人" in line for line in preview_lines(plan))


def test_unknown_ethnicity_names_the_nearest(db, office, tmp_path):
    rows = [["姓名", "民族", "与户主关系", "身份证号码", "安置地址"], ["张三", "布衣", "户主", ZHANG, "5-1-501"]]
    plan = plan_import(db, write_sheet(tmp_path / "eth.xlsx", rows))
    msg = plan.errors[0].message()
    assert "不认识的民族“布衣”" in msg and "布依族" in msg


def test_a_workbook_with_households_and_residents_sheets_imports_both_households_first(db, office, tmp_path, capsys):
    from app.cli import main

    households_sheet = [["户编号", "户主姓名", "人口数", "楼栋", "单元", "房号", "迁出乡镇", "户口已迁入"],
                        ["N-1", "张三", 2, "5栋", 1, "501", "大坪镇", "是"], ["N-2", "王五", 1, "6栋", 1, "101", "新寨乡", "否"]]
    residents_sheet = [["户编号", "姓名", "身份证号", "与户主关系"],
                       ["N-1", "张三", ZHANG, "户主"], ["N-1", "李四", LI, "妻"], ["N-2", "王五", WANG, "户主"]]
    path = write_sheet(tmp_path / "office.xlsx", households_sheet, sheet="搬迁户台账", more={"居民花名册": residents_sheet})
    args = ["import-excel", "--db", str(db.path), str(path), "--json"]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "先导入户，再导入人" in out and json.loads(out.strip().splitlines()[-1])["households_new"] == 2
    assert db.scalar("SELECT count(*) FROM household") == 0  # the dry run kept nothing
    assert main(args) == 0
    capsys.readouterr()
    rows = {tuple(r) for r in db.query(
        "SELECT h.number, h.origin_township, h.hukou_moved, p.name, p.relation, h.head_person_id = p.id "
        "FROM person p JOIN household h ON h.id = p.household_id")}
    assert rows == {("N-1", "大坪镇", 1, "张三", "户主", 1), ("N-1", "大坪镇", 1, "李四", "配偶", 0),
                    ("N-2", "新寨乡", 0, "王五", "户主", 1)}
    assert main(args) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (last["new"], last["updated"], last["households_new"]) == (0, 0, 0)


def test_heads_of_new_households_reach_the_change_log_and_one_audit_entry(db, office, tmp_path):
    rows = [["姓名", "与户主关系", "身份证号码", "住址"],
            ["张三", "户主", ZHANG, "5-1-501"], ["李四", "配偶", LI, "5-1-501"],
            ["王五", "户主", WANG, "5-2-101"], ["赵六", "妻子", WIFE, "5-2-101"]]
    apply_plan(db, plan_import(db, write_sheet(tmp_path / "heads.xlsx", rows)))
    logged = {tuple(r) for r in db.query(
        "SELECT h.number, json_extract(c.value, '$') FROM change_log c JOIN household h ON h.id = c.row_id "
        "WHERE c.tbl = 'household' AND c.col = 'head_person_id'")}
    heads = {tuple(r) for r in db.query("SELECT number, head_person_id FROM household")}
    assert logged == heads and len(heads) == 2 and all(h for _, h in heads)
    batch = db.query("SELECT summary, detail FROM audit_log WHERE tbl = 'household' AND action = 'update'")
    assert len(batch) == 1 and "（2 行）" in batch[0]["summary"]
    assert json.loads(batch[0]["detail"])["column"] == "head_person_id"


def test_apply_refuses_a_room_taken_after_the_preview(db, office, tmp_path):
    rows = [["姓名", "与户主关系", "身份证号码", "住址"], ["张三", "户主", ZHANG, "5-1-501"]]
    plan = plan_import(db, write_sheet(tmp_path / "late.xlsx", rows))
    room = db.scalar("SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
                     "WHERE b.name = '5栋' AND u.number = 1 AND r.number = '501'")
    with db.write() as tx:
        tx.insert("household", {"number": "HLX-LATE", "room_id": room})
    plan.stamp = db.scalar("SELECT max(op_id) FROM change_log")  # as if nobody had written since the preview
    with pytest.raises(KnownError, match="HLX-LATE"):
        apply_plan(db, plan)
    assert db.scalar("SELECT count(*) FROM person") == 0

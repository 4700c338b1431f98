"""Visit records: validation (future, before move-in, kind, visitor), saving, and the mediation link."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.errors import KnownError, ValidationError
from app.models.places import visits
from app.models.places.visits import VisitInput
from tests.builders.places import add_household, community_with_building, room_id

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def hid(db):
    p = community_with_building(db)
    return add_household(db, room_id(db, p["building"], 1, "101"), move_in="2025-06-01")


def _v(hid, **kw):
    base = {
        "household_id": hid,
        "visit_date": "2026-03-09",
        "kind": "月访",
        "visitor_name": "楼栋长老李",
        "finding_flags": ["一切正常"],
    }
    base.update(kw)
    return VisitInput(**base)


def test_add_visit_and_read_back(db, hid):
    vid = visits.add_visit(
        db, _v(hid, findings=" 老人身体好 ", problems="楼道灯坏了", follow_up_note="报物业"), TODAY
    )
    v = visits.get_visit(db, vid)
    assert v["visit_date"] == "2026-03-09" and v["kind"] == "月访"
    assert v["flags"] == ["一切正常"] and v["findings"] == "老人身体好"
    assert v["follow_up_needed"] == 1  # a follow-up note implies follow-up
    assert v["created_at"]
    assert visits.visits_of(db, hid)[0]["visitor"] == "楼栋长老李"
    brief = visits.household_brief(db, hid)
    assert brief["head_name"] == "张三" and brief["size"] == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"visit_date": "2026-03-11"}, "之后，不能登记未来的走访"),
        ({"visit_date": "2025-05-31"}, "早于这一户的入住日期 2025-06-01"),
        ({"visit_date": "2026-02-30"}, "不是有效日期"),
        ({"kind": "年访"}, "走访类型只能是"),
        ({"visitor_name": "  "}, "请填写走访人"),
        ({"finding_flags": [], "findings": ""}, "请勾选或填写走访情况"),
        ({"finding_flags": ["外星人"]}, "未知的走访情况"),
        ({"problems": "长" * 1001}, "太长"),
    ],
)
def test_bad_visits_are_refused_and_nothing_saved(db, hid, kw, message):
    with pytest.raises(ValidationError, match=message):
        visits.add_visit(db, _v(hid, **kw), TODAY)
    assert db.scalar("SELECT count(*) FROM visit") == 0


def test_visit_on_move_in_day_and_today_are_fine(db, hid):
    visits.add_visit(db, _v(hid, visit_date="2025-06-01"), TODAY)
    visits.add_visit(db, _v(hid, visit_date=TODAY.isoformat()), TODAY)
    assert db.scalar("SELECT count(*) FROM visit") == 2


def test_kind_for_colour():
    assert visits.kind_for_colour("red") == "日访"
    assert visits.kind_for_colour("yellow") == "周访"
    assert visits.kind_for_colour("green") == "月访"


def test_delete_visit(db, hid):
    vid = visits.add_visit(db, _v(hid), TODAY)
    visits.delete_visit(db, vid)
    assert visits.visits_of(db, hid) == []


def test_problem_becomes_mediation_case_linked_both_ways(db, hid):
    vid = visits.add_visit(db, _v(hid, visit_date=TODAY.isoformat(), problems="邻居装修噪音扰民"))
    case_id = visits.to_mediation_case(db, vid, None, "邻里")
    case = db.one("SELECT * FROM mediation_case WHERE id = ?", (case_id,))
    assert case["visit_id"] == vid and case["title"] == "邻居装修噪音扰民" and case["category"] == "邻里"
    assert visits.get_visit(db, vid)["mediation_case_id"] == case_id
    with pytest.raises(KnownError, match="已经转为调解案件"):
        visits.to_mediation_case(db, vid, "再来一次")


def test_visit_without_problem_needs_a_title(db, hid):
    vid = visits.add_visit(db, _v(hid), TODAY)
    with pytest.raises(ValidationError, match="请先填写案件标题"):
        visits.to_mediation_case(db, vid, "  ")

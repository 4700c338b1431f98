"""Mediation data layer: numbering, parties, every allowed and refused transition, limits, visits."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core import settings
from app.models.core.errors import NotFoundError, ValidationError
from app.models.mediation import mediation as med
from tests.builders.mediation import make_places

TODAY = dt.date.today()


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def places(db):
    return make_places(db)


def new_case(db, places, **kw) -> str:
    fields = {"title": "楼上漏水", "category": "邻里", "source": "来访", "building_id": places["building"],
              "parties": [{"person_id": places["张三"]}, {"person_id": places["李四"]}]}
    fields.update(kw)
    return med.create_case(db, **fields)


def settle(db, case_id, when=None):
    med.change_status(db, case_id, "调解中", date=when)
    med.change_status(db, case_id, "已调解", date=when, agreement_text="李四负责修复防水，赔偿张三 500 元。")


# -- creating ------------------------------------------------------------------------------------
def test_numbers_per_year_count_up_from_the_highest(db, places):
    a = new_case(db, places, received_date="2025-12-30")
    b = new_case(db, places, received_date="2026-01-02")
    c = new_case(db, places, received_date="2026-01-03")
    d = new_case(db, places, received_date="2025-12-31")
    nums = [med.get_case(db, x)["number"] for x in (a, b, c, d)]
    assert nums == ["2025-0001", "2026-0001", "2026-0002", "2025-0002"]


def test_case_has_parties_with_household_and_room(db, places):
    cid = new_case(db, places, parties=[{"person_id": places["张三"], "role": "申请人"},
                                        {"outsider_name": "钱七", "outsider_phone": "13900001111"}])
    ps = med.parties(db, cid)
    assert [p["name"] for p in ps] == ["张三", "钱七"]
    assert ps[0]["household_number"] == "H001" and ps[0]["address"] == "1栋1单元101"
    assert ps[1]["resident"] is False and ps[1]["phone"] == "13900001111"
    case = med.get_case(db, cid)
    assert case["status"] == "受理" and case["level"] == "楼栋" and case["level_since"] == case["received_date"]
    assert [e["to_value"] for e in med.history(db, cid)] == ["受理"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"title": "  "}, "标题"),
        ({"received_date": (TODAY + dt.timedelta(days=1)).isoformat()}, "不能晚于今天"),
        ({"received_date": "2026-02-30"}, "不是有效日期"),
        ({"parties": []}, "至少添加一位当事人"),
        ({"parties": [{"person_id": "x", "outsider_name": "钱七"}]}, "只选一种"),
        ({"parties": [{"outsider_name": "", "outsider_phone": "139"}]}, "没有姓名"),
        ({"source": "微信"}, "来源"),
        ({"level": "县"}, "层级"),
        ({"category": "打架"}, "类别"),
    ],
)
def test_bad_case_input_is_refused_and_nothing_saved(db, places, kw, message):
    with pytest.raises(ValidationError, match=message):
        new_case(db, places, **kw)
    assert db.scalar("SELECT count(*) FROM mediation_case") == 0
    assert db.scalar("SELECT count(*) FROM mediation_party") == 0


def test_resident_entered_as_outsider_is_refused(db, places):
    with db.write() as tx:
        tx.update("person", places["李四"], {"phone": "13700001234"})
    with pytest.raises(ValidationError, match="请从居民台账中选择"):
        new_case(db, places, parties=[{"person_id": places["张三"]},
                                      {"outsider_name": "李四", "outsider_phone": "13700001234"}])
    assert db.scalar("SELECT count(*) FROM mediation_case") == 0


def test_same_resident_twice_is_refused(db, places):
    with pytest.raises(ValidationError, match="重复"):
        new_case(db, places, parties=[{"person_id": places["张三"]}, {"person_id": places["张三"]}])


def test_case_from_visit_links_both_ways(db, places):
    with db.write() as tx:
        vid = tx.insert("visit", {"household_id": places["hh2"], "visit_date": days_ago(1), "kind": "周访",
                                  "visitor_name": "楼栋长王", "problems": "与邻居因停车争吵"})
    cid = med.create_case_from_visit(db, vid, "停车纠纷", "邻里")
    case = med.get_case(db, cid)
    assert case["source"] == "走访发现" and case["level"] == "楼栋" and case["visit_id"] == vid
    assert case["building_id"] == places["building"] and case["received_date"] == days_ago(1)
    assert db.scalar("SELECT mediation_case_id FROM visit WHERE id = ?", (vid,)) == cid
    assert [p["name"] for p in med.parties(db, cid)] == ["李四"]
    assert med.linked_visit(db, cid)["household_number"] == "H002"
    with pytest.raises(ValidationError, match="已关联"):
        med.create_case_from_visit(db, vid, "再来一次")
    with pytest.raises(NotFoundError):
        med.create_case_from_visit(db, "nope", "x")


def test_case_from_visit_rolls_back_on_bad_title(db, places):
    with db.write() as tx:
        vid = tx.insert("visit", {"household_id": places["hh1"], "visit_date": days_ago(0), "kind": "月访"})
    with pytest.raises(ValidationError):
        med.create_case_from_visit(db, vid, "")
    assert db.scalar("SELECT mediation_case_id FROM visit WHERE id = ?", (vid,)) is None
    assert db.scalar("SELECT count(*) FROM mediation_case") == 0


# -- workflow ------------------------------------------------------------------------------------
ALL_PAIRS = [(a, b) for a in med.STATUSES for b in med.STATUSES if a != b]


def _bring_to(db, places, status: str) -> str:
    """A case in `status` by the ordinary path (dated in the past so follow-ups fit after)."""
    cid = new_case(db, places, received_date=days_ago(10))
    path = {
        "受理": [], "调解中": ["调解中"], "已调解": ["调解中", "已调解"], "调解不成": ["调解中", "调解不成"],
        "已移交": ["已移交"], "已回访": ["调解中", "已调解", "F"], "结案": ["调解中", "已调解", "F", "结案"],
    }[status]
    for n, step in enumerate(path):
        if step == "F":
            med.add_followup(db, cid, followup_date=days_ago(8 - n), visitor="王", outcome="满意")
        else:
            med.change_status(db, cid, step, date=days_ago(8 - n), agreement_text="条款", referred_to="派出所")
    assert med.get_case(db, cid)["status"] == status
    return cid


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS)
def test_every_transition_allowed_or_refused(db, places, src, dst):
    cid = _bring_to(db, places, src)
    allowed = dst in med.TRANSITIONS[src]
    if allowed and dst != "已回访":
        med.change_status(db, cid, dst, date=days_ago(1), agreement_text="条款", referred_to="街道综治中心")
        assert med.get_case(db, cid)["status"] == dst
        assert med.history(db, cid)[-1]["to_value"] == dst
    elif allowed:  # 已回访 only once a follow-up exists
        with pytest.raises(ValidationError, match="回访"):
            med.change_status(db, cid, dst, date=days_ago(1))
    else:
        before = med.get_case(db, cid)
        with pytest.raises(ValidationError, match="不能结案" if dst == "结案" and src in med.CONCLUDED else "不能改为"):
            med.change_status(db, cid, dst, date=days_ago(1), agreement_text="x", referred_to="y")
        assert med.get_case(db, cid) == before


def test_settling_needs_agreement_and_referral_needs_target(db, places):
    cid = new_case(db, places)
    med.change_status(db, cid, "调解中")
    with pytest.raises(ValidationError, match="协议内容"):
        med.change_status(db, cid, "已调解", agreement_text=" ")
    with pytest.raises(ValidationError, match="移交给"):
        med.change_status(db, cid, "已移交")
    assert med.get_case(db, cid)["status"] == "调解中"


def test_close_refused_without_followup_and_followup_refused_before_settlement(db, places):
    cid = new_case(db, places, received_date=days_ago(5))
    with pytest.raises(ValidationError, match="尚未调解成功"):
        med.add_followup(db, cid, followup_date=days_ago(1), visitor="王", outcome="满意")
    settle(db, cid, days_ago(3))
    with pytest.raises(ValidationError, match="还没有回访记录，不能结案"):
        med.change_status(db, cid, "结案")
    with pytest.raises(ValidationError, match="早于已调解日期"):
        med.add_followup(db, cid, followup_date=days_ago(4), visitor="王", outcome="满意")
    with pytest.raises(ValidationError, match="不能晚于今天"):
        med.add_followup(db, cid, followup_date=TODAY + dt.timedelta(days=1), visitor="王", outcome="满意")
    with pytest.raises(ValidationError, match="回访结果"):
        med.add_followup(db, cid, followup_date=days_ago(1), visitor="王", outcome="还行")
    assert db.scalar("SELECT count(*) FROM mediation_followup") == 0
    med.add_followup(db, cid, followup_date=days_ago(1), visitor="王", outcome="基本满意", next_date=days_ago(-20))
    case = med.get_case(db, cid)
    assert case["status"] == "已回访" and case["outcome"] == "已调解"
    med.change_status(db, cid, "结案")
    case = med.get_case(db, cid)
    assert case["status"] == "结案" and case["closed_date"] == TODAY.isoformat()
    with pytest.raises(ValidationError, match="已结案"):
        med.add_followup(db, cid, followup_date=days_ago(0), visitor="王", outcome="满意")


def test_status_date_cannot_go_back_in_time(db, places):
    cid = new_case(db, places, received_date=days_ago(5))
    with pytest.raises(ValidationError, match="早于受理日期"):
        med.change_status(db, cid, "调解中", date=days_ago(6))
    med.change_status(db, cid, "调解中", date=days_ago(2))
    with pytest.raises(ValidationError, match="上一次办理记录"):
        med.change_status(db, cid, "调解不成", date=days_ago(3))


def test_escalation_keeps_history_and_restarts_limit(db, places):
    cid = new_case(db, places, received_date=days_ago(6))
    med.change_status(db, cid, "调解中", date=days_ago(5))
    med.change_status(db, cid, "调解不成", date=days_ago(4))
    with pytest.raises(ValidationError, match="升级原因"):
        med.change_level(db, cid, "社区", reason="")
    with pytest.raises(ValidationError, match="已经在"):
        med.change_level(db, cid, "楼栋", reason="x")
    med.change_level(db, cid, "社区", reason="楼栋调解未果", date=days_ago(3))
    case = med.get_case(db, cid)
    assert (case["level"], case["level_since"], case["status"], case["outcome"]) == ("社区", days_ago(3), "调解中", None)
    med.change_level(db, cid, "街道", reason="涉及多户", date=days_ago(1))
    med.change_level(db, cid, "社区", reason="街道指导后交回社区", date=days_ago(0))
    levels = [(e["from_value"], e["to_value"], e["note"]) for e in med.history(db, cid) if e["kind"] == "level"]
    assert levels == [("楼栋", "社区", "楼栋调解未果"), ("社区", "街道", "涉及多户"), ("街道", "社区", "街道指导后交回社区")]
    med.change_status(db, cid, "已调解", agreement_text="条款")
    with pytest.raises(ValidationError, match="不能再调整层级"):
        med.change_level(db, cid, "街道", reason="x")


# -- time limits ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "days", "colour"),
    [
        ("楼栋", 0, "green"), ("楼栋", 1, "green"), ("楼栋", 2, "amber"), ("楼栋", 3, "amber"), ("楼栋", 4, "red"),
        ("社区", 9, "green"), ("社区", 10, "amber"), ("社区", 15, "amber"), ("社区", 16, "red"),
        ("街道", 19, "green"), ("街道", 20, "amber"), ("街道", 30, "amber"), ("街道", 31, "red"),
    ],
)
def test_limit_colour_boundaries(level, days, colour):
    limits = {"楼栋": 3, "社区": 15, "街道": 30}
    assert med.limit_colour(level, days_ago(days), "调解中", limits, TODAY) == colour


def test_limit_colour_only_for_open_cases_and_from_settings(db):
    assert med.limit_colour("楼栋", days_ago(10), "已调解", med.limits(db)) is None
    settings.set_value(db, "mediation_limit_楼栋", 10)
    assert med.limits(db)["楼栋"] == 10
    assert med.limit_colour("楼栋", days_ago(6), "受理", med.limits(db)) == "green"
    assert med.limit_colour("楼栋", days_ago(7), "受理", med.limits(db)) == "amber"


def test_overdue_sorts_first(db, places):
    fresh = new_case(db, places, received_date=days_ago(0))
    over = new_case(db, places, received_date=days_ago(9))
    near = new_case(db, places, received_date=days_ago(2))
    done = new_case(db, places, received_date=days_ago(20))
    settle(db, done, days_ago(1))
    where, params = med.case_filter()
    ids = [r[0] for r in db.query(
        f"SELECT c.id FROM {med.FROM_SQL} WHERE {where} ORDER BY {med.urgency_sql(med.limits(db))} DESC", params)]
    assert ids == [over, near, fresh, done]


# -- search and filters --------------------------------------------------------------------------
def _ids(db, **kw) -> set[str]:
    where, params = med.case_filter(**kw)
    return {r[0] for r in db.query(f"SELECT c.id FROM {med.FROM_SQL} WHERE {where}", params)}


def test_filters(db, places):
    a = new_case(db, places, received_date=days_ago(30))
    b = new_case(db, places, received_date=days_ago(3), category="物业费", title="物业费拖欠",
                 building_id=places["building2"], parties=[{"person_id": places["单雄"]},
                                                           {"outsider_name": "欧阳锋", "outsider_phone": ""}])
    med.change_level(db, b, "社区", reason="涉及物业公司")
    assert _ids(db, search="张三") == {a}
    assert _ids(db, search="zs") == {a}
    assert _ids(db, search="SX") == {b}          # 单 read as the surname Shan
    assert _ids(db, search="oy") == {b}          # outsider initials
    assert _ids(db, search="欧阳") == {b}
    assert _ids(db, search="物业费拖") == {b}
    assert _ids(db, search=med.get_case(db, a)["number"]) == {a}
    assert _ids(db, level="社区") == {b}
    assert _ids(db, category="邻里") == {a}
    assert _ids(db, building_id=places["building2"]) == {b}
    assert _ids(db, date_from=days_ago(10)) == {b}
    assert _ids(db, date_to=days_ago(10)) == {a}
    assert _ids(db, status="受理") == {a, b}
    assert _ids(db, open_only=True) == {a, b}
    settle(db, a)
    assert _ids(db, open_only=True) == {b}
    assert _ids(db, open_only=True, level="社区") == {b} and _ids(db, open_only=True, level="楼栋") == set()


def test_search_persons_by_initials_and_name(db, places):
    assert [r["name"] for r in med.search_persons(db, "zs")] == ["张三"]
    r = med.search_persons(db, "李")[0]
    assert r["household_number"] == "H002" and r["room"] == "1栋1单元102"


def test_the_party_search_reads_what_is_typed_as_the_registry_does(db, places):
    from app.models.registry import registry_search

    for text in ("1-1-102", "1栋1单元102", "ls", "李四", "zs 1-1"):
        found = {r["id"] for r in med.search_persons(db, text)}
        registry = {r["id"] for r in db.query(
            "SELECT p.id FROM person p WHERE p.deleted = 0 AND " + (registry_search.person_condition(text).sql or "1"),
            registry_search.person_condition(text).params)}
        assert found == registry, text
    assert "李四" in [r["name"] for r in med.search_persons(db, "1-1-102")]
    assert "张三" not in [r["name"] for r in med.search_persons(db, "1-1-102")]


def test_agreement_data(db, places):
    cid = new_case(db, places, mediators="王调解员")
    with pytest.raises(ValidationError, match="协议书"):
        med.agreement(db, cid)
    settle(db, cid)
    a = med.agreement(db, cid)
    assert a["terms"].startswith("李四负责") and a["agreement_date"] == TODAY.isoformat()
    assert [p["name"] for p in a["parties"]] == ["张三", "李四"]
    assert a["parties"][0]["id_number"] and a["parties"][0]["address"] == "1栋1单元101"
    assert a["office_name"] and a["number"].startswith(str(TODAY.year))


def test_case_rows_for_export(db, places):
    new_case(db, places, received_date=days_ago(0), title="新")
    old = new_case(db, places, received_date=days_ago(5), title="旧")
    rows = med.case_rows(db)
    assert [r["title"] for r in rows] == ["旧", "新"]
    assert rows[0]["id"] == old and rows[0]["limit_colour"] == "red" and rows[0]["days_left"] == -2
    assert rows[0]["parties"] == "张三、李四" and rows[0]["building"] == "1栋"
    assert len(med.case_rows(db, search="zs", limit=1)) == 1


def test_update_case_replaces_parties(db, places):
    cid = new_case(db, places)
    n_parties = db.scalar("SELECT count(*) FROM mediation_party")
    med.update_case(db, cid, title="漏水", category="邻里",
                    parties=[{"person_id": places["张三"]}, {"person_id": places["李四"]}])
    assert db.scalar("SELECT count(*) FROM mediation_party") == n_parties  # unchanged: not rewritten
    med.update_case(db, cid, title="漏水纠纷", category="邻里", parties=[{"person_id": places["王芳"]}])
    assert [p["name"] for p in med.parties(db, cid)] == ["王芳"]
    assert med.get_case(db, cid)["title"] == "漏水纠纷"
    with pytest.raises(ValidationError, match="标题"):
        med.update_case(db, cid, title="")


def test_save_settings_validates_and_saves_together(db, places):
    new_case(db, places, category="物业费")
    with pytest.raises(ValidationError, match="1 到 365"):
        med.save_settings(db, {"楼栋": 0, "社区": 15, "街道": 30}, ["邻里"])
    with pytest.raises(ValidationError, match="已有 1 件案件使用"):
        med.save_settings(db, {"楼栋": 5, "社区": 15, "街道": 30}, ["邻里", "其他"])
    with pytest.raises(ValidationError, match="重复"):
        med.save_settings(db, {"楼栋": 5, "社区": 15, "街道": 30}, ["物业费", "物业费"])
    assert med.limits(db)["楼栋"] == 3  # nothing half-saved
    med.save_settings(db, {"楼栋": 5, "社区": 10, "街道": 20}, ["物业费", "邻里", "宅基地"])
    assert med.limits(db) == {"楼栋": 5, "社区": 10, "街道": 20}
    assert med.categories(db) == ["物业费", "邻里", "宅基地"]


def test_followup_due_filter(db, places):
    open_case = new_case(db, places, received_date=days_ago(10))
    settled = new_case(db, places, received_date=days_ago(10))
    settle(db, settled, days_ago(9))
    planned = new_case(db, places, received_date=days_ago(10))
    settle(db, planned, days_ago(9))
    med.add_followup(db, planned, followup_date=days_ago(8), visitor="王", outcome="基本满意", next_date=days_ago(1))
    later = new_case(db, places, received_date=days_ago(10))
    settle(db, later, days_ago(9))
    med.add_followup(db, later, followup_date=days_ago(8), visitor="王", outcome="满意", next_date=days_ago(-5))
    assert _ids(db, followup_due=True) == {settled, planned}
    med.add_followup(db, planned, followup_date=days_ago(0), visitor="王", outcome="满意")
    assert _ids(db, followup_due=True) == {settled}
    assert open_case not in _ids(db, followup_due=True)


def test_delete_only_unhandled_cases_with_reason(db, places):
    with db.write() as tx:
        vid = tx.insert("visit", {"household_id": places["hh1"], "visit_date": days_ago(0), "kind": "月访"})
    cid = med.create_case_from_visit(db, vid, "重复登记的案件")
    with pytest.raises(ValidationError, match="删除原因"):
        med.delete_case(db, cid, reason=" ")
    med.delete_case(db, cid, reason="重复登记")
    assert _ids(db) == set()
    assert db.scalar("SELECT count(*) FROM mediation_party WHERE deleted = 0") == 0
    assert db.scalar("SELECT mediation_case_id FROM visit WHERE id = ?", (vid,)) is None
    with pytest.raises(NotFoundError):
        med.get_case(db, cid)
    handled = new_case(db, places)
    med.change_status(db, handled, "调解中")
    with pytest.raises(ValidationError, match="不能删除"):
        med.delete_case(db, handled, reason="x")

"""Households and members through the data layer: create, edit, move, head, status, duplicates, bad input."""

from __future__ import annotations

import pytest

from app.models.core import audit
from app.models.core.errors import ValidationError
from app.models.registry import addresses, households, persons
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site


def test_address_text_and_parsing():
    assert addresses.address_text("3", 2, "501") == "3栋2单元501"
    assert addresses.address_text("3栋", 2, "501") == "3栋2单元501"
    assert addresses.parse_address("3-2-501") == addresses.AddressQuery("3", 2, "501")
    assert addresses.parse_address("3栋2单元501") == addresses.AddressQuery("3", 2, "501")
    assert addresses.parse_address("3栋2单元") == addresses.AddressQuery("3", 2, None)
    assert addresses.parse_address("3栋") == addresses.AddressQuery("3", None, None)
    assert addresses.parse_address("周艳") is None
    assert addresses.parse_address("501") is None


def test_resolve_room(db):
    rooms = make_site(db)
    assert households.resolve_room(db, "1-2-501") == rooms["1-2-501"]
    assert households.resolve_room(db, "1栋2单元501") == rooms["1-2-501"]
    with pytest.raises(ValidationError, match="找不到房间“9栋1单元101”"):
        households.resolve_room(db, "9-1-101")
    with pytest.raises(ValidationError, match="不是完整的房号"):
        households.resolve_room(db, "1栋")


def test_create_household_with_members_head_and_history(db):
    make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU, tag_lifted=True, risk_colour="yellow")
    h = households.get(db, hid)
    assert h.address == "1栋1单元101"
    assert h.head_person_id == head
    assert h.tag_lifted == 1 and h.risk_colour == "yellow"
    assert households.tag_names(h) == ["脱贫户"] and h.tags["tag_lifted"] and not h.tags["tag_dibao"]
    p = persons.get(db, head)
    assert (p.sex, p.birth_date, p.name_initials) == ("女", "1985-03-02", "zy")
    history = households.address_history(db, hid)
    assert [a["address_text"] for a in history] == ["1栋1单元101"]
    assert audit.last_change(db, "household", hid).user == "测试员"


def test_room_not_found_or_taken_saves_nothing(db):
    make_site(db)
    add_household(db, "1-1-101", "周艳")
    before = db.scalar("SELECT count(*) FROM household")
    with pytest.raises(ValidationError, match="已住有"):
        households.create(db, {}, room="1-1-101")
    with pytest.raises(ValidationError, match="找不到房间"):
        households.create(db, {}, room="8-8-808")
    assert db.scalar("SELECT count(*) FROM household") == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": "   "}, "name", "不能为空"),
        ({"name": "=1+2"}, "name", "不能以“=”开头"),
        ({"name": "张三😀"}, "name", "不能有数字、表情"),
        ({"name": "张" * 10000}, "name", "太长"),
        ({"name": "张三", "phone": "138abc12345"}, "phone", "不能有字母"),
        ({"name": "张三", "phone": "12345"}, "phone", "位数不对"),
        ({"name": "张三", "birth_date": "2001-02-30"}, "birth_date", "不是有效日期"),
        ({"name": "张三", "birth_date": "2999-01-01"}, "birth_date", "在今天之后"),
        ({"name": "张三", "id_number": "110105194912310021"}, "id_number", "校验位错误"),
        ({"name": "张三", "notes": "x" * 10000}, "notes", "太长"),
    ],
)
def test_bad_person_input_is_refused_at_its_field(db, values, field, message):
    make_site(db)
    hid, _ = add_household(db, "1-1-101", "周艳")
    count = db.scalar("SELECT count(*) FROM person")
    with pytest.raises(ValidationError, match=message) as err:
        persons.add(db, hid, values)
    assert err.value.field == field
    assert db.scalar("SELECT count(*) FROM person") == count


def test_minority_names_with_middle_dot_are_accepted():
    checked = persons.check({"name": "阿依古丽·买买提"})
    assert checked.values["name"] == "阿依古丽·买买提"


def test_id_number_wins_over_typed_sex_and_birth_with_a_warning():
    checked = persons.check({"name": "周艳", "id_number": ID_ZHOU.lower(), "sex": "男", "birth_date": "1990-01-01"})
    assert checked.values["sex"] == "女" and checked.values["birth_date"] == "1985-03-02"
    assert any("性别" in w for w in checked.warnings) and any("出生日期" in w for w in checked.warnings)


def test_empty_id_number_is_allowed_with_a_flag():
    checked = persons.check({"name": "王小二"})
    assert checked.values["id_number"] is None
    assert "待补录" in checked.warnings[0]


def test_duplicate_id_number_is_blocked_anywhere(db):
    make_site(db)
    add_household(db, "1-1-101", "周艳", ID_ZHOU)
    other, _ = add_household(db, "2-1-101", "王强", ID_WANG)
    with pytest.raises(persons.DuplicateIdNumber) as err:
        persons.add(db, other, {"name": "周燕", "id_number": ID_ZHOU})
    assert err.value.existing[0].name == "周艳"
    assert err.value.existing[0].address == "1栋1单元101"


def test_near_match_is_found_not_blocked(db):
    make_site(db)
    hid, _ = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    assert [e.name for e in persons.near_matches(db, "周艳", "1985-03-02")] == ["周艳"]
    persons.add(db, hid, {"name": "周艳", "birth_date": "1985-03-02"})  # warned in the UI, not refused


def test_change_head_status_and_move_person(db):
    make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    son = persons.add(db, hid, {"name": "周小明", "relation": "子"})
    persons.set_head(db, hid, son, old_head_relation="母亲")
    assert households.get(db, hid).head_person_id == son
    assert persons.get(db, head).relation == "母亲"
    persons.record_status(db, head, "死亡", "2025-01-02", "病故")
    p = persons.get(db, head)
    assert (p.status, p.status_date, p.deleted) == ("死亡", "2025-01-02", 0)
    assert [m.name for m in persons.members(db, hid)] == ["周小明"]
    assert len(persons.members(db, hid, include_gone=True)) == 2
    other, _ = add_household(db, "2-1-101", "王强", ID_WANG)
    persons.move(db, son, other, relation="女婿")
    assert persons.get(db, son).household_id == other
    assert households.get(db, hid).head_person_id is None  # the moved head leaves no head behind


def test_move_household_keeps_history_and_records(db):
    rooms = make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU, move_in_date="2020-05-01")
    with db.write() as tx:
        tx.insert("visit", {"household_id": hid, "visit_date": "2025-01-01", "kind": "月访"})
        tx.insert("employment", {"person_id": head, "kind": "灵活就业", "start_date": "2024-01-01"})
    households.move(db, hid, "2栋1单元501", "2025-06-01")
    h = households.get(db, hid)
    assert h.room_id == rooms["2-1-501"] and h.address == "2栋1单元501"
    hist = households.address_history(db, hid)
    assert [(a["address_text"], a["from_date"], a["to_date"]) for a in hist] == [
        ("1栋1单元101", "2020-05-01", "2025-06-01"), ("2栋1单元501", "2025-06-01", None)]
    assert db.scalar("SELECT count(*) FROM visit WHERE household_id = ?", (hid,)) == 1
    assert db.scalar("SELECT count(*) FROM employment WHERE person_id = ?", (head,)) == 1
    # the local address order follows the move
    assert db.scalar("SELECT addr_key FROM household_order WHERE household_id = ?", (hid,)).startswith("00000002|")
    with pytest.raises(ValidationError, match="相同"):
        households.move(db, hid, "2-1-501")


def test_delete_is_a_recoverable_tombstone(db):
    make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    households.delete(db, hid)
    assert db.scalar("SELECT deleted FROM household WHERE id = ?", (hid,)) == 1
    assert db.scalar("SELECT state FROM household_order WHERE household_id = ?", (hid,)) == 2
    assert persons.get(db, head).deleted == 0
    households.restore(db, hid)
    assert db.scalar("SELECT state FROM household_order WHERE household_id = ?", (hid,)) == 0


def test_zero_employment_is_derived(db):
    make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    assert households.is_zero_employment(db, hid)
    with db.write() as tx:
        tx.insert("employment", {"person_id": head, "kind": "灵活就业", "start_date": "2024-01-01"})
    assert not households.is_zero_employment(db, hid)


def test_bad_household_input(db):
    make_site(db)
    with pytest.raises(ValidationError, match="不能以“=”开头") as err:
        households.create(db, {"origin_village": "=HYPERLINK()"}, room="1-1-101")
    assert err.value.field == "origin_village"
    with pytest.raises(ValidationError, match="应是数字"):
        households.create(db, {"garden_plot_m2": "二十"}, room="1-1-101")
    assert db.scalar("SELECT count(*) FROM household") == 0


def test_household_numbers_follow_the_existing_pattern(db):
    make_site(db)
    first = households.create(db, {}, room="1-1-101")
    assert households.get(db, first).number == "000001"
    households.create(db, {"number": "HLX-000041"}, room="1-1-102")
    third = households.create(db, {}, room="1-1-501")
    assert households.get(db, third).number == "HLX-000042"
    with pytest.raises(ValidationError, match="已被使用"):
        households.create(db, {"number": "HLX-000042"}, room="2-1-101")


def test_household_order_keeps_size_head_and_number(db):
    make_site(db)
    hid, head = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    kid = persons.add(db, hid, {"name": "王小二"})

    def order():
        return tuple(db.one("SELECT number, head_key, size FROM household_order WHERE household_id = ?", (hid,)))

    number = households.get(db, hid).number
    assert order() == (number, "zhouyan", 2)
    persons.record_status(db, kid, "迁出", "2025-01-01")
    assert order()[2] == 1
    persons.set_head(db, hid, head)  # no change
    persons.update(db, head, {"name": "曾艳"})
    assert order()[1] == "zengyan"
    households.update(db, hid, {"number": "X-9"})
    assert order()[0] == "X-9"
    other, _ = add_household(db, "2-1-101", "王强", ID_WANG)
    persons.record_status(db, kid, "在册")
    persons.move(db, kid, other)
    assert order()[2] == 1
    assert db.scalar("SELECT size FROM household_order WHERE household_id = ?", (other,)) == 2


def test_member_changes_show_in_the_households_history(db):
    from app.models.core import audit

    make_site(db)
    hid, _head = add_household(db, "1-1-101", "周艳", ID_ZHOU)
    other, _ = add_household(db, "1-1-102", "王强", ID_WANG)
    child = persons.add(db, hid, {"name": "周小明", "relation": "子"})
    spouse = persons.add(db, hid, {"name": "李梅", "relation": "配偶"})
    persons.remove(db, child)
    persons.move(db, spouse, other, relation="配偶")
    summaries = [e["summary"] for e in audit.household_history(db, hid)]
    assert any("新增成员 周小明" in s for s in summaries)
    assert any("删除成员 周小明" in s for s in summaries)
    assert any("李梅" in s and "迁到户" in s for s in summaries)
    # The household she joined shows her arrival.
    assert any("李梅 迁入另一户" in (e["summary"] or "") for e in audit.household_history(db, other))

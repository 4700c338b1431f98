"""Places: the tree, add/rename/move/retire/delete, picture signs, heads, room numbers and counts."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.errors import KnownError, ValidationError
from app.models.places import places
from app.models.places.signs import SIGNS
from app.paths import resource_dir
from tests.builders.places import add_household, add_visit_row, community_with_building, room_id


@pytest.fixture
def place(db):
    return community_with_building(db)


def test_every_sign_has_a_drawing_without_text():
    assert len(SIGNS) >= 16
    for key in SIGNS:
        text = (resource_dir() / "signs" / f"{key}.svg").read_text(encoding="utf-8")
        assert 'viewBox="0 0 100 100"' in text
        assert "<text" not in text


def test_tree_shape_and_generated_rooms(db, place):
    d = places.add_district(db, place["community"], "东片区")
    g2 = places.add_grid(db, place["community"], "二网格", d)
    b2 = places.add_building(db, place["community"], "2栋", grid_id=g2, floors=2, units=1, rooms_per_floor=3)
    (comm,) = places.tree(db)
    assert comm.name == "测试社区"
    kinds = {(c.table, c.name) for c in comm.children}
    assert ("district", "东片区") in kinds and ("grid", "一网格") in kinds
    district = next(c for c in comm.children if c.table == "district")
    assert district.children[0].name == "二网格"
    assert district.children[0].children[0].id == b2
    b1 = next(c for c in comm.children if c.table == "grid").children[0]
    assert [u.name for u in b1.children] == ["1单元", "2单元"]
    rooms = places.rooms_of_unit(db, b1.children[0].id)
    assert [r["number"] for r in rooms] == ["101", "102", "201", "202", "301", "302"]
    assert places.place_path(db, "unit", b1.children[1].id) == "测试社区 / 1栋 / 2单元"


def test_bad_names_and_duplicates(db, place):
    with pytest.raises(ValidationError, match="请填写"):
        places.add_grid(db, place["community"], "  ")
    with pytest.raises(ValidationError, match="已有名为“1栋”"):
        places.add_building(db, place["community"], "1栋")
    with pytest.raises(ValidationError, match="已有1单元"):
        places.add_unit(db, place["building"], 1)
    unit = db.scalar("SELECT id FROM unit WHERE building_id = ? AND number = 1", (place["building"],))
    with pytest.raises(ValidationError, match="已有房号 101"):
        places.add_room(db, unit, "101")
    with pytest.raises(ValidationError, match="房号只能"):
        places.add_room(db, unit, "五零一")


def test_rename_and_move(db, place):
    places.rename(db, "building", place["building"], "一号楼")
    assert places.get_place(db, "building", place["building"])["name"] == "一号楼"
    g2 = places.add_grid(db, place["community"], "二网格")
    places.move(db, "building", place["building"], g2)
    assert places.get_place(db, "building", place["building"])["grid_id"] == g2
    other = places.add_community(db, "别的社区")
    g_other = places.add_grid(db, other, "外网格")
    with pytest.raises(ValidationError, match="同一社区"):
        places.move(db, "building", place["building"], g_other)
    with pytest.raises(ValidationError, match="不能移动"):
        places.move(db, "unit", db.scalar("SELECT id FROM unit LIMIT 1"), None)


def test_place_with_households_cannot_be_deleted_or_retired(db, place):
    b = place["building"]
    add_household(db, room_id(db, b, 2, "301"))
    before = db.scalar("SELECT count(*) FROM change_log")
    with pytest.raises(ValidationError, match="还住着 1 户，不能删除"):
        places.delete_place(db, "building", b)
    with pytest.raises(ValidationError, match="还住着 1 户，不能停用"):
        places.set_retired(db, "building", b, True)
    with pytest.raises(ValidationError, match="还住着 1 户"):
        places.delete_place(db, "community", place["community"])
    assert db.scalar("SELECT count(*) FROM change_log") == before  # nothing saved half-way
    # An empty unit goes, with its rooms.
    unit1 = db.scalar("SELECT id FROM unit WHERE building_id = ? AND number = 1", (b,))
    places.delete_place(db, "unit", unit1)
    assert db.scalar("SELECT count(*) FROM room WHERE unit_id = ? AND deleted = 0", (unit1,)) == 0
    with pytest.raises(KnownError, match="找不到这个单元"):
        places.set_retired(db, "unit", unit1, False)


def test_delete_empty_building_and_retire(db, place):
    b2 = places.add_building(db, place["community"], "2栋", floors=1, units=1, rooms_per_floor=1)
    places.set_retired(db, "building", b2, True)
    assert places.get_place(db, "building", b2)["retired"] == 1
    places.delete_place(db, "building", b2)
    assert db.scalar("SELECT deleted FROM building WHERE id = ?", (b2,)) == 1
    assert (
        db.scalar(
            "SELECT count(*) FROM room r JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ? "
            "AND r.deleted = 0",
            (b2,),
        )
        == 0
    )


def test_two_buildings_of_one_community_may_not_share_a_sign(db, place):
    places.set_sign(db, "building", place["building"], "apple")
    b2 = places.add_building(db, place["community"], "2栋")
    with pytest.raises(ValidationError, match="苹果.*已经给了本社区的1栋"):
        places.set_sign(db, "building", b2, "apple")
    places.set_sign(db, "building", b2, "deer")
    assert places.signs_in_use(db, place["community"]) == {"apple": "1栋", "deer": "2栋"}
    # Another community may use the same picture.
    other = places.add_community(db, "别的社区")
    b3 = places.add_building(db, other, "1栋")
    places.set_sign(db, "building", b3, "apple")
    # Units carry signs too; two units of one building may not share one.
    u1, u2 = [
        r["id"]
        for r in db.query("SELECT id FROM unit WHERE building_id = ? ORDER BY number", (place["building"],))
    ]
    places.set_sign(db, "unit", u1, "star")
    with pytest.raises(ValidationError, match="星星"):
        places.set_sign(db, "unit", u2, "star")
    with pytest.raises(ValidationError, match="没有这个图标"):
        places.set_sign(db, "unit", u2, "dragon")
    places.set_sign(db, "building", place["building"], None)
    assert places.get_place(db, "building", place["building"])["sign"] is None


def test_heads_resident_or_staff_and_one_community_only(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), head="赵六")
    person = db.scalar("SELECT head_person_id FROM household WHERE id = ?", (hid,))
    places.assign_role(db, "building", place["building"], person_id=person, phone="13800000000")
    roles = places.roles_of(db, "building", place["building"])
    assert [(r["display_name"], r["kind"], r["role"]) for r in roles] == [("赵六", "居民", "building_head")]
    places.assign_role(db, "grid", place["grid"], staff_name="网格员小王")
    assert places.roles_of(db, "grid", place["grid"])[0]["display_name"] == "网格员小王"
    # Replacing a head ends the old one.
    places.assign_role(db, "building", place["building"], staff_name="钱七")
    assert [r["display_name"] for r in places.roles_of(db, "building", place["building"])] == ["钱七"]
    # The same person may head a second building of the same community…
    b2 = places.add_building(db, place["community"], "2栋")
    places.assign_role(db, "building", b2, staff_name="钱七")
    heads = places.building_heads(db)
    assert heads[0]["name"] == "钱七" and heads[0]["key"] == "s:钱七"
    # …but not a building of another community.
    other = places.add_community(db, "别的社区")
    b3 = places.add_building(db, other, "1栋")
    with pytest.raises(ValidationError, match="不能同时负责另一个社区"):
        places.assign_role(db, "building", b3, staff_name="钱七")
    with pytest.raises(ValidationError, match="请选择一位居民"):
        places.assign_role(db, "building", b3, staff_name=" ")
    assert places.roles_of(db, "building", b3) == []


def test_demo_style_chinese_role_names_are_read(db, place):
    with db.write() as tx:
        tx.insert(
            "place_role",
            {
                "place_table": "building",
                "place_id": place["building"],
                "role": "楼栋长",
                "staff_name": "老陈",
                "start_date": "2024-01-01",
            },
        )
    assert places.building_heads(db)[0]["name"] == "老陈"


def test_resolve_room(db, place):
    b = place["building"]
    hid = add_household(db, room_id(db, b, 2, "301"))
    r = places.resolve_room(db, b, "2-301")
    assert (r["unit_number"], r["room_number"], r["household_id"]) == (2, "301", hid)
    assert places.resolve_room(db, b, "2单元301室")["household_id"] == hid
    assert places.resolve_room(db, b, " 2－301 ")["household_id"] == hid
    assert places.resolve_room(db, b, "1-301")["household_id"] is None  # empty room
    with pytest.raises(ValidationError, match="没有3单元"):
        places.resolve_room(db, b, "3-101")
    with pytest.raises(ValidationError, match="2单元没有901室"):
        places.resolve_room(db, b, "2-901")
    with pytest.raises(ValidationError, match="请加上单元号"):
        places.resolve_room(db, b, "301")  # two units both have 301
    with pytest.raises(ValidationError, match="请输入房号"):
        places.resolve_room(db, b, "")
    with pytest.raises(ValidationError, match="看不懂"):
        places.resolve_room(db, b, "楼上")
    single = places.add_building(db, place["community"], "2栋", floors=5, units=1, rooms_per_floor=2)
    assert places.resolve_room(db, single, "501")["unit_number"] == 1


def test_counts_by_place(db, place):
    b = place["building"]
    h1 = add_household(db, room_id(db, b, 1, "101"), colour="red", number="A")
    add_household(db, room_id(db, b, 1, "102"), colour="yellow", number="B")
    add_household(db, room_id(db, b, 2, "101"), colour="green", number="C")
    with db.write() as tx:
        tx.insert("person", {"household_id": h1, "name": "家人"})
    add_visit_row(db, h1, dt.date.today().isoformat())
    counts = places.counts_by_place(db, dt.date.today())
    cb = counts[("building", b)]
    assert (cb.households, cb.residents, cb.red, cb.yellow, cb.green) == (3, 4, 1, 1, 1)
    assert cb.overdue == 2  # the red one was visited today; the others moved in long ago
    assert counts[("community", place["community"])].households == 3
    assert counts[("grid", place["grid"])].overdue == 2
    unit1 = db.scalar("SELECT id FROM unit WHERE building_id = ? AND number = 1", (b,))
    assert counts[("unit", unit1)].households == 2
    assert places.households_in(db, "unit", unit1) == 2


def test_deleting_a_grid_or_district_keeps_what_is_under_it(db, place):
    d = places.add_district(db, place["community"], "东片区")
    places.move(db, "grid", place["grid"], d)
    places.assign_role(db, "grid", place["grid"], staff_name="网格员小王")
    places.delete_place(db, "district", d)
    assert places.get_place(db, "grid", place["grid"])["district_id"] is None
    places.delete_place(db, "grid", place["grid"])
    assert places.get_place(db, "building", place["building"])["grid_id"] is None
    assert db.scalar("SELECT count(*) FROM place_role WHERE deleted = 0") == 0
    (comm,) = places.tree(db)
    assert [c.name for c in comm.children] == ["1栋"]
    # Deleting a building also ends its units' heads.
    unit = db.scalar("SELECT id FROM unit WHERE building_id = ? AND number = 1", (place["building"],))
    places.assign_role(db, "unit", unit, staff_name="单元长老孙")
    places.delete_place(db, "building", place["building"])
    assert db.scalar("SELECT count(*) FROM place_role WHERE deleted = 0") == 0
    assert places.tree(db)[0].children == []


def test_building_names_sort_naturally_everywhere(db):
    from app.models.core.natural import natural_sorted
    from app.models.excel.excel_read import CellProblem
    from app.models.mediation import mediation

    assert natural_sorted(["52栋", "60栋", "3栋", "10栋A", "10栋", "2栋"]) == ["2栋", "3栋", "10栋", "10栋A", "52栋", "60栋"]
    c = places.add_community(db, "测试社区")
    for name in ("52栋", "60栋", "3栋", "10栋"):  # names only, no building number typed
        places.add_building(db, c, name, floors=1, units=1, rooms_per_floor=1)
    tree = places.tree(db)
    assert [n.name for n in tree[0].children] == ["3栋", "10栋", "52栋", "60栋"]
    assert [name for _id, name in mediation.buildings(db)] == ["3栋", "10栋", "52栋", "60栋"]
    # The import's "unknown building" message lists the known ones in the same order.
    from app.models.excel.excel_read import Places

    with pytest.raises(CellProblem) as err:
        Places(db).building("99栋")
    assert "3栋、10栋、52栋、60栋" in err.value.hint and "楼栋网格" in err.value.hint

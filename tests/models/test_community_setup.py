"""Setting up an office: community, buildings with their exceptions, one transaction, the draft, `anju init`."""

from __future__ import annotations

import pytest

from app.cli import main
from app.models.core import settings
from app.models.core.db import open_database
from app.models.core.errors import ValidationError
from app.models.places import community_setup as setup

INFO = setup.CommunityInfo(name="幸福社区", street="城关街道", county="某某县",
                           office_address="幸福路 1 号", office_phone="0871-6123456")


def _rooms(db, building: str, unit: int) -> list[str]:
    return [r[0] for r in db.query(
        "SELECT r.number FROM room r JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        "WHERE b.name = ? AND u.number = ? AND r.deleted = 0 ORDER BY r.floor, r.number", (building, unit))]


def test_setup_state_follows_what_the_file_holds(db):
    assert setup.setup_state(db) == "community"
    setup.save_community(db, INFO)
    assert setup.setup_state(db) == "places"
    cid = setup.current_community(db)["id"]
    setup.apply_places(db, cid, [setup.BuildingSpec("1栋", units=1, floors=2, rooms_per_floor=2)])
    assert setup.setup_state(db) is None


def test_community_details_go_to_the_office_settings_printed_on_forms(db):
    setup.save_community(db, INFO)
    assert settings.get(db, "office_name") == "幸福社区服务中心"
    assert settings.get(db, "office_address") == "幸福路 1 号"
    assert settings.get(db, "office_phone") == "0871-6123456"
    row = setup.current_community(db)
    assert (row["name"], row["street"], row["county"]) == ("幸福社区", "城关街道", "某某县")
    # Changing it again updates the one community; nothing is duplicated.
    setup.save_community(db, setup.CommunityInfo(name="幸福家园社区", street="城关街道", office_name="自定抬头"))
    assert db.scalar("SELECT count(*) FROM community") == 1
    assert setup.community_info(db).name == "幸福家园社区"
    assert settings.get(db, "office_name") == "自定抬头"


def test_grid_with_shops_missing_and_renumbered_rooms(db):
    spec = setup.BuildingSpec("1栋", units=2, floors=4, rooms_per_floor=2, empty_floors="1",
                              missing="2-402", renumbered="1-401=401A")
    rooms = setup.layout(spec)
    assert [n for n, _f in rooms[1]] == ["201", "202", "301", "302", "401A", "402"]
    assert [n for n, _f in rooms[2]] == ["201", "202", "301", "302", "401"]
    # A missing room without a unit goes in every unit.
    assert all("302" not in [n for n, _ in rs] for rs in setup.layout(
        setup.BuildingSpec("2栋", units=2, floors=3, rooms_per_floor=2, missing="302")).values())


@pytest.mark.parametrize("change, words", [
    ({"units": 0}, "单元数"),
    ({"floors": 99}, "层数"),
    ({"empty_floors": "9"}, "楼层"),
    ({"missing": "3-201"}, "没有 3 单元"),
    ({"missing": "909"}, "本来就没有"),
    ({"renumbered": "1-201"}, "原房号=新房号"),
    ({"renumbered": "1-201=202"}, "已有房号 202"),
])
def test_exceptions_that_do_not_fit_are_refused_with_the_row(change, words):
    spec = setup.BuildingSpec("1栋", units=2, floors=3, rooms_per_floor=2, where="第 4 行")
    for k, v in change.items():
        setattr(spec, k, v)
    with pytest.raises(ValidationError) as exc:
        setup.layout(spec)
    assert words in str(exc.value) and "第 4 行" in str(exc.value)


def test_finish_setup_is_one_transaction(db):
    specs = [
        setup.BuildingSpec("1栋", grid="一网格", units=1, floors=2, rooms_per_floor=2, sign="apple", head="张师傅"),
        setup.BuildingSpec("2栋", grid="一网格", units=1, floors=2, rooms_per_floor=2, sign="apple"),
    ]
    with pytest.raises(ValidationError, match="图标"):
        setup.finish_setup(db, INFO, specs, "王芳")
    assert db.scalar("SELECT count(*) FROM community") == 0  # nothing half-written
    assert db.scalar("SELECT count(*) FROM building") == 0
    assert setup.saved_user(db) is None
    specs[1].sign = "pear"
    plan = setup.finish_setup(db, INFO, specs, "王芳")
    assert plan.counts == {"grids": 1, "buildings": 2, "units": 2, "rooms": 8}
    assert setup.saved_user(db) == "王芳" and db.user == "王芳"
    assert {r[0] for r in db.query("SELECT DISTINCT user FROM change_log")} == {"王芳"}
    b1 = db.one("SELECT * FROM building WHERE name = '1栋'")
    assert (b1["sign"], b1["number"]) == ("apple", 1)
    assert db.scalar("SELECT name FROM grid WHERE id = ?", (b1["grid_id"],)) == "一网格"
    assert db.scalar("SELECT staff_name FROM place_role WHERE place_id = ?", (b1["id"],)) == "张师傅"


def test_a_first_setup_needs_a_building(db):
    with pytest.raises(ValidationError, match="至少添加一栋楼"):
        setup.finish_setup(db, INFO, [], "王芳")
    assert db.scalar("SELECT count(*) FROM community") == 0


def test_adding_again_only_adds_what_is_missing(db):
    cid = setup.save_community(db, INFO)
    spec = setup.BuildingSpec("1栋", units=1, floors=2, rooms_per_floor=2)
    setup.apply_places(db, cid, [spec])
    assert setup.apply_places(db, cid, [spec]).places_new == 0
    bigger = setup.BuildingSpec("1栋", units=2, floors=3, rooms_per_floor=2)
    plan = setup.apply_places(db, cid, [bigger])
    assert plan.counts == {"grids": 0, "buildings": 0, "units": 1, "rooms": 8}
    assert _rooms(db, "1栋", 1) == ["101", "102", "201", "202", "301", "302"]
    assert db.scalar("SELECT count(*) FROM building") == 1


def test_two_rows_with_one_name_are_listed(db):
    plan = setup.plan_places(db, None, [
        setup.BuildingSpec("1栋", units=1, floors=1, rooms_per_floor=1, where="第 1 行"),
        setup.BuildingSpec("1栋", units=1, floors=1, rooms_per_floor=1, where="第 2 行"),
        setup.BuildingSpec("", units=1, floors=1, rooms_per_floor=1, where="第 3 行"),
    ])
    assert len(plan.problems) == 2
    assert "填了两次" in plan.problems[0] and "第 3 行" in plan.problems[1]


def test_draft_round_trip(db):
    spec = setup.BuildingSpec("1栋", rooms={1: [("101", 1), ("102A", 1)]}, sign="apple")
    setup.save_draft(db, {"page": 1, "buildings": [spec.to_json()]})
    draft = setup.load_draft(db)
    assert setup.BuildingSpec.from_json(draft["buildings"][0]) == spec
    db.set_meta(setup.DRAFT_KEY, "{broken")
    assert setup.load_draft(db) is None


def test_init_makes_a_new_database_and_refuses_an_existing_file(tmp_path, capsys):
    path = tmp_path / "office.db"
    assert main(["init", "--db", str(path), "--community", "幸福社区", "--street", "城关街道", "--county", "某某县"]) == 0
    assert "幸福社区" in capsys.readouterr().out
    with open_database(path) as db:
        assert setup.setup_state(db) == "places"
        row = setup.current_community(db)
        assert (row["name"], row["street"], row["county"]) == ("幸福社区", "城关街道", "某某县")
        assert settings.get(db, "office_name") == "幸福社区服务中心"
    before = path.read_bytes()
    assert main(["init", "--db", str(path), "--community", "别的社区"]) != 0
    assert "已经存在" in capsys.readouterr().err
    assert path.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    assert main(["init", "--db", str(other), "--community", "幸福社区"]) != 0
    assert other.read_text(encoding="utf-8") == "hello"
    blank = tmp_path / "blank.db"
    assert main(["init", "--db", str(blank), "--community", "  "]) != 0
    assert "社区名称" in capsys.readouterr().err
    assert not blank.exists()

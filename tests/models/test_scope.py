"""A building head's scope in every read path, and every write outside it refused (no Qt)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.models.core.access import Principal, Role
from app.models.core.db import Database, open_database
from app.models.core.errors import KnownError, NotFoundError, PermissionDeniedError
from app.models.dashboard import stats
from app.models.employment import labour
from app.models.excel import excel_export
from app.models.forms import forms
from app.models.mediation import mediation
from app.models.places import places, rhythm
from app.models.registry import households, persons, registry_search

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("scope") / "demo.db"
    create_demo_database(path, households=160, seed=3, today=TODAY, encrypted=False)
    return path


@pytest.fixture
def office(demo_file, tmp_path) -> Database:
    path = tmp_path / "office.db"
    shutil.copy(demo_file, path)
    db = open_database(path, user="测试员")
    yield db
    db.close()


def _building_of_households(db: Database) -> dict[str, str]:
    return {r[0]: r[1] for r in db.query(
        "SELECT h.id, u.building_id FROM main.household h JOIN main.room r ON r.id = h.room_id "
        "JOIN main.unit u ON u.id = r.unit_id")}


def _person_households(db: Database) -> dict[str, str]:
    return {r[0]: r[1] for r in db.query("SELECT id, household_id FROM main.person")}


def _head(db: Database) -> tuple[Principal, str, str]:
    """A building head of the first building; returns (principal, in-scope building, another building)."""
    ids = [r[0] for r in db.query("SELECT id FROM building WHERE deleted = 0 ORDER BY number")]
    return Principal(name="楼栋长1", role=Role.BUILDING_HEAD, building_ids=frozenset({ids[0]})), ids[0], ids[1]


# Each read path returns the household ids it shows (person ids are mapped to their household).
def _search(db: Database) -> list[str]:
    word = db.scalar("SELECT substr(id_number, 1, 6) FROM main.person WHERE id_number IS NOT NULL LIMIT 1")
    return registry_search.build(db, word).household_ids(db, limit=100_000)


def _list(db: Database) -> list[str]:
    return registry_search.build(db, "").household_ids(db, limit=100_000)


def _export(db: Database) -> list[str]:
    from python_calamine import CalamineWorkbook

    out = db.path.with_name("households.xlsx")
    excel_export.export_ledger(db, "households", out, masked=True)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    header_at = next(i for i, r in enumerate(rows) if "户编号" in r)
    col = rows[header_at].index("户编号")
    numbers = {r[col] for r in rows[header_at + 1:] if r[col]}
    return [r[0] for r in db.query("SELECT id, number FROM main.household") if r[1] in numbers]


def _print_round_sheets(db: Database) -> list[str]:
    out = []
    for b in db.query("SELECT name FROM building WHERE deleted = 0"):
        out += [h for h in forms.records(db, "household-card", building=b["name"]) if h]
    return out


def _figures(db: Database) -> list[str]:
    people = _person_households(db)
    return [people[p] for p in labour.figure_ids(db, "labour_force", TODAY)]


def _picker(db: Database) -> list[str]:
    rows = db.query(f"SELECT p.household_id FROM {labour.PEOPLE_FROM}")
    rows += db.query("SELECT household_id FROM person WHERE id IN (SELECT id FROM person)")
    people = _person_households(db)
    for ch in "王李张刘陈杨":
        rows += [(people[r["id"]],) for r in mediation.search_persons(db, ch, limit=1000)]
    return [r[0] for r in rows]


def _places_tree(db: Database) -> list[str]:
    buildings = []

    def walk(nodes):
        for n in nodes:
            if n.table == "building":
                buildings.append(n.id)
            walk(n.children)

    walk(places.tree(db))
    return [h for h, b in _building_of_households(db).items() if b in buildings]


def _due_list(db: Database) -> list[str]:
    return [r.household_id for r in rhythm.due_list(db, TODAY.isoformat())]


def _cases(db: Database) -> list[str]:
    people = _person_households(db)
    out = []
    for case in mediation.case_rows(db):
        for p in mediation.parties(db, case["id"]):
            if p.get("person_id"):
                out.append(people[p["person_id"]])
    return out


READ_PATHS: dict[str, Callable[[Database], list[str]]] = {
    "search": _search, "list": _list, "export": _export, "print": _print_round_sheets, "figures": _figures,
    "picker": _picker, "places_tree": _places_tree, "due_list": _due_list, "mediation_cases": _cases,
}


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_building_head_sees_only_their_buildings(office, path):
    read = READ_PATHS[path]
    head, mine, _other = _head(office)
    building_of = _building_of_households(office)
    everyone = set(read(office))
    assert {building_of.get(h) for h in everyone} - {mine}, f"{path}: the full list must show other buildings too"
    office.principal = head
    seen = set(read(office))
    assert seen, f"{path}: the building head must see their own households"
    assert {building_of.get(h) for h in seen} == {mine}
    assert seen <= everyone


def test_figures_count_only_the_scope(office):
    full = stats.compute(office, TODAY)
    head, mine, _ = _head(office)
    expected = sum(1 for b in _building_of_households(office).values() if b == mine)
    office.principal = head
    scoped = stats.compute(office, TODAY)
    assert scoped["households"] < full["households"]
    assert scoped["households"] == office.scalar(
        "SELECT count(*) FROM household WHERE deleted = 0 AND status = '在住'")
    assert office.scalar("SELECT count(*) FROM household") == expected


def test_a_household_outside_the_scope_cannot_be_printed_or_opened(office):
    head, _mine, other = _head(office)
    number = office.scalar(
        "SELECT h.number FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
        "WHERE u.building_id = ? LIMIT 1", (other,))
    office.principal = head
    with pytest.raises(NotFoundError):
        forms.records(office, "household-card", household=number)


def _other_household(db: Database, other: str) -> str:
    return db.scalar("SELECT h.id FROM main.household h JOIN main.room r ON r.id = h.room_id "
                     "JOIN main.unit u ON u.id = r.unit_id WHERE u.building_id = ? AND h.deleted = 0 LIMIT 1", (other,))


def _write_household(db, hid, _other):
    households.update(db, hid, {"notes": "改一下"})


def _write_person(db, hid, _other):
    persons.add(db, hid, {"name": "新成员", "relation": "其他", "sex": "男"})


def _write_visit(db, hid, _other):
    from app.models.places.visits import VisitInput, add_visit

    add_visit(db, VisitInput(household_id=hid, visit_date=TODAY.isoformat(), kind="日访", visitor_name="楼栋长1",
                             findings="家中一切正常"),
              today=TODAY)


def _write_case(db, hid, _other):
    mediation.create_case(db, title="邻里噪音", parties=[{"outsider_name": "外来人"}], today=TODAY)


def _write_unit(db, _hid, other):
    places.add_unit(db, other, 9)


def _write_job(db, hid, _other):
    from app.models.employment import employment

    pid = db.scalar("SELECT id FROM main.person WHERE household_id = ? AND deleted = 0 "
                    "ORDER BY birth_date < '2000-01-01' DESC, birth_date DESC LIMIT 1", (hid,))
    employment.save_job(db, {"person_id": pid, "kind": "外出务工", "start_date": "2026-05-01", "employer": "某厂"},
                       confirm_overlap=True)


def _write_delete_household(db, hid, _other):
    households.delete(db, hid)


WRITE_PATHS = {
    "household": _write_household, "person": _write_person, "visit": _write_visit, "case": _write_case,
    "unit": _write_unit, "job": _write_job, "delete": _write_delete_household,
}


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_building_head_cannot_write_outside_their_buildings(office, path):
    """Through each action: the record outside the scope is not even found, or the write is refused."""
    head, _mine, other = _head(office)
    hid = _other_household(office, other)
    before = office.scalar("SELECT count(*) FROM main.audit_log")
    office.principal = head
    with pytest.raises((PermissionDeniedError, NotFoundError)) as err:
        WRITE_PATHS[path](office, hid, other)
    if isinstance(err.value, PermissionDeniedError):
        assert "楼栋" in str(err.value)
    assert office.scalar("SELECT count(*) FROM main.audit_log") == before  # nothing written half-way
    office.principal = Principal(name="管理员", role=Role.ADMIN)
    WRITE_PATHS[path](office, hid, other)  # the same action is fine for full access: scope refused it
    assert office.scalar("SELECT count(*) FROM main.audit_log") > before


def _tx_rows(db: Database, hid: str, other: str) -> dict[str, tuple[str, str | None, dict]]:
    """table → (table, id to update or None to insert, values) for rows of the other building."""
    pid = db.scalar("SELECT id FROM main.person WHERE household_id = ? LIMIT 1", (hid,))
    unit = db.scalar("SELECT id FROM main.unit WHERE building_id = ? LIMIT 1", (other,))
    room = db.scalar("SELECT id FROM main.room WHERE unit_id = ? LIMIT 1", (unit,))
    return {
        "household": ("household", hid, {"notes": "x"}),
        "new_household": ("household", None, {"number": "X-1", "room_id": room}),
        "person": ("person", pid, {"phone": "13800000000"}),
        "new_person": ("person", None, {"household_id": hid, "name": "某某"}),
        "visit": ("visit", None, {"household_id": hid, "visit_date": "2026-06-01", "kind": "日访"}),
        "job": ("employment", None, {"person_id": pid, "kind": "务工", "start_date": "2026-01-01"}),
        "case": ("mediation_case", None, {"number": "2026-9999", "received_date": "2026-06-01", "title": "t",
                                          "building_id": other, "level": "楼栋", "status": "受理"}),
        "building": ("building", other, {"notes": "x"}),
        "unit": ("unit", None, {"building_id": other, "number": 8}),
        "room": ("room", None, {"unit_id": unit, "number": "999"}),
        "training_course": ("training_course", None, {"name": "新课"}),
        "setting": ("setting", None, {"id": "office.name", "value": "改名"}),
    }


@pytest.mark.parametrize("key", list(_tx_rows.__code__.co_consts[-1]) if False else [
    "household", "new_household", "person", "new_person", "visit", "job", "case", "building", "unit", "room",
    "training_course", "setting"])
def test_the_write_path_itself_refuses_rows_outside_the_scope(office, key):
    """The one check in Tx.insert/update: whatever action (or script) gets there with an id is refused."""
    head, _mine, other = _head(office)
    table, row_id, values = _tx_rows(office, _other_household(office, other), other)[key]
    office.principal = head
    with pytest.raises(PermissionDeniedError):
        with office.write() as tx:
            if row_id:
                tx.update(table, row_id, values)
            else:
                tx.insert(table, values)


def test_batched_updates_refuse_rows_outside_the_scope(office):
    head, mine, other = _head(office)
    ok = office.scalar("SELECT id FROM main.person WHERE household_id = ? LIMIT 1", (_other_household(office, mine),))
    out = office.scalar("SELECT id FROM main.person WHERE household_id = ? LIMIT 1", (_other_household(office, other),))
    office.principal = head
    with pytest.raises(PermissionDeniedError), office.write() as tx:
        tx.update_many("person", {ok: {"phone": "13800000001"}, out: {"phone": "13800000002"}})
    assert office.scalar("SELECT count(*) FROM main.person WHERE phone IN ('13800000001', '13800000002')") == 0
    with office.write() as tx:
        tx.update_many("person", {ok: {"phone": "13800000001"}})
    assert office.scalar("SELECT phone FROM main.person WHERE id = ?", (ok,)) == "13800000001"


def test_building_head_writes_inside_their_buildings(office):
    head, mine, _ = _head(office)
    hid = _other_household(office, mine)
    office.principal = head
    households.update(office, hid, {"notes": "楼栋长核实"})
    _write_visit(office, hid, None)
    case = mediation.create_case(office, title="楼道堆物", building_id=mine, parties=[{"outsider_name": "甲"}],
                                 today=TODAY)
    mediation.add_note(office, case, "已劝导", today=TODAY)
    assert office.scalar("SELECT notes FROM household WHERE id = ?", (hid,)) == "楼栋长核实"


def test_building_head_cannot_move_a_household_out_of_their_buildings(office):
    head, mine, other = _head(office)
    hid = _other_household(office, mine)
    room = office.scalar("SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ? "
                         "AND r.id NOT IN (SELECT room_id FROM household WHERE room_id IS NOT NULL) LIMIT 1", (other,))
    office.principal = head
    with pytest.raises(PermissionDeniedError):
        with office.write() as tx:
            tx.update("household", hid, {"room_id": room})


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AUDITOR])
@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_read_only_roles_cannot_write(office, role, path):
    _head_p, mine, _ = _head(office)
    hid = _other_household(office, mine)
    office.principal = Principal(name="领导", role=role)
    with pytest.raises(PermissionDeniedError) as err:
        WRITE_PATHS[path](office, hid, mine)
    assert "只读" in str(err.value)


def test_sync_import_refused_for_a_building_head(office):
    head, _, _ = _head(office)
    office.principal = head
    with pytest.raises(PermissionDeniedError):
        with office.write(mode="apply"):
            pass


def test_checks_inside_a_write_see_the_whole_office(office):
    """A duplicate ID number in another building is still found when a building head adds a person."""
    head, mine, other = _head(office)
    taken = office.scalar("SELECT p.id_number FROM main.person p WHERE p.household_id = ? AND p.id_number IS NOT NULL",
                          (_other_household(office, other),))
    hid = _other_household(office, mine)
    office.principal = head
    with pytest.raises(persons.DuplicateIdNumber):
        persons.add(office, hid, {"name": "重复号", "id_number": taken, "relation": "其他"}, allow_near_match=True)


def test_switching_back_to_full_access_shows_everything(office):
    total = office.scalar("SELECT count(*) FROM household")
    head, _, _ = _head(office)
    office.principal = head
    assert office.scalar("SELECT count(*) FROM household") < total
    office.principal = Principal(name="管理员", role=Role.ADMIN)
    assert office.scalar("SELECT count(*) FROM household") == total


def test_an_excel_import_of_other_buildings_rows_is_refused_whole(office, tmp_path):
    """The import (GUI and `anju import-excel` share it) reaches the same check: nothing is written."""
    from app.models.excel.excel_import import apply_plan, plan_import

    out = tmp_path / "residents.xlsx"
    excel_export.export_ledger(office, "residents", out)
    head, _mine, _other = _head(office)
    office.principal = head
    before = office.scalar("SELECT count(*) FROM main.change_log")
    plan = plan_import(office, out)
    errors = [r for r in plan.rows if r.status == "error"]
    assert errors and plan.counts["errors"] == len(errors)
    with pytest.raises(KnownError):
        apply_plan(office, plan)
    assert office.scalar("SELECT count(*) FROM main.change_log") == before

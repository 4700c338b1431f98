"""The demo community: deterministic, valid ID numbers, realistic sizes, every table filled via the write path."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from app.cli import main
from app.models.core import id_numbers, settings
from app.models.core.db import open_database
from app.models.core.errors import KnownError
from app.models.core.schema import synced_tables
from app.models.demo import demo
from app.models.places import signs as signs_module
from app.models.sync.compact import compacted_vector, last_op_id

TODAY = dt.date(2026, 11, 22)

DOMAIN_TABLES = [
    "community", "district", "grid", "building", "unit", "room", "place_role", "household", "household_address",
    "person", "income_check", "risk_change", "visit", "employment", "training_course", "training_attendance",
    "intention", "mediation_case", "mediation_party", "mediation_event", "mediation_followup", "app_user", "setting",
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    calls: list[tuple[int, int, str]] = []
    demo.create_demo_database(path, 60, seed=7, today=TODAY, progress=lambda d, t, x: calls.append((d, t, x)))
    db = open_database(path)
    db.progress_calls = calls  # type: ignore[attr-defined]
    yield db
    db.close()


def _fingerprint(db) -> list[tuple]:
    return [tuple(r) for r in db.query(
        "SELECT h.number, p.name, p.id_number, p.relation, p.birth_date FROM person p "
        "JOIN household h ON h.id = p.household_id ORDER BY h.number, p.birth_date, p.name, p.id_number")]


def test_same_seed_and_day_give_the_same_community(demo_db, tmp_path):
    other = demo.create_demo_database(tmp_path / "again.db", 60, seed=7, today=TODAY)
    with open_database(other) as db2:
        assert _fingerprint(db2) == _fingerprint(demo_db)
    different = demo.create_demo_database(tmp_path / "other.db", 60, seed=8, today=TODAY)
    with open_database(different) as db3:
        assert _fingerprint(db3) != _fingerprint(demo_db)


def test_id_numbers_valid_unique_and_match_sex_and_birth(demo_db):
    rows = demo_db.query("SELECT id_number, sex, birth_date FROM person WHERE id_number IS NOT NULL")
    assert len(rows) >= 150
    numbers = [r["id_number"] for r in rows]
    assert len(numbers) == len(set(numbers))
    for r in rows:
        info = id_numbers.parse(r["id_number"], today=TODAY)
        assert info.sex == r["sex"]
        assert info.birth_date.isoformat() == r["birth_date"]


def test_households_are_realistic(demo_db):
    assert demo_db.scalar("SELECT count(*) FROM household") == 60
    sizes = [r[0] for r in demo_db.query("SELECT count(*) FROM person GROUP BY household_id")]
    assert len(sizes) == 60 and min(sizes) >= 1 and max(sizes) <= 10
    assert 3.0 <= sum(sizes) / len(sizes) <= 5.5
    # Every household has exactly one head, and head_person_id points at them.
    bad = demo_db.scalar(
        "SELECT count(*) FROM household h WHERE (SELECT count(*) FROM person p WHERE p.household_id = h.id "
        "AND p.relation = '户主') <> 1 OR (SELECT relation FROM person WHERE id = h.head_person_id) <> '户主'")
    assert bad == 0
    # Children are younger than the head, and the head is an adult.
    assert demo_db.scalar(
        "SELECT count(*) FROM person c JOIN household h ON h.id = c.household_id JOIN person hd ON hd.id = h.head_person_id "
        "WHERE c.relation IN ('子', '女', '孙子', '孙女') AND c.birth_date <= hd.birth_date") == 0
    assert demo_db.scalar(
        "SELECT count(*) FROM person WHERE relation = '户主' AND birth_date > ?", ("2008-11-22",)) == 0
    # Pinyin filled for every name; phones are 11 digits.
    assert demo_db.scalar("SELECT count(*) FROM person WHERE name_pinyin IS NULL OR name_initials = ''") == 0
    assert demo_db.scalar("SELECT count(*) FROM person WHERE phone IS NOT NULL AND length(phone) <> 11") == 0
    assert demo_db.scalar("SELECT count(*) FROM household WHERE number NOT LIKE 'HLX-______'") == 0
    # Only working-age people have jobs; money is integer fen.
    assert demo_db.scalar(
        "SELECT count(*) FROM employment e WHERE typeof(monthly_income_fen) <> 'integer'") == 0


def test_every_domain_table_is_filled_and_every_row_went_through_the_write_path(demo_db):
    for table in DOMAIN_TABLES:
        assert demo_db.scalar(f'SELECT count(*) FROM "{table}"') > 0, table
    # Every row was written as an op (one insert op per row at least); with no other PC to wait
    # for, the ops are then folded into the rows (a new PC joins by snapshot).
    rows = sum(demo_db.scalar(f'SELECT count(*) FROM "{t}"') for t in synced_tables(demo_db.conn))
    assert last_op_id(demo_db.conn) >= rows
    assert demo_db.scalar("SELECT count(*) FROM change_log") == 0
    assert compacted_vector(demo_db.conn) == {demo_db.site_id: last_op_id(demo_db.conn)}
    assert settings.get(demo_db, "office_name") == "红路馨居社区服务中心"
    assert demo_db.progress_calls and demo_db.progress_calls[-1][0] == demo_db.progress_calls[-1][1]


def test_mediation_history_matches_status(demo_db):
    for case in demo_db.query("SELECT * FROM mediation_case"):
        events = demo_db.query(
            "SELECT * FROM mediation_event WHERE case_id = ? AND kind = 'status' ORDER BY at, rowid", (case["id"],))
        assert events[0]["to_value"] == "受理" and events[-1]["to_value"] == case["status"]
        for a, b in zip(events, events[1:], strict=False):
            assert b["from_value"] == a["to_value"] and a["at"] <= b["at"]
        followups = demo_db.scalar("SELECT count(*) FROM mediation_followup WHERE case_id = ?", (case["id"],))
        assert (followups > 0) == (case["status"] in ("已回访", "结案"))
        assert (case["closed_date"] is not None) == (case["status"] == "结案")
        assert case["received_date"] <= TODAY.isoformat()
    numbers = [r[0] for r in demo_db.query("SELECT number FROM mediation_case ORDER BY received_date, number")]
    assert len(numbers) == len(set(numbers))
    assert demo_db.scalar("SELECT count(*) FROM mediation_case WHERE status = '结案'") >= 1


def test_visits_follow_the_risk_rhythm(demo_db):
    red = demo_db.query("SELECT id FROM household WHERE risk_colour = 'red'")
    for h in red:
        n = demo_db.scalar("SELECT count(*) FROM visit WHERE household_id = ?", (h["id"],))
        assert n >= 20  # near-daily over ~90 days (less only if overdue or moved in late)
    assert demo_db.scalar("SELECT max(visit_date) FROM visit") <= TODAY.isoformat()
    assert demo_db.scalar("SELECT min(visit_date) FROM visit") >= (TODAY - dt.timedelta(days=90)).isoformat()


def test_building_signs_are_never_shared():
    b = demo._Builder(4000, 3, TODAY, dict(settings.DEFAULTS))
    b.places()
    signs = [x["sign"] for x in b.buildings if x["sign"]]
    # More buildings than drawings, yet every building has a sign of its own (drawing + background).
    assert len(b.buildings) == len(signs) > len(signs_module.SIGNS)
    assert len(signs) == len(set(signs)) and all(signs_module.is_sign(s) for s in signs)
    for building in b.buildings:
        unit_signs = [u["sign"] for u in building["_units"] if u["sign"]]
        assert len(unit_signs) == len(set(unit_signs))
        assert not (building["sign"] and unit_signs)  # a unit picture only where the building has none
    assert all(1 <= len(x["_units"]) <= 4 for x in b.buildings)
    assert sum(1 for _ in b.rooms) >= 4000


def test_refuses_a_database_that_already_has_households(demo_db):
    with pytest.raises(KnownError, match="已有住户数据"):
        demo.create_demo_database(demo_db.path, 5, seed=1, today=TODAY)


def test_generation_does_not_depend_on_global_random_state(tmp_path):
    random.seed(123)
    a = demo.create_demo_database(tmp_path / "a.db", 8, seed=2, today=TODAY)
    random.seed(456)
    b = demo.create_demo_database(tmp_path / "b.db", 8, seed=2, today=TODAY)
    with open_database(a) as da, open_database(b) as dbb:
        assert _fingerprint(da) == _fingerprint(dbb)


def test_demo_and_stats_commands(tmp_path, capsys, demo_login):
    path = tmp_path / "cli.db"
    assert main(["demo", "--db", str(path), "--households", "12", "--seed", "3", "--today", "2026-11-22"]) == 0
    out = capsys.readouterr().out
    assert "12 户" in out
    assert main(["demo", "--db", str(path), "--households", "12"]) == 2
    assert "已有住户数据" in capsys.readouterr().err
    assert main(["stats", "--db", str(path), "--json", "--today", "2026-11-22"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["households"] == 12 and figures["residents"] > 12
    assert main(["stats", "--db", str(path), "--today", "2026-11-22"]) == 0
    assert "就业率" in capsys.readouterr().out


def test_rows_pass_the_ledgers_own_checks(demo_db):
    """The demo is data a clerk could have entered: every row passes the feature modules' validation."""
    from app.models.employment import employment
    from app.models.places import places, visits
    from app.models.registry import persons

    for r in demo_db.query("SELECT * FROM person"):
        persons.check(dict(r), today=TODAY)
    for r in demo_db.query("SELECT * FROM employment"):
        employment.validate(demo_db, dict(r), job_id=r["id"])
    for r in demo_db.query("SELECT kind, finding_flags FROM visit"):
        assert r["kind"] in visits.KINDS
        assert set(json.loads(r["finding_flags"])) <= set(visits.FINDINGS)
    roles = {r[0] for r in demo_db.query("SELECT DISTINCT role FROM place_role")}
    assert {"grid_worker", "building_head"} <= roles <= set(places.ROLE_FOR_PLACE.values())


def test_the_demo_transaction_says_every_table_changed_without_listing_its_rows(tmp_path):
    """A demo writes a whole new file: its one transaction's changes say so instead of collecting
    every row id until the commit (half a million at 100,000 residents)."""
    db = open_database(tmp_path / "new.db")
    seen = []
    db.listeners.append(seen.append)
    try:
        demo.generate(db, 12, seed=4, today=TODAY)
    finally:
        db.close()
    assert len(seen) == 1 and seen[0].everything
    assert {"person", "visit", "employment"} <= seen[0].tables and not any(seen[0].rows.values())


def test_a_new_demo_leaves_no_files_of_its_temporary_name_behind(tmp_path):
    demo.create_demo_database(tmp_path / "new.db", 5, seed=1, today=TODAY)
    assert (tmp_path / "new.db").exists()
    assert not [p.name for p in tmp_path.iterdir() if ".part" in p.name]

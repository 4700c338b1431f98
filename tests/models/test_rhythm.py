"""Visit rhythm rules: intervals by colour and special group, due dates, month ends, leap years, risk colour."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core import settings
from app.models.core.errors import ValidationError
from app.models.places import rhythm
from tests.builders.places import add_household, add_visit_row, community_with_building, room_id

D = dt.date


def test_interval_by_colour_and_special_defaults():
    iv = rhythm.Intervals()
    assert iv.for_household("red", False) == 1
    assert iv.for_household("yellow", False) == 7
    assert iv.for_household("green", False) == 30
    assert iv.for_household("green", True) == 7  # 四必访 gets the shorter special interval
    assert iv.for_household("red", True) == 1  # never longer than the colour's own interval


def test_due_date_day_arithmetic_month_ends_and_leap_years():
    # "Monthly" is 30 days, not a calendar month: Jan 31 → Mar 2 (Mar 1 in a leap year).
    assert rhythm.due_date("2025-01-31", None, 30) == D(2025, 3, 2)
    assert rhythm.due_date("2024-01-31", None, 30) == D(2024, 3, 1)
    assert rhythm.due_date("2024-02-28", None, 1) == D(2024, 2, 29)
    assert rhythm.due_date("2025-02-28", None, 1) == D(2025, 3, 1)
    assert rhythm.due_date("2024-12-31", None, 1) == D(2025, 1, 1)
    assert rhythm.due_date("2024-02-29", None, 7) == D(2024, 3, 7)
    assert rhythm.due_date(None, "2025-06-30", 30) == D(2025, 7, 30)  # never visited: from move-in
    assert rhythm.due_date(None, None, 7) is None


def test_status():
    assert rhythm.status(D(2025, 1, 1), D(2025, 1, 2)) == "overdue"
    assert rhythm.status(D(2025, 1, 2), D(2025, 1, 2)) == "due"
    assert rhythm.status(D(2025, 1, 3), D(2025, 1, 2)) == "ok"
    assert rhythm.status(None, D(2025, 1, 2)) == "overdue"


@pytest.fixture
def place(db):
    return community_with_building(db)


def _ids(rows):
    return [r.household_id for r in rows]


def test_due_list_green_household_month_end_in_sql(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), move_in="2023-12-01")
    add_visit_row(db, hid, "2024-01-31")
    # Leap year: due Mar 1. On Feb 29 not due; on Mar 1 due (not overdue); on Mar 2 overdue by 1 day.
    assert rhythm.due_list(db, D(2024, 2, 29)) == []
    rows = rhythm.due_list(db, D(2024, 3, 1))
    assert _ids(rows) == [hid]
    assert rows[0].due_date == "2024-03-01" and rows[0].days_overdue == 0
    assert rhythm.overdue_count(db, D(2024, 3, 1)) == 0
    assert rhythm.overdue_count(db, D(2024, 3, 2)) == 1
    assert rhythm.due_list(db, D(2024, 3, 2))[0].days_overdue == 1


def test_due_list_non_leap_year_month_end(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), move_in="2024-12-01")
    add_visit_row(db, hid, "2025-01-31")
    assert rhythm.due_list(db, D(2025, 3, 1)) == []
    assert rhythm.due_list(db, D(2025, 3, 2))[0].due_date == "2025-03-02"


def test_red_daily_and_year_end(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), colour="red", move_in="2024-01-01")
    add_visit_row(db, hid, "2024-12-31")
    assert rhythm.due_list(db, D(2024, 12, 31)) == []
    rows = rhythm.due_list(db, D(2025, 1, 1))
    assert rows[0].due_date == "2025-01-01" and rows[0].interval_days == 1


def test_never_visited_counts_from_move_in_or_is_overdue_without_it(db, place):
    b = place["building"]
    a = add_household(db, room_id(db, b, 1, "101"), number="A", move_in="2025-03-01")  # due 03-31
    n = add_household(db, room_id(db, b, 1, "102"), number="N", move_in=None)  # nobody has ever seen it
    rows = rhythm.due_list(db, D(2025, 3, 30))
    assert _ids(rows) == [n]
    assert rows[0].days_overdue is None and rows[0].due_date is None
    assert _ids(rhythm.due_list(db, D(2025, 4, 2))) == [n, a]  # never-seen first, then the most overdue
    assert rhythm.overdue_count(db, D(2025, 3, 31)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"special": "sg_disabled"},
        {"special": "sg_incapacitated"},
        {"special": "sg_hospitalised"},
        {"special": "sg_elderly_alone"},
        {"tekun": 1},
    ],
)
def test_special_groups_get_the_special_interval(db, place, kwargs):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), colour="green", **kwargs)
    add_visit_row(db, hid, "2025-05-01")
    rows = rhythm.due_list(db, D(2025, 5, 8))
    assert _ids(rows) == [hid]
    assert rows[0].special and rows[0].interval_days == 7


def test_special_interval_from_settings_and_sorting(db, place):
    b = place["building"]
    g = add_household(db, room_id(db, b, 1, "101"), number="G", colour="green")
    y = add_household(db, room_id(db, b, 1, "102"), number="Y", colour="yellow")
    r = add_household(db, room_id(db, b, 2, "101"), number="R", colour="red")
    for hid in (g, y, r):
        add_visit_row(db, hid, "2025-05-01")
    today = D(2025, 6, 15)
    rows = rhythm.due_list(db, today)
    # Most overdue first: red (due 05-02), yellow (05-08), green (05-31).
    assert _ids(rows) == [r, y, g]
    assert [x.days_overdue for x in rows] == [44, 38, 15]
    assert rows[0].last_visitor == "李四" and rows[0].last_visit_date == "2025-05-01"
    settings.set_value(db, "visit_interval_green", 60)
    settings.set_value(db, "visit_interval_yellow", 50)
    assert _ids(rhythm.due_list(db, today)) == [r]


def test_moved_out_and_deleted_households_are_not_listed(db, place):
    b = place["building"]
    hid = add_household(db, room_id(db, b, 1, "101"), move_in="2020-01-01")
    gone = add_household(db, room_id(db, b, 1, "102"), number="X", move_in="2020-01-01")
    with db.write() as tx:
        tx.update("household", gone, {"status": "迁出"})
    v = add_visit_row(db, hid, "2025-01-01")
    with db.write() as tx:
        tx.delete("visit", v)  # a deleted visit does not count
    rows = rhythm.due_list(db, D(2025, 1, 2))
    assert _ids(rows) == [hid] and rows[0].last_visit_date is None


def test_filters_by_building_and_head(db, place):
    from app.models.places import places

    b1 = place["building"]
    b2 = places.add_building(db, place["community"], "2栋", number=2, floors=1, units=1, rooms_per_floor=2)
    h1 = add_household(db, room_id(db, b1, 1, "101"), number="A")
    h2 = add_household(db, room_id(db, b2, 1, "101"), number="B")
    today = D(2026, 1, 1)
    assert set(_ids(rhythm.due_list(db, today))) == {h1, h2}
    assert _ids(rhythm.due_list(db, today, building_id=b2)) == [h2]
    places.assign_role(db, "building", b2, staff_name="王五")
    assert _ids(rhythm.due_list(db, today, head_staff_name="王五")) == [h2]
    person = db.scalar("SELECT head_person_id FROM household WHERE id = ?", (h1,))
    places.assign_role(db, "building", b1, person_id=person)
    assert _ids(rhythm.due_list(db, today, head_person_id=person)) == [h1]
    assert rhythm.overdue_count(db, today, community_id=place["community"]) == 2
    assert rhythm.overdue_by_unit(db, today)


def test_set_risk_colour_records_who_when_why_and_changes_interval(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), colour="green")
    add_visit_row(db, hid, "2025-05-01")
    today = D(2025, 5, 9)
    assert rhythm.due_list(db, today) == []
    rhythm.set_risk_colour(db, hid, "yellow", "家中有人失业")
    rows = rhythm.due_list(db, today)
    assert rows[0].interval_days == 7 and rows[0].days_overdue == 1
    hist = rhythm.risk_history(db, hid)
    assert hist[0]["old_colour"] == "green" and hist[0]["new_colour"] == "yellow"
    assert hist[0]["reason"] == "家中有人失业" and hist[0]["changed_by"] == "测试员" and hist[0]["changed_at"]
    rhythm.set_risk_colour(db, hid, "红", "突发疾病")
    assert db.scalar("SELECT risk_colour FROM household WHERE id = ?", (hid,)) == "red"


@pytest.mark.parametrize(
    ("colour", "reason", "word"),
    [
        ("yellow", "  ", "原因"),
        ("purple", "x", "红、黄、绿"),
        ("green", "同色", "已经是绿色"),
    ],
)
def test_set_risk_colour_bad_input_saves_nothing(db, place, colour, reason, word):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), colour="green")
    with pytest.raises(ValidationError, match=word):
        rhythm.set_risk_colour(db, hid, colour, reason)
    assert db.scalar("SELECT count(*) FROM risk_change") == 0
    assert db.scalar("SELECT risk_colour FROM household WHERE id = ?", (hid,)) == "green"


def test_household_rhythm(db, place):
    hid = add_household(
        db, room_id(db, place["building"], 1, "101"), colour="yellow", special="sg_elderly_alone"
    )
    add_visit_row(db, hid, "2025-05-01")
    info = rhythm.household_rhythm(db, hid, D(2025, 5, 10))
    assert info["interval_days"] == 7 and info["due"] == "2025-05-08" and info["days_overdue"] == 2


def test_due_dates_for_reports(db, place):
    b = place["building"]
    hid = add_household(db, room_id(db, b, 1, "101"), colour="yellow", move_in="2025-01-01")
    none = add_household(db, room_id(db, b, 1, "102"), number="N", move_in=None)
    add_visit_row(db, hid, "2025-02-27")
    assert rhythm.due_dates(db, D(2025, 3, 1), building_id=b) == {hid: "2025-03-06", none: None}
    assert rhythm.due_dates(db, D(2025, 3, 1)) == {hid: "2025-03-06", none: None}


def test_last_visitor_is_the_resident_head_when_no_name_was_typed(db, place):
    hid = add_household(db, room_id(db, place["building"], 1, "101"), move_in="2025-01-01", head="赵六")
    person = db.scalar("SELECT head_person_id FROM household WHERE id = ?", (hid,))
    with db.write() as tx:
        tx.insert(
            "visit",
            {
                "household_id": hid,
                "visit_date": "2025-02-01",
                "kind": "月访",
                "visitor_person_id": person,
                "findings": "好",
                "created_at": tx.now,
            },
        )
    (row,) = rhythm.due_list(db, D(2025, 6, 1))
    assert row.last_visitor == "赵六" and row.address == "1栋1-101"


def test_sql_rule_matches_python_rule_on_many_dates(db, place):
    """The due list (SQL) and due_date/status (Python) agree across month ends and leap years."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    hid = add_household(db, room_id(db, place["building"], 1, "101"), move_in="2019-01-01")
    visit = add_visit_row(db, hid, "2020-01-01")
    iv = rhythm.intervals(db)

    @hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        last=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
        gap=st.integers(0, 70),
        colour=st.sampled_from(rhythm.COLOURS),
        special=st.booleans(),
    )
    def check(last, gap, colour, special):
        with db.write() as tx:
            tx.update("visit", visit, {"visit_date": last.isoformat()})
            tx.update("household", hid, {"risk_colour": colour, "tag_tekun": int(special)})
        today = last + dt.timedelta(days=gap)
        due = rhythm.due_date(last.isoformat(), None, iv.for_household(colour, special))
        expected = rhythm.status(due, today)
        rows = rhythm.due_list(db, today)
        overdue = rhythm.overdue_count(db, today)
        if expected == "ok":
            assert rows == [] and overdue == 0
        else:
            assert len(rows) == 1 and rows[0].due_date == due.isoformat()
            assert rows[0].days_overdue == (today - due).days
            assert overdue == (1 if expected == "overdue" else 0)

    check()


def test_community_filter_with_two_communities(db, place):
    from app.models.places import places

    here = add_household(db, room_id(db, place["building"], 1, "101"), number="A")
    other = places.add_community(db, "别的社区")
    ob = places.add_building(db, other, "1栋", floors=1, units=1, rooms_per_floor=1)
    there = add_household(db, room_id(db, ob, 1, "101"), number="B")
    today = D(2026, 1, 1)
    assert {r.household_id for r in rhythm.due_list(db, today)} == {here, there}
    assert [r.household_id for r in rhythm.due_list(db, today, community_id=other)] == [there]
    assert rhythm.overdue_count(db, today, community_id=place["community"]) == 1


def test_a_household_registered_today_is_not_overdue_for_the_years_before(db):
    from app.models.dashboard import stats
    from app.models.forms import forms
    from app.models.registry import households

    site = community_with_building(db)
    today = dt.date.today()
    room = room_id(db, site["building"], 1, "101")
    # Registered in the program today, moved in two and a half years ago, never visited.
    hid = households.create(db, {"move_in_date": "2024-05-01", "risk_colour": "green"}, room=room)
    # A household already kept before this rule (no entry date) still counts from its move-in.
    old = add_household(db, room_id(db, site["building"], 1, "102"), number="H-OLD", move_in="2024-05-01")
    first_due = (today + dt.timedelta(days=30)).isoformat()
    assert rhythm.household_rhythm(db, hid, today)["due"] == first_due
    assert rhythm.due_dates(db, today)[hid] == first_due
    listed = {r.household_id for r in rhythm.due_list(db, today)}
    assert hid not in listed and old in listed
    assert rhythm.overdue_count(db, today) == 1
    assert stats.compute(db, today)["visits_overdue"] == 1
    assert forms.next_due_dates(db, site["building"], today)[hid] == first_due
    assert rhythm.due_date(None, "2024-05-01", 30, today.isoformat()) == today + dt.timedelta(days=30)

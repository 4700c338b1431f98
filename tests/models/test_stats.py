"""Headline figures against a small hand-built community whose every number is counted by hand."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.cli import main
from app.models.core import settings
from app.models.dashboard import stats
from app.models.employment import training

TODAY = dt.date(2026, 6, 15)  # stable job: started on or before 2025-12-15; working age 16..60


def _household(tx, number: str, colour: str = "green", move_in: str = "2020-01-01", **extra) -> str:
    return tx.insert("household", {"number": number, "risk_colour": colour, "move_in_date": move_in, **extra})


def _person(tx, household_id: str, name: str, birth: str, ability: str, relation: str = "户主", **extra) -> str:
    return tx.insert("person", {"household_id": household_id, "name": name, "birth_date": birth,
                                "labour_ability": ability, "relation": relation, **extra})


def _job(tx, person_id: str, kind: str, start: str, end: str | None = None) -> str:
    return tx.insert("employment", {"person_id": person_id, "kind": kind, "start_date": start, "end_date": end,
                                    "monthly_income_fen": 300_000})


@pytest.fixture
def community(db):
    with db.write() as tx:
        # H1: a worker with a stable job, a spouse whose job ended last month, a child.
        h1 = _household(tx, "H1")
        a = _person(tx, h1, "甲", "1980-03-01", "全")
        b = _person(tx, h1, "乙", "1982-07-01", "全", "配偶")
        _person(tx, h1, "丙", "2015-01-01", "无", "子")
        _job(tx, a, "外出务工", "2024-01-01")
        _job(tx, b, "公益性岗位", "2025-01-01", "2026-05-10")
        tx.insert("visit", {"household_id": h1, "visit_date": "2026-06-01", "kind": "月访"})
        # H2 (red): 60 today (still working age), a public-welfare post of three months; a 16-year-old
        # (16 today) without work. Visited two days ago: overdue for a red household.
        h2 = _household(tx, "H2", "red")
        d = _person(tx, h2, "丁", "1965-06-16", "全")
        e = _person(tx, h2, "戊", "2010-06-15", "半", "子")
        _job(tx, d, "公益性岗位", "2026-03-01")
        tx.insert("visit", {"household_id": h2, "visit_date": "2026-06-13", "kind": "日访"})
        gone = tx.insert("visit", {"household_id": h2, "visit_date": "2026-06-15", "kind": "日访"})
        tx.delete("visit", gone)
        # H3: elderly only, no labour; one lives alone in the 四必访 sense → at most 7 days; seen 10 days ago.
        h3 = _household(tx, "H3")
        _person(tx, h3, "己", "1950-01-01", "无", sg_elderly_alone=1)
        _person(tx, h3, "庚", "1952-01-01", "半", "配偶")
        tx.insert("visit", {"household_id": h3, "visit_date": "2026-06-05", "kind": "四必访"})
        # H4 (yellow): 61 today (too old), 15 tomorrow-16 (too young), and one able person without work:
        # a zero-employment household. Moved in 5 days ago, never visited: not yet due.
        h4 = _household(tx, "H4", "yellow", move_in="2026-06-10")
        _person(tx, h4, "辛", "1965-06-15", "全")
        i = _person(tx, h4, "壬", "1990-01-01", "全", "配偶")
        _person(tx, h4, "癸", "2010-06-16", "全", "子")
        # H5: deleted household; nothing of it counts.
        h5 = _household(tx, "H5", "red")
        x = _person(tx, h5, "子甲", "1985-01-01", "全")
        _job(tx, x, "公益性岗位", "2020-01-01")
        tx.delete("household", h5)
        # H6: never visited since 2020: overdue. One member moved away (迁出), one self-employed since 2020
        # whose deleted public-welfare post must not count.
        h6 = _household(tx, "H6")
        _person(tx, h6, "子乙", "1996-01-01", "全", "子", status="迁出")
        ell = _person(tx, h6, "子丙", "1970-01-01", "半")
        _job(tx, ell, "自主创业", "2020-01-01")
        tx.delete("employment", _job(tx, ell, "公益性岗位", "2026-01-01"))
        # H7: 特困, no members on file, visited 8 days ago: overdue under the 7-day special interval.
        h7 = _household(tx, "H7", tag_tekun=1)
        tx.insert("visit", {"household_id": h7, "visit_date": "2026-06-07", "kind": "四必访"})
        # H8: moved away (迁出) and never visited: still on file, but nobody is due to visit it.
        _household(tx, "H8", status="迁出")
        # Training: this year's course (甲, 丁), last year's (甲, 子丙, and 乙's attendance deleted),
        # a deleted course (壬): person-times 2 this year, 4 in all; never trained: 乙, 戊, 壬.
        c1 = tx.insert("training_course", {"name": "电工", "kind": "岗前", "start_date": "2026-03-01"})
        c2 = tx.insert("training_course", {"name": "家政", "kind": "技能提升", "start_date": "2025-05-01"})
        c3 = tx.insert("training_course", {"name": "作废", "kind": "创业", "start_date": "2026-04-01"})
        for course, person in ((c1, a), (c1, d), (c2, a), (c2, ell), (c3, i)):
            tx.insert("training_attendance", {"course_id": course, "person_id": person})
        tx.delete("training_attendance", tx.insert("training_attendance", {"course_id": c2, "person_id": b}))
        tx.delete("training_course", c3)
        training.ensure_sessions(tx)
        _ = e
        # Mediation: open = status not 结案, per level; a deleted case does not count.
        for level, status in (("楼栋", "受理"), ("楼栋", "已调解"), ("楼栋", "结案"), ("社区", "调解中"),
                              ("街道", "结案")):
            tx.insert("mediation_case", {"number": f"2026-{status}", "received_date": "2026-05-01",
                                         "title": "纠纷", "level": level, "status": status})
        tx.delete("mediation_case", tx.insert("mediation_case", {
            "number": "2026-x", "received_date": "2026-05-01", "title": "录错", "level": "街道", "status": "受理"}))
    return db


def test_every_figure_matches_the_hand_count(community):
    f = stats.compute(community, TODAY)
    assert f["today"] == "2026-06-15"
    assert f["households"] == 7  # H1 H2 H3 H4 H6 H7 H8 (H5 deleted)
    assert f["residents"] == 11  # 3 + 2 + 2 + 3 + 1 (子乙 moved away)
    assert f["labour_force"] == 6  # 甲 乙 丁 戊 壬 子丙
    assert f["employed"] == 3  # 甲 丁 子丙; 乙's job ended last month
    assert f["employment_rate"] == 0.5
    assert f["employed_per_household"] == 0.75
    assert f["households_with_labour"] == 4  # H1 H2 H4 H6 (H3 elderly only: none)
    assert f["households_with_stable_job"] == 2  # H1 (since 2024), H6 (since 2020); H2's is 3 months old
    assert f["zero_employment_households"] == 1  # H4
    assert f["never_trained"] == 3  # 乙 戊 壬
    assert f["training_person_times_year"] == 2
    assert f["training_person_times_total"] == 4
    assert f["public_welfare_posts"] == 1  # 丁; 乙's ended, 子丙's deleted, H5's household deleted
    # H2 red (2 days), H3 special (10 days), H6 never, H7 特困 (8 days); not H8, which moved away.
    assert f["visits_overdue"] == 4
    assert f["never_visited"] == 2  # H4, H6
    assert f["open_mediation_cases"] == {"楼栋": 2, "社区": 1, "街道": 0, "total": 3}
    assert f["mediation_cases_total"] == 5
    assert f["risk_colours"] == {"red": 1, "yellow": 1, "green": 5}
    assert f["special_groups"]["孤寡老人"] == 1
    json.dumps(f, ensure_ascii=False)  # JSON-able


def test_figures_follow_the_office_settings(community):
    settings.set_value(community, "working_age_max", 65)  # 辛 (61) now counts, unemployed
    settings.set_value(community, "visit_interval_red", 3)  # H2 seen 2 days ago is in time
    settings.set_value(community, "stable_job_months", 3)  # 丁's post (2026-03-01) is stable now
    f = stats.compute(community, TODAY)
    assert f["labour_force"] == 7
    assert f["employed"] == 3
    assert f["visits_overdue"] == 3
    assert f["households_with_stable_job"] == 3


def test_a_day_later(community):
    f = stats.compute(community, TODAY + dt.timedelta(days=1))
    # 丁 turns 61 and leaves the labour force; 癸 turns 16 and joins it.
    assert f["labour_force"] == 6
    assert f["employed"] == 2
    assert f["public_welfare_posts"] == 1  # the post is a job whoever holds it


def test_empty_database(db):
    f = stats.compute(db, TODAY)
    assert f["households"] == 0 and f["labour_force"] == 0 and f["employment_rate"] == 0.0
    assert f["open_mediation_cases"]["total"] == 0


def test_stats_command_json_is_one_line(community, capsys):
    community.close()
    assert main(["stats", "--db", str(community.path), "--json", "--today", "2026-06-15"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["employed"] == 3
    assert main(["stats", "--db", str(community.path), "--today", "15/06/2026"]) == 2
    assert "格式不对" in capsys.readouterr().err

"""Every labour figure against hand-computed values on a small fixture community."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.employment import labour
from tests.builders.labour import TODAY, build_community


@pytest.fixture
def community(db):
    return build_community(db)


def names(db, key, ids):
    back = {v: k for k, v in ids.items()}
    return sorted(back[i] for i in labour.figure_ids(db, key, TODAY))


def test_figures_match_hand_counts(db, community):
    f = labour.compute_figures(db, TODAY)
    assert f.labour_force == 8  # 甲 乙 己 庚 辛 子 卯 辰
    assert f.employed == 3  # 甲 己 卯
    assert f.employed_stable == 2  # 甲 卯
    assert f.employed_other == 1  # 己
    assert f.unemployed == 5
    assert f.employment_rate == pytest.approx(3 / 8)
    assert f.households_with_labour == 4  # H1 H2 H4 H5
    assert f.employed_per_household == pytest.approx(3 / 4)
    assert f.households_with_stable_job == 2  # H1 H5
    assert f.households_without_stable_job == 2  # H2 H4
    assert f.zero_employment_households == 1  # H4
    assert f.never_trained == 4  # 庚 (attendance deleted) 辛 子 (course deleted) 辰
    assert f.training_person_times_year == 3
    assert f.training_person_times_year_cert == 3
    assert f.training_person_times_year_nocert == 0
    assert f.training_person_times_total == 5
    assert f.training_person_times_total_cert == 3
    assert f.training_person_times_total_nocert == 2
    assert f.public_welfare_posts == 2  # 卯 and 巳 (over working age, still a post)


def test_lists_behind_figures(db, community):
    ids = community
    assert names(db, "labour_force", ids) == sorted("甲乙己庚辛子卯辰")
    assert names(db, "employed", ids) == sorted("甲己卯")
    assert names(db, "employed_stable", ids) == sorted("甲卯")
    assert names(db, "employed_other", ids) == ["己"]
    assert names(db, "never_trained", ids) == sorted("庚辛子辰")
    assert names(db, "public_welfare_posts", ids) == sorted("卯巳")
    assert names(db, "households_with_labour", ids) == ["H1", "H2", "H4", "H5"]
    assert names(db, "households_with_stable_job", ids) == ["H1", "H5"]
    assert names(db, "households_without_stable_job", ids) == ["H2", "H4"]
    assert names(db, "zero_employment_households", ids) == ["H4"]
    assert len(labour.figure_ids(db, "training_person_times_year", TODAY)) == 3
    assert len(labour.figure_ids(db, "training_person_times_total", TODAY)) == 5


def test_every_list_count_equals_its_figure(db, community):
    f = labour.compute_figures(db, TODAY).as_dict()
    for key in labour.PEOPLE_FIGURES + labour.HOUSEHOLD_FIGURES + labour.ATTENDANCE_FIGURES:
        fl = labour.figure_list(db, key, TODAY)
        assert db.scalar(fl.count_sql()) == f[key], key
        rows = db.query(fl.select_sql(limit=50))
        assert len(rows) == f[key], key


def test_elderly_only_household_has_no_labour(db, community):
    assert community["H3"] not in labour.figure_ids(db, "households_with_labour", TODAY)
    assert community["H3"] not in labour.figure_ids(db, "zero_employment_households", TODAY)


def test_job_ended_last_month_is_not_employed_now(db, community):
    assert community["庚"] not in labour.figure_ids(db, "employed", TODAY)
    # …but on a day inside that job, 庚 was employed.
    assert community["庚"] in labour.figure_ids(db, "employed", dt.date(2026, 5, 14))


def test_job_becomes_stable_after_six_months(db, community):
    # 己 started 2026-03-01: stable from 2026-09-01 on.
    assert community["己"] not in labour.figure_ids(db, "employed_stable", dt.date(2026, 8, 31))
    assert community["己"] in labour.figure_ids(db, "employed_stable", dt.date(2026, 9, 1))


def test_working_age_setting_changes_the_labour_force(db, community):
    from app.models.core import settings

    settings.set_value(db, "working_age_max", 65)
    f = labour.compute_figures(db, TODAY)
    assert f.labour_force == 10  # + 壬 (65) and 巳 (61)
    settings.set_value(db, "stable_job_months", 3)
    # 甲 卯 + 己 (since 2026-03-01, ≥ 3 months); 巳 started two weeks ago, so not stable.
    assert labour.compute_figures(db, TODAY).employed_stable == 3


def test_ledger_export_has_labour_force_rows(db, community):
    sql, params = labour.labour_ledger_sql(db, TODAY)
    rows = db.query(sql, params)
    assert len(rows) == labour.compute_figures(db, TODAY).labour_force
    by_name = {r["name"]: r for r in rows}
    assert by_name["卯"]["age"] == 60
    assert by_name["辰"]["age"] == 16
    assert "稳定" in by_name["甲"]["current_job"]
    assert by_name["己"]["current_job"].startswith("外出务工")
    assert by_name["庚"]["current_job"] is None
    assert by_name["甲"]["last_training"].startswith("电焊")
    assert [t for _k, t in labour.labour_ledger_titles(db, TODAY)][0] == "姓名"


def test_date_helpers():
    assert labour.minus_months(dt.date(2026, 8, 31), 6) == dt.date(2026, 2, 28)
    assert labour.minus_months(dt.date(2026, 1, 15), 1) == dt.date(2025, 12, 15)
    assert labour.age_on("2010-06-15", TODAY) == 16
    assert labour.age_on("2010-06-16", TODAY) == 15
    assert labour.age_on(None, TODAY) is None
    r = labour.LabourRules(dt.date(2024, 2, 29), 16, 60, 6)
    assert r.born_by == "2008-02-29"
    assert r.born_after == "1963-02-28"

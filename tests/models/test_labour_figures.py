"""Every labour figure against hand-computed values on a small fixture community."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.pinyin import name_pinyin
from app.models.employment import labour, training

TODAY = dt.date(2026, 6, 15)


def add_person(tx, household_id, name, birth, ability="全", **extra):
    full, initials = name_pinyin(name)
    values = {
        "household_id": household_id, "name": name, "name_pinyin": full, "name_initials": initials,
        "birth_date": birth, "labour_ability": ability, "sex": "男",
    }
    values.update(extra)
    return tx.insert("person", values)


def build_community(db, *, sessions: bool = True) -> dict[str, str]:
    """The fixture (today = 2026-06-15; hand counts in the tests below).

    H1 101: 甲 30 全 stable job since 2025-01-01; 乙 28 半 no job; 丙 child 10; 丁 70 全; 戊 30 迁出
    H2 102: 己 40 job from 2026-03-01 (not yet stable); 庚 59 job ended 2026-05-14; 辛 30 job from 2026-07-01
    H3 103: 壬 65, 癸 70 无 — elderly only, no labour
    H4 104: 子 35 no job (deleted current job only); 丑 45 无; 寅 15 (16 tomorrow)
    H5 201: 卯 exactly 60 today, 公益性岗位 since 2024; 辰 exactly 16 today; 巳 61, 公益性岗位 current
    H6 (deleted household): 午 30 全
    """
    ids: dict[str, str] = {}
    with db.write() as tx:
        c = tx.insert("community", {"name": "红路馨居"})
        b = tx.insert("building", {"community_id": c, "name": "1栋", "number": 1})
        u = tx.insert("unit", {"building_id": b, "number": 1})
        rooms = {n: tx.insert("room", {"unit_id": u, "number": n}) for n in ("101", "102", "103", "104", "201")}
        for i, room in enumerate(["101", "102", "103", "104", "201", None], start=1):
            ids[f"H{i}"] = tx.insert("household", {"number": f"H{i}", "room_id": rooms.get(room)})
        h = ids
        ids["甲"] = add_person(tx, h["H1"], "甲", "1996-01-01")
        ids["乙"] = add_person(tx, h["H1"], "乙", "1998-01-01", "半")
        ids["丙"] = add_person(tx, h["H1"], "丙", "2016-01-01", None)
        ids["丁"] = add_person(tx, h["H1"], "丁", "1956-01-01")
        ids["戊"] = add_person(tx, h["H1"], "戊", "1996-01-01", status="迁出", status_date="2026-01-01")
        ids["己"] = add_person(tx, h["H2"], "己", "1986-01-01")
        ids["庚"] = add_person(tx, h["H2"], "庚", "1967-01-01")
        ids["辛"] = add_person(tx, h["H2"], "辛", "1996-01-01")
        ids["壬"] = add_person(tx, h["H3"], "壬", "1961-01-01")
        ids["癸"] = add_person(tx, h["H3"], "癸", "1956-01-01", "无")
        ids["子"] = add_person(tx, h["H4"], "子", "1991-01-01")
        ids["丑"] = add_person(tx, h["H4"], "丑", "1981-01-01", "无")
        ids["寅"] = add_person(tx, h["H4"], "寅", "2010-06-16")
        ids["卯"] = add_person(tx, h["H5"], "卯", "1966-06-15")
        ids["辰"] = add_person(tx, h["H5"], "辰", "2010-06-15")
        ids["巳"] = add_person(tx, h["H5"], "巳", "1965-06-14")
        ids["午"] = add_person(tx, h["H6"], "午", "1996-01-01")
        tx.delete("household", h["H6"])

        def job(person, kind, start, end=None, **extra):
            return tx.insert("employment", {"person_id": ids[person], "kind": kind, "start_date": start,
                                            "end_date": end, **extra})

        ids["job甲"] = job("甲", "就近就业", "2025-01-01", sub_kind="帮扶车间", employer="鞋厂")
        ids["job己"] = job("己", "外出务工", "2026-03-01", destination="浙江")
        ids["job庚"] = job("庚", "灵活就业", "2025-01-01", "2026-05-14")
        ids["job辛"] = job("辛", "外出务工", "2026-07-01")
        ids["job子"] = job("子", "灵活就业", "2026-01-01")
        tx.delete("employment", ids["job子"])
        ids["job卯"] = job("卯", "公益性岗位", "2024-01-01", post_name="保洁")
        ids["job巳"] = job("巳", "公益性岗位", "2026-06-01", post_name="护林")
        ids["job午"] = job("午", "外出务工", "2025-01-01")

        c1 = tx.insert("training_course", {"name": "电焊", "kind": "技能提升", "start_date": "2026-03-02",
                                           "with_certificate": 1, "certificate_name": "焊工证"})
        c2 = tx.insert("training_course", {"name": "家政", "kind": "岗前", "start_date": "2025-10-01"})
        c3 = tx.insert("training_course", {"name": "作废", "kind": "岗前", "start_date": "2026-02-01"})
        ids.update(c1=c1, c2=c2, c3=c3)
        for person, course in (("甲", c1), ("乙", c1), ("己", c1), ("甲", c2), ("卯", c2), ("子", c3)):
            tx.insert("training_attendance", {"course_id": course, "person_id": ids[person]})
        dropped = tx.insert("training_attendance", {"course_id": c1, "person_id": ids["庚"]})
        tx.delete("training_attendance", dropped)
        tx.delete("training_course", c3)
        if sessions:  # each course one whole-course session, everyone present (as the upgrade makes them)
            training.ensure_sessions(tx)
    return ids


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

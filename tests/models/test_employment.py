"""Jobs, training courses and intentions: what is saved, what is refused, and nothing half-way."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core.errors import ValidationError
from app.models.employment import employment, intentions, labour, training
from tests.builders.labour import build_community


@pytest.fixture
def ids(db):
    return build_community(db)


def count(db, table):
    return db.scalar(f"SELECT count(*) FROM {table} WHERE deleted = 0")


@pytest.mark.parametrize(
    ("text", "fen"),
    [("3500", 350000), ("3500.50", 350050), ("3500.5", 350050), ("3,500元", 350000), (" 0 ", 0), ("", None),
     (None, None), ("0.01", 1)],
)
def test_parse_yuan(text, fen):
    assert employment.parse_yuan(text) == fen


@pytest.mark.parametrize(("text", "words"), [("-100", "负数"), ("abc", "不是有效的金额"), ("12.345", "两位小数"),
                                             ("1e3", "不是有效的金额"), ("三千", "不是有效的金额")])
def test_parse_yuan_refuses(text, words):
    with pytest.raises(ValidationError, match=words):
        employment.parse_yuan(text, what="月收入")


def test_format_fen():
    assert employment.format_fen(350050) == "3500.50"
    assert employment.format_fen(350000) == "3500"
    assert employment.format_fen(None) == ""


def job(person_id, **kw):
    values = {"person_id": person_id, "kind": "就近就业", "sub_kind": "帮扶车间", "employer": "鞋厂",
              "start_date": "2026-06-01", "monthly_income": "2800.50"}
    values.update(kw)
    return values


def test_save_job_stores_fen_and_clears_zero_employment(db, ids):
    today = dt.date.today()
    before = labour.figure_ids(db, "zero_employment_households", today)
    assert ids["H4"] in before
    start = (today - dt.timedelta(days=3)).isoformat()
    job_id = employment.save_job(db, job(ids["子"], start_date=start))
    row = db.get("employment", job_id)
    assert row["monthly_income_fen"] == 280050
    assert row["kind"] == "就近就业" and row["sub_kind"] == "帮扶车间"
    assert ids["H4"] not in labour.figure_ids(db, "zero_employment_households", today)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE row_id = ?", (job_id,)) == 1


def test_course_refuses_a_child(db, ids):
    before = (count(db, "training_course"), count(db, "training_attendance"))
    with pytest.raises(ValidationError, match=r"辰（开班时 15 周岁，未满 16 周岁）"):
        training.save_course(db, course(), [ids["甲"], ids["辰"]])  # 辰 is 16 only on 2026-06-15
    assert (count(db, "training_course"), count(db, "training_attendance")) == before


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"end_date": "2026-05-01"}, "早于开始日期"),
        ({"monthly_income": "-3000"}, "负数"),
        ({"monthly_income": "三千五"}, "不是有效的金额"),
        ({"monthly_income": "99999999"}, "过大"),
        ({"start_date": ""}, "请填写开始日期"),
        ({"start_date": "2026-02-30"}, "不是有效日期"),
        ({"kind": "打工"}, "就业类型应为"),
        ({"kind": "公益性岗位", "post_name": ""}, "岗位名称"),
        ({"sub_kind": "工业园区", "kind": "灵活就业"}, "细类"),
    ],
)
def test_bad_job_is_refused_and_nothing_saved(db, ids, changes, words):
    before = count(db, "employment")
    log_before = db.scalar("SELECT count(*) FROM change_log")
    with pytest.raises(ValidationError, match=words):
        employment.save_job(db, job(ids["子"], **changes))
    assert count(db, "employment") == before
    assert db.scalar("SELECT count(*) FROM change_log") == log_before


def test_child_cannot_get_a_job(db, ids):
    with pytest.raises(ValidationError, match="未满 16 周岁"):
        employment.save_job(db, job(ids["丙"]))
    # 寅 turns 16 on 2026-06-16: a job from that day on is fine.
    employment.save_job(db, job(ids["寅"], start_date="2026-06-16"))
    with pytest.raises(ValidationError, match="只有 15 周岁"):
        employment.save_job(db, job(ids["寅"], start_date="2026-06-15"))


def test_moved_away_person_cannot_start_a_job_after_leaving(db, ids):
    with pytest.raises(ValidationError, match="迁出"):
        employment.save_job(db, job(ids["戊"], start_date="2026-02-01"))
    # a job from before the move is history and may be recorded
    employment.save_job(db, job(ids["戊"], start_date="2025-02-01", end_date="2025-12-31"))


def test_overlapping_jobs_warn_then_save_when_confirmed(db, ids):
    with pytest.raises(employment.OverlapWarning, match="已有工作") as err:
        employment.save_job(db, job(ids["甲"], start_date="2026-01-01"))
    assert [o["id"] for o in err.value.overlaps] == [ids["job甲"]]
    before = count(db, "employment")
    employment.save_job(db, job(ids["甲"], start_date="2026-01-01"), confirm_overlap=True)
    assert count(db, "employment") == before + 1
    # a job that ended before the new one starts is no overlap
    employment.save_job(db, job(ids["庚"], start_date="2026-06-01"))


def test_end_job_keeps_history(db, ids):
    employment.end_job(db, ids["job甲"], "2026-05-31")
    history = employment.jobs_of(db, ids["甲"])
    assert [h["id"] for h in history] == [ids["job甲"]]
    assert history[0]["end_date"] == "2026-05-31"
    assert ids["甲"] not in labour.figure_ids(db, "employed", dt.date(2026, 6, 15))
    with pytest.raises(ValidationError, match="早于开始日期"):
        employment.end_job(db, ids["job甲"], "2024-01-01")


def test_edit_job_does_not_warn_about_itself(db, ids):
    values = job(ids["甲"], start_date="2025-01-01", employer="新鞋厂")
    employment.save_job(db, values, job_id=ids["job甲"])
    assert db.get("employment", ids["job甲"])["employer"] == "新鞋厂"


def test_intention_closed_by_job(db, ids):
    it = intentions.add(db, {"person_id": ids["子"], "kind": "就业", "job_kind": "就近就业",
                             "recorded_date": "2026-05-01"})
    assert [r["id"] for r in intentions.open_for(db, ids["子"])] == [it]
    job_id = employment.save_job(db, job(ids["子"]), close_intention_ids=[it])
    row = db.get("intention", it)
    assert row["closed_date"] == "2026-06-01" and row["met_employment_id"] == job_id
    assert intentions.open_for(db, ids["子"]) == []
    employment.delete_job(db, job_id)  # entered by mistake → the need is open again
    assert [r["id"] for r in intentions.open_for(db, ids["子"])] == [it]


def test_intention_link_must_be_the_same_person(db, ids):
    it = intentions.add(db, {"person_id": ids["子"], "kind": "就业", "recorded_date": "2026-05-01"})
    with pytest.raises(ValidationError, match="不是本人"):
        intentions.close(db, it, "2026-06-01", met_employment_id=ids["job甲"])
    assert db.get("intention", it)["closed_date"] is None


def test_intention_validation(db, ids):
    with pytest.raises(ValidationError, match="想参加什么培训"):
        intentions.add(db, {"person_id": ids["子"], "kind": "培训"})
    with pytest.raises(ValidationError, match="需求类型"):
        intentions.add(db, {"person_id": ids["子"], "kind": "其他"})


def course(**kw):
    values = {"name": "中式烹调", "kind": "技能提升", "provider": "县人社局", "start_date": "2026-06-10",
              "end_date": "2026-06-20", "hours": "40", "with_certificate": True, "certificate_name": "中式烹调师"}
    values.update(kw)
    return values


def test_course_with_many_people_in_one_go(db, ids):
    people = [ids[n] for n in ("甲", "乙", "己", "庚", "子", "甲")]  # 甲 twice: kept once
    it = intentions.add(db, {"person_id": ids["子"], "kind": "培训", "training_wanted": "厨师",
                             "recorded_date": "2026-01-01"})
    course_id = training.save_course(db, course(), people)
    assert len(training.participants(db, course_id)) == 5
    row = db.get("intention", it)
    assert row["closed_date"] == "2026-06-10" and row["met_attendance_id"] is not None
    assert training.add_attendance(db, course_id, [ids["甲"], ids["辛"]]) == 1
    # 辰 turns 16 on 2026-06-15: a course starting that day takes him
    training.save_course(db, course(name="电工", start_date="2026-06-15", end_date="2026-06-20"), [ids["辰"]])
    f = labour.compute_figures(db, dt.date(2026, 6, 15))
    assert f.training_person_times_year == 3 + 7
    assert f.never_trained == 0  # 庚 子 辰 辛 all trained now


def test_course_refuses_someone_who_moved_away_before_it(db, ids):
    before = (count(db, "training_course"), count(db, "training_attendance"))
    with pytest.raises(ValidationError, match=r"戊（2026-01-01 已迁出"):
        training.save_course(db, course(), [ids["甲"], ids["戊"]])
    assert (count(db, "training_course"), count(db, "training_attendance")) == before
    # a course before the move is fine
    training.save_course(db, course(start_date="2025-12-01", end_date="2025-12-05"), [ids["戊"]])


@pytest.mark.parametrize(
    ("changes", "words"),
    [({"name": " "}, "培训名称"), ({"kind": "其他"}, "培训类别"), ({"end_date": "2026-06-01"}, "早于开班日期"),
     ({"hours": "四十"}, "不是数字"), ({"hours": "-4"}, "不合理"), ({"certificate_name": ""}, "证书名称"),
     ({"start_date": ""}, "开班日期")],
)
def test_bad_course_is_refused(db, ids, changes, words):
    with pytest.raises(ValidationError, match=words):
        training.save_course(db, course(**changes), [ids["甲"]])
    assert count(db, "training_course") == 2  # the fixture's two live courses


def test_delete_course_and_remove_attendance(db, ids):
    course_id = training.save_course(db, course(), [ids["甲"], ids["乙"]])
    people = training.participants(db, course_id)
    training.remove_attendance(db, people[0]["attendance_id"])
    assert len(training.participants(db, course_id)) == 1
    training.set_certificate(db, [people[1]["attendance_id"]], True)
    assert training.participants(db, course_id)[0]["certificate_obtained"] == 1
    assert training.delete_course(db, course_id) == 1
    assert count(db, "training_course") == 2


def test_match_pasted_names(db, ids):
    with db.write() as tx:
        from tests.builders.labour import add_person

        add_person(tx, ids["H2"], "甲", "1990-01-01")  # a second 甲, in room 102
    found, problems = training.match_names(db, "乙\n己、 甲\n甲 102\n无名氏\n")
    assert ids["乙"] in found and ids["己"] in found
    assert len(found) == 3
    assert any("同名" in p for p in problems)
    assert any("无名氏" in p for p in problems)


def test_yuan_round_trip_is_exact():
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.integers(min_value=0, max_value=10**11))
    def check(fen):
        assert employment.parse_yuan(employment.format_fen(fen)) == fen

    check()

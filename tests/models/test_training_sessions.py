"""Training sessions: person-times, hours and "trained" count from per-session attendance; the upgrade
keeps every figure; sessions and ticks travel between PCs."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import migrations
from app.models.core.db import open_database
from app.models.core.errors import NeedsConfirmation, ValidationError
from app.models.dashboard import stats
from app.models.employment import labour, training
from app.models.migrations.m0020_training_sessions import UPGRADE_HLC, presence_id, whole_course_session_id
from app.models.sync import sync
from tests.builders.labour import TODAY, build_community
from tests.builders.sync import PASS, N, make_office, snapshot

S = training.SessionInput


def course_values(**extra):
    return {"name": "电焊培训", "kind": "技能提升", "start_date": "2026-03-02", "end_date": "2026-03-04", **extra}


@pytest.fixture
def people(db):
    ids = build_community(db)
    return ids


def test_person_times_hours_and_trained_count_from_each_session(db, people):
    before = labour.compute_figures(db, TODAY)
    a, b, g = people["辛"], people["子"], people["庚"]  # labour force, none trained by the builder's courses
    cid = training.save_course_sessions(db, course_values(), [a, b, g], [
        S("2026-03-02", "4", present={a, b, g}),
        S("2026-03-03", "4", start_time="9:00", topic="安全操作", present={a, b}),
        S("2026-03-04", "2.5", present={a}),
    ])
    f = labour.compute_figures(db, TODAY)
    assert f.training_person_times_year - before.training_person_times_year == 3 + 2 + 1
    assert f.training_person_times_total - before.training_person_times_total == 6
    assert f.training_hours_year - before.training_hours_year == pytest.approx(3 * 4 + 2 * 4 + 2.5)
    assert f.training_hours_total - before.training_hours_total == pytest.approx(22.5)
    # All three were present once or more now.
    assert f.never_trained == before.never_trained - 3
    # The drill-down lists one row per person present at one session; stats carry the same figures.
    assert len(labour.figure_ids(db, "training_person_times_year", TODAY)) == f.training_person_times_year
    assert len(labour.figure_ids(db, "training_hours_year", TODAY)) == f.training_person_times_year
    out = stats.compute(db, TODAY)
    assert out["training_person_times_year"] == f.training_person_times_year
    assert out["training_hours_year"] == pytest.approx(f.training_hours_year)
    # The course's hours are its sessions' sum; its dates hold them.
    course = db.get("training_course", cid)
    assert course["hours"] == pytest.approx(10.5)
    assert (course["start_date"], course["end_date"]) == ("2026-03-02", "2026-03-04")
    assert [s["start_time"] for s in training.sessions(db, cid)] == [None, "09:00", None]

    # 庚 absent from every session stays on the course but is not trained; person-times follow.
    sess = training.sessions(db, cid)
    training.save_course_sessions(db, course_values(), [a, b, g], [
        S(s["session_date"], s["hours"], id=s["id"], start_time=s["start_time"], topic=s["topic"],
          present=({a, b} if i == 0 else None if i == 2 else {a, b})) for i, s in enumerate(sess)
    ], course_id=cid)
    assert {p["person_id"] for p in training.participants(db, cid)} == {a, b, g}
    assert training.presence(db, cid)[sess[2]["id"]] == {a, b, g}  # None = everyone
    training.save_course_sessions(db, course_values(), [a, b, g], [
        S(s["session_date"], s["hours"], id=s["id"], start_time=s["start_time"], present={a, b}) for s in sess
    ], course_id=cid)
    f2 = labour.compute_figures(db, TODAY)
    assert f2.never_trained == before.never_trained - 2  # 庚 again never trained
    assert f2.training_person_times_total - before.training_person_times_total == 6
    assert g not in labour.figure_ids(db, "training_person_times_total", TODAY) and g not in {
        r[0] for r in db.query(labour.rules(db, TODAY).trained_select())}


def test_a_session_removed_or_a_person_removed_no_longer_counts(db, people):
    a, b = people["辛"], people["子"]
    cid = training.save_course_sessions(db, course_values(), [a, b], [S("2026-03-02", 4), S("2026-03-03", 4)])
    base = labour.compute_figures(db, TODAY).training_person_times_total
    first, second = training.sessions(db, cid)
    training.save_course_sessions(db, course_values(), [a], [S(first["session_date"], 4, id=first["id"])],
                                  course_id=cid)
    assert labour.compute_figures(db, TODAY).training_person_times_total == base - 3
    assert db.get("training_session", second["id"])["deleted"] == 1
    assert [p["person_id"] for p in training.participants(db, cid)] == [a]


@pytest.mark.parametrize(("hours", "message"), [("0", "应大于 0"), ("25", "一天最多 24 学时"), ("四", "不是数字"),
                                                ("", "请填写第 1 次课")])
def test_session_hours_are_checked(db, people, hours, message):
    with pytest.raises(ValidationError, match=message):
        training.save_course_sessions(db, course_values(), [people["辛"]], [S("2026-03-02", hours)])
    assert db.scalar("SELECT count(*) FROM training_course WHERE name = '电焊培训'") == 0


def test_a_multi_day_session_may_hold_more_hours_and_bad_dates_are_refused(db, people):
    cid = training.save_course_sessions(db, course_values(), [people["辛"]],
                                        [S("2026-03-02", "40", end_date="2026-03-04")])
    assert training.sessions(db, cid)[0]["end_date"] == "2026-03-04"
    with pytest.raises(ValidationError, match="早于上课日期"):
        training.save_course_sessions(db, course_values(), [people["辛"]], [S("2026-03-05", 4, end_date="2026-03-04")])
    with pytest.raises(ValidationError, match="第 2 次课的日期"):
        training.save_course_sessions(db, course_values(), [people["辛"]], [S("2026-03-02", 4), S("3月32日", 4)])
    with pytest.raises(ValidationError, match="不是时间"):
        training.save_course_sessions(db, course_values(), [people["辛"]], [S("2026-03-02", 4, start_time="25:00")])


def test_two_sessions_at_one_date_and_time_need_a_yes(db, people):
    sessions = [S("2026-03-02", 4, start_time="9:00"), S("2026-03-02", 4, start_time="09:00")]
    with pytest.raises(NeedsConfirmation, match="第 1 次课和第 2 次课都在 2026-03-02（09:00）"):
        training.save_course_sessions(db, course_values(), [people["辛"]], sessions)
    assert db.scalar("SELECT count(*) FROM training_course WHERE name = '电焊培训'") == 0
    # morning and afternoon of one day are two sessions without a question
    training.save_course_sessions(db, course_values(name="上下午"), [people["辛"]],
                                  [S("2026-03-02", 4, start_time="9:00"), S("2026-03-02", 4, start_time="14:00")])
    cid = training.save_course_sessions(db, course_values(), [people["辛"]], sessions, confirmed=True)
    assert len(training.sessions(db, cid)) == 2


def test_sessions_outside_the_period_widen_it(db, people):
    cid = training.save_course_sessions(db, course_values(end_date=""), [people["辛"]],
                                        [S("2026-03-01", 4), S("2026-03-09", 4)])
    course = db.get("training_course", cid)
    assert (course["start_date"], course["end_date"]) == ("2026-03-01", "2026-03-09")
    assert training.course_period("2026-03-02", "2026-03-04", [{"session_date": "2026-03-03", "end_date": None}]) \
        == ("2026-03-02", "2026-03-04")


def test_a_course_saved_as_a_whole_is_one_session_and_new_people_attend_all_sessions(db, people):
    a, b = people["辛"], people["子"]
    cid = training.save_course(db, {**course_values(), "hours": "40"}, [a])
    (whole,) = training.sessions(db, cid)
    assert whole["id"] == whole_course_session_id(cid)
    assert (whole["session_date"], whole["end_date"], whole["hours"]) == ("2026-03-02", "2026-03-04", 40.0)
    training.save_course(db, {**course_values(end_date="2026-03-06"), "hours": "48"}, [b], course_id=cid)
    (whole,) = training.sessions(db, cid)
    assert (whole["end_date"], whole["hours"]) == ("2026-03-06", 48.0)  # kept in step with the course
    assert training.presence(db, cid) == {whole["id"]: {a, b}}
    assert db.one("SELECT * FROM training_presence WHERE id = ?", (presence_id(whole["id"], training.participants(
        db, cid)[0]["attendance_id"]),)) is not None


# -- the upgrade ---------------------------------------------------------------------------------
def _old_database(path, monkeypatch):
    """A database as the previous program left it: courses and attendance, no sessions."""
    old_steps = [s for s in migrations.steps() if s[0] < 20]
    with monkeypatch.context() as m:
        m.setattr(migrations, "steps", lambda: old_steps)
        db = open_database(path, user="测试员")
        ids = build_community(db, sessions=False)
        db.close()
    return ids


def test_upgrade_keeps_every_figure(tmp_path, monkeypatch):
    ids = _old_database(tmp_path / "old.db", monkeypatch)
    fresh = open_database(tmp_path / "new.db", user="测试员")
    build_community(fresh)  # the same community entered with today's program
    expected = labour.compute_figures(fresh, TODAY).as_dict()
    fresh.close()
    db = open_database(tmp_path / "old.db", user="测试员")
    assert db.schema_version == migrations.latest_version()
    got = labour.compute_figures(db, TODAY)
    assert got.as_dict() == expected
    # The hand counts of test_labour_figures, unchanged (person-times 3 this year, 5 in all, …).
    assert (got.training_person_times_year, got.training_person_times_total, got.never_trained) == (3, 5, 4)
    # One whole-course session per course, everyone present; logged at the lowest clock.
    (s1,) = training.sessions(db, ids["c1"])
    assert s1["id"] == whole_course_session_id(ids["c1"]) and s1["session_date"] == "2026-03-02"
    assert training.presence(db, ids["c1"])[s1["id"]] == {ids["甲"], ids["乙"], ids["己"]}
    clocks = {r[0] for r in db.query("SELECT DISTINCT hlc FROM change_log WHERE tbl LIKE 'training_%' "
                                     "AND tbl IN ('training_session', 'training_presence')")}
    assert clocks == {UPGRADE_HLC}
    db.close()


def test_two_pcs_upgrading_apart_agree_and_an_edit_after_an_upgrade_wins(tmp_path, monkeypatch):
    """PC A upgrades and marks 乙 absent; PC B, upgraded later, sends its upgrade rows: 乙 stays absent."""
    stick = tmp_path / "stick"
    stick.mkdir()
    old_steps = [s for s in migrations.steps() if s[0] < 20]
    with monkeypatch.context() as m:  # both PCs still run the previous program: B gets A's data
        m.setattr(migrations, "steps", lambda: old_steps)
        a_old = open_database(tmp_path / "a.db", user="甲")
        ids = build_community(a_old, sessions=False)
        sync.export_to_folder(a_old, stick, PASS, scrypt_n=N)
        b = open_database(tmp_path / "b.db", user="乙")
        sync.import_from_folder(b, stick, PASS)
        assert b.scalar("SELECT count(*) FROM training_attendance") > 0
        b.close()
        a_old.close()
    a = open_database(tmp_path / "a.db", user="甲")
    (s1,) = training.sessions(a, ids["c1"])
    training.save_course_sessions(a, {"name": "电焊", "kind": "技能提升", "start_date": "2026-03-02",
                                      "with_certificate": 1, "certificate_name": "焊工证"},
                                  [ids["甲"], ids["乙"], ids["己"]],
                                  [S(s1["session_date"], 8, id=s1["id"], present={ids["甲"], ids["己"]})],
                                  course_id=ids["c1"])
    b = open_database(tmp_path / "b.db", user="乙")  # upgrades now, after A's edit
    assert training.sessions(b, ids["c1"])[0]["id"] == s1["id"]
    for _ in range(2):
        sync.sync_with_folder(a, stick, PASS, scrypt_n=N)
        sync.sync_with_folder(b, stick, PASS, scrypt_n=N)
    assert snapshot(a) == snapshot(b)
    assert training.presence(b, ids["c1"])[s1["id"]] == {ids["甲"], ids["己"]}
    assert labour.compute_figures(a, TODAY).as_dict() == labour.compute_figures(b, TODAY).as_dict()
    a.close()
    b.close()


# -- sync ------------------------------------------------------------------------------------------
def test_a_session_and_its_ticks_made_on_one_pc_arrive_on_the_other(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    a, ids = make_office(tmp_path / "a.db")
    with a.write() as tx:
        for key in ("p1", "p2"):
            tx.update("person", ids[key], {"birth_date": "1990-01-01", "labour_ability": "全", "status": "在册"})
    sync.export_to_folder(a, stick, PASS, scrypt_n=N)
    b = open_database(tmp_path / "b.db", user="乙")
    sync.import_from_folder(b, stick, PASS)
    day = dt.date.today().isoformat()
    cid = training.save_course_sessions(a, {"name": "家政", "kind": "岗前", "start_date": day}, [ids["p1"], ids["p2"]],
                                        [S(day, 4, topic="入门", place="社区活动室", present={ids["p1"]})])
    sync.sync_with_folder(a, stick, PASS, scrypt_n=N)
    sync.sync_with_folder(b, stick, PASS, scrypt_n=N)
    (sess,) = training.sessions(b, cid)
    assert (sess["topic"], sess["place"], sess["hours"]) == ("入门", "社区活动室", 4.0)
    assert training.presence(b, cid) == {sess["id"]: {ids["p1"]}}
    # B adds a second session and ticks both; A gets it.
    training.save_course_sessions(b, {"name": "家政", "kind": "岗前", "start_date": day}, [ids["p1"], ids["p2"]],
                                  [S(day, 4, id=sess["id"], topic="入门", place="社区活动室", present={ids["p1"]}),
                                   S((dt.date.today() + dt.timedelta(days=1)).isoformat(), 3)], course_id=cid)
    sync.sync_with_folder(b, stick, PASS, scrypt_n=N)
    sync.sync_with_folder(a, stick, PASS, scrypt_n=N)
    assert snapshot(a) == snapshot(b)
    fa = labour.compute_figures(a)
    assert fa.training_person_times_total == 3 and fa.training_hours_total == pytest.approx(4 + 3 + 3)
    assert labour.compute_figures(b).as_dict() == fa.as_dict()
    a.close()
    b.close()

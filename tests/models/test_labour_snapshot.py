"""The in-memory labour snapshot agrees with the SQL definitions after every kind of edit."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from app.models.core import settings
from app.models.core.db import open_database
from app.models.employment import labour, labour_snapshot, training
from tests.builders.labour import TODAY, add_person, build_community


@pytest.fixture
def community(db):
    return build_community(db)


LIST_KEYS = labour.PEOPLE_FIGURES + labour.HOUSEHOLD_FIGURES + labour.ATTENDANCE_FIGURES


def by_sql(db, key: str, today: dt.date) -> list[str]:
    fl = labour.figure_list(db, key, today)
    sql = f"SELECT {fl.id_sql} FROM {fl.lean_from} WHERE {fl.where} ORDER BY {fl.order_by}, {fl.id_sql}"
    return [r[0] for r in db.query(sql)]


def assert_agrees(db, today: dt.date = TODAY) -> None:
    figures = labour.compute_figures(db, today).as_dict()
    for key in LIST_KEYS:
        expected = by_sql(db, key, today)
        assert labour.figure_ids(db, key, today) == expected, key
        assert figures[key] == len(expected), key
        assert figures[key] == db.scalar(labour.figure_list(db, key, today).count_sql()), key


def random_edit(rng: random.Random, db, ids: dict[str, str]) -> str:
    people = [r[0] for r in db.query("SELECT id FROM person")]
    households = [r[0] for r in db.query("SELECT id FROM household")]
    jobs = [r[0] for r in db.query("SELECT id FROM employment")]
    courses = [r[0] for r in db.query("SELECT id FROM training_course")]
    day = (TODAY + dt.timedelta(days=rng.randint(-400, 60))).isoformat()
    what = rng.choice(["job", "end", "drop_job", "restore_job", "reassign", "person", "move", "household",
                       "attend", "course", "born", "status", "tick", "session", "drop_person"])
    with db.write() as tx:
        if what == "job":
            tx.insert("employment", {"person_id": rng.choice(people), "kind": rng.choice(["外出务工", "公益性岗位"]),
                                     "start_date": day})
        elif what == "end" and jobs:
            tx.update("employment", rng.choice(jobs), {"end_date": day})
        elif what == "drop_job" and jobs:
            tx.delete("employment", rng.choice(jobs))
        elif what == "restore_job" and jobs:
            tx.restore("employment", rng.choice(jobs))
        elif what == "reassign" and jobs:
            tx.update("employment", rng.choice(jobs), {"person_id": rng.choice(people)})
        elif what == "person":
            add_person(tx, rng.choice(households), "新", rng.choice(["1990-05-05", "2015-01-01"]))
        elif what == "move":
            tx.update("person", rng.choice(people), {"household_id": rng.choice(households)})
        elif what == "household":
            hid = rng.choice(households)
            if rng.random() < 0.5:
                tx.delete("household", hid)
            else:
                tx.restore("household", hid)
        elif what == "attend":
            course = rng.choice(courses)
            att = tx.insert("training_attendance", {"course_id": course, "person_id": rng.choice(people)})
            for (sid,) in tx.conn.execute("SELECT id FROM training_session WHERE course_id = ?", (course,)).fetchall():
                training.set_presence(tx, sid, att, rng.random() < 0.8)
        elif what == "drop_person":
            pid = rng.choice(people)
            tx.update("person", pid, {"deleted": 1 - int(tx.conn.execute(
                "SELECT deleted FROM person WHERE id = ?", (pid,)).fetchone()[0])})
        elif what == "tick":
            pair = tx.conn.execute("SELECT s.id, a.id FROM training_session s JOIN training_attendance a "
                                   "ON a.course_id = s.course_id ORDER BY random() LIMIT 1").fetchone()
            if pair:
                training.set_presence(tx, pair[0], pair[1], rng.random() < 0.5)
        elif what == "session":
            sessions = [r[0] for r in tx.conn.execute("SELECT id FROM training_session")]
            if sessions and rng.random() < 0.4:
                tx.update("training_session", rng.choice(sessions), {"deleted": rng.randint(0, 1), "session_date": day})
            else:
                sid = tx.insert("training_session", {"course_id": rng.choice(courses), "session_date": day,
                                                     "hours": rng.choice([2.0, 4.0, None])})
                for (att,) in tx.conn.execute("SELECT id FROM training_attendance WHERE course_id = "
                                              "(SELECT course_id FROM training_session WHERE id = ?)", (sid,)).fetchall():
                    training.set_presence(tx, sid, att, rng.random() < 0.7)
        elif what == "course":
            tx.update("training_course", rng.choice(courses), {"deleted": rng.randint(0, 1), "start_date": day})
        elif what == "born":
            tx.update("person", rng.choice(people), {"birth_date": rng.choice(["1966-06-15", "1996-01-01", None])})
        elif what == "status":
            tx.update("person", rng.choice(people), {"status": rng.choice(["在册", "迁出", "死亡"])})
    return what


@pytest.mark.parametrize("seed", range(4))
def test_snapshot_follows_edits_from_another_connection(db, db_path, seed):
    ids = build_community(db)
    writer = open_database(db_path, user="另一台")
    try:
        rng = random.Random(seed)
        assert_agrees(db)
        for _ in range(40):
            random_edit(rng, writer, ids)
            assert_agrees(db)
    finally:
        writer.close()


def test_snapshot_is_advanced_not_rebuilt_after_a_job(db, community):
    labour.compute_figures(db, TODAY)
    before = labour_snapshot.snapshot(db, labour.rules(db, TODAY))
    with db.write() as tx:
        tx.insert("employment", {"person_id": community["乙"], "kind": "灵活就业", "start_date": "2026-06-01"})
    after = labour_snapshot.snapshot(db, labour.rules(db, TODAY))
    assert after is before  # same object, brought forward
    assert after.people[community["乙"]][2] == labour_snapshot.OTHER
    assert_agrees(db)


def test_rolled_back_write_leaves_no_trace(db, community):
    assert_agrees(db)
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.insert("employment", {"person_id": community["乙"], "kind": "灵活就业", "start_date": "2026-06-01"})
        assert community["乙"] in labour.figure_ids(db, "employed", TODAY)  # seen inside the write
        raise RuntimeError
    # The rolled-back op's number is reused by the next write; the snapshot must not count it as seen.
    with db.write() as tx:
        tx.insert("employment", {"person_id": community["子"], "kind": "灵活就业", "start_date": "2026-06-01"})
    assert community["乙"] not in labour.figure_ids(db, "employed", TODAY)
    assert community["子"] in labour.figure_ids(db, "employed", TODAY)
    assert_agrees(db)


def test_settings_and_day_change_recount(db, community):
    assert_agrees(db)
    with db.write():
        settings.set_value(db, "working_age_max", "70")
    assert_agrees(db)
    assert community["丁"] in labour.figure_ids(db, "labour_force", TODAY)
    assert_agrees(db, TODAY + dt.timedelta(days=1))


def test_many_edits_at_once_recount_everything(db, community, monkeypatch):
    monkeypatch.setattr(labour_snapshot, "FULL_RECOUNT_AFTER", 2)
    assert_agrees(db)
    with db.write() as tx:
        for name in ("乙", "子", "己"):
            tx.insert("employment", {"person_id": community[name], "kind": "灵活就业", "start_date": "2025-01-01"})
    assert_agrees(db)

"""A small community whose labour figures were counted by hand (today = 2026-06-15)."""

from __future__ import annotations

import datetime as dt

from app.models.core.pinyin import name_pinyin
from app.models.employment import training

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

"""The list query objects of the data layer (no Qt): one search grammar for the registry and the
resident searches, the employment ledgers' filters, open intentions, "export what I see"."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core import id_numbers
from app.models.core.list_query import Condition, ListQuery
from app.models.employment import employment, intentions, labour, training
from app.models.employment.intention_state import open_sql
from app.models.forms import forms
from app.models.mediation import mediation as med
from app.models.places import places
from app.models.registry import households, persons, registry_search
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site

# Every kind of word a clerk types (name, initials, pinyin, ID number and phone fragments, address
# forms, building, room and household numbers), alone and combined.
TEXTS = [
    "周", "周艳", "周艳红", "艳红", "zy", "ZYH", "zhouyun", "shanl", "y", ID_ZHOU, ID_ZHOU.lower(), ID_ZHOU[-6:],
    "13812345678", "2345", "1-2-501", "1栋2单元501", "2栋", "1-1", "501", "2", "12", "9-9-999", "HLX-0007",
    "周 2栋", "zy 1-2", "王 501", "", "   ",
]


person = registry_search.person_condition


@pytest.fixture
def site(db):
    make_site(db)
    ids = {}
    ids["zhouyan"], _ = add_household(db, "1-1-101", "周艳", ID_ZHOU, tag_dibao=True)
    ids["wang"], _ = add_household(db, "2-1-501", "王强", ID_WANG, risk_colour="red")
    persons.add(db, ids["wang"], {"name": "周艳红", "phone": "13812345678"})
    ids["zhouyun"], _ = add_household(db, "1-2-501", "周云")
    ids["shan"], _ = add_household(db, "2-2-102", "单丽")
    with db.write() as tx:
        tx.update("household", ids["shan"], {"number": "HLX-000777"})
    return db, ids


def _picked_households(db, text: str) -> set[str]:
    query = labour.residents_query(registry_search.person_condition(text))
    rows = query.page(db, [("household", "p.household_id")], "p.id", 1000, 0)
    return {r["household"] for r in rows}


def test_one_grammar_the_picker_finds_the_people_of_the_households_the_registry_finds(site):
    db, _ids = site
    for text in TEXTS:
        assert [t.kind for t in registry_search.parse(text)] == [
            registry_search.classify(w) for w in registry_search.words_of(text)]
        registry = set(registry_search.build(db, text).household_ids(db)) if text.strip() else set()
        assert _picked_households(db, text) == registry, text


def test_person_condition_reads_each_kind_of_word(site):
    db, ids = site
    assert _picked_households(db, "周艳") == {ids["zhouyan"], ids["wang"]}  # 周艳, and 周艳红 by prefix
    assert _picked_households(db, "艳红") == set()  # two characters: a name's start only, as in the registry
    assert _picked_households(db, "艳红x") == set()
    assert _picked_households(db, "hlx-000777") == {ids["shan"]}
    assert _picked_households(db, "2345") == {ids["wang"]}  # the phone of 周艳红
    assert registry_search.person_condition("") == Condition()
    assert _picked_households(db, "12") == set()  # building 12 (1–2 digits name a building): there is none


def test_residents_query_of_one_household_lists_its_members_before_anything_is_typed(site):
    db, ids = site
    assert labour.residents_query().count(db) == 0  # nothing typed: no list of the whole community
    assert labour.residents_query(household_id=ids["wang"]).count(db) == 2
    assert labour.residents_query(person("王"), household_id=ids["wang"]).count(db) == 1
    assert labour.residents_query(person("周云"), household_id=ids["wang"]).count(db) == 0


def _job(db, pid, start, end=None, kind="外出务工"):
    return employment.save_job(db, {"person_id": pid, "kind": kind, "start_date": start, "end_date": end,
                                    "destination": "浙江"})


def test_jobs_query_by_state_kind_person_and_search(site):
    db, ids = site
    zhou = db.scalar("SELECT id FROM person WHERE name = '周艳'")
    wang = db.scalar("SELECT id FROM person WHERE name = '王强'")
    today = dt.date.today()
    current = _job(db, zhou, (today - dt.timedelta(days=30)).isoformat())
    ended = _job(db, wang, "2020-01-01", "2021-01-01", kind="就近就业")
    r = labour.rules(db, today)

    def ids_of(**kw):
        q = employment.jobs_query(r, **kw)
        return set(q.ids(db, "e.start_date"))

    assert ids_of() == {current}
    assert ids_of(state="ended") == {ended}
    assert ids_of(state="all") == {current, ended}
    assert ids_of(state="all", kind="就近就业") == {ended}
    assert ids_of(state="all", person_id=wang) == {ended}
    assert ids_of(state="all", search=person("zy")) == {current}
    assert ids_of(state="all", search=person("2栋")) == {ended}
    with pytest.raises(ValueError):
        employment.jobs_query(r, state="later")
    # a removed person's jobs leave the list; the count (lean FROM) agrees with the ids
    persons.remove(db, wang)
    q = employment.jobs_query(r, state="all")
    assert q.count(db) == len(q.ids(db, "e.start_date"))


def test_open_intention_is_one_definition(site):
    db, _ids = site
    zhou = db.scalar("SELECT id FROM person WHERE name = '周艳'")
    wang = db.scalar("SELECT id FROM person WHERE name = '王强'")
    a = intentions.add(db, {"person_id": zhou, "kind": "就业", "job_kind": "电焊"})
    b = intentions.add(db, {"person_id": wang, "kind": "培训", "training_wanted": "家政"})
    intentions.close(db, b, dt.date.today().isoformat())
    c = intentions.add(db, {"person_id": wang, "kind": "创业"})
    with db.write() as tx:  # an older ledger's import stored an empty text for "not closed"
        tx.update("intention", c, {"closed_date": ""})

    def ids_of(**kw):
        return set(intentions.intentions_query(**kw).ids(db, "i.recorded_date"))

    assert ids_of() == {a, c}
    assert ids_of(state="closed") == {b}
    assert ids_of(state="all") == {a, b, c}
    assert ids_of(kind="创业") == {c}
    assert ids_of(state="all", search=person("王强")) == {b, c}
    assert {r["id"] for r in db.query(f"SELECT id FROM intention i WHERE {open_sql('i')}")} == {a, c}
    assert [i["id"] for i in intentions.open_for(db, wang)] == [c]
    intentions.close(db, c)  # "" counts as open for a write too
    assert intentions.intentions_query(state="closed").count(db) == 2
    today = dt.date.today()
    assert set(labour.ledger_ids(db, today, "open_intention")) <= {zhou, wang}
    with pytest.raises(ValueError):
        labour.ledger_ids(db, today, "everyone")


def test_courses_and_attendance_queries(site):
    db, _ids = site
    zhou = db.scalar("SELECT id FROM person WHERE name = '周艳'")
    cid = training.save_course(db, {"name": "2026年电焊班", "kind": "技能提升", "provider": "县人社局",
                                    "start_date": "2026-03-01", "hours": "8"}, [zhou])
    assert training.courses_query(search="人社").ids(db, "c.start_date") == [cid]
    assert training.courses_query(year="2025").count(db) == 0
    assert training.courses_query(year="2026").count(db) == 1
    assert training.attendance_query(None).count(db) == 0
    assert training.attendance_query(cid).count(db) == 1
    assert training.course(db, cid)["name"] == "2026年电焊班"


def test_list_query_pages_orders_and_rows_of_ids(site):
    db, _ids = site
    q = ListQuery("person p LEFT JOIN household h ON h.id = p.household_id", id_sql="p.id",
                  lean_from="person p").filtered(Condition("p.deleted = 0"))
    names = [r["name"] for r in q.page(db, [("name", "p.name")], "p.name_pinyin", 100, 0)]
    assert len(names) == q.count(db) == 5
    ids = q.ids(db, "p.name_pinyin")
    assert [r["name"] for r in q.rows_of(db, [("name", "p.name")], ids)] == names
    assert q.sort_ids(db, list(reversed(ids)), "p.name_pinyin") == ids
    assert q.narrowed(Condition("p.name = ?", ("周云",))).count(db) == 1
    assert q.ids(db, "p.name_pinyin", limit=2, offset=1) == ids[1:3]


def test_cases_query_is_the_case_filter(db):
    where, params = med.case_filter(search="张", open_only=True)
    q = med.cases_query(search="张", open_only=True)
    assert (q.where, list(q.params), q.id_sql) == (where, params, "c.id")
    assert q.count(db) == 0


def test_registry_export_view_is_what_is_seen(site):
    db, ids = site
    view = registry_search.residents_view(registry_search.build(db, "2栋"))
    assert view.ledger == "residents"
    rows = db.query("SELECT p.name FROM person p JOIN household h ON h.id = p.household_id "
                    f"WHERE {view.condition.sql} ORDER BY p.name", view.condition.params)
    assert sorted(r[0] for r in rows) == sorted(["王强", "周艳红", "单丽"])


def test_place_lookups_of_the_windows(site):
    db, ids = site
    b1, b2 = (r["id"] for r in places.buildings(db))
    assert [r["name"] for r in places.buildings(db)] == ["1栋", "2栋"]
    assert [r["name"] for r in places.grids(db)] == ["第1网格"]
    assert places.has_buildings(db) and places.building_name(db, b2) == "2栋"
    assert places.next_unit_number(db, b1) == 3
    assert [u["number"] for u in places.units_of(db, "building", b1)] == [1, 2]
    unit = places.units_of(db, "building", b2)[0]["id"]
    assert [u["id"] for u in places.units_of(db, "unit", unit)] == [unit]
    # 2-1-501 (王强) and 2-2-102 (单丽) live in building 2; unit 2-1 holds only 王强's household
    assert [(r["u"], r["r"], r["name"]) for r in places.households_at(db, "building", b2)] == [
        (1, "501", "王强"), (2, "102", "单丽")]
    assert [r["id"] for r in places.households_at(db, "unit", unit)] == [ids["wang"]]
    where = places.household_place(db, ids["wang"])
    assert (where["building_id"], where["u"], where["r"]) == (b2, 1, "501")
    room = households.get(db, ids["wang"]).room_id
    assert places.household_in_room(db, room) == ids["wang"]


def test_role_candidates_put_the_buildings_people_first(site):
    db, _ids = site
    community = db.scalar("SELECT id FROM community")
    b2 = places.buildings(db)[1]["id"]
    everyone = [r["name"] for r in places.role_candidates(db, "周", community)]
    assert everyone == ["周云", "周艳", "周艳红"]  # by name
    assert [r["name"] for r in places.role_candidates(db, "周", community, b2)] == ["周艳红", "周云", "周艳"]
    assert [r["name"] for r in places.role_candidates(db, "ZYH", community)] == ["周艳红"]  # pinyin initials
    assert places.role_candidates(db, "  ", community) == []


def test_person_and_household_lookups(site):
    db, ids = site
    head = households.head_of(db, ids["wang"])
    assert persons.name_of(db, head) == "王强" and persons.name_of(db, None) is None
    assert persons.registered_count(db) == 5
    assert households.origin_townships(db) == ["大湾镇"]
    assert households.any_household(db)
    assert [r["number"] for r in forms.find_households(db, "HLX", 10)] == ["HLX-000777"]
    assert {r["name"] for r in forms.find_persons(db, "zy", 10)} == {"周艳", "周云", "周艳红"}
    assert [r["name"] for r in forms.find_persons(db, ID_ZHOU[:14], 10)] == ["周艳"]  # an ID number's start
    assert forms.find_persons(db, "", 10) == []


def test_every_resident_search_reads_what_is_typed_alike(site):
    """The picker, the role search, the print dialog and the mediation party search find the same
    residents for the same words (one grammar: registry_search.person_condition)."""
    db, _ids = site
    community = db.scalar("SELECT id FROM community")
    for text in ("周", "zy", "zhouyan", "2-1-501", ID_ZHOU[:14], ID_ZHOU[-6:], "HLX-000777", "周 2-1"):
        picker = {r["id"] for r in db.query(
            f"SELECT p.id FROM {labour.PEOPLE_FROM} WHERE p.status = '在册' AND p.deleted = 0 AND "
            + registry_search.person_condition(text).sql, registry_search.person_condition(text).params)}
        assert picker, text  # each word finds someone, so the comparisons below can fail
        assert {r["id"] for r in places.role_candidates(db, text, community)} == picker, text
        assert {r["id"] for r in forms.find_persons(db, text, 100)} == picker, text
        assert {r["id"] for r in med.search_persons(db, text)} >= picker, text


def test_audit_pages_anchored_at_an_entry(db):
    from app.models.core import audit_view
    from app.models.core.audit_events import Action, Outcome, record_event
    from app.models.core.audit_view import AuditFilter

    record_event(db, Action.LOGIN, {"via": "cli"}, Outcome.OK)
    top = audit_view.latest_id(db)
    before = audit_view.count(db, AuditFilter(), upto=top)
    assert before >= 1
    record_event(db, Action.LOGIN, "密码错误", Outcome.FAILED, user="张三")  # written while the clerk pages
    assert audit_view.count(db, AuditFilter()) == before + 1
    assert audit_view.count(db, AuditFilter(), upto=top) == before
    assert len(audit_view.page(db, AuditFilter(), 0, 1000, upto=top)) == before


def _persons_of(db, cond: Condition) -> set[str]:
    return {r[0] for r in db.query(f"SELECT p.id FROM {labour.PEOPLE_FROM} WHERE p.deleted = 0 AND "
                                   + (cond.sql or "1"), cond.params)}


def test_a_broad_word_is_tested_per_person_and_finds_the_same_residents(site, monkeypatch):
    """A word nearly everyone shares ("532" heads every ID number) is written as a per-person test
    so lists stop after a page; it must find exactly whom the set form finds."""
    db, _ids = site
    assert registry_search.person_condition("532", db=db) == person("532")  # a few hits: the usual form
    monkeypatch.setattr(registry_search, "BROAD_HITS", 1)  # here every word is "broad"
    assert registry_search.is_broad(db, registry_search.parse("532")[0])
    assert registry_search.is_broad(db, registry_search.parse("hlx-000")[0])
    assert registry_search.is_broad(db, registry_search.parse("z")[0])
    assert "instr(upper(" in registry_search.person_condition("532", db=db).sql
    assert "+p.rowid" in registry_search.person_condition("zy", db=db).sql
    assert "EXISTS (SELECT 1 FROM household hx" in registry_search.person_condition("HLX-0007", db=db).sql
    assert "+p.household_id IN" in registry_search.person_condition("501", db=db).sql
    texts = [*TEXTS, "532", "5321", ID_ZHOU[:10], ID_ZHOU[:17] + "x", "hlx-0", "z", "zh", "z 532", "501 周"]
    found_some = 0
    for text in texts:
        usual = _persons_of(db, person(text))
        assert _persons_of(db, registry_search.person_condition(text, db=db)) == usual, text
        found_some += bool(usual)
    assert found_some > 20


def test_count_upto_stops_at_the_cap(site):
    db, _ids = site
    query = labour.residents_query(person("532"))  # every ID number of the site starts so
    everyone = query.count(db)
    assert everyone == 2
    assert query.count_upto(db, 1) == 1
    assert query.count_upto(db, 2) == 2
    assert query.count_upto(db, 10) == everyone
    assert labour.residents_query(person("z")).count_upto(db, 10) == 3  # 周艳 周艳红 周云


def test_the_resident_searches_find_the_same_people_for_a_broad_word(site, monkeypatch):
    """The role search, the print dialog and the mediation party search read a broad word per
    person too, and find whom they found before."""
    db, _ids = site
    community = db.scalar("SELECT id FROM community")
    texts = ("z", "zy", "532", ID_ZHOU[-6:], "HLX-000777", "周 2-1", "2345")
    before = {t: ({r["id"] for r in places.role_candidates(db, t, community)},
                  [r["id"] for r in forms.find_persons(db, t, 100)],
                  [r["id"] for r in med.search_persons(db, t)]) for t in texts}
    monkeypatch.setattr(registry_search, "BROAD_HITS", 1)
    for text in texts:
        assert before[text][1], text
        assert ({r["id"] for r in places.role_candidates(db, text, community)},
                [r["id"] for r in forms.find_persons(db, text, 100)],
                [r["id"] for r in med.search_persons(db, text)]) == before[text], text


def test_search_text_is_what_the_trigram_index_reads(site):
    """A broad digits word is tested on registry_search.search_text(p) instead of the trigram
    index: it must be the text the index holds, for every person, also after an edit."""
    db, ids = site
    pid = db.scalar("SELECT id FROM person WHERE name = '周云'")
    new_id = id_numbers.make("532128", dt.date(1990, 1, 1), 7, "男")
    persons.update(db, pid, {"phone": "13900001111", "id_number": new_id})
    rows = db.query(f"SELECT s.rid, {registry_search.search_text('p')} AS text FROM person p "
                    "JOIN person_search s ON s.person_id = p.id")
    assert len(rows) == 5
    for r in rows:  # the index keeps no text (m0040): each person's whole text is a phrase it finds
        phrase = '"' + r["text"].replace('"', '""') + '"'
        found = [x[0] for x in db.query("SELECT rowid FROM person_search_fts WHERE person_search_fts MATCH ?",
                                        (phrase,))]
        assert found == [r["rid"]], r["text"]

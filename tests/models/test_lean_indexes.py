"""m0032, m0037 and m0040: indexes nothing needs are gone, and the look-ups they served still use an index."""

from __future__ import annotations

from app.models.core.db import open_database
from app.models.migrations.m0032_drop_redundant_indexes import DROPPED
from app.models.registry import persons, registry_search
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site


def _plan(db, sql: str, params: tuple = ()) -> str:  # noqa: ANN001
    return " / ".join(r[3] for r in db.query("EXPLAIN QUERY PLAN " + sql, params))


def test_redundant_indexes_are_dropped_and_their_lookups_still_use_an_index(tmp_path):
    db = open_database(tmp_path / "a.db", user="甲")
    names = {r[0] for r in db.query("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    assert not names & set(DROPPED)
    # Each look-up a dropped index served is a search of the index that covers it.
    lookups = {
        "person_household_status": ("SELECT id FROM person WHERE household_id = ?", ("h",)),
        "person_by_name": ("SELECT household_id FROM person WHERE name = ?", ("张三",)),
        "person_by_initials": ("SELECT id FROM person WHERE name_initials GLOB ?", ("zs*",)),
        "employment_current": ("SELECT id FROM employment WHERE person_id = ?", ("p",)),
        "training_attendance_person_course": ("SELECT id FROM training_attendance WHERE person_id = ?", ("p",)),
    }
    for index, (sql, params) in lookups.items():
        assert "SEARCH" in _plan(db, sql, params) and index in _plan(db, sql, params), sql
    # The last-visit probe of the visit rhythm and the figures reads the one visit index alone.
    plan = _plan(db, "SELECT visit_date FROM visit WHERE household_id = ? AND deleted = 0 "
                     "ORDER BY visit_date DESC LIMIT 1", ("h",))
    assert "COVERING INDEX visit_household_date_deleted" in plan and "TEMP B-TREE" not in plan
    db.close()


def test_m0037_slims_the_search_and_visit_indexes_and_search_still_finds(tmp_path):
    db = open_database(tmp_path / "a.db", user="甲")
    names = {r[0] for r in db.query("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    assert not names & {"visit_date", "person_search_household", "person_name_cover",
                        "person_initials_cover", "person_pinyin_cover"}
    assert "visit_visitor_person" in names  # a foreign key's children are found by index
    # The labour-force count still reads its (now partial) covering index alone.
    from app.models.employment import labour
    r = labour.rules(db)
    plan = _plan(db, f"SELECT count(*) FROM person p WHERE {r.labour_where('p')}")
    assert "COVERING INDEX person_labour" in plan, plan
    # m0040: the search keeps only each person's integer key; the trigram index holds no text.
    assert [r[1] for r in db.query("PRAGMA table_info(person_search)")] == ["rid", "person_id"]
    assert "content=''" in db.scalar("SELECT sql FROM sqlite_schema WHERE name = 'person_search_fts'")
    # Only visits linked to a case are in the mediation index, and the case's look-up still uses it.
    assert "WHERE mediation_case_id IS NOT NULL" in db.scalar(
        "SELECT sql FROM sqlite_schema WHERE name = 'visit_mediation'")
    assert "visit_mediation" in _plan(db, "SELECT id FROM visit WHERE mediation_case_id = ? AND deleted = 0", ("c",))
    # The search's full-text branch reaches the person by primary key, never by a scan.
    plan = _plan(db, "SELECT ps.household_id FROM person_search_fts f JOIN person_search s ON s.rid = f.rowid "
                     "JOIN person ps ON ps.id = s.person_id WHERE person_search_fts MATCH ?", ('"5321"',))
    assert "SCAN ps" not in plan and "SCAN s" not in plan, plan

    rooms = make_site(db)
    hid, head = add_household(db, rooms["1-1-101"], "张三丰", ID_WANG)
    persons.update(db, head, {"phone": "13912345678"})
    persons.add(db, hid, {"name": "李四", "relation": "子"})
    add_household(db, rooms["1-1-102"], "王五", ID_ZHOU)
    for text in ("张三丰", "zsf", "zhangsanfeng", "196007", "45678", "13912345678", ID_WANG):
        assert registry_search.build(db, text).query().ids(db, "o.household_id") == [hid], text
    # A person's new phone, a move and a deletion reach the search through the new triggers.
    pid = db.scalar("SELECT id FROM person WHERE name = '李四'")
    persons.update(db, pid, {"phone": "13800001111"})
    assert registry_search.build(db, "00001111").query().ids(db, "o.household_id") == [hid]
    persons.update(db, pid, {"phone": "13800002222"})
    assert registry_search.build(db, "00001111").query().ids(db, "o.household_id") == []
    db.close()


def test_a_broad_search_walks_the_pinyin_index_for_its_order_and_fetches_rows_by_id(tmp_path, monkeypatch):
    # The pinyin index no longer covers the household, so SQLite would start a broad word's list
    # from the households and sort every match; the list names the index it walks instead.
    from app.models.employment import labour

    monkeypatch.setattr(registry_search, "BROAD_HITS", 1)  # every word counts as broad here
    db = open_database(tmp_path / "a.db", user="甲")
    rooms = make_site(db)
    hid, _ = add_household(db, rooms["1-1-101"], "张三丰", ID_WANG)
    add_household(db, rooms["1-1-102"], "王五", ID_ZHOU)
    cond = registry_search.person_condition("532128", db=db)
    assert cond.walk == "person_by_pinyin"
    q = labour.residents_query(cond)
    assert "INDEXED BY person_by_pinyin" in q.walk_from and "INDEXED BY" not in q.from_sql
    order = "p.name_pinyin"
    plan = _plan(db, f"SELECT p.id FROM {q._from_for(order)} WHERE {q.where} ORDER BY {order}", q.params)
    assert "SCAN p USING INDEX person_by_pinyin" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan
    ids = q.ids(db, order, 50)
    names = [r["name"] for r in q.rows_of(db, [("name", "p.name")], ids)]
    assert names == ["王五", "张三丰"]
    # One household's members: its own index serves, no walk over everyone.
    assert labour.residents_query(cond, household_id=hid).walk_from == ""
    db.close()


def test_m0040_fills_the_contentless_search_from_an_existing_file(tmp_path):
    from app.models.migrations import m0040_contentless_person_search as m0040

    db = open_database(tmp_path / "a.db", user="甲")
    rooms = make_site(db)
    hid, head = add_household(db, rooms["1-1-101"], "张三丰", ID_WANG)
    persons.update(db, head, {"phone": "13912345678"})
    other, _ = add_household(db, rooms["1-1-102"], "王五", ID_ZHOU)
    db.conn.execute("BEGIN IMMEDIATE")
    m0040.up(db.conn)  # as on a file written before it: the index is built from the rows
    db.conn.execute("COMMIT")
    assert db.scalar("SELECT count(*) FROM person_search") == db.scalar("SELECT count(*) FROM person")
    for text, want in (("45678", [hid]), (ID_ZHOU, [other]), ("张三丰", [hid])):
        assert registry_search.build(db, text).query().ids(db, "o.household_id") == want, text
    # Replacing and removing by rowid alone keeps the index whole.
    persons.update(db, head, {"phone": "13800001111"})
    assert registry_search.build(db, "45678").query().ids(db, "o.household_id") == []
    assert registry_search.build(db, "00001111").query().ids(db, "o.household_id") == [hid]
    db.conn.execute("INSERT INTO person_search_fts(person_search_fts, rank) VALUES ('integrity-check', 0)")
    db.close()


def test_m0042_audit_history_look_ups_still_use_the_row_index(tmp_path):
    from app.models.core import audit

    db = open_database(tmp_path / "a.db", user="甲")
    rooms = make_site(db)
    hid, head = add_household(db, rooms["1-1-101"], "张三丰", ID_WANG)
    names = {r[0] for r in db.query("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    assert "audit_log_op" not in names
    for table in audit.ROW_HISTORY_TABLES:
        plan = _plan(db, f"SELECT user FROM audit_log WHERE tbl = '{table}' AND row_id = ? ORDER BY id DESC LIMIT 1",
                     ("x",))
        assert "audit_log_row" in plan, plan
    plan = _plan(db, "SELECT id FROM audit_log WHERE tbl = 'household' AND row_id = ? UNION ALL "
                     "SELECT id FROM audit_log WHERE tbl = 'person' AND row_id IN (SELECT id FROM person "
                     "WHERE household_id = ?)", ("h", "h"))
    assert "SCAN audit_log" not in plan, plan
    assert audit.last_change(db, "household", hid) is not None
    assert audit.last_change(db, "person", head) is not None
    assert len(audit.household_history(db, hid)) >= 2
    db.close()

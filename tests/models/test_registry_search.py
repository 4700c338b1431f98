"""Registry search: each kind of key finds the right households, best matches first; filters; export WHERE."""

from __future__ import annotations

import pytest

from app.models.registry import households, persons, registry_search
from app.models.registry.registry_search import Filters
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site


@pytest.fixture
def site(db):
    rooms = make_site(db)
    ids = {}
    ids["zhouyan"], _ = add_household(db, "1-1-101", "周艳", ID_ZHOU, tag_dibao=True)
    ids["wang"], _ = add_household(db, "2-1-501", "王强", ID_WANG, risk_colour="red")
    persons.add(db, ids["wang"], {"name": "周艳红", "phone": "13812345678", "sg_disabled": True})
    ids["zhouyun"], _ = add_household(db, "1-2-501", "周云")
    ids["shan"], _ = add_household(db, "2-2-102", "单丽")
    return db, ids, rooms


def found(db, text, **filters):
    return registry_search.build(db, text, Filters(**filters)).household_ids(db)


def test_empty_search_lists_all_in_address_order(site):
    db, ids, _ = site
    assert found(db, "") == [ids["zhouyan"], ids["zhouyun"], ids["wang"], ids["shan"]]


def test_name_prefix_exact_match_first(site):
    db, ids, _ = site
    assert found(db, "周艳") == [ids["zhouyan"], ids["wang"]]  # 周艳 exact, then 周艳红
    assert set(found(db, "周")) == {ids["zhouyan"], ids["wang"], ids["zhouyun"]}
    assert found(db, "周艳红") == [ids["wang"]]


def test_pinyin_initials_and_full_pinyin(site):
    db, ids, _ = site
    result = found(db, "zy")
    assert result[:2] == [ids["zhouyan"], ids["zhouyun"]]  # exact initials "zy" rank before "zyh"
    assert set(result) == {ids["zhouyan"], ids["zhouyun"], ids["wang"]}
    assert found(db, "ZYH") == [ids["wang"]]
    assert found(db, "zhouyun") == [ids["zhouyun"]]
    assert found(db, "shanl") == [ids["shan"]]  # 单 read as the surname Shan


def test_id_number_fragments_full_and_phone(site):
    db, ids, _ = site
    assert found(db, ID_ZHOU) == [ids["zhouyan"]]
    assert found(db, ID_ZHOU.lower()) == [ids["zhouyan"]]
    assert ids["zhouyan"] in found(db, ID_ZHOU[-6:])
    assert found(db, "13812345678") == [ids["wang"]]
    assert ids["wang"] in found(db, "2345")


def test_address_forms(site):
    db, ids, _ = site
    assert found(db, "1-2-501") == [ids["zhouyun"]]
    assert found(db, "1栋2单元501") == [ids["zhouyun"]]
    assert found(db, "2栋") == [ids["wang"], ids["shan"]]
    assert found(db, "1-1") == [ids["zhouyan"]]
    assert set(found(db, "501")) == {ids["zhouyun"], ids["wang"]}
    assert found(db, "9-9-999") == []


def test_several_words_must_all_match(site):
    db, ids, _ = site
    assert found(db, "周 2栋") == [ids["wang"]]
    assert found(db, "zy 1-2") == [ids["zhouyun"]]


def test_filters(site):
    db, ids, _ = site
    assert found(db, "", risk_colour="red") == [ids["wang"]]
    assert found(db, "", tag="低保") == [ids["zhouyan"]]
    assert found(db, "", special_group="sg_disabled") == [ids["wang"]]
    assert found(db, "周", special_group="sg_disabled") == [ids["wang"]]
    grid_id = db.scalar("SELECT id FROM grid")
    assert set(found(db, "", grid_id=grid_id)) == {ids["zhouyan"], ids["zhouyun"]}
    building2 = db.scalar("SELECT id FROM building WHERE number = 2")
    assert found(db, "", building_id=building2) == [ids["wang"], ids["shan"]]
    assert found(db, "", origin_township="大湾镇", labour_ability="全") == found(db, "")
    # labour force needs a known age within 16..60: only 周艳 (1985) qualifies; 王强 (1960) is too old
    assert found(db, "", tag=households.ZERO_EMPLOYMENT) == [ids["zhouyan"]]


def test_deleted_and_gone_households(site):
    db, ids, _ = site
    households.delete(db, ids["shan"])
    households.update(db, ids["zhouyun"], {"status": "迁出"})
    assert found(db, "") == [ids["zhouyan"], ids["wang"]]
    assert found(db, "", include_gone=True) == [ids["zhouyan"], ids["zhouyun"], ids["wang"]]


def test_search_follows_edits(site):
    db, ids, _ = site
    pid = persons.members(db, ids["shan"])[0].id
    persons.update(db, pid, {"name": "曾丽", "phone": "13900001111"})
    assert found(db, "zl") == [ids["shan"]]
    assert found(db, "00001111") == [ids["shan"]]
    assert found(db, "单丽") == []
    persons.remove(db, pid)
    assert found(db, "曾丽") == []


def test_count_matches_ids_and_export_where(site):
    db, ids, _ = site
    search = registry_search.build(db, "周")
    assert search.count(db) == 3
    where, params = registry_search.persons_where(search)
    rows = db.query(
        "SELECT p.name FROM person p JOIN household h ON h.id = p.household_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        f"WHERE {where} ORDER BY p.name", params)
    assert sorted(r[0] for r in rows) == sorted(["周艳", "王强", "周艳红", "周云"])


@pytest.mark.parametrize("text", ["'; DROP TABLE person; --", '"周', "%", "_", "😀", "x" * 10000, "=1+1", "  "])
def test_odd_input_never_breaks_the_query(site, text):
    db, _, _ = site
    search = registry_search.build(db, text)
    assert search.count(db) == len(search.household_ids(db))


def test_household_number(site):
    db, ids, _ = site
    number = db.scalar("SELECT number FROM household WHERE id = ?", (ids["wang"],))
    assert found(db, number) == [ids["wang"]]
    with db.write() as tx:
        tx.update("household", ids["shan"], {"number": "HLX-000777"})
    assert found(db, "hlx-000777") == [ids["shan"]]
    assert found(db, "HLX-0007") == [ids["shan"]]

"""The resident picker of every ledger, driven as a clerk does: type, ↓, Enter; a word that matches
more residents than the list holds says so and lists the first ones."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models.registry import persons, registry_search
from app.ui.employment.person_picker import PersonPicker
from tests.builders.registry import ID_WANG, ID_ZHOU, add_household, make_site


@pytest.fixture
def picker(qtbot, db, monkeypatch):
    make_site(db)
    add_household(db, "1-1-101", "周艳", ID_ZHOU)
    wang, _ = add_household(db, "2-1-501", "王强", ID_WANG)
    persons.add(db, wang, {"name": "周艳红", "phone": "13812345678"})
    add_household(db, "1-2-501", "周云")
    add_household(db, "2-2-102", "张伟")
    add_household(db, "1-1-102", "赵磊")
    # The same lists as at 100,000 residents, with a list of 3 and every word counted "broad".
    monkeypatch.setattr(registry_search, "MATCH_CAP", 3)
    monkeypatch.setattr(registry_search, "BROAD_HITS", 1)
    widget = PersonPicker(db)
    qtbot.addWidget(widget)
    widget.show()
    widget.search.setFocus()
    return widget


def _listed(picker: PersonPicker) -> list[str]:
    return [picker.model.row(i)["name"] for i in range(picker.model.rowCount())]


def _chosen(picker: PersonPicker) -> list[str]:
    return [picker.chosen.item(i).text().split()[0] for i in range(picker.chosen.count())]


def test_a_broad_word_lists_the_first_residents_by_pinyin_and_asks_for_more(qtbot, picker, messages):
    qtbot.keyClicks(picker.search, "z")  # 5 residents' pinyin starts with z; the list holds 3
    qtbot.waitUntil(lambda: "超过" in picker.result_count.text())
    assert picker.result_count.text() == "找到超过 3 人，只列出前 3 人；请多输入几个字缩小范围"
    assert _listed(picker) == ["张伟", "赵磊", "周艳"]  # zhangwei, zhaolei, zhouyan: the first in pinyin order
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert _chosen(picker) == ["赵磊"]
    # "全部添加" of a list that is not every result is refused, saying why.
    picker.add_all_button.click()
    assert messages.texts("info") == ["查找结果超过 3 人，请把条件写得更具体（最多一次添加 500 人）。"]
    assert _chosen(picker) == ["赵磊"]
    # More letters: every match is listed and counted, and "全部添加" adds them all.
    qtbot.keyClick(picker.search, Qt.Key.Key_End)  # Enter selected what was typed
    qtbot.keyClicks(picker.search, "y")  # "zy": 周艳, 周艳红, 周云 (pinyin initials)
    qtbot.waitUntil(lambda: picker.result_count.text().startswith("找到 3 人"))
    assert not picker.model.capped
    assert _listed(picker) == ["周艳", "周艳红", "周云"]
    picker.add_all_button.click()
    assert _chosen(picker) == ["赵磊", "周艳", "周艳红", "周云"]


def test_an_id_number_head_everyone_shares_finds_the_same_residents_and_enter_adds_one(qtbot, picker):
    qtbot.keyClicks(picker.search, ID_ZHOU[:6])  # the county's region code heads both ID numbers
    qtbot.waitUntil(lambda: picker.result_count.text().startswith("找到 2 人"))
    assert "instr(upper(" in picker.model.query.where  # read per person, as a broad word is
    assert _listed(picker) == ["王强", "周艳"]
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert _chosen(picker) == ["王强"]
    picker.search.clear()
    qtbot.keyClicks(picker.search, ID_ZHOU[-4:])
    qtbot.waitUntil(lambda: picker.result_count.text().startswith("找到 1 人"))
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert _chosen(picker) == ["王强", "周艳"]

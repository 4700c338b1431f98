"""A county ledger through the import dialog as a clerk does it: map the columns the program does
not know, see the households it will form, import, and find them in the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.excel.import_dialog import ImportDialog
from app.ui.registry.registry_tab import RegistryTab
from tests.builders.excel import county_office, pid, write_sheet
from tests.builders.ui import window_context

SHOTS = Path("/tmp")
HEADER = ["序号", "成员名称", "家庭关系", "身份号", "民族", "出生日期", "安置地址", "健康状况"]


def _ledger(path: Path, start: int = 0) -> Path:
    rows = [HEADER,
            [1, "张三", "户主", pid((1985, 3, 12), start + 1, "男"), "苗", "1985.03.12", "红路馨居社区5栋1单元501室", "健康"],
            [2, "李四", "妻", pid((1987, 4, 15), start + 2, "女"), "苗族", "1987年4月15日", None, "健康"],
            [3, "张小", "长子", pid((2010, 1, 1), start + 3, "男"), "汉", 20100101, None, "健康"],
            [None] * 8,
            [4, "王五", "本人", pid((1970, 1, 1), start + 4, "男"), "彝", "1970/1/1", "6栋302", "残疾"]]
    return write_sheet(path, rows, title_rows=2, merge_title=True)


@pytest.fixture
def ctx(db):
    county_office(db)
    with window_context(db) as c:
        yield c


def test_mapping_step_then_households_formed_and_shown_in_the_registry(qtbot, ctx, db, tmp_path, monkeypatch, messages):
    dialog = ImportDialog(ctx, _ledger(tmp_path / "county.xlsx"))
    qtbot.addWidget(dialog)
    dialog.resize(1100, 680)
    dialog.show()
    # No header the program knows (no 姓名): the mapping step opens on the likeliest row.
    qtbot.waitUntil(lambda: dialog.mapping_apply.isEnabled(), timeout=20000)
    assert dialog.plan is None and dialog.pages.currentIndex() == 3
    assert "认不出第 3 行的表头" in dialog.mapping_note.text()
    for column, label in ((1, "姓名"), (3, "身份证号"), (7, "忽略")):
        combo = dialog.findChild(type(dialog.mapping_table.cellWidget(0, 3)), f"importMappingCombo{column}")
        combo.setCurrentIndex(combo.findText(label))
    assert dialog.mapping()["家庭关系"] == "relation"  # the aliases it knows are chosen already
    dialog.grab().save(str(SHOTS / "county_mapping_step.png"))
    qtbot.mouseClick(dialog.mapping_apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    plan = dialog.plan
    assert plan.counts == {"new": 4, "updated": 0, "unchanged": 0, "errors": 0}, [e.message() for e in plan.errors]
    assert dialog.pages.currentIndex() == 2 and "户主/本人" in dialog.summary.text()
    assert dialog.households_model.rows == [
        ("HLX-000001", "5栋1单元501", "张三", 3, 4, "", "第 4 行的户主 张三"),
        ("HLX-000002", "6栋1单元302", "王五", 1, 8, "", "第 8 行的户主 王五")]
    assert dialog.changes_model.rows[1][5] == "第 4 行的户主 张三 → 新建户 HLX-000001"
    dialog.grab().save(str(SHOTS / "county_preview_households.png"))

    messages.answer(True)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert messages.asked[0].startswith("将新建 2 户、新增 4 人、更新 0 人")

    registry = RegistryTab(ctx)
    qtbot.addWidget(registry)
    registry.resize(1300, 600)
    registry.show()
    qtbot.waitUntil(lambda: registry.model.rowCount() == 2, timeout=20000)
    shown = {(registry.model.data(registry.model.index(r, 0)), registry.model.data(registry.model.index(r, 2)),
              registry.model.data(registry.model.index(r, 3)), registry.model.data(registry.model.index(r, 4)))
             for r in range(2)}
    assert shown == {("HLX-000001", "5栋1单元501", "张三", "3"), ("HLX-000002", "6栋1单元302", "王五", "1")}

    # A second file with the same header row: the mapping is remembered, no step needed.
    again = ImportDialog(ctx, _ledger(tmp_path / "county2.xlsx", start=10))
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.plan is not None or again.mapping_apply.isEnabled(), timeout=20000)
    qtbot.waitUntil(lambda: again.plan is not None, timeout=20000)
    assert again.plan.ignored_headers == [] and again.plan.columns["name"] == 1


def test_a_whole_office_workbook_through_the_dialog(qtbot, ctx, db, tmp_path, monkeypatch, messages):
    households_sheet = [["户编号", "户主姓名", "人口数", "楼栋", "单元", "房号", "迁出乡镇"],
                        ["N-1", "张三", 2, "5栋", 1, "501", "大坪镇"]]
    residents_sheet = [["户编号", "姓名", "身份证号", "与户主关系"],
                       ["N-1", "张三", pid((1985, 3, 12), 1, "男"), "户主"], ["N-1", "李四", pid((1987, 4, 15), 2, "女"), "妻"]]
    path = write_sheet(tmp_path / "office.xlsx", households_sheet, sheet="搬迁户台账", more={"居民花名册": residents_sheet})
    dialog = ImportDialog(ctx, path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert "先导入户——新增 1 户" in dialog.summary.text() and dialog.plan.counts["new"] == 2
    assert db.scalar("SELECT count(*) FROM household") == 0
    messages.answer(True)
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert db.scalar("SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id "
                     "WHERE h.number = 'N-1' AND h.origin_township = '大坪镇'") == 2


def test_missing_places_listed_then_created_with_the_checkbox(qtbot, ctx, db, tmp_path):
    rows = [["姓名", "与户主关系", "身份证号码", "安置地址"],
            ["张三", "户主", pid((1985, 3, 12), 1, "男"), "12栋1单元501"], ["李四", "妻", pid((1987, 4, 15), 2, "女"), None]]
    dialog = ImportDialog(ctx, write_sheet(tmp_path / "new_building.xlsx", rows))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=20000)
    assert dialog.plan.counts["errors"] == 2 and "12栋：1 行" in dialog.summary.text()
    dialog.create_places.setChecked(True)  # the preview runs again at once
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.places_new == 3, timeout=20000)
    assert dialog.plan.counts == {"new": 2, "updated": 0, "unchanged": 0, "errors": 0}
    assert "将一并创建" in dialog.summary.text()

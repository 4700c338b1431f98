"""Dates and ethnicity typed in the dialogs the way counties write them: the one date parser and
the 56 official names, as in the Excel import."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from app.models.core.errors import ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.places import visits
from app.models.registry import households, persons
from app.ui.registry.person_dialog import PersonDialog
from tests.builders.excel import county_office
from tests.builders.ui import window_context


@pytest.mark.parametrize("typed", ["1985-03-12", "1985.3.12", "1985/3/12", "1985年3月12日", "19850312", " 1985-03-12 "])
def test_every_date_field_reads_every_common_form(typed):
    assert persons.clean_date(typed, "birth_date", "出生日期") == "1985-03-12"
    assert entered_iso_date(typed, "开始日期") == "1985-03-12"
    assert visits._parse_date(typed) == dt.date(1985, 3, 12)


def test_a_wrong_date_names_the_forms_that_work():
    with pytest.raises(ValidationError, match="2024年3月5日"):
        persons.clean_date("三月十二", "birth_date", "出生日期")


def test_person_dialog_types_county_values(qtbot, db, db_path):
    county_office(db)
    hid = households.create(db, {}, room="5-1-501")
    with window_context(db) as ctx:
        dialog = PersonDialog(ctx, hid)
        qtbot.addWidget(dialog)
        dialog.show()
        assert dialog.ethnicity.count() == 58  # blank, the 56 names, 其他
        dialog.name.setText("张三")
        dialog.birth.setText("1985年3月12日")
        dialog.ethnicity.setEditText("苗")
        dialog.relation.setEditText("本人")
        qtbot.mouseClick(dialog.findChild(type(dialog.buttons.buttons()[0]), "personSaveButton"),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.saved_id is not None, timeout=10000)
        p = persons.get(db, dialog.saved_id)
        assert (p.birth_date, p.ethnicity, p.relation) == ("1985-03-12", "苗族", "户主")
        with pytest.raises(ValidationError, match="布依族"):
            persons.check({"name": "李四", "ethnicity": "布衣"})

"""Choosing one session's sign-in sheet in the 打印 menu's chooser, and from the course dialog."""

from __future__ import annotations

import pytest

from app.models.core.db import open_database
from app.models.employment import training
from app.ui.printing import printing
from tests.builders.labour import build_community
from tests.builders.ui import window_context


@pytest.fixture
def ctx(tmp_path):
    db = open_database(tmp_path / "office.db", user="测试员")
    ids = build_community(db)
    people = [ids["甲"], ids["乙"], ids["己"]]
    training.save_course_sessions(db, {"name": "电焊", "kind": "技能提升", "start_date": "2026-03-02",
                                       "with_certificate": 1, "certificate_name": "焊工证"}, people, [
        training.SessionInput("2026-03-02", 4, id=training.sessions(db, ids["c1"])[0]["id"]),
        training.SessionInput("2026-03-03", 4, topic="实操", present={ids["甲"]}),
    ], course_id=ids["c1"])
    with window_context(db) as context:
        context.ids = ids  # type: ignore[attr-defined]
        yield context
    db.close()


def test_the_chooser_offers_the_courses_sessions(qtbot, ctx, monkeypatch):
    from app.ui.printing.print_menu import PrintChooser

    calls = []
    monkeypatch.setattr(printing, "preview_form", lambda _ctx, form, _parent, **sel: calls.append((form, sel)))
    chooser = PrintChooser(ctx, "training-attendance")
    qtbot.addWidget(chooser)
    course = chooser.course_combo
    course.setCurrentIndex(course.findData(ctx.ids["c1"]))
    sessions = chooser.session_combo
    assert sessions.count() == 3  # 全部课次, then the newest first
    assert sessions.itemText(0).startswith("全部课次") and sessions.itemText(1).startswith("第2次 2026-03-03")
    first, second = training.sessions(ctx.db, ctx.ids["c1"])
    assert sessions.currentData() == second["id"]
    chooser.preview_button.click()
    assert calls[-1] == ("training-attendance", {"course": ctx.ids["c1"], "session": second["id"]})
    sessions.setCurrentIndex(0)
    chooser.preview_button.click()
    assert calls[-1] == ("training-attendance", {"course": ctx.ids["c1"]})
    assert printing.PrintJob.select(ctx.db, "training-attendance", calls[-1][1]).record_ids == [first["id"], second["id"]]


def test_the_course_dialog_prints_the_session_under_the_cursor(qtbot, ctx, monkeypatch):
    from app.ui.employment.training_dialogs import CourseDialog

    calls = []
    monkeypatch.setattr(printing, "preview_form", lambda _ctx, form, _parent, **sel: calls.append((form, sel)))
    dialog = CourseDialog(ctx, course_id=ctx.ids["c1"])
    qtbot.addWidget(dialog)
    dialog.grid.setCurrentCell(0, 1)
    dialog.print_sheet_button.click()
    assert calls == [("training-attendance", {"session": training.sessions(ctx.db, ctx.ids["c1"])[1]["id"]})]


def test_two_sessions_at_one_time_are_asked_about_and_hours_are_checked(qtbot, ctx, messages):
    from app.ui.employment.training_dialogs import CourseDialog

    messages.answer(False, True)
    dialog = CourseDialog(ctx, course_id=ctx.ids["c1"])
    qtbot.addWidget(dialog)
    table = dialog.sessions_table
    table.item(1, 0).setText("2026-03-02")  # the second session moved onto the first one's day
    table.item(1, 3).setText("30")
    dialog.save()
    assert "一天最多 24 学时" in messages.texts()[-1] and dialog.tabs.currentWidget() is dialog.sessions_page
    table.item(1, 3).setText("4")
    dialog.save()
    assert "第 1 次课和第 2 次课都在 2026-03-02（未填时间）" in messages.texts()[-1] and dialog.result() == 0
    assert training.sessions(ctx.db, ctx.ids["c1"])[1]["session_date"] == "2026-03-03"  # "No": nothing saved
    dialog.save()
    assert dialog.result() == 1
    assert [s["session_date"] for s in training.sessions(ctx.db, ctx.ids["c1"])] == ["2026-03-02", "2026-03-02"]

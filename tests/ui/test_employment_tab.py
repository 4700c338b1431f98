"""The employment tab through the clerk's hands: figures, a job clearing a zero-employment household, a course."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.models.core.db import open_database
from app.models.employment import labour, training
from app.ui.employment.employment_dialogs import JobDialog
from app.ui.employment.training_dialogs import CourseDialog
from tests.builders.labour import build_community
from tests.builders.ui import window_context


@pytest.fixture
def ctx(tmp_path):
    db = open_database(tmp_path / "office.db", user="测试员")
    build_community(db)
    with window_context(db) as context:
        yield context
    db.close()


@pytest.fixture
def tab(qtbot, ctx):
    from app.ui.employment.employment_tab import EmploymentTab

    widget = EmploymentTab(ctx)  # closed here, not by qtbot: its recount must land first
    widget.resize(1300, 800)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.figures is not None and not widget._figures_running, timeout=10000)
    yield widget
    # A recount started by the test's last write must land before the tab is closed.
    qtbot.waitUntil(lambda: not widget._figures_running, timeout=10000)
    widget.ctx.runner.wait_idle()
    qtbot.wait(10)
    widget.close()
    widget.deleteLater()
    qtbot.wait(10)


def wait_figures(qtbot, tab, expect):
    qtbot.waitUntil(lambda: tab.figures is not None and not tab._figures_running and expect(tab.figures),
                    timeout=10000)


def test_tab_shows_figures_and_ledger(qtbot, tab, ctx):
    today = dt.date.today()
    expected = labour.compute_figures(ctx.db, today)
    qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
    assert tab.objectName() == "employmentTab"
    table = tab.findChild(type(tab.table), "employmentTable")
    assert table is tab.table
    assert tab.ledger_model.rowCount() == expected.labour_force
    btn = tab.figure_buttons["zero_employment_households"]
    assert btn.text().startswith(str(expected.zero_employment_households))
    assert "零就业家庭" in btn.toolTip() and "有劳动力" in btn.toolTip()
    assert "%" in tab.figure_buttons["employment_rate"].text()


def test_ledger_search_by_initials_and_room(qtbot, tab):
    qtbot.keyClicks(tab.ledger_search, "1-1-104")
    tab.apply_filters()
    qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
    names = {tab.ledger_model.row(i)["name"] for i in range(tab.ledger_model.rowCount())}
    assert names <= {"子", "寅"} and "子" in names
    assert tab.ledger_count.text() == f"共 {len(names)} 人"
    tab.ledger_search.clear()
    tab.ledger_filter.setCurrentIndex(2)  # 未就业
    tab.apply_filters()
    qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
    rows = [tab.ledger_model.row(i) for i in range(tab.ledger_model.rowCount())]
    assert rows and all(not r["current_job"] for r in rows)
    unemployed = {r["name"] for r in rows}
    # each filter, with and without a search, shows what its SQL definition selects
    for which in range(tab.ledger_filter.count()):
        for text in ("", "1-1", "y"):
            tab.ledger_filter.setCurrentIndex(which)
            tab.ledger_search.setText(text)
            tab.apply_filters()
            qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
            shown = [tab.ledger_model.row_id(i) for i in range(tab.ledger_model.rowCount())]
            from app.ui.employment.employment_tab import (
                ledger_ids,  # the worker function, here on the test thread
            )

            assert shown == ledger_ids(tab.ctx.db, tab.rules.today, which, text)
    tab.ledger_filter.setCurrentIndex(1)  # 已就业: nobody of the unemployed
    tab.ledger_search.clear()
    tab.apply_filters()
    qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
    employed = {tab.ledger_model.row(i)["name"] for i in range(tab.ledger_model.rowCount())}
    assert employed and not employed & unemployed


def test_entering_a_job_shrinks_the_zero_employment_list(qtbot, tab, ctx, monkeypatch, messages):
    dialog = tab.open_figure("zero_employment_households")  # a child of the tab, deleted on close
    qtbot.waitUntil(lambda: dialog.ready, timeout=10000)
    assert dialog.model.rowCount() == 1
    assert dialog.model.row(0)["number"] == "H4"
    before = tab.figures.zero_employment_households

    def fill_and_save(job_dialog):
        # The household's members are listed; pick 子 with the keyboard, then fill the form.
        job_dialog.picker.search.setFocus()
        qtbot.keyClicks(job_dialog.picker.search, "zi")  # pinyin of 子
        job_dialog.picker.apply_search()
        assert job_dialog.current_person_id() is not None
        qtbot.keyClick(job_dialog.picker.search, Qt.Key.Key_Return)  # moves on to the form, saves nothing
        assert job_dialog.result() == 0 and job_dialog.saved_id is None
        job_dialog.kind.setCurrentText("就近就业")
        job_dialog.sub_kind.setCurrentText("帮扶车间")
        job_dialog.employer.setText("扶贫鞋厂")
        job_dialog.start_date.setText(dt.date.today().isoformat())
        job_dialog.income.setText("2600.50")
        job_dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        return job_dialog.result()

    monkeypatch.setattr(JobDialog, "exec", fill_and_save)
    dialog.table.selectRow(0)
    dialog.job_button.click()
    assert messages.said == []
    # The open list follows at once (动态清零) …
    qtbot.waitUntil(lambda: dialog.ready and dialog.model.rowCount() == 0, timeout=10000)
    assert "0 户" in dialog.count_label.text()
    # … and the figure on the tab after the background recount.
    wait_figures(qtbot, tab, lambda f: f.zero_employment_households == before - 1)
    assert tab.figure_buttons["zero_employment_households"].text().startswith(str(before - 1))
    row = ctx.db.one("SELECT * FROM employment WHERE employer = '扶贫鞋厂'")
    assert row["monthly_income_fen"] == 260050
    dialog.close()


def test_bad_job_input_is_refused_with_a_message(qtbot, tab, ctx, monkeypatch, messages):
    person = ctx.db.scalar("SELECT id FROM person WHERE name = '子'")
    dialog = JobDialog(ctx, person_id=person)
    qtbot.addWidget(dialog)
    before = ctx.db.scalar("SELECT count(*) FROM employment")
    dialog.income.setText("-300")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert messages.said and "负数" in messages.said[-1]
    dialog.income.setText("3000")
    dialog.start_date.setText("2026-05-01")
    dialog.end_date.setText("2026-04-01")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert "早于开始日期" in messages.said[-1]
    assert ctx.db.scalar("SELECT count(*) FROM employment") == before
    assert dialog.result() == 0


def test_overlapping_job_asks_first(qtbot, tab, ctx, monkeypatch, messages):
    person = ctx.db.scalar("SELECT id FROM person WHERE name = '甲'")
    messages.answer(False, True)
    dialog = JobDialog(ctx, person_id=person)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentText("灵活就业")
    dialog.start_date.setText("2026-01-01")
    before = ctx.db.scalar("SELECT count(*) FROM employment")
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    save.click()
    assert "已有工作" in messages.asked[0]
    assert ctx.db.scalar("SELECT count(*) FROM employment") == before
    save.click()
    assert ctx.db.scalar("SELECT count(*) FROM employment") == before + 1


def test_entering_a_course_for_several_people(qtbot, tab, ctx, monkeypatch, messages):
    today = dt.date.today()
    year_before = labour.compute_figures(ctx.db, today).training_person_times_year

    def fill_and_save(course):
        course.name.setText("2026年第1期中式烹调")
        course.kind.setCurrentText("技能提升")
        course.provider.setText("县人社局")
        course.start_date.setText(today.isoformat())
        course.sessions_table.item(0, 0).setText(today.isoformat())
        course.sessions_table.item(0, 3).setText("6")
        course.with_certificate.setChecked(True)
        course.certificate_name.setText("中式烹调师（五级）")
        search = course.picker.search
        for name in ("jia", "yi", "zi"):  # 甲, 乙 (before 寅 yin), 子 — typed as pinyin
            search.selectAll()
            qtbot.keyClicks(search, name)
            course.picker.apply_search()
            qtbot.keyClick(search, Qt.Key.Key_Return)
        # a whole stairwell at once, then a pasted sign-in list (甲 again: kept once)
        search.selectAll()
        qtbot.keyClicks(search, "1-1-201")
        course.picker.apply_search()
        course.picker.add_all_button.click()
        course.picker.add_pasted("己\n甲")
        assert course.picker.chosen.count() == 7  # 甲 乙 子 + 卯 辰 巳 (201) + 己
        course.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
        return course.result()

    monkeypatch.setattr(CourseDialog, "exec", fill_and_save)
    tab.inner.setCurrentIndex(2)
    tab.course_new_button.click()
    assert messages.said == []
    assert tab.courses_model.rowCount() == 3
    course_id = ctx.db.scalar("SELECT id FROM training_course WHERE name = '2026年第1期中式烹调'")
    assert len(training.participants(ctx.db, course_id)) == 7
    wait_figures(qtbot, tab, lambda f: f.training_person_times_year == year_before + 7)
    # choosing the course lists its people
    for r in range(tab.courses_model.rowCount()):
        if tab.courses_model.row_id(r) == course_id:
            tab.training_table.selectRow(r)
    assert tab.attendance_model.rowCount() == 7
    assert "7 人" in tab.attendance_title.text()
    assert tab.selected_course_id() == course_id


def test_course_with_someone_who_moved_away_saves_nothing(qtbot, tab, ctx, messages):
    dialog = CourseDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.name.setText("电工")
    dialog.start_date.setText("2026-11-01")
    gone = ctx.db.scalar("SELECT id FROM person WHERE name = '戊'")
    here = ctx.db.scalar("SELECT id FROM person WHERE name = '甲'")
    dialog.picker.add_ids([here])
    dialog.picker._add(gone, "戊")  # as if picked before the move was recorded
    dialog.sessions_table.item(0, 3).setText("4")
    before = ctx.db.scalar("SELECT count(*) FROM training_course")
    dialog.save()
    assert "戊" in messages.said[-1] and "迁出" in messages.said[-1]
    assert ctx.db.scalar("SELECT count(*) FROM training_course") == before
    assert dialog.result() == 0


def test_every_figure_opens_its_list(qtbot, tab):
    for key in labour.PEOPLE_FIGURES + labour.HOUSEHOLD_FIGURES + labour.ATTENDANCE_FIGURES:
        dialog = tab.open_figure(key)
        qtbot.waitUntil(lambda d=dialog: d.ready, timeout=10000)
        assert dialog.model.rowCount() == getattr(tab.figures, key), key
        assert dialog.model.row(0) is not None or dialog.model.rowCount() == 0
        dialog.close()


def test_ending_and_deleting_a_job_from_the_job_ledger(qtbot, tab, ctx, monkeypatch, messages):
    from PySide6.QtWidgets import QInputDialog

    tab.inner.setCurrentIndex(1)
    tab.jobs_state.setCurrentIndex(2)  # 全部
    tab.apply_filters()
    total = tab.jobs_model.rowCount()
    job_id = ctx.db.scalar("SELECT e.id FROM employment e JOIN person p ON p.id = e.person_id WHERE p.name = '甲'")
    row = next(r for r in range(total) if tab.jobs_model.row_id(r) == job_id)
    tab.jobs_table.selectRow(row)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("2026-01-01", True))
    tab.job_end_button.click()
    assert ctx.db.get("employment", job_id)["end_date"] == "2026-01-01"
    assert tab.jobs_model.rowCount() == total  # ended, still in the history
    tab.jobs_state.setCurrentIndex(1)  # 已结束
    tab.apply_filters()
    assert job_id in [tab.jobs_model.row_id(r) for r in range(tab.jobs_model.rowCount())]

    tab.jobs_state.setCurrentIndex(2)
    tab.apply_filters()
    row = next(r for r in range(tab.jobs_model.rowCount()) if tab.jobs_model.row_id(r) == job_id)
    tab.jobs_table.selectRow(row)
    messages.answer(False)
    tab.job_delete_button.click()
    assert ctx.db.get("employment", job_id)["deleted"] == 0
    messages.answer(True)
    tab.job_delete_button.click()
    assert ctx.db.get("employment", job_id)["deleted"] == 1
    assert tab.jobs_model.rowCount() == total - 1


def test_intention_recorded_then_met_by_a_job(qtbot, tab, ctx, monkeypatch, messages):
    from PySide6.QtWidgets import QInputDialog

    from app.ui.employment.employment_dialogs import IntentionDialog

    person = ctx.db.scalar("SELECT id FROM person WHERE name = '子'")
    dialog = IntentionDialog(ctx, person_id=person)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentText("就业")
    dialog.job_kind.setCurrentText("就近就业")
    dialog.place.setText("县城附近")
    dialog.save()
    assert dialog.result() == 1
    tab.inner.setCurrentIndex(3)
    assert tab.intentions_model.rowCount() == 1
    # The job dialog offers to close the open need, and does so when saved.
    job = JobDialog(ctx, person_id=person)
    qtbot.addWidget(job)
    assert len(job.intention_checks) == 1 and job.intention_checks[0][0].isChecked()
    job.kind.setCurrentText("灵活就业")
    job.start_date.setText(dt.date.today().isoformat())
    job.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert job.result() == 1
    assert tab.intentions_model.rowCount() == 0  # 未满足 list is empty now
    tab.intentions_state.setCurrentIndex(1)  # 已满足
    tab.apply_filters()
    assert tab.intentions_model.row(0)["met"].startswith("就业：灵活就业")
    # reopen, then close by hand choosing the training record
    tab.intentions_table.selectRow(0)
    tab.intention_reopen_button.click()
    tab.intentions_state.setCurrentIndex(0)
    tab.apply_filters()
    tab.intentions_table.selectRow(0)
    monkeypatch.setattr(QInputDialog, "getItem", lambda _p, _t, _l, items, *a, **k: (items[1], True))
    tab.intention_close_button.click()
    assert tab.intentions_model.rowCount() == 0


def test_course_can_start_from_an_earlier_courses_people(qtbot, tab, ctx, messages):
    dialog = CourseDialog(ctx)
    qtbot.addWidget(dialog)
    index = next(i for i in range(dialog.previous.count()) if dialog.previous.itemText(i).startswith("电焊"))
    dialog.previous.setCurrentIndex(index)
    dialog.copy_button.click()
    assert dialog.picker.chosen.count() == 3  # 甲 乙 己 of the 电焊 course
    dialog.name.setText("电焊（第二期）")
    dialog.start_date.setText("2026-11-01")
    dialog.sessions_table.item(0, 3).setText("4")
    dialog.save()
    assert dialog.result() == 1
    course_id = ctx.db.scalar("SELECT id FROM training_course WHERE name = '电焊（第二期）'")
    assert len(training.participants(ctx.db, course_id)) == 3


def test_adding_a_whole_room_to_a_course_leaves_out_the_child(qtbot, tab, ctx, messages):
    dialog = CourseDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.picker.search.setText("1-1-101")  # 甲 乙 丁 and the child 丙 (10)
    dialog.picker.apply_search()
    dialog.picker.add_all_button.click()
    chosen = {dialog.picker.chosen.item(i).text().split()[0] for i in range(dialog.picker.chosen.count())}
    assert "丙" not in chosen and {"甲", "乙"} <= chosen
    assert "跳过 1 名未满 16 周岁" in dialog.picker.result_count.text()
    # picked one by one all the same, the save refuses him and saves nothing
    child = ctx.db.scalar("SELECT id FROM person WHERE name = '丙'")
    dialog.picker.add_ids([child])
    dialog.name.setText("家政")
    dialog.sessions_table.item(0, 3).setText("4")
    before = ctx.db.scalar("SELECT count(*) FROM training_course")
    dialog.save()
    assert "丙（开班时" in messages.said[-1] and "未满 16 周岁" in messages.said[-1]
    assert ctx.db.scalar("SELECT count(*) FROM training_course") == before


def test_ledger_sorts_by_each_column_on_the_worker(qtbot, tab):
    qtbot.waitUntil(lambda: tab.ledger_ready, timeout=10000)
    header = tab.table.horizontalHeader()
    keys = [c.key for c in tab.ledger_model.columns]
    for col in range(len(keys)):
        for _ in range(2):  # ascending, then descending
            qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                             pos=header.rect().center().__class__(header.sectionViewportPosition(col) + 5, 5))
            qtbot.waitUntil(lambda: not tab.ledger_model.sorting, timeout=10000)
    age = keys.index("age")
    tab.table.sortByColumn(age, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: not tab.ledger_model.sorting, timeout=10000)
    ages = [tab.ledger_model.row(i)["age"] for i in range(tab.ledger_model.rowCount())]
    assert ages == sorted(ages) and ages[0] < ages[-1]
    name = keys.index("name")
    tab.table.sortByColumn(name, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: not tab.ledger_model.sorting, timeout=10000)
    names = [tab.ledger_model.row(i)["name"] for i in range(tab.ledger_model.rowCount())]
    pinyin = {r["name"]: r["name_pinyin"] for r in tab.ctx.db.query("SELECT name, name_pinyin FROM person")}
    assert [pinyin[n] for n in names] == sorted((pinyin[n] for n in names), reverse=True)  # 姓名 sorts by pinyin


def test_job_ledger_sorts_on_the_worker_and_follows_changes(qtbot, tab, ctx):
    tab.inner.setCurrentIndex(1)
    tab.jobs_state.setCurrentIndex(2)  # 全部
    tab.apply_filters()
    model = tab.jobs_model
    keys = [c.key for c in model.columns]
    name = keys.index("name")
    tab.jobs_table.sortByColumn(name, Qt.SortOrder.AscendingOrder)
    assert model.sorting  # the window does not wait for the order
    qtbot.waitUntil(lambda: not model.sorting, timeout=10000)
    names = [model.row(i)["name"] for i in range(model.rowCount())]
    pinyin = {r["name"]: r["name_pinyin"] for r in ctx.db.query("SELECT name, name_pinyin FROM person")}
    assert names and [pinyin[n] for n in names] == sorted(pinyin[n] for n in names)
    # a new job: the ledger is ordered again, with the new row in its place
    with ctx.db.write() as tx:
        tx.insert("employment", {"person_id": ctx.db.scalar("SELECT id FROM person WHERE name = '乙'"),
                                 "kind": "灵活就业", "start_date": dt.date.today().isoformat()})
    tab.refresh_tables()
    qtbot.waitUntil(lambda: not model.sorting, timeout=10000)
    after = [model.row(i)["name"] for i in range(model.rowCount())]
    assert len(after) == len(names) + 1 and "乙" in after
    assert [pinyin[n] for n in after] == sorted(pinyin[n] for n in after)


def test_a_second_session_with_one_person_unticked_by_keyboard(qtbot, tab, ctx, monkeypatch, messages):
    """Open the 电焊 course, add a session (the next day, typed hours), untick 乙 for it with the
    arrow keys and Space, save: the ticks are stored, 乙 stays on the course, the figures follow."""
    from PySide6.QtWidgets import QLineEdit

    course_id = ctx.db.scalar("SELECT id FROM training_course WHERE name = '电焊'")
    people = {ctx.db.scalar("SELECT id FROM person WHERE name = ?", (n,)): n for n in ("甲", "乙", "己")}
    before = labour.compute_figures(ctx.db)
    seen: dict[str, object] = {}

    def drive(course):
        course.show()
        qtbot.waitExposed(course)
        course.tabs.setCurrentWidget(course.sessions_page)
        table, grid = course.sessions_table, course.grid
        assert table.rowCount() == 1 and grid.rowCount() == 3 and grid.columnCount() == 1
        qtbot.mouseClick(course.session_add_button, Qt.MouseButton.LeftButton)
        assert table.rowCount() == 2 and grid.columnCount() == 2
        assert table.item(1, 0).text() == "2026-03-03"  # the day after the last session
        assert (table.currentRow(), table.currentColumn()) == (1, 0)
        for _ in range(3):  # → 学时
            qtbot.keyClick(table, Qt.Key.Key_Right)
        qtbot.keyClick(table, Qt.Key.Key_4)  # typing opens the cell's editor with the key typed
        editor = next(w for w in table.findChildren(QLineEdit) if w.isVisible())
        assert editor.text() == "4"
        qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next turn of the loop
        qtbot.waitUntil(lambda: table.item(1, 3).text() == "4")
        # The new session starts with everyone present; go to 乙's row in its column and press Space.
        assert grid.horizontalHeaderItem(1).text().endswith("出勤 3/3")
        grid.setFocus()
        qtbot.keyClick(grid, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
        row = [grid.verticalHeaderItem(r).text() for r in range(grid.rowCount())].index("乙")
        for _ in range(row):
            qtbot.keyClick(grid, Qt.Key.Key_Down)
        qtbot.keyClick(grid, Qt.Key.Key_Right)
        assert (grid.currentRow(), grid.currentColumn()) == (row, 1)
        qtbot.keyClick(grid, Qt.Key.Key_Space)
        assert grid.item(row, 1).checkState() == Qt.CheckState.Unchecked
        assert grid.item(row, 0).checkState() == Qt.CheckState.Checked
        assert grid.horizontalHeaderItem(1).text().endswith("出勤 2/3")
        assert "共 2 次课" in course.totals.text()
        course.grab().save(str(Path(seen["shots"]) / "course-dialog.png"))
        course.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
        return course.result()

    import os
    from pathlib import Path

    seen["shots"] = os.environ.get("ANJU_TEST_SHOTS", str(Path(ctx.db.path).parent))
    monkeypatch.setattr(CourseDialog, "exec", drive)
    tab.inner.setCurrentIndex(2)
    for r in range(tab.courses_model.rowCount()):
        if tab.courses_model.row_id(r) == course_id:
            tab.training_table.selectRow(r)
    tab.course_edit_button.click()
    assert messages.said == []
    first, second = training.sessions(ctx.db, course_id)
    assert (second["session_date"], second["hours"]) == ("2026-03-03", 4.0)
    presence = training.presence(ctx.db, course_id)
    assert {people[p] for p in presence[first["id"]]} == {"甲", "乙", "己"}
    assert {people[p] for p in presence[second["id"]]} == {"甲", "己"}
    assert {people[p["person_id"]] for p in training.participants(ctx.db, course_id)} == {"甲", "乙", "己"}
    # The figures row of the employment tab counts the two who came to the new session.
    total = before.training_person_times_total + 2
    wait_figures(qtbot, tab, lambda f: f.training_person_times_total == total)
    assert tab.figure_buttons["training_person_times_total"].text().startswith(f"{total}\n")
    assert tab.figures.training_hours_total == pytest.approx(before.training_hours_total + 2 * 4)


def test_export_what_i_see_of_the_jobs_page_is_its_own_list(qtbot, tab, tmp_path):
    from app.models.excel.excel_export import export_ledger

    assert tab.export_query() is None  # the labour ledger page exports the whole ledger
    tab.inner.setCurrentIndex(1)
    tab.jobs_state.setCurrentIndex(2)  # 全部
    qtbot.keyClicks(tab.jobs_search, "1-1")
    tab.apply_filters()
    view = tab.export_query()
    assert view.ledger == "employment" and view.condition == tab.jobs_model.query.condition
    shown = tab.jobs_model.rowCount()
    assert shown and export_ledger(tab.ctx.db, "employment", tmp_path / "jobs.xlsx", view=view.condition) == shown
    tab.inner.setCurrentIndex(3)
    assert tab.export_query().ledger == "intentions"



def test_a_broad_word_in_the_jobs_search_lists_the_newest_jobs_and_asks_for_more(qtbot, tab, monkeypatch):
    from app.models.employment import employment
    from app.models.registry import registry_search
    from app.ui.employment import employment_tab

    # The same lists as at 100,000 residents: every word counted "broad", a list of 2.
    monkeypatch.setattr(registry_search, "BROAD_HITS", 1)
    monkeypatch.setattr(employment_tab, "SEARCH_CAP", 2)
    tab.inner.setCurrentIndex(1)
    tab.jobs_state.setCurrentIndex(2)  # 全部
    db, rules = tab.ctx.db, tab.rules
    refreshed: list[str] = []
    monkeypatch.setattr(tab.intentions_model, "set_query", lambda q: refreshed.append("intentions"))
    monkeypatch.setattr(tab.courses_model, "set_query", lambda q: refreshed.append("courses"))

    def listed() -> list[str]:
        return [tab.jobs_model.row(i)["name"] for i in range(tab.jobs_model.rowCount())]

    def every_match(word: str) -> list[str]:  # the whole list in its order, as before the cap
        query = employment.jobs_query(rules, state="all", search=registry_search.person_condition(word))
        return [r["name"] for r in query.page(db, [("name", "p.name")], "e.start_date DESC", 100, 0)]

    tab.jobs_search.setFocus()
    qtbot.keyClicks(tab.jobs_search, "1")  # building 1: every job but 午's
    qtbot.waitUntil(lambda: "超过" in tab.jobs_count.text())
    assert tab.jobs_count.text() == "找到超过 2 条，只列出前 2 条；请多输入几个字缩小范围"
    assert every_match("1")[:3] == ["辛", "巳", "己"] and len(every_match("1")) == 6
    assert listed() == ["辛", "巳"]  # the newest two (started 2026-07-01, 2026-06-01)
    assert tab.jobs_table.model().index(0, 0).data() == "辛"  # what the table paints
    tab.jobs_search.clear()
    qtbot.keyClicks(tab.jobs_search, "H2")  # a household number, tested per person
    qtbot.waitUntil(lambda: not tab._search_timer.isActive())  # the search ran (after a pause in typing)
    assert tab.jobs_count.text() == "找到超过 2 条，只列出前 2 条；请多输入几个字缩小范围"
    assert every_match("H2") == ["辛", "己", "庚"]
    assert listed() == ["辛", "己"]
    # A narrower search: every match listed and counted.
    qtbot.keyClicks(tab.jobs_search, " ")
    tab.jobs_search.insert("庚")  # as an input method commits it
    qtbot.waitUntil(lambda: tab.jobs_count.text() == "共 1 条")
    assert not tab.jobs_model.capped and listed() == ["庚"]
    # Cleared: the whole ledger, uncapped.
    tab.jobs_search.clear()
    qtbot.waitUntil(lambda: tab.jobs_count.text() == "共 7 条")
    assert listed() == every_match("")
    # Typing in the jobs box left the other lists alone.
    assert refreshed == []

"""The real main window on a demo community: five tabs, each showing real rows."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTabWidget

from app.models.core.list_query import Condition, ListQuery
from app.ui.common.table_models import Column, SqlTableModel
from app.ui.main_window import TABS

TAB_NAMES = [name for _, _, name, _ in TABS]


def _views_with_rows(widget) -> list[QAbstractItemView]:
    out = []
    for view in widget.findChildren(QAbstractItemView):
        model: QAbstractItemModel | None = view.model()
        if model is not None and model.rowCount() > 0:
            out.append(view)
    return out


def test_window_has_automation_names_and_demo_title(main_window):
    assert main_window.objectName() == "mainWindow"
    assert "演示数据" in main_window.windowTitle()
    tabs = main_window.findChild(QTabWidget, "mainTabs")
    assert tabs is not None and tabs.count() == 5
    assert [tabs.widget(i).objectName() for i in range(5)] == TAB_NAMES
    assert all(tabs.widget(i).accessibleName() for i in range(5))


def test_status_bar_shows_database_residents_and_user(main_window, demo_db_path):
    texts = {w.objectName(): w.text() for w in main_window.statusBar().findChildren(QLabel)}
    assert str(demo_db_path) in texts["statusDatabase"]
    residents = main_window.ctx.db.scalar("SELECT count(*) FROM person WHERE status = '在册' AND deleted = 0")
    assert residents > 100
    assert f"{residents:,}" in texts["statusResidents"]
    assert "测试员" in texts["statusUser"]


def test_every_tab_shows_rows(qtbot, main_window):
    tabs = main_window.tabs
    for i, name in enumerate(TAB_NAMES):
        tabs.setCurrentIndex(i)
        tab = tabs.widget(i)
        qtbot.waitUntil(lambda tab=tab: bool(_views_with_rows(tab)), timeout=15000)
        assert _views_with_rows(tab), f"{name} shows no rows"
    main_window.ctx.runner.wait_idle()


def test_dashboard_figures_match_stats(qtbot, main_window):
    from app.models.dashboard import stats

    main_window.tabs.setCurrentWidget(main_window.tab("dashboardTab"))
    dash = main_window.tab("dashboardTab")
    qtbot.waitUntil(lambda: dash.last_result is not None, timeout=15000)
    expected = stats.compute(main_window.ctx.db)
    assert dash.last_result["figures"]["residents"] == expected["residents"]
    card = dash.card_labels["residents"].text()
    assert card == f"{expected['residents']:,}"


def test_remembers_last_tab_and_size(qtbot, demo_db_path):
    from app.ui.app import build_window

    window = build_window(demo_db_path, demo=True)
    qtbot.addWidget(window)
    window.show()
    window.resize(720, 520)
    window.tabs.setCurrentIndex(3)
    window.shutdown()
    again = build_window(demo_db_path, demo=True)
    qtbot.addWidget(again)
    assert again.tabs.currentIndex() == 3
    assert again.size().height() == 520  # width is bounded below by the widest tab
    again.shutdown()


def test_sql_table_model_passes_qt_model_tester(qtmodeltester, demo_db_path):
    from app.models.core.db import open_database

    db = open_database(demo_db_path)
    people = ListQuery("person p JOIN household h ON h.id = p.household_id", id_sql="p.id")
    model = SqlTableModel(
        db,
        people.filtered(Condition("p.deleted = 0")),
        [Column("name", "姓名", "p.name"), Column("number", "户编号", "h.number"), Column("sex", "性别", "p.sex")],
    )
    qtmodeltester.check(model, force_py=True)
    model.sort(1)
    first = model.row(0)["number"]
    assert first == db.scalar("SELECT min(h.number) FROM person p JOIN household h ON h.id = p.household_id")
    model.set_query(people.filtered(Condition("p.deleted = 0 AND p.sex = ?", ("女",))))
    assert model.rowCount() == db.scalar("SELECT count(*) FROM person WHERE deleted = 0 AND sex = '女'")
    db.close()


def test_each_tab_table_model_passes_qt_model_tester(qtmodeltester, main_window):
    checked = 0
    for view in main_window.findChildren(QAbstractItemView):
        model = view.model()
        if isinstance(model, SqlTableModel):
            qtmodeltester.check(model, force_py=True)
            checked += 1
    assert checked >= 3


def test_cli_main_reuses_the_running_qapplication(qapp, demo_db_path, demo_login, monkeypatch, capsys):
    from app.cli import main

    assert main(["--db", str(demo_db_path), "--smoke-test"]) == 0
    assert "anju-shown-ms" in capsys.readouterr().out


def test_settings_dialog_changes_the_title(qtbot, main_window, monkeypatch):
    from app.models.core import settings
    from app.ui.setup.settings_dialog import SettingsDialog

    dialog = SettingsDialog(main_window.ctx, main_window)
    qtbot.addWidget(dialog)
    edit = dialog.texts["office_name"]
    from tests.builders.ui import type_text

    edit.selectAll()
    type_text(qtbot, edit, "幸福里社区服务中心")
    dialog.numbers["visit_interval_green"].setValue(28)
    dialog.save()
    assert settings.get(main_window.ctx.db, "office_name") == "幸福里社区服务中心"
    assert settings.get(main_window.ctx.db, "visit_interval_green") == 28
    assert "幸福里社区服务中心" in main_window.windowTitle()


def test_settings_dialog_refuses_an_empty_office_name(qtbot, main_window, monkeypatch, messages):
    from app.models.core import settings
    from app.ui.setup.settings_dialog import SettingsDialog

    before = settings.get(main_window.ctx.db, "office_name")
    dialog = SettingsDialog(main_window.ctx, main_window)
    qtbot.addWidget(dialog)
    dialog.texts["office_name"].setText("   ")
    dialog.save()
    assert messages.texts("warn") and "不能为空" in messages.texts("warn")[0]
    assert settings.get(main_window.ctx.db, "office_name") == before


def test_a_new_day_refreshes_every_view(qtbot, main_window):
    import datetime as dt


    heard: list[str] = []
    main_window.ctx.events.changed.connect(heard.append)
    main_window._check_day()  # same day: nothing to do
    assert heard == [] and main_window._day_timer.isActive()
    assert main_window._day_timer.remainingTime() <= 3600 * 1000 * 1.05  # a coarse timer may run 5% late
    main_window._day = dt.date.today() - dt.timedelta(days=1)  # as if the clock passed midnight
    main_window._check_day()
    assert [c.everything for c in heard] == [True] and main_window._day == dt.date.today()
    employment = main_window.tabs.widget(2)
    if employment.loaded:
        qtbot.waitUntil(lambda: not employment._figures_running, timeout=10000)
    main_window.ctx.runner.wait_idle()


def test_closing_a_dialog_gives_the_keyboard_back_to_the_main_window(qtbot, main_window):
    from PySide6.QtWidgets import QApplication, QDialog, QLineEdit

    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window)
    dlg = QDialog()  # some dialogs have no parent: nothing in Qt hands activation back
    edit = QLineEdit(dlg)
    dlg.show()
    dlg.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg)
    dlg.close()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window)
    # Shortcuts work again without a click: Ctrl+2 switches the tab.
    main_window.tabs.setCurrentIndex(0)
    qtbot.keyClick(main_window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert main_window.tabs.currentIndex() == 1

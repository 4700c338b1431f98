"""The version where a clerk or a support person sees it, and the overview tab's own bar charts."""

from __future__ import annotations

from PySide6.QtGui import QAction, QColor

import app
from app.widgets.bar_chart import BarChart


def test_about_dialog_shows_the_version(main_window, messages):
    action = main_window.findChild(QAction, "actionAbout")
    assert action in main_window.menu_help.actions()
    action.trigger()
    assert [m.kind for m in messages.shown] == ["about"] and messages.shown[0].title == "关于安居台账"
    assert f"安居台账</b> {app.__version__}" in messages.shown[0].text


def test_crash_report_ends_with_the_version(_private_data_dir):
    from app.ui.common.crash import write_crash_log

    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        path = write_crash_log(exc)
    assert path.parent == _private_data_dir / "logs"
    text = path.read_text(encoding="utf-8")
    assert "RuntimeError: boom" in text
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"-- anju {app.__version__} (source) · Python ")
    assert "PySide6 " in last


def _colours(widget) -> set[str]:
    image = widget.grab().toImage()
    return {QColor(image.pixel(x, y)).name() for x in range(image.width()) for y in range(image.height())}


def test_bar_chart_draws_each_bar_and_says_the_counts(qtbot):
    chart = BarChart("住户风险等级")
    qtbot.addWidget(chart)
    chart.resize(360, 280)
    chart.set_bars([("红", 3, "#d9363e"), ("黄", 0, "#e6a700"), ("绿", 1200, "#2f9e44")])
    colours = _colours(chart)
    assert "#d9363e" in colours and "#2f9e44" in colours
    assert "#e6a700" not in colours  # a zero bar has no height
    assert chart.accessibleDescription() == "红 3；黄 0；绿 1,200"
    lying = BarChart("在岗就业人数（按类型）", horizontal=True)
    qtbot.addWidget(lying)
    lying.resize(360, 280)
    lying.set_bars([("外出务工", 12, None), ("公益性岗位", 4, None)])
    assert "#4c6ef5" in _colours(lying)


def test_bar_chart_without_data_says_so(qtbot):
    chart = BarChart("在岗就业人数（按类型）", horizontal=True)
    qtbot.addWidget(chart)
    chart.resize(300, 200)
    chart.set_bars([("外出务工", 0, None)])
    colours = _colours(chart)
    assert "#4c6ef5" not in colours
    assert len(colours) > 2  # the title and "暂无数据" are drawn
    chart.set_bars([])
    assert chart.bars() == [] and chart.accessibleDescription() == ""


def test_overview_charts_show_the_database_counts(qtbot, main_window):
    dash = main_window.tab("dashboardTab")
    main_window.tabs.setCurrentWidget(dash)
    qtbot.waitUntil(lambda: dash.last_result is not None, timeout=15000)
    risk = dict(main_window.ctx.db.query(
        "SELECT risk_colour, count(*) FROM household WHERE deleted = 0 GROUP BY risk_colour"))
    assert dash.risk_chart.bars() == [("红", risk.get("red", 0)), ("黄", risk.get("yellow", 0)),
                                      ("绿", risk.get("green", 0))]
    assert sum(v for _, v in dash.risk_chart.bars()) == main_window.ctx.db.scalar(
        "SELECT count(*) FROM household WHERE deleted = 0")
    assert dash.kinds_chart.bars() and all(v > 0 for _, v in dash.kinds_chart.bars())
    # Every value in the figures table is readable, not elided.
    table = dash.table
    for row in range(dash.model.rowCount()):
        text = dash.model.index(row, 1).data()
        assert table.columnWidth(1) >= table.fontMetrics().horizontalAdvance(text), text

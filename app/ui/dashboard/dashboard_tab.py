"""The overview tab: the community's headline figures and two charts, computed off the UI thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import Database
from app.ui.common import events as ev
from app.ui.common.context import AppContext
from app.ui.common.data_tab import DataTab
from app.widgets.bar_chart import BarChart

# (key in stats.compute, label, how to show it)
FIGURES: list[tuple[str, str, str]] = [
    ("households", "住户（户）", "int"),
    ("residents", "在册居民（人）", "int"),
    ("residents_id_missing", "身份证待补录（人）", "int"),
    ("residents_id_unverified", "身份证待核实（人）", "int"),
    ("labour_force", "劳动力（人）", "int"),
    ("employed", "已就业（人）", "int"),
    ("employment_rate", "劳动力就业率", "pct"),
    ("households_with_labour", "有劳动力的户", "int"),
    ("households_with_stable_job", "一户一人以上稳定就业（户）", "int"),
    ("zero_employment_households", "零就业家庭（户）", "int"),
    ("never_trained", "有劳动力但从未参加培训（人）", "int"),
    ("training_person_times_year", "本年培训（人次）", "int"),
    ("training_hours_year", "本年培训（人·学时）", "hours"),
    ("public_welfare_posts", "公益性岗位（个）", "int"),
    ("visits_overdue", "走访逾期（户）", "int"),
    ("open_mediation_cases", "未结矛盾纠纷（件）", "cases"),
]
CARDS = ["residents", "employment_rate", "zero_employment_households", "visits_overdue", "open_mediation_cases"]


def format_figure(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "cases":
        if isinstance(value, dict):
            parts = "，".join(f"{k} {v}" for k, v in value.items() if k != "total")
            return f"{value.get('total', 0)}（{parts}）"
        return str(value)
    if kind == "hours":
        return f"{float(value):,g}"
    return f"{int(value):,}"


def load_overview(db: Database) -> dict[str, Any]:
    """Everything the tab shows, in one background job."""
    from app.models.dashboard import stats

    return {"figures": stats.compute(db), "risk": stats.risk_counts(db), "kinds": stats.job_kinds(db)}


class DashboardTab(DataTab):
    watches = (ev.HOUSEHOLDS | ev.PERSONS | ev.PLACES | ev.VISITS | ev.EMPLOYMENT | ev.TRAINING | ev.INTENTIONS
               | ev.MEDIATION | ev.SETTINGS)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.last_result: dict[str, Any] | None = None

        layout = QVBoxLayout(self)
        cards = QGridLayout()
        self.card_labels: dict[str, QLabel] = {}
        titles = {k: t for k, t, _ in FIGURES}
        for col, key in enumerate(CARDS):
            frame = QFrame(self)
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(frame)
            caption = QLabel(titles[key], frame)
            value = QLabel("…", frame)
            value.setObjectName(f"dashboardCard_{key}")
            value.setStyleSheet("font-size: 22pt; font-weight: bold;")
            box.addWidget(caption)
            box.addWidget(value)
            self.card_labels[key] = value
            cards.addWidget(frame, 0, col)
        layout.addLayout(cards)

        body = QHBoxLayout()
        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels(["指标", "数值"])
        self.table = QTableView(self)
        self.table.setObjectName("dashboardTable")
        self.table.setAccessibleName("概览指标")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        body.addWidget(self.table, 2)
        # Two bar charts drawn by the program itself: a plotting library would add ~55 MB to every
        # installation for these few bars.
        self.chart_box = QFrame(self)
        self.chart_box.setObjectName("dashboardChart")
        self.chart_box.setFrameShape(QFrame.Shape.StyledPanel)
        charts = QHBoxLayout(self.chart_box)
        self.risk_chart = BarChart("住户风险等级", parent=self.chart_box)
        self.risk_chart.setObjectName("dashboardRiskChart")
        self.kinds_chart = BarChart("在岗就业人数（按类型）", horizontal=True, parent=self.chart_box)
        self.kinds_chart.setObjectName("dashboardJobKindsChart")
        charts.addWidget(self.risk_chart, 2)
        charts.addWidget(self.kinds_chart, 3)
        body.addWidget(self.chart_box, 3)
        layout.addLayout(body, 1)

        bottom = QHBoxLayout()
        self.status = QLabel("", self)
        self.refresh_button = QPushButton("刷新(&R)", self)
        self.refresh_button.setObjectName("dashboardRefresh")
        self.refresh_button.clicked.connect(self.reload)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.refresh_button)
        layout.addLayout(bottom)

    def load(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.status.setText("正在计算……")
        self.refresh_button.setEnabled(False)
        self.ctx.runner.run(lambda db, _p: load_overview(db), on_success=self._show, on_failure=self._failed)

    def _failed(self, exc: BaseException) -> None:
        from app.ui.common.crash import report_exception

        self.refresh_button.setEnabled(True)
        self.status.setText("计算失败")
        report_exception(exc)

    def _show(self, result: dict[str, Any]) -> None:
        self.last_result = result
        figures = result["figures"]
        self.model.setRowCount(0)
        for key, label, kind in FIGURES:
            name = QStandardItem(label)
            value = QStandardItem(format_figure(figures.get(key), kind))
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.model.appendRow([name, value])
        # The header sizes its ResizeToContents column on the next layout pass, which nothing
        # else triggers here: without this the values stay elided ("1…").
        self.table.resizeColumnToContents(1)
        for key, card in self.card_labels.items():
            kind = next(k for f, _, k in FIGURES if f == key)
            card.setText(format_figure(figures.get(key), kind))
        self._draw_charts(result)
        self.refresh_button.setEnabled(True)
        self.status.setText("数据为当前数据库的实时统计。")

    def _draw_charts(self, result: dict[str, Any]) -> None:
        risk = result["risk"]
        self.risk_chart.set_bars([
            ("红", risk.get("red", 0), "#d9363e"),
            ("黄", risk.get("yellow", 0), "#e6a700"),
            ("绿", risk.get("green", 0), "#2f9e44"),
        ])
        self.kinds_chart.set_bars([(kind, count, None) for kind, count in result["kinds"]])

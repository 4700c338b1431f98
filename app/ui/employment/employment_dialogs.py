"""Dialogs of the employment tab: a job, ending a job, an intention, and the list behind a figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.id_numbers import mask
from app.models.employment import employment, intentions, labour, training
from app.models.excel import list_table
from app.ui.common import events, messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform, perform_asking
from app.ui.common.table_models import Column
from app.ui.employment.person_picker import IdListModel, PersonPicker
from app.ui.printing.list_output import ListOutput

# Columns shown as text but sorted by their value.
SORT_SQL = {"income": "e.monthly_income_fen", "hours": "c.hours", "name": "p.name_pinyin"}  # names by pinyin
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def to_columns(specs: list[tuple[str, str, str]]) -> list[Column]:
    """Data-layer column specs → table columns; ID numbers are masked in every list on screen."""
    out = []
    for key, title, sql in specs:
        if key == "id_number":
            out.append(Column(key, title, sql, display=lambda v, _r: mask(v) if v else ""))
        elif key == "age":
            # Ascending age is descending birth date; the direction word is the model's to add.
            out.append(Column(key, title, sql, sort_sql="-julianday(p.birth_date)", align=RIGHT))
        else:
            align = RIGHT if key in ("income", "labour", "employed", "stable", "people", "hours", "sessions",
                                     "person_times") else None
            out.append(Column(key, title, sql, sort_sql=SORT_SQL.get(key), align=align))
    return out


def person_label(ctx: AppContext, person_id: str) -> str:
    row = labour.person_line(ctx.db, person_id, dt.date.today())
    if row is None:
        return ""
    age = row["age"]
    return " ".join(x for x in (row["name"], f"{age}岁" if age is not None else "", row["address"],
                                mask(row["id_number"])) if x)


class JobDialog(QDialog):
    """Enter or change one job. Fields follow the kind of work chosen."""

    def __init__(
        self, ctx: AppContext, *, person_id: str | None = None, job_id: str | None = None,
        household_id: str | None = None, parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.job_id = job_id
        self.person_id = person_id
        self.saved_id: str | None = None
        self.setObjectName("jobDialog")
        self.setWindowTitle("修改就业记录" if job_id else "登记就业")
        if person_id is None and job_id is None:
            self.resize(760, 640)  # room for the person search
        else:
            self.resize(520, 460)
        old: dict[str, Any] = {}
        if job_id:
            old = dict(ctx.db.get("employment", job_id))
            self.person_id = old["person_id"]

        layout = QVBoxLayout(self)
        self.picker: PersonPicker | None = None
        if self.person_id is None:
            self.picker = PersonPicker(ctx.db, multi=False, household_id=household_id or None, parent=self)
            self.picker.setMinimumHeight(200)
            self.picker.selectionChanged.connect(self._person_changed)
            self.picker.confirmed.connect(lambda: self.kind.setFocus())  # the form is built below
            layout.addWidget(QLabel("就业人员（查找后选中一人）："))
            layout.addWidget(self.picker, 1)
        else:
            who = QLabel("就业人员：" + person_label(ctx, self.person_id))
            who.setObjectName("jobPerson")
            layout.addWidget(who)

        form = QFormLayout()
        self.form = form
        self.kind: QComboBox = QComboBox()
        self.kind.setObjectName("jobKind")
        self.kind.addItems(employment.KINDS)
        self.sub_kind = QComboBox()
        self.sub_kind.setObjectName("jobSubKind")
        self.organised = QCheckBox("有组织输出（劳务输出）")
        self.organised.setObjectName("jobOrganised")
        self.in_province = QCheckBox("省内")
        self.in_province.setObjectName("jobInProvince")
        self.destination = QLineEdit()
        self.destination.setObjectName("jobDestination")
        self.destination.setPlaceholderText("如 浙江宁波")
        self.employer = QLineEdit()
        self.employer.setObjectName("jobEmployer")
        self.place = QLineEdit()
        self.place.setObjectName("jobPlace")
        self.post_name = QLineEdit()
        self.post_name.setObjectName("jobPostName")
        self.post_name.setPlaceholderText("如 保洁员、护林员、楼栋管理员")
        self.funding_source = QLineEdit()
        self.funding_source.setObjectName("jobFunding")
        self.business_type = QLineEdit()
        self.business_type.setObjectName("jobBusinessType")
        self.subsidy = QLineEdit()
        self.subsidy.setObjectName("jobSubsidy")
        self.subsidy.setPlaceholderText("元，如 5000")
        self.start_date = QLineEdit(dt.date.today().isoformat())
        self.start_date.setObjectName("jobStart")
        self.start_date.setPlaceholderText("2026-03-01")
        self.end_date = QLineEdit()
        self.end_date.setObjectName("jobEnd")
        self.end_date.setPlaceholderText("仍在岗则留空")
        self.income = QLineEdit()
        self.income.setObjectName("jobIncome")
        self.income.setPlaceholderText("元/月，如 3500 或 3500.50")
        self.notes = QLineEdit()
        self.notes.setObjectName("jobNotes")
        flags = QHBoxLayout()
        flags.addWidget(self.organised)
        flags.addWidget(self.in_province)
        flags.addStretch(1)
        self.flags_widget = QWidget()
        self.flags_widget.setLayout(flags)
        flags.setContentsMargins(0, 0, 0, 0)
        form.addRow("就业类型", self.kind)
        form.addRow("细类", self.sub_kind)
        form.addRow("输出方式", self.flags_widget)
        form.addRow("务工地", self.destination)
        form.addRow("岗位名称", self.post_name)
        form.addRow("资金来源", self.funding_source)
        form.addRow("经营类型", self.business_type)
        form.addRow("创业补贴", self.subsidy)
        form.addRow("单位/雇主", self.employer)
        form.addRow("工作地点", self.place)
        form.addRow("开始日期", self.start_date)
        form.addRow("结束日期", self.end_date)
        form.addRow("月收入（元）", self.income)
        form.addRow("备注", self.notes)
        layout.addLayout(form)
        self.stable_hint = QLabel("")
        self.stable_hint.setObjectName("jobStableHint")
        self.stable_hint.setStyleSheet("color: #555;")
        layout.addWidget(self.stable_hint)

        self.intention_box = QWidget()
        self.intention_layout = QVBoxLayout(self.intention_box)
        self.intention_layout.setContentsMargins(0, 0, 0, 0)
        self.intention_checks: list[tuple[QCheckBox, str]] = []
        layout.addWidget(self.intention_box)
        if self.picker is None:
            layout.addStretch(1)  # the form stays at the top; the spare height goes above the buttons

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.fields: dict[str, QWidget] = {
            "kind": self.kind, "sub_kind": self.sub_kind, "destination": self.destination, "employer": self.employer,
            "post_name": self.post_name, "subsidy": self.subsidy, "start_date": self.start_date,
            "end_date": self.end_date, "monthly_income": self.income,
        }
        if self.picker is not None:
            self.fields["person_id"] = self.picker.search
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.start_date.textChanged.connect(self._update_hint)
        if old:
            self.kind.setCurrentText(old["kind"])
            self._kind_changed(old["kind"])
            self.sub_kind.setCurrentText(old.get("sub_kind") or "")
            self.organised.setChecked(bool(old.get("organised")))
            self.in_province.setChecked(bool(old.get("in_province")))
            for key, edit in (("destination", self.destination), ("employer", self.employer), ("place", self.place),
                              ("post_name", self.post_name), ("funding_source", self.funding_source),
                              ("business_type", self.business_type), ("start_date", self.start_date),
                              ("end_date", self.end_date), ("notes", self.notes)):
                edit.setText(old.get(key) or "")
            self.income.setText(employment.format_fen(old.get("monthly_income_fen")))
            self.subsidy.setText(employment.format_fen(old.get("subsidy_fen")))
        else:
            self._kind_changed(self.kind.currentText())
        self._person_changed()
        if self.picker is not None:
            self.picker.search.setFocus()
        else:
            self.kind.setFocus()

    def _kind_changed(self, kind: str) -> None:
        self.sub_kind.clear()
        subs = employment.SUB_KINDS.get(kind, ())
        self.sub_kind.addItems(["", *subs])
        show = {
            self.sub_kind: bool(subs), self.flags_widget: kind == "外出务工", self.destination: kind == "外出务工",
            self.post_name: kind == "公益性岗位", self.funding_source: kind == "公益性岗位",
            self.business_type: kind == "自主创业", self.subsidy: kind == "自主创业",
        }
        for widget, visible in show.items():
            self.form.setRowVisible(widget, visible)
        self.employer.setPlaceholderText({"自主创业": "店名/企业名", "灵活就业": "可留空"}.get(kind, ""))
        self._update_hint()

    def _update_hint(self) -> None:
        r = labour.rules(self.ctx.db)
        self.stable_hint.setText(f"开始日期在 {r.stable_start_by} 或更早、且仍在岗的工作计为稳定就业"
                                 f"（满 {r.stable_months} 个月）。")

    def _person_changed(self) -> None:
        pid = self.current_person_id()
        for check, _id in self.intention_checks:
            check.setParent(None)
        self.intention_checks = []
        if not pid or self.job_id:
            return
        for it in intentions.open_for(self.ctx.db, pid, ("就业", "创业")):
            check = QCheckBox("此工作满足了需求：" + intentions.describe(it))
            check.setObjectName("jobClosesIntention")
            check.setChecked(True)
            self.intention_layout.addWidget(check)
            self.intention_checks.append((check, it["id"]))

    def current_person_id(self) -> str | None:
        if self.picker is not None:
            ids = self.picker.selected_ids()
            return ids[0] if ids else None
        return self.person_id

    def values(self) -> dict[str, Any]:
        return {
            "person_id": self.current_person_id(), "kind": self.kind.currentText(),
            "sub_kind": self.sub_kind.currentText(), "organised": self.organised.isChecked(),
            "in_province": self.in_province.isChecked(), "destination": self.destination.text(),
            "employer": self.employer.text(), "place": self.place.text(), "post_name": self.post_name.text(),
            "funding_source": self.funding_source.text(), "business_type": self.business_type.text(),
            "subsidy": self.subsidy.text(), "start_date": self.start_date.text(), "end_date": self.end_date.text(),
            "monthly_income": self.income.text(), "notes": self.notes.text(),
        }

    def save(self) -> None:
        values = self.values()
        close_ids = [iid for check, iid in self.intention_checks if check.isChecked()]
        job_id = self.job_id

        def ask(question: str) -> bool:
            return messages.confirm_destructive(self, "时间重叠", question + "\n\n仍然保存吗？")

        done = perform_asking(
            self.ctx, self,
            lambda db, confirmed: employment.save_job(db, values, job_id=job_id, confirm_overlap=confirmed,
                                                      close_intention_ids=close_ids),
            ask, on_error=lambda exc: messages.refused(self, exc, self.fields))
        if not done:
            return
        self.saved_id = done.value
        self.accept()


def end_job(ctx: AppContext, parent: QWidget, job_id: str) -> bool:
    """Ask for the end date of a job and record it (the job stays in the history)."""
    row = employment.job_with_name(ctx.db, job_id)
    if row is None:
        return False
    text, ok = QInputDialog.getText(parent, "结束工作", f"{row['name']}：{employment.describe(row)}\n结束日期：",
                                    text=dt.date.today().isoformat())
    if not ok:
        return False
    return bool(perform(ctx, parent, lambda db: employment.end_job(db, job_id, text),
                        on_error=lambda exc: messages.refused(parent, exc)))


class IntentionDialog(QDialog):
    """Record what a resident wants: a job, training, or to start a business."""

    def __init__(self, ctx: AppContext, *, person_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        self.saved_id: str | None = None
        self.setObjectName("intentionDialog")
        self.setWindowTitle("登记需求")
        self.resize(700 if person_id is None else 480, 520 if person_id is None else 300)
        layout = QVBoxLayout(self)
        self.picker: PersonPicker | None = None
        if person_id is None:
            self.picker = PersonPicker(ctx.db, multi=False, parent=self)
            self.picker.confirmed.connect(lambda: self.kind.setFocus())
            layout.addWidget(QLabel("居民（查找后选中一人）："))
            layout.addWidget(self.picker, 1)
        else:
            layout.addWidget(QLabel("居民：" + person_label(ctx, person_id)))
        form = QFormLayout()
        self.form = form
        self.kind: QComboBox = QComboBox()
        self.kind.setObjectName("intentionKind")
        self.kind.addItems(intentions.KINDS)
        self.job_kind = QComboBox()
        self.job_kind.setObjectName("intentionJobKind")
        self.job_kind.addItems(["", *employment.KINDS])
        self.place = QLineEdit()
        self.place.setObjectName("intentionPlace")
        self.place.setPlaceholderText("如 县城附近、省外")
        self.training_wanted = QLineEdit()
        self.training_wanted.setObjectName("intentionTraining")
        self.training_wanted.setPlaceholderText("如 电焊、家政、中式烹调")
        self.detail = QLineEdit()
        self.detail.setObjectName("intentionDetail")
        self.recorded = QLineEdit(dt.date.today().isoformat())
        self.recorded.setObjectName("intentionDate")
        form.addRow("需求类型", self.kind)
        form.addRow("想从事", self.job_kind)
        form.addRow("想参加的培训", self.training_wanted)
        form.addRow("意向地点", self.place)
        form.addRow("说明", self.detail)
        form.addRow("登记日期", self.recorded)
        layout.addLayout(form)
        if self.picker is None:
            layout.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self._kind_changed(self.kind.currentText())
        self.fields: dict[str, QWidget] = {"kind": self.kind, "training_wanted": self.training_wanted,
                                           "recorded_date": self.recorded}

    def _kind_changed(self, kind: str) -> None:
        self.form.setRowVisible(self.job_kind, kind == "就业")
        self.form.setRowVisible(self.training_wanted, kind == "培训")

    def save(self) -> None:
        pid = self.person_id
        if self.picker is not None:
            ids = self.picker.selected_ids()
            pid = ids[0] if ids else None
        values = {
            "person_id": pid, "kind": self.kind.currentText(), "job_kind": self.job_kind.currentText(),
            "training_wanted": self.training_wanted.text(), "place": self.place.text(),
            "detail": self.detail.text(), "recorded_date": self.recorded.text(),
        }
        done = perform(self.ctx, self, lambda db: intentions.add(db, values),
                       on_error=lambda exc: messages.refused(self, exc, self.fields))
        if not done:
            return
        self.saved_id = done.value
        self.accept()


def close_intention(ctx: AppContext, parent: QWidget, intention_id: str) -> bool:
    """Mark an intention as met, linking the job or training that met it when there is one."""
    it = intentions.with_name(ctx.db, intention_id)
    if it is None:
        return False
    choices: list[tuple[str, str | None, str | None]] = [("（不关联记录，仅标记已满足）", None, None)]
    for job in employment.jobs_of(ctx.db, it["person_id"]):
        choices.append(("就业：" + employment.describe(job), job["id"], None))
    for att in training.attendances_of(ctx.db, it["person_id"]):
        choices.append((f"培训：{att['name']}（{att['start_date']}）", None, att["id"]))
    labels = [c[0] for c in choices]
    default = 1 if len(choices) > 1 else 0
    label, ok = QInputDialog.getItem(parent, "需求已满足", f"{it['name']}：{intentions.describe(it)}\n由哪条记录满足：",
                                     labels, default, False)
    if not ok:
        return False
    _label, job_id, att_id = choices[labels.index(label)]
    today = dt.date.today().isoformat()
    return bool(perform(ctx, parent, lambda db: intentions.close(db, intention_id, today, met_employment_id=job_id,
                                                                met_attendance_id=att_id),
                        on_error=lambda exc: messages.refused(parent, exc)))


class FigureListDialog(QDialog):
    """The people or households behind one figure; stays open and updates as jobs are entered."""

    def __init__(self, ctx: AppContext, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.key = key
        self.setObjectName("figureListDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.resize(1120, 580)
        layout = QVBoxLayout(self)
        self.definition = QLabel("")
        self.definition.setObjectName("figureDefinition")
        self.definition.setWordWrap(True)
        layout.addWidget(self.definition)
        self.count_label = QLabel("")
        self.count_label.setObjectName("figureCount")
        font = self.count_label.font()
        font.setPointSize(font.pointSize() + 3)
        font.setBold(True)
        self.count_label.setFont(font)
        layout.addWidget(self.count_label)
        self.table = QTableView()
        self.table.setObjectName("figureListTable")
        self.table.setAccessibleName("名单")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.activated.connect(lambda _i: self.add_job())
        layout.addWidget(self.table, 1)
        bar = QHBoxLayout()
        self.job_button = QPushButton("登记就业…")
        self.job_button.setObjectName("figureAddJob")
        self.job_button.setToolTip("为选中的人（或选中户的成员）登记一份工作；名单随即更新")
        self.job_button.clicked.connect(self.add_job)
        bar.addWidget(self.job_button)
        bar.addStretch(1)
        self.output = ListOutput(ctx, self, "figure", self._list_title, self._snapshot, with_ids=True)
        for widget in self.output.widgets():
            bar.addWidget(widget)
        close = QPushButton("关闭")
        close.clicked.connect(self.close)
        bar.addWidget(close)
        layout.addLayout(bar)
        self.model: IdListModel | None = None
        self.figure_list: labour.FigureList | None = None
        self._seq = 0
        self._closed = False
        self.ready = False
        self.load()
        ctx.events.changed.connect(self._on_changed)

    def load(self) -> None:
        """Work out the rows behind the figure in the background, then show them page by page."""
        today = dt.date.today()
        fl = labour.figure_list(self.ctx.db, self.key, today)
        self.figure_list = fl
        definition = labour.figure_definitions(labour.rules(self.ctx.db, today)).get(self.key, (fl.title, ""))[1]
        self.setWindowTitle(f"{fl.title} 名单")
        self.definition.setText(definition)
        if self.model is None:
            self.model = IdListModel(self.ctx.db, fl.query(), to_columns(fl.columns), order_by=fl.order_by,
                                     runner=self.ctx.runner, parent=self)
            self.table.setModel(self.model)
            self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            widths = {
                "people": {0: 70, 1: 150, 2: 100, 3: 120, 4: 44, 5: 60, 6: 230, 7: 190},
                "households": {0: 110, 1: 80, 2: 130},
                "attendance": {0: 70, 1: 150, 2: 120, 3: 220},
            }[fl.kind]
            for col, width in widths.items():
                self.table.setColumnWidth(col, width)
            self.count_label.setText(f"{fl.title}：正在统计…")
        self.job_button.setVisible(fl.kind in ("people", "households"))
        self._seq += 1
        seq, key = self._seq, self.key
        self.ready = False
        self.ctx.runner.run(lambda db, _p: labour.figure_ids(db, key, today),
                            on_success=lambda ids: self._show_ids(seq, ids), on_failure=self._failed)

    def _list_title(self) -> str:
        return f"{self.figure_list.title}名单" if self.figure_list is not None else "名单"

    def _snapshot(self) -> Callable[[Database], list_table.ListTable]:
        """The rows as listed now, in the order shown (a header click re-orders the ids)."""
        key, ids, today = self.key, list(self.model.ids) if self.model is not None else [], dt.date.today()
        return lambda db: list_table.figure_table(db, key, ids, today)

    def _show_ids(self, seq: int, ids: list[str]) -> None:
        if not isValid(self) or self._closed or seq != self._seq or self.model is None or self.figure_list is None:
            return  # closed meanwhile, or a newer count is on its way
        self.model.set_ids(ids)
        header = self.table.horizontalHeader()
        if header.sortIndicatorSection() >= 0 and header.sortIndicatorSection() < len(self.model.columns):
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        unit = {"people": "人", "households": "户", "attendance": "人次"}[self.figure_list.kind]
        text = f"{self.figure_list.title}：{len(ids):,} {unit}"
        if self.key in labour.HOURS_LISTS:
            text = f"{self.figure_list.title}：每人每次课一行，共 {len(ids):,} 行，各行“学时”之和即学时数"
        self.count_label.setText(text)
        self.ready = True

    def _failed(self, exc: BaseException) -> None:
        if not self._closed:
            from app.ui.common.crash import report_exception

            report_exception(exc)

    def _on_changed(self, changes: Changes) -> None:
        if changes.touches(events.EMPLOYMENT | events.TRAINING | events.PERSONS | events.HOUSEHOLDS | events.SETTINGS):
            self.load()

    def closeEvent(self, event: Any) -> None:
        self._closed = True
        try:
            self.ctx.events.changed.disconnect(self._on_changed)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)

    def add_job(self) -> None:
        if self.model is None or self.figure_list is None or self.figure_list.kind == "attendance":
            return
        idx = self.table.currentIndex()
        row_id = self.model.row_id(idx.row()) if idx.isValid() else None
        if row_id is None:
            messages.info(self, "登记就业", "请先在名单中选中一人或一户。")
            return
        if self.figure_list.kind == "people":
            dialog = JobDialog(self.ctx, person_id=row_id, parent=self)
        else:
            dialog = JobDialog(self.ctx, household_id=row_id, parent=self)
        dialog.exec()

"""Entering a training course with all its participants at once, and changing it later."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.core import settings
from app.models.core.errors import KnownError
from app.models.employment import training
from app.ui.common import events
from app.ui.common.context import AppContext
from app.ui.employment.employment_dialogs import warn
from app.widgets.person_picker import PersonPicker


class CourseDialog(QDialog):
    """One course: name, kind, provider, dates, hours, certificate; participants picked below."""

    def __init__(self, ctx: AppContext, *, course_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.course_id = course_id
        self.saved_id: str | None = None
        self.setObjectName("courseDialog")
        self.setWindowTitle("修改培训" if course_id else "新增培训")
        self.resize(980, 720)
        layout = QVBoxLayout(self)

        form = QFormLayout()
        self.form = form
        self.name = QLineEdit()
        self.name.setObjectName("courseName")
        self.name.setPlaceholderText("如 2026年第3期电焊培训班")
        self.kind = QComboBox()
        self.kind.setObjectName("courseKind")
        self.kind.addItems(training.KINDS)
        self.provider = QLineEdit()
        self.provider.setObjectName("courseProvider")
        self.provider.setPlaceholderText("如 县人社局、某职业培训学校")
        dates = QHBoxLayout()
        self.start_date = QLineEdit(dt.date.today().isoformat())
        self.start_date.setObjectName("courseStart")
        self.end_date = QLineEdit()
        self.end_date.setObjectName("courseEnd")
        self.end_date.setPlaceholderText("结业日期（可空）")
        self.hours = QLineEdit()
        self.hours.setObjectName("courseHours")
        self.hours.setPlaceholderText("学时")
        dates.addWidget(self.start_date)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.end_date)
        dates.addWidget(QLabel("学时"))
        dates.addWidget(self.hours)
        cert = QHBoxLayout()
        self.with_certificate = QCheckBox("有证书")
        self.with_certificate.setObjectName("courseWithCertificate")
        self.certificate_name = QLineEdit()
        self.certificate_name.setObjectName("courseCertificateName")
        self.certificate_name.setPlaceholderText("证书名称，如 焊工职业技能等级证书（五级）")
        self.certificate_name.setEnabled(False)
        self.with_certificate.toggled.connect(self.certificate_name.setEnabled)
        cert.addWidget(self.with_certificate)
        cert.addWidget(self.certificate_name, 1)
        form.addRow("培训名称", self.name)
        form.addRow("类别", self.kind)
        form.addRow("承办单位", self.provider)
        form.addRow("开班日期", dates)
        form.addRow("证书", cert)
        layout.addLayout(form)

        layout.addWidget(QLabel(
            "参训人员：输入姓名 / 拼音首字母 / 房号后按回车加入；也可查“3-2”后点“全部添加”，或点“粘贴名单…”"
            "把签到表上的姓名一次贴进来。"))
        self.picker = PersonPicker(ctx.db, multi=True, parent=self)
        self.picker.min_age = int(settings.get(ctx.db, "working_age_min"))
        layout.addWidget(self.picker, 1)
        # A course in several sessions or a follow-up class: start from an earlier course's people.
        copy_row = QHBoxLayout()
        copy_row.addWidget(QLabel("从往期培训加入人员："))
        self.previous = QComboBox()
        self.previous.setObjectName("coursePrevious")
        self.previous.setAccessibleName("往期培训")
        for row in ctx.db.query(
            "SELECT id, name, start_date FROM training_course WHERE deleted = 0 AND id IS NOT ? "
            "ORDER BY start_date DESC LIMIT 30", (course_id,)):
            self.previous.addItem(f"{row['name']}（{row['start_date']}）", row["id"])
        copy_row.addWidget(self.previous, 1)
        self.copy_button = QPushButton("加入该期全部人员")
        self.copy_button.setObjectName("courseCopyPeople")
        self.copy_button.setEnabled(self.previous.count() > 0)
        self.copy_button.clicked.connect(self.copy_previous)
        copy_row.addWidget(self.copy_button)
        layout.addLayout(copy_row)
        self.close_intentions = QCheckBox("参训人员登记过的培训需求，记为已由本期培训满足")
        self.close_intentions.setObjectName("courseClosesIntentions")
        self.close_intentions.setChecked(True)
        layout.addWidget(self.close_intentions)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.fields: dict[str, QWidget] = {
            "name": self.name, "kind": self.kind, "start_date": self.start_date, "end_date": self.end_date,
            "hours": self.hours, "certificate_name": self.certificate_name, "people": self.picker.search,
        }
        self._existing: dict[str, str] = {}  # person id → attendance id
        if course_id:
            self._load(course_id)
        self.name.setFocus()

    def _load(self, course_id: str) -> None:
        row = dict(self.ctx.db.get("training_course", course_id))
        self.name.setText(row["name"])
        self.kind.setCurrentText(row["kind"])
        self.provider.setText(row.get("provider") or "")
        self.start_date.setText(row.get("start_date") or "")
        self.end_date.setText(row.get("end_date") or "")
        hours = row.get("hours")
        self.hours.setText("" if hours is None else (str(int(hours)) if float(hours).is_integer() else str(hours)))
        self.with_certificate.setChecked(bool(row.get("with_certificate")))
        self.certificate_name.setText(row.get("certificate_name") or "")
        people = training.participants(self.ctx.db, course_id)
        self._existing = {p["person_id"]: p["attendance_id"] for p in people}
        self.picker.add_ids([p["person_id"] for p in people])

    def copy_previous(self) -> None:
        course_id = self.previous.currentData()
        if course_id:
            people = training.participants(self.ctx.db, course_id)
            live = {r[0] for r in self.ctx.db.query(
                "SELECT a.person_id FROM training_attendance a JOIN person p ON p.id = a.person_id "
                "WHERE a.course_id = ? AND a.deleted = 0 AND p.status = '在册'", (course_id,))}
            self.picker.add_ids([p["person_id"] for p in people if p["person_id"] in live])

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.text(), "kind": self.kind.currentText(), "provider": self.provider.text(),
            "start_date": self.start_date.text(), "end_date": self.end_date.text(), "hours": self.hours.text(),
            "with_certificate": self.with_certificate.isChecked(), "certificate_name": self.certificate_name.text(),
        }

    def save(self) -> None:
        ids = self.picker.selected_ids()
        try:
            training.validate_course(self.values())
            if not ids:
                raise KnownError("还没有选择参训人员。请在下方查找并加入参训人员。")
            # Everything in one transaction: the course, people removed, people added.
            with self.ctx.db.write():
                for pid, attendance_id in self._existing.items():
                    if pid not in ids:
                        training.remove_attendance(self.ctx.db, attendance_id)
                self.saved_id = training.save_course(
                    self.ctx.db, self.values(), ids, course_id=self.course_id,
                    close_intentions=self.close_intentions.isChecked())
        except KnownError as exc:
            warn(self, exc, self.fields)
            return
        self.ctx.events.announce(events.TRAINING, events.INTENTIONS)
        self.accept()

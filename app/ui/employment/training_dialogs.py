"""Entering a training course with all its participants, its sessions (课次) and who came to each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.core import settings
from app.models.core.errors import KnownError, NeedsConfirmation, ValidationError
from app.models.core.excel_dates import entered_iso_date
from app.models.employment import training
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform_asking
from app.ui.employment.person_picker import PersonPicker
from app.ui.printing import printing
from app.widgets.qt_checked import cell

# Columns of the sessions table.
SESSION_COLUMNS = ("上课日期", "至（多日课次）", "开始时间", "学时", "内容", "地点")
S_DATE, S_END, S_TIME, S_HOURS, S_TOPIC, S_PLACE = range(6)
KEY_ROLE = Qt.ItemDataRole.UserRole  # on a session's date cell: its id, or "new-N" until saved


def _hours_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


class AttendanceGrid(QTableWidget):
    """Participants down, sessions across, a tick box in each cell: Space ticks, arrows move."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Select) and not event.modifiers():
            item = self.currentItem()
            if item is not None:
                item.setCheckState(Qt.CheckState.Unchecked if item.checkState() == Qt.CheckState.Checked
                                   else Qt.CheckState.Checked)
            return
        super().keyPressEvent(event)


class CourseDialog(QDialog):
    """One course: name, kind, provider, period, certificate; then its participants, and its sessions
    with a tick for everyone present at each."""

    def __init__(self, ctx: AppContext, *, course_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.course_id = course_id
        self.saved_id: str | None = None
        self._new_keys = 0
        self._filling = False
        self._present: dict[str, set[str]] = {}  # session key → ids of the people ticked present
        self._grid_keys: list[str] | None = None  # the sessions and people the grid shows now
        self._grid_people: list[str] = []
        self.setObjectName("courseDialog")
        self.setWindowTitle("修改培训" if course_id else "新增培训")
        self.resize(1000, 720)
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
        self.start_date.setAccessibleName("开班日期")
        self.end_date = QLineEdit()
        self.end_date.setObjectName("courseEnd")
        self.end_date.setAccessibleName("结业日期")
        self.end_date.setPlaceholderText("结业日期（可空）")
        self.totals = QLabel("")
        self.totals.setObjectName("courseTotals")
        dates.addWidget(self.start_date)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.end_date)
        dates.addWidget(self.totals, 1)
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
        form.addRow("培训期间", dates)
        form.addRow("证书", cert)
        layout.addLayout(form)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("courseTabs")
        layout.addWidget(self.tabs, 1)
        self._build_people_page()
        self._build_sessions_page()

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
            "certificate_name": self.certificate_name, "people": self.picker.search, "sessions": self.sessions_table,
        }
        self._last_start = self.start_date.text()
        self.start_date.textEdited.connect(self._start_edited)
        self.end_date.textEdited.connect(lambda _t: self._update_totals())
        if course_id:
            self._load(course_id)
        else:
            self._append_session(self.start_date.text(), "", None, "", "", "")
        self._rebuild_grid()
        self.name.setFocus()

    # -- pages --------------------------------------------------------------------------------
    def _build_people_page(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        v.addWidget(QLabel(
            "参训人员：输入姓名 / 拼音首字母 / 房号后按回车加入；也可查“3-2”后点“全部添加”，或点“粘贴名单…”"
            "把签到表上的姓名一次贴进来。"))
        self.picker = PersonPicker(self.ctx.db, multi=True, parent=self)
        self.picker.min_age = int(settings.get(self.ctx.db, "working_age_min"))
        self.picker.selectionChanged.connect(self._rebuild_grid)
        v.addWidget(self.picker, 1)
        # A follow-up class: start from an earlier course's people.
        copy_row = QHBoxLayout()
        copy_row.addWidget(QLabel("从往期培训加入人员："))
        self.previous = QComboBox()
        self.previous.setObjectName("coursePrevious")
        self.previous.setAccessibleName("往期培训")
        for row in training.recent_courses(self.ctx.db, limit=30, exclude=self.course_id):
            self.previous.addItem(f"{row['name']}（{row['start_date']}）", row["id"])
        copy_row.addWidget(self.previous, 1)
        self.copy_button = QPushButton("加入该期全部人员")
        self.copy_button.setObjectName("courseCopyPeople")
        self.copy_button.setEnabled(self.previous.count() > 0)
        self.copy_button.clicked.connect(self.copy_previous)
        copy_row.addWidget(self.copy_button)
        v.addLayout(copy_row)
        self.people_page = page
        self.tabs.addTab(page, "参训人员")

    def _build_sessions_page(self) -> None:
        page = QWidget()
        outer = QVBoxLayout(page)
        # Sessions above, the grid below; the clerk drags the divider (large text, many sessions).
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("courseSessionsSplit")
        split.setChildrenCollapsible(False)
        outer.addWidget(split, 1)
        top = QWidget()
        v = QVBoxLayout(top)
        v.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("课次：每次课一行（双击或按 F2 修改）。课次超出培训期间时，保存时期间会自动放宽到包含所有课次。")
        intro.setWordWrap(True)
        v.addWidget(intro)
        self.sessions_table = QTableWidget(0, len(SESSION_COLUMNS))
        self.sessions_table.setObjectName("sessionsTable")
        self.sessions_table.setAccessibleName("课次")
        self.sessions_table.setHorizontalHeaderLabels(list(SESSION_COLUMNS))
        self.sessions_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.sessions_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sessions_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                            | QAbstractItemView.EditTrigger.EditKeyPressed
                                            | QAbstractItemView.EditTrigger.AnyKeyPressed)
        for col, width in enumerate((110, 110, 80, 60, 260)):
            self.sessions_table.setColumnWidth(col, width)
        self.sessions_table.horizontalHeader().setStretchLastSection(True)
        self.sessions_table.verticalHeader().setDefaultSectionSize(24)
        self.sessions_table.setMinimumHeight(60)
        self.sessions_table.itemChanged.connect(self._session_edited)
        v.addWidget(self.sessions_table)
        row = QHBoxLayout()
        self.session_add_button = QPushButton("添加课次")
        self.session_add_button.setObjectName("sessionAdd")
        self.session_add_button.setToolTip("新的一次课：默认为上一次课的第二天、学时相同，全部人员出勤")
        self.session_add_button.clicked.connect(self.add_session)
        self.session_remove_button = QPushButton("删除所选课次")
        self.session_remove_button.setObjectName("sessionRemove")
        self.session_remove_button.clicked.connect(self.remove_session)
        row.addWidget(self.session_add_button)
        row.addWidget(self.session_remove_button)
        row.addStretch(1)
        v.addLayout(row)
        split.addWidget(top)
        bottom = QWidget()
        v = QVBoxLayout(bottom)
        v.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("出勤：每人每次课一格，打勾为出勤。方向键移动，空格键勾选 / 取消；"
                      "“全部出勤”“全部缺勤”作用于光标所在的那次课。未出勤的人仍留在本期培训的名单中。")
        hint.setWordWrap(True)
        v.addWidget(hint)
        self.grid = AttendanceGrid(0, 0)
        self.grid.setObjectName("attendanceGrid")
        self.grid.setAccessibleName("出勤表")
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.verticalHeader().setDefaultSectionSize(24)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.grid.horizontalHeader().sectionClicked.connect(lambda col: self.grid.setCurrentCell(
            max(self.grid.currentRow(), 0), col))
        self.grid.itemChanged.connect(lambda _i: self._update_counts())
        self.grid.setMinimumHeight(90)
        v.addWidget(self.grid, 1)
        row = QHBoxLayout()
        self.all_present_button = QPushButton("本次课全部出勤")
        self.all_present_button.setObjectName("attendanceAllPresent")
        self.all_present_button.clicked.connect(lambda: self.mark_column(True))
        self.none_present_button = QPushButton("本次课全部缺勤")
        self.none_present_button.setObjectName("attendanceNonePresent")
        self.none_present_button.clicked.connect(lambda: self.mark_column(False))
        self.print_sheet_button = QPushButton("打印本次课签到表…")
        self.print_sheet_button.setObjectName("printSessionSheet")
        self.print_sheet_button.setToolTip("已保存的课次才能打印；新加的课次请先保存")
        self.print_sheet_button.clicked.connect(self.print_sheet)
        row.addWidget(self.all_present_button)
        row.addWidget(self.none_present_button)
        row.addStretch(1)
        row.addWidget(self.print_sheet_button)
        v.addLayout(row)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.sessions_page = page
        self.tabs.addTab(page, "课次与出勤")

    # -- loading --------------------------------------------------------------------------------
    def _load(self, course_id: str) -> None:
        row = dict(self.ctx.db.get("training_course", course_id))
        self.name.setText(row["name"])
        self.kind.setCurrentText(row["kind"])
        self.provider.setText(row.get("provider") or "")
        self.start_date.setText(row.get("start_date") or "")
        self._last_start = self.start_date.text()
        self.end_date.setText(row.get("end_date") or "")
        self.with_certificate.setChecked(bool(row.get("with_certificate")))
        self.certificate_name.setText(row.get("certificate_name") or "")
        people = training.participants(self.ctx.db, course_id)
        self._present = {k: set(v) for k, v in training.presence(self.ctx.db, course_id).items()}
        for s in training.sessions(self.ctx.db, course_id):
            self._append_session(s["session_date"], s["end_date"] or "", s["id"], s["start_time"] or "",
                                 _hours_text(s["hours"]), s["topic"] or "", s["place"] or "")
        self.picker.add_ids([p["person_id"] for p in people])

    def copy_previous(self) -> None:
        course_id = self.previous.currentData()
        if course_id:
            people = training.participants(self.ctx.db, course_id)
            live = training.registered_participants(self.ctx.db, course_id)
            self.picker.add_ids([p["person_id"] for p in people if p["person_id"] in live])

    # -- sessions -------------------------------------------------------------------------------
    def _append_session(self, day: str, end: str, session_id: str | None, start_time: str, hours: str,
                        topic: str, place: str = "") -> int:
        if session_id is None:
            self._new_keys += 1
            key = f"new-{self._new_keys}"
            # A new session: everyone on the course came, until unticked.
            self._present = {**self._present, key: set(self.picker.selected_ids())}
        else:
            key = session_id
        self._filling = True
        try:
            r = self.sessions_table.rowCount()
            self.sessions_table.insertRow(r)
            for col, text in enumerate((day, end, start_time, hours, topic, place)):
                self.sessions_table.setItem(r, col, QTableWidgetItem(text))
            cell(self.sessions_table, r, S_DATE).setData(KEY_ROLE, key)
        finally:
            self._filling = False
        return r

    def session_keys(self) -> list[str]:
        return [cell(self.sessions_table, r, S_DATE).data(KEY_ROLE) for r in range(self.sessions_table.rowCount())]

    def _cell(self, row: int, col: int) -> str:
        item = cell(self.sessions_table, row, col)
        return item.text().strip() if item is not None else ""

    def add_session(self) -> None:
        """A new session the day after the last one (its end day for a multi-day one), same hours."""
        self._store_grid()
        n = self.sessions_table.rowCount()
        if n == 0:
            self._append_session(self.start_date.text().strip(), "", None, "", "", "")
        else:
            last = n - 1
            base = self._cell(last, S_END) or self._cell(last, S_DATE)
            try:
                day = entered_iso_date(base, "上课日期")
                next_day = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat() if day else ""
            except ValidationError:
                next_day = ""
            self._append_session(next_day, "", None, self._cell(last, S_TIME), self._cell(last, S_HOURS), "",
                                 self._cell(last, S_PLACE))
        self._rebuild_grid()
        row = self.sessions_table.rowCount() - 1
        self.sessions_table.setCurrentCell(row, S_DATE)
        self.sessions_table.setFocus()

    def remove_session(self) -> None:
        row = self.sessions_table.currentRow()
        if row < 0:
            messages.info(self, "删除课次", "请先在课次表中选中要删除的那次课。")
            return
        self._store_grid()
        key = cell(self.sessions_table, row, S_DATE).data(KEY_ROLE)
        self.sessions_table.removeRow(row)
        self._present.pop(key, None)
        self._rebuild_grid()

    def _session_edited(self, _item: QTableWidgetItem) -> None:
        if not self._filling:
            self._store_grid()
            self._rebuild_grid()

    def _start_edited(self, text: str) -> None:
        # The one session of a new course follows its start date until the clerk sets it apart.
        if self.course_id is None and self.sessions_table.rowCount() == 1 \
                and self._cell(0, S_DATE) == self._last_start.strip():
            self._filling = True
            cell(self.sessions_table, 0, S_DATE).setText(text.strip())
            self._filling = False
            self._rebuild_grid()
        self._last_start = text
        self._update_totals()

    # -- the attendance grid ----------------------------------------------------------------------
    def _people(self) -> list[tuple[str, str]]:
        labels = self.picker.selected_labels()
        return [(pid, labels.get(pid, pid)) for pid in self.picker.selected_ids()]

    def _store_grid(self) -> None:
        """Keep the ticks shown (by session key and person) before the grid is rebuilt."""
        keys, people = self._grid_keys or [], self._grid_people
        for c, key in enumerate(keys):
            if c >= self.grid.columnCount():
                break
            ticked = self._present.setdefault(key, set())
            for r, pid in enumerate(people):
                item = cell(self.grid, r, c)
                if item is None:
                    continue
                if item.checkState() == Qt.CheckState.Checked:
                    ticked.add(pid)
                else:
                    ticked.discard(pid)

    def _rebuild_grid(self) -> None:
        shown = self._grid_keys is not None
        if shown:
            self._store_grid()
        people = self._people()
        known = set(self._grid_people)
        keys = self.session_keys()
        # Someone just added to the course came to every session (untick the ones they missed).
        for pid, _label in people:
            if shown and pid not in known:
                for key in keys:
                    self._present.setdefault(key, set()).add(pid)
        current = (self.grid.currentRow(), self.grid.currentColumn())
        self.grid.blockSignals(True)
        try:
            self.grid.clear()
            self.grid.setRowCount(len(people))
            self.grid.setColumnCount(len(keys))
            self.grid.setVerticalHeaderLabels([label.split()[0] if label else "" for _pid, label in people])
            for r, (pid, label) in enumerate(people):
                for c, key in enumerate(keys):
                    item = QTableWidgetItem("")
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                                  | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Checked if pid in self._present.get(key, set())
                                       else Qt.CheckState.Unchecked)
                    item.setToolTip(label)
                    self.grid.setItem(r, c, item)
            for c in range(len(keys)):
                self.grid.setColumnWidth(c, 92)
        finally:
            self.grid.blockSignals(False)
        self._grid_keys = keys
        self._grid_people = [pid for pid, _label in people]
        if people and keys:
            self.grid.setCurrentCell(min(max(current[0], 0), len(people) - 1),
                                     min(max(current[1], 0), len(keys) - 1))
        self._update_counts()

    def _update_counts(self) -> None:
        n = self.grid.rowCount()
        for c in range(self.grid.columnCount()):
            items = (self.grid.item(r, c) for r in range(n))
            here = sum(1 for it in items if it is not None and it.checkState() == Qt.CheckState.Checked)
            day = self._cell(c, S_DATE)
            short = day[5:] if len(day) == 10 else day
            when = self._cell(c, S_TIME)
            item = QTableWidgetItem(f"第{c + 1}次 {short}\n出勤 {here}/{n}")
            item.setToolTip(f"第 {c + 1} 次课 {day} {when}".strip())
            self.grid.setHorizontalHeaderItem(c, item)
        self._update_totals()

    def mark_column(self, present: bool) -> None:
        """全部出勤 / 全部缺勤 for the session where the cursor is."""
        c = self.grid.currentColumn()
        if c < 0:
            messages.info(self, "出勤", "请先在出勤表中点一下要标记的那次课。")
            return
        state = Qt.CheckState.Checked if present else Qt.CheckState.Unchecked
        self.grid.blockSignals(True)
        for r in range(self.grid.rowCount()):
            cell(self.grid, r, c).setCheckState(state)
        self.grid.blockSignals(False)
        self._update_counts()

    def session_inputs(self) -> list[training.SessionInput]:
        self._store_grid()
        out = []
        for r, key in enumerate(self.session_keys()):
            out.append(training.SessionInput(
                session_date=self._cell(r, S_DATE), end_date=self._cell(r, S_END), start_time=self._cell(r, S_TIME),
                hours=self._cell(r, S_HOURS), topic=self._cell(r, S_TOPIC), place=self._cell(r, S_PLACE),
                id=None if key.startswith("new-") else key, present=set(self._present.get(key, set())),
            ))
        return out

    def _update_totals(self) -> None:
        """Sessions, hours and the period they will need, as the save will count them."""
        rows = []
        hours = 0.0
        for r in range(self.sessions_table.rowCount()):
            try:
                row = training.validate_session(training.SessionInput(
                    self._cell(r, S_DATE), self._cell(r, S_HOURS) or "1", end_date=self._cell(r, S_END)), r + 1)
            except ValidationError:
                continue
            rows.append(row)
            try:
                hours += float(self._cell(r, S_HOURS) or 0)
            except ValueError:
                pass
        text = f"共 {self.sessions_table.rowCount()} 次课，{_hours_text(hours) or 0} 学时"
        try:
            start = entered_iso_date(self.start_date.text(), "开班日期") or ""
            end = entered_iso_date(self.end_date.text(), "结业日期")
        except ValidationError:
            start, end = "", None
        if start and rows:
            new_start, new_end = training.course_period(start, end, rows)
            if (new_start, new_end) != (start, end) and not (end is None and new_end is None):
                text += f"；课次超出培训期间，保存时调整为 {new_start} 至 {new_end or new_start}"
        self.totals.setText(text)

    # -- saving and printing ----------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.text(), "kind": self.kind.currentText(), "provider": self.provider.text(),
            "start_date": self.start_date.text(), "end_date": self.end_date.text(),
            "with_certificate": self.with_certificate.isChecked(), "certificate_name": self.certificate_name.text(),
        }

    def save(self) -> None:
        ids = self.picker.selected_ids()
        sessions = self.session_inputs()
        args: dict[str, Any] = {"course_id": self.course_id, "close_intentions": self.close_intentions.isChecked()}

        def save(db: Any, confirmed: bool = False) -> str:
            return training.save_course_sessions(db, self.values(), ids, sessions, confirmed=confirmed, **args)

        def failed(exc: KnownError) -> None:
            field = getattr(exc, "field", None)
            if field == "sessions":
                self.tabs.setCurrentWidget(self.sessions_page)
            elif field == "people":
                self.tabs.setCurrentWidget(self.people_page)
            messages.refused(self, exc, self.fields)

        def ask(question: str) -> bool:
            return messages.confirm(self, "同一时间的两次课", question)

        done = perform_asking(self.ctx, self, save, ask, on_error=failed)
        if isinstance(done.error, NeedsConfirmation):  # the clerk said no: back to the sessions
            self.tabs.setCurrentWidget(self.sessions_page)
            self.sessions_table.setFocus()
            return
        if not done:
            return
        self.saved_id = done.value
        self.accept()

    def print_sheet(self) -> None:
        """The sign-in sheet of the session where the cursor is (a saved one)."""
        c = self.grid.currentColumn() if self.grid.currentColumn() >= 0 else self.sessions_table.currentRow()
        keys = self.session_keys()
        if c < 0 or c >= len(keys):
            messages.info(self, "打印签到表", "请先在出勤表中点一下要打印的那次课。")
            return
        if keys[c].startswith("new-"):
            messages.info(self, "打印签到表", "这次课还没有保存。请先保存，再从“打印…”中打印它的签到表。")
            return
        printing.preview_form(self.ctx, "training-attendance", self, session=keys[c])

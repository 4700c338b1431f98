"""The 打印 menu: one entry per form, each with a small dialog to choose the record or the batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.models.core.id_numbers import mask
from app.models.employment import training
from app.models.forms import forms
from app.models.mediation import mediation as med
from app.ui.places.building_board import fill_building_combo, select_building, with_board_button
from app.ui.printing import printing
from app.widgets.search_box import SearchField

SELECTOR_LABELS = {
    "household": "单户（户号或户主姓名）",
    "building": "整栋楼",
    "person": "人员（姓名或身份证号）",
    "case": "调解案件",
    "month": "月份",
    "course": "培训班",
    "session": "课次",
}
SEARCH_LIMIT = 50


def install(window: Any) -> None:
    menu = window.menu_print
    for key, spec in forms.FORMS.items():
        action = QAction(f"{spec.title}…", window)
        action.setObjectName(f"printAction_{key.replace('-', '_')}")
        action.triggered.connect(lambda _checked=False, k=key: PrintChooser(
            window.ctx, k, window, default_building=_building_in_view(window)).exec())
        menu.addAction(action)


def _building_in_view(window: Any) -> str | None:
    """The building selected in 楼栋网格 when that tab is the one shown (the round sheet's default)."""
    tab = window.tabs.currentWidget()
    current = getattr(tab, "current_building", None)
    return current() if callable(current) else None


def record_button(
    parent: QWidget, ctx: Any, record: Callable[[], str | None], choices: list[tuple[str, str]], text: str = "打印…"
) -> QPushButton:
    """A "打印…" button for a record's page: a menu of forms, each previewed for `record()`.

    `choices` are (form, selector) pairs, e.g. ``[("household-card", "household")]``; `record`
    returns the id of the record shown (None: nothing happens). One line in a tab:
    ``self.action_row.addWidget(record_button(self, ctx, lambda: self.household_id, [...]))``.
    """
    button = QPushButton(text, parent)
    button.setObjectName("recordPrintButton")
    button.setAccessibleName("打印")
    menu = QMenu(button)
    for form, selector in choices:
        spec = forms.FORMS[form]
        label = spec.title + ("（含完整身份证号）" if spec.full_id_numbers else "")
        action = menu.addAction(label)
        action.setObjectName(f"recordPrint_{form.replace('-', '_')}")

        def run(_checked: bool = False, form: str = form, selector: str = selector) -> None:
            record_id = record()
            if record_id:
                printing.preview_form(ctx, form, parent, **{selector: record_id})

        action.triggered.connect(run)
    button.setMenu(menu)
    return button


class _SearchList(QWidget):
    """A search box and a short result list; `value()` is the chosen row's key."""

    def __init__(self, search: Any, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._search = search
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = SearchField(self)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(150)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)  # search when typing pauses, not on every key
        self._timer.timeout.connect(self.refresh)
        self.edit.textChanged.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self.refresh)

    def refresh(self) -> None:
        self._timer.stop()
        self.list.clear()
        for key, label in self._search(self.edit.text().strip()):
            item = QListWidgetItem(label, self.list)
            item.setData(Qt.ItemDataRole.UserRole, key)
        if self.list.count():
            self.list.setCurrentRow(0)

    def value(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)


class PrintChooser(QDialog):
    """Choose what to print a form for, then preview (print from there) or save straight to PDF."""

    def __init__(self, ctx: Any, form: str, parent: QWidget | None = None, *,
                 default_building: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.form = form
        self.default_building = default_building
        self.building_combo: QComboBox | None = None
        self.course_combo: QComboBox | None = None
        self.session_combo: QComboBox | None = None
        self.spec = forms.FORMS[form]
        self.setObjectName("printChooserDialog")
        self.setWindowTitle(f"打印 {self.spec.title}")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        notice = QLabel(printing.PrintJob(form, [], dt.date.today()).id_notice, self)
        notice.setObjectName("printChooserIdNotice")
        notice.setWordWrap(True)
        if self.spec.full_id_numbers:
            notice.setStyleSheet("color: #b00020; font-weight: bold;")
        layout.addWidget(notice)
        form_layout = QFormLayout()
        layout.addLayout(form_layout)
        self.group = QButtonGroup(self)
        self.inputs: dict[str, Any] = {}
        # A session is chosen beside its course, not as a choice of its own.
        choices = [c for c in self.spec.selectors if c != "session"]
        if form == "visit-form":
            choices.append("blank")
        for i, name in enumerate(choices):
            radio = QRadioButton(SELECTOR_LABELS.get(name, "空白表（不预填）"), self)
            radio.setObjectName(f"printScope_{name}")
            self.group.addButton(radio, i)
            widget = self._input(name)
            self.inputs[name] = widget
            if widget is not None:
                form_layout.addRow(radio, widget)
                widget.installEventFilter(self)
                self._focus_selects(widget, radio)
            else:
                form_layout.addRow(radio, QLabel(""))
            if i == 0:
                radio.setChecked(True)
            if len(choices) == 1:
                radio.setEnabled(False)
        self.choices = choices
        self.error = QLabel("", self)
        self.error.setObjectName("printChooserError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(self)
        self.preview_button = QPushButton("预览 / 打印…", self)
        self.preview_button.setObjectName("printPreviewButton")
        self.preview_button.setDefault(True)
        self.pdf_button = QPushButton("保存为 PDF…", self)
        self.pdf_button.setObjectName("printPdfButton")
        buttons.addButton(self.preview_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.pdf_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.preview_button.clicked.connect(self.preview)
        self.pdf_button.clicked.connect(self.save_pdf)
        layout.addWidget(buttons)

    # -- inputs ----------------------------------------------------------------------------
    def _focus_selects(self, widget: QWidget, radio: QRadioButton) -> None:
        for child in [widget, *widget.findChildren(QWidget)]:
            child.setProperty("_printRadio", self.group.id(radio))

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt override
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.FocusIn, QEvent.Type.MouseButtonPress):
            radio_id = obj.property("_printRadio")
            if radio_id is not None and self.group.button(int(radio_id)) is not None:
                self.group.button(int(radio_id)).setChecked(True)
        return False

    def _input(self, name: str) -> Any:
        db = self.ctx.db
        if name == "building":
            box = QComboBox(self)
            box.setObjectName("printBuildingCombo")
            fill_building_combo(box, db, data="name")
            select_building(box, self.default_building)  # the building the clerk is looking at
            self.building_combo = box
            return with_board_button(box, db, self)
        if name == "course":
            box = QComboBox(self)
            box.setObjectName("printCourseCombo")
            for r in training.recent_courses(db, limit=500):
                box.addItem(f"{r['name']}（{r['start_date'] or ''}）", r["id"])
            self.course_combo = box
            if "session" not in self.spec.selectors:
                return box
            holder = QWidget(self)
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(box)
            sessions = QComboBox(holder)
            sessions.setObjectName("printSessionCombo")
            sessions.setAccessibleName("课次")
            column.addWidget(sessions)
            self.session_combo = sessions
            box.currentIndexChanged.connect(lambda _i: self._fill_sessions())
            self._fill_sessions()
            return holder
        if name == "case":
            box = QComboBox(self)
            box.setObjectName("printCaseCombo")
            for r in med.recent_cases(db, limit=500):
                box.addItem(f"{r['number']} {r['title']}（{r['status']}）", r["id"])
            return box
        if name == "month":
            edit = QLineEdit(dt.date.today().strftime("%Y-%m"), self)
            edit.setObjectName("printMonthEdit")
            edit.setInputMask("9999-99")
            return edit
        if name == "household":
            widget = _SearchList(self._search_households, "输入户号、户主姓名或拼音首字母", self)
            widget.setObjectName("printHouseholdSearch")
            return widget
        if name == "person":
            widget = _SearchList(self._search_persons, "输入姓名、拼音首字母、身份证号或房号", self)
            widget.setObjectName("printPersonSearch")
            return widget
        return None

    def _fill_sessions(self) -> None:
        """The chosen course's sessions, newest first (the one about to be held is usually wanted)."""
        assert self.session_combo is not None and self.course_combo is not None
        self.session_combo.clear()
        course_id = self.course_combo.currentData()
        ids = forms.course_sessions(self.ctx.db, course_id) if course_id else []
        self.session_combo.addItem(f"全部课次（每次课一张，共 {len(ids)} 张）", None)
        rows = forms.session_rows(self.ctx.db, course_id) if course_id else {}
        for n, sid in reversed(list(enumerate(ids, 1))):
            r = rows[sid]
            text = " ".join(x for x in (f"第{n}次", r["session_date"], r["start_time"], r["topic"]) if x)
            self.session_combo.addItem(text, sid)
        if len(ids) > 0:
            self.session_combo.setCurrentIndex(1)

    def _search_households(self, text: str) -> list[tuple[str, str]]:
        return [(r["number"], f"{r['number']}  {r['name'] or ''}")
                for r in forms.find_households(self.ctx.db, text, SEARCH_LIMIT)]

    def _search_persons(self, text: str) -> list[tuple[str, str]]:
        return [(r["id"], f"{r['name']}  {mask(r['id_number'])}  户号 {r['number'] or ''}")
                for r in forms.find_persons(self.ctx.db, text, SEARCH_LIMIT)]

    # -- actions ---------------------------------------------------------------------------
    def selector(self) -> dict[str, str] | None:
        """The chosen selector, or None (with a message shown) when nothing usable is chosen."""
        name = self.choices[self.group.checkedId()]
        widget = self.building_combo if name == "building" else self.course_combo if name == "course" \
            else self.inputs.get(name)
        if name == "blank":
            return {}
        if (name == "course" and self.course_combo is not None and self.session_combo is not None
                and self.session_combo.currentData()):
            self.error.setText("")
            return {"course": self.course_combo.currentData(), "session": self.session_combo.currentData()}
        value: str | None
        if isinstance(widget, QComboBox):
            value = widget.currentData()
        elif isinstance(widget, QLineEdit):
            value = widget.text().strip()
        elif widget is not None:
            value = widget.value()
        else:
            value = None
        if not value or value == "-":
            self.error.setText(f"请先选择{SELECTOR_LABELS[name].split('（')[0]}。")
            return None
        self.error.setText("")
        return {name: value}

    def _job_selector(self) -> dict[str, str] | None:
        sel = self.selector()
        if sel is None:
            return None
        # The combos hold record ids for cases and courses; the data layer accepts ids there too.
        return sel

    def preview(self) -> None:
        sel = self._job_selector()
        if sel is not None:
            printing.preview_form(self.ctx, self.form, self, **sel)

    def save_pdf(self) -> None:
        sel = self._job_selector()
        if sel is not None:
            printing.save_form_pdf_dialog(self.ctx, self.form, self, **sel)

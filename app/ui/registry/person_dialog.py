"""Adding or editing one resident: every person field, live ID-number check, duplicate check at save."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.core import audit
from app.models.core.db import Database
from app.models.core.errors import KnownError, ValidationError
from app.models.core.id_numbers import IdInfo
from app.models.core.vocab import PersonStatus
from app.models.registry import households, persons
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.ui.registry.duplicate_dialog import CANCEL, OPEN, DuplicateDialog
from app.widgets.id_number_edit import IdNumberEdit

ERROR_STYLE = "color: #d9363e;"


def add_checked_row(form: QFormLayout, key: str, label: str, widget: QWidget) -> QLabel:
    """A form row with a hidden red message line under the field (``error_<key>``); returns the line."""
    err = QLabel()
    err.setObjectName(f"error_{key}")
    err.setStyleSheet(ERROR_STYLE)
    err.setWordWrap(True)
    err.hide()
    cell = QVBoxLayout()
    cell.setSpacing(1)
    cell.addWidget(widget)
    cell.addWidget(err)
    form.addRow(label, cell)
    return err
WARN_STYLE = "color: #8a6100;"


class GuardedDialog(QDialog):
    """A dialog whose Esc/close asks before throwing away changes (``self.dirty``)."""

    dirty = False

    def _mark_dirty(self, *_args: Any) -> None:
        self.dirty = True

    def confirm_discard(self) -> bool:
        if not self.dirty:
            return True
        return messages.confirm_destructive(self, "放弃修改", "有修改还没有保存，确定关闭并放弃这些修改吗？")

    def reject(self) -> None:
        if self.confirm_discard():
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.result() == QDialog.DialogCode.Accepted or self.confirm_discard():
            event.accept()
        else:
            event.ignore()


def combo(items: list[str], *, editable: bool = False, blank: bool = True) -> QComboBox:
    box = QComboBox()
    box.setEditable(editable)
    if blank:
        box.addItem("")
    box.addItems(items)
    return box


def set_combo(box: QComboBox, value: str | None) -> None:
    value = value or ""
    idx = box.findText(value)
    if idx >= 0:
        box.setCurrentIndex(idx)
    elif box.isEditable():
        box.setEditText(value)
    else:
        box.setCurrentIndex(0)


class PersonDialog(GuardedDialog):
    """New member of `household_id` (person_id None) or editing a person. ``saved_id`` after saving.

    With `household_id` None (a household not saved yet) the checked entry is kept in ``collected``
    instead of written: the household dialog saves it together with the household.
    """

    def __init__(self, ctx: AppContext, household_id: str | None, person_id: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.person_id = person_id
        self.saved_id: str | None = None
        self.collected: households.NewMember | None = None
        self.open_household_id: str | None = None  # set when the clerk chose to open a duplicate's household
        self.setObjectName("personDialog")
        self.setWindowTitle("编辑成员" if person_id else "添加成员")
        self.setMinimumWidth(560)

        self.name = QLineEdit()
        self.name.setObjectName("personName")
        self.name.setAccessibleName("姓名")
        self.name.setMaxLength(10000)  # long text is refused with a message, not cut silently
        self.id_number = IdNumberEdit()
        self.sex = combo(persons.SEXES)
        self.sex.setObjectName("personSex")
        self.birth = QLineEdit()
        self.birth.setObjectName("personBirthDate")
        self.birth.setPlaceholderText("如 1980-05-01；填了身份证号会自动填")
        self.ethnicity = combo(persons.ETHNICITIES, editable=True)
        self.ethnicity.setObjectName("personEthnicity")
        # Typing 苗 offers 苗族 (and 布 offers 布依族, 布朗族): completion by any part of the name.
        completer = self.ethnicity.completer()
        if completer is not None:  # an editable combo has one
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.relation = combo(persons.RELATIONS, editable=True)
        self.relation.setObjectName("personRelation")
        self.phone = QLineEdit()
        self.phone.setObjectName("personPhone")
        self.phone.setMaxLength(10000)
        self.education = combo(persons.EDUCATIONS, editable=True)
        self.education.setObjectName("personEducation")
        self.labour = combo(persons.LABOUR_ABILITIES)
        self.labour.setObjectName("personLabour")
        self.flags: dict[str, QCheckBox] = {}
        flag_box = QWidget()
        grid = QGridLayout(flag_box)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (key, label) in enumerate(persons.FLAGS.items()):
            cb = QCheckBox(label)
            cb.setObjectName(f"person_{key}")
            self.flags[key] = cb
            grid.addWidget(cb, i // 4, i % 4)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("personNotes")
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(60)

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, widget in [
            ("name", "姓名 *", self.name), ("id_number", "身份证号", self.id_number), ("sex", "性别", self.sex),
            ("birth_date", "出生日期", self.birth), ("ethnicity", "民族", self.ethnicity),
            ("relation", "与户主关系", self.relation), ("phone", "电话", self.phone),
            ("education", "文化程度", self.education), ("labour_ability", "劳动能力", self.labour),
            ("flags", "特殊人群等", flag_box), ("notes", "备注", self.notes),
        ]:
            self.errors[key] = add_checked_row(form, key, label, widget)
        self.warning = QLabel()
        self.warning.setObjectName("personWarning")
        self.warning.setStyleSheet(WARN_STYLE)
        self.warning.setWordWrap(True)
        self.last_change = QLabel()
        self.last_change.setObjectName("personLastChange")
        self.last_change.setStyleSheet("color: #666;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存（Ctrl+S）")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("personSaveButton")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setDefault(True)  # Enter saves
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        bottom = QHBoxLayout()
        bottom.addWidget(self.last_change, 1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)

        if person_id:
            self._load(persons.get(ctx.db, person_id))
        self.id_number.parsed.connect(self._id_parsed)
        for w in (self.name, self.birth, self.phone):
            w.textEdited.connect(self._mark_dirty)
        self.id_number.edit.textEdited.connect(self._mark_dirty)
        for c in (self.sex, self.ethnicity, self.relation, self.education, self.labour):
            c.currentTextChanged.connect(self._mark_dirty)
        for cb in self.flags.values():
            cb.toggled.connect(self._mark_dirty)
        self.notes.textChanged.connect(self._mark_dirty)
        self.id_number.changed.connect(self._id_changed)
        self.name.editingFinished.connect(lambda: self._check_field("name"))
        self.phone.editingFinished.connect(lambda: self._check_field("phone"))
        self.birth.editingFinished.connect(lambda: self._check_field("birth_date"))
        self.dirty = False
        self.name.setFocus()

    def _load(self, p: persons.Person) -> None:
        self.name.setText(p.name)
        if p.id_number:
            from app.ui.registry.reveal_id import reveal

            self.id_number.set_masked(p.id_number, lambda: reveal(self.ctx.db, p.id, p.name, self))
        else:
            self.id_number.setText(None)
        set_combo(self.sex, p.sex)
        self.birth.setText(p.birth_date or "")
        set_combo(self.ethnicity, p.ethnicity)
        set_combo(self.relation, p.relation)
        self.phone.setText(p.phone or "")
        set_combo(self.education, p.education)
        set_combo(self.labour, p.labour_ability)
        for key, cb in self.flags.items():
            cb.setChecked(p.flags[key])
        self.notes.setPlainText(p.notes or "")
        change = audit.last_change(self.ctx.db, "person", p.id)
        self.last_change.setText(change.describe(self.ctx.db.site_id) if change else "")
        if p.status != PersonStatus.REGISTERED:
            self.setWindowTitle(f"编辑成员（{p.status} {p.status_date or ''}）")

    def _id_changed(self) -> None:
        self._show_error("id_number", None)  # the edit's own message line says what is wrong

    def _id_parsed(self, info: IdInfo) -> None:
        """Fill sex and birth date from the number; flag what the clerk typed if it differs."""
        notes = []
        typed_sex, typed_birth = self.sex.currentText(), self.birth.text().strip()
        if typed_sex and typed_sex != info.sex:
            notes.append(f"性别原填“{typed_sex}”，与身份证号不符，已改为“{info.sex}”。")
        if typed_birth and typed_birth != info.birth_date.isoformat():
            notes.append(f"出生日期原填 {typed_birth}，与身份证号不符，已改为 {info.birth_date.isoformat()}。")
        set_combo(self.sex, info.sex)
        self.birth.setText(info.birth_date.isoformat())
        self.warning.setText("\n".join(notes))

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name.text(),
            "id_number": self.id_number.text(),
            "sex": self.sex.currentText() or None,
            "birth_date": self.birth.text().strip() or None,
            "ethnicity": self.ethnicity.currentText(),
            "relation": self.relation.currentText(),
            "phone": self.phone.text(),
            "education": self.education.currentText(),
            "labour_ability": self.labour.currentText() or None,
            "notes": self.notes.toPlainText(),
        }
        for key, cb in self.flags.items():
            out[key] = cb.isChecked()
        return out

    def _show_error(self, fld: str | None, message: str | None) -> None:
        for key, label in self.errors.items():
            if key == fld and message:
                label.setText(message)
                label.show()
            elif fld is None or key == fld:
                label.hide()

    def _focus_field(self, fld: str | None) -> None:
        widget = {"name": self.name, "id_number": self.id_number.edit, "sex": self.sex, "birth_date": self.birth,
                  "phone": self.phone, "ethnicity": self.ethnicity, "relation": self.relation,
                  "education": self.education, "labour_ability": self.labour, "notes": self.notes}.get(fld or "")
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def field_errors(self) -> dict[str, str]:
        """Every field's problem at once (not just the first), in form order."""
        v = self.values()
        checks = [
            ("name", lambda: persons.clean_name(v["name"])),
            ("birth_date", lambda: persons.clean_date(v["birth_date"], "birth_date", "出生日期")),
            ("ethnicity", lambda: persons.clean_text(v["ethnicity"], "ethnicity", "民族", 20)),
            ("relation", lambda: persons.clean_text(v["relation"], "relation", "与户主关系", 20)),
            ("phone", lambda: persons.clean_phone(v["phone"])),
            ("education", lambda: persons.clean_text(v["education"], "education", "文化程度", 20)),
            ("notes", lambda: persons.clean_text(v["notes"], "notes", "备注", 1000, formula_ok=True)),
        ]
        errors: dict[str, str] = {}
        if not self.id_number.is_acceptable() and not self.id_number.only_check_digit_wrong():
            errors["id_number"] = "身份证号有误，改正后才能保存（没有号码可以留空）。"
        for key, check in checks:
            try:
                check()
            except ValidationError as exc:
                errors[key] = exc.message
        return errors

    def _check_field(self, key: str) -> None:
        """After leaving a field: say at once what is wrong with it."""
        self._show_error(key, self.field_errors().get(key))

    def save(self) -> None:
        """Check, ask about duplicates, write; the dialog closes only when the person is saved."""
        self._show_error(None, None)
        errors = self.field_errors()
        if errors:
            for key, message in errors.items():
                self.errors[key].setText(message)
                self.errors[key].show()
            self._focus_field(next(iter(errors)))
            return
        values = self.values()
        accept_unverified = False
        try:
            try:
                checked = persons.check(values)
            except persons.UnverifiedIdNumber as exc:
                # A clerk whose paper record has a slip may keep it as written, marked 待核实.
                if not messages.confirm(
                    self, "身份证号待核实",
                    f"{exc.reason}\n\n如纸质档案上就是这个号码，可以先按原样保存，并标记为“待核实”"
                    "（在名单中显示，可按“身份证待核实”筛选，打印时注明），核对身份证原件后再改正。\n\n按原样保存并标记为待核实吗？",
                ):
                    self._show_error("id_number", exc.message)
                    self._focus_field("id_number")
                    return
                accept_unverified = True
                checked = persons.check(values, accept_unverified_id=True)
        except ValidationError as exc:
            self._show_error(exc.field, exc.message)
            self._focus_field(exc.field)
            return
        db = self.ctx.db
        row = checked.values
        if row["id_number"] and (dups := persons.find_by_id_number(db, row["id_number"], self.person_id)):
            self._duplicate(dups, blocking=True)
            return
        near = persons.near_matches(db, row["name"], row["birth_date"], self.person_id)
        near = [e for e in near if not (row["id_number"] and e.id_number == row["id_number"])]
        if near:
            choice, hid = DuplicateDialog.ask(self, near, blocking=False)
            if choice == OPEN:
                self._open_other(hid)
                return
            if choice == CANCEL:
                return
        if self.household_id is None:
            self.collected = households.NewMember(values, accept_unverified)
            self.dirty = False
            self.accept()
            return
        person_id, household_id = self.person_id, self.household_id

        def save(db: Database) -> str:
            assert household_id is not None  # a new household's members are collected above
            if person_id:
                persons.update(db, person_id, values, accept_unverified_id=accept_unverified)
                return person_id
            return persons.add(db, household_id, values, accept_unverified_id=accept_unverified)

        def failed(exc: KnownError) -> None:
            if isinstance(exc, persons.DuplicateIdNumber):
                self._duplicate(exc.existing, blocking=True)
            elif isinstance(exc, ValidationError):
                self._show_error(exc.field, exc.message)
                self._focus_field(exc.field)
            else:
                messages.warn(self, "无法保存", str(exc))

        done = perform(self.ctx, self, save, on_error=failed)
        if not done:
            return
        self.saved_id = done.value
        self.dirty = False
        self.accept()

    def _duplicate(self, existing: list[persons.Existing], *, blocking: bool) -> None:
        self._show_error("id_number", "这个身份证号已经登记过。")
        choice, hid = DuplicateDialog.ask(self, existing, blocking=blocking)
        if choice == OPEN:
            self._open_other(hid)
        else:
            self._focus_field("id_number")

    def _open_other(self, household_id: str | None) -> None:
        """Close without saving and let the caller open the existing household."""
        self.open_household_id = household_id
        self.dirty = False
        self.done(QDialog.DialogCode.Rejected)

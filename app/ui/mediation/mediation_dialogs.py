"""Dialogs of the mediation tab: case form with party picker, status, level, follow-up, note, print."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core import settings
from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.mediation import mediation as med
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.ui.places.building_board import fill_building_combo, with_board_button
from app.widgets.screen_fit import FitScrollArea
from app.widgets.search_box import SearchField


def _date_edit(name: str, label: str, value: QDate | None = None) -> QDateEdit:
    d = QDateEdit()
    d.setObjectName(name)
    d.setAccessibleName(label)
    d.setCalendarPopup(True)
    d.setDisplayFormat("yyyy-MM-dd")
    d.setMaximumDate(QDate.currentDate())  # nothing in the mediation log happens in the future
    d.setDate(value or QDate.currentDate())
    return d


def _iso(d: QDateEdit) -> str:
    return d.date().toString("yyyy-MM-dd")


class _FormDialog(QDialog):
    """A form whose OK runs `apply(values)`; a KnownError keeps the dialog open with the message."""

    def __init__(self, parent: QWidget | None, ctx: AppContext, title: str, name: str) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setObjectName(name)
        self.setAccessibleName(title)
        # The write a save makes, run as one operation: apply(db, values).
        self.apply: Callable[[Database, dict], Any] | None = None
        self.outcome: Any = None
        # The form scrolls when the screen is too short for it (a large text size at 1366×768).
        self.outer_layout = QVBoxLayout(self)
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.body_scroll = FitScrollArea(body, self)
        self.outer_layout.addWidget(self.body_scroll, 1)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error_label = QLabel()
        self.error_label.setObjectName(f"{name}Error")
        self.error_label.setStyleSheet("color:#d9363e")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

    def _finish_layout(self) -> None:
        self.outer_layout.addWidget(self.error_label)
        # A message about what was wrong goes once the clerk changes anything: it no longer
        # describes the form (e.g. "add a party" after a party was added).
        for edit in self.findChildren(QLineEdit):
            edit.textEdited.connect(self._clear_error)
        for text in self.findChildren(QPlainTextEdit):
            text.textChanged.connect(self._clear_error)
        for combo in self.findChildren(QComboBox):
            combo.activated.connect(self._clear_error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("保存")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.outer_layout.addWidget(self.buttons)

    def _clear_error(self, *_args: object) -> None:
        self.error_label.hide()
        self.error_label.clear()

    def values(self) -> dict:
        raise NotImplementedError

    def accept(self) -> None:
        try:
            vals = self.values()
        except KnownError as exc:
            self._refused(exc)
            return
        if self.apply is None:
            self.outcome = vals
        else:
            apply = self.apply
            done = perform(self.ctx, self, lambda db: apply(db, vals), on_error=self._refused)
            if not done:
                return
            self.outcome = done.value
        super().accept()

    def _refused(self, exc: KnownError) -> None:
        # stay open: the clerk corrects the one field instead of typing everything again
        self.error_label.setText(str(exc))
        self.error_label.show()
        messages.warn(self, "无法保存", str(exc))

    @classmethod
    def run(cls, parent: QWidget | None, *args: Any, apply: Callable[[Database, dict], Any] | None = None) -> Any:
        """Show the dialog; returns what `apply` returned (or the values), None when cancelled."""
        dlg = cls(parent, *args)
        dlg.apply = apply
        ok = dlg.exec() == QDialog.DialogCode.Accepted
        result = dlg.outcome if ok else None
        dlg.deleteLater()
        return result


class CaseDialog(_FormDialog):
    """New or edited case: facts, building, level, mediators, and parties (residents or outsiders)."""

    def __init__(self, parent: QWidget | None, ctx: AppContext, case_id: str | None = None) -> None:
        super().__init__(parent, ctx, "修改调解案件" if case_id else "新建调解案件", "mediationCaseDialog")
        self.ctx = ctx
        db = ctx.db
        self.case_id = case_id
        self.resize(760, 640)
        self.received = _date_edit("caseReceived", "受理日期")
        self.source = QComboBox()
        self.source.setObjectName("caseSource")
        self.source.addItems(med.SOURCES)
        self.source.setCurrentText("来访")
        self.category = QComboBox()
        self.category.setObjectName("caseCategory")
        self.category.addItem("（未分类）", None)
        for c in med.categories(db):
            self.category.addItem(c, c)
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("caseTitle")
        self.title_edit.setAccessibleName("案件标题")
        self.title_edit.setPlaceholderText("一句话说明纠纷，如：楼上漏水引发邻里纠纷")
        self.description = QPlainTextEdit()
        self.description.setObjectName("caseDescription")
        self.description.setAccessibleName("纠纷情况")
        self.description.setFixedHeight(70)
        self.building = QComboBox()
        self.building.setObjectName("caseBuilding")
        self.building.addItem("（不涉及具体楼栋）", None)
        fill_building_combo(self.building, db, include_retired=True)  # an old case keeps its building
        self.level = QComboBox()
        self.level.setObjectName("caseLevel")
        self.level.addItems(med.LEVELS)
        self.mediators = QLineEdit()
        self.mediators.setObjectName("caseMediators")
        self.mediators.setAccessibleName("调解员")
        self.mediators.setPlaceholderText("多人用顿号分开")
        self.form.addRow("受理日期", self.received)
        self.form.addRow("来源", self.source)
        self.form.addRow("类别", self.category)
        self.form.addRow("标题*", self.title_edit)
        self.form.addRow("情况", self.description)
        self.form.addRow("涉及楼栋", with_board_button(self.building, db, self))
        self.form.addRow("调解层级", self.level)
        self.form.addRow("调解员", self.mediators)

        # -- parties ----------------------------------------------------------------------------
        self.layout_.addWidget(QLabel("<b>当事人</b>（居民从台账中选择，外来人员填写姓名和电话）"))
        pick = QHBoxLayout()
        self.person_search = SearchField()
        self.person_search.setObjectName("partySearch")
        self.person_search.setAccessibleName("查找居民")
        self.person_search.setPlaceholderText("居民姓名 / 拼音首字母 / 身份证号，回车查找")
        self.person_search.returnPressed.connect(self._search_persons)
        find = QPushButton("查找")
        find.setObjectName("partyFind")
        find.clicked.connect(self._search_persons)
        pick.addWidget(self.person_search, 1)
        pick.addWidget(find)
        self.layout_.addLayout(pick)
        self.person_results = QListWidget()
        self.person_results.setObjectName("partyResults")
        self.person_results.setAccessibleName("查找结果")
        self.person_results.setFixedHeight(90)
        self.person_results.itemActivated.connect(lambda _i: self._add_selected_person())
        self.layout_.addWidget(self.person_results)
        add_row = QHBoxLayout()
        self.add_person_button = QPushButton("添加所选居民")
        self.add_person_button.setObjectName("partyAddResident")
        self.add_person_button.clicked.connect(self._add_selected_person)
        self.outsider_name = QLineEdit()
        self.outsider_name.setObjectName("outsiderName")
        self.outsider_name.setAccessibleName("外来人员姓名")
        self.outsider_name.setPlaceholderText("外来人员姓名")
        self.outsider_phone = QLineEdit()
        self.outsider_phone.setObjectName("outsiderPhone")
        self.outsider_phone.setAccessibleName("外来人员电话")
        self.outsider_phone.setPlaceholderText("电话")
        add_out = QPushButton("添加外来人员")
        add_out.setObjectName("partyAddOutsider")
        add_out.clicked.connect(self._add_outsider)
        add_row.addWidget(self.add_person_button)
        add_row.addStretch(1)
        add_row.addWidget(self.outsider_name)
        add_row.addWidget(self.outsider_phone)
        add_row.addWidget(add_out)
        self.layout_.addLayout(add_row)
        self.party_table = QTableWidget(0, 4)
        self.party_table.setObjectName("partyTable")
        self.party_table.setAccessibleName("当事人列表")
        self.party_table.setHorizontalHeaderLabels(["姓名", "户号 / 房号", "电话", "类型"])
        self.party_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.party_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.party_table.horizontalHeader().setStretchLastSection(True)
        self.party_table.setColumnWidth(1, 220)
        self.party_table.setFixedHeight(120)
        self.layout_.addWidget(self.party_table)
        remove = QPushButton("移除所选当事人")
        remove.setObjectName("partyRemove")
        remove.clicked.connect(self._remove_party)
        self.layout_.addWidget(remove, 0, Qt.AlignmentFlag.AlignLeft)
        self.parties: list[dict] = []
        self._finish_layout()
        if case_id:
            self._load(case_id)
        self.title_edit.setFocus()

    def _load(self, case_id: str) -> None:
        c = med.get_case(self.ctx.db, case_id)
        self.received.setDate(QDate.fromString(c["received_date"], "yyyy-MM-dd"))
        self.received.setEnabled(False)
        self.level.setCurrentText(c["level"])
        self.level.setEnabled(False)  # changes go through 升级/调整层级, which keeps the reason
        self.source.setCurrentText(c["source"] or "其他")
        idx = self.category.findData(c["category"])
        self.category.setCurrentIndex(max(idx, 0))
        self.title_edit.setText(c["title"])
        self.description.setPlainText(c["description"] or "")
        idx = self.building.findData(c["building_id"])
        self.building.setCurrentIndex(max(idx, 0))
        self.mediators.setText(c["mediators"] or "")
        for p in med.parties(self.ctx.db, case_id):
            if p["resident"]:
                self._append({"person_id": p["person_id"], "name": p["name"],
                              "where": f"{p['household_number'] or ''} {p['address']}", "phone": p["phone"]})
            else:
                self._append({"outsider_name": p["name"], "outsider_phone": p["phone"]})

    def _search_persons(self) -> None:
        self.person_results.clear()
        rows = med.search_persons(self.ctx.db, self.person_search.text())
        for r in rows:
            age = f"{r['age']} 岁" if r["age"] is not None else "年龄不详"
            tail = f"身份证尾号 {r['id_tail']}" if r["id_tail"] else "无身份证号"
            text = (f"{r['name']}　{r['sex'] or ''}　{age}　{tail}　户号 {r['household_number'] or '—'}"
                    f"　{r['room'] or ''}")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, r)
            self.person_results.addItem(item)
        if not rows:
            self.person_results.addItem(QListWidgetItem("（没有找到，外来人员请在右侧填写姓名和电话）"))
        elif len(rows) >= 1:
            self.person_results.setCurrentRow(0)

    def _add_selected_person(self) -> None:
        item = self.person_results.currentItem()
        r = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not r:
            return
        if any(p.get("person_id") == r["id"] for p in self.parties):
            messages.info(self, "已添加", f"“{r['name']}”已经在当事人中。")
            return
        self._append({"person_id": r["id"], "name": r["name"],
                      "where": f"{r['household_number'] or ''} {r['room'] or ''}", "phone": r["phone"]})
        if self.building.currentData() is None and r.get("building_id"):
            # The dispute is usually where the first resident party lives; the clerk can change it.
            i = self.building.findData(r["building_id"])
            if i >= 0:
                self.building.setCurrentIndex(i)

    def _add_outsider(self) -> None:
        name = self.outsider_name.text().strip()
        if not name:
            messages.info(self, "缺少姓名", "请填写外来人员的姓名。")
            return
        self._append({"outsider_name": name, "outsider_phone": self.outsider_phone.text().strip()})
        self.outsider_name.clear()
        self.outsider_phone.clear()

    def _append(self, p: dict) -> None:
        self._clear_error()
        self.parties.append(p)
        r = self.party_table.rowCount()
        self.party_table.insertRow(r)
        resident = "person_id" in p
        cells = [p.get("name") or p.get("outsider_name"), p.get("where", "") if resident else "—",
                 p.get("phone") or p.get("outsider_phone") or "", "居民" if resident else "外来人员"]
        for i, text in enumerate(cells):
            self.party_table.setItem(r, i, QTableWidgetItem(text or ""))

    def _remove_party(self) -> None:
        r = self.party_table.currentRow()
        if 0 <= r < len(self.parties):
            self.parties.pop(r)
            self.party_table.removeRow(r)

    def values(self) -> dict:
        parties = []
        for p in self.parties:
            if "person_id" in p:
                parties.append({"person_id": p["person_id"]})
            else:
                parties.append({"outsider_name": p["outsider_name"], "outsider_phone": p["outsider_phone"]})
        vals = {
            "title": self.title_edit.text(), "description": self.description.toPlainText(),
            "source": self.source.currentText(), "category": self.category.currentData(),
            "building_id": self.building.currentData(), "mediators": self.mediators.text(),
            "parties": parties,
        }
        if not self.case_id:
            vals.update(received_date=_iso(self.received), level=self.level.currentText())
        return vals


STATUS_HINTS = {
    "已调解": "调解成功后须登记回访：登记第一次回访后案件自动变为“已回访”，之后才能结案。",
    "调解不成": "调解不成的案件可以升级层级继续调解、移交，或回访后结案。",
    "已移交": "移交后须登记回访了解处理结果，之后才能结案。",
}


class StatusDialog(_FormDialog):
    """Move the case to one of the statuses the workflow allows from where it is."""

    def __init__(self, parent: QWidget | None, ctx: AppContext, case: dict) -> None:
        super().__init__(parent, ctx, f"办理案件 {case['number']}", "mediationStatusDialog")
        self.ctx = ctx
        self.case = case
        self.resize(520, 380)
        allowed = med.manual_next(case["status"])
        self.form.addRow("当前状态", QLabel(f"<b>{case['status']}</b>（{case['level']}）"))
        self.to_status = QComboBox()
        self.to_status.setObjectName("statusTo")
        self.to_status.setAccessibleName("改为状态")
        self.to_status.addItems(list(allowed))
        self.date = _date_edit("statusDate", "日期")
        self.referred_to = QLineEdit()
        self.referred_to.setObjectName("statusReferredTo")
        self.referred_to.setAccessibleName("移交给")
        self.referred_to.setPlaceholderText("如：街道综治中心、派出所、劳动监察大队")
        self.agreement_text = QPlainTextEdit()
        self.agreement_text.setObjectName("statusAgreement")
        self.agreement_text.setAccessibleName("协议内容")
        self.agreement_text.setPlaceholderText("双方自愿达成的协议条款，逐条填写")
        self.agreement_text.setPlainText(case.get("agreement_text") or "")
        self.note = QLineEdit()
        self.note.setObjectName("statusNote")
        self.note.setAccessibleName("说明")
        self.hint = QLabel()
        self.hint.setObjectName("statusHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#b36b00")
        self.form.addRow("改为", self.to_status)
        self.form.addRow("日期", self.date)
        self.form.addRow("移交给", self.referred_to)
        self.form.addRow("协议内容", self.agreement_text)
        self.form.addRow("说明", self.note)
        self.layout_.addWidget(self.hint)
        self._finish_layout()
        if not allowed:
            # e.g. 已调解: the only way on is a follow-up, recorded with its own button.
            self.to_status.addItem("（无可选状态）")
            for w in (self.to_status, self.date, self.referred_to, self.agreement_text, self.note):
                w.setEnabled(False)
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.to_status.currentTextChanged.connect(self._update)
        self._update(self.to_status.currentText())

    def _update(self, status: str) -> None:
        self.referred_to.setEnabled(status == "已移交")
        self.agreement_text.setEnabled(status == "已调解")
        hint = STATUS_HINTS.get(status, "")
        if status == "结案":
            hint = "结案后不能再修改。"
        if self.case["status"] in med.CONCLUDED and status != "调解中":
            hint = (f"案件{self.case['status']}，须先登记回访才能结案：请关闭本窗口，"
                    "在调解台账中选中案件后点“登记回访”；登记后自动变为“已回访”。")
        self.hint.setText(hint)

    def accept(self) -> None:
        if self.to_status.currentText() == "结案":
            if not messages.confirm_destructive(
                self, "确认结案", f"案件 {self.case['number']} 结案后不能再修改、登记回访或调整层级。确定结案吗？",
            ):
                return
        super().accept()

    def values(self) -> dict:
        return {"to_status": self.to_status.currentText(), "date": _iso(self.date), "note": self.note.text(),
                "referred_to": self.referred_to.text(), "agreement_text": self.agreement_text.toPlainText()}


class LevelDialog(_FormDialog):
    """Escalate (楼栋 → 社区 → 街道) or hand back, with the reason kept in the history."""

    def __init__(self, parent: QWidget | None, ctx: AppContext, case: dict) -> None:
        super().__init__(parent, ctx, f"调整调解层级 {case['number']}", "mediationLevelDialog")
        self.case = case
        self.form.addRow("当前层级", QLabel(f"<b>{case['level']}</b>（自 {case['level_since']} 起）"))
        self.to_level = QComboBox()
        self.to_level.setObjectName("levelTo")
        self.to_level.setAccessibleName("改为层级")
        others = [lv for lv in med.LEVELS if lv != case["level"]]
        self.to_level.addItems(others)
        higher = [lv for lv in others if med.LEVELS.index(lv) > med.LEVELS.index(case["level"])]
        if higher:
            self.to_level.setCurrentText(higher[0])
        self.reason = QLineEdit()
        self.reason.setObjectName("levelReason")
        self.reason.setAccessibleName("原因")
        self.reason.setPlaceholderText("如：楼栋调解未果，双方分歧较大")
        self.date = _date_edit("levelDate", "日期")
        self.form.addRow("改为", self.to_level)
        self.form.addRow("原因*", self.reason)
        self.form.addRow("日期", self.date)
        self.form.addRow("", QLabel("时限从该日期起按新层级重新计算。"))
        self._finish_layout()

    def values(self) -> dict:
        return {"to_level": self.to_level.currentText(), "reason": self.reason.text(), "date": _iso(self.date)}


class FollowupDialog(_FormDialog):
    """A follow-up visit (回访): date, who, outcome, notes, next date if needed."""

    def __init__(self, parent: QWidget | None, ctx: AppContext, case: dict) -> None:
        super().__init__(parent, ctx, f"登记回访 {case['number']}", "mediationFollowupDialog")
        self.date = _date_edit("followupDate", "回访日期")
        self.visitor = QLineEdit(ctx.user)
        self.visitor.setObjectName("followupVisitor")
        self.visitor.setAccessibleName("回访人")
        self.outcome_box = QComboBox()
        self.outcome_box.setObjectName("followupOutcome")
        self.outcome_box.setAccessibleName("回访结果")
        self.outcome_box.addItems(med.OUTCOMES_FOLLOWUP)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("followupNotes")
        self.notes.setAccessibleName("回访情况")
        self.notes.setFixedHeight(80)
        self.need_next = QCheckBox("需要再次回访")
        self.need_next.setObjectName("followupNeedNext")
        self.next_date = QDateEdit(QDate.currentDate().addDays(30))
        self.next_date.setObjectName("followupNextDate")
        self.next_date.setDisplayFormat("yyyy-MM-dd")
        self.next_date.setCalendarPopup(True)
        self.next_date.setEnabled(False)
        self.need_next.toggled.connect(self.next_date.setEnabled)
        self.form.addRow("回访日期", self.date)
        self.form.addRow("回访人", self.visitor)
        self.form.addRow("当事人是否满意", self.outcome_box)
        self.form.addRow("回访情况", self.notes)
        self.form.addRow(self.need_next, self.next_date)
        self._finish_layout()

    def values(self) -> dict:
        return {"followup_date": _iso(self.date), "visitor": self.visitor.text(),
                "outcome": self.outcome_box.currentText(), "notes": self.notes.toPlainText(),
                "next_date": _iso(self.next_date) if self.need_next.isChecked() else None}


class NoteDialog(_FormDialog):
    """A progress note (调解经过) in the case history."""

    def __init__(self, parent: QWidget | None, ctx: AppContext) -> None:
        super().__init__(parent, ctx, "记录调解经过", "mediationNoteDialog")
        self.date = _date_edit("noteDate", "日期")
        self.note = QPlainTextEdit()
        self.note.setObjectName("noteText")
        self.note.setAccessibleName("调解经过")
        self.form.addRow("日期", self.date)
        self.form.addRow("经过", self.note)
        self._finish_layout()

    def values(self) -> dict:
        return {"date": _iso(self.date), "note": self.note.toPlainText()}


class SettingsDialog(_FormDialog):
    """Time limits per level and the category list (synced office settings)."""

    def __init__(self, parent: QWidget | None, ctx: AppContext) -> None:
        super().__init__(parent, ctx, "调解设置", "mediationSettingsDialog")
        limits = med.limits(ctx.db)
        self.spins: dict[str, QSpinBox] = {}
        for lv in med.LEVELS:
            spin = QSpinBox()
            spin.setObjectName(f"limit{med.LEVELS.index(lv)}")
            spin.setAccessibleName(f"{lv}时限天数")
            limit = settings.REGISTRY[f"mediation_limit_{lv}"]
            assert isinstance(limit, settings.IntSetting)
            spin.setRange(limit.minimum, limit.maximum)
            spin.setSuffix(f" {limit.unit}")
            spin.setValue(limits[lv])
            self.spins[lv] = spin
            self.form.addRow(f"{lv}层级时限", spin)
        self.categories = QPlainTextEdit("\n".join(med.categories(ctx.db)))
        self.categories.setObjectName("settingsCategories")
        self.categories.setAccessibleName("纠纷类别")
        self.form.addRow("纠纷类别（每行一个）", self.categories)
        self.form.addRow("", QLabel("时限从案件升到当前层级之日起算；已用不足 2/3 为绿色，\n"
                                    "2/3 及以上为黄色，超过时限为红色。"))
        self._finish_layout()

    def values(self) -> dict:
        return {"limit_days": {lv: s.value() for lv, s in self.spins.items()},
                "category_list": self.categories.toPlainText().splitlines()}


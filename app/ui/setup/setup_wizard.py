"""工具 → 社区设置: the set-up wizard (community, grids and buildings, user name, then the ledgers).

Shown by itself on the first start on an empty database (community_setup.setup_state), and kept
as a draft on this PC when it is closed half-way, so the next start resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.models.core.errors import KnownError
from app.models.places import community_setup as setup
from app.models.places import places
from app.models.places.signs import sign_name
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.ui.shell import Shell
from app.widgets import screen_fit
from app.widgets.qt_checked import cell
from app.widgets.sign_chooser import SignChooserDialog
from app.widgets.sign_icon import sign_icon

PAGE_COMMUNITY, PAGE_PLACES, PAGE_USER, PAGE_NEXT = range(4)

# Building table: (spec field, header, width). Numbers are typed as text and checked in the data layer.
COLUMNS = [
    ("name", "楼栋名称", 110),
    ("grid", "网格", 100),
    ("units", "单元数", 60),
    ("floors", "层数", 50),
    ("rooms_per_floor", "每层户数", 70),
    ("empty_floors", "无住户楼层", 85),
    ("missing", "缺少的房间", 110),
    ("renumbered", "改号（原=新）", 120),
    ("sign", "图标", 90),
    ("head", "楼栋长", 90),
]
COL = {key: i for i, (key, _h, _w) in enumerate(COLUMNS)}
NUMBER_KEYS = ("units", "floors", "rooms_per_floor")
GRID_KEYS = ("units", "floors", "rooms_per_floor", "empty_floors", "missing", "renumbered")
ROLE_SPEC = Qt.ItemDataRole.UserRole  # on the name cell: the explicit rooms of a building from a room list
ROLE_SIGN = Qt.ItemDataRole.UserRole + 1

ERROR_STYLE = "color: #c92a2a;"


def _error_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel("", parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class BuildingTable(QTableWidget):
    """The buildings table: Enter or Space on the sign column opens the sign chooser (and stays on this page)."""

    def __init__(self, rows: int, columns: int, parent: QWidget, choose_sign: Callable[[int], None]) -> None:
        super().__init__(rows, columns, parent)
        self._choose_sign = choose_sign

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)
        if (event.key() in keys and self.currentColumn() == COL["sign"]
                and self.state() != QAbstractItemView.State.EditingState):
            event.accept()
            self._choose_sign(self.currentRow())
            return
        super().keyPressEvent(event)


class CommunityPage(QWizardPage):
    """Page 1: the community and the office details printed on forms."""

    FIELDS = [
        ("name", "社区名称(&M)：", 40),
        ("street", "街道办事处(&S)：", 40),
        ("county", "县（市、区）(&C)：", 40),
        ("office_name", "单位名称（打印抬头）：", 40),
        ("office_address", "单位地址（打印在表格上）：", 100),
        ("office_phone", "联系电话（打印在表格上）：", 40),
    ]

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setObjectName("setupCommunityPage")
        self.setTitle("第 1 步：社区")
        self.setSubTitle("填写社区和服务中心的信息。单位名称、地址和电话印在每一张打印的表格上，以后可在“工具 → 单位设置”中修改。")
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, label, length in self.FIELDS:
            edit = QLineEdit(self)
            edit.setObjectName(f"setup_{key}")
            edit.setAccessibleName(label.split("(")[0].rstrip("："))
            edit.setMaxLength(length)
            form.addRow(label, edit)
            self.edits[key] = edit
        self.edits["name"].setPlaceholderText("例如：幸福社区")
        self.edits["office_address"].setPlaceholderText("例如：某某县某某街道幸福路 1 号")
        self.error = _error_label(self, "setupCommunityError")
        form.addRow(self.error)
        self.registerField("community*", self.edits["name"])
        # The letterhead follows the community's name until the clerk types one of their own.
        self._auto_office = True
        self.edits["name"].textEdited.connect(self._name_edited)
        self.edits["office_name"].textEdited.connect(lambda _t: setattr(self, "_auto_office", False))

    def _name_edited(self, text: str) -> None:
        if self._auto_office:
            self.edits["office_name"].setText(setup.office_name_for(text))

    def set_info(self, info: setup.CommunityInfo) -> None:
        for key, edit in self.edits.items():
            edit.setText(getattr(info, key))
        self._auto_office = info.office_name in ("", setup.office_name_for(info.name))

    def info(self) -> setup.CommunityInfo:
        return setup.CommunityInfo(**{k: e.text() for k, e in self.edits.items()})

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        # The community is written at once (as `anju init` does): the next start resumes at the buildings.
        info = self.info()

        def failed(exc: KnownError) -> None:
            self.error.setText(str(exc))
            field = getattr(exc, "field", None)
            if field in self.edits:
                self.edits[field].setFocus()

        if not perform(self.wiz.ctx, self, lambda db: setup.save_community(db, info), on_error=failed):
            return False
        self.error.setText("")
        return True


class PlacesPage(QWizardPage):
    """Page 2: grids and buildings typed in a table or read from an Excel room list, with a preview."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setObjectName("setupPlacesPage")
        self.setTitle("第 2 步：网格和楼栋")
        self.setSubTitle("每栋楼一行，填完一栋按 Tab 接着填下一栋；也可以从 Excel 房间清单导入。")
        # The rules sit in the page, not the subtitle: the wizard's header shows one line only.
        self.help = QLabel(
            "房间按“层号+序号”编号（如 501、502）。底层是商铺就在“无住户楼层”填 1；没有的房间填在“缺少的房间”"
            "（如 2-502，不写单元号表示每个单元都没有）；编号特殊的房间填在“改号”（如 1-1101=1101A）。"
            "在“图标”列按 Enter 选择图标；楼栋长可以不填。",
            self,
        )
        self.help.setObjectName("setupPlacesHelp")
        self.help.setWordWrap(True)
        self.existing = QLabel("", self)
        self.existing.setObjectName("setupExistingPlaces")
        self.existing.setWordWrap(True)
        self.table = BuildingTable(0, len(COLUMNS), self, lambda row: self.choose_sign(row))
        self.table.setObjectName("setupBuildingsTable")
        self.table.setAccessibleName("楼栋清单")
        self.table.setHorizontalHeaderLabels([h for _k, h, _w in COLUMNS])
        self.table.setTabKeyNavigation(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        for i, (_k, _h, width) in enumerate(COLUMNS):
            self.table.setColumnWidth(i, width)
        for key in ("missing", "renumbered"):
            header.setSectionResizeMode(COL[key], QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._changed)
        self.table.cellDoubleClicked.connect(self._cell_activated)

        self.add_button = QPushButton("添加一行(&A)", self)
        self.add_button.setObjectName("setupAddBuilding")
        self.remove_button = QPushButton("删除所选行(&D)", self)
        self.remove_button.setObjectName("setupRemoveBuilding")
        self.sign_button = QPushButton("选择图标(&I)…", self)
        self.sign_button.setObjectName("setupChooseSign")
        self.import_button = QPushButton("从 Excel 房间清单导入(&X)…", self)
        self.import_button.setObjectName("setupImportRooms")
        self.add_button.clicked.connect(lambda: self.add_row(focus=True))
        self.remove_button.clicked.connect(self.remove_selected)
        self.sign_button.clicked.connect(lambda: self.choose_sign(self.table.currentRow()))
        self.import_button.clicked.connect(self.import_room_list)
        for b in (self.add_button, self.remove_button, self.sign_button, self.import_button):
            b.setAutoDefault(False)  # Enter goes to 下一步, not to the button that last had focus
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.sign_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)

        self.note = QLabel("", self)
        self.note.setObjectName("setupRoomListNote")
        self.note.setWordWrap(True)
        self.preview = QLabel("", self)
        self.preview.setObjectName("setupPreview")
        self.preview.setAccessibleName("将要新建的内容")
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.RichText)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.addWidget(self.help)
        lay.addWidget(self.existing)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.note)
        lay.addWidget(self.preview)
        self._filling = False
        self.plan: setup.PlacesPlan | None = None

    # -- rows -----------------------------------------------------------------------------------
    def add_row(self, values: dict[str, Any] | None = None, *, focus: bool = False) -> int:
        """Append a row (empty unless `values` are given)."""
        row = self.table.rowCount()
        values = values or {}
        self._filling = True
        try:
            self.table.insertRow(row)
            for key, c in COL.items():
                value = values.get(key)
                item = QTableWidgetItem("" if value in (None, 0) else str(value))
                if key == "sign":
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    self._show_sign(item, values.get("sign"))
                self.table.setItem(row, c, item)
            rooms = values.get("rooms")
            if rooms is not None:
                self._fix_rooms(row, rooms)
        finally:
            self._filling = False
        if focus:
            self.table.setCurrentCell(row, COL["name"])
            self.table.setFocus()
        self.refresh_preview()
        return row

    def _fix_rooms(self, row: int, rooms: setup.Rooms) -> None:
        # A building read from a room list keeps its rooms as listed: its grid columns only show them.
        cell(self.table, row, COL["name"]).setData(ROLE_SPEC, {str(u): [list(r) for r in rs] for u, rs in rooms.items()})
        floors = max((f or 0 for rs in rooms.values() for _n, f in rs), default=0)
        shown = {"units": len(rooms), "floors": floors or "", "rooms_per_floor": "按清单",
                 "empty_floors": "", "missing": f"按房间清单，共 {sum(len(r) for r in rooms.values())} 间",
                 "renumbered": ""}
        for key in GRID_KEYS:
            item = cell(self.table, row, COL[key])
            item.setText(str(shown[key]))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setForeground(Qt.GlobalColor.darkGray)

    def _show_sign(self, item: QTableWidgetItem, key: str | None) -> None:
        item.setData(ROLE_SIGN, key)
        item.setText(sign_name(key) if key else "选择…")
        item.setToolTip("按 Enter 或双击选择图标")
        item.setIcon(sign_icon(key))

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()} | {self.table.currentRow()} - {-1}, reverse=True)
        for r in rows:
            self.table.removeRow(r)
        if not self.table.rowCount():
            self.add_row()
        self.refresh_preview()

    def spec_at(self, row: int) -> setup.BuildingSpec | None:
        """The building typed in a row; None for a row left empty."""
        def text(key: str) -> str:
            item = cell(self.table, row, COL[key])
            return item.text().strip() if item is not None else ""

        name_item = cell(self.table, row, COL["name"])
        rooms_data = name_item.data(ROLE_SPEC) if name_item is not None else None
        typed = [text(k) for k in ("name", "grid", *NUMBER_KEYS, "missing", "renumbered", "head")]
        sign_item = cell(self.table, row, COL["sign"])
        sign = sign_item.data(ROLE_SIGN) if sign_item is not None else None
        if not any(typed) and not sign and rooms_data is None:
            return None
        spec = setup.BuildingSpec(
            name=text("name"), grid=text("grid"), empty_floors=text("empty_floors"), missing=text("missing"),
            renumbered=text("renumbered"), sign=sign, head=text("head"), where=f"第 {row + 1} 行",
        )
        if rooms_data is not None:
            spec.rooms = {int(u): [(str(n), f) for n, f in rs] for u, rs in rooms_data.items()}
            spec.missing = ""
            return spec
        for key in NUMBER_KEYS:
            value = text(key)
            setattr(spec, key, int(value) if value.isdigit() else (-1 if value else 0))
        return spec

    def specs(self) -> list[setup.BuildingSpec]:
        return [s for s in (self.spec_at(r) for r in range(self.table.rowCount())) if s is not None]

    def _changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        if item.column() == COL["name"] and item.text().strip():
            self._copy_from_above(item.row())
            # Typing a name on the last row opens the next one, so a whole estate is typed without the mouse.
            if item.row() == self.table.rowCount() - 1:
                self.add_row()
        self.refresh_preview()

    def _copy_from_above(self, row: int) -> None:
        """A new building starts with the grid and the numbers of the one above (neighbouring blocks are alike)."""
        if row == 0 or cell(self.table, row, COL["name"]).data(ROLE_SPEC) is not None:
            return
        keys = ("grid", *NUMBER_KEYS, "empty_floors")
        if any(cell(self.table, row, COL[k]).text().strip() for k in keys):
            return
        above = self.spec_at(row - 1)
        if above is None or above.rooms is not None:
            return
        self._filling = True
        try:
            for key in keys:
                value = getattr(above, key)
                cell(self.table, row, COL[key]).setText("" if value in (0, -1) else str(value))
        finally:
            self._filling = False

    def _cell_activated(self, row: int, column: int) -> None:
        if column == COL["sign"]:
            self.choose_sign(row)

    # -- signs ----------------------------------------------------------------------------------
    def choose_sign(self, row: int) -> None:
        if row < 0:
            return
        item = cell(self.table, row, COL["sign"])
        used = dict(self.wiz.used_signs())
        for r in range(self.table.rowCount()):
            other = cell(self.table, r, COL["sign"]).data(ROLE_SIGN)
            if r != row and other:
                used[other] = cell(self.table, r, COL["name"]).text() or f"第 {r + 1} 行"
        current = item.data(ROLE_SIGN)
        dialog = SignChooserDialog(current, {k: v for k, v in used.items() if k != current}, self)
        if dialog.exec():
            self._show_sign(item, dialog.selected())
            self.refresh_preview()

    # -- room list ------------------------------------------------------------------------------
    def import_room_list(self) -> None:
        path = self.wiz.ask_open_file("选择 Excel 房间清单")
        if path:
            self.load_room_list(path)

    def load_room_list(self, path: str | Path) -> bool:
        """Read a room list into the table (nothing is written yet); errors are listed on the page."""
        from app.models.excel.excel_import import plan_import
        from app.models.excel.excel_import_rooms import specs_from_plan

        try:
            plan = plan_import(self.wiz.ctx.db, path, ledger="rooms")
        except KnownError as exc:
            self.preview.setText(f"<span style='{ERROR_STYLE}'>{_html(str(exc))}</span>")
            return False
        if plan.errors:
            shown = "<br>".join(_html(e.message()) for e in plan.errors[:8])
            more = f"<br>……另有 {len(plan.errors) - 8} 处" if len(plan.errors) > 8 else ""
            self.preview.setText(
                f"<span style='{ERROR_STYLE}'>房间清单“{_html(Path(path).name)}”有 {len(plan.errors)} 处错误，"
                f"未读入。请在 Excel 中改正后再导入：<br>{shown}{more}</span>"
            )
            return False
        # Rows typed but left empty go, so the list follows what was typed.
        for r in reversed(range(self.table.rowCount())):
            if self.spec_at(r) is None:
                self.table.removeRow(r)
        typed = {s.name for s in self.specs()}
        both = []
        for spec in specs_from_plan(plan):
            if spec.name in typed:
                both.append(spec.name)  # typed here already: the typed row wins
                continue
            self.add_row({"name": spec.name, "grid": spec.grid, "rooms": spec.rooms})
        self.add_row()
        self.note.setText(
            f"已读入房间清单“{Path(path).name}”（尚未保存）。"
            + (f"表中已有的{'、'.join(both)}按表中填写的为准。" if both else "")
        )
        return True

    # -- preview --------------------------------------------------------------------------------
    def refresh_preview(self) -> None:
        if self._filling:
            return
        specs = self.specs()
        community = setup.current_community(self.wiz.ctx.db)
        self.plan = plan = setup.plan_places(self.wiz.ctx.db, community["id"] if community else None, specs)
        lines = [f"<b>{_html(plan.summary())}</b>"]
        lines += [_html(b.describe()) for b in plan.buildings[:12]]
        if len(plan.buildings) > 12:
            lines.append(f"……共 {len(plan.buildings)} 栋")
        lines += [f"<span style='{ERROR_STYLE}'>✗ {_html(p)}</span>" for p in plan.problems[:8]]
        self.preview.setText("<br>".join(lines))
        self.completeChanged.emit()

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.existing.setText(self.wiz.existing_text())
        if not self.table.rowCount():
            self.add_row()
        self.refresh_preview()
        self.table.setCurrentCell(self.table.rowCount() - 1, COL["name"])
        self.table.setFocus()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        plan = self.plan
        if plan is None or plan.problems:
            return False
        # A first set-up needs at least one building; adding later may add rooms to existing ones only.
        return bool(plan.buildings) or self.wiz.has_buildings()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        self.refresh_preview()
        return self.isComplete()


class UserPage(QWizardPage):
    """Page 3: who is at the keyboard (recorded on every change), and the commit."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setObjectName("setupUserPage")
        self.setTitle("第 3 步：您的姓名")
        self.setSubTitle("每一条修改都会记下是谁做的。在启用账户功能之前，这台电脑上的修改记在这个姓名下。")
        self.user = QLineEdit(self)
        self.user.setObjectName("setupUserName")
        self.user.setAccessibleName("您的姓名")
        self.user.setMaxLength(20)
        self.user.setPlaceholderText("例如：王芳")
        self.summary = QLabel("", self)
        self.summary.setObjectName("setupSummary")
        self.summary.setWordWrap(True)
        self.error = _error_label(self, "setupUserError")
        form = QFormLayout(self)
        form.addRow("您的姓名(&N)：", self.user)
        form.addRow(self.summary)
        form.addRow(self.error)
        self.registerField("user*", self.user)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "保存设置(&S)")

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        plan = self.wiz.places_page.plan
        info = self.wiz.community_page.info()
        self.summary.setText(
            f"点“保存设置”后一次写入：社区“{info.name.strip()}”；"
            + (plan.summary().removeprefix("将") if plan else "")
            + "。保存之前随时可以返回修改，关闭窗口也会保留已填写的内容。"
        )
        self.user.setFocus()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        if not self.wiz.commit(self.user.text(), on_error=lambda exc: self.error.setText(str(exc))):
            return False
        self.error.setText("")
        return True


class NextPage(QWizardPage):
    """Page 4: bring in the ledgers the office already keeps, or later."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self.wiz = wizard
        self.setObjectName("setupNextPage")
        self.setTitle("第 4 步：导入现有台账")
        self.setSubTitle("社区和楼栋已经保存。已经用 Excel 记的居民台账可以现在导入，也可以以后从“文件 → 导入 Excel”导入。")
        self.done_text = QLabel("", self)
        self.done_text.setObjectName("setupDoneText")
        self.done_text.setWordWrap(True)
        self.import_now = QRadioButton("导入现有台账（点“完成”后选择 Excel 文件，先预览再导入）(&I)", self)
        self.import_now.setObjectName("setupImportNow")
        self.later = QRadioButton("稍后(&L)", self)
        self.later.setObjectName("setupLater")
        self.import_now.setChecked(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.done_text)
        lay.addSpacing(12)
        lay.addWidget(self.import_now)
        lay.addWidget(self.later)
        lay.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        plan = self.wiz.result_plan
        self.done_text.setText("已保存。" + (plan.summary().replace("将新建", "新建了") if plan else ""))
        self.import_now.setFocus()


class SetupWizard(QWizard):
    """The set-up wizard; `resume` restores this PC's draft when there is one."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, resume: bool = True) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("setupWizard")
        self.setAccessibleName("社区设置向导")
        self.setWindowTitle("社区设置")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.NextButton, "下一步(&N) >")
        self.setButtonText(QWizard.WizardButton.BackButton, "< 上一步(&B)")
        self.setButtonText(QWizard.WizardButton.FinishButton, "完成(&F)")
        self.setButtonText(QWizard.WizardButton.CancelButton, "稍后继续")
        self.button(QWizard.WizardButton.CancelButton).setToolTip("关闭向导；已填写的内容会保留，下次接着填。")
        screen_fit.fit_size(self, 1180, 700)
        self.committed = False
        self.result_plan: setup.PlacesPlan | None = None
        self.import_dialog: QWidget | None = None
        self.community_page = CommunityPage(self)
        self.places_page = PlacesPage(self)
        self.user_page = UserPage(self)
        self.next_page = NextPage(self)
        self.setPage(PAGE_COMMUNITY, self.community_page)
        self.setPage(PAGE_PLACES, self.places_page)
        self.setPage(PAGE_USER, self.user_page)
        self.setPage(PAGE_NEXT, self.next_page)
        self._load(resume)

    # -- state ----------------------------------------------------------------------------------
    def _load(self, resume: bool) -> None:
        db = self.ctx.db
        state = setup.setup_state(db)
        self.community_page.set_info(setup.community_info(db))
        self.user_page.user.setText(setup.saved_user(db) or "")
        if db.principal.has_account:  # changes are signed by the logged-in account, not a typed name
            self.user_page.user.setText(db.principal.name)
            self.user_page.user.setReadOnly(True)
        draft = setup.load_draft(db) if resume else None
        start = PAGE_PLACES if state == "places" else PAGE_COMMUNITY
        if draft:
            if state == "community" and isinstance(draft.get("community"), dict):
                known = setup.CommunityInfo.__dataclass_fields__
                self.community_page.set_info(setup.CommunityInfo(
                    **{k: str(v) for k, v in draft["community"].items() if k in known}))
            for row in draft.get("buildings") or []:
                try:
                    spec = setup.BuildingSpec.from_json(row)
                except (TypeError, ValueError):
                    continue  # a draft from another version: keep what still reads
                values = {k: getattr(spec, k) for k in COL}
                if spec.rooms is not None:
                    values["rooms"] = spec.rooms
                self.places_page.add_row(values)
            if draft.get("user"):
                if not db.principal.has_account:
                    self.user_page.user.setText(str(draft["user"]))
            page = draft.get("page")
            if state != "community" and page in (PAGE_PLACES, PAGE_USER):
                start = page
        self.setStartId(start)

    def draft(self) -> dict[str, Any]:
        return {
            "page": self.currentId(),
            "community": vars(self.community_page.info()),
            "buildings": [s.to_json() for s in self.places_page.specs()],
            "user": self.user_page.user.text(),
        }

    def done(self, result: int) -> None:
        # Closing half-way keeps everything typed on this PC; the next start (or 社区设置) resumes it.
        if not self.committed and not self.ctx.db.closed and not self.ctx.db.read_only:
            setup.save_draft(self.ctx.db, self.draft())
        super().done(result)
        if result and self.next_page.import_now.isChecked() and self.committed:
            self.open_ledger_import()

    def used_signs(self) -> dict[str, str]:
        community = setup.current_community(self.ctx.db)
        return places.signs_in_use(self.ctx.db, community["id"]) if community else {}

    def has_buildings(self) -> bool:
        return places.has_buildings(self.ctx.db)

    def existing_text(self) -> str:
        community = setup.current_community(self.ctx.db)
        if community is None:
            return ""
        names = [b.name for c in places.tree(self.ctx.db, include_retired=False) for b in _buildings(c)]
        if not names:
            return f"社区“{community['name']}”还没有楼栋。"
        shown = "、".join(names[:20]) + (f" 等 {len(names)} 栋" if len(names) > 20 else "")
        return f"社区“{community['name']}”已有楼栋：{shown}。在下表添加新的楼栋（同名的楼栋只补充缺少的单元和房间）。"

    def commit(self, user: str, on_error: Callable[[KnownError], None] | None = None) -> bool:
        """Write the whole set-up in one transaction (the data layer checks everything inside it)."""
        info, specs = self.community_page.info(), self.places_page.specs()
        done = perform(self.ctx, self, lambda db: setup.finish_setup(db, info, specs, user), on_error=on_error)
        if not done:
            return False
        self.committed = True
        self.result_plan = done.value
        self.ctx.runner.user = self.ctx.db.user
        window = self.parent()
        status_user = getattr(window, "status_user", None)
        if status_user is not None:
            status_user.setText(f"当前用户：{self.ctx.db.user}")
        return True

    # -- the ledgers ----------------------------------------------------------------------------
    def ask_open_file(self, title: str) -> str:
        """A file the clerk picks (tests replace this)."""
        path, _ = QFileDialog.getOpenFileName(
            self, title, str(Path.home()), "Excel 工作簿 (*.xlsx *.xls *.ods);;所有文件 (*)"
        )
        return path

    def open_ledger_import(self) -> None:
        """The program's Excel import on a chosen ledger: it previews every row before anything is written."""
        path = self.ask_open_file("选择现有的居民台账（Excel）")
        if not path:
            return
        from app.ui.excel.import_dialog import ImportDialog

        dialog = ImportDialog(self.ctx, path=path, parent=self.parentWidget())
        dialog.open()
        self.import_dialog = dialog


def _buildings(node: places.PlaceNode) -> list[places.PlaceNode]:
    if node.table == "building":
        return [node]
    return [b for child in node.children for b in _buildings(child)]


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- the main window ---------------------------------------------------------------------------
def open_wizard(window: Shell) -> SetupWizard:
    wizard = SetupWizard(window.ctx, window)
    wizard.setWindowModality(Qt.WindowModality.WindowModal)
    wizard.open()
    window.setup_wizard = wizard
    return wizard


def start_if_needed(window: Shell) -> SetupWizard | None:
    """On a database that is not set up yet, the wizard opens by itself over the main window."""
    db = window.ctx.db
    if window.ctx.demo or db.read_only or setup.setup_state(db) is None:
        return None  # a file opened read-only cannot be set up here
    return open_wizard(window)


def install(window: Shell) -> None:
    action = QAction("社区设置(&C)…", window)
    action.setObjectName("actionCommunitySetup")
    action.setShortcut(QKeySequence("Ctrl+Shift+G"))
    action.setStatusTip("社区信息、网格和楼栋：添加新的楼栋、单元和房间")
    action.triggered.connect(lambda: open_wizard(window))
    window.menu_tools.addAction(action)
    window.community_setup_action = action

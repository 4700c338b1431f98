"""File → 导入 Excel…: a dry run in the background, then a preview of every change and error before applying."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.core.errors import KnownError
from app.models.excel.excel_import import (
    IMPORTABLE,
    apply_plan,
    import_workbook,
    plan_import,
    workbook_ledgers,
    write_error_workbook,
)
from app.models.excel.excel_import_county import RULES
from app.models.excel.excel_read import (
    HeaderNotFound,
    ImportCancelled,
    ImportPlan,
    col_letter,
    known_field,
    mapping_choices,
    remember_mapping,
    remembered_mapping,
    show_value,
)
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.crash import report_exception
from app.ui.common.ops import OpHandle, perform
from app.widgets import file_dialogs

STATUS_TEXT = {"new": "新增", "updated": "更新", "unchanged": "无变化", "error": "错误"}
STATUS_COLOUR = {"new": "#2f9e44", "updated": "#1c6dd0", "error": "#d9363e"}


class ListModel(QAbstractTableModel):
    """A read-only table over a Python list of tuples (the preview holds at most one row per file row)."""

    def __init__(self, headers: list[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.headers = headers
        self.rows: list[tuple] = []
        self.colours: list[str | None] = []

    def set_rows(self, rows: list[tuple], colours: list[str | None] | None = None) -> None:
        self.beginResetModel()
        self.rows = rows
        self.colours = colours or [None] * len(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self.rows[index.row()][index.column()]
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1 and self.colours[index.row()]:
            return QBrush(QColor(self.colours[index.row()]))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


def _table(name: str, accessible: str, model: ListModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setWordWrap(False)
    return view


class ImportDialog(QDialog):
    """Preview (dry run) and apply of one workbook. Nothing is written before 导入 is pressed."""

    def __init__(self, ctx: AppContext, path: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.path: Path | None = None
        self.plan: ImportPlan | None = None
        self.handle: OpHandle | None = None
        self.outcome: dict | None = None
        self.setObjectName("importDialog")
        self.setAccessibleName("导入 Excel")
        self.setWindowTitle("导入 Excel（居民花名册 / 搬迁户 / 就业 / 培训 / 需求 / 走访台账）")
        self.resize(980, 640)

        self.file_label = QLabel("尚未选择文件", self)
        self.file_label.setObjectName("importFileLabel")
        self.file_label.setWordWrap(True)
        self.choose_button = QPushButton("选择文件(&O)…", self)
        self.choose_button.setObjectName("importChooseButton")
        top = QHBoxLayout()
        top.addWidget(self.file_label, 1)
        top.addWidget(self.choose_button)

        self.summary = QLabel("", self)
        self.summary.setObjectName("importSummary")
        self.summary.setAccessibleName("导入预览摘要")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("importProgress")
        self.progress.hide()
        self.progress_text = QLabel("", self)
        self.progress_text.setObjectName("importProgressText")
        self.cancel_button = QPushButton("取消(&C)", self)
        self.cancel_button.setObjectName("importCancelButton")
        self.cancel_button.hide()
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.progress_text)
        prog.addWidget(self.cancel_button)

        self.changes_model = ListModel(["行号", "状态", "姓名", "身份证号", "户编号", "归户依据",
                                        "变更内容（原值 → 新值）"], self)
        self.households_model = ListModel(["户编号", "房间", "户主", "人数", "起始行", "县级户编号", "分户依据"], self)
        self.errors_model = ListModel(["工作表", "行号", "列", "单元格的值", "问题", "应当如何"], self)
        self.changes_view = _table("importChangesTable", "新增和更新的居民", self.changes_model, self)
        self.errors_view = _table("importErrorsTable", "错误清单", self.errors_model, self)
        self.pages = QTabWidget(self)
        self.pages.setObjectName("importPages")
        self.households_view = _table("importHouseholdsTable", "将新建的户", self.households_model, self)
        self.pages.addTab(self.changes_view, "新增与更新")
        self.pages.addTab(self.errors_view, "错误")
        self.pages.addTab(self.households_view, "新建的户")
        self.pages.addTab(self._mapping_page(), "列对应")

        self.create_places = QCheckBox("创建文件中缺少的楼栋、单元和房间(&P)", self)
        self.create_places.setObjectName("importCreatePlaces")
        self.create_places.setToolTip("不勾选时，地址在系统中找不到的行作为错误列出")
        self.create_places.toggled.connect(self._reload)

        self.all_or_nothing = QRadioButton("全部导入，有任何错误就一条都不导入（推荐）", self)
        self.all_or_nothing.setObjectName("importAllOrNothingRadio")
        self.all_or_nothing.setChecked(True)
        self.valid_only = QRadioButton("只导入正确的行，有错误的行另存为错误工作簿", self)
        self.valid_only.setObjectName("importValidOnlyRadio")
        group = QButtonGroup(self)
        group.addButton(self.all_or_nothing)
        group.addButton(self.valid_only)
        options = QVBoxLayout()
        options.addWidget(self.create_places)
        options.addWidget(self.all_or_nothing)
        options.addWidget(self.valid_only)

        self.save_errors_button = QPushButton("保存错误工作簿(&S)…", self)
        self.save_errors_button.setObjectName("importSaveErrorsButton")
        self.apply_button = QPushButton("导入(&I)", self)
        self.apply_button.setObjectName("importApplyButton")
        self.close_button = QPushButton("关闭", self)
        self.close_button.setObjectName("importCloseButton")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_errors_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(prog)
        layout.addWidget(self.summary)
        layout.addWidget(self.pages, 1)
        layout.addLayout(options)
        layout.addLayout(buttons)

        self.choose_button.clicked.connect(self.choose_file)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_errors_button.clicked.connect(self.choose_error_file)
        self.apply_button.clicked.connect(self.confirm_apply)
        self.close_button.clicked.connect(self.reject)
        self._update_buttons()
        if path is not None:
            self.load(path)

    # -- the column mapping step ----------------------------------------------------------------
    def _mapping_page(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("importMappingPage")
        self.mapping_note = QLabel("选择文件后，这里列出文件的每一列和它对应的项目。", page)
        self.mapping_note.setObjectName("importMappingNote")
        self.mapping_note.setWordWrap(True)
        self.mapping_table = QTableWidget(0, 4, page)
        self.mapping_table.setObjectName("importMappingTable")
        self.mapping_table.setAccessibleName("列对应")
        self.mapping_table.setHorizontalHeaderLabels(["列", "文件中的表头", "第一行的值", "对应到"])
        self.mapping_table.verticalHeader().hide()
        self.mapping_table.horizontalHeader().setStretchLastSection(True)
        self.mapping_apply = QPushButton("按此对应重新检查，并记住这种表头(&R)", page)
        self.mapping_apply.setObjectName("importMappingApply")
        self.mapping_apply.clicked.connect(self.apply_mapping)
        self.mapping_apply.setEnabled(False)
        self.mapping_cells: list = []
        lay = QVBoxLayout(page)
        lay.addWidget(self.mapping_note)
        lay.addWidget(self.mapping_table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.mapping_apply)
        lay.addLayout(row)
        return page

    def _fill_mapping(self, cells: list, sample: list, columns: dict[str, int], remembered: dict | None) -> None:
        self.mapping_cells = list(cells)
        shown = [(c, v) for c, v in enumerate(cells) if v is not None and str(v).strip()]
        self.mapping_table.setRowCount(len(shown))
        choices = mapping_choices()
        by_col = {c: k for k, c in columns.items()}
        for row, (c, header) in enumerate(shown):
            self.mapping_table.setItem(row, 0, QTableWidgetItem(col_letter(c)))
            self.mapping_table.setItem(row, 1, QTableWidgetItem(str(header)))
            value = sample[c] if c < len(sample) else None
            self.mapping_table.setItem(row, 2, QTableWidgetItem(_cell(value)))
            combo = QComboBox(self.mapping_table)
            combo.setObjectName(f"importMappingCombo{c}")
            combo.setAccessibleName(f"“{header}”列对应到")
            for field_key, label in choices:
                combo.addItem(label, field_key)
            key = by_col.get(c)
            if key is None and remembered is not None:
                key = remembered.get(str(header)) or ""
            if key is None:
                key = known_field(header)
            combo.setCurrentIndex(max(combo.findData(key or ""), 0))
            self.mapping_table.setCellWidget(row, 3, combo)
        self.mapping_table.resizeColumnsToContents()
        self.mapping_apply.setEnabled(bool(shown))

    def mapping(self) -> dict[str, str]:
        out = {}
        for row in range(self.mapping_table.rowCount()):
            combo = self.mapping_table.cellWidget(row, 3)
            header = self.mapping_table.item(row, 1)
            if isinstance(combo, QComboBox) and header is not None:
                out[header.text()] = combo.currentData() or ""
        return out

    def apply_mapping(self) -> None:
        if not self.mapping_cells or self.path is None:
            return
        cells, mapping = self.mapping_cells, self.mapping()

        def failed(exc: KnownError) -> None:
            self.summary.setText(f"<span style='color:#d9363e'>{_html(str(exc))}</span>")

        if perform(self.ctx, self, lambda db: remember_mapping(db, cells, mapping), on_error=failed):
            self._reload()

    def _reload(self) -> None:
        if self.path is not None and not self.progress.isVisible():
            self.load(self.path)

    # -- dry run --------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path = file_dialogs.open_path(self, "excel-import", "选择要导入的 Excel 文件",
                                      "Excel 工作簿 (*.xlsx *.xls *.et *.ods);;所有文件 (*)")
        if path:
            self.load(path)

    def load(self, path: str | Path) -> None:
        self.path = Path(path)
        self.plan = None
        self.outcome = None
        self.file_label.setText(f"文件：{self.path}")
        self.summary.setText("正在逐行检查，尚未写入任何数据…")
        self.changes_model.set_rows([])
        self.errors_model.set_rows([])
        target = self.path
        create = self.create_places.isChecked()

        def job(db, progress):
            sheets = workbook_ledgers(target)
            if sheets:
                # A whole office's workbook: the residents are checked against the households the
                # first sheet makes, in a transaction rolled back at the end of the preview.
                plans, _ = import_workbook(db, target, sheets, create_places=create, dry_run=True)
                plan = plans[-1]
                plan.extra["workbook"] = {"sheets": sheets, "households": plans[0] if len(plans) > 1 else None}
                return plan, preview_rows(plan)
            plan = plan_import(db, target, progress=progress.report, cancelled=lambda: progress.cancelled,
                               create_places=create)
            return plan, preview_rows(plan)  # built here, off the UI thread (23k rows take ~100 ms)

        self._busy(True)
        self.handle = self.ctx.runner.run(job, on_success=self._planned, on_failure=self._failed,
                                          on_progress=self._progress)

    def _planned(self, result: tuple[ImportPlan, tuple]) -> None:
        plan, (changes, colours, errors, new_households) = result
        self._busy(False)
        self.plan = plan
        c = plan.counts
        extra = ""
        if plan.ignored_headers:
            extra = (f"<br>未识别的列（将忽略，可在“列对应”页指定）：{_html('、'.join(plan.ignored_headers))}")
        book = plan.extra.get("workbook")
        if book is not None and book["households"] is not None:
            hc = book["households"].counts
            extra += (f"<br>工作簿同时含有搬迁户台账（工作表“{_html(book['sheets']['households'])}”）：先导入户——"
                      f"新增 {hc['new']} 户，更新 {hc['updated']} 户，无变化 {hc['unchanged']} 户；下表是之后的居民。")
        rule = plan.extra.get("rule")
        if rule:
            extra += f"<br>分户方式：{RULES[rule]}"
            if plan.ledger == "residents":
                extra += f"；将新建 <b>{plan.households_new}</b> 户"
        index = plan.extra.get("place_index")
        if index is not None and index.missing:
            verb = "将一并创建" if index.create else "系统中没有（勾选下方“创建…”即可一并创建）"
            extra += f"<br>文件中的楼栋/单元/房间{verb}：{_html(index.missing_text())}"
        if plan.extra.get("maybe_same"):
            extra += (f"<br><span style='color:#b35c00'>可能是同一人：{len(plan.extra['maybe_same'])} 行"
                      "（将作为新居民导入，请先核对“新增与更新”页的说明）</span>")
        self.summary.setText(
            f"{IMPORTABLE.get(plan.ledger, plan.ledger)}，工作表“{plan.sheet}”，表头在第 {plan.header_row} 行。"
            f"试运行结果（尚未写入）：&nbsp;"
            f"<b style='color:#2f9e44'>新增 {c['new']}</b>　<b style='color:#1c6dd0'>更新 {c['updated']}</b>　"
            f"<b>无变化 {c['unchanged']}</b>　<b style='color:#d9363e'>错误 {c['errors']}</b> 行{extra}"
        )
        self.changes_model.set_rows(changes, colours)
        self.errors_model.set_rows(errors)
        self.households_model.set_rows(new_households)
        if plan.ledger == "residents" and "header_cells" in plan.extra:
            self._fill_mapping(plan.extra["header_cells"], plan.extra.get("sample", []), plan.columns, None)
        for view in (self.changes_view, self.errors_view, self.households_view):
            view.resizeColumnsToContents()
            for col in range(view.model().columnCount() - 1):
                view.setColumnWidth(col, min(view.columnWidth(col), 260))
        self.pages.setTabText(0, f"新增与更新（{c['new'] + c['updated']}）")
        self.pages.setTabText(1, f"错误（{len(plan.errors)}）")
        self.pages.setTabText(2, f"新建的户（{len(new_households)}）")
        if plan.ignored_headers and plan.ledger == "residents":
            self.mapping_note.setText(f"有 {len(plan.ignored_headers)} 列未能识别。请为每一列选择对应的项目"
                                      "（不需要的选“忽略”），然后点“按此对应重新检查”。同样表头的文件以后会自动按此对应。")
            self.pages.setCurrentIndex(3)
        elif c["errors"]:
            self.pages.setCurrentIndex(1)
        elif new_households:
            self.pages.setCurrentIndex(2)
        self._update_buttons()

    # -- apply ----------------------------------------------------------------------------------
    def confirm_apply(self) -> None:
        plan = self.plan
        if plan is None:
            return
        c = plan.counts
        valid_only = self.valid_only.isChecked()
        if c["errors"] and not valid_only:
            messages.info(
                self, "有错误",
                f"文件中有 {c['errors']} 行错误。按“全部或不导入”的规则不能导入。\n"
                "请保存错误工作簿，在 Excel 中改正后重新导入；或选择“只导入正确的行”。",
            )
            return
        if c["new"] + c["updated"] == 0:
            messages.info(self, "无需导入", "文件中的数据与系统中的完全一致，没有需要导入的内容。")
            return
        errors_path: Path | None = None
        if c["errors"] and valid_only:
            suggested = str(self.path.with_name(f"{self.path.stem}_错误.xlsx")) if self.path else ""
            chosen, _ = QFileDialog.getSaveFileName(self, "有错误的行保存到", suggested, "Excel 工作簿 (*.xlsx)")
            if not chosen:
                return
            errors_path = Path(chosen)
        unit = "人" if plan.ledger == "residents" else "条"
        text = f"将新增 {c['new']} {unit}、更新 {c['updated']} {unit}"
        if plan.ledger == "residents" and plan.households_new:
            text = f"将新建 {plan.households_new} 户、" + text[1:]
        if plan.places_new:
            text += f"，新建楼栋/单元/房间 {plan.places_new} 处"
        text += f"，跳过有错误的 {c['errors']} 行" if c["errors"] else ""
        if not messages.confirm(self, "确认导入", text + "。\n全部在一次操作中完成，可在修改记录中查到。是否继续？"):
            return
        self.apply(valid_only=valid_only, errors_path=errors_path)

    def apply(self, *, valid_only: bool = False, errors_path: Path | None = None) -> None:
        plan = self.plan
        assert plan is not None

        book = plan.extra.get("workbook")
        create = self.create_places.isChecked()

        def job(db, progress):
            if errors_path is not None:
                write_error_workbook(plan, errors_path)
            if book is not None:
                plans, applied = import_workbook(db, plan.path, book["sheets"], create_places=create,
                                                 valid_only=valid_only)
                if not applied:
                    raise KnownError("文件中有错误，按“全部或不导入”的规则没有导入任何数据。")
                out = {k: sum(p.counts[k] for p in plans) for k in ("new", "updated", "unchanged", "errors")}
                out["households_new"] = sum(p.households_new for p in plans)
                return out
            return apply_plan(db, plan, valid_only=valid_only, progress=progress.report,
                              cancelled=lambda: progress.cancelled)

        self._busy(True)
        self.summary.setText("正在导入…（取消则不作任何改动）")
        # An import writes in batches: every view refreshes when it ends (nothing to undo).
        self.handle = self.ctx.runner.run(job, on_success=self._applied, on_failure=self._failed,
                                          on_progress=self._progress, everything=True)

    def _applied(self, result: dict) -> None:
        self._busy(False)
        self.outcome = result
        self.plan = None
        skipped = f"，跳过有错误的 {result['errors']} 行" if result.get("errors") else ""
        households = f"新建 {result['households_new']} 户，" if result.get("households_new") else ""
        self.summary.setText(f"<b>导入完成：</b>{households}新增 {result['new']} 条，更新 {result['updated']} 条"
                             f"{skipped}。")
        self._update_buttons()

    # -- errors, progress, cancel ---------------------------------------------------------------
    def choose_error_file(self) -> None:
        if self.plan is None or not self.plan.errors or self.path is None:
            return
        suggested = str(self.path.with_name(f"{self.path.stem}_错误.xlsx"))
        chosen, _ = QFileDialog.getSaveFileName(self, "保存错误工作簿", suggested, "Excel 工作簿 (*.xlsx)")
        if chosen:
            self.save_errors(Path(chosen))

    def save_errors(self, path: Path) -> None:
        plan = self.plan
        assert plan is not None
        self._busy(True)
        self.handle = self.ctx.runner.run(
            lambda db, progress: write_error_workbook(plan, path),
            on_success=self._errors_saved,
            on_failure=self._failed,
        )

    def _errors_saved(self, path: Path) -> None:
        self._busy(False)
        self.progress_text.setText(f"错误工作簿已保存：{path}")

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        if isinstance(exc, HeaderNotFound) and exc.row is not None and exc.cells:
            remembered = remembered_mapping(self.ctx.db, exc.cells)
            self._fill_mapping(exc.cells, exc.sample, {}, remembered)
            self.mapping_note.setText(f"认不出第 {exc.row + 1} 行的表头。请为每一列选择对应的项目（至少要有“姓名”），"
                                      "然后点“按此对应重新检查”。同样表头的文件以后会自动按此对应。")
            self.summary.setText(f"<span style='color:#d9363e'>{_html(str(exc))}</span>")
            self.pages.setCurrentIndex(3)
            self._update_buttons()
            return
        if isinstance(exc, ImportCancelled):
            self.summary.setText("已取消，未作任何改动。")
        elif isinstance(exc, KnownError):
            self.summary.setText(f"<span style='color:#d9363e'>{_html(str(exc))}</span>")
        else:
            self.summary.setText("出错了，未作任何改动。")
            report_exception(exc)
        self._update_buttons()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.progress_text.setText(text)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.progress_text.setText("正在取消…")

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.choose_button.setEnabled(not busy)
        if busy:
            self.progress.setRange(0, 0)
            self.apply_button.setEnabled(False)
            self.save_errors_button.setEnabled(False)
        else:
            self.progress_text.setText("")
            self._update_buttons()

    def _update_buttons(self) -> None:
        plan = self.plan
        self.apply_button.setEnabled(plan is not None)
        self.save_errors_button.setEnabled(plan is not None and bool(plan.errors))

    def reject(self) -> None:
        if self.handle is not None and self.progress.isVisible():
            self.handle.cancel()
        super().reject()


def preview_rows(plan: ImportPlan) -> tuple[list[tuple], list[str | None], list[tuple], list[tuple]]:
    """The rows of the preview tables: new/updated/error residents, every error, new households."""
    shown = [r for r in plan.rows if r.status in ("new", "updated", "error")]
    maybe = dict(plan.extra.get("maybe_same", []))
    changes = [
        (r.row, STATUS_TEXT[r.status], r.name, r.id_number, r.hh_number, r.reason,
         "；".join(f"{col}：{old or '（空）'} → {new or '（空）'}" for col, old, new in r.changes)
         if r.status == "updated" else ("见“错误”页" if r.status == "error" else maybe.get(r.row, "")))
        for r in shown
    ]
    colours = [STATUS_COLOUR.get(r.status) for r in shown]
    errors = [(e.sheet, e.row, e.column, _cell(e.value), e.problem, e.hint) for e in plan.errors]
    households = [
        (h["number"], h["address"], h["head"], h["members"], h["first_row"], h["ext_number"], h["rule"])
        for h in plan.extra.get("households_preview", [])
        if plan.households.get(h["number"], {}).get("error") is None
    ]
    return changes, colours, errors, households


def _cell(value: Any) -> str:
    return "" if value is None else show_value(value)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

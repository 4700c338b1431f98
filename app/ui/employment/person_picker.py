"""Choosing residents: search by name, pinyin initials, ID number or room; one or many; paste a sign-in list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import Database
from app.models.core.id_numbers import mask
from app.models.employment import labour
from app.models.registry import registry_search
from app.ui.common import messages
from app.ui.common.table_models import PAGE_SIZE, Column, SqlTableModel

if TYPE_CHECKING:
    from app.ui.common.ops import OpRunner

def picker_columns(today_rules: labour.LabourRules) -> list[Column]:
    return [
        Column("name", "姓名", "p.name", width=80),
        Column("age", "年龄", today_rules.age_sql("p"), width=44),
        Column("address", "住址", labour.ADDRESS_SQL, width=120),
        Column("id_number", "身份证号", "p.id_number", display=lambda v, _r: mask(v) if v else "", width=150),
        Column("labour_ability", "劳动能力", "p.labour_ability", width=60),
    ]


class IdPagedModel(SqlTableModel):
    """A SqlTableModel that sorts ids first and only then computes the columns of one page.

    SQLite works out every selected column of every row before an ORDER BY … LIMIT keeps 200 of
    them; these lists have per-row subqueries (current job, last training), so at 58,000 people that
    costs seconds. Here the ORDER BY runs over ids alone and the columns for the page come after
    (the query's ``lean_from`` spares the joins while ordering and counting).
    """

    def __init__(self, *args: Any, runner: OpRunner | None = None, cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # With a runner, a header click is ordered on the worker once (sorting 53,000 jobs by the
        # holder's name takes half a second) and pages then come by id; without one, in SQL per page.
        self.runner = runner
        # With a cap, the list holds at most `cap` rows (the first ones in its order) and counting
        # stops there: counting 100,000 matches of "532" alone takes longer than a keystroke may.
        self.cap = cap
        self.capped = False  # the last count reached the cap: there are more rows than listed
        # With a cap: the order and the ids of the listed rows, read in the same walk as the count
        # (a list without an index on its order would otherwise test every row twice).
        self._capped_ids: tuple[str, list[str]] | None = None
        self._sort_by: tuple[int, Qt.SortOrder] | None = None
        self._ordered_ids: list[str] | None = None

    def refresh(self) -> None:  # set_query comes here too
        self._capped_ids = None
        self._reorder()
        super().refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self.runner is None or not 0 <= column < len(self.columns):
            self._sort_by = None
            self._ordered_ids = None
            self._drop_worker_order()
            super().sort(column, order)
            return
        self._sort_by = (column, order)
        self._reorder()

    def _order_of(self, column: int, order: Qt.SortOrder) -> str:
        col = self.columns[column]
        direction = "DESC" if order == Qt.SortOrder.DescendingOrder else "ASC"
        return f"{col.sort_sql or col.sql} {direction}"

    def _reorder(self) -> None:
        """Start working out the chosen order for the current rows (pages follow the default meanwhile)."""
        self._drop_worker_order()
        self._ordered_ids = None
        if self.runner is None or self._sort_by is None:
            return
        order = self._order_of(*self._sort_by)
        query = self.query
        self._order = order  # what an export uses; pages wait for the ids
        self._order_on_worker(lambda db: query.ids(db, order), self._use_ordered_ids)

    def _use_ordered_ids(self, ids: list[str]) -> None:
        self._ordered_ids = ids if self.cap is None else ids[:self.cap]
        self._count = len(self._ordered_ids)

    def _fetch_ids(self, ids: list[str]) -> list[dict]:
        """The display columns of `ids`, in that order."""
        return self.query.rows_of(self.db, self.column_sql(), ids)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        if self._ordered_ids is not None:
            return len(self._ordered_ids)
        if self._count is None:
            if self.cap is None:
                self.capped = False
                self._count = self.query.count(self.db)
            else:
                order = self._page_order()
                ids = self.query.ids(self.db, order, self.cap + 1)
                self.capped = len(ids) > self.cap
                self._capped_ids = (order, ids[:self.cap])
                self._count = len(self._capped_ids[1])
        return self._count

    def _page_order(self) -> str:
        # While the worker orders the rows, pages follow the default order (an index serves it).
        return self._default_order if self.sorting else self.order_sql

    def _fetch(self, page_no: int) -> list[dict]:
        if self._ordered_ids is not None:
            return self._fetch_ids(self._ordered_ids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE])
        order = self._page_order()
        if self._capped_ids is not None and self._capped_ids[0] == order:
            return self._fetch_ids(self._capped_ids[1][page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE])
        return self._fetch_ids(self.query.ids(self.db, order, PAGE_SIZE, page_no * PAGE_SIZE))


class IdListModel(IdPagedModel):
    """Rows are a given list of ids (worked out once, in the background); pages fetch their columns.

    Clicking a header re-orders the ids in SQL (on the worker when the model has a runner: 58,000
    of them take half a second or more); counting is free.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ids: list[str] = []

    def set_ids(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self._drop_worker_order()  # an order worked out for the old ids no longer applies
        SqlTableModel.refresh(self)

    def refresh(self) -> None:
        SqlTableModel.refresh(self)  # the same ids; their rows are read again

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.ids)

    def _fetch(self, page_no: int) -> list[dict]:
        return self._fetch_ids(self.ids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not (0 <= column < len(self.columns) and self.ids):
            SqlTableModel.sort(self, column, order)
            return
        by = self._order_of(column, order)
        ids, query = self.ids, self.query

        def ordered(db: Database) -> list[str]:
            return query.sort_ids(db, ids, by)

        if self.runner is None:
            self.ids = ordered(self.db)
            SqlTableModel.sort(self, column, order)
            return
        self._order = by
        self._order_on_worker(ordered, self._use_sorted_ids)

    def _use_sorted_ids(self, ids: list[str]) -> None:
        self.ids = ids


class PersonPicker(QWidget):
    """Search on the left, chosen people on the right (multi mode); Enter adds the highlighted match."""

    selectionChanged = Signal()
    confirmed = Signal()  # single mode: Enter pressed on a match (the dialog moves on to its form)

    def __init__(
        self, db: Database, *, multi: bool = True, household_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.multi = multi
        # Only the members of this household may be chosen; they are shown at once.
        self.household_id = household_id
        # "全部添加" leaves out people younger than this (a course for a stairwell is not for its children).
        self.min_age: int | None = None
        self.setObjectName("personPicker")
        self.setAccessibleName("选择居民")
        self._chosen: dict[str, str] = {}  # person id → label, in order chosen
        rules = labour.rules(db)

        left = QVBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("personPickerSearch")
        self.search.setAccessibleName("查找居民")
        self.search.setPlaceholderText("姓名 / 拼音首字母（zy）/ 房号（3-2-501）/ 身份证号，回车添加")
        self.search.setClearButtonEnabled(True)
        self.search.installEventFilter(self)
        left.addWidget(self.search)
        self.results = QTableView()
        self.results.setObjectName("personPickerResults")
        self.results.setAccessibleName("查找结果")
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection if multi else QAbstractItemView.SelectionMode.SingleSelection
        )
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().setVisible(False)
        self.results.verticalHeader().setDefaultSectionSize(22)
        self.model = IdPagedModel(db, labour.residents_query(household_id=household_id), picker_columns(rules),
                                  order_by="p.name_pinyin", cap=registry_search.MATCH_CAP, parent=self)
        self.results.setModel(self.model)
        for i, col in enumerate(self.model.columns):
            if col.width:
                self.results.setColumnWidth(i, col.width)
        self.results.activated.connect(lambda _i: self.add_selected())
        self.results.selectionModel().selectionChanged.connect(self._results_selection_changed)
        left.addWidget(self.results, 1)
        self.result_count = QLabel("")
        left.addWidget(self.result_count)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(left, 3)
        if multi:
            middle = QVBoxLayout()
            middle.addStretch(1)
            self.add_button = QPushButton("添加 →")
            self.add_button.setObjectName("personPickerAdd")
            self.add_button.setToolTip("把左边选中的人（可按住 Ctrl/Shift 多选）加入名单")
            self.add_button.clicked.connect(self.add_selected)
            middle.addWidget(self.add_button)
            self.add_all_button = QPushButton("全部添加")
            self.add_all_button.setObjectName("personPickerAddAll")
            self.add_all_button.setToolTip("把当前查找结果全部加入名单（最多 500 人），如查找“3-2”得到一个单元的人")
            self.add_all_button.clicked.connect(self.add_all_results)
            middle.addWidget(self.add_all_button)
            self.remove_button = QPushButton("← 移除")
            self.remove_button.setObjectName("personPickerRemove")
            self.remove_button.clicked.connect(self.remove_selected)
            middle.addWidget(self.remove_button)
            self.paste_button = QPushButton("粘贴名单…")
            self.paste_button.setObjectName("personPickerPaste")
            self.paste_button.setToolTip("把签到表上的姓名或身份证号一行一个粘贴进来，一次加入")
            self.paste_button.clicked.connect(self.paste_list)
            middle.addWidget(self.paste_button)
            middle.addStretch(1)
            outer.addLayout(middle)
            right = QVBoxLayout()
            self.chosen_label = QLabel("已选 0 人")
            self.chosen_label.setObjectName("personPickerCount")
            right.addWidget(self.chosen_label)
            self.chosen = QListWidget()
            self.chosen.setObjectName("personPickerSelected")
            self.chosen.setAccessibleName("已选居民")
            self.chosen.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
            self.chosen.installEventFilter(self)
            right.addWidget(self.chosen, 1)
            outer.addLayout(right, 2)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.apply_search)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.apply_search()

    # -- search -------------------------------------------------------------------------------
    def apply_search(self) -> None:
        self._timer.stop()
        text = self.search.text()
        self.model.set_query(labour.residents_query(registry_search.person_condition(text, db=self.db),
                                                    household_id=self.household_id))
        n = self.model.rowCount()
        if not text.strip() and self.household_id is None:
            self.result_count.setText("请输入姓名、拼音首字母、房号或身份证号查找")
        elif self.model.capped:
            # The list holds the first `n` in pinyin order; counting the rest would cost the keystroke.
            self.result_count.setText(f"找到超过 {n:,} 人，只列出前 {n:,} 人；请多输入几个字缩小范围")
        else:
            self.result_count.setText(f"找到 {n:,} 人" + ("，↑↓ 选择，回车添加" if n and self.multi else ""))
        if n:
            self.results.selectRow(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if obj is self.search:
                if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                    if self._timer.isActive():
                        self.apply_search()
                    if self.multi:
                        self.add_selected()
                        self.search.selectAll()
                    elif self.selected_ids():
                        self.confirmed.emit()
                    return True  # never the dialog's default button: nothing is saved by Enter here
                if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                    cur = self.results.currentIndex().row()
                    step = 1 if key == Qt.Key.Key_Down else -1
                    row = max(0, min(self.model.rowCount() - 1, cur + step))
                    if self.model.rowCount():
                        self.results.selectRow(row)
                    return True
            elif self.multi and obj is self.chosen and key == Qt.Key.Key_Delete:
                self.remove_selected()
                return True
        return super().eventFilter(obj, event)

    def _results_selection_changed(self, *_args: Any) -> None:
        if not self.multi:
            self.selectionChanged.emit()

    # -- choosing -----------------------------------------------------------------------------
    def _label(self, row: dict) -> str:
        bits = [row.get("name") or "", f"{row['age']}岁" if row.get("age") is not None else "", row.get("address") or ""]
        return " ".join(b for b in bits if b)

    def add_selected(self) -> None:
        if not self.multi:
            self.selectionChanged.emit()  # single choice: the highlighted row is the choice
            return
        rows = sorted({i.row() for i in self.results.selectionModel().selectedRows()})
        if not rows and self.results.currentIndex().isValid():
            rows = [self.results.currentIndex().row()]
        added = False
        for r in rows:
            row = self.model.row(r)
            if row and row["_id"] not in self._chosen:
                self._add(row["_id"], self._label(row))
                added = True
        if added:
            self._changed()

    def add_all_results(self) -> None:
        n = self.model.rowCount()
        if n > 500 or self.model.capped:  # a capped list is not every result: adding it would mislead
            found = f"超过 {n:,} 人" if self.model.capped else f"有 {n:,} 人"
            messages.info(self, "人数太多", f"查找结果{found}，请把条件写得更具体（最多一次添加 500 人）。")
            return
        added = skipped = 0
        for r in range(n):
            row = self.model.row(r)
            if not row or row["_id"] in self._chosen:
                continue
            if self.min_age is not None and row.get("age") is not None and row["age"] < self.min_age:
                skipped += 1
                continue
            self._add(row["_id"], self._label(row))
            added += 1
        self._changed()
        note = f"已加入 {added} 人"
        if skipped:
            note += f"，跳过 {skipped} 名未满 {self.min_age} 周岁的居民"
        self.result_count.setText(note + "。")

    def _add(self, person_id: str, label: str) -> None:
        self._chosen[person_id] = label
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, person_id)
        self.chosen.addItem(item)

    def remove_selected(self) -> None:
        for item in self.chosen.selectedItems():
            self._chosen.pop(item.data(Qt.ItemDataRole.UserRole), None)
            self.chosen.takeItem(self.chosen.row(item))
        self._changed()

    def add_ids(self, person_ids: list[str]) -> None:
        """Add people by id (pasted list, a previous course's participants)."""
        if not person_ids:
            return
        rows = {r["_id"]: r for r in labour.residents_rows(self.db, self.model.column_sql(), person_ids)}
        for pid in person_ids:
            if pid in rows and pid not in self._chosen:
                self._add(pid, self._label(rows[pid]))
        self._changed()

    def paste_list(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self, "粘贴名单", "一行一个姓名或身份证号（同名的请在姓名后空一格写房号，如“张三 501”）：")
        if ok:
            self.add_pasted(text)

    def add_pasted(self, text: str) -> list[str]:
        """Match a pasted list; the ones found are added; returns the lines that need a look."""
        from app.models.employment import training

        found, problems = training.match_names(self.db, text)
        self.add_ids(found)
        if problems:
            messages.info(
                self, "部分名单未加入",
                f"已加入 {len(found)} 人。以下 {len(problems)} 行未加入，请用查找框逐个添加：\n" + "\n".join(problems[:30]),
            )
        return problems

    def _changed(self) -> None:
        if self.multi:
            self.chosen_label.setText(f"已选 {len(self._chosen)} 人")
        self.selectionChanged.emit()

    def selected_labels(self) -> dict[str, str]:
        """Person id → the line shown for them, of the people chosen (multi mode), in order."""
        return dict(self._chosen)

    def selected_ids(self) -> list[str]:
        if self.multi:
            return list(self._chosen)
        idx = self.results.currentIndex()
        pid = self.model.row_id(idx.row()) if idx.isValid() else None
        return [pid] if pid else []

    def clear(self) -> None:
        self._chosen.clear()
        if self.multi:
            self.chosen.clear()
        self._changed()

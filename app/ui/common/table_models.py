"""Table models that page from SQL: only the rows on screen are ever in Python.

Sorting and filtering happen in SQL (a QSortFilterProxyModel over 100k Python rows takes
seconds). A model shows a :class:`~app.models.core.list_query.ListQuery` built by the data layer
with a list of :class:`Column`; it counts once, then fetches pages of ``PAGE_SIZE`` rows around
what the view asks for.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from shiboken6 import isValid

from app.models.core.db import Database
from app.models.core.id_numbers import mask as mask_id_number  # noqa: F401 - re-exported for columns
from app.models.core.list_query import ListQuery

PAGE_SIZE = 200
MAX_PAGES = 20  # pages kept in memory: 4,000 rows at the most

RISK_COLOURS = {"red": QColor("#d9363e"), "yellow": QColor("#e6a700"), "green": QColor("#2f9e44")}
RISK_NAMES = {"red": "红", "yellow": "黄", "green": "绿"}


@dataclass
class Column:
    """One column: `sql` is the expression selected, `title` the (Chinese) header."""

    key: str
    title: str
    sql: str
    sort_sql: str | None = None  # expression to ORDER BY (defaults to `sql`)
    display: Callable[[Any, dict], str] | None = None
    decoration: Callable[[Any, dict], Any] | None = None
    foreground: Callable[[Any, dict], Any] | None = None
    tooltip: Callable[[Any, dict], str | None] | None = None
    align: Qt.AlignmentFlag | None = None
    width: int | None = None
    extra: dict = field(default_factory=dict)


def risk_display(value: Any, _row: dict) -> str:
    return RISK_NAMES.get(value, value or "")


def risk_decoration(value: Any, _row: dict) -> Any:
    colour = RISK_COLOURS.get(value)
    return colour if colour is not None else None


class SqlTableModel(QAbstractTableModel):
    """A read-only table over a :class:`ListQuery` of the data layer and its :class:`Column` list."""

    ordered = Signal()  # an order worked out on the worker (see _order_on_worker) is in place
    runner: Any = None  # an OpRunner, for orders too slow to work out on the UI thread
    sorting = False  # such an order is on its way
    _order_seq = 0

    def __init__(
        self,
        db: Database,
        query: ListQuery,
        columns: Sequence[Column],
        *,
        order_by: str | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self._query = query
        self.columns = list(columns)
        self._default_order = order_by or self.columns[0].sql
        self._order = self._default_order
        self._count: int | None = None
        self._pages: OrderedDict[int, list[dict]] = OrderedDict()

    # -- what to show ------------------------------------------------------------------------
    def set_query(self, query: ListQuery) -> None:
        """Show the rows of `query` (a list of the data layer, filtered) and reload."""
        if query == self._query:
            return
        self._query = query
        self.refresh()

    @property
    def query(self) -> ListQuery:
        """What the list shows, as the data layer built it (also what "export what I see" exports)."""
        return self._query

    @property
    def order_sql(self) -> str:
        return self._order

    def column_sql(self) -> list[tuple[str, str]]:
        return [(c.key, c.sql) for c in self.columns]

    def _order_on_worker(self, query: Callable[[Database], Any], apply: Callable[[Any], None]) -> None:
        """Run `query` on the worker; its result goes to `apply` inside a layout change.

        A later call, or :meth:`_drop_worker_order`, makes the result of this one count for nothing.
        """
        self._order_seq += 1
        seq = self._order_seq
        self.sorting = True

        def ready(result: Any) -> None:
            if not isValid(self) or seq != self._order_seq:
                return  # new rows or a newer order came meanwhile
            self.sorting = False
            self.layoutAboutToBeChanged.emit()
            apply(result)
            self._pages.clear()
            self.layoutChanged.emit()
            self.ordered.emit()

        def failed(exc: BaseException) -> None:
            from app.ui.common.crash import report_exception

            self.sorting = False
            report_exception(exc)

        self.runner.run(lambda db, _p: query(db), on_success=ready, on_failure=failed)

    def _drop_worker_order(self) -> None:
        """An order on its way no longer applies (the rows or the sort changed)."""
        self._order_seq += 1
        self.sorting = False

    def refresh(self) -> None:
        self.beginResetModel()
        self._count = None
        self._pages.clear()
        self.endResetModel()

    # -- Qt model interface ------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        if self._count is None:
            self._count = self._query.count(self.db)
        return self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].title
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row(index.row())
        if row is None:
            return None
        col = self.columns[index.column()]
        value = row.get(col.key)
        if role == Qt.ItemDataRole.DisplayRole:
            if col.display is not None:
                return col.display(value, row)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.DecorationRole and col.decoration is not None:
            return col.decoration(value, row)
        if role == Qt.ItemDataRole.ForegroundRole and col.foreground is not None:
            colour = col.foreground(value, row)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return col.tooltip(value, row)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.align is not None:
            return int(col.align)
        if role == Qt.ItemDataRole.UserRole:
            return row.get("_id")
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            self._order = self._default_order
        else:
            col = self.columns[column]
            direction = "DESC" if order == Qt.SortOrder.DescendingOrder else "ASC"
            self._order = f"{col.sort_sql or col.sql} {direction}"
        self.layoutAboutToBeChanged.emit()
        self._pages.clear()
        self.layoutChanged.emit()

    # -- rows --------------------------------------------------------------------------------
    def row(self, row: int) -> dict | None:
        if row < 0 or row >= self.rowCount():
            return None
        page_no = row // PAGE_SIZE
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch(page_no)
            self._pages[page_no] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        offset = row - page_no * PAGE_SIZE
        return page[offset] if offset < len(page) else None

    def row_id(self, row: int) -> str | None:
        r = self.row(row)
        return None if r is None else r.get("_id")

    def find_row(self, row_id: str) -> int:
        """Row number of `row_id` among the loaded pages, or -1."""
        for page_no, page in self._pages.items():
            for i, r in enumerate(page):
                if r.get("_id") == row_id:
                    return page_no * PAGE_SIZE + i
        return -1

    def _fetch(self, page_no: int) -> list[dict]:
        return self._query.page(self.db, self.column_sql(), self._order, PAGE_SIZE, page_no * PAGE_SIZE)

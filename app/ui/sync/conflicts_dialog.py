"""The conflict review screen: two PCs changed a key field at once, or registered one ID number twice."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.core.db import Database
from app.models.core.id_numbers import mask
from app.models.sync import review
from app.ui.common.context import AppContext
from app.ui.common.ops import perform

COLUMNS = ["类型", "记录", "项目", "现在的值", "一方的修改", "另一方的修改"]


def _side_text(side: review.Side) -> str:
    return f"{side.shown}（{side.user}，{side.pc}，{side.at:%Y-%m-%d %H:%M}）"


class ConflictsDialog(QDialog):
    """Lists open conflicts and possible duplicates; each decision is a new op that syncs onward."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.items: list[review.Conflict | review.Duplicate | review.SharedRoom] = []
        self.loaded = False
        self.setObjectName("conflictsDialog")
        self.setWindowTitle("冲突审核")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("conflictsTable")
        self.table.setAccessibleName("待审核的冲突")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.status = QLabel("正在读取……")
        self.status.setObjectName("conflictsStatus")
        self.detail = QLabel("")
        self.detail.setObjectName("conflictDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(self.detail.fontMetrics().lineSpacing() * 4)

        self.use_first = QPushButton("采用一方的值(&1)")
        self.use_first.setObjectName("conflictUseFirst")
        self.use_first.clicked.connect(lambda: self._choose(0))
        self.use_second = QPushButton("采用另一方的值(&2)")
        self.use_second.setObjectName("conflictUseSecond")
        self.use_second.clicked.connect(lambda: self._choose(1))
        self.merged_edit = QLineEdit()
        self.merged_edit.setObjectName("conflictMergedEdit")
        self.merged_edit.setAccessibleName("合并后的值")
        self.merged_edit.setPlaceholderText("或输入合并后的值")
        self.merged_edit.returnPressed.connect(self._merge)
        self.use_merged = QPushButton("采用输入的值(&M)")
        self.use_merged.setObjectName("conflictUseMerged")
        self.use_merged.clicked.connect(self._merge)
        self.not_same = QPushButton("不是同一人(&N)")
        self.not_same.setObjectName("duplicateNotSame")
        self.not_same.clicked.connect(lambda: self._duplicate(None))
        self.remove_first = QPushButton("是同一人，删除第一条(&D)")
        self.remove_first.setObjectName("duplicateRemoveFirst")
        self.remove_first.clicked.connect(lambda: self._duplicate(0))
        self.remove_second = QPushButton("是同一人，删除第二条")
        self.remove_second.setObjectName("duplicateRemoveSecond")
        self.remove_second.clicked.connect(lambda: self._duplicate(1))
        self.room_ok = QPushButton("已核实，确实同住(&K)")
        self.room_ok.setObjectName("sharedRoomConfirm")
        self.room_ok.clicked.connect(self._room_ok)

        decide = QGroupBox("处理选中的一项")
        rows = QVBoxLayout(decide)
        rows.addWidget(self.detail)
        line1 = QHBoxLayout()
        line1.addWidget(self.use_first)
        line1.addWidget(self.use_second)
        line1.addWidget(self.merged_edit, 1)
        line1.addWidget(self.use_merged)
        rows.addLayout(line1)
        line2 = QHBoxLayout()
        line2.addWidget(self.not_same)
        line2.addWidget(self.remove_first)
        line2.addWidget(self.remove_second)
        line2.addWidget(self.room_ok)
        line2.addStretch(1)
        rows.addLayout(line2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(decide)
        layout.addWidget(buttons)
        self.resize(980, 520)
        # Enter in the merged-value box must not also press some button that decides the other way.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        self._selected()
        self.reload()

    # -- loading ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.loaded = False
        self.ctx.runner.run(
            lambda db, _p: (review.open_conflicts(db), review.open_duplicates(db), review.open_shared_rooms(db)),
            on_success=self._fill)

    def _fill(self, result: tuple[list[review.Conflict], list[review.Duplicate], list[review.SharedRoom]]) -> None:
        conflicts, dups, rooms = result
        self.items = [*conflicts, *dups, *rooms]
        self.table.setRowCount(len(self.items))
        for r, item in enumerate(self.items):
            if isinstance(item, review.Conflict):
                cells = ["同时修改", item.record, item.field_label, item.current_shown,
                         _side_text(item.loser), _side_text(item.winner)]
            elif isinstance(item, review.Duplicate):
                cells = ["可能重复登记", f"身份证号 {mask(item.id_number)}", "人员", "两条记录都在",
                         item.label_a, item.label_b]
            else:
                cells = ["一房多户", item.address, "住户", f"{len(item.labels)} 户在住",
                         item.labels[0], "；".join(item.labels[1:])]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        n = len(self.items)
        self.status.setText(f"待审核 {n} 项。" if n else "没有待审核的冲突。")
        self.loaded = True
        if n:
            self.table.selectRow(0)
        self._selected()

    # -- deciding ----------------------------------------------------------------------------
    def current(self) -> review.Conflict | review.Duplicate | review.SharedRoom | None:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows and rows[0].row() < len(self.items) else None

    def _selected(self) -> None:
        item = self.current()
        is_conflict = isinstance(item, review.Conflict)
        is_dup = isinstance(item, review.Duplicate)
        for w in (self.use_first, self.use_second, self.merged_edit, self.use_merged):
            w.setEnabled(is_conflict)
        # Ids (household, head) cannot be typed: keep one side's choice.
        if isinstance(item, review.Conflict) and item.col in ("household_id", "head_person_id"):
            self.merged_edit.setEnabled(False)
            self.use_merged.setEnabled(False)
        for w in (self.not_same, self.remove_first, self.remove_second):
            w.setEnabled(is_dup)
        self.room_ok.setEnabled(isinstance(item, review.SharedRoom))
        if isinstance(item, review.Conflict):
            self.use_first.setText(f"采用“{item.loser.shown}”(&1)")
            self.use_second.setText(f"采用“{item.winner.shown}”(&2)")
            self.detail.setText(
                f"{item.record} 的{item.field_label}在两台电脑上被同时修改。现在的值：{item.current_shown}。\n"
                f"一方：{_side_text(item.loser)}\n另一方：{_side_text(item.winner)}")
        elif isinstance(item, review.Duplicate):
            self.detail.setText(f"身份证号 {mask(item.id_number)} 登记了两次：{item.label_a}；{item.label_b}。"
                                "请核实是否同一人。系统不会自动合并。")
        elif isinstance(item, review.SharedRoom):
            self.detail.setText(f"{item.address} 现在住有 {len(item.labels)} 户：{'；'.join(item.labels)}。"
                                "通常是两台电脑各自把一户安排进了这间空房。请核实：搬错的一户请在居民管理中"
                                "“搬迁”到正确的房间；确实同住请点“已核实”。")
        else:
            self.detail.setText("请在上表中选择一项。")

    def _apply(self, action: Callable[[Database], object]) -> None:
        if not perform(self.ctx, self, action, on_error=lambda exc: self.detail.setText(f"未保存：{exc}")):
            return
        self.merged_edit.clear()
        self.reload()

    def _choose(self, which: int) -> None:
        item = self.current()
        if isinstance(item, review.Conflict):
            value = (item.loser, item.winner)[which].value
            self._apply(lambda db: review.resolve_conflict(db, item, value))

    def _merge(self) -> None:
        item = self.current()
        text = self.merged_edit.text().strip()
        if not isinstance(item, review.Conflict) or not self.use_merged.isEnabled():
            return
        if not text:
            self.detail.setText("请先输入合并后的值。")
            return
        value = {"红": "red", "黄": "yellow", "绿": "green"}.get(text, text) if item.col == "risk_colour" else text
        self._apply(lambda db: review.resolve_conflict(db, item, value))

    def _room_ok(self) -> None:
        item = self.current()
        if isinstance(item, review.SharedRoom):
            self._apply(lambda db: review.confirm_shared_room(db, item))

    def _duplicate(self, which: int | None) -> None:
        item = self.current()
        if isinstance(item, review.Duplicate):
            remove = None if which is None else (item.person_a, item.person_b)[which]
            self._apply(lambda db: review.resolve_duplicate(db, item, remove=remove))

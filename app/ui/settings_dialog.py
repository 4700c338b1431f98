"""The office settings dialog: name, address and phone for printed forms; visit and case rhythms."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models import settings
from app.ui import events as ev
from app.ui.context import AppContext

TEXT_FIELDS = [
    ("office_name", "单位名称（打印抬头）"),
    ("office_address", "单位地址"),
    ("office_phone", "联系电话"),
]
NUMBER_FIELDS = [
    ("visit_interval_red", "红色户走访间隔（天）", 1, 60),
    ("visit_interval_yellow", "黄色户走访间隔（天）", 1, 90),
    ("visit_interval_green", "绿色户走访间隔（天）", 1, 180),
    ("visit_interval_special", "四必访对象最长间隔（天）", 1, 90),
    ("working_age_min", "劳动年龄下限（岁）", 14, 30),
    ("working_age_max", "劳动年龄上限（岁）", 45, 75),
    ("stable_job_months", "稳定就业最短月数", 1, 24),
    ("mediation_limit_楼栋", "楼栋调解时限（天）", 1, 90),
    ("mediation_limit_社区", "社区调解时限（天）", 1, 180),
    ("mediation_limit_街道", "街道调解时限（天）", 1, 365),
]


class SettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("settingsDialog")
        self.setWindowTitle("单位设置")
        self.setMinimumWidth(520)
        current = settings.get_all(ctx.db)
        form = QFormLayout()
        self.texts: dict[str, QLineEdit] = {}
        for key, label in TEXT_FIELDS:
            edit = QLineEdit(str(current.get(key) or ""), self)
            edit.setObjectName(f"setting_{key}")
            edit.setMaxLength(100)
            form.addRow(label, edit)
            self.texts[key] = edit
        self.numbers: dict[str, QSpinBox] = {}
        for key, label, low, high in NUMBER_FIELDS:
            spin = QSpinBox(self)
            spin.setObjectName(f"setting_{key}")
            spin.setRange(low, high)
            spin.setValue(int(current.get(key)))
            form.addRow(label, spin)
            self.numbers[key] = spin
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def save(self) -> None:
        name = self.texts["office_name"].text().strip()
        if not name:
            QMessageBox.warning(self, "单位设置", "单位名称不能为空：它印在每一张表格的抬头上。")
            self.texts["office_name"].setFocus()
            return
        if self.numbers["working_age_min"].value() >= self.numbers["working_age_max"].value():
            QMessageBox.warning(self, "单位设置", "劳动年龄下限必须小于上限。")
            return
        values = {k: e.text().strip() for k, e in self.texts.items()}
        values.update({k: s.value() for k, s in self.numbers.items()})
        with self.ctx.db.write():
            for key, value in values.items():
                if settings.get(self.ctx.db, key) != value:
                    settings.set_value(self.ctx.db, key, value)
        self.ctx.events.announce(ev.SETTINGS)
        self.accept()

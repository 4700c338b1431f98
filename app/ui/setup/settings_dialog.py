"""The office settings dialog: name, address and phone for printed forms; visit and case rhythms."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models.core import backup, settings
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform

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
            spin.setValue(int(current.get(key) or low))
            form.addRow(label, spin)
            self.numbers[key] = spin
        # A folder on this PC's other disk or USB stick: this PC's own setting (not synced).
        self.second_place = QLineEdit(backup.second_place(ctx.db), self)
        self.second_place.setObjectName("setting_second_backup_folder")
        self.second_place.setPlaceholderText("不设置：只备份在本机的数据文件夹")
        self.second_place.setToolTip("另一块磁盘或 U 盘上的文件夹。每天和退出时的自动备份也复制一份到这里；"
                                     "U 盘没插时跳过，状态栏会提示。")
        browse = QPushButton("选择…", self)
        browse.setObjectName("secondBackupBrowse")
        browse.clicked.connect(self._choose_second_place)
        row = QHBoxLayout()
        row.addWidget(self.second_place, 1)
        row.addWidget(browse)
        form.addRow("第二备份位置（本机）", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _choose_second_place(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "第二备份位置", self.second_place.text() or "")
        if folder:
            self.second_place.setText(folder)

    def save(self) -> None:
        name = self.texts["office_name"].text().strip()
        if not name:
            messages.warn(self, "单位设置", "单位名称不能为空：它印在每一张表格的抬头上。")
            self.texts["office_name"].setFocus()
            return
        if self.numbers["working_age_min"].value() >= self.numbers["working_age_max"].value():
            messages.warn(self, "单位设置", "劳动年龄下限必须小于上限。")
            return
        values: dict[str, str | int] = {k: e.text().strip() for k, e in self.texts.items()}
        values.update({k: s.value() for k, s in self.numbers.items()})
        second = self.second_place.text()
        if perform(self.ctx, self, lambda db: settings.set_values(db, values, second_place=second), title="单位设置"):
            self.accept()

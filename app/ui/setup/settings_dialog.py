"""The office settings dialog, generated from the settings registry (app.models.core.settings).

One row per registered setting, grouped by section, with the widget its type calls for (a line edit
for text, a spin box bounded by the setting's range for a number, a list for a text list). The
registry checks the values when they are saved; the dialog only shows what it refused and where.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models.core import backup, settings
from app.models.core.errors import KnownError
from app.ui.common import messages
from app.ui.common.context import AppContext
from app.ui.common.ops import perform
from app.widgets.screen_fit import FitScrollArea


def editor_for(setting: settings.Setting, value: Any, parent: QWidget) -> QWidget:
    """The widget a setting's type calls for, holding `value`."""
    widget: QWidget
    if isinstance(setting, settings.IntSetting):
        spin = QSpinBox(parent)
        spin.setRange(setting.minimum, setting.maximum)
        if setting.unit:
            spin.setSuffix(f" {setting.unit}")
        try:
            spin.setValue(setting.clean(value))
        except KnownError:  # a value stored by an older version outside today's range
            spin.setValue(setting.default)
        widget = spin
    elif isinstance(setting, settings.TextListSetting):
        edit = QPlainTextEdit("\n".join(value or []), parent)
        edit.setPlaceholderText("每行一项")
        widget = edit
    else:
        assert isinstance(setting, settings.TextSetting), setting
        line = QLineEdit(str(value or ""), parent)
        line.setMaxLength(setting.max_length)
        widget = line
    widget.setObjectName(f"setting_{setting.key}")
    widget.setAccessibleName(setting.label)
    widget.setToolTip(setting.help)
    widget.setWhatsThis(setting.help)
    return widget


def value_of(widget: QWidget) -> Any:
    if isinstance(widget, QSpinBox):
        return widget.value()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText().splitlines()
    assert isinstance(widget, QLineEdit)
    return widget.text()


class SettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("settingsDialog")
        self.setWindowTitle("单位设置")
        self.setMinimumWidth(560)
        current = settings.get_all(ctx.db)
        principal = ctx.db.principal
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        self.editors: dict[str, QWidget] = {}
        for section, members in settings.sections():
            group = QGroupBox(section, body)
            form = QFormLayout(group)
            for setting in members:
                editor = editor_for(setting, current.get(setting.key), group)
                if not setting.changer.allows(principal):
                    editor.setEnabled(False)
                    editor.setToolTip(f"只有{setting.changer}可以修改。{setting.help}")
                label = QLabel(setting.label + "：", group)
                label.setToolTip(setting.help)
                label.setBuddy(editor)
                form.addRow(label, editor)
                self.editors[setting.key] = editor
            column.addWidget(group)
        # The spellings the tests and older code use.
        self.texts = {k: w for k, w in self.editors.items() if isinstance(w, QLineEdit)}
        self.numbers = {k: w for k, w in self.editors.items() if isinstance(w, QSpinBox)}
        column.addWidget(self._backup_group(body))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(FitScrollArea(body, self), 1)
        layout.addWidget(buttons)

    def _backup_group(self, parent: QWidget) -> QGroupBox:
        # A folder on this PC's other disk or USB stick: this PC's own setting (not synced).
        group = QGroupBox("备份（本机）", parent)
        form = QFormLayout(group)
        self.second_place = QLineEdit(backup.second_place(self.ctx.db), group)
        self.second_place.setObjectName("setting_second_backup_folder")
        self.second_place.setPlaceholderText("不设置：只备份在本机的数据文件夹")
        self.second_place.setToolTip("另一块磁盘或 U 盘上的文件夹。每天和退出时的自动备份也复制一份到这里；"
                                     "U 盘没插时跳过，状态栏会提示。")
        browse = QPushButton("选择…", group)
        browse.setObjectName("secondBackupBrowse")
        browse.clicked.connect(self._choose_second_place)
        row = QHBoxLayout()
        row.addWidget(self.second_place, 1)
        row.addWidget(browse)
        form.addRow("第二备份位置：", row)
        return group

    def _choose_second_place(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "第二备份位置", self.second_place.text() or "")
        if folder:
            self.second_place.setText(folder)

    def values(self) -> dict[str, Any]:
        """What the form holds, for the settings this user may change."""
        return {key: value_of(w) for key, w in self.editors.items() if w.isEnabled()}

    def save(self) -> None:
        values, second = self.values(), self.second_place.text()

        def refused(exc: KnownError) -> None:
            messages.warn(self, "单位设置", str(exc))
            editor = self.editors.get(getattr(exc, "field", None) or "")
            if editor is not None:
                editor.setFocus()

        if perform(self.ctx, self, lambda db: settings.set_values(db, values, second_place=second), on_error=refused):
            self.accept()

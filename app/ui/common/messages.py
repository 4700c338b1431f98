"""The one way a window tells the clerk something in a box or asks a question.

    if messages.confirm_destructive(self, "删除培训", f"删除培训“{name}”？"):
        ...
    messages.warn(self, "无法保存", str(exc))
    choice = messages.choose(self, "还有住户", text, ["搬迁住户…"], cancel="关闭")

Every modal message box of app/ui is shown by :func:`_present` (tests/test_layers.py refuses a
QMessageBox static call anywhere else), so a test replaces that one function to see what was said
and to answer the questions (the ``messages`` fixture of tests/ui/conftest.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from app.models.core.errors import KnownError

Kind = Literal["info", "warn", "error", "about", "confirm", "choose"]
QUESTIONS: frozenset[str] = frozenset({"confirm", "choose"})

_Yes = QMessageBox.StandardButton.Yes
_No = QMessageBox.StandardButton.No


@dataclass(frozen=True)
class Message:
    """One box: what kind, its title and text, and for a question what can be answered."""

    kind: Kind
    title: str
    text: str
    #: confirm: Yes is the default button (Enter says yes); False for a destructive question
    default_yes: bool = True
    #: choose: the buttons besides `cancel`
    options: tuple[str, ...] = ()
    cancel: str = "取消"
    #: error: a second paragraph and the folded-away details (a traceback)
    informative: str = ""
    details: str = ""
    icon: Literal["question", "warning", "information", "critical"] = "question"
    object_name: str = ""


def info(parent: QWidget | None, title: str, text: str) -> None:
    """Tell the clerk something went as asked or needs no action (an information box)."""
    _present(parent, Message("info", title, text))


def warn(parent: QWidget | None, title: str, text: str) -> None:
    """Tell the clerk why something was refused or failed (a warning box)."""
    _present(parent, Message("warn", title, text))


def refused(parent: QWidget | None, exc: KnownError, fields: Mapping[str, QWidget] | None = None) -> None:
    """Show why an input was refused (a warning titled 请核对) and put the cursor on the field the
    error names (its ``field``), when that field is among `fields`."""
    warn(parent, "请核对", str(exc))
    field = getattr(exc, "field", None)
    if fields and isinstance(field, str) and field in fields:
        fields[field].setFocus()


def error(parent: QWidget | None, title: str, text: str, *, informative: str = "", details: str = "",
          object_name: str = "") -> None:
    """A failure the program cannot carry on from (a critical box), with optional folded details."""
    _present(parent, Message("error", title, text, informative=informative, details=details, object_name=object_name))


def about(parent: QWidget | None, title: str, text: str) -> None:
    """The 关于 box (rich text)."""
    _present(parent, Message("about", title, text))


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask yes/no, Yes being the default button; true when the clerk said yes."""
    return bool(_present(parent, Message("confirm", title, text)))


def confirm_destructive(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask yes/no before something hard to take back (a delete, discarding edits): No is the
    default button, so a hasty Enter keeps things as they are."""
    return bool(_present(parent, Message("confirm", title, text, default_yes=False)))


def choose(parent: QWidget | None, title: str, text: str, options: Sequence[str], *, cancel: str = "取消",
           icon: Literal["question", "warning", "information"] = "question", object_name: str = "") -> str | None:
    """Offer `options` as buttons (plus `cancel`); the option chosen, None for cancel or a closed box."""
    answer = _present(parent, Message("choose", title, text, options=tuple(options), cancel=cancel, icon=icon,
                                      object_name=object_name))
    return answer if isinstance(answer, str) else None


_ICONS = {
    "question": QMessageBox.Icon.Question,
    "warning": QMessageBox.Icon.Warning,
    "information": QMessageBox.Icon.Information,
    "critical": QMessageBox.Icon.Critical,
}


def _present(parent: QWidget | None, message: Message) -> bool | str | None:
    """Show `message` modally and return the answer (a bool for confirm, an option or None for
    choose, None otherwise). The one place a message box is built; tests replace it."""
    kind = message.kind
    if kind == "info":
        QMessageBox.information(parent, message.title, message.text)
    elif kind == "warn":
        QMessageBox.warning(parent, message.title, message.text)
    elif kind == "about":
        QMessageBox.about(parent, message.title, message.text)
    elif kind == "confirm":
        default = QMessageBox.StandardButton.NoButton if message.default_yes else _No
        return QMessageBox.question(parent, message.title, message.text, _Yes | _No, default) == _Yes
    elif kind == "error" and not (message.informative or message.details or message.object_name):
        QMessageBox.critical(parent, message.title, message.text)
    else:
        box = QMessageBox(parent)
        if message.object_name:
            box.setObjectName(message.object_name)
        box.setIcon(_ICONS["critical" if kind == "error" else message.icon])
        box.setWindowTitle(message.title)
        box.setText(message.text)
        if message.informative:
            box.setInformativeText(message.informative)
        if message.details:
            box.setDetailedText(message.details)
        buttons: dict[QAbstractButton, str] = {
            box.addButton(option, QMessageBox.ButtonRole.AcceptRole): option for option in message.options}
        if kind == "choose":
            box.addButton(message.cancel, QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return buttons.get(box.clickedButton())
    return None

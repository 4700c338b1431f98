"""A search line for search-as-you-type: coalesces keystrokes, Down/Enter hand over to the result list."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget


class SearchBox(QLineEdit):
    """Emits ``search(text)`` once typing pauses for `delay_ms` (0 = at the next event-loop turn).

    A delay of 0 still coalesces keys that arrive together (paste, fast typing while a query
    runs) into one search, without adding a fixed wait to every keystroke.
    """

    search = Signal(str)
    move_down = Signal()  # Down arrow: go to the results
    activated = Signal()  # Enter: open the selected result

    def __init__(self, parent: QWidget | None = None, *, delay_ms: int = 0, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setClearButtonEnabled(True)
        self.setMaxLength(200)
        if placeholder:
            self.setPlaceholderText(placeholder)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)
        self.textChanged.connect(lambda _t: self._timer.start())

    def _fire(self) -> None:
        self.search.emit(self.text())

    def flush(self) -> None:
        """Run a pending search now (tests, Enter pressed before the timer fired)."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if key == Qt.Key.Key_Down:
            self.flush()
            self.move_down.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.flush()
            self.activated.emit()
            return
        if key == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class SearchField(QLineEdit):
    """A search line inside a form: Enter runs the search (``returnPressed``) and nothing else.

    A plain QLineEdit passes Enter on to its dialog, which then presses the default button, so
    one key both searched and tried to save the form.
    """

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()

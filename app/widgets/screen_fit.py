"""Keep every window inside the screen it opens on (office PCs often have 1366×768 or less)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import QApplication, QDialog, QFrame, QScrollArea, QWidget

MARGIN = 0.96  # leave the task bar and the title bar in sight


def available(widget: QWidget | None = None) -> QRect:
    screen = (widget.screen() if widget is not None else None) or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_size(widget: QWidget, width: int, height: int) -> None:
    """Resize to (width, height) or as much of it as the screen holds."""
    area = available(widget)
    widget.resize(min(width, int(area.width() * MARGIN)), min(height, int(area.height() * MARGIN)))


def clamp_window(window: QWindow | None) -> None:
    """Shrink and move a window that reaches past the available screen area."""
    if window is None or window.screen() is None:
        return
    area = window.screen().availableGeometry()
    w = min(window.width(), int(area.width() * MARGIN))
    h = min(window.height(), int(area.height() * MARGIN))
    if (w, h) != (window.width(), window.height()):
        window.resize(w, h)
    x = min(max(window.x(), area.left()), area.right() - w)
    y = min(max(window.y(), area.top()), area.bottom() - h)
    if (x, y) != (window.x(), window.y()):
        window.setPosition(x, y)


def _clamp_dialog(window: QWindow | None) -> None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.windowHandle() is window:
            clamp_window(window)
            return


def install(app: QApplication) -> None:
    """Every dialog that comes to the front is kept inside its screen (dialogs sized for larger
    screens); the main window fits itself when it first opens."""
    app.focusWindowChanged.connect(_clamp_dialog)


class FitScrollArea(QScrollArea):
    """A dialog's body that asks for all the room its contents want, and scrolls only when the
    screen cannot give it (a long form at a large text size on a 768-pixel screen)."""

    def __init__(self, body: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        body = self.widget()
        if body is None:
            return super().sizeHint()
        hint = body.sizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        body = self.widget()
        if body is None:
            return super().minimumSizeHint()
        hint = body.minimumSizeHint()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), min(hint.height(), 240))

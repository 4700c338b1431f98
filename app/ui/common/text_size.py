"""视图 → 字号: one text size for every window and table at once, remembered per PC."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QGroupBox,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QWidget,
)
from shiboken6 import isValid

from app.ui.shell import Shell

SETTING = "view/text_size"
DEFAULT = "中"
# Points added to the system's own size (9 pt on a Chinese Windows): 特大 is about one and a half times.
SIZES: dict[str, int] = {"小": -1, "中": 0, "大": 2, "特大": 5}
ACTION_NAMES = {"小": "actionTextSmall", "中": "actionTextMedium", "大": "actionTextLarge", "特大": "actionTextExtraLarge"}
ROW_PADDING = 8  # pixels above and below a line of text in a table row

_base_point_size: float | None = None
_fitter: QObject | None = None
_current = "中"
_fitted_size = "中"


def settings() -> QSettings:
    return QSettings("Anju", "Anju")


def saved() -> str:
    value = settings().value(SETTING, DEFAULT, type=str)
    return value if value in SIZES else DEFAULT


def point_size(name: str) -> float:
    """The application font size for `name`, from the size the system gave before any change."""
    global _base_point_size
    if _base_point_size is None:
        _base_point_size = QApplication.font().pointSizeF()
        if _base_point_size <= 0:  # a font sized in pixels: take its point equivalent
            _base_point_size = 9.0
    return _base_point_size + SIZES.get(name, 0)


def row_height(font: QFont) -> int:
    return QFontMetrics(font).height() + ROW_PADDING


def scale() -> float:
    """How much larger the text is now than the usual size the screens were laid out for."""
    return point_size(_current) / point_size(DEFAULT)


_FONT_SIZE = re.compile(r"font-size:\s*(\d+(?:\.\d+)?)\s*(px|pt)")


def _refit(widget: QWidget) -> None:
    if isValid(widget):  # it may be gone by the time the timer fires
        fit_widget(widget)


def _refit_if_larger(widget: QWidget) -> None:
    if _current != DEFAULT:
        _refit(widget)


def fit_widget(widget: QWidget) -> None:
    """Bring one widget to the current size: a table's column widths and row height, and a style
    sheet's own font sizes (a widget with a style sheet keeps the font it was first shown with)."""
    factor = scale()
    if isinstance(widget, QTableView):
        header = widget.horizontalHeader()
        if not widget.property("anjuWatched"):
            # A table given its model (and its column widths) after it was first shown is fitted again.
            widget.setProperty("anjuWatched", True)
            header.sectionCountChanged.connect(
                lambda _old, _new, w=widget: QTimer.singleShot(0, lambda: _refit_if_larger(w)))
        widths = [header.sectionSize(i) for i in range(header.count())]
        # Widths other than those set here were set by the code (a new model) for the usual size.
        ours = widget.property("anjuWidths")
        applied = float(widget.property("anjuTextScale") or 1.0) if ours is not None and list(ours) == widths else 1.0
        ratio = factor / applied
        if abs(ratio - 1.0) > 0.01:
            for i in range(header.count()):
                if header.sectionResizeMode(i) in (QHeaderView.ResizeMode.Interactive, QHeaderView.ResizeMode.Fixed):
                    header.resizeSection(i, round(header.sectionSize(i) * ratio))
        widget.setProperty("anjuTextScale", factor)
        widget.setProperty("anjuWidths", [header.sectionSize(i) for i in range(header.count())])
        rows = widget.verticalHeader()
        needed = row_height(widget.font())
        base = int(widget.property("anjuRowHeight") or rows.defaultSectionSize())
        widget.setProperty("anjuRowHeight", base)
        if rows.defaultSectionSize() != max(base, needed):
            rows.setDefaultSectionSize(max(base, needed))
    if widget.testAttribute(Qt.WidgetAttribute.WA_SetFont) and not widget.objectName().startswith("qt_"):
        _shift_own_font(widget)
    if isinstance(widget, _LIMITED) and not widget.objectName().startswith("qt_"):
        _scale_limits(widget, factor)
    sheet = widget.styleSheet()
    if sheet:
        # The sheet as the code last set it; ours (scaled) is told apart by the copy kept beside it.
        original = widget.property("anjuStyleSheet")
        if original is None or sheet != widget.property("anjuScaledStyleSheet"):
            original = sheet
        # Large figures (22 pt on the overview) are big enough already and would widen the window.
        scaled = _FONT_SIZE.sub(
            lambda m: m[0] if float(m[1]) >= 20 else f"font-size: {float(m[1]) * factor:.1f}{m[2]}", original)
        widget.setProperty("anjuStyleSheet", original)
        widget.setProperty("anjuScaledStyleSheet", scaled)
        widget.setStyleSheet(scaled)  # set again, even unchanged: the widget re-reads the application font


# Widgets whose fixed or maximum size the code chose for the usual text size (a notes box 60 px
# tall, a count label 330 px wide); Qt's own parts (qt_… names) keep theirs.
_LIMITED = (QAbstractScrollArea, QLabel, QGroupBox)
_UNLIMITED = 16777215  # QWIDGETSIZE_MAX


def _scale_limits(widget: QWidget, factor: float) -> None:
    limits = (widget.minimumWidth(), widget.maximumWidth(), widget.minimumHeight(), widget.maximumHeight())
    ours = widget.property("anjuLimits")
    base = widget.property("anjuBaseLimits")
    if base is None or ours is None or tuple(ours) != limits:
        base = limits  # set by the code since (or never seen): they are for the usual size
    if base[1] >= _UNLIMITED and base[3] >= _UNLIMITED:
        return
    min_w, max_w, min_h, max_h = base

    def grow(value: int) -> int:
        return value if value >= _UNLIMITED or value == 0 else round(value * factor)

    if isinstance(widget, QAbstractScrollArea):
        # A box that scrolls may stay as small as before when the screen is short (a dialog on a
        # 768-pixel screen); it grows when there is room.
        widget.setMinimumSize(min_w, min_h)
    else:
        widget.setMinimumSize(grow(min_w) if min_w == max_w else min_w, grow(min_h) if min_h == max_h else min_h)
    widget.setMaximumSize(grow(max_w), grow(max_h))
    widget.setProperty("anjuBaseLimits", list(base))
    widget.setProperty("anjuLimits", [widget.minimumWidth(), widget.maximumWidth(), widget.minimumHeight(),
                                      widget.maximumHeight()])


def _shift_own_font(widget: QWidget) -> None:
    """A font the code set for one widget (a figure one point larger) moves with the chosen size."""
    size = widget.font().pointSizeF()
    if size <= 0:
        return
    ours = widget.property("anjuPoint")
    base = widget.property("anjuBasePoint")
    if base is None or ours is None or abs(float(ours) - size) > 0.01:
        # Set by the code since (or never seen): made for the size in force at that moment.
        base = size - SIZES[_fitted_size]
    if float(base) >= point_size(DEFAULT) and SIZES[_current] > 0:
        # Text the code made larger than usual (a figure, a count) needs no further growth to be
        # read, and growing it would widen rows of seven figures past a 1366-pixel screen.
        target = max(float(base), point_size(_current))
    else:
        target = float(base) + SIZES[_current]
    if abs(target - size) > 0.01:
        font = widget.font()
        font.setPointSizeF(target)
        widget.setFont(font)
    widget.setProperty("anjuBasePoint", float(base))
    widget.setProperty("anjuPoint", target)


def _needs_fit(widget: QWidget) -> bool:
    if widget.testAttribute(Qt.WidgetAttribute.WA_SetFont) and not isinstance(widget, QTableView):
        return True
    if isinstance(widget, QTableView) or widget.styleSheet():
        return True
    return isinstance(widget, _LIMITED) and (widget.maximumWidth() < _UNLIMITED or widget.maximumHeight() < _UNLIMITED)


class _Fitter(QObject):
    """Fits every widget as it is first shown (windows and dialogs opened later included)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Show and isinstance(obj, QWidget) and not obj.property("anjuFitted"):
            obj.setProperty("anjuFitted", True)
            if _needs_fit(obj):
                # After the show has finished: a tab fills its tables (and sets their widths) as it
                # is shown, after its children had their own show events.
                QTimer.singleShot(0, lambda w=obj: _refit(w))
        return False


def apply(name: str, *, remember: bool = False) -> None:
    """Set the text size of the whole program now; with `remember`, also on this PC's next start."""
    global _fitter, _current
    app = QApplication.instance()
    if app is None:
        return
    name = name if name in SIZES else DEFAULT
    font = QApplication.font()
    font.setPointSizeF(point_size(name))
    _current = name
    QApplication.setFont(font)
    if remember:
        settings().setValue(SETTING, name)
    # At the usual size no event filter costs anything.
    if name != DEFAULT and _fitter is None:
        _fitter = _Fitter(app)
        app.installEventFilter(_fitter)
    # Widgets take the new font from events Qt posts; fit them once those have been handled.
    QTimer.singleShot(0, lambda: _fit_all(name))


def _fit_all(name: str) -> None:
    if name != _current:
        return  # another size was chosen meanwhile; its own pass follows
    for widget in QApplication.allWidgets():
        if _needs_fit(widget):
            fit_widget(widget)
        if name != DEFAULT:
            widget.setProperty("anjuFitted", True)
    global _fitted_size
    _fitted_size = name


def fitted() -> bool:
    """True once every widget has been brought to the chosen size (tests wait for it)."""
    return _fitted_size == _current


def apply_saved() -> None:
    """At start: the size chosen on this PC (nothing changes while it is the usual one)."""
    name = saved()
    if name != DEFAULT:
        apply(name)


def install(window: Shell) -> None:
    """视图(&V) → 字号 with 小/中/大/特大, before the Help menu."""
    menu_view = getattr(window, "menu_view", None)
    if menu_view is None:
        menu_view = QMenu("视图(&V)", window)
        menu_view.setObjectName("menuView")
        window.menuBar().insertMenu(window.menu_help.menuAction(), menu_view)
        window.menu_view = menu_view
    sizes = menu_view.addMenu("字号(&Z)")
    sizes.setObjectName("menuTextSize")
    group = QActionGroup(window)
    group.setExclusive(True)
    current = saved()
    window.text_size_actions = {}
    for name in SIZES:
        action = QAction(name, window)
        action.setObjectName(ACTION_NAMES[name])
        action.setCheckable(True)
        action.setChecked(name == current)
        action.triggered.connect(lambda _checked=False, n=name: apply(n, remember=True))
        group.addAction(action)
        sizes.addAction(action)
        window.text_size_actions[name] = action

"""A titled bar chart drawn with QPainter: a few categories with counts, each bar labelled with its value."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

DEFAULT_COLOUR = "#4c6ef5"


class BarChart(QWidget):
    """Counts per category as bars (upright, or lying for long category names).

    The exact count is written at the end of each bar, so a clerk reads numbers rather than
    estimating them from an axis; the same numbers are in the accessible description.
    """

    def __init__(self, title: str, *, horizontal: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.horizontal = horizontal
        self._bars: list[tuple[str, float, QColor]] = []
        self.setAccessibleName(title)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QColor("white"))
        self.setPalette(palette)

    def set_bars(self, bars: Sequence[tuple[str, float, str | None]]) -> None:
        """(label, value, colour or None for the default) in drawing order: left to right, top to bottom."""
        self._bars = [(label, float(value), QColor(colour or DEFAULT_COLOUR)) for label, value, colour in bars]
        self.setAccessibleDescription("；".join(f"{label} {_fmt(value)}" for label, value, _ in self._bars))
        self.update()

    def bars(self) -> list[tuple[str, float]]:
        return [(label, value) for label, value, _ in self._bars]

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, 300)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(160, 140)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().color(self.foregroundRole())
        fm = painter.fontMetrics()
        margin = 10
        area = QRectF(self.rect()).adjusted(margin, margin, -margin, -margin)

        title_font = QFont(painter.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        painter.setFont(title_font)
        title_height = painter.fontMetrics().height() + 8
        painter.setPen(text_colour)
        painter.drawText(QRectF(area.left(), area.top(), area.width(), title_height),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.title)
        painter.setFont(self.font())
        area.setTop(area.top() + title_height)

        top = max((value for _, value, _ in self._bars), default=0.0)
        if top <= 0:
            painter.setPen(QColor("#888888"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "暂无数据")
            return
        if self.horizontal:
            self._paint_lying(painter, area, top, fm.height(), text_colour)
        else:
            self._paint_upright(painter, area, top, fm.height(), text_colour)

    def _paint_upright(self, painter: QPainter, area: QRectF, top: float, line: int, text: QColor) -> None:
        fm = painter.fontMetrics()
        plot = area.adjusted(0, line + 4, 0, -(line + 6))  # room for values above and labels below
        slot = plot.width() / len(self._bars)
        painter.setPen(QPen(QColor("#999999"), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        for i, (label, value, colour) in enumerate(self._bars):
            height = _length(plot.height(), value, top)
            bar = QRectF(plot.left() + slot * (i + 0.2), plot.bottom() - height, slot * 0.6, height)
            painter.fillRect(bar, colour)
            painter.setPen(text)
            painter.drawText(QRectF(plot.left() + slot * i, bar.top() - line - 2, slot, line),
                             Qt.AlignmentFlag.AlignCenter, _fmt(value))
            painter.drawText(QRectF(plot.left() + slot * i, plot.bottom() + 4, slot, line),
                             Qt.AlignmentFlag.AlignCenter, fm.elidedText(label, Qt.TextElideMode.ElideRight,
                                                                         int(slot)))

    def _paint_lying(self, painter: QPainter, area: QRectF, top: float, line: int, text: QColor) -> None:
        fm = painter.fontMetrics()
        label_width = min(max(fm.horizontalAdvance(label) for label, _, _ in self._bars) + 8, area.width() / 3)
        value_width = max(fm.horizontalAdvance(_fmt(value)) for _, value, _ in self._bars) + 8
        plot = area.adjusted(label_width, 0, -value_width, 0)
        slot = plot.height() / len(self._bars)
        painter.setPen(QPen(QColor("#999999"), 1))
        painter.drawLine(plot.topLeft(), plot.bottomLeft())
        for i, (label, value, colour) in enumerate(self._bars):
            width = _length(plot.width(), value, top)
            bar = QRectF(plot.left(), plot.top() + slot * (i + 0.2), width, slot * 0.6)
            painter.fillRect(bar, colour)
            painter.setPen(text)
            row = QRectF(area.left(), plot.top() + slot * i, label_width - 8, slot)
            painter.drawText(row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             fm.elidedText(label, Qt.TextElideMode.ElideRight, int(label_width - 8)))
            painter.drawText(QRectF(bar.right() + 4, plot.top() + slot * i, value_width, slot),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, _fmt(value))


def _length(room: float, value: float, top: float) -> float:
    # A count of 3 beside 1,200 still shows as a sliver: "none" and "a few" must look different.
    return max(room * value / top, 2.0) if value > 0 else 0.0


def _fmt(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"

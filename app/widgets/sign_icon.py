"""Picture signs as QPixmap/QIcon, rendered from the SVG files in resources/signs with QtSvg."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.models.places.signs import BACKGROUNDS, split
from app.paths import resource_dir


def sign_path(key: str) -> str:
    return str(resource_dir() / "signs" / f"{key}.svg")


def paint_sign(painter: QPainter, key: str, rect: QRectF) -> bool:
    """Draw sign `key` into `rect` (a coloured disc behind the drawing for "apple/blue");
    False when there is no drawing for it."""
    base, background = split(key)
    renderer = QSvgRenderer(sign_path(base))
    if not renderer.isValid():
        return False
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if background in BACKGROUNDS:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BACKGROUNDS[background][1]))
        painter.drawEllipse(rect)
        inset = rect.width() * 0.14
        rect = rect.adjusted(inset, inset, -inset, -inset)
    renderer.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
    renderer.render(painter, rect)
    return True


@lru_cache(maxsize=256)
def sign_image(key: str, size: int) -> QImage:
    """The sign drawn on a transparent square image of `size` pixels (empty image if the key is unknown)."""
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    paint_sign(painter, key, QRectF(0, 0, size, size))
    painter.end()
    return img


def sign_pixmap(key: str | None, size: int = 32) -> QPixmap:
    if not key:
        return QPixmap()
    return QPixmap.fromImage(sign_image(key, size))


def sign_icon(key: str | None) -> QIcon:
    if not key:
        return QIcon()
    return _sign_icon(key)


@lru_cache(maxsize=256)
def _sign_icon(key: str) -> QIcon:
    # Built once per sign: a tree of 1,000 places would otherwise render 5,000 pixmaps.
    icon = QIcon()
    for size in (16, 24, 32, 48, 64):
        icon.addPixmap(sign_pixmap(key, size))
    return icon

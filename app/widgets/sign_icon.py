"""Picture signs as QPixmap/QIcon, rendered from the SVG files in resources/signs with QtSvg."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.paths import resource_dir


def sign_path(key: str) -> str:
    return str(resource_dir() / "signs" / f"{key}.svg")


@lru_cache(maxsize=256)
def sign_image(key: str, size: int) -> QImage:
    """The sign drawn on a transparent square image of `size` pixels (empty image if the key is unknown)."""
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(sign_path(key))
    if renderer.isValid():
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
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


@lru_cache(maxsize=64)
def _sign_icon(key: str) -> QIcon:
    # Built once per sign: a tree of 1,000 places would otherwise render 5,000 pixmaps.
    icon = QIcon()
    for size in (16, 24, 32, 48, 64):
        icon.addPixmap(sign_pixmap(key, size))
    return icon

"""Renders the program icon (resources/icons/anju.svg) to PNG sizes and the Windows .ico.

    .venv/bin/python packaging/make_icons.py            # rewrites resources/icons/anju.ico
    .venv/bin/python packaging/make_icons.py OUT 48 256  # OUT/anju-48.png, OUT/anju-256.png

The .deb build calls render_pngs() for the desktop menu's hicolor icons; the .ico is committed
because the Windows build machine needs nothing but PyInstaller to embed it.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "anju.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_pngs(sizes: list[int], svg: Path = SVG) -> dict[int, bytes]:
    """PNG bytes of the icon at each size, drawn by Qt's SVG renderer (no screen needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    out: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        out[size] = bytes(data.data())
    return out


def write_ico(target: Path) -> None:
    from PIL import Image

    pngs = render_pngs(list(ICO_SIZES))
    images = [Image.open(io.BytesIO(pngs[s])) for s in ICO_SIZES]
    images[-1].save(target, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1])


if __name__ == "__main__":
    if len(sys.argv) > 2:
        folder = Path(sys.argv[1])
        folder.mkdir(parents=True, exist_ok=True)
        for size, data in render_pngs([int(s) for s in sys.argv[2:]]).items():
            (folder / f"anju-{size}.png").write_bytes(data)
    else:
        write_ico(ROOT / "resources" / "icons" / "anju.ico")

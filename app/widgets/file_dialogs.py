"""Save/open dialogs that start where a clerk expects: the last folder used for that kind of
file, else the Documents folder — never the program's folder or the database's own folder."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def settings() -> QSettings:
    return QSettings("Anju", "Anju")


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def start_folder(kind: str) -> Path:
    """The last folder a file of this kind went to or came from, if it still exists."""
    last = str(settings().value(f"folders/{kind}", "", type=str) or "")
    return Path(last) if last and Path(last).is_dir() else documents_folder()


def remember_folder(kind: str, path: str | Path) -> None:
    folder = Path(path)
    settings().setValue(f"folders/{kind}", str(folder if folder.is_dir() else folder.parent))


def file_name(*parts: str | None, suffix: str, day: dt.date | None = None) -> str:
    """A default name that carries the record, so two files of one day do not collide:
    ``一户一档_HLX-000123_20261204.pdf``."""
    words = [_UNSAFE.sub("-", p.strip()).strip("-") for p in parts if p and p.strip()]
    if day is not None:
        words.append(f"{day:%Y%m%d}")
    return "_".join(w for w in words if w) + suffix


def save_path(parent: QWidget | None, kind: str, title: str, name: str, filters: str) -> str | None:
    """Ask where to save `name`; None when cancelled. The suffix of the first filter is added."""
    suggested = str(start_folder(kind) / name)
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    if not path:
        return None
    suffix = Path(name).suffix
    if suffix and not path.lower().endswith(suffix.lower()):
        path += suffix
    remember_folder(kind, path)
    return path


def open_path(parent: QWidget | None, kind: str, title: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start_folder(kind)), filters)
    if not path:
        return None
    remember_folder(kind, path)
    return path

"""For the window tests: a window context on a database, and typing as a clerk types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from app.models.core.db import Database, open_database
from app.ui.common.context import AppContext
from app.ui.common.events import DataEvents
from app.ui.common.ops import OpRunner


def type_text(qtbot, widget, text: str) -> None:
    """Type `text` as a clerk would: ASCII by key presses, Chinese through the input method.

    QTest cannot synthesise key events for non-ASCII characters (it aborts), so Chinese text
    arrives as an input-method commit, exactly as from a Pinyin IME.
    """
    run = ""
    for ch in text + "\0":
        if ch != "\0" and ch.isascii():
            run += ch
            continue
        if run:
            qtbot.keyClicks(widget, run)
            run = ""
        if ch != "\0":
            event = QInputMethodEvent()
            event.setCommitString(ch)
            QApplication.sendEvent(widget, event)


def open_context(path: Path, user: str) -> AppContext:
    """The database at `path` opened as `user`, with its worker and events, as a window holds them."""
    db = open_database(path, user=user)
    return AppContext(db=db, runner=OpRunner(db.path, user), events=DataEvents())


@contextmanager
def window_context(db: Database) -> Iterator[AppContext]:
    """What a window holds on `db`: a worker on its own connection and the change events. At the
    end the results still queued land while `db` is open, then the worker stops."""
    ctx = AppContext(db=db, runner=OpRunner(db.path, db.user), events=DataEvents())
    try:
        yield ctx
    finally:
        ctx.runner.wait_idle()
        QApplication.processEvents()
        ctx.runner.shutdown()
        QApplication.processEvents()

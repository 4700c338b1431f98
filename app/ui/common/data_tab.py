"""The base of the main window's tabs: load on first show, refresh when shown if stale, watch tables.

A tab says which tables it shows (``watches``, groups from :mod:`app.ui.events`). When an operation
touches one of them the tab refreshes at once if it is on screen (an operation is one broadcast,
however many transactions it made, so the code after it sees the tab up to date), or marks itself
stale and refreshes when it is next shown. Nothing loads before the tab is first shown (or preloaded).
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from app.models.core.changes import NO_CHANGES, Changes
from app.ui.common.context import AppContext


class DataTab(QWidget):
    """Subclasses set ``watches`` and implement :meth:`load`; :meth:`refresh` reloads by default."""

    watches: ClassVar[frozenset[str]] = frozenset()
    # Load on the next turn of the event loop after the first show: the tab paints first, then
    # loads, so a switch to it and its loading are two short stalls rather than one long one.
    load_after_paint: ClassVar[bool] = False

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False
        self.stale = False
        self.refresh_count = 0  # how many refreshes operations caused (tests count them)
        self._pending: Changes = NO_CHANGES
        ctx.events.changed.connect(self._on_changes)

    # -- to implement -------------------------------------------------------------------------
    def load(self) -> None:
        """Build what the tab shows, the first time it is shown."""

    def refresh(self, changes: Changes) -> None:
        """Show the data again after `changes` (which touched a watched table)."""
        self.load()

    def preload(self) -> None:
        """Build heavy widgets ahead of the first show; the main window calls it in an idle moment."""

    def export_query(self) -> Any:
        """What "export what I see" exports, or None when this tab has no list to export."""
        return None

    # -- machinery ----------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        self.stale = False
        self._pending = NO_CHANGES
        self.load()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self.loaded:
            if self.load_after_paint:
                QTimer.singleShot(0, self.ensure_loaded)
            else:
                self.ensure_loaded()
        elif self.stale:
            self._refresh_now()

    def _on_changes(self, changes: Changes) -> None:
        if not changes.touches(self.watches) or not self.loaded:
            return  # a tab not loaded yet reads everything fresh when first shown
        self._pending = self._pending | changes
        if self.isVisible():
            self._refresh_now()
        else:
            self.stale = True

    def _refresh_now(self) -> None:
        if not self.loaded:
            return
        changes, self._pending = self._pending, NO_CHANGES
        self.stale = False
        self.refresh_count += 1
        self.refresh(changes or Changes.all())

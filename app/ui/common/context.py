"""What every tab and dialog is given: the UI-thread database, the background runner, events, undo."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models.core.changes import Changes
from app.models.core.db import Database
from app.models.core.undo import UndoHistory
from app.ui.common.events import DataEvents
from app.ui.common.ops import OpRunner


@dataclass
class AppContext:
    db: Database  # connection for the UI thread: quick reads and small writes only
    runner: OpRunner  # anything that may take over ~100 ms
    events: DataEvents
    demo: bool = False
    _history: UndoHistory | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Every operation committed on either connection reaches the undo history and the views:
        # nothing has to be announced by hand.
        self.db.listeners.append(self.operation_done)
        self.runner.on_changes = self.operation_done

    @property
    def undo(self) -> UndoHistory:
        """The undo steps of whoever is logged in now, read back from the file at first use and after
        a switch of user: their own steps, those of earlier sessions on this PC included."""
        if self._history is None or self._history.user != self.db.user:
            self._history = UndoHistory.load(self.db)
        return self._history

    def operation_done(self, changes: Changes) -> None:
        self.undo.record(changes)  # another user's operation (a worker job from before a switch) is not theirs
        self.events.broadcast(changes)

    @property
    def user(self) -> str:
        return self.db.user

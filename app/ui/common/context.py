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
    undo: UndoHistory = field(default_factory=UndoHistory)

    def __post_init__(self) -> None:
        # Every operation committed on either connection reaches the undo history and the views:
        # nothing has to be announced by hand.
        self.undo = UndoHistory(self.db.user)
        self.db.listeners.append(self.operation_done)
        self.runner.on_changes = self.operation_done

    def operation_done(self, changes: Changes) -> None:
        if changes.user and changes.user != self.undo.user:
            self.undo = UndoHistory(changes.user)  # another clerk logged in: their own history
        self.undo.record(changes)
        self.events.broadcast(changes)

    @property
    def user(self) -> str:
        return self.db.user

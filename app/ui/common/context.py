"""What every tab and dialog is given: the UI-thread database, the background runner, events."""

from __future__ import annotations

from dataclasses import dataclass

from app.models.core.db import Database
from app.ui.common.events import DataEvents
from app.ui.common.ops import OpRunner


@dataclass
class AppContext:
    db: Database  # connection for the UI thread: quick reads and small writes only
    runner: OpRunner  # anything that may take over ~100 ms
    events: DataEvents
    demo: bool = False

    @property
    def user(self) -> str:
        return self.db.user

"""The one "data changed" signal: every committed operation's Changes, for the views that watch its tables.

Nobody announces a change by hand: the UI connection hands each operation's :class:`Changes` to
:meth:`DataEvents.broadcast` (see ``AppContext.wire``), and background jobs do the same through the
runner. A view says which tables it shows (the groups below) and asks ``changes.touches(...)``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.models.core.changes import Changes

# Groups of tables a view may watch.
HOUSEHOLDS = frozenset({"household", "household_address", "income_check", "risk_change"})
PERSONS = frozenset({"person"})
PLACES = frozenset({"community", "district", "grid", "building", "unit", "room", "place_role"})
VISITS = frozenset({"visit"})
EMPLOYMENT = frozenset({"employment"})
TRAINING = frozenset({"training_course", "training_attendance"})
INTENTIONS = frozenset({"intention"})
MEDIATION = frozenset({"mediation_case", "mediation_party", "mediation_event", "mediation_followup"})
SETTINGS = frozenset({"setting"})
ACCOUNTS = frozenset({"account", "account_building", "app_user"})


class DataEvents(QObject):
    changed = Signal(object)  # Changes

    def broadcast(self, changes: Changes) -> None:
        if changes:
            self.changed.emit(changes)

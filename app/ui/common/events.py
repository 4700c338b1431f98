"""The one "data changed" signal: writers announce what changed, views refresh from it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

# Names of what changed; a view refreshes when a name it shows is announced.
HOUSEHOLDS = "households"
PERSONS = "persons"
PLACES = "places"
VISITS = "visits"
EMPLOYMENT = "employment"
TRAINING = "training"
INTENTIONS = "intentions"
MEDIATION = "mediation"
SETTINGS = "settings"
ALL = "all"


class DataEvents(QObject):
    changed = Signal(str)

    def announce(self, *names: str) -> None:
        for name in names:
            self.changed.emit(name)


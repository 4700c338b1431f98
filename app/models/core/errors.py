"""Expected failures whose message a clerk can act on (KnownError), as opposed to bugs."""

from __future__ import annotations


class KnownError(Exception):
    """An expected failure. ``str(err)`` is a Chinese message fit to show a clerk."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}：{message}" if where else message)


class DatabaseError(KnownError):
    """The database file cannot be opened or used (not SQLite, corrupt, too new, locked)."""


class ReadOnlyDatabaseError(DatabaseError):
    """A write was asked of a database opened read-only (file, folder or disk not writable)."""


class DamagedDatabaseError(DatabaseError):
    """The database file failed SQLite's checks; nothing more is written to it."""


class ValidationError(KnownError):
    """A value a clerk entered is not acceptable; ``field`` names the form field."""

    def __init__(self, message: str, *, field: str | None = None, where: str | None = None) -> None:
        self.field = field
        super().__init__(message, where=where)


class NotFoundError(KnownError):
    """A record that was asked for does not exist (or was deleted)."""


class PermissionDeniedError(KnownError):
    """The logged-in account may not see or do this (role or building scope)."""


class NeedsConfirmation(KnownError):
    """A write that is allowed but looks like a slip (e.g. a second visit the same day).

    The message is a question for the clerk; the caller asks and, on yes, repeats the action
    with its ``confirmed`` flag set.
    """

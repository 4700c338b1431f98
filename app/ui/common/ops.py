"""Running a clerk's operations: quick ones on the UI thread, long ones on a worker (after Anki's
CollectionOp/QueryOp).

:func:`perform` runs a quick action on the UI connection: what it changed (one undo step, however
many transactions it made) reaches every view that watches those tables, and an expected failure
(:class:`KnownError`) is shown to the clerk with nothing changed.

    if perform(self.ctx, self, lambda db: employment.delete_job(db, job_id)):
        ...

One worker thread with its own database connection runs one job at a time; its result or
error comes back on the UI thread through callbacks, and whatever the job wrote is handed to
``on_changes`` (the views, the undo history) like an operation on the UI thread. A job may
report progress and check for cancellation through the :class:`Progress` it is given.

    runner.run(lambda db, progress: stats.compute(db), on_success=self.show_figures)
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.models.core.access import Principal
from app.models.core.changes import NO_CHANGES, Changes
from app.models.core.db import Database, open_database
from app.models.core.errors import KnownError, NeedsConfirmation
from app.models.core.safe_files import disk_full_as_known
from app.ui.common import messages

if TYPE_CHECKING:
    from app.ui.common.context import AppContext

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How :func:`perform` ended: true when the action succeeded (``value`` is what it returned)."""

    ok: bool
    value: T | None = None
    error: KnownError | None = None

    def __bool__(self) -> bool:
        return self.ok


def perform(
    ctx: AppContext,
    parent: QWidget | None,
    action: Callable[[Database], T],
    *,
    title: str = "无法完成",
    on_error: Callable[[KnownError], None] | None = None,
) -> Outcome[T]:
    """Run one quick user action (a few ms: a form's save, a delete) on the UI connection.

    Its transactions' Changes are merged into one operation (one refresh, one undo step) and
    handed to the views. A KnownError goes to `on_error`, or a warning box titled `title`; the
    action's own transaction has rolled back, so nothing of it was written.
    """
    try:
        with ctx.db.collect():
            value = action(ctx.db)
    except KnownError as exc:
        if on_error is not None:
            on_error(exc)
        else:
            messages.warn(parent, title, str(exc))
        return Outcome(False, None, exc)
    return Outcome(True, value)


def perform_asking(
    ctx: AppContext,
    parent: QWidget | None,
    action: Callable[[Database, bool], T],
    ask: Callable[[str], bool],
    *,
    title: str = "无法完成",
    on_error: Callable[[KnownError], None] | None = None,
) -> Outcome[T]:
    """:func:`perform` for an action that may first ask the clerk (:class:`NeedsConfirmation`: a
    second visit the same day, an overlapping job): ``action(db, confirmed)`` runs with False; when
    it asks, ``ask(question)`` shows the question and, on yes, the action runs again with True.

    The question rolled the first attempt back, so the clerk's yes still makes one undo step. When
    the clerk says no, the outcome fails with the question as its error and `on_error` is not told.
    """
    questions: list[NeedsConfirmation] = []

    def failed(exc: KnownError) -> None:
        if isinstance(exc, NeedsConfirmation):
            questions.append(exc)
        elif on_error is not None:
            on_error(exc)
        else:
            messages.warn(parent, title, str(exc))

    done = perform(ctx, parent, lambda db: action(db, False), on_error=failed)
    if not questions:
        return done
    if not ask(str(questions[0])):
        return Outcome(False, None, questions[0])
    return perform(ctx, parent, lambda db: action(db, True), title=title, on_error=on_error)


class Cancelled(Exception):
    """Raised inside a job by :meth:`Progress.check` when the clerk pressed Cancel."""


class Progress:
    """Handed to a job: report how far it is, and notice a cancel request."""

    def __init__(self, emit: Callable[[int, int, str], None]) -> None:
        self._emit = emit
        self._cancel = threading.Event()

    def report(self, done: int, total: int, text: str = "") -> None:
        self._emit(done, total, text)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


class _Bridge(QObject):
    finished = Signal(int, bool, object, object)  # job id, ok, result or exception, Changes
    progressed = Signal(int, int, int, str)  # job id, done, total, text


log = logging.getLogger("anju.ops")


def job_name(fn: Callable[..., Any]) -> str:
    """Where a job was started, e.g. "app.ui.excel.export_dialog:ExportDialog.start.<locals>.job" (code
    names only, no data)."""
    inner = getattr(fn, "func", fn)  # functools.partial
    return f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', type(inner).__name__)}"


class _Job(QRunnable):
    def __init__(self, runner: OpRunner, job_id: int, fn: Callable[[Database, Progress], Any], progress: Progress,
                 everything: bool = False):
        super().__init__()
        self.runner = runner
        self.job_id = job_id
        self.fn = fn
        self.progress = progress
        self.everything = everything

    def run(self) -> None:  # runs on the worker thread
        changes = NO_CHANGES
        name = job_name(self.fn)
        started = time.perf_counter()
        log.info("job %d %s start", self.job_id, name)
        try:
            db = self.runner._worker_db()
            # Who the result was computed for; the UI thread drops it if someone else is logged in
            # by the time it arrives.
            self.runner._ran_for[self.job_id] = db.principal
            try:
                with db.collect() as collected:
                    result = self.fn(db, self.progress)
            finally:
                changes = collected.changes | (Changes.all() if self.everything else NO_CHANGES)
            log.info("job %d %s done in %.2f s", self.job_id, name, time.perf_counter() - started)
            self.runner._bridge.finished.emit(self.job_id, True, result, changes)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the UI thread
            # The error's type only: a KnownError's text quotes file names and cells.
            log.log(logging.INFO if isinstance(exc, Cancelled) else logging.WARNING, "job %d %s %s after %.2f s: %s",
                    self.job_id, name, "cancelled" if isinstance(exc, Cancelled) else "failed",
                    time.perf_counter() - started, type(exc).__name__)
            tb = traceback.format_exc()
            # A full disk met by SQLite or a file write reaches the clerk as advice, not a crash.
            exc = disk_full_as_known(exc, self.runner.db_path)
            exc.__anju_traceback__ = tb  # type: ignore[attr-defined]
            self.runner._bridge.finished.emit(self.job_id, False, exc, changes)


class OpHandle:
    def __init__(self, job_id: int, progress: Progress) -> None:
        self.job_id = job_id
        self.progress = progress

    def cancel(self) -> None:
        self.progress.cancel()


class OpRunner(QObject):
    """One background worker; jobs run in the order given."""

    _closed = False

    def __init__(self, db_path: str | Path, user: str, parent: QObject | None = None, *, read_only: bool = False) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.user = user
        # Who the worker's connection acts for: `principal_of()` (the UI connection's principal, so
        # a login or a switch of user reaches the worker too), else `principal` if set. The worker
        # then runs the same scoped queries as the UI thread.
        self.principal: Principal | None = None
        self.principal_of: Callable[[], Principal] | None = None
        self.read_only = read_only  # the worker opens the file as the window did
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(-1)  # keep the one thread (and its connection) alive
        self._bridge = _Bridge()
        self._bridge.finished.connect(self._on_finished)
        self._bridge.progressed.connect(self._on_progress)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None, Callable | None]] = {}
        self._started: dict[int, float] = {}
        # Keyed by OS thread, not threading.local(): PySide gives the pool thread a fresh Python
        # thread state for every job, which empties a threading.local, so each job would open (and
        # leak) a connection of its own and lose what the connection caches between jobs.
        self._connections: dict[int, Database] = {}
        # Told what each job wrote (on the UI thread, before its on_success): the views refresh
        # and the undo history records it as for an operation on the UI thread.
        self.on_changes: Callable[[Changes], None] | None = None
        self._ran_for: dict[int, Principal] = {}

    def _current_principal(self) -> Principal | None:
        return self.principal_of() if self.principal_of is not None else self.principal

    def _worker_db(self) -> Database:
        ident = threading.get_ident()
        db = self._connections.get(ident)
        if db is None:
            db = open_database(self.db_path, user=self.user, create=False, read_only=True if self.read_only else None)
            self._connections[ident] = db
        db.user = self.user
        principal = self._current_principal()
        if principal is not None:
            db.principal = principal
        return db

    def run(
        self,
        fn: Callable[[Database, Progress], Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        everything: bool = False,
    ) -> OpHandle:
        """Run `fn` on the worker. ``everything``: the job changes more than its transactions tell
        (an import, a sync, a restore), so every view refreshes when it ends."""
        job_id = next(self._ids)
        progress = Progress(lambda d, t, s: self._bridge.progressed.emit(job_id, d, t, s))
        self._callbacks[job_id] = (on_success, on_failure, on_progress)
        self._started[job_id] = time.monotonic()
        self._pool.start(_Job(self, job_id, fn, progress, everything))
        return OpHandle(job_id, progress)

    @property
    def busy(self) -> bool:
        """A job has been queued or running for over a second (an import, a sync, a batch print).

        Quick reads that tabs start on their own do not count: quitting during them loses nothing.
        """
        now = time.monotonic()
        return any(now - t > 1.0 for t in self._started.values())

    def wait_idle(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    @Slot(int, bool, object, object)
    def _on_finished(self, job_id: int, ok: bool, payload: object, changes: object) -> None:
        if self._closed:
            return  # the window is gone: its views (and their connection) must not be touched
        on_success, on_failure, _ = self._callbacks.pop(job_id, (None, None, None))
        self._started.pop(job_id, None)
        if changes and self.on_changes is not None:
            self.on_changes(changes)  # type: ignore[arg-type]
        ran_for = self._ran_for.pop(job_id, None)
        now = self._current_principal()
        if ran_for is not None and now is not None and ran_for != now and (ok or on_failure is not None):
            # Computed for the user before a switch of user (or a change of their buildings): the
            # next one must not see it. Views reload for the new principal when it is applied.
            return
        if ok:
            if on_success is not None:
                on_success(payload)
        elif isinstance(payload, Cancelled):
            return
        elif on_failure is not None:
            on_failure(payload)
        else:
            from app.ui.common.crash import report_exception

            report_exception(payload)  # type: ignore[arg-type]

    @Slot(int, int, int, str)
    def _on_progress(self, job_id: int, done: int, total: int, text: str) -> None:
        cb = self._callbacks.get(job_id, (None, None, None))[2]
        if cb is not None:
            cb(done, total, text)

    def release(self, msecs: int = 30000) -> bool:
        """Let the jobs in hand finish, then close the worker's connection; the next job opens the
        file again (after a restore has put another file in its place). False on time-out."""

        def close(_db: Database, _progress: Progress) -> None:
            db = self._connections.pop(threading.get_ident(), None)
            if db is not None:
                db.close()

        if self._connections:
            self.run(close)
        done = self._pool.waitForDone(msecs)
        return done and not self._connections

    def shutdown(self) -> None:
        """Finish the running job, then close the worker's connection on the worker thread."""

        def close(_db: Database, _progress: Progress) -> None:
            db = self._connections.pop(threading.get_ident(), None)
            if db is not None:
                db.close()

        if self._connections:
            self.run(close)
        self._pool.waitForDone(30000)
        self._connections.clear()
        self._closed = True

"""The program's log: one rotating file in the log folder, and the rule that no personal data enters it.

What is logged: what ran (sync export/import, Excel import/export, migrations, backups, the
jobs of the window's worker), counts, durations, outcome, and the *type* of an error. What is
never logged: values. No names, ID numbers, phones or addresses, and no file names (a file is
often named after a person: 张三的材料.xlsx). A file appears as :func:`file_ref`: its extension
and a short hash of its name, enough to match a log line with the audit (which keeps the name,
inside the database) and never enough to read it. An error's message is not logged either: a
KnownError's text quotes cells and file names; its class name says what kind of failure it was.

As a safety net behind that rule, :class:`RedactFilter` on the handler rewrites every line
(and any traceback) with :func:`redact`: ID numbers and mobile numbers masked, and any run of
Chinese characters (a name, an address, a clerk's note) replaced by 〔略〕 — our own log lines
are English.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import logging.handlers
import os
import re
import time
from collections.abc import Callable, Iterator
from io import TextIOWrapper
from pathlib import Path
from typing import Any, TypeVar, cast

from app.models.core import masking
from app.models.core.safe_files import PRIVATE_FILE, make_private

LOG_NAME = "anju.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
ROOT = "anju"

log = logging.getLogger(ROOT)
F = TypeVar("F", bound=Callable[..., Any])

# Han characters (with the extension planes) and the middle dot of minority names.
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f][\u3400-\u9fff\uf900-\ufaff"
                  r"\U00020000-\U0003134f·•]*")
REDACTED = "〔略〕"


def redact(text: str) -> str:
    """`text` with ID numbers and phones masked and Chinese runs replaced: safe for a log line."""
    return _CJK.sub(REDACTED, masking.text(text))


def file_ref(path: str | Path | None) -> str:
    """How a file appears in the log: ".xlsx#1a2b3c4d" (extension and a hash of its name)."""
    if not path:
        return "-"
    p = Path(path)
    digest = hashlib.sha256(p.name.encode("utf-8")).hexdigest()[:8]
    return f"{p.suffix.lower() or '(none)'}#{digest}"


class RedactFilter(logging.Filter):
    """Rewrites each record's message and traceback with :func:`redact` before any handler writes it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the line
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose every generation is created owner-only (0600)."""

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0),
                     PRIVATE_FILE)
        make_private(self.baseFilename)
        # A text mode ("a"), as the handler was made with: open() gives a TextIOWrapper.
        return cast(TextIOWrapper, open(fd, self.mode, encoding=self.encoding, errors=self.errors))  # noqa: SIM115


_handler: PrivateRotatingFileHandler | None = None


def setup(folder: str | Path) -> Path:
    """Log to `folder`/anju.log (1 MB × 5 generations). Called once at start by the window and the
    command line; called again with another folder (tests), it moves the file there."""
    global _handler
    path = Path(folder) / LOG_NAME
    if _handler is not None:
        if Path(_handler.baseFilename) == path.resolve() or Path(_handler.baseFilename) == path:
            return path
        log.removeHandler(_handler)
        _handler.close()
    handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
                                         delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    _handler = handler
    return path


@contextlib.contextmanager
def step(name: str, **facts: Any) -> Iterator[dict[str, Any]]:
    """Log the start and the end (with duration) of `name`, or its failure with the error's type.

    ``facts`` (counts, versions, file refs — never values) go into the start line; the block may
    add more to the yielded dict for the end line.
    """
    logger = logging.getLogger(f"{ROOT}.{name.split('.')[0]}")
    more: dict[str, Any] = {}
    logger.info("%s start%s", name, _facts(facts))
    started = time.perf_counter()
    try:
        yield more
    except BaseException as exc:
        logger.warning("%s failed after %.2f s: %s%s", name, time.perf_counter() - started, type(exc).__name__,
                       _facts(more))
        raise
    logger.info("%s done in %.2f s%s", name, time.perf_counter() - started, _facts(more))


def logged(name: str, facts: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
           summary: Callable[[Any], dict[str, Any]] | None = None) -> Callable[[F], F]:
    """Decorate a data-layer action: :func:`step` around it, with ``facts(arguments)`` (the call's
    arguments by name) in the start line and ``summary(result)`` in the end line (counts and refs
    only, never values)."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start: dict[str, Any] = {}
            if facts is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                start = facts(bound.arguments)
            with step(name, **start) as more:
                result = fn(*args, **kwargs)
                if summary is not None:
                    more.update(summary(result))
                return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _facts(facts: dict[str, Any]) -> str:
    return "".join(f" {k}={v}" for k, v in facts.items())

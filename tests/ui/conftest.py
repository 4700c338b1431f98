"""UI fixtures: a small demo database (made once per session and copied) and the real main window."""

from __future__ import annotations

import shutil
from collections import deque

import pytest

_NO_DEFAULT = object()


class UnexpectedQuestion(AssertionError):
    """A window asked a question the test queued no answer for."""


class MessageLog:
    """Every message box the windows of one test showed (``shown``: kind, title, text …), and the
    answers to their questions: queued with :meth:`answer`, or one for all with :meth:`always`.

    A question nobody answered fails the test (it would wait for a click forever), and so does an
    answer left over at the end (the question the test expected was never asked)."""

    def __init__(self) -> None:
        self.shown: list = []
        self._answers: deque = deque()
        self._default: object = _NO_DEFAULT
        self._unexpected: list = []

    def answer(self, *answers: bool | str | None) -> None:
        """Answers for the next questions, in order: a bool for confirm, an option (or None for
        cancel) for choose."""
        self._answers.extend(answers)

    def always(self, answer: bool | str | None) -> None:
        """The answer to every question once the queued ones are used up."""
        self._default = answer

    def texts(self, *kinds: str) -> list[str]:
        """The texts shown, in order, of these kinds (all kinds when none is named)."""
        return [m.text for m in self.shown if not kinds or m.kind in kinds]

    @property
    def said(self) -> list[str]:
        """The texts of the messages shown (not questions), in order."""
        return self.texts("info", "warn", "error", "about")

    @property
    def asked(self) -> list[str]:
        """The texts of the questions asked, in order."""
        return self.texts("confirm", "choose")

    def present(self, _parent, message):
        self.shown.append(message)
        if message.kind not in ("confirm", "choose"):
            return None
        if self._answers:
            answer = self._answers.popleft()
        elif self._default is not _NO_DEFAULT:
            answer = self._default
        else:
            self._unexpected.append(message)
            raise UnexpectedQuestion(f"unanswered {message.kind}: {message.title}: {message.text}")
        wrong = (not isinstance(answer, bool)) if message.kind == "confirm" else (
            answer is not None and answer not in message.options)
        if wrong:
            self._unexpected.append(message)
            raise UnexpectedQuestion(f"{answer!r} does not answer the {message.kind} {message.title}: "
                                     f"{message.text} {message.options or ''}")
        return answer

    def check(self) -> None:
        if self._unexpected:
            pytest.fail("questions the test did not expect:\n" + "\n".join(
                f"{m.kind} {m.title}: {m.text}" for m in self._unexpected))
        if self._answers:
            pytest.fail(f"answers queued for questions never asked: {list(self._answers)}; "
                        f"asked: {self.asked}")


@pytest.fixture(autouse=True)
def messages(monkeypatch):
    """Every message box of the test recorded (a :class:`MessageLog`), questions answered from its
    queue; no real box is ever shown."""
    from app.ui.common import messages as seam

    log = MessageLog()
    log.real_present = seam._present  # for the tests of the seam's own boxes
    monkeypatch.setattr(seam, "_present", log.present)
    yield log
    log.check()


@pytest.fixture(autouse=True)
def _crash_dialog_fails_the_test(monkeypatch):
    """An unexpected error fails the test at once instead of waiting on a modal crash dialog."""
    from app.ui.common import crash

    seen: list[BaseException] = []
    monkeypatch.setattr(crash, "_show_crash_box", lambda _parent, _path, exc: seen.append(exc))
    yield seen
    if seen:
        exc = seen[0]
        pytest.fail("an error reached the crash dialog:\n" + (getattr(exc, "__anju_traceback__", None) or repr(exc)))


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory):
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    create_demo_database(path, households=60, seed=7, encrypted=False)  # copied page by page: plain
    return path


@pytest.fixture
def demo_db_path(_demo_template, tmp_path):
    """A private copy of a 60-household demo community."""
    path = tmp_path / "demo.db"
    shutil.copy(_demo_template, path)
    return path


@pytest.fixture
def main_window(qtbot, demo_db_path):
    from app.ui.app import build_window

    window = build_window(demo_db_path, demo=True, user="测试员")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()

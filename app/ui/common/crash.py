"""The one excepthook: a crash dialog for the clerk and a log file for whoever fixes it."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import platform
import sys
import traceback
from pathlib import Path
from typing import Any

from app import __version__
from app.models.core.errors import KnownError
from app.models.core.logs import redact
from app.models.core.safe_files import disk_full_as_known
from app.paths import log_dir
from app.ui.common import messages

log = logging.getLogger("anju")


def crash_footer() -> str:
    """The last line of every crash report: which build crashed, on what (no personal data)."""
    try:
        import PySide6

        qt = f"PySide6 {PySide6.__version__}"
    except ImportError:
        qt = "PySide6 ?"
    frozen = "installed" if getattr(sys, "frozen", False) else "source"
    return (
        f"-- anju {__version__} ({frozen}) · Python {platform.python_version()} · {qt} · "
        f"{platform.system()} {platform.release()} {platform.machine()}\n"
    )


def crash_text(exc: BaseException, tb_text: str | None = None) -> str:
    """The traceback as a crash report may keep it: where it happened, never residents' data.

    An exception's message (and a source line quoting one) may carry what was being handled: a
    name, an ID number, a phone, an address. The whole text goes through the log's redaction
    (ID numbers and phones masked, Chinese text replaced); file names and line numbers stay."""
    return redact(tb_text or "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def write_crash_log(exc: BaseException, tb_text: str | None = None) -> Path:
    text = crash_text(exc, tb_text)
    from app.models.core.safe_files import write_bytes

    stamp = f"crash-{dt.datetime.now():%Y%m%d-%H%M%S}"
    folder = log_dir()
    path = folder / f"{stamp}.log"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{n}.log"
    return write_bytes(path, (text + crash_footer()).encode("utf-8"), what="错误日志")


def report_exception(exc: BaseException) -> None:
    """Show `exc` to the clerk: a KnownError as a plain message, anything else as a crash."""
    from PySide6.QtWidgets import QApplication


    parent = QApplication.activeWindow()
    exc = disk_full_as_known(exc)
    if isinstance(exc, KnownError):
        messages.warn(parent, "无法完成操作", str(exc))
        return
    try:
        path: Path | None = write_crash_log(exc, getattr(exc, "__anju_traceback__", None))
    except KnownError:  # a full disk must not hide the crash itself
        path = None
    log.error("unexpected error %s, crash report %s", type(exc).__name__, path.name if path else "not written")
    _show_crash_box(parent, path, exc)


def _show_crash_box(parent: Any, path: Path | None, exc: BaseException) -> None:

    messages.error(
        parent, "程序出错", "程序遇到了意外错误。已保存的数据不受影响；正在进行的操作没有保存。",
        informative=f"错误详情已写入：\n{path}\n请把这个文件交给技术支持人员。（程序版本 {__version__}）"
        if path is not None
        else f"错误详情未能写入日志文件（磁盘空间不足？），请把下面的详情截图交给技术支持人员。（程序版本 {__version__}）",
        details=getattr(exc, "__anju_traceback__", None) or "".join(traceback.format_exception(exc)),
        object_name="crashDialog",
    )


def install_excepthook() -> None:
    def hook(exc_type, exc, tb) -> None:  # noqa: ANN001 - sys.excepthook signature
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        exc.__anju_traceback__ = "".join(traceback.format_exception(exc_type, exc, tb))
        if sys.__stderr__ is not None:  # no console under a windowed build
            sys.__stderr__.write(exc.__anju_traceback__)
        try:
            report_exception(exc)
        except Exception:  # noqa: BLE001 - the hook itself must never die
            with contextlib.suppress(Exception):
                write_crash_log(exc)

    sys.excepthook = hook

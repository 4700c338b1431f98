"""Every file the program writes: a temporary name beside the target, checked, fsynced, renamed.

A crash, a pulled stick or a full disk leaves either the old target or the complete new file,
never a truncated one. The temporary file is ``<target>.part`` (a database written there keeps
SQLite's ``<target>.part-journal`` beside it); leftovers of killed writes are recognised by that
naming and removed at the next start and before the next write into the same folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from app.models.core import sqlite as sqlite3
from app.models.core.errors import KnownError

PART_SUFFIX = ".part"
# SQLite's companions of a database written under a .part name.
_SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")
# Only files of the kinds this program writes count as its leftovers: a browser's half-finished
# download (also called *.part) of some other kind of file is not ours to delete.
OWN_EXTENSIONS = (".pdf", ".xlsx", ".db", ".anjusync", ".log", ".sqlite")
_LEFTOVER = re.compile(
    r"^\.?.+(" + "|".join(re.escape(e) for e in OWN_EXTENSIONS) + r")\.part(-journal|-wal|-shm)?$",
    re.IGNORECASE,
)
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
SQLITE_FULL = 13
CHUNK = 1 << 20

Check = Callable[[Path], None]

# Residents' data (the database and its -wal/-shm, backups, exports, PDFs, logs, crash reports)
# is readable by its owner only. On Windows the files live in the user's own profile folders,
# whose ACLs already keep other users out; os.chmod there only toggles the read-only flag.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


FILE_OUTCOME = "已删除未写完的部分，没有生成任何文件。"
DATABASE_OUTCOME = "本次操作已全部撤销，数据库文件完好（并未损坏）。"


class DiskFullError(KnownError):
    """No room left on the disk or stick; nothing was written (the temporary file is gone)."""

    def __init__(self, folder: str | Path, *, needed: int | None = None, what: str = "",
                 outcome: str = FILE_OUTCOME, suggest: bool = False, estimate: bool = False) -> None:
        """`needed`: bytes written when the disk filled up (the file needs more than that), or with
        `estimate` the expected size of the whole file, or with `suggest` room worth making."""
        self.folder = Path(folder)
        self.free = free_bytes(self.folder)
        self.needed = needed
        free = f"只剩 {human_size(self.free)} 可用" if self.free is not None else "已没有可用空间"
        need = ""
        if needed and suggest:
            need = f"，建议至少腾出 {human_size(needed)}"
        elif needed and estimate:
            need = f"，这次写入约需要 {human_size(needed)}"
        elif needed:
            need = f"，这次写入需要的空间超过 {human_size(needed)}"
        doing = f"写入{what}时" if what else ""
        super().__init__(
            f"磁盘空间不足：{doing}“{self.folder}”所在的磁盘（或 U 盘）{free}{need}。{outcome}"
            "请删除不需要的文件或换一个空间足够的位置后重试。"
        )

    @classmethod
    def for_database(cls, db_path: str | Path, *, needed: int | None = None) -> DiskFullError:
        """SQLite ran out of room: the transaction rolled back, the file itself is fine."""
        db_path = Path(db_path)
        if needed is None:
            # A big write (an import, a sync) can need room for a journal as large as the file.
            try:
                size = db_path.stat().st_size
            except OSError:
                size = 0
            needed, suggest = max(100 * 2**20, size), True
        else:
            suggest = False
        return cls(db_path.parent, needed=needed, what="数据库", outcome=DATABASE_OUTCOME, suggest=suggest)


class WriteError(KnownError):
    """A file could not be written (no permission, folder missing, stick pulled…)."""


def human_size(n: int | None) -> str:
    if n is None:
        return "未知"
    if n < 1024:
        return f"{n} 字节"
    size = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            return f"{size:.1f} {unit}" if size < 100 else f"{size:.0f} {unit}"
    return f"{n} 字节"  # pragma: no cover


def free_bytes(folder: Path) -> int | None:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


# -- telling a full disk from other failures ------------------------------------------------------
def is_disk_full(exc: BaseException | None) -> bool:
    """True for ENOSPC/EDQUOT and SQLite's "database or disk is full", also when wrapped by a library."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL or "database or disk is full" in str(exc)
        ):
            return True
        # xlsxwriter's FileCreateError carries the OSError as its argument, not as its cause.
        nested = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        exc = exc.__cause__ or exc.__context__ or nested
    return False


def _os_error_in(exc: BaseException) -> OSError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError):
            return cur
        nested = next((a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)), None)
        cur = cur.__cause__ or cur.__context__ or nested
    return None


_ERRNO_TEXT = {
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "磁盘或 U 盘是只读的（写保护）",
    errno.ENOENT: "文件夹不存在",
    errno.ENOTDIR: "路径中有一部分不是文件夹",
    errno.EISDIR: "这是一个文件夹",
    errno.EIO: "读写出错（U 盘是否已拔出或损坏？）",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EEXIST: "同名文件已存在",
    errno.EBUSY: "文件正被其他程序占用",
    errno.ENODEV: "设备不存在（U 盘是否已拔出？）",
    errno.ENXIO: "设备不存在（U 盘是否已拔出？）",
}


def describe_os_error(exc: OSError) -> str:
    """A Chinese reason for an OSError (the system's own text is English on most PCs)."""
    if exc.errno in _FULL_ERRNOS:
        return "磁盘空间不足"
    if isinstance(exc, PermissionError) and sys.platform.startswith("win"):
        return "文件正被其他程序（如 Excel、WPS）打开，或没有写入权限"
    return _ERRNO_TEXT.get(exc.errno or -1, f"系统错误（代码 {exc.errno}）" if exc.errno else "系统错误")


def as_known_error(exc: BaseException, folder: str | Path | None = None, *, what: str = "",
                   needed: int | None = None) -> KnownError | None:
    """The clerk's message for a failure to write, or None when `exc` is not such a failure (a bug)."""
    if is_disk_full(exc):
        if isinstance(exc, DiskFullError):
            return exc
        return DiskFullError(folder if folder is not None else Path.cwd(), needed=needed, what=what)
    if isinstance(exc, KnownError):
        return exc
    os_error = _os_error_in(exc)
    if os_error is not None:
        where = f"“{folder}”" if folder is not None else ""
        return WriteError(f"无法写入{what or '文件'}{where}：{describe_os_error(os_error)}。未生成任何文件。")
    return None


_database_path: Path | None = None


def remember_database(path: str | Path) -> None:
    """The database this process works on: where a full disk met by SQLite is reported."""
    global _database_path
    _database_path = Path(path)


def disk_full_as_known(exc: BaseException, db_path: str | Path | None = None) -> BaseException:
    """`exc`, or a DiskFullError when it is a full disk (SQLite's or a file's) not yet explained."""
    if isinstance(exc, KnownError) or not is_disk_full(exc):
        return exc
    path = Path(db_path) if db_path is not None else _database_path
    filename = getattr(_os_error_in(exc), "filename", None)
    if isinstance(exc, sqlite3.Error) or filename is None:
        return DiskFullError.for_database(path) if path is not None else DiskFullError(Path.cwd())
    return DiskFullError(Path(filename).parent)


# -- private files and folders ------------------------------------------------------------------
def make_private(path: str | Path) -> None:
    """Owner-only read and write (0600) on a file this program made (no-op where it cannot)."""
    if sys.platform.startswith("win"):
        return
    with contextlib.suppress(OSError):
        os.chmod(path, PRIVATE_FILE)


def create_private_file(path: str | Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists (True when it was created here), so a
    file another library then opens by name (SQLite, and its -wal/-shm after it) is born private."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def private_folder(path: str | Path) -> Path:
    """`path` as a folder, created owner-only (0700) when this program creates it; an existing
    folder (one the clerk chose, a USB stick) keeps its own permissions."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    return path


# -- the write ------------------------------------------------------------------------------------
def part_path(target: Path) -> Path:
    return target.with_name(target.name + PART_SUFFIX)


def _os_write(fd: int, data: bytes | memoryview) -> int:
    """The one low-level write every file of this module goes through (tests patch it)."""
    return os.write(fd, data)


class _PartFile:
    """A binary file object over an fd, every byte written through :func:`_os_write`."""

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        self.fd = os.open(path, flags, PRIVATE_FILE)
        self.written = 0
        self.closed = False
        self._final_pos = 0

    def write(self, data: Any) -> int:
        if self.closed:
            # A library's half-written zip may try to finish itself when garbage-collected after a
            # failure; the part file is gone by then and those bytes have nowhere to go.
            return len(data)
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            n = _os_write(self.fd, view[:CHUNK])
            view = view[n:]
        self.written += total
        return total

    def flush(self) -> None:
        pass

    def fsync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        if not self.closed:
            self._final_pos = os.lseek(self.fd, 0, os.SEEK_CUR)
            self.closed = True
            os.close(self.fd)

    # what zipfile (xlsxwriter, openpyxl) asks of a file object it writes to
    def tell(self) -> int:
        return self._final_pos if self.closed else os.lseek(self.fd, 0, os.SEEK_CUR)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._final_pos if self.closed else os.lseek(self.fd, offset, whence)

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False


def _remove_part(part: Path) -> None:
    for p in (part, *(Path(f"{part}{s}") for s in _SQLITE_COMPANIONS)):
        with contextlib.suppress(OSError):
            p.unlink()


def _fsync_dir(folder: Path) -> None:
    if sys.platform.startswith("win"):
        return  # Windows cannot open a folder for fsync; NTFS/FAT flush metadata on rename
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish(part: Path, target: Path, check: Check | None, *, replace: bool) -> None:
    if part.stat().st_size == 0:
        raise WriteError(f"写入“{target}”失败：文件是空的（0 字节）。未生成任何文件。")
    if check is not None:
        check(part)
    make_private(part)  # a library that wrote by name may have made the file anew
    _fsync_path(part)
    if not replace and target.exists():
        raise WriteError(f"“{target}”已经存在，未覆盖。请换一个名字。")
    os.replace(part, target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def _guarded(target: Path, what: str, written: Callable[[], int | None]) -> Iterator[Path]:
    folder = target.parent
    if not folder.is_dir():
        raise WriteError(f"文件夹“{folder}”不存在（U 盘是否已插好？）。未生成任何文件。")
    remove_leftovers(folder)
    part = part_path(target)
    lock_fd: int | None = None
    try:
        _remove_part(part)
        lock_fd = _lock(part)
        yield part
    except BaseException as exc:
        size = written()
        if size is None:
            with contextlib.suppress(OSError):
                size = part.stat().st_size
        if lock_fd is not None:  # the space comes back only once no descriptor holds the file
            os.close(lock_fd)
            lock_fd = None
        _remove_part(part)
        known = as_known_error(exc, folder, what=what, needed=size or None)
        if known is not None and known is not exc:
            raise known from exc
        raise
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _lock(part: Path) -> int:
    """Create the temporary file and hold a lock on it, so a cleanup running meanwhile (another
    window, another command) leaves it alone. Libraries reopen it by name; the lock stays ours."""
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ImportError, OSError):
        pass
    return fd


@contextlib.contextmanager
def atomic_path(target: str | Path, *, check: Check | None = None, what: str = "文件",
                replace: bool = True) -> Iterator[Path]:
    """For a library that writes by file name: it writes the yielded ``.part`` path; on leaving the
    block the file is checked, fsynced and renamed over `target`. On any failure it is removed and
    a write failure becomes a KnownError (a full disk a :class:`DiskFullError`)."""
    target = Path(target)
    with _guarded(target, what, lambda: None) as part:
        yield part
        _finish(part, target, check, replace=replace)


@contextlib.contextmanager
def atomic_file(target: str | Path, *, check: Check | None = None, what: str = "文件",
                replace: bool = True) -> Iterator[BinaryIO]:
    """Like :func:`atomic_path`, but yields a binary file object to write to (seekable, so zip
    writers can use it)."""
    target = Path(target)
    fh: _PartFile | None = None
    with _guarded(target, what, lambda: fh.written if fh is not None else None) as part:
        fh = _PartFile(part)
        try:
            yield fh  # type: ignore[misc]
            fh.fsync()
        finally:
            fh.close()
        _finish(part, target, check, replace=replace)


class Staged:
    """A file written in full under its ``.part`` name and checked, waiting to take the target's
    place (:meth:`commit`) or to be dropped (:meth:`discard`). Held locked meanwhile, so a cleanup
    of leftovers leaves it alone."""

    def __init__(self, target: Path, part: Path) -> None:
        self.target = target
        self.part = part
        self._lock_fd: int | None = _lock(part)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def commit(self) -> Path:
        """Rename the staged file over the target (atomic; the old target is gone)."""
        try:
            if not self.part.is_file():
                raise WriteError(f"临时文件“{self.part.name}”不见了，“{self.target}”未作任何改动。")
            self._unlock()  # Windows cannot rename a file that is still open
            os.replace(self.part, self.target)
            _fsync_dir(self.target.parent)
        except OSError as exc:
            self.discard()
            raise WriteError(f"无法替换“{self.target}”：{describe_os_error(exc)}。文件未作任何改动。") from exc
        return self.target

    def discard(self) -> None:
        self._unlock()
        _remove_part(self.part)


def stage_path(target: str | Path, write: Callable[[Path], None], *, check: Check | None = None,
               what: str = "文件") -> Staged:
    """Like :func:`atomic_path`, but the checked file waits beside `target` until the caller
    commits it (a database swapped in only after the program's connections are closed)."""
    target = Path(target)
    with _guarded(target, what, lambda: None) as part:
        write(part)
        if part.stat().st_size == 0:
            raise WriteError(f"写入“{target}”失败：文件是空的（0 字节）。未作任何改动。")
        if check is not None:
            check(part)
        make_private(part)
        _fsync_path(part)
    return Staged(target, part)  # locked again as soon as the guard has let go of it


def write_bytes(target: str | Path, data: bytes, *, check: Check | None = None, what: str = "文件",
                replace: bool = True) -> Path:
    target = Path(target)
    with atomic_file(target, check=check, what=what, replace=replace) as fh:
        fh.write(data)
    return target


# -- leftovers ------------------------------------------------------------------------------------
def is_leftover(name: str) -> bool:
    return bool(_LEFTOVER.match(name))


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete the temporary files of killed writes in `folder`; a file still being written by
    another running copy of the program (it holds a lock, or Windows keeps it open) stays."""
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_leftover(entry.name):
            continue
        path = Path(entry.path)
        # A journal belongs to the .part database beside it: in use while that one is.
        owner = path.with_name(re.sub(r"(-journal|-wal|-shm)$", "", path.name))
        try:
            if not entry.is_file(follow_symlinks=False) or (owner.exists() and _in_use(owner)):
                continue
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def _in_use(path: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be deleted, the unlink itself fails
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # flock, unlike SQLite's POSIX locks, is safe to take and drop from any fd
    return False


# -- checks that a written file is complete ---------------------------------------------------------
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def check_pdf(path: Path) -> None:
    """A PDF is complete when it ends with its trailer and the trailer points at the xref table."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(5)
        fh.seek(max(0, size - 1024))
        tail = fh.read()
        m = _STARTXREF.search(tail)
        ok = head == b"%PDF-" and m is not None and int(m.group(1)) < size
        if ok:
            fh.seek(int(m.group(1)))  # type: ignore[union-attr]
            ok = fh.read(4) == b"xref"
    if not ok:
        raise WriteError(f"写入的 PDF 文件不完整（“{path.name}”没有结尾标记），已删除。请检查磁盘空间后重试。")


def check_zip(path: Path) -> None:
    """An .xlsx is complete when it opens as a zip (central directory present) and its CRCs match."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise WriteError(f"写入的 Excel 文件不完整（“{path.name}”无法作为压缩包打开），已删除。") from exc
    if bad is not None:
        raise WriteError(f"写入的 Excel 文件已损坏（“{path.name}”中的 {bad} 校验失败），已删除。")


def check_sqlite(path: Path, key: bytes | None = None) -> None:
    """A database copy is complete when it opens (with `key`, an encrypted copy) and SQLite's quick check passes."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if key is not None:
                sqlite3.apply_key(conn, key)
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise WriteError(f"写入的数据库文件“{path.name}”无法打开，已删除。") from exc
    if result != "ok":
        raise WriteError(f"写入的数据库文件“{path.name}”校验失败，已删除。")

"""Consistent copies of the database file (SQLite's online backup), safe while the program runs:
manual backups, automatic ones (daily and at exit) with their rotation and a second place, and
the reminder to keep a copy away from this PC."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.models.core import sqlite as sqlite3
from app.models.core.audit_events import Action, Outcome, local_transaction, record_event
from app.models.core.backup_files import (
    AUTO,
    MANUAL,
    PRE_RESTORE,
    BackupFile,
    backup_name,
    default_folder,
    free_name,
    list_backups,
)
from app.models.core.db import Database
from app.models.core.db_keys import KeyFile, keys_path, remember_key
from app.models.core.errors import KnownError, PermissionDeniedError, ValidationError
from app.models.core.logs import file_ref, logged
from app.models.core.safe_files import DiskFullError, atomic_path, check_sqlite

KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12
REMIND_AFTER_DAYS = 7
OFFSITE_KEY = "last_offsite_backup"  # meta: when a copy last went away from this PC (ISO time)
WATCH_KEY = "offsite_watch_since"  # meta: first time the reminder looked (a new office is not nagged at once)
BACKED_UP_KEY = "auto_backup_hlc"  # meta: the sync clock at the last automatic backup (no write since?)
SECOND_PLACE_KEY = "second_backup_folder"  # meta: this PC's second place (a path means nothing on another PC)
STEP_PAGES = 1024  # pages copied per step of SQLite's backup: a deadline is noticed between steps
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


class BackupTimeout(KnownError):
    """A bounded backup (at exit) ran out of time; its half-written copy was removed."""


def default_backup_name(db: Database) -> str:
    return backup_name(db.path.stem, MANUAL, dt.datetime.now())


def owner_name(db: Database) -> str:
    """The community's name as it goes into a backup's file name (the file's stem without one)."""
    name = db.scalar("SELECT name FROM main.community WHERE deleted = 0 ORDER BY rowid LIMIT 1") or db.path.stem
    return _UNSAFE.sub("-", str(name)).strip("-.")[:40] or "anju"


@logged("backup.write", facts=lambda a: {"kind": {MANUAL: "manual", AUTO: "auto", PRE_RESTORE: "pre_restore"}.get(a["kind"], "?")},
        summary=lambda path: {"bytes": path.stat().st_size, "file": file_ref(path)})
def backup_to(db: Database, target: str | Path, *, kind: str = MANUAL, deadline: float | None = None,
              check: Callable[[], None] | None = None, record: bool = True) -> Path:
    """Write a complete copy to `target` via a temporary file, so a failure leaves no half file.

    ``deadline`` (time.monotonic()): give up, removing the part written, once it has passed;
    ``check`` is called between steps (it raises to cancel). ``record``: audit it here.
    """
    if kind == MANUAL and db.principal.building_scope() is not None:
        record_event(db, Action.BACKUP, {"to": str(target)}, Outcome.REFUSED)
        raise PermissionDeniedError("备份会复制所有楼栋的数据，楼栋长的账号不能备份。请由社区工作人员或管理员备份。")
    target = Path(target)
    if target.is_dir():
        target = target / default_backup_name(db)
    if target.exists():
        raise KnownError(f"备份文件“{target}”已经存在，请换一个名字。")

    def step(_status: int, _remaining: int, _total: int) -> None:
        if check is not None:
            check()
        if deadline is not None and time.monotonic() > deadline:
            raise BackupTimeout(f"备份没有在限定时间内完成，已删除未写完的部分（“{target.parent}”中没有留下半个文件）。")

    # The copy is read back from disk (quick check) before it takes the backup's name.
    try:
        # An encrypted database is backed up encrypted with the same key, with a copy of its keys
        # file beside (the passwords of today open it; so do the recovery code and later keys files).
        if db.key is not None:
            write_keys_beside(db, target)
            remember_key(target, db.key)  # this process may read the copy it made (a restore drill)
        with atomic_path(target, check=lambda p: check_sqlite(p, key=db.key), what="备份文件", replace=False) as part:
            copy_into(db, part, step=step)
    except DiskFullError as exc:  # a backup is as large as the database itself
        size = db.scalar("PRAGMA page_count") * db.scalar("PRAGMA page_size")
        raise DiskFullError(exc.folder, needed=size, what="备份文件", estimate=True) from exc
    if kind == MANUAL and away_from_pc(target.parent, db.path):
        note_offsite_copy(db)
    if record:
        record_event(db, Action.BACKUP, {"file": target.name, "folder": str(target.parent),
                                         "bytes": target.stat().st_size, "kind": kind})
    return target


def copy_into(db: Database, part: Path, *, step: Callable[[int, int, int], None] | None = None,
              finish: Callable[[sqlite3.Connection], None] | None = None) -> None:
    """SQLite's online backup of `db` into the new file `part`: the one copy every backup and
    restore goes through (consistent while others write, the -wal included), left in rollback
    journal mode so it is one self-contained file. ``finish`` may adjust the copy before that."""
    dest = sqlite3.connect(str(part))
    try:
        if db.key is not None:  # an encrypted database's copy is encrypted with the same key
            sqlite3.apply_key(dest, db.key)
        db.conn.backup(dest, pages=STEP_PAGES if step else -1, progress=step)
        if finish is not None:
            finish(dest)
            dest.commit()
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()


def write_keys_beside(db: Database, copy: Path) -> Path | None:
    """The keys of `db` (its wraps, without login counters) beside a copy of it: ``copy.keys``."""
    keys = KeyFile.load(db.path)
    if keys is None:
        return None
    return keys.save(keys_path(copy))


# -- rotation ---------------------------------------------------------------------------------------
def backups_to_keep(dates: Iterable[dt.datetime], *, now: dt.datetime, daily: int = KEEP_DAILY,
                    weekly: int = KEEP_WEEKLY, monthly: int = KEEP_MONTHLY) -> set[dt.datetime]:
    """Which of the backups taken at `dates` to keep: the newest of each of the last `daily` days,
    `weekly` ISO weeks and `monthly` months that have a backup (one file may serve several rules).

    Periods are counted among those that have backups, not on the calendar (as borg and restic
    prune): a PC left off for a month still keeps a week of daily copies from before. Weeks are
    ISO weeks (a week across New Year is one week). A date after `now` (a clock set wrong) is
    kept and takes no period's place.
    """
    ordered = sorted(set(dates), reverse=True)
    keep = {d for d in ordered if d > now}
    past = [d for d in ordered if d <= now]
    rules: list[tuple[int, Callable[[dt.datetime], object]]] = [
        (daily, lambda d: d.date()),
        (weekly, lambda d: tuple(d.isocalendar())[:2]),
        (monthly, lambda d: (d.year, d.month)),
    ]
    for count, period in rules:
        seen: set[object] = set()
        for d in past:  # newest first: the first backup met in a period is its newest
            key = period(d)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(key)
            keep.add(d)
    return keep


def rotate(folder: Path, owner: str, *, now: dt.datetime | None = None) -> list[Path]:
    """Delete the automatic backups of `owner` in `folder` the rotation no longer keeps.

    Manual backups and the copies kept before a restore are the clerk's: never deleted here."""
    now = now or dt.datetime.now()
    autos = [b for b in list_backups([folder]) if b.kind == AUTO and b.owner == owner]
    keep = backups_to_keep([b.taken for b in autos], now=now)
    removed = []
    kept_times: set[dt.datetime] = set()
    for b in autos:  # newest first; two files of one second: the first one stands for that time
        if b.taken in keep and b.taken not in kept_times:
            kept_times.add(b.taken)
            continue
        try:
            b.path.unlink()
            removed.append(b.path)
        except OSError:
            continue
    return removed


# -- automatic backups ------------------------------------------------------------------------------
@dataclass
class AutoBackupResult:
    path: Path
    second: Path | None = None
    notes: list[str] = field(default_factory=list)  # quiet notes for the status bar
    removed: int = 0  # old automatic backups the rotation deleted


def _own_autos(db: Database, folder: Path) -> list[BackupFile]:
    owner = owner_name(db)
    return [b for b in list_backups([folder]) if b.kind == AUTO and b.owner == owner]


def daily_backup_due(db: Database, folder: Path | None = None, *, now: dt.datetime | None = None) -> bool:
    """No automatic backup of this community taken today in the backup folder."""
    today = (now or dt.datetime.now()).date()
    return not any(b.taken.date() == today for b in _own_autos(db, folder or default_folder()))


def exit_backup_due(db: Database, folder: Path | None = None) -> bool:
    """Records were written since the last automatic backup (closing without changes adds none)."""
    if not _own_autos(db, folder or default_folder()):
        return True
    return db.meta("hlc") != db.meta(BACKED_UP_KEY)


def automatic_backup(db: Database, folder: Path | None = None, *, reason: str = "daily",
                     now: dt.datetime | None = None, deadline: float | None = None,
                     check: Callable[[], None] | None = None) -> AutoBackupResult:
    """Back up to the backup folder and, when set and present, the second place; rotate both.

    A failure in the backup folder raises (a full disk a DiskFullError naming it); the second
    place is best effort: its trouble becomes a note."""
    folder = folder or default_folder()
    now = now or dt.datetime.now()
    owner = owner_name(db)
    path = backup_to(db, free_name(folder, owner, AUTO, now), kind=AUTO, deadline=deadline, check=check,
                     record=False)
    result = AutoBackupResult(path)
    result.removed += len(rotate(folder, owner, now=now))
    second, note = second_place_folder(db)
    if note:
        result.notes.append(note)
    if second is not None:
        try:
            result.second = backup_to(db, free_name(second, owner, AUTO, now), kind=AUTO, deadline=deadline,
                                      check=check, record=False)
            result.removed += len(rotate(second, owner, now=now))
            note_offsite_copy(db, now)
        except KnownError as exc:
            result.notes.append(f"第二备份位置没有备份成功：{exc}")
    if db.can_write():
        db.set_meta(BACKED_UP_KEY, db.meta("hlc") or "")
    record_event(db, Action.BACKUP, {
        "kind": AUTO, "reason": reason, "file": path.name, "folder": str(folder), "bytes": path.stat().st_size,
        "second": str(result.second) if result.second else None, "removed": result.removed,
    })
    return result


# -- the second place -------------------------------------------------------------------------------
def second_place(db: Database) -> str:
    """The second backup folder set for this PC ('' when none)."""
    return db.meta(SECOND_PLACE_KEY) or ""


def set_second_place(db: Database, folder: str) -> None:
    """Set (or clear, with '') this PC's second backup place; the administrator's, and audited."""
    folder = folder.strip()
    if not db.principal.can_change_settings:
        record_event(db, Action.SETTING_CHANGE, {"key": SECOND_PLACE_KEY}, Outcome.REFUSED)
        raise PermissionDeniedError("只有系统管理员可以设置第二备份位置。")
    if folder and not Path(folder).is_absolute():
        raise ValidationError("第二备份位置须是完整的文件夹路径（例如 E:\\安居备份 或 /media/U盘/安居备份）。",
                              field=SECOND_PLACE_KEY)
    old = second_place(db)
    if folder == old:
        return
    db.ensure_writable()
    with local_transaction(db):  # this PC's own setting: not synced, no tick of the sync clock
        db.set_meta(SECOND_PLACE_KEY, folder)
        record_event(db, Action.SETTING_CHANGE, {"key": SECOND_PLACE_KEY, "old": old, "new": folder})


def second_place_folder(db: Database, *, create: bool = True) -> tuple[Path | None, str | None]:
    """The second place to write to now, or None with a quiet note when it is set but absent.

    The last folder of the path is made when its parent is there (a stick plugged in for the
    first time); a missing parent means the disk or stick is absent."""
    setting = second_place(db)
    if not setting:
        return None, None
    folder = Path(setting)
    try:
        if not folder.is_dir():
            if not folder.parent.is_dir() or not create:
                raise FileNotFoundError(setting)
            folder.mkdir(mode=0o700)
        if not os.access(folder, os.W_OK):
            return None, f"第二备份位置“{setting}”不可写入，本次只备份在本机。"
    except OSError:
        return None, f"第二备份位置“{setting}”不在（U 盘未插入或磁盘未连接），本次只备份在本机。"
    return folder, None


# -- copies away from this PC ------------------------------------------------------------------------
def away_from_pc(folder: Path, db_path: Path) -> bool:
    """Whether `folder` is on another disk than the database and the backup folder (a stick)."""
    try:
        dev = os.stat(folder).st_dev
        home = {os.stat(Path(db_path).resolve().parent).st_dev, os.stat(default_folder()).st_dev}
    except OSError:
        return False
    return dev not in home


def note_offsite_copy(db: Database, when: dt.datetime | None = None) -> None:
    if db.can_write():
        db.set_meta(OFFSITE_KEY, (when or dt.datetime.now()).isoformat(timespec="seconds"))


def last_offsite_copy(db: Database) -> dt.datetime | None:
    text = db.meta(OFFSITE_KEY)
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def offsite_reminder(db: Database, *, now: dt.datetime | None = None) -> str | None:
    """The reminder to show on start when the last copy away from this PC is over a week old."""
    now = now or dt.datetime.now()
    if not db.scalar("SELECT 1 FROM main.household WHERE deleted = 0 LIMIT 1"):
        return None  # nothing to lose yet
    last = last_offsite_copy(db)
    limit = dt.timedelta(days=REMIND_AFTER_DAYS)
    if last is not None and now - last < limit:
        return None
    if last is None:
        since = db.meta(WATCH_KEY)
        if not since:
            if db.can_write():
                db.set_meta(WATCH_KEY, now.isoformat(timespec="seconds"))
            return None
        try:
            if now - dt.datetime.fromisoformat(since) < limit:
                return None
        except ValueError:
            pass
        head = "还没有把数据备份到本机以外的地方（U 盘或另一块磁盘）。"
    else:
        head = f"上一次把数据备份到本机以外（U 盘或另一块磁盘）是 {(now - last).days} 天前（{last:%Y-%m-%d}）。"
    return head + "电脑损坏、丢失或被盗时，只有本机以外的备份能找回数据。请插入 U 盘，现在备份一份。"

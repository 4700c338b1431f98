"""Consistent copies of the database file (SQLite's online backup), safe while the program runs."""

from __future__ import annotations

import datetime as dt
import glob
import sqlite3
from pathlib import Path

from app.models.audit_events import Action, Outcome, record_event
from app.models.db import Database
from app.models.errors import KnownError, PermissionDeniedError
from app.models.safe_files import DiskFullError, atomic_path, check_sqlite


def default_backup_name(db: Database) -> str:
    return f"{db.path.stem}-备份-{dt.datetime.now():%Y%m%d-%H%M%S}.db"


def backup_to(db: Database, target: str | Path) -> Path:
    """Write a complete copy to `target` via a temporary file, so a failure leaves no half file."""
    if db.principal.building_scope() is not None:
        record_event(db, Action.BACKUP, {"to": str(target)}, Outcome.REFUSED)
        raise PermissionDeniedError("备份会复制所有楼栋的数据，楼栋长的账号不能备份。请由社区工作人员或管理员备份。")
    target = Path(target)
    if target.is_dir():
        target = target / default_backup_name(db)
    if target.exists():
        raise KnownError(f"备份文件“{target}”已经存在，请换一个名字。")
    # The copy is read back from disk (quick check) before it takes the backup's name.
    try:
        with atomic_path(target, check=check_sqlite, what="备份文件", replace=False) as part:
            dest = sqlite3.connect(str(part))
            try:
                db.conn.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
    except DiskFullError as exc:  # a backup is as large as the database itself
        size = db.scalar("PRAGMA page_count") * db.scalar("PRAGMA page_size")
        raise DiskFullError(exc.folder, needed=size, what="备份文件", estimate=True) from exc
    record_event(db, Action.BACKUP, {"file": target.name, "folder": str(target.parent),
                                     "bytes": target.stat().st_size})
    return target


BACKUP_PATTERN = "*-备份-*.db"


def backup_folders(db_path: Path) -> list[Path]:
    """Where backups of `db_path` are looked for: beside it, where 备份数据库 puts them by default."""
    return [db_path.parent]


def newest_backup(db_path: Path) -> Path | None:
    """The most recent complete backup of `db_path` the program can find, or None."""
    found: list[tuple[float, Path]] = []
    for folder in backup_folders(db_path):
        try:
            # Only this file's backups (名字-备份-时间.db): another database's backup is no way back.
            candidates = list(folder.glob(f"{glob.escape(db_path.stem)}{BACKUP_PATTERN[1:]}"))
        except OSError:
            continue
        for p in candidates:
            try:
                if p.resolve() != db_path.resolve() and p.stat().st_size > 0:
                    found.append((p.stat().st_mtime, p))
            except OSError:
                continue
    return max(found)[1] if found else None

"""The backups in a folder: their file names (community, kind, time), listing them, and where to
look for the newest one after damage. Names only, no database: the damage message of the write
path points to the newest backup, and :mod:`app.models.core.backup` writes them."""

from __future__ import annotations

import datetime as dt
import glob
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# The kind of a backup is part of its file name (the words a clerk sees in the folder).
AUTO = "自动备份"
PRE_RESTORE = "恢复前自动备份"
MANUAL = "备份"
KIND_LABELS = {AUTO: "自动备份", PRE_RESTORE: "恢复前自动备份", MANUAL: "手动备份"}
_STAMP = "%Y%m%d-%H%M%S"
_NAME = re.compile(
    r"^(?P<owner>.+)-(?P<kind>恢复前自动备份|自动备份|备份)-(?P<stamp>\d{8}-\d{6})(?:-(?P<n>\d+))?\.db$"
)
BACKUP_PATTERN = "*-备份-*.db"


def backup_name(owner: str, kind: str, when: dt.datetime) -> str:
    return f"{owner}-{kind}-{when:{_STAMP}}.db"


def free_name(folder: Path, owner: str, kind: str, when: dt.datetime) -> Path:
    """A name not yet taken in `folder` (two backups in one second get -2, -3 …)."""
    target = folder / backup_name(owner, kind, when)
    n = 2
    while target.exists():
        target = folder / f"{owner}-{kind}-{when:{_STAMP}}-{n}.db"
        n += 1
    return target


# -- the backups in a folder ------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupFile:
    path: Path
    owner: str  # the community (or file stem) named in the file name
    kind: str  # AUTO, PRE_RESTORE or MANUAL
    taken: dt.datetime
    size: int
    seq: int = 1  # the -2, -3 … of backups taken within one second

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def parse_backup(path: Path) -> BackupFile | None:
    """What a backup's name says (community, kind, time), or None for any other file."""
    m = _NAME.match(path.name)
    if m is None:
        return None
    try:
        taken = dt.datetime.strptime(m["stamp"], _STAMP)
        size = path.stat().st_size
    except (ValueError, OSError):
        return None
    return BackupFile(path, m["owner"], m["kind"], taken, size, int(m["n"] or 1))


def list_backups(folders: Iterable[Path | None]) -> list[BackupFile]:
    """The backups found in `folders`, newest first."""
    found: dict[Path, BackupFile] = {}
    for folder in folders:
        if folder is None:
            continue
        try:
            entries = list(Path(folder).iterdir())
        except OSError:
            continue
        for path in entries:
            info = parse_backup(path)
            if info is not None and info.size > 0:
                found.setdefault(path.resolve(), info)
    return sorted(found.values(), key=lambda b: (b.taken, b.seq, b.path.name), reverse=True)


def default_folder() -> Path:
    """The backup folder in the program's data folder."""
    from app.paths import backup_dir

    return backup_dir()


# -- where to look after damage ------------------------------------------------------------------------
def backup_folders(db_path: Path) -> list[Path]:
    """Where backups of `db_path` are looked for: beside it (备份数据库's old default), and the
    automatic backup folder."""
    folders = [db_path.parent]
    try:
        folders.append(default_folder())
    except OSError:
        pass
    return folders


def newest_backup(db_path: Path) -> Path | None:
    """The most recent complete backup of `db_path` the program can find, or None."""
    found: list[tuple[float, Path]] = []
    for folder in backup_folders(db_path):
        try:
            # Only this file's backups (名字-备份-时间.db): another database's backup is no way back.
            candidates = list(folder.glob(f"{glob.escape(db_path.stem)}{BACKUP_PATTERN[1:]}"))
            candidates += [b.path for b in list_backups([folder]) if b.kind == AUTO]
        except OSError:
            continue
        for p in candidates:
            try:
                if p.resolve() != db_path.resolve() and p.stat().st_size > 0:
                    found.append((p.stat().st_mtime, p))
            except OSError:
                continue
    return max(found)[1] if found else None

"""Restoring the database from a backup: check the copy, show what will change, keep the current
file as a backup, then swap the file in whole.

A restore runs in two steps so a window stays responsive: :func:`prepare_restore` (long: the
checks, the copy kept of the current file, the new file written beside it under a temporary
name) runs on a connection to the current database; :func:`swap_in` (short) replaces the file
once every connection of the program to it is closed. :func:`restore_database` does both for
the command line. Nothing changes in the current file until the swap, and the swap is a rename.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.models import migrations
from app.models.core import backup, backup_files
from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal
from app.models.core.audit_events import Action, Outcome, record_event
from app.models.core.db import Database, open_database
from app.models.core.errors import (
    DamagedDatabaseError,
    DatabaseError,
    KnownError,
    PermissionDeniedError,
)
from app.models.core.logs import file_ref, logged
from app.models.core.safe_files import DiskFullError, Staged, check_sqlite, human_size, stage_path

# What the clerk compares between the backup (then) and the current file (now).
COUNTED: tuple[tuple[str, str, str], ...] = (
    ("households", "户数", "SELECT count(*) FROM main.household WHERE deleted = 0"),
    ("residents", "在册居民（人）",
     "SELECT count(*) FROM main.person p JOIN main.household h ON h.id = p.household_id "
     "WHERE p.deleted = 0 AND p.status = '在册' AND h.deleted = 0"),
    ("visits", "走访记录", "SELECT count(*) FROM main.visit WHERE deleted = 0"),
    ("cases", "调解案件", "SELECT count(*) FROM main.mediation_case WHERE deleted = 0"),
    ("employment", "就业记录", "SELECT count(*) FROM main.employment WHERE deleted = 0"),
)
COUNT_LABELS = {key: label for key, label, _ in COUNTED}


class BackupRefusedError(KnownError):
    """The chosen file cannot be restored (missing, damaged, foreign, newer); nothing changed."""


class OtherCommunityError(KnownError):
    """The backup is another community's: restoring it needs the clerk's explicit confirmation."""


def counts(db: Database) -> dict[str, int | None]:
    """The compared figures of a database (None where an older file lacks the table)."""
    out: dict[str, int | None] = {}
    for key, _label, sql in COUNTED:
        try:
            out[key] = int(db.scalar(sql) or 0)
        except sqlite3.DatabaseError:  # a table an older file lacks, or a damaged current file
            out[key] = None
    return out


@dataclass
class BackupReport:
    """What a checked backup holds, next to the current file."""

    path: Path
    size: int
    taken: dt.datetime
    kind: str
    schema_version: int
    community_id: str | None
    community_name: str
    current_community_name: str
    same_community: bool
    then: dict[str, int | None]
    now: dict[str, int | None]

    def rows(self) -> list[tuple[str, int | None, int | None]]:
        """(label, then, now) per compared figure."""
        return [(label, self.then.get(key), self.now.get(key)) for key, label, _ in COUNTED]

    def summary_lines(self) -> list[str]:
        lines = [f"备份文件：{self.path}",
                 f"备份时间：{self.taken:%Y-%m-%d %H:%M}　大小：{human_size(self.size)}　类型：{self.kind}",
                 f"社区：{self.community_name or '（未设置）'}"
                 + ("" if self.same_community else f"　≠ 当前社区：{self.current_community_name or '（未设置）'}")]
        for label, then, now in self.rows():
            lines.append(f"{label}：备份中 {_n(then)}，现在 {_n(now)}{_diff(then, now)}")
        return lines


def _diff(then: int | None, now: int | None) -> str:
    if then is None or now is None or then == now:
        return ""
    return f"（恢复后{'减少' if then < now else '增加'} {abs(now - then):,}）"


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _community(db: Database) -> tuple[str | None, str]:
    try:
        row = db.one("SELECT id, name FROM main.community WHERE deleted = 0 ORDER BY rowid LIMIT 1")
    except sqlite3.DatabaseError:
        return None, ""
    return (row[0], row[1] or "") if row else (None, "")


def open_backup(path: Path, key: bytes | None = None) -> Database:
    """Open a backup file the way the program opens its database, without ever writing to it.

    ``key``: the current database's key: a backup of an encrypted file is encrypted with the same
    key (the key never changes, passwords only re-wrap it); a plain backup is read as it is."""
    return open_database(path, create=False, read_only=True, old_ok=True, key=key)


def inspect_backup(db: Database, path: str | Path) -> BackupReport:
    """Check the backup at `path` against the current database `db`; raise BackupRefusedError.

    It must open as an Anju database (not damaged, not another program's, not made by a newer
    program) and pass SQLite's integrity check. Nothing is written, to either file.
    """
    path = Path(path).absolute()
    where = f"“{path.name}”"
    if not path.is_file():
        raise BackupRefusedError(f"备份文件“{path}”不存在或不是文件。数据库未作任何改动。")
    with contextlib.suppress(OSError):
        if path.resolve() == db.path.resolve():
            raise BackupRefusedError(f"{where}就是正在使用的数据库文件本身，不能用它恢复。请选择一个备份文件。")
    try:
        copy = open_backup(path, db.key)
    except DamagedDatabaseError as exc:  # its own advice (restore from a backup…) is about the file in use
        raise BackupRefusedError(
            f"备份文件{where}已损坏或不完整，不能用来恢复。数据库未作任何改动。请选择另一个备份。"
        ) from exc
    except KnownError as exc:
        raise BackupRefusedError(f"备份文件{where}不能用来恢复：{exc}") from exc
    try:
        try:
            problems = [str(r[0]) for r in copy.query("PRAGMA integrity_check(5)")]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise BackupRefusedError(
                f"备份文件{where}已损坏或不完整（{'；'.join(problems[:2])}），不能用来恢复。数据库未作任何改动。"
                "请选择另一个备份。"
            )
        version = copy.schema_version
        if version > migrations.latest_version():  # open_database refuses these; kept as the rule itself
            raise BackupRefusedError(f"备份文件{where}由较新版本的程序创建，请先升级程序。数据库未作任何改动。")
        then = counts(copy)
        community_id, community_name = _community(copy)
    except sqlite3.DatabaseError as exc:
        raise BackupRefusedError(f"备份文件{where}读不出来（{exc}），不能用来恢复。数据库未作任何改动。") from exc
    finally:
        copy.close()
    current_id, current_name = _community(db)
    info = backup_files.parse_backup(path)
    stat = path.stat()
    return BackupReport(
        path=path, size=stat.st_size,
        taken=info.taken if info else dt.datetime.fromtimestamp(stat.st_mtime),
        kind=info.kind_label if info else "其他文件",
        schema_version=version, community_id=community_id, community_name=community_name,
        current_community_name=current_name,
        # A file not set up yet (no community) may take any office's backup without a question.
        same_community=current_id is None or community_id == current_id,
        then=then, now=counts(db),
    )


@dataclass
class PreparedRestore:
    """A restore checked and written beside the database, waiting for :func:`swap_in`."""

    report: BackupReport
    db_path: Path
    safety_copy: Path  # the current file as it was, kept as 恢复前自动备份
    staged: Staged
    who: str
    damaged: bool = False  # the current file is damaged: it is kept by renaming it at the swap
    done: bool = field(default=False)

    def discard(self) -> None:
        self.staged.discard()


def check_allowed(db: Database, source: str | Path | None = None) -> None:
    """Only the administrator restores; a refusal is recorded."""
    if not db.principal.can_restore:
        record_event(db, Action.RESTORE, {"from": str(source) if source else None}, Outcome.REFUSED)
        raise PermissionDeniedError("只有系统管理员可以从备份恢复：恢复会撤销备份以后所有人的修改。")


def check_backup(db: Database, source: str | Path) -> BackupReport:
    """:func:`inspect_backup` for someone who may restore. A file refused by the checks is not
    recorded: nothing was attempted, and the current file stays byte for byte as it was."""
    check_allowed(db, source)
    return inspect_backup(db, source)


def prepare_restore(db: Database, source: str | Path, *, other_community_ok: bool = False,
                    backup_folder: Path | None = None) -> PreparedRestore:
    """Check `source` again, keep a copy of the current file, and write the file to swap in.

    Raises BackupRefusedError, OtherCommunityError (the clerk is asked), PermissionDeniedError
    (recorded); the current file is unchanged."""
    source = Path(source)
    report = check_backup(db, source)
    # The very case a backup is for: a damaged file's pages cannot be copied, so it is kept whole.
    damaged = _damaged(db)
    if not damaged:
        db.ensure_writable()
    if not report.same_community and not other_community_ok:
        raise OtherCommunityError(
            f"这个备份是“{report.community_name or '（未设置）'}”的数据，而当前数据库是"
            f"“{report.current_community_name}”。恢复后本机将变成另一个社区的台账。确定要恢复吗？"
        )
    folder = backup_folder or backup.default_folder()
    try:
        owner = backup.owner_name(db)
    except sqlite3.DatabaseError:
        owner = db.path.stem
    if damaged:
        safety = backup.free_name(db.path.parent, f"{owner}", backup.PRE_RESTORE, dt.datetime.now())
        safety = safety.with_name(safety.stem + "-已损坏.db")
    else:
        safety = backup.backup_to(db, backup.free_name(folder, owner, backup.PRE_RESTORE, dt.datetime.now()),
                                  kind=backup.PRE_RESTORE)

    def forget_identity(dest: sqlite3.Connection) -> None:
        # The restored file's change log went back in time: its next edit must not reuse
        # sequence numbers other PCs already hold under the old identity, so it takes a new
        # one at its first write (as a copied file does).
        dest.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_file', 'restored')")

    used_key: list[bytes | None] = [None]  # the copy is encrypted when the backup was

    def write(part: Path) -> None:
        copy = open_backup(source, db.key)
        used_key[0] = copy.key
        try:
            backup.copy_into(copy, part, finish=forget_identity)
        finally:
            copy.close()

    try:
        staged = stage_path(db.path, write, check=lambda p: check_sqlite(p, key=used_key[0]), what="恢复的数据库")
    except DiskFullError as exc:
        raise DiskFullError(exc.folder, needed=report.size, what="恢复的数据库", estimate=True) from exc
    return PreparedRestore(report, db.path, safety, staged, db.user, damaged=damaged)


def _damaged(db: Database) -> bool:
    """A fresh check of the current file (the per-process cache may predate the damage)."""
    try:
        found = [str(r[0]) for r in db.query("PRAGMA quick_check(1)")]
    except sqlite3.DatabaseError:
        return True
    return found != ["ok"]


def swap_in(prepared: PreparedRestore) -> None:
    """Put the prepared file in the database's place. Every connection of this program to the
    file must be closed; one held elsewhere (another window, a command) refuses the swap."""
    path = prepared.db_path
    if prepared.damaged:
        _keep_damaged(prepared)
        return
    try:
        guard = open_database(path, create=False, read_only=False)
    except KnownError:
        prepared.discard()
        raise
    try:
        # Leaving WAL mode folds the -wal into the file and deletes it, and is refused while any
        # other connection has the file open: the new file must not meet the old file's -wal.
        mode = guard.scalar("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError:
        mode = None
    finally:
        guard.close()
    leftover = [p.name for p in (Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
    if mode != "delete" or leftover:
        prepared.discard()
        raise DatabaseError(
            f"数据库“{path.name}”正被另一个窗口或命令使用，无法恢复。请关闭其他安居台账窗口（和正在运行的命令）后重试。"
            "数据库未作任何改动。"
        )
    with contextlib.suppress(OSError):
        Path(f"{path}-shm").unlink()
    prepared.staged.commit()
    prepared.done = True


def _keep_damaged(prepared: PreparedRestore) -> None:
    """A damaged file is kept as it is, renamed beside the restored one with its -wal (SQLite reads
    the two together; a copy through SQLite would stop at the damaged pages)."""
    path, keep = prepared.db_path, prepared.safety_copy
    try:
        os.replace(path, keep)
        for suffix in ("-wal", "-journal"):
            if Path(f"{path}{suffix}").exists():
                os.replace(f"{path}{suffix}", f"{keep}{suffix}")
        with contextlib.suppress(OSError):
            Path(f"{path}-shm").unlink()
    except OSError as exc:
        if not path.exists() and keep.exists():
            os.replace(keep, path)  # put it back: the restore did not happen
        prepared.discard()
        raise DatabaseError(f"无法把损坏的数据库另存为“{keep.name}”（{exc}），没有恢复。") from exc
    prepared.staged.commit()
    prepared.done = True


def record_restore(db: Database, prepared: PreparedRestore, principal: Principal | None = None) -> None:
    """The audit entry of a finished restore, written into the restored file."""
    r = prepared.report
    record_event(db, Action.RESTORE, {
        "from": str(r.path), "taken": r.taken.isoformat(timespec="seconds"), "bytes": r.size,
        "community": r.community_name, "same_community": r.same_community,
        "then": r.then, "before": r.now, "kept_as": str(prepared.safety_copy),
    }, user=principal.name if principal is not None else prepared.who)


@logged("backup.restore", facts=lambda a: {"from": file_ref(a["source"])})
def restore_database(db: Database, source: str | Path, *, other_community_ok: bool = False,
                     backup_folder: Path | None = None) -> tuple[Database, PreparedRestore]:
    """The whole restore on a connection of its own (the command line): `db` is closed and the
    restored file returned open, acting for the same principal, with the restore recorded."""
    principal = db.principal
    prepared = prepare_restore(db, source, other_community_ok=other_community_ok, backup_folder=backup_folder)
    db.close()
    swap_in(prepared)
    restored = open_database(prepared.db_path, user=principal.name, create=False)
    record_restore(restored, prepared, principal)
    return restored, prepared

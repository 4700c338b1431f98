"""Rotation of automatic backups (7 daily, 4 weekly, 12 monthly), automatic backups, the second
place and the reminder to keep a copy away from the PC."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.models.core import backup, backup_files
from app.models.core import sqlite as sqlite3
from app.models.core.access import Principal, Role
from app.models.core.accounts import use_principal
from app.models.core.audit_events import recent
from app.models.core.backup import AUTO, MANUAL, PRE_RESTORE, backups_to_keep, rotate
from app.models.core.errors import PermissionDeniedError, ValidationError
from app.models.core.safe_files import DiskFullError

D = dt.datetime


def at(day: str, hour: int = 12) -> dt.datetime:
    return D.fromisoformat(day).replace(hour=hour)


def days(first: str, last: str, hour: int = 12) -> list[dt.datetime]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [D.combine(start + dt.timedelta(n), dt.time(hour)) for n in range((end - start).days + 1)]


# -- the pure rule ----------------------------------------------------------------------------------
def test_nothing_to_keep_from_nothing():
    assert backups_to_keep([], now=at("2026-12-04")) == set()


def test_ten_days_keep_the_last_seven_days():
    dates = days("2026-12-01", "2026-12-10", hour=8)
    keep = backups_to_keep(dates, now=at("2026-12-10", 9))
    # Dec 6 (Sunday) closes ISO week 49 but is among the seven days anyway; Dec 1-3 go.
    assert keep == set(days("2026-12-04", "2026-12-10", hour=8))


def test_several_a_day_keep_the_newest_of_each_day():
    dates = [at("2026-12-09", h) for h in (8, 12, 18)] + [at("2026-12-10", h) for h in (9, 17)]
    keep = backups_to_keep(dates, now=at("2026-12-10", 18))
    assert keep == {at("2026-12-09", 18), at("2026-12-10", 17)}


def test_two_years_of_daily_backups_keep_7_days_4_weeks_12_months():
    dates = days("2025-01-01", "2026-12-31")
    keep = backups_to_keep(dates, now=at("2026-12-31", 13))
    expected = set(days("2026-12-25", "2026-12-31"))
    # ISO weeks 2026-W53 (Dec 28 - Jan 3), W52, W51, W50: their newest are Dec 31, 27, 20, 13.
    expected |= {at("2026-12-27"), at("2026-12-20"), at("2026-12-13")}
    # Months: the last day of each of the twelve months of 2026.
    expected |= {at(d) for d in ("2026-11-30", "2026-10-31", "2026-09-30", "2026-08-31", "2026-07-31",
                                 "2026-06-30", "2026-05-31", "2026-04-30", "2026-03-31", "2026-02-28",
                                 "2026-01-31")}
    assert keep == expected
    assert len(keep) == 7 + 2 + 11  # Dec 27 is both the 7-day window's neighbour and a week's newest


def test_an_iso_week_across_new_year_is_one_week():
    # 2026-12-28 (Mon) … 2027-01-03 (Sun) are all ISO week 53 of 2026.
    dates = days("2026-12-28", "2027-01-03")
    keep = backups_to_keep(dates, now=at("2027-01-03", 13), daily=0, weekly=4, monthly=0)
    assert keep == {at("2027-01-03")}
    # 2025-12-29 (Mon) starts ISO week 1 of 2026: it and 2026-01-01 share a week.
    keep = backups_to_keep([at("2025-12-28"), at("2025-12-29"), at("2026-01-01")], now=at("2026-01-02"),
                           daily=0, weekly=4, monthly=0)
    assert keep == {at("2026-01-01"), at("2025-12-28")}


def test_weekly_counts_the_four_newest_weeks_across_the_year_end():
    dates = [at(d) for d in ("2026-12-07", "2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05")]
    keep = backups_to_keep(dates, now=at("2027-01-06"), daily=0, weekly=4, monthly=0)
    assert keep == {at(d) for d in ("2026-12-15", "2026-12-22", "2026-12-29", "2027-01-05")}


def test_months_across_the_year_end_are_distinct_and_only_twelve_kept():
    dates = [at(f"{y}-{m:02d}-15") for y, m in [(2026, m) for m in range(1, 13)] + [(2027, 1)]]
    keep = backups_to_keep(dates, now=at("2027-01-20"), daily=0, weekly=0, monthly=12)
    assert keep == set(dates) - {at("2026-01-15")}


def test_periods_are_counted_among_those_with_backups_not_on_the_calendar():
    # A PC off for two months: the seven days it last ran are all kept.
    dates = days("2026-09-01", "2026-09-10")
    keep = backups_to_keep(dates, now=at("2026-12-01"), daily=7, weekly=0, monthly=0)
    assert keep == set(days("2026-09-04", "2026-09-10"))


def test_a_backup_dated_after_now_is_kept_and_takes_no_place():
    dates = [*days("2026-12-01", "2026-12-07"), at("2027-03-01")]
    keep = backups_to_keep(dates, now=at("2026-12-07", 13), daily=7, weekly=0, monthly=0)
    assert keep == set(dates)


def test_leap_day_and_short_months():
    dates = [at("2028-02-28"), at("2028-02-29"), at("2028-03-01")]
    keep = backups_to_keep(dates, now=at("2028-03-02"), daily=0, weekly=0, monthly=12)
    assert keep == {at("2028-02-29"), at("2028-03-01")}


# -- rotation of files --------------------------------------------------------------------------------
def _touch(folder: Path, owner: str, kind: str, when: dt.datetime) -> Path:
    path = folder / backup.backup_name(owner, kind, when)
    path.write_bytes(b"x" * 10)
    return path


def test_rotate_deletes_only_old_automatic_backups_of_that_community(tmp_path):
    dates = days("2026-11-01", "2026-12-10")
    autos = [_touch(tmp_path, "红路馨居社区", AUTO, d) for d in dates]
    manual = _touch(tmp_path, "红路馨居社区", MANUAL, at("2026-11-01"))
    before_restore = _touch(tmp_path, "红路馨居社区", PRE_RESTORE, at("2026-11-01"))
    other = _touch(tmp_path, "幸福社区", AUTO, at("2026-11-01"))
    stranger = tmp_path / "notes.db"
    stranger.write_bytes(b"x")
    removed = rotate(tmp_path, "红路馨居社区", now=at("2026-12-10", 13))
    kept = {p for p in autos if p.exists()}
    expected = {tmp_path / backup.backup_name("红路馨居社区", AUTO, d)
                for d in backups_to_keep(dates, now=at("2026-12-10", 13))}
    assert kept == expected and len(removed) == len(autos) - len(kept)
    assert manual.exists() and before_restore.exists() and other.exists() and stranger.exists()


def test_backup_names_carry_community_kind_and_time(tmp_path):
    when = D(2026, 12, 4, 21, 5, 9)
    path = _touch(tmp_path, "红路馨居社区", PRE_RESTORE, when)
    assert path.name == "红路馨居社区-恢复前自动备份-20261204-210509.db"
    info = backup_files.parse_backup(path)
    assert (info.owner, info.kind, info.taken, info.kind_label) == ("红路馨居社区", PRE_RESTORE, when, "恢复前自动备份")
    assert backup_files.parse_backup(tmp_path / "office-备份-20260101-080000.db") is None  # missing file
    assert backup_files.parse_backup(tmp_path / "anju.db") is None
    second = backup.free_name(tmp_path, "红路馨居社区", PRE_RESTORE, when)
    assert second.name == "红路馨居社区-恢复前自动备份-20261204-210509-2.db"


# -- automatic backups ---------------------------------------------------------------------------------
@pytest.fixture
def office(db):
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路 馨居/社区"})
        tx.insert("household", {"number": "H-1", "community_id": cid} if _has_column(db, "household", "community_id")
                  else {"number": "H-1"})
    return db


def _has_column(db, table: str, column: str) -> bool:
    return any(r[1] == column for r in db.query(f"PRAGMA table_info({table})"))


def test_automatic_backup_is_complete_named_and_audited(office, tmp_path):
    folder = tmp_path / "auto"
    folder.mkdir()
    result = backup.automatic_backup(office, folder, reason="exit", now=D(2026, 12, 4, 18, 0, 0))
    assert result.path.name == "红路-馨居-社区-自动备份-20261204-180000.db"
    copy = sqlite3.connect(result.path)
    assert copy.execute("SELECT name FROM community").fetchone()[0] == "红路 馨居/社区"
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    event = recent(office, 1)[0]
    assert event["action"] == "backup" and '"reason": "exit"' in event["detail"] and '"kind": "自动备份"' in event["detail"]
    assert result.second is None and result.notes == []


def test_daily_and_exit_backups_are_due_only_when_needed(office, tmp_path):
    folder = tmp_path / "auto"
    folder.mkdir()
    assert backup.daily_backup_due(office, folder) and backup.exit_backup_due(office, folder)
    backup.automatic_backup(office, folder)
    assert not backup.daily_backup_due(office, folder)
    assert backup.daily_backup_due(office, folder, now=D.now() + dt.timedelta(days=1))
    assert not backup.exit_backup_due(office, folder)  # nothing written since
    with office.write() as tx:
        tx.insert("community", {"name": "第二社区"})
    assert backup.exit_backup_due(office, folder)


def test_second_place_gets_a_copy_when_present_and_a_quiet_note_when_absent(office, tmp_path):
    folder = tmp_path / "auto"
    folder.mkdir()
    stick = tmp_path / "stick"
    backup.set_second_place(office, str(stick / "安居备份"))
    result = backup.automatic_backup(office, folder, now=D(2026, 12, 4, 9))
    assert result.second is None and "不在" in result.notes[0] and "U 盘" in result.notes[0]
    assert backup.last_offsite_copy(office) is None
    stick.mkdir()  # the stick is plugged in: its folder is made
    result = backup.automatic_backup(office, folder, now=D(2026, 12, 5, 9))
    assert result.second == stick / "安居备份" / "红路-馨居-社区-自动备份-20261205-090000.db"
    assert result.second.is_file() and result.notes == []
    assert backup.last_offsite_copy(office) is not None


def test_second_place_is_the_administrators_setting(office, tmp_path):
    use_principal(office, Principal("工作人员", Role.CLERK, account_id="x"))
    with pytest.raises(PermissionDeniedError):
        backup.set_second_place(office, str(tmp_path))
    assert backup.second_place(office) == ""
    use_principal(office, Principal("管理员", Role.ADMIN, account_id="y"))
    with pytest.raises(ValidationError):
        backup.set_second_place(office, "relative/folder")
    backup.set_second_place(office, str(tmp_path))
    assert backup.second_place(office) == str(tmp_path)
    assert recent(office, 1)[0]["action"] == "setting_change"


def test_full_disk_leaves_nothing_and_says_so(office, tmp_path, monkeypatch):
    folder = tmp_path / "auto"
    folder.mkdir()
    real_connect = sqlite3.connect

    def small(path, *a, **k):
        conn = real_connect(path, *a, **k)
        conn.execute("PRAGMA max_page_count = 3")
        return conn

    monkeypatch.setattr(backup.sqlite3, "connect", small)
    with pytest.raises(DiskFullError, match="磁盘空间不足"):
        backup.automatic_backup(office, folder)
    assert list(folder.iterdir()) == []


def test_a_bounded_backup_gives_up_cleanly_at_its_deadline(office, tmp_path):
    folder = tmp_path / "auto"
    folder.mkdir()
    with pytest.raises(backup.BackupTimeout, match="限定时间"):
        backup.automatic_backup(office, folder, deadline=0.0)
    assert list(folder.iterdir()) == []


def test_rotation_runs_after_each_automatic_backup(office, tmp_path):
    folder = tmp_path / "auto"
    folder.mkdir()
    for d in days("2026-11-20", "2026-12-03"):
        _touch(folder, "红路-馨居-社区", AUTO, d)
    result = backup.automatic_backup(office, folder, now=D(2026, 12, 4, 12))
    names = sorted(p.name for p in folder.iterdir())
    assert result.removed == len(days("2026-11-20", "2026-12-03")) + 1 - len(names)
    # Seven days (Nov 28 - Dec 4), and the newest of ISO week 47 (Nov 22); weeks 48 and 49 and both
    # months have their newest among the seven days.
    stamps = [n.split("-自动备份-")[1][:8] for n in names]
    assert stamps == ["20261122", "20261128", "20261129", "20261130", "20261201", "20261202", "20261203",
                      "20261204"]


# -- the reminder ---------------------------------------------------------------------------------------
def test_reminder_after_a_week_without_a_copy_away_from_the_pc(office, tmp_path):
    now = D(2026, 12, 4, 9)
    assert backup.offsite_reminder(office, now=now) is None  # first look: the week starts now
    assert backup.offsite_reminder(office, now=now + dt.timedelta(days=6)) is None
    text = backup.offsite_reminder(office, now=now + dt.timedelta(days=8))
    assert text and "还没有" in text and "U 盘" in text
    backup.note_offsite_copy(office, now + dt.timedelta(days=8))
    assert backup.offsite_reminder(office, now=now + dt.timedelta(days=10)) is None
    text = backup.offsite_reminder(office, now=now + dt.timedelta(days=16))
    assert text and "8 天前" in text


def test_a_manual_backup_to_another_disk_counts_as_away(office, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "away_from_pc", lambda folder, db_path: folder.name == "stick")
    (tmp_path / "stick").mkdir()
    (tmp_path / "here").mkdir()
    backup.backup_to(office, tmp_path / "here")
    assert backup.last_offsite_copy(office) is None
    backup.backup_to(office, tmp_path / "stick")
    assert backup.last_offsite_copy(office) is not None


def test_away_from_pc_compares_disks(office, tmp_path):
    assert not backup.away_from_pc(tmp_path, office.path)  # same disk as the database
    assert not backup.away_from_pc(tmp_path / "missing", office.path)

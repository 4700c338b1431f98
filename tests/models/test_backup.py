"""Backups are complete, verified copies; a failed backup leaves no half file."""

from __future__ import annotations

import pytest

from app.models.core.backup import backup_to
from app.models.core.db import open_database
from app.models.core.errors import KnownError


def test_backup_is_a_complete_copy(db, tmp_path):
    with db.write() as tx:
        tx.insert("community", {"name": "红路馨居社区"})
    target = backup_to(db, tmp_path / "copy.db")
    copy = open_database(target)
    assert copy.scalar("SELECT name FROM community") == "红路馨居社区"
    assert copy.scalar("SELECT count(*) FROM change_log") == db.scalar("SELECT count(*) FROM change_log")
    copy.close()


def test_backup_never_overwrites(db, tmp_path):
    target = tmp_path / "copy.db"
    target.write_bytes(b"keep me")
    with pytest.raises(KnownError, match="已经存在"):
        backup_to(db, target)
    assert target.read_bytes() == b"keep me"


def test_backup_to_a_missing_folder_fails_cleanly(db, tmp_path):
    with pytest.raises(KnownError):
        backup_to(db, tmp_path / "no-such-stick" / "copy.db")
    assert not (tmp_path / "no-such-stick").exists()

"""Database files for the tests."""

from __future__ import annotations

from pathlib import Path


def copy_database(source: Path, target: Path) -> Path:
    """Copy a database file with its keys file; an encrypted copy is unlocked in this process as the
    demo administrator (the passwords of the original open the copy)."""
    import shutil

    from app.models.core import db_keys

    shutil.copyfile(source, target)
    keys = db_keys.keys_path(source)
    if keys.exists():
        shutil.copyfile(keys, db_keys.keys_path(target))
    if db_keys.is_encrypted_file(target):
        from app.models.core.accounts import DEMO_PASSWORD
        from app.models.core.unlock import unlock

        unlock(target, "管理员", DEMO_PASSWORD, via="test")
    return target

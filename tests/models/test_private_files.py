"""Files with residents' data are created owner-only (0600) and the folders the program makes 0700."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from app.models.core.db import open_database
from app.models.core.safe_files import atomic_file, atomic_path, private_folder, write_bytes

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes (Windows: the profile's ACLs)")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask: whatever mode a file gets is the program's own doing."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_new_database_and_its_wal_and_shm_are_owner_only(tmp_path, open_umask):
    path = tmp_path / "new" / "office.db"
    db = open_database(path)
    try:
        db.set_meta("written", "1")  # a write goes through the -wal
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        db.close()
    assert mode(path.parent) == 0o700  # the program made the folder


def test_safe_writes_are_owner_only_however_the_library_writes(tmp_path, open_umask):
    with atomic_file(tmp_path / "a.xlsx") as fh:
        fh.write(b"x")
    write_bytes(tmp_path / "crash.log", b"trace")
    with atomic_path(tmp_path / "b.pdf") as part:
        part.unlink()  # a library that makes its file anew by name
        part.write_bytes(b"%PDF")
    assert [mode(tmp_path / n) for n in ("a.xlsx", "crash.log", "b.pdf")] == [0o600] * 3


def test_private_folder_leaves_an_existing_folder_alone(tmp_path, open_umask):
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    private_folder(chosen)
    assert mode(chosen) == 0o755
    assert mode(private_folder(tmp_path / "made" / "here")) == 0o700


def test_data_and_log_folders_are_made_owner_only(tmp_path, monkeypatch, open_umask):
    from app import paths

    monkeypatch.setenv("ANJU_DATA_DIR", str(tmp_path / "anju"))
    assert mode(paths.data_dir()) == 0o700 and mode(paths.log_dir()) == 0o700


def test_backup_export_pdf_and_demo_files_are_owner_only(tmp_path, open_umask, qapp):
    from app.models.core.backup import backup_to
    from app.models.demo.demo import create_demo_database
    from app.models.excel.excel_export import export_ledger
    from app.ui.printing import printing

    demo = create_demo_database(tmp_path / "demo.db", households=3, seed=1, encrypted=False)
    with open_database(demo) as db:
        backup = backup_to(db, tmp_path)
        export_ledger(db, "residents", tmp_path / "r.xlsx", masked=True)
        printing.write_pdf(db, printing.PrintJob.select(db, "round-sheet", {}), tmp_path / "r.pdf")
    assert {p.name: mode(p) for p in (demo, backup, tmp_path / "r.xlsx", tmp_path / "r.pdf")} == {
        p.name: 0o600 for p in (demo, backup, tmp_path / "r.xlsx", tmp_path / "r.pdf")}

"""Faults of the database file itself: read-only (file, folder), damaged pages, 0-byte and foreign files.

Read-only cases run the real CLI in a subprocess as an unprivileged user when the tests run as
root (root ignores file modes), so the file modes are really enforced.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.cli import main
from app.models.core import settings
from app.models.core.db import open_database
from app.models.core.errors import DatabaseError, ReadOnlyDatabaseError

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
AS_ROOT = os.geteuid() == 0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("faults") / "demo.db"
    create_demo_database(path, households=80, seed=3, encrypted=False)  # pages are damaged on purpose: plain
    # Opened files are made their owner's only; these tests have another user read copies (a shared stick).
    path.chmod(0o644)
    return path


@pytest.fixture(autouse=True)
def _signed_in(demo_login, monkeypatch):
    """The demo database has accounts: in-process commands sign in, as a clerk, so that the plain
    file whose pages these tests damage is not encrypted by an administrator's login."""
    monkeypatch.setenv("ANJU_USER", "工作人员")


@pytest.fixture
def shared_dir():
    """A folder an unprivileged user can reach (pytest's own tmp folder is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="anju-faults-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    for p in folder.rglob("*"):
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _demo_credentials(home: Path) -> dict[str, str]:
    """The demo database has accounts: the commands sign in as its administrator."""
    from app.models.core.accounts import DEMO_PASSWORD

    password = home / "demo-password.txt"
    if not password.exists():
        password.write_text(DEMO_PASSWORD, encoding="utf-8")
        password.chmod(0o644)
    return {"ANJU_USER": "管理员", "ANJU_PASSWORD_FILE": str(password)}


def _cli(args: list[str], home: Path) -> subprocess.CompletedProcess:
    """The real command line, as an unprivileged user when we are root."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", ANJU_DATA_DIR=str(home / "data"),
               HOME=str(home), XDG_RUNTIME_DIR=str(home), **_demo_credentials(home))
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if AS_ROOT else []
    return subprocess.run([*prefix, sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True,
                          timeout=120)


RUN_MANY = """
import contextlib, io, json, sys
from app.cli import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException as exc:  # a traceback is a failure the test reports
            import traceback
            err.write("Traceback: " + "".join(traceback.format_exception(exc)))
            code = -1
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def _cli_many(commands: list[list[str]], home: Path) -> list[tuple[int, str, str]]:
    """Several commands in one unprivileged interpreter (each start costs a second)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", ANJU_DATA_DIR=str(home / "data"),
               HOME=str(home), XDG_RUNTIME_DIR=str(home), **_demo_credentials(home))
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if AS_ROOT else []
    done = subprocess.run([*prefix, sys.executable, "-c", RUN_MANY, json.dumps(commands)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


def _home(shared_dir: Path) -> Path:
    home = shared_dir / "home"
    home.mkdir()
    if AS_ROOT:
        os.chown(home, NOBODY, NOBODY)
    return home


def _reading_commands(db: Path, out: Path) -> list[list[str]]:
    return [
        ["stats", "--db", str(db), "--json"],
        ["check", "--db", str(db)],
        ["export-excel", "--db", str(db), "--ledger", "residents", "--out", str(out / "residents.xlsx"),
         "--reason", "数据核查"],
        ["print", "household-card", "--db", str(db), "--household", "HLX-000001", "--pdf", str(out / "card.pdf"),
         "--quiet"],
        ["backup", "--db", str(db), "--to", str(out)],
    ]


@pytest.mark.parametrize("case", ["file", "folder"])
def test_read_only_database_every_reading_command_works(case, demo_template, shared_dir):
    home = _home(shared_dir)
    out = home / "out"
    out.mkdir()
    if AS_ROOT:
        os.chown(out, NOBODY, NOBODY)
    folder = shared_dir / "office"
    folder.mkdir()
    db = folder / "office.db"
    shutil.copy(demo_template, db)
    if case == "file":
        db.chmod(0o444)
        if AS_ROOT:
            os.chown(folder, NOBODY, NOBODY)  # the folder is writable to the user, the file is not
    else:
        if AS_ROOT:
            os.chown(db, NOBODY, NOBODY)  # the file is writable to the user, the folder is not
        folder.chmod(0o555)
    before = _digest(db)
    phrase = home / "phrase.txt"
    phrase.write_text("青松楼-第三网格-2026", encoding="utf-8")
    commands = [*_reading_commands(db, out),
                ["sync-export", "--db", str(db), "--to", str(out), "--passphrase-file", str(phrase)]]
    *reads, write = _cli_many(commands, home)
    for args, (code, stdout, stderr) in zip(commands, reads, strict=False):
        assert code == 0, (args, stdout, stderr)
        assert "Traceback" not in stderr
    assert (out / "residents.xlsx").stat().st_size > 0
    assert (out / "card.pdf").read_bytes().startswith(b"%PDF")
    backups = list(out.glob("*.db"))
    assert len(backups) == 1 and open_database(backups[0], create=False).close() is None
    # A write is refused with the reason and what to do, and changes nothing.
    code, _stdout, stderr = write
    assert code == 2 and "Traceback" not in stderr
    assert "只能查看" in stderr and "复制到可写的文件夹" in stderr
    assert _digest(db) == before
    if case == "folder":
        assert sorted(p.name for p in folder.iterdir()) == ["office.db"]  # no -wal, -shm or journal left


def test_read_only_folder_with_a_pending_wal_reads_its_rows(demo_template, shared_dir):
    home = _home(shared_dir)
    folder = shared_dir / "stick"
    folder.mkdir()
    db = folder / "office.db"
    shutil.copy(demo_template, db)
    # A copy taken while the program had changes not yet moved into the file: the -wal holds them.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT INTO write_ctx(id, site_id, hlc, user, mode) VALUES (1, 's', '0', 't', 'apply')")
    conn.execute("UPDATE household SET origin_village = '只在日志里' WHERE number = 'HLX-000001'")
    conn.execute("DELETE FROM write_ctx")
    conn.commit()
    shutil.copy(f"{db}-wal", folder / "copy-wal")
    conn.close()
    os.replace(folder / "copy-wal", f"{db}-wal")
    Path(f"{db}-shm").unlink(missing_ok=True)
    folder.chmod(0o555)
    before = _digest(db)
    xlsx = home / "households.xlsx"
    (code, out, err), = _cli_many([["export-excel", "--db", str(db), "--ledger", "households", "--out", str(xlsx),
                                  "--reason", "数据核查"]], home)
    assert code == 0, err
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    assert any("只在日志里" in str(cell) for row in rows for cell in row)
    assert _digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["office.db", "office.db-wal"]
    assert not list(Path(tempfile.gettempdir()).glob("anju-readonly-*"))


def test_read_only_file_that_needs_upgrading_says_so(demo_template, shared_dir):
    home = _home(shared_dir)
    db = shared_dir / "old.db"
    shutil.copy(demo_template, db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    db.chmod(0o444)
    before = _digest(db)
    done = _cli(["stats", "--db", str(db)], home)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "旧版" in done.stderr and "复制到可写的文件夹" in done.stderr
    assert _digest(db) == before


def test_writes_on_a_read_only_connection_say_why_and_what_to_do(demo_template, tmp_path):
    db_path = tmp_path / "office.db"
    shutil.copy(demo_template, db_path)
    before = _digest(db_path)
    db = open_database(db_path, read_only=True)
    try:
        assert db.read_only
        with pytest.raises(ReadOnlyDatabaseError, match="复制到可写的文件夹"):
            settings.set_value(db, "office_name", "新名字")
        with pytest.raises(ReadOnlyDatabaseError):
            db.set_meta("ui_last_tab", "1")
        assert db.scalar("SELECT count(*) FROM household") == 80
    finally:
        db.close()
    assert _digest(db_path) == before


# -- damaged files -------------------------------------------------------------------------------

def _damage(path: Path, fraction: float, size: int = 256 * 1024, seed: int = 1) -> None:
    """Random bytes over a stretch of data pages. The schema's own pages are spared: wherever the
    schema grew into (a layout detail), a file whose schema is unreadable cannot be checked at all."""
    conn = sqlite3.connect(path)
    schema_pages = {r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")}
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    total = path.stat().st_size
    start = int(total * fraction) // page * page
    noise = random.Random(seed).randbytes(min(size, total - start))
    with path.open("r+b") as fh:
        for offset in range(0, len(noise), page):
            if (start + offset) // page + 1 not in schema_pages:
                fh.seek(start + offset)
                fh.write(noise[offset:offset + page])


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.8])
def test_damaged_database_every_command_reports_and_never_writes(fraction, demo_template, tmp_path, capsys):
    db = tmp_path / "office.db"
    shutil.copy(demo_template, db)
    _damage(db, fraction)
    before = _digest(db)
    assert main(["check", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "完整性检查发现" in out and "处问题" in out and "涉及" in out
    assert "--rescue-to" in out
    stick = tmp_path / "stick"
    stick.mkdir()
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("青松楼-第三网格-2026", encoding="utf-8")
    xlsx = tmp_path / "in.xlsx"
    assert main(["export-excel", "--db", str(demo_template), "--ledger", "residents", "--out", str(xlsx),
                 "--reason", "数据核查"]) == 0
    capsys.readouterr()
    for args in (
        ["stats", "--json"],
        ["export-excel", "--ledger", "residents", "--out", str(tmp_path / "out.xlsx"), "--reason", "数据核查"],
        ["export-excel", "--ledger", "visits", "--out", str(tmp_path / "visits.xlsx")],
        ["sync-export", "--to", str(stick), "--passphrase-file", str(phrase)],
        ["import-excel", str(xlsx)],
    ):
        code = main([args[0], "--db", str(db), *args[1:]])
        err = capsys.readouterr().err
        # Reading past the damage may work; writing never does, and a failure says what to do.
        if args[0] in ("sync-export", "import-excel"):
            assert code != 0, args
        if code:
            assert "已损坏" in err and "--rescue-to" in err, (args, err)
        assert _digest(db) == before, args
    assert not list(stick.iterdir())


def test_damage_message_points_to_the_newest_backup(demo_template, tmp_path, capsys):
    db = tmp_path / "office.db"
    shutil.copy(demo_template, db)
    assert main(["backup", "--db", str(db), "--to", str(tmp_path / "office-备份-20260101-080000.db")]) == 0
    os.utime(tmp_path / "office-备份-20260101-080000.db", (1, 1))
    assert main(["backup", "--db", str(db), "--to", str(tmp_path / "office-备份-20260301-080000.db")]) == 0
    shutil.copy(demo_template, tmp_path / "other-备份-20270101-080000.db")  # another file's backup
    capsys.readouterr()
    _damage(db, 0.5)
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("青松楼-第三网格-2026", encoding="utf-8")
    assert main(["sync-export", "--db", str(db), "--to", str(tmp_path), "--passphrase-file", str(phrase)]) == 2
    err = capsys.readouterr().err
    assert "office-备份-20260301-080000.db" in err and "other-备份" not in err


def test_rescue_copies_every_readable_row_into_a_valid_database(demo_template, tmp_path, capsys):
    db = tmp_path / "office.db"
    shutil.copy(demo_template, db)
    with open_database(demo_template, read_only=True) as good:
        people = good.scalar("SELECT count(*) FROM person")
    _damage(db, 0.5)
    before = _digest(db)
    new = tmp_path / "rescued.db"
    assert main(["check", "--db", str(db), "--rescue-to", str(new)]) == 0
    out = capsys.readouterr().out
    assert "抢救的行" in out and "person |" in out
    assert _digest(db) == before
    assert not list(tmp_path.glob("*.part*"))
    # A valid database: SQLite finds nothing wrong, every row has its op; rows whose parent was
    # lost are kept (and were listed by the rescue), the only thing check may still report.
    main(["check", "--db", str(new), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["integrity_problems"] == 0
    # (The audit chain of a file that lost some of its entries says so too.)
    assert all(p.startswith(("外键检查", "操作日志")) for p in report["problems"]), report
    if report["problems"]:
        assert "引用已丢失记录的行" in out
    with open_database(new, create=False) as rescued:
        assert 0 < rescued.scalar("SELECT count(*) FROM person") <= people
        assert rescued.scalar("SELECT count(*) FROM person_search") == rescued.scalar("SELECT count(*) FROM person")
    # The rescue never overwrites: a second run to the same file is refused.
    assert main(["check", "--db", str(db), "--rescue-to", str(new)]) == 2


def test_quick_check_is_run_before_the_first_write_only(demo_template, tmp_path):
    db_path = tmp_path / "office.db"
    shutil.copy(demo_template, db_path)
    db = open_database(db_path, create=False)
    try:
        settings.set_value(db, "office_name", "一号服务中心")
        assert db._healthy
    finally:
        db.close()


# -- 0-byte and foreign files ---------------------------------------------------------------------

def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO photos(name) VALUES ('a.jpg')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["empty", "text", "foreign-sqlite", "empty-sqlite"])
def test_not_an_anju_file_is_refused_and_left_byte_for_byte(kind, tmp_path, capsys):
    path = tmp_path / "thing.db"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("户编号,姓名\nHLX-1,张三\n", encoding="utf-8")
    elif kind == "foreign-sqlite":
        _foreign_sqlite(path)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("VACUUM")
        conn.close()
    before = _digest(path)
    for args in (["check"], ["stats"], ["backup", "--to", str(tmp_path / "b.db")],
                 ["export-excel", "--ledger", "residents", "--out", str(tmp_path / "x.xlsx")]):
        assert main([args[0], "--db", str(path), *args[1:]]) == 2, args
        err = capsys.readouterr().err
        assert "不是" in err or "空" in err, err
        assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing.db"]


def test_another_programs_database_never_gets_our_schema(tmp_path):
    path = tmp_path / "photos.db"
    _foreign_sqlite(path)
    before = _digest(path)
    with pytest.raises(DatabaseError, match="其他程序"):
        open_database(path, create=True)
    assert _digest(path) == before


def test_explicit_create_commands_still_fill_a_zero_byte_file(tmp_path, capsys):
    path = tmp_path / "new.db"
    path.write_bytes(b"")
    assert main(["demo", "--db", str(path), "--households", "3"]) == 0
    capsys.readouterr()
    assert main(["check", "--db", str(path)]) == 0


def test_rows_on_a_damaged_page_are_rebuilt_from_their_ops(tmp_path, capsys):
    from app.models.demo.demo import generate

    db = tmp_path / "office.db"
    # Written as ops and not compacted (an office whose PCs have not all synced the rows yet):
    # the ops still hold every row.
    with open_database(db) as office:
        generate(office, 80, seed=3)
    conn = sqlite3.connect(db)
    leaves = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'person' AND pagetype = 'leaf'")]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    people = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM person")}
    conn.close()
    with db.open("r+b") as fh:  # one leaf in the middle of the person table
        fh.seek((leaves[len(leaves) // 2] - 1) * page_size)
        fh.write(random.Random(2).randbytes(page_size))
    new = tmp_path / "rescued.db"
    assert main(["check", "--db", str(db), "--rescue-to", str(new)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("person |"))
    rescued, rebuilt, _lost = (x.strip() for x in line.split("|")[1:])
    assert int(rebuilt.replace(",", "")) > 0
    with open_database(new, create=False) as back:
        assert {r["id"]: r["name"] for r in back.query("SELECT id, name FROM person")} == people

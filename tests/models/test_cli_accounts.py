"""The command line's credentials contract: --user/--password-file or ANJU_USER/ANJU_PASSWORD_FILE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.models.core import accounts
from app.models.core.db import open_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text + "\n", encoding="utf-8")
        return path

    return write


def _events(path: Path) -> list[tuple[str, str, str]]:
    db = open_database(path)
    try:
        return [(r["user"], r["action"], r["outcome"]) for r in db.query("SELECT * FROM audit_events ORDER BY id")]
    finally:
        db.close()


def test_without_accounts_commands_work_as_before_and_a_given_name_is_the_author(tmp_path, files, capsys):
    path = tmp_path / "office.db"
    open_database(path).close()
    assert main(["stats", "--db", str(path), "--json"]) == 0
    # Credentials for a database without accounts are not an error.
    assert main(["check", "--db", str(path), "--user", "李会计", "--password-file", str(files("x", "whatever"))]) == 0
    # The first account needs no credentials, must be an administrator, and is signed by the given name.
    pw = files("admin.txt", "Admin-Pass-2026")
    assert main(["user", "add", "--db", str(path), "--name", "张三", "--role", "clerk",
                 "--new-password-file", str(pw)]) == 2
    assert "第一个账号必须是系统管理员" in capsys.readouterr().err
    assert main(["--user", "李会计", "user", "add", "--db", str(path), "--name", "管理员", "--role", "admin",
                 "--new-password-file", str(pw)]) == 0
    db = open_database(path)
    assert db.scalar("SELECT DISTINCT user FROM change_log WHERE tbl = 'account'") == "李会计"
    db.close()


@pytest.fixture
def office(tmp_path, files):
    path = tmp_path / "office.db"
    pw = files("admin.txt", "Admin-Pass-2026")
    assert main(["user", "add", "--db", str(path), "--name", "管理员", "--role", "admin",
                 "--new-password-file", str(pw)]) == 0
    return path, pw


def test_a_command_without_valid_credentials_is_refused_and_recorded(office, files, capsys, monkeypatch):
    path, pw = office
    capsys.readouterr()
    assert main(["stats", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--user" in err and "ANJU_USER" in err
    assert main(["stats", "--db", str(path), "--user", "管理员", "--password-file", str(files("bad", "nope-nope"))]) == 2
    assert "密码不正确" in capsys.readouterr().err
    assert main(["stats", "--db", str(path), "--user", "管理员", "--password-file", str(path.parent / "none")]) == 2
    assert "不存在" in capsys.readouterr().err
    assert main(["export-excel", "--db", str(path), "--ledger", "residents", "--out", str(path.parent / "o.xlsx"),
                 "--user", "管理员"]) == 2
    assert not (path.parent / "o.xlsx").exists()
    assert main(["stats", "--db", str(path), "--json", "--user", "管理员", "--password-file", str(pw)]) == 0
    monkeypatch.setenv("ANJU_USER", "管理员")
    monkeypatch.setenv("ANJU_PASSWORD_FILE", str(pw))
    assert main(["stats", "--db", str(path)]) == 0
    events = _events(path)
    logins = [(u, o) for u, a, o in events if a == "login"]
    assert logins == [("", "refused"), ("管理员", "failed"), ("管理员", "failed"), ("管理员", "refused"),
                      ("管理员", "ok"), ("管理员", "ok")]


def test_user_add_list_passwd_disable(office, files, capsys):
    path, pw = office
    base = ["--db", str(path), "--user", "管理员", "--password-file", str(pw)]
    head_pw = files("head.txt", "Head-Pass-2026")
    db = open_database(path)
    with db.write() as tx:
        c = tx.insert("community", {"name": "红路馨居社区"})
        for i in (5, 6):
            tx.insert("building", {"community_id": c, "name": f"{i}栋", "number": i})
    db.close()
    assert main(["user", "add", *base, "--name", "楼栋长5", "--role", "building_head", "--buildings", "5栋，6栋",
                 "--new-password-file", str(head_pw)]) == 0
    assert main(["user", "add", *base, "--name", "弱密码", "--role", "clerk",
                 "--new-password-file", str(files("weak", "1234567"))]) == 2
    assert "至少要 8 个字符" in capsys.readouterr().err
    assert main(["user", "add", "--db", str(path), "--name", "无凭据", "--role", "clerk",
                 "--new-password-file", str(head_pw)]) == 2
    capsys.readouterr()
    assert main(["user", "list", *base, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed == [{"name": "管理员", "role": "admin", "enabled": True, "buildings": []},
                      {"name": "楼栋长5", "role": "building_head", "enabled": True, "buildings": ["5栋", "6栋"]}]
    # A building head may not list or manage accounts, but changes their own password.
    head = ["--db", str(path), "--user", "楼栋长5", "--password-file", str(head_pw)]
    assert main(["user", "list", *head]) == 2
    new_pw = files("new.txt", "Head-New-2026")
    assert main(["user", "passwd", *head, "--name", "管理员", "--new-password-file", str(new_pw)]) == 2
    assert main(["user", "passwd", *head, "--name", "楼栋长5", "--new-password-file", str(new_pw)]) == 0
    assert main(["stats", *head]) == 2
    # The administrator resets it, then disables the account; the last administrator stays.
    assert main(["user", "passwd", *base, "--name", "楼栋长5", "--new-password-file", str(head_pw)]) == 0
    assert main(["stats", *head]) == 0
    assert main(["user", "disable", *base, "--name", "楼栋长5"]) == 0
    capsys.readouterr()
    assert main(["stats", *head]) == 2
    assert "停用" in capsys.readouterr().err
    assert main(["user", "disable", *base, "--name", "管理员"]) == 2
    assert "最后一个" in capsys.readouterr().err
    actions = [a for _, a, o in _events(path) if o == "ok" and a != "login"]
    assert actions == ["account_add", "account_add", "account_password", "account_password", "account_disable"]


def test_demo_accounts_with_the_default_and_a_given_password(tmp_path, files, capsys):
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path), "--households", "40", "--seed", "2"]) == 0
    assert "anju-demo" in capsys.readouterr().out
    db = open_database(path)
    assert accounts.authenticate(db, "管理员", "anju-demo").role == "admin"
    head = accounts.authenticate(db, "楼栋长1", "anju-demo")
    first = db.scalar("SELECT id FROM building WHERE deleted = 0 ORDER BY number LIMIT 1")
    assert head.role == "building_head" and head.building_scope() == frozenset({first})
    assert accounts.demo_password_hint(db) == "anju-demo"
    db.close()
    other = tmp_path / "demo2.db"
    pw = files("demo-pw.txt", "Demo-Secret-9")
    assert main(["demo", "--db", str(other), "--households", "10", "--password-file", str(pw)]) == 0
    db = open_database(other)
    assert accounts.authenticate(db, "楼栋长1", "Demo-Secret-9").role == "building_head"
    with pytest.raises(accounts.LoginError):
        accounts.authenticate(db, "管理员", "anju-demo")
    assert accounts.demo_password_hint(db) is None
    db.close()
    assert b"Demo-Secret-9" not in other.read_bytes()


def test_the_environment_variables_in_a_real_process(office, tmp_path):
    path, pw = office
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANJU_USER")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "app", "stats", "--db", str(path), "--json"]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert refused.returncode != 0 and "ANJU_PASSWORD_FILE" in refused.stderr
    env.update(ANJU_USER="管理员", ANJU_PASSWORD_FILE=str(pw))
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.splitlines()[-1])["households"] == 0


def test_check_reads_the_file_only_but_still_needs_credentials(office, files, capsys):
    path, pw = office
    before = len(_events(path))
    assert main(["check", "--db", str(path)]) == 2
    assert "--user" in capsys.readouterr().err
    assert main(["check", "--db", str(path), "--user", "管理员", "--password-file", str(files("bad", "nope-nope"))]) == 2
    assert main(["check", "--db", str(path), "--user", "管理员", "--password-file", str(pw)]) == 0
    assert len(_events(path)) == before  # a read-only check records nothing, not even the login

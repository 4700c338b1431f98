"""A building head on the command line: every sub-command sees only their buildings, writes elsewhere refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The demo's accounts and the credentials come with the accounts module.
pytest.importorskip("app.models.core.accounts")


def anju(*args: str, user: str | None = None, pw: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ANJU_USER", None)
    env.pop("ANJU_PASSWORD_FILE", None)
    if user:
        env["ANJU_USER"] = user
        env["ANJU_PASSWORD_FILE"] = str(pw)
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-scope")
    pw = folder / "pw.txt"
    pw.write_text("Demo-Pass-2026\n", encoding="utf-8")
    path = folder / "demo.db"
    run = anju("demo", "--db", str(path), "--households", "150", "--seed", "4", "--password-file", str(pw))
    assert run.returncode == 0, run.stderr
    from app.models.core.unlock import unlock

    unlock(path, "管理员", "Demo-Pass-2026", via="test")  # the demo has accounts: it is encrypted
    return path, pw, folder


def _rows(path: Path) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def test_a_building_head_on_the_command_line(office):
    from app.models.core.db import open_database

    path, pw, folder = office
    db = open_database(path)
    first = db.scalar("SELECT id FROM building WHERE deleted = 0 ORDER BY number LIMIT 1")
    scope = {r[0] for r in db.query("SELECT building_id FROM main.account_building ab JOIN main.account a "
                                    "ON a.id = ab.account_id WHERE a.name = '楼栋长1' AND ab.deleted = 0")}
    assert scope == {first}
    mine = db.scalar("SELECT count(*) FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
                     "WHERE u.building_id = ? AND h.deleted = 0 AND h.status = '在住'", (first,))
    other = db.scalar("SELECT h.number FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
                      "WHERE u.building_id != ? AND h.deleted = 0 LIMIT 1", (first,))
    db.close()
    head = {"user": "楼栋长1", "pw": pw}
    admin = {"user": "管理员", "pw": pw}

    # Figures and exports: only the building's households.
    stats = anju("stats", "--db", str(path), "--json", **head)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["households"] == mine
    full = json.loads(anju("stats", "--db", str(path), "--json", **admin).stdout)["households"]
    assert full > mine
    out = folder / "head.xlsx"
    run = anju("export-excel", "--db", str(path), "--ledger", "households", "--out", str(out), "--masked", **head)
    assert run.returncode == 0, run.stderr
    assert len([r for r in _rows(out) if r and str(r[0]).startswith("HLX-")]) == mine

    # Printing another building's household: not found for them.
    pdf = folder / "card.pdf"
    run = anju("print", "household-card", "--db", str(path), "--household", other, "--pdf", str(pdf), **head)
    assert run.returncode != 0 and not pdf.exists()

    # Writes outside the scope: an import of the whole office, a backup, a sync: all refused.
    everything = folder / "all.xlsx"
    assert anju("export-excel", "--db", str(path), "--ledger", "residents", "--out", str(everything),
                "--reason", "数据核查", **admin).returncode == 0
    def ops() -> int:
        with open_database(path) as db:
            return db.scalar("SELECT count(*) FROM change_log")

    before = ops()
    run = anju("import-excel", "--db", str(path), str(everything), **head)
    assert run.returncode != 0 and ops() == before
    run = anju("backup", "--db", str(path), "--to", str(folder), **head)
    assert run.returncode != 0 and "楼栋长" in (run.stdout + run.stderr)
    stick = folder / "stick"
    stick.mkdir()
    (folder / "pass.txt").write_text("青松楼-第三网格-2026\n", encoding="utf-8")
    run = anju("sync-export", "--db", str(path), "--to", str(stick), "--passphrase-file", str(folder / "pass.txt"), **head)
    assert run.returncode != 0 and not list(stick.iterdir())

    # The audit: not for a building head; the administrator sees the head's export with its row count.
    assert anju("audit", "--db", str(path), "--json", **head).returncode != 0
    run = anju("audit", "--db", str(path), "--json", **admin)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    exports = [e for e in lines if e["action"] == "export" and e["user"] == "楼栋长1"]
    assert json.loads(exports[0]["detail"])["rows"] == mine

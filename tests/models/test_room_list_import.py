"""Room lists (房间清单) through `anju import-excel`: both layouts, dry run, re-import, bad rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.cli import main
from app.models.core.db import open_database
from app.models.core.errors import KnownError
from app.models.excel.excel_import import plan_import

ROOT = Path(__file__).resolve().parents[2]


def _book(path: Path, rows: list[list], title: str = "房间清单") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def office(tmp_path, capsys) -> Path:
    path = tmp_path / "office.db"
    assert main(["init", "--db", str(path), "--community", "幸福社区"]) == 0
    capsys.readouterr()
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _places(path: Path) -> dict[str, int]:
    with open_database(path) as db:
        return {t: db.scalar(f"SELECT count(*) FROM {t} WHERE deleted = 0") for t in ("grid", "building", "unit", "room")}


def test_one_row_per_room(office, tmp_path, capsys):
    rows = [["序号", "楼栋", "单元", "房号", "网格"]]
    for b, grid in (("1栋", "一网格"), ("2栋", "二网格")):
        for u in (1, 2):
            for room in (201, 202, 301, "302A"):
                rows.append([len(rows), b, f"{u}单元", room, grid])
    book = _book(tmp_path / "rooms.xlsx", rows)
    assert main(["import-excel", "--db", str(office), str(book), "--dry-run", "--json"]) == 0
    dry = _json(capsys)
    assert dry == {"new": 16, "updated": 0, "unchanged": 0, "errors": 0, "households_new": 0, "places_new": 24}
    assert _places(office) == {"grid": 0, "building": 0, "unit": 0, "room": 0}
    assert main(["import-excel", "--db", str(office), str(book), "--json"]) == 0
    assert _json(capsys)["places_new"] == 24
    assert _places(office) == {"grid": 2, "building": 2, "unit": 4, "room": 16}
    with open_database(office) as db:
        assert db.scalar("SELECT floor FROM room WHERE number = '302A'") is None
        assert db.scalar("SELECT floor FROM room WHERE number = '301' LIMIT 1") == 3
        assert db.scalar("SELECT g.name FROM building b JOIN grid g ON g.id = b.grid_id WHERE b.name = '2栋'") == "二网格"
    # The same list again: nothing new.
    assert main(["import-excel", "--db", str(office), str(book), "--json"]) == 0
    again = _json(capsys)
    assert (again["new"], again["unchanged"], again["places_new"]) == (0, 16, 0)
    assert _places(office) == {"grid": 2, "building": 2, "unit": 4, "room": 16}


def test_one_row_per_building_or_unit(office, tmp_path, capsys):
    per_building = _book(tmp_path / "buildings.xlsx", [
        ["幸福社区楼栋清单"],
        ["楼栋", "单元数", "层数", "每层户数", "网格"],
        ["3栋", 2, 6, 2, "二网格"],
        ["4栋", 1, 5, 4, None],
    ])
    assert main(["import-excel", "--db", str(office), str(per_building), "--json"]) == 0
    assert _json(capsys) == {"new": 2, "updated": 0, "unchanged": 0, "errors": 0, "households_new": 0,
                             "places_new": 1 + 2 + 3 + 24 + 20}
    per_unit = _book(tmp_path / "units.xlsx", [
        ["楼栋", "单元", "层数", "每层户数"],
        ["3栋", 1, 6, 2],  # already there
        ["3栋", 3, 7, 2],  # a third unit, one floor higher
    ])
    assert main(["import-excel", "--db", str(office), str(per_unit), "--json"]) == 0
    out = _json(capsys)
    assert (out["new"], out["unchanged"], out["places_new"]) == (1, 1, 1 + 14)
    assert main(["import-excel", "--db", str(office), str(per_unit), "--json"]) == 0
    assert _json(capsys)["places_new"] == 0
    assert _places(office)["room"] == 24 + 20 + 14


def test_bad_rows_name_sheet_row_and_column_and_change_nothing(office, tmp_path, capsys):
    book = _book(tmp_path / "bad.xlsx", [
        ["楼栋", "单元", "层数", "每层户数"],
        ["5栋", 1, 6, 2],
        ["5栋", 1, 6, 2],
        [None, 2, "x", 2],
        ["6栋", "一", 3, 99],
    ], title="楼栋")
    assert main(["import-excel", "--db", str(office), str(book), "--json"]) == 1
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1])["errors"] == 3
    assert "工作表“楼栋”第 3 行“单元”列" in out and "第 2 行已经填过" in out
    assert "第 4 行“层数”列" in out and "第 4 行“楼栋”列" in out
    assert "第 5 行“单元”列" in out and "第 5 行“每层户数”列" in out
    assert _places(office)["room"] == 0
    rooms = _book(tmp_path / "rooms.xlsx", [
        ["楼栋", "单元", "房号", "网格"],
        ["1栋", 1, 101, "一网格"],
        ["1栋", 1, 101, "一网格"],
        ["1栋", 1, "1 01", "一网格"],
        ["1栋", 2, 101, "二网格"],
    ])
    assert main(["import-excel", "--db", str(office), str(rooms), "--valid-only", "--json"]) == 0
    out = capsys.readouterr().out
    assert "第 3 行“房号”列" in out and "第 4 行“房号”列" in out and "第 5 行“网格”列" in out
    assert _places(office) == {"grid": 1, "building": 1, "unit": 1, "room": 1}


def test_room_list_needs_a_community(tmp_path):
    book = _book(tmp_path / "rooms.xlsx", [["楼栋", "单元", "房号"], ["1栋", 1, 101]])
    with open_database(tmp_path / "empty.db") as db, pytest.raises(KnownError, match="还没有社区"):
        plan_import(db, book)


def test_a_ledger_of_people_is_not_taken_for_a_room_list(office, tmp_path):
    book = _book(tmp_path / "people.xlsx", [["楼栋", "单元", "房号", "户主"], ["1栋", 1, 101, "张三"]])
    with open_database(office) as db, pytest.raises(KnownError):
        plan_import(db, book, ledger="rooms")
    with open_database(office) as db:
        plan = plan_import(db, _book(tmp_path / "ok.xlsx", [["楼栋", "单元", "房号", "备注"], ["1栋", 1, 101, "x"]]))
        assert plan.ledger == "rooms"


def test_command_line_init_then_room_list(tmp_path):
    """The installed command as a script would run it, from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = tmp_path / "office.db"
    run = subprocess.run([sys.executable, "-m", "app", "init", "--db", str(path), "--community", "幸福社区"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    book = _book(tmp_path / "rooms.xlsx", [["楼栋", "单元数", "层数", "每层户数"], ["1栋", 2, 3, 2]])
    run = subprocess.run([sys.executable, "-m", "app", "import-excel", "--db", str(path), str(book), "--json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["places_new"] == 1 + 2 + 12
    run = subprocess.run([sys.executable, "-m", "app", "init", "--db", str(path), "--community", "幸福社区"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert run.returncode != 0 and "已经存在" in run.stderr

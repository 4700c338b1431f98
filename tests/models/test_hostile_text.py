"""Hostile text and files: control characters, formats told by content, lying zip bombs, over-long cells."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import python_calamine as pc
import xlsxwriter

from app.cli import main
from app.models.core.errors import KnownError, ValidationError
from app.models.core.id_numbers import make
from app.models.core.text_rules import EXCEL_CELL_LIMIT, escape_controls
from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import import_file, plan_import
from app.models.places import places
from app.models.registry import households, persons
from tests.builders.excel import build_office

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = Path(__file__).resolve().parent.parent.parent
FAKE_SUCCESS = "\x1b[2J\x1b[32m已导入：全部正确"
HOSTILE = ["\x1b[31m", "\x07", "\x00", "\x7f", "\x9b", "\u202e", "\u2066", "\u200b", "\u2028", "\ufeff"]


@pytest.fixture
def office(db):
    return build_office(db)


def _workbook(path: Path, rows: list[list]) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号", "楼栋", "单元", "房号", "备注"])
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            ws.write_string(r, c, v) if isinstance(v, str) else ws.write(r, c, v)
    wb.close()
    return path


def _id(n: int) -> str:
    return make("532301", dt.date(1990, 1, 1) + dt.timedelta(days=n), 9, "男")


# -- control characters in CLI output ----------------------------------------------------------------
@pytest.mark.parametrize("bad", HOSTILE)
def test_escape_controls_leaves_no_control_character(bad):
    shown = escape_controls(f"张{bad}三\n")
    assert bad[0] not in shown and shown.startswith("张\\") and shown.endswith("\\n")
    assert escape_controls("张三\n", keep="\n") == "张三\n"


def test_cli_error_lines_show_a_hostile_cell_escaped(db, office, db_path, tmp_path, capsys):
    path = _workbook(tmp_path / "fake.xlsx", [["HL-0100", FAKE_SUCCESS, _id(1), "2栋", "1", "101", ""]])
    db.close()
    assert main(["import-excel", "--db", str(db_path), str(path), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J\\x1b[32m已导入：全部正确" in out
    assert "控制字符" in out and "第 2 行" in out


def test_cli_error_message_carrying_a_path_is_escaped(tmp_path, capsys):
    hostile = tmp_path / "a\u202eb\x1b[2Jc.db"
    assert main(["stats", "--db", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert "\u202e" not in err and "\x1b" not in err and "\\u202e" in err and "\\x1b[2J" in err


def test_a_closed_pipe_ends_quietly(db, office, db_path):
    db.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "app", "stats", "--db", str(db_path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    proc.stdout.close()  # the reader is gone before the command writes (as `| head -c 0`)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=60)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipe" not in err and err == ""
    assert proc.returncode == 141


# -- control characters at entry and at import ----------------------------------------------------------
@pytest.mark.parametrize("bad", HOSTILE)
def test_names_with_control_characters_are_refused_at_entry(db, office, bad):
    with pytest.raises(ValidationError) as info:
        persons.check({"name": f"张{bad}三"})
    assert info.value.field == "name"
    with pytest.raises(ValidationError, match="控制字符"):
        households.check({"number": f"HL{bad}9"})
    with pytest.raises(ValidationError, match="控制字符"):
        places.add_community(db, f"社{bad}区")


def test_notes_keep_line_breaks_but_not_escape_codes(db, office):
    assert households.check({"notes": "第一行\n第二行"})["notes"] == "第一行\n第二行"
    with pytest.raises(ValidationError, match=r"控制字符（\\x1b）"):
        households.check({"notes": "第一行\x1b[2J"})


@pytest.mark.parametrize("bad", HOSTILE)
def test_import_refuses_control_characters_naming_row_and_column(db, office, tmp_path, bad):
    path = _workbook(tmp_path / "c.xlsx", [
        ["HL-0100", "好人", _id(1), "2栋", "1", "101", ""],
        ["HL-0101", f"坏{bad}人", _id(2), "2栋", "1", "102", ""],
    ])
    before = db.scalar("SELECT count(*) FROM change_log")
    plan, applied = import_file(db, path)
    assert not applied and db.scalar("SELECT count(*) FROM change_log") == before
    (err,) = plan.errors
    assert (err.row, err.column) == (3, "姓名") and "控制字符" in err.problem


# -- formats by content ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("source", "name"), [("residents.xls", "renamed.xlsx"), ("residents.ods", "renamed.xlsx"),
                                              ("residents.xls", "renamed.ods"), ("residents.xls", "no_extension")])
def test_format_is_told_by_content_not_by_name(db, office, tmp_path, source, name):
    original = plan_import(db, DATA / source)
    renamed = tmp_path / name
    shutil.copy(DATA / source, renamed)
    plan = plan_import(db, renamed)
    assert plan.counts == original.counts and sum(plan.counts.values()) >= 5


def test_xlsx_named_xls_gets_its_error_workbook(db, office, tmp_path):
    path = _workbook(tmp_path / "bad.xlsx", [["HL-0100", "好人", "123", "2栋", "1", "101", ""]])
    renamed = path.rename(tmp_path / "bad.xls")
    plan, applied = import_file(db, renamed, errors_out=tmp_path / "marked.xlsx")
    assert not applied and (tmp_path / "marked.xlsx").exists()


# -- zip bombs that lie, and library messages ------------------------------------------------------------
def _lying_bomb(path: Path, real: int = 40 << 20, claimed: int = 2000) -> Path:
    """A workbook whose sheet says it inflates to 2 KB and really inflates to 40 MB."""
    buf = io.BytesIO()
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" '
                    f'Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/'
                    '2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{ns}/package/2006/relationships"><Relationship '
                    f'Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                    "</Relationships>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<worksheet><sheetData>" + b" " * real + b"</sheetData></worksheet>")
    data = bytearray(buf.getvalue())
    name = b"xl/worksheets/sheet1.xml"
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        pos = data.find(sig)
        while pos >= 0:
            n = struct.unpack_from("<H", data, pos + name_len_at)[0]
            if data[pos + name_at : pos + name_at + n] == name:
                struct.pack_into("<I", data, pos + size_at, claimed)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))
    return path


def _english_words(message: str, path: Path) -> list[str]:
    names = {"Excel", "WPS", "xlsx", "xls", "ods", "PDF", "Word"}  # product names and extensions
    return [w for w in re.findall(r"[A-Za-z]{3,}", message.replace(path.name, "")) if w not in names]


def test_zip_bomb_lying_about_its_size_is_refused_in_chinese(db, office, tmp_path):
    bomb = _lying_bomb(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 200_000
    before = db.scalar("SELECT count(*) FROM change_log")
    with pytest.raises(KnownError) as info:
        import_file(db, bomb)
    assert "压缩炸弹" in str(info.value) and not _english_words(str(info.value), bomb)
    assert db.scalar("SELECT count(*) FROM change_log") == before


@pytest.mark.parametrize("damage", ["truncated", "garbage-middle", "no-eocd"])
def test_damaged_workbooks_get_chinese_messages(db, office, tmp_path, damage):
    good = tmp_path / "good.xlsx"
    export_ledger(db, "residents", good)
    data = bytearray(good.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbage-middle":
        data[len(data) // 3 : len(data) // 3 + 200] = os.urandom(200)
    else:
        data = data[: data.rfind(b"PK\x05\x06")]
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(KnownError) as info:
        import_file(db, bad)
    assert not _english_words(str(info.value), bad), str(info.value)


# -- over-long text --------------------------------------------------------------------------------------
def test_over_long_cells_are_refused_at_import_stating_the_limit(db, office, tmp_path):
    path = _workbook(tmp_path / "long.xlsx", [
        ["HL-0100", "好" * 31, _id(1), "2栋", "1", "101", ""],
        ["HL-0101", "好人", _id(2), "2栋", "1", "102", "备" * 1001],
        ["HL-0102", "好人二", _id(3), "2栋", "1", "202", "备" * 1000],
    ])
    plan = plan_import(db, path)
    problems = {(e.row, e.column): e.problem + e.hint for e in plan.errors}
    assert set(problems) == {(2, "姓名"), (3, "备注")}
    # a resident's note: the same 1000 as the person form (field_rules), within the 2000 of any note cell
    assert "最多 30 个字" in problems[(2, "姓名")] and "最多 1000 个字" in problems[(3, "备注")]


def test_over_long_text_at_entry_states_the_limit(db, office):
    with pytest.raises(ValidationError, match="最多 30 个字"):
        persons.check({"name": "好" * 31})
    with pytest.raises(ValidationError, match="最多 2000 个字"):
        households.check({"notes": "备" * 2001})


def test_export_names_every_cell_excel_would_cut(db, office, tmp_path, monkeypatch):
    from app.models.core import db as db_module

    pid = db.scalar("SELECT id FROM person ORDER BY name_pinyin LIMIT 1")
    # As from an old file or another program: past every entry check, the write path's included.
    monkeypatch.setattr(db_module, "_check_lengths", lambda table, values: None)
    with db.write() as tx:
        tx.update("person", pid, {"notes": "长" * (EXCEL_CELL_LIMIT + 10)})
    monkeypatch.undo()
    out = tmp_path / "r.xlsx"
    result = export_ledger(db, "residents", out)
    notice = result.cut_notice()
    assert len(result.cut_cells) == 1 and "工作表“" in notice and "“备注”列" in notice and "32,767" in notice
    row = int(re.search(r"第 (\d+) 行", notice).group(1))
    sheet = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    header = sheet[1]
    assert len(sheet[row - 1][header.index("备注")]) == EXCEL_CELL_LIMIT


def test_cli_listings_keep_their_tab_separated_columns(capsys):
    from app.cli import _EscapingStream

    class Raw:
        text = ""

        def write(self, t: str) -> int:
            Raw.text += t
            return len(t)

    stream = _EscapingStream(Raw())  # type: ignore[arg-type]
    stream.write("管理员\t系统管理员\n张\x1b[2J三\n")
    assert Raw.text == "管理员\t系统管理员\n张\\x1b[2J三\n"


def test_every_write_path_refuses_text_past_its_fields_limit(db):
    """Free-text fields of every feature (mediation, employment …) have a limit at entry too:
    the one write path refuses it, naming the field and the limit."""
    from app.models.core.errors import ValidationError as Invalid
    from app.models.mediation import mediation
    from tests.builders.mediation import make_places

    places = make_places(db)
    with pytest.raises(Invalid, match="最多 32767 个字"):
        mediation.create_case(db, title="楼上漏水", description="情" * 40_000, source="来访", category="邻里",
                              building_id=places["building"], level="楼栋", received_date="2026-01-05",
                              parties=[{"person_id": places["张三"]}], mediators="")
    assert db.scalar("SELECT count(*) FROM mediation_case") == 0

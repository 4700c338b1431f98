"""Bad Excel input: each is refused (or explained row by row) with a clear message, and nothing changes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from app.models.core.errors import KnownError
from app.models.core.id_numbers import make
from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import apply_plan, import_file, plan_import
from app.models.excel.excel_read import Sheet
from tests.builders.excel import PEOPLE, build_office

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def office(db):
    return build_office(db)


def _ops(db) -> int:
    return db.scalar("SELECT count(*) FROM change_log")


def _refused(db, path: Path, match: str) -> None:
    before = _ops(db)
    with pytest.raises(KnownError, match=match):
        import_file(db, path)
    assert _ops(db) == before


def test_renamed_text_and_pdf_are_not_excel(db, office, tmp_path):
    txt = tmp_path / "名单.xlsx"
    txt.write_text("张三,532301...\n", encoding="utf-8")
    _refused(db, txt, "不是 Excel 工作簿（看起来是文本文件）")
    pdf = tmp_path / "scan.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    _refused(db, pdf, "PDF")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    _refused(db, empty, "空文件")
    docx = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    _refused(db, docx, "Word")


def test_password_protected_workbook(db, office):
    # Made with msoffcrypto-tool (password 1234), the encryption Excel and WPS use.
    _refused(db, DATA / "password_1234.xlsx", "打开密码")


def test_empty_workbook_and_sheet_without_header(db, office, tmp_path):
    empty = tmp_path / "blank.xlsx"
    wb = xlsxwriter.Workbook(str(empty))
    wb.add_worksheet("Sheet1")
    wb.close()
    _refused(db, empty, "是空的")
    nohead = tmp_path / "nohead.xlsx"
    wb = xlsxwriter.Workbook(str(nohead))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["甲", "乙", "丙"])
    ws.write_row(1, 0, ["1", "2", "3"])
    wb.close()
    _refused(db, nohead, "找不到表头")


def test_duplicate_headers(db, office, tmp_path):
    path = tmp_path / "dup.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号", "公民身份号码"])
    ws.write_row(1, 0, ["HL-0001", "张秀英", "x", "y"])
    wb.close()
    _refused(db, path, "表头重复.*C 列“身份证号”和第 D 列“公民身份号码”")


def test_same_id_twice_in_file_marks_both_rows(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb.active
    ws.append([c.value for c in ws[3]])
    wb.save(out)
    before = _ops(db)
    plan, applied = import_file(db, out)
    assert not applied and _ops(db) == before
    dup = [e for e in plan.errors if "出现了多次" in e.problem]
    assert {e.row for e in dup} == {3, 3 + len(PEOPLE)}


def test_zip_bomb_is_refused_before_loading(db, office, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b" " * (1 << 20)
            for _ in range(40):  # 40 MB of spaces inflate from ~40 KB
                fh.write(block)
    assert bomb.stat().st_size < 1_000_000
    _refused(db, bomb, "压缩炸弹")


def test_gigabyte_parts_refused_by_declared_size(db, office, tmp_path, monkeypatch):
    import app.models.excel.excel_read as ei

    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    monkeypatch.setattr(ei, "MAX_UNCOMPRESSED", 10_000)  # the check reads the sizes the zip declares
    _refused(db, out, "解压后有")


def test_formula_in_a_data_cell_is_an_error(db, office, tmp_path):
    path = tmp_path / "f.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号", "联系电话", "楼栋", "单元", "房号"])
    ws.write_row(1, 0, ["HL-0001", "新人", make("532301", dt.date(1999, 1, 1), 9, "男")])
    ws.write_formula(1, 3, '="138"&"00001111"', None, "13800001111")
    wb.close()
    before = _ops(db)
    plan, applied = import_file(db, path)
    assert not applied and _ops(db) == before
    (err,) = plan.errors
    assert (err.row, err.column) == (2, "联系电话") and "公式" in err.problem and "数值" in err.hint


def test_a_million_rows_is_refused_with_advice(db, office, tmp_path):
    path = tmp_path / "huge.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["户编号", "姓名", "身份证号"])
    ws.write_string(1_048_575, 0, "末行")
    wb.close()
    _refused(db, path, "1048576 行.*拆分")


def test_file_locked_by_another_program(db, office, tmp_path, monkeypatch):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    real_open = Path.open

    def locked(self, *a, **k):
        if self == out:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *a, **k)

    monkeypatch.setattr(Path, "open", locked)
    _refused(db, out, "占用")


def test_stick_pulled_raises_os_error_inside_calamine(db, office, tmp_path, monkeypatch):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)

    class Broken:
        def __init__(self, sheet):
            self.sheet = sheet

        def __getattr__(self, name):
            return getattr(self.sheet, name)

        def iter_rows(self):
            yield from []
            raise OSError(5, "Input/output error")

    real_open = Sheet.open

    def open_broken(self, name):
        real_open(self, name)
        self.sheet = Broken(self.sheet)

    monkeypatch.setattr(Sheet, "open", open_broken)
    _refused(db, out, "U 盘")


def test_stale_plan_is_checked_again_when_applied(db, office, tmp_path):
    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    plan = plan_import(db, out)
    with db.write() as tx:  # someone edits a resident between the preview and the apply
        tx.update("person", office["王芳"], {"phone": "13100000000"})
    result = apply_plan(db, plan)
    assert result["updated"] == 1
    assert db.scalar("SELECT phone FROM person WHERE id = ?", (office["王芳"],)) == "15800001111"


def test_cancel_rolls_back(db, office, tmp_path):
    from app.models.excel.excel_read import ImportCancelled

    out = tmp_path / "r.xlsx"
    export_ledger(db, "residents", out)
    with db.write() as tx:
        tx.update("person", office["王芳"], {"phone": "13100000000"})
    plan = plan_import(db, out)
    before = _ops(db)
    import app.models.excel.excel_import as ei

    old = ei.PROGRESS_EVERY
    ei.PROGRESS_EVERY = 1
    try:
        with pytest.raises(ImportCancelled):
            apply_plan(db, plan, cancelled=lambda: True)
    finally:
        ei.PROGRESS_EVERY = old
    assert _ops(db) == before


# -- other formats and clients ---------------------------------------------------------------------
def test_legacy_xls_saved_by_libreoffice_imports_unchanged(db, office):
    assert plan_import(db, DATA / "residents.xls").counts == {"new": 0, "updated": 0, "unchanged": 6, "errors": 0}


def test_ods_imports_unchanged_except_a_leading_tab(db, office):
    # calamine's .ods reader drops a <text:tab/> at the very start of a cell: the only difference.
    plan = plan_import(db, DATA / "residents.ods")
    assert plan.counts["errors"] == 0 and plan.counts["new"] == 0
    changed = [c for r in plan.rows for c in r.changes]
    assert changed in ([], [("备注", "\\t前面有制表符", "前面有制表符")])


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui")
def test_workbook_saved_by_libreoffice_calc_imports_the_same(db, office, tmp_path):
    src = tmp_path / "src" / "residents.xlsx"
    src.parent.mkdir()
    export_ledger(db, "residents", src)
    outdir = tmp_path / "lo"
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile}", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(src)],
        check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)},
    )
    saved = outdir / "residents.xlsx"
    assert saved.exists() and saved.read_bytes() != src.read_bytes()
    ours = plan_import(db, src)
    theirs = plan_import(db, saved)
    assert theirs.counts == ours.counts == {"new": 0, "updated": 0, "unchanged": 6, "errors": 0}
    assert [r.values for r in theirs.rows] == [r.values for r in ours.rows]

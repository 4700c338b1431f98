"""The streamed sheet writer: what a clerk's Excel/WPS/LibreOffice must see in the file."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import python_calamine as pc

from app.models.excel.xlsx_stream import S_DATE, S_MONEY, S_NUMBER, S_TEXT, SheetColumn, SheetWriter

COLUMNS = [SheetColumn("文本", S_TEXT, 20), SheetColumn("日期", S_DATE, 12), SheetColumn("金额", S_MONEY, 12),
           SheetColumn("数", S_NUMBER, 6)]


def _write(tmp_path, rows, columns=COLUMNS, **kw):
    out = tmp_path / "s.xlsx"
    on_cut = kw.pop("on_cut", None)
    with out.open("wb") as fh:
        w = SheetWriter(fh, "台账", columns, title="某社区　台账", expected_rows=len(rows), **kw)
        n = w.write_rows(rows, on_cut=on_cut)
        w.close()
    assert n == len(rows)
    return out


def test_formula_like_text_stays_text(tmp_path):
    texts = ["=SUM(A1:A9)", "+8613812345678", "-1", "@x", "=HYPERLINK(\"http://x\")", "0012", "1e5"]
    out = _write(tmp_path, [(t, None, None, None) for t in texts])
    ws = openpyxl.load_workbook(out).active
    cells = [ws.cell(row=r, column=1) for r in range(3, 3 + len(texts))]
    assert [c.value for c in cells] == texts
    assert all(c.data_type == "s" and c.number_format == "@" for c in cells)
    with zipfile.ZipFile(out) as zf:
        assert b"<f>" not in zf.read("xl/worksheets/sheet1.xml")


def test_awkward_text_reads_back_as_written(tmp_path):
    texts = ["a & b <c>", " 前后空格 ", "\t制表符", "换\n行", "回车\r", "_x0041_ 字面", "\x01控制", "emoji 😀"]
    out = _write(tmp_path, [(t, None, None, None) for t in texts])
    got = [r[0] for r in pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()[2:]]
    assert got == texts


def test_dates_numbers_and_money(tmp_path):
    rows = [("a", "2024-03-05", 12345, 7), ("b", "1899-05-01", 5, 2.5), ("c", "不详", None, float("inf")),
            ("d", dt.date(2001, 2, 3), "x", "八"), ("e", "2024-03-05 08:30", None, None)]
    out = _write(tmp_path, rows)
    ws = openpyxl.load_workbook(out).active
    assert ws["B3"].value == dt.datetime(2024, 3, 5) and ws["B3"].number_format == "yyyy-mm-dd"
    assert ws["B4"].value == "1899-05-01" and ws["B4"].data_type == "s"  # before Excel's calendar: text
    assert ws["B5"].value == "不详"
    assert ws["B6"].value == dt.datetime(2001, 2, 3) and ws["B7"].value == dt.datetime(2024, 3, 5)
    assert ws["C3"].value == 123.45 and ws["C3"].number_format == "#,##0.00"
    assert ws["C6"].value == "x"
    assert ws["D3"].value == 7 and ws["D4"].value == 2.5
    assert ws["D5"].value == "inf" and ws["D6"].value == "八"


def test_layout_title_header_widths_filter(tmp_path):
    out = _write(tmp_path, [("a", None, None, 1), ("b", None, None, 2)])
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws.title == "台账" and ws["A1"].value == "某社区　台账" and ws["A1"].font.b
    assert [c.value for c in ws[2]] == ["文本", "日期", "金额", "数"] and all(c.font.b for c in ws[2])
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:D4"
    assert "A1:D1" in {str(m) for m in ws.merged_cells.ranges}
    assert 19 < ws.column_dimensions["A"].width < 22
    assert ws.print_title_rows == "$2:$2"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9


def test_text_over_the_cell_limit_is_cut_and_reported(tmp_path):
    cut = []
    long = "长" * 50
    out = _write(tmp_path, [(long, None, None, None), ("short", None, None, None), (long, None, None, None)],
                 text_limit=10, on_cut=lambda r, c, t: cut.append((r, c, len(t))))
    ws = openpyxl.load_workbook(out).active
    assert ws["A3"].value == "长" * 10 and ws["A5"].value == "长" * 10 and ws["A4"].value == "short"
    assert cut == [(3, 0, 50), (5, 0, 50)]


def test_many_rows_stream_in_chunks(tmp_path):
    rows = [(f"名{i % 37}", "2020-01-01", i, i) for i in range(5003)]
    progress = []
    out = tmp_path / "big.xlsx"
    with out.open("wb") as fh:
        w = SheetWriter(fh, "S", COLUMNS, expected_rows=len(rows))
        assert w.write_rows(iter(rows), progress=progress.append, progress_every=2000) == 5003
        w.close()
    assert progress == [2000, 4000, 5003]
    sheet = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert len(sheet) == 5004 and sheet[1][0] == "名0" and sheet[-1][3] == 5002

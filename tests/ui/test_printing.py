"""Printed forms end to end: PDF text per page, margins, repeated headers, whole rows, CLI, dialogs."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import types
from pathlib import Path

import pytest
from PySide6.QtCore import QSizeF, Qt
from PySide6.QtGui import QFont, QTextDocument

from app.models.core import masking
from app.models.core.db import open_database
from app.models.core.id_numbers import mask
from app.models.forms import forms
from app.ui.printing import printing
from tests.builders.forms import make_fixture

TODAY = dt.date(2026, 3, 20)
A4_PT = (595.0, 842.0)
MM = 72 / 25.4

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def office(tmp_path_factory, qapp):
    path = tmp_path_factory.mktemp("print") / "office.db"
    db = open_database(path, user="测试员")
    ids = make_fixture(db)
    yield types.SimpleNamespace(db=db, ids=ids, dir=path.parent)
    db.close()


def page_texts(pdf: Path, *, flat: bool = False) -> list[str]:
    """Text of each page; `flat` drops all white space (wrapped lines and spaced titles join up)."""
    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))
    texts = [_run("pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-") for n in range(1, pages + 1)]
    return [re.sub(r"\s+", "", t) for t in texts] if flat else texts


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Per page: (xMin, yMin, xMax, yMax, word) in points, from pdftotext -bbox."""
    out = _run("pdftotext", "-bbox", str(pdf), "-")
    pages = []
    for page in re.findall(r"<page [^>]*>(.*?)</page>", out, re.DOTALL):
        pages.append(
            [
                (float(a), float(b), float(c), float(d), w)
                for a, b, c, d, w in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
                )
            ]
        )
    return pages


def pdf_of(office, form: str, **selector) -> Path:
    out = office.dir / f"{form}-{'-'.join(str(v) for v in selector.values()) or 'blank'}.pdf"
    printing.save_form_pdf(office.db, form, out, today=TODAY, **selector)
    return out


def id_of(office, person_index: int) -> str:
    return office.db.scalar("SELECT id_number FROM person WHERE id = ?", (office.ids["persons"][person_index],))


def head_name(office, household_index: int) -> str:
    return office.db.scalar(
        "SELECT p.name FROM household h JOIN person p ON p.id = h.head_person_id WHERE h.id = ?",
        (office.ids["households"][household_index],),
    )


ALL_FORMS = [
    ("household-card", {"household": "HL0001"}),
    ("household-card", {"building": "3栋"}),
    ("residence-certificate", {"household": "HL0001"}),
    ("round-sheet", {"building": "3栋"}),
    ("round-sheet", {"building": "5栋"}),
    ("visit-form", {}),
    ("visit-form", {"household": "HL0002"}),
    ("mediation-agreement", {"case": "2026-0007"}),
    ("monthly-disputes", {"month": "2026-03"}),
    ("training-attendance", {"course": "家政服务技能培训"}),
    ("training-certificate", {"course": "家政服务技能培训"}),
]


@needs_poppler
@pytest.mark.parametrize(("form", "selector"), ALL_FORMS)
def test_every_form_stays_inside_a4_margins(office, form, selector):
    pdf = pdf_of(office, form, **selector)
    info = _run("pdfinfo", str(pdf))
    width, height = (float(x) for x in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    expected = (842, 595) if forms.FORMS[form].landscape else (595, 842)
    assert (round(width), round(height)) == expected
    content_bottom = height - printing.MARGIN_BOTTOM * MM
    pages = words(pdf)
    assert pages
    for page in pages:
        assert page, "empty page"
        for x0, y0, x1, y1, w in page:
            assert x0 >= printing.MARGIN_LEFT * MM - 1 and x1 <= width - printing.MARGIN_RIGHT * MM + 1, w
            assert y0 >= printing.MARGIN_TOP * MM - 1, w
            # Only the footer line may sit below the text area, and it stays clear of the edge.
            if y1 > content_bottom + 1:
                assert y0 > content_bottom - 1 and y1 < height - 5 * MM, w
        footer = "".join(w for _x0, y0, _x1, _y1, w in page if y0 > content_bottom - 1)
        assert forms.FORMS[form].title in footer


@needs_poppler
def test_household_card_names_address_and_masked_ids(office):
    texts = page_texts(pdf_of(office, "household-card", household="HL0001"))
    assert len(texts) == 1
    page = texts[0]
    assert "一户一档" in page and "HL0001" in page and "红路馨居社区3栋1单元101" in page
    assert "楼栋图标：苹果" in page
    for i in range(4):
        full = id_of(office, i)
        assert mask(full) in page and full not in page
    assert "馨居服装帮扶车间" in page and "0851-1234567" in page


@needs_poppler
def test_batch_of_household_cards_one_household_per_page(office):
    texts = page_texts(pdf_of(office, "household-card", building="3栋"))
    assert len(texts) == 45
    order = forms.records(office.db, "household-card", building="3栋")
    for page, hid in zip(texts, order, strict=True):
        number = office.db.scalar("SELECT number FROM household WHERE id = ?", (hid,))
        assert f"户号 {number}" in page
        others = [n for n in re.findall(r"户号 (HL\d{4})", page) if n != number]
        assert not others


@needs_poppler
def test_residence_certificate_has_full_id_on_its_own_page(office):
    texts = page_texts(pdf_of(office, "residence-certificate", household="HL0001"), flat=True)
    assert len(texts) == 4
    for i, page in enumerate(texts):
        assert "居住证明" in page and "盖章处" in page and "2026年3月20日" in page
        assert id_of(office, i) in page
        assert "红路馨居社区3栋1单元101" in page


@needs_poppler
def test_round_sheet_repeats_header_and_keeps_each_household_on_one_page(office):
    texts = page_texts(pdf_of(office, "round-sheet", building="3栋"))
    assert len(texts) >= 2
    assert "3栋 楼栋走访表" in texts[0] and head_name(office, 0) in texts[0]
    for n, page in enumerate(texts, 1):
        assert "应访日期" in page and "户主签字" in page  # header row on every page
        assert f"第 {n} 页 / 共 {len(texts)} 页" in page
    for hid in office.ids["households"]:
        number = office.db.scalar("SELECT number FROM household WHERE id = ?", (hid,))
        assert sum(number in page for page in texts) == 1


@needs_poppler
def test_round_sheet_without_svg_prints_the_sign_name(office, tmp_path):
    # 5栋's sign has no SVG: its name is drawn in a box instead (an image, so no text to find);
    # the page must still print with the building and "no head" line.
    texts = page_texts(pdf_of(office, "round-sheet", building="5栋"))
    assert "5栋 楼栋走访表" in texts[0] and "未设楼栋长" in texts[0] and "本楼栋暂无在住户" in texts[0]
    image = printing.sign_image("nosuchsign")
    assert not image.isNull()
    dark = sum(1 for x in range(0, image.width(), 8) for y in range(0, image.height(), 8) if image.pixelColor(x, y).lightness() < 128)
    assert dark > 20


@needs_poppler
def test_mediation_agreement_and_monthly_report(office):
    page = page_texts(pdf_of(office, "mediation-agreement", case="2026-0007"), flat=True)[0]
    assert "人民调解协议书" in page and "2026-0007" in page
    assert "楼上住户于3月25日前修好防水层" in page and "2026年3月12日" in page
    assert mask(id_of(office, 0)) in page and id_of(office, 0) not in page
    assert "当事人一" in page and "调解委员会盖章处" in page
    report = "".join(page_texts(pdf_of(office, "monthly-disputes", month="2026-03"), flat=True))
    assert "2026年3月" in report and "楼上漏水纠纷" in report and "外来商户" in report and "50.0%" in report


@needs_poppler
def test_training_sheet_40_rows_break_without_splitting(office):
    """Regression: the 40-row sign-in sheet breaks between rows and repeats its header."""
    texts = page_texts(pdf_of(office, "training-attendance", course="家政服务技能培训"))
    assert len(texts) >= 2
    for page in texts:
        assert re.search(r"序号\s+姓名\s+性别\s+身份证号", page)
    rows = office.db.query(
        "SELECT p.name, p.id_number, p.phone FROM training_attendance a JOIN person p ON p.id = a.person_id"
    )
    assert len(rows) == 40
    for r in rows:
        pages_with_id = [n for n, page in enumerate(texts) if mask(r["id_number"]) in page]
        assert len(pages_with_id) == 1, r["name"]
        page = texts[pages_with_id[0]]
        assert masking.phone(r["phone"]) in page and r["name"] in page  # the whole row is on that page
        assert r["id_number"] not in page and r["phone"] not in page


def test_rows_with_wrapped_text_move_whole_to_the_next_page(qapp):
    """Qt splits a multi-line row at a page edge; keep_rows_whole must move it instead."""
    rows = "".join(
        f"<tr><td>{i}</td><td>{'很长的一段文字 ' * (1 + (i % 5) * 3)}</td><td>row{i}</td></tr>" for i in range(40)
    )
    html = (
        '<table border="1" cellspacing="0" width="100%"><thead><tr><th>号</th><th>内容</th><th>X</th></tr></thead>'
        f"{rows}</table><p>后文</p>"
    )
    doc = QTextDocument()
    doc.setDefaultFont(QFont(printing.ensure_fonts(), 11))
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    doc.setPageSize(QSizeF(500, 700))
    assert printing.split_rows(doc), "the fixture must produce a split row, or this test proves nothing"
    moved = printing.keep_rows_whole(doc, html, {})
    assert moved >= 1
    assert printing.split_rows(doc) == []
    # Every row is still there exactly once, in order.
    text = doc.toPlainText()
    assert [int(m) for m in re.findall(r"row(\d+)", text)] == list(range(40))
    assert len(printing.header_tables(doc)) == moved + 1


def test_template_sections_escape_and_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(printing, "template_dir", lambda: tmp_path)
    (tmp_path / "t.html").write_text(
        "{{title}}|{{#items}}[{{name}}:{{office.name}}]{{/items}}{{^items}}空{{/items}}|{{#flag}}有{{/flag}}", "utf-8"
    )
    data = {"title": "<b>&", "items": [{"name": "甲"}, {"name": "乙"}], "office": {"name": "中心"}, "flag": True}
    assert printing.render_template("t", data) == "&lt;b&gt;&amp;|[甲:中心][乙:中心]|有"
    assert printing.render_template("t", {"items": []}) == "|空|"
    (tmp_path / "bad.html").write_text("{{#a}}没有结束", "utf-8")
    with pytest.raises(printing.TemplateError):
        printing.render_template("bad", {})
    with pytest.raises(printing.TemplateError):
        printing.render_template("missing", {})


def test_templates_render_every_form_without_leftover_tags(office):
    for form, selector in ALL_FORMS:
        record = forms.records(office.db, form, **selector)[0]
        text = printing.render_template(forms.FORMS[form].template, forms.gather(office.db, form, record, today=TODAY))
        assert "{{" not in text and "}}" not in text, form


def test_cancel_leaves_no_file(office, tmp_path):
    out = tmp_path / "cards.pdf"
    seen = []

    def progress(done, total, text):
        seen.append(done)
        return done < 3

    job = printing.PrintJob.select(office.db, "household-card", {"building": "3栋"}, today=TODAY)
    with pytest.raises(printing.PrintCancelled):
        printing.write_pdf(office.db, job, out, progress)
    assert seen == [0, 1, 2, 3]
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_cli_prints_a_building_and_reports_bad_input(office, tmp_path, capsys):
    from app.cli import main

    out = tmp_path / "sheet.pdf"
    code = main(["print", "round-sheet", "--db", str(office.db.path), "--pdf", str(out), "--building", "3栋", "--quiet"])
    assert code == 0 and out.exists() and out.stat().st_size > 10_000
    assert "楼栋走访表" in capsys.readouterr().out
    code = main(["print", "household-card", "--db", str(office.db.path), "--pdf", str(out), "--household", "NOPE"])
    assert code == 2
    assert "找不到户号为“NOPE”的家庭" in capsys.readouterr().err
    code = main(["print", "monthly-disputes", "--db", str(office.db.path), "--pdf", str(out), "--building", "3栋"])
    assert code == 2 and "不能按 --building 选择" in capsys.readouterr().err


# -- GUI ----------------------------------------------------------------------------------


def test_print_menu_lists_every_form(qtbot, office):
    from PySide6.QtWidgets import QMainWindow

    from app.ui.printing import print_menu

    window = QMainWindow()
    qtbot.addWidget(window)
    window.menu_print = window.menuBar().addMenu("打印")
    window.ctx = types.SimpleNamespace(db=office.db)
    print_menu.install(window)
    titles = [a.text() for a in window.menu_print.actions()]
    assert titles == [f"{f.title}…" for f in forms.FORMS.values()]


def test_chooser_finds_a_household_and_saves_pdf(qtbot, office, tmp_path, monkeypatch, messages):
    from PySide6.QtWidgets import QFileDialog

    from app.ui.printing.print_menu import PrintChooser
    from app.widgets import file_dialogs

    out = tmp_path / "卡片.pdf"
    suggested: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda _p, _t, start, *a, **k: (suggested.append(start), (str(out), ""))[1]))
    dlg = PrintChooser(types.SimpleNamespace(db=office.db), "household-card")
    qtbot.addWidget(dlg)
    search = dlg.inputs["household"]
    qtbot.keyClicks(search.edit, "HL0003")
    qtbot.waitUntil(lambda: search.list.count() == 1, timeout=3000)
    assert search.value() == "HL0003"
    qtbot.mouseClick(dlg.pdf_button, Qt.MouseButton.LeftButton)
    assert out.exists()
    shown = messages.texts("info")
    assert shown and "已保存 1 页" in shown[0] and "已脱敏" in shown[0]
    # Started in Documents, not the database's folder; the name carries the household and the day.
    first = Path(suggested[0])
    assert first.parent == file_dialogs.documents_folder() != office.db.path.parent
    assert first.name.startswith("一户一档_HL0003") and first.name.endswith(f"_{dt.date.today():%Y%m%d}.pdf")
    # The next PDF starts where the last one went.
    qtbot.mouseClick(dlg.pdf_button, Qt.MouseButton.LeftButton)
    assert Path(suggested[1]).parent == tmp_path


def test_chooser_needs_a_choice(qtbot, office):
    from PySide6.QtWidgets import QLabel

    from app.ui.printing.print_menu import PrintChooser

    dlg = PrintChooser(types.SimpleNamespace(db=office.db), "residence-certificate")
    qtbot.addWidget(dlg)
    assert "完整身份证号" in dlg.findChild(QLabel, "printChooserIdNotice").text()
    assert dlg.selector() is None and "请先选择人员" in dlg.error.text()
    dlg.group.button(1).setChecked(True)  # the whole household
    qtbot.keyClicks(dlg.inputs["household"].edit, "HL0001")
    dlg.inputs["household"].refresh()
    assert dlg.selector() == {"household": "HL0001"}


def test_preview_paints_pages_and_says_which_ids_are_whole(qtbot, office, monkeypatch):
    from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
    from PySide6.QtWidgets import QLabel

    opened = []
    monkeypatch.setattr(QPrintPreviewDialog, "exec", lambda self: opened.append(self) or 0)
    ctx = types.SimpleNamespace(db=office.db)
    printing.preview_form(ctx, "residence-certificate", None, household="HL0001")
    assert len(opened) == 1
    dlg = opened[0]
    qtbot.addWidget(dlg)
    assert "居住证明" in dlg.windowTitle() and "共 4 份" in dlg.windowTitle()
    notice = dlg.findChild(QLabel, "printIdNotice")
    assert notice is not None and "完整身份证号" in notice.text()
    # The print path (a real printer engine) paints every copy.
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = Path(office.dir) / "printed.pdf"
    printer.setOutputFileName(str(out))
    job = printing.PrintJob.select(office.db, "residence-certificate", {"household": "HL0001"}, today=TODAY)
    pages = printing.BatchRunner(ctx, job).print_to(printer)
    assert pages == 4 and out.exists()


def test_batch_cancel_from_the_progress_dialog(qtbot, office, tmp_path, monkeypatch, messages):
    from PySide6.QtWidgets import QProgressDialog

    monkeypatch.setattr(QProgressDialog, "wasCanceled", lambda self: self.value() >= 2)
    job = printing.PrintJob.select(office.db, "household-card", {"building": "3栋"}, today=TODAY)
    out = tmp_path / "cards.pdf"
    assert printing.BatchRunner(types.SimpleNamespace(db=office.db), job).save_pdf(str(out)) is None
    assert not out.exists() and not list(tmp_path.glob("*.part")) and not messages.shown


def test_preview_of_a_missing_record_shows_the_message(office, messages):
    printing.preview_form(types.SimpleNamespace(db=office.db), "round-sheet", None, building="不存在的楼")
    assert messages.texts() == ["找不到名为“不存在的楼”的楼栋。"]


# -- the demo community (app.models.demo.demo) ---------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory, qapp):
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_demo_database(path, households=120, seed=7)
    db = open_database(path, user="测试员")
    yield types.SimpleNamespace(db=db, dir=path.parent)
    db.close()


def _demo_selectors(db) -> list[tuple[str, dict]]:
    household = db.scalar(
        "SELECT h.number FROM household h WHERE h.deleted = 0 AND h.status = '在住' AND h.room_id IS NOT NULL "
        "ORDER BY (SELECT count(*) FROM person p WHERE p.household_id = h.id) DESC LIMIT 1"
    )
    building = db.scalar("SELECT name FROM building WHERE deleted = 0 ORDER BY number LIMIT 1")
    case = db.scalar("SELECT number FROM mediation_case WHERE outcome = '已调解' AND agreement_text <> '' LIMIT 1")
    month = db.scalar("SELECT substr(received_date, 1, 7) FROM mediation_case ORDER BY received_date DESC LIMIT 1")
    course = db.scalar(
        "SELECT c.name FROM training_course c ORDER BY (SELECT count(*) FROM training_attendance a "
        "WHERE a.course_id = c.id) DESC LIMIT 1"
    )
    return [
        ("household-card", {"household": household}),
        ("residence-certificate", {"household": household}),
        ("round-sheet", {"building": building}),
        ("visit-form", {"household": household}),
        ("mediation-agreement", {"case": case}),
        ("monthly-disputes", {"month": month}),
        ("training-attendance", {"course": course, "session": "1"}),
        ("training-certificate", {"course": course}),
    ]


@needs_poppler
def test_every_form_on_the_demo_database(demo):
    db = demo.db
    for form, selector in _demo_selectors(db):
        assert all(selector.values()), f"the demo has no record for {form}"
        pdf = demo.dir / f"{form}.pdf"
        printing.save_form_pdf(db, form, pdf, today=TODAY, **selector)
        texts = page_texts(pdf, flat=True)
        ids = forms.records(db, form, **selector)
        # One record per page group, each page inside the margins (checked on words' boxes).
        assert len(texts) >= len(ids)
        height = 595.0 if forms.FORMS[form].landscape else 842.0
        for page in words(pdf):
            assert page and max(y1 for *_, y1, _w in page) < height - 5 * MM
        full_ids = [r["id_number"] for r in db.query("SELECT id_number FROM person WHERE id_number IS NOT NULL")]
        everything = "".join(texts)
        leaked = [n for n in full_ids if n in everything]
        if form == "residence-certificate":
            members = forms.records(db, form, **selector)
            for page, pid in zip(texts, members, strict=True):
                person = db.get("person", pid)
                assert person["name"] in page and (person["id_number"] or "（未登记）") in page
        else:
            assert leaked == [], f"{form} shows a full ID number"
        if form == "household-card":
            hid = ids[0]
            data = forms.gather(db, form, hid, today=TODAY)
            assert data["address"].replace(" ", "") in texts[0]
            for m in data["members"]:
                assert m["name"] in everything and (not m["id_number"] or m["id_number"] in everything)
        if form == "round-sheet":
            data = forms.gather(db, form, ids[0], today=TODAY)
            for h in data["households"]:
                assert sum(h["number"] in t for t in texts) == 1


def test_record_button_previews_the_shown_record(qtbot, office, monkeypatch):
    from PySide6.QtWidgets import QWidget

    from app.ui.printing import print_menu

    calls = []
    monkeypatch.setattr(printing, "preview_form", lambda ctx, form, parent, **sel: calls.append((form, sel)))
    holder = QWidget()
    qtbot.addWidget(holder)
    shown = {"id": None}
    button = print_menu.record_button(
        holder, types.SimpleNamespace(db=office.db), lambda: shown["id"],
        [("household-card", "household"), ("residence-certificate", "household")],
    )
    actions = button.menu().actions()
    assert [a.text() for a in actions] == ["一户一档", "居住证明（含完整身份证号）"]
    actions[0].trigger()
    assert calls == []  # nothing selected: nothing to print
    shown["id"] = office.ids["households"][0]
    actions[1].trigger()
    assert calls == [("residence-certificate", {"household": office.ids["households"][0]})]


def test_print_buttons_on_the_tabs_preview_the_record_shown(main_window, qtbot, monkeypatch):
    """Registry (household), places (building), employment (course), mediation (case, month)."""
    from PySide6.QtWidgets import QPushButton

    calls = []
    monkeypatch.setattr(printing, "preview_form", lambda ctx, form, parent, **sel: calls.append((form, sel)))
    db = main_window.ctx.db
    tabs = {main_window.tabs.widget(i).objectName(): main_window.tabs.widget(i) for i in range(main_window.tabs.count())}

    def menu_of(widget):
        buttons = [b for b in widget.findChildren(QPushButton, "recordPrintButton")]
        assert len(buttons) == 1
        return {a.objectName(): a for a in buttons[0].menu().actions()}

    hid = db.scalar("SELECT id FROM household WHERE deleted = 0 AND room_id IS NOT NULL LIMIT 1")
    registry = tabs["registryTab"]
    registry.summary.show_household(hid)
    menu_of(registry.summary)["recordPrint_household_card"].trigger()
    assert calls[-1] == ("household-card", {"household": hid})

    bid = db.scalar("SELECT id FROM building WHERE deleted = 0 LIMIT 1")
    places = tabs["placesTab"]
    main_window.tabs.setCurrentWidget(places)
    qtbot.waitUntil(lambda: places.loaded, timeout=10000)  # the tree loads on first show
    assert places.select("building", bid)
    menu_of(places)["recordPrint_round_sheet"].trigger()
    assert calls[-1] == ("round-sheet", {"building": bid})

    mediation = tabs["mediationTab"]
    cid = db.scalar("SELECT id FROM mediation_case WHERE deleted = 0 LIMIT 1")
    main_window.tabs.setCurrentWidget(mediation)
    if mediation.select_case(cid):
        mediation.print_agreement()
        assert calls[-1] == ("mediation-agreement", {"case": cid})
    mediation.print_report()
    assert calls[-1][0] == "monthly-disputes" and set(calls[-1][1]) == {"month"}

    employment = tabs["employmentTab"]
    employment.selected_course_id = lambda: "course-1"  # the selection itself is the tab's business
    assert "recordPrint_training_attendance" in menu_of(employment)


def _disk_full_after(monkeypatch, after: int) -> None:
    import errno

    from app.models.core import safe_files

    left = [after]
    real = safe_files._os_write

    def write(fd, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real(fd, data[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(safe_files, "_os_write", write)


@pytest.mark.parametrize("fraction", [0, 0.5, 0.99])
def test_cli_print_on_a_full_stick_fails_and_leaves_nothing(office, tmp_path, capsys, monkeypatch, fraction):
    """The issue's case: a batch of household cards onto a stick that fills up part-way."""
    from app.cli import main

    whole = tmp_path / "whole.pdf"
    args = ["print", "household-card", "--db", str(office.db.path), "--building", "3栋", "--quiet"]
    assert main([*args, "--pdf", str(whole)]) == 0
    capsys.readouterr()
    stick = tmp_path / "stick"
    stick.mkdir()
    _disk_full_after(monkeypatch, int(whole.stat().st_size * fraction))
    assert main([*args, "--pdf", str(stick / "cards.pdf")]) == 2
    captured = capsys.readouterr()
    assert "已生成" not in captured.out and "磁盘空间不足" in captured.err and str(stick) in captured.err
    assert "Traceback" not in captured.err
    if fraction == 0.5:  # forms already written tell what the whole file needs
        assert "这次写入约需要" in captured.err
    assert list(stick.iterdir()) == []


def test_pdf_written_through_memory_is_complete(office, tmp_path):
    from app.models.core.safe_files import check_pdf

    out = tmp_path / "cards.pdf"
    job = printing.PrintJob.select(office.db, "household-card", {"building": "3栋"}, today=TODAY)
    pages = printing.write_pdf(office.db, job, out)
    check_pdf(out)  # trailer present, startxref points at the xref table
    assert pages == len(job.record_ids) >= 2


def test_gui_save_pdf_on_a_full_disk_shows_the_message_and_no_success(qtbot, office, tmp_path, monkeypatch, messages):
    ctx = types.SimpleNamespace(db=office.db)
    job = printing.PrintJob.select(office.db, "household-card", {"building": "3栋"}, today=TODAY)
    _disk_full_after(monkeypatch, 5000)
    out = tmp_path / "cards.pdf"
    assert printing.BatchRunner(ctx, job).save_pdf(str(out)) is None
    assert [m.kind for m in messages.shown] == ["warn"] and "磁盘空间不足" in messages.shown[0].text
    assert list(tmp_path.iterdir()) == []

"""The masking policy, and every masked output tried against someone rebuilding ID numbers from it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from app.models.core import id_numbers, masking
from app.models.core.access import Principal, Role
from app.models.core.db import open_database
from app.models.core.errors import PermissionDeniedError, ValidationError

MASKED_ID = re.compile(r"(\d{6})\*{8}(\d{3}[\dX])")
TODAY = dt.date.today()
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# -- the policy -----------------------------------------------------------------------------------
def test_id_number_keeps_region_and_last_four():
    number = id_numbers.make("522401", dt.date(1985, 3, 12), 17, "女")
    assert masking.id_number(number) == number[:6] + "********" + number[-4:]
    assert id_numbers.mask(number) == masking.id_number(number)
    assert masking.id_number("12345") == "*****" and masking.id_number(None) == ""


@pytest.mark.parametrize(("raw", "masked"), [
    ("13812345678", "138****5678"), ("138-1234-5678", "138****5678"), ("+86 138 1234 5678", "138****5678"),
    ("１３８１２３４５６７８", "138****5678"), ("0870-5123456", "****3456"), ("123", "***"), ("", ""),
])
def test_phone(raw, masked):
    assert masking.phone(raw) == masked


def test_text_masks_numbers_typed_into_notes():
    number = id_numbers.make("522401", dt.date(1990, 12, 31), 3, "男")
    note = f"身份证{number}，电话 139 8765 4321；旧证５２２４０１９０１２３１００３；户号 HL-0001，面积 120"
    out = masking.text(note)
    assert number not in out and "13987654321" not in out and "139 8765 4321" not in out
    assert masking.id_number(number) in out and "139****4321" in out and "522401******003" in out
    assert "HL-0001" in out and "120" in out
    assert masking.text("没有数字") == "没有数字"


def test_a_birth_year_leaves_at_least_32_dates_for_the_hidden_digits():
    """The figure the module docstring gives: for every year and every check-digit residue, at least
    32 dates remain, so even the year alone would not give a number back (the policy drops it anyway)."""
    fewest = 10**6
    for year in range(1900, 2030):
        counts = [0] * 11
        day = dt.date(year, 1, 1)
        while day.year == year:
            counts[sum(int(c) * w for c, w in zip(day.strftime("%m%d"), WEIGHTS[10:14], strict=True)) % 11] += 1
            day += dt.timedelta(days=1)
        fewest = min(fewest, *counts)
    assert fewest == 32


# -- the attacker ---------------------------------------------------------------------------------
def candidates(head: str, tail: str, start: dt.date, end: dt.date, enough: int = 2) -> list[dt.date]:
    """Birth dates in [start, end] that make head + date + tail a valid ID number (the first
    `enough` of them: two already mean the number cannot be told)."""
    out: list[dt.date] = []
    day = start
    while day <= end and len(out) < enough:
        if id_numbers.check_digit(f"{head}{day:%Y%m%d}{tail[:3]}") == tail[3]:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _years_ago(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def date_texts(d: dt.date) -> set[str]:
    return {d.isoformat(), f"{d:%Y%m%d}", f"{d:%Y/%m/%d}", f"{d:%Y.%m.%d}", f"{d.year}年{d.month}月{d.day}日",
            f"{d.year}年{d.month:02d}月{d.day:02d}日"}


def rebuilt(text: str, people: dict[str, dict], today: dt.date = TODAY) -> list[str]:
    """The whole ID numbers someone can rebuild from one row (or page) of a masked document.

    For each masked number: the true person is found among those of the database with the same
    kept digits (the attacker does not know them; the test checks against them). The attacker
    knows the export day and every rule of the program (e.g. the labour force's ages 16–60), reads
    every year, age and date the text holds, and wins when a clue leaves exactly the true date.
    """
    found = []
    years = {int(y) for y in re.findall(r"(?<!\d)(1[89]\d\d|20[0-3]\d)(?!\d)", text)}
    ages = {int(a) for a in re.findall(r"(?<![\d*])(\d{1,3})(?![\d*])", text) if int(a) <= 120}
    for m in MASKED_ID.finditer(text):
        head, tail = m.group(1), m.group(2)
        truth = [p for p in people.values() if p["id_number"] and p["id_number"][:6] == head
                 and p["id_number"][-4:] == tail]
        for person in truth:
            born = dt.date.fromisoformat(person["id_number"][6:10] + "-" + person["id_number"][10:12] + "-"
                                         + person["id_number"][12:14])
            if any(t in text for t in date_texts(born)):
                found.append(person["id_number"])
                continue
            windows = [(dt.date(1900, 1, 1), today)]
            windows += [(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in years]
            windows += [(_years_ago(today, a + 1) + dt.timedelta(days=1), _years_ago(today, a)) for a in ages]
            # the labour-force rule of the export day, alone and with each year
            lf = (_years_ago(today, 61) + dt.timedelta(days=1), _years_ago(today, 16))
            windows.append(lf)
            windows += [(max(lf[0], dt.date(y, 1, 1)), min(lf[1], dt.date(y, 12, 31))) for y in years]
            for start, end in windows:
                if start <= born <= end and candidates(head, tail, start, end) == [born]:
                    found.append(person["id_number"])
                    break
    return found


# -- the outputs ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from app.models.demo.demo import create_demo_database

    path = tmp_path_factory.mktemp("masking") / "demo.db"
    create_demo_database(path, households=60, seed=7, encrypted=False)
    db = open_database(path)
    people = {r["id"]: dict(r) for r in db.query("SELECT id, name, id_number, phone, birth_date FROM person")}
    phones = {r[0] for r in db.query("SELECT phone FROM person WHERE phone IS NOT NULL AND phone != '' UNION "
                                     "SELECT outsider_phone FROM mediation_party WHERE outsider_phone != '' UNION "
                                     "SELECT phone FROM place_role WHERE phone != ''")}
    db.close()
    return path, people, phones


def _cell_text(value) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


def check_xlsx(path: Path, people: dict, phones: set[str]) -> int:
    """No whole ID or phone anywhere in the file's parts; nothing rebuilt from any row. Returns the
    number of masked ID numbers seen."""
    ids = {p["id_number"] for p in people.values() if p["id_number"]}
    with zipfile.ZipFile(path) as zf:
        raw = "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    assert not [i for i in ids if i in raw], path.name
    assert not [p for p in phones if p in raw or re.sub(r"\D", "", p) in raw], path.name
    seen = 0
    wb = openpyxl.load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            text = "\t".join(_cell_text(v) for v in row)
            seen += len(MASKED_ID.findall(text))
            assert rebuilt(text, people) == [], (path.name, text)
    wb.close()
    assert path.name not in ids
    return seen


def test_every_masked_ledger_gives_back_no_number(demo, tmp_path):
    from app.models.excel.excel_export import export_ledger
    from app.models.excel.ledgers import LEDGERS

    path, people, phones = demo
    with open_database(path) as db:
        seen = {}
        for name in LEDGERS:
            out = tmp_path / f"{name}.xlsx"
            export_ledger(db, name, out, masked=True)
            seen[name] = check_xlsx(out, people, phones)
    # the ledgers with people in them did show masked numbers (the attack had something to chew on)
    assert all(seen[n] > 0 for n in ("residents", "households", "labour", "employment", "training", "intentions"))


def test_masked_residents_ledger_has_no_birth_dates_and_masked_phones(demo, tmp_path):
    from app.models.excel.excel_export import export_ledger

    path, _people, _phones = demo
    out = tmp_path / "r.xlsx"
    with open_database(path) as db:
        export_ledger(db, "residents", out, masked=True)
        full = tmp_path / "full.xlsx"
        export_ledger(db, "residents", full)
    header = [c.value for c in next(openpyxl.load_workbook(out).active.iter_rows(min_row=2, max_row=2))]
    assert "出生日期" not in header and "身份证号" in header
    assert "出生日期" in [c.value for c in next(openpyxl.load_workbook(full).active.iter_rows(min_row=2, max_row=2))]
    col = header.index("联系电话")
    phones = [r[col] for r in openpyxl.load_workbook(out).active.iter_rows(min_row=3, values_only=True) if r[col]]
    assert phones and all(re.fullmatch(r"1\d\d\*{4}\d{4}|\*{4}\d{4}", p) for p in phones)


def test_every_masked_list_gives_back_no_number(demo, tmp_path):
    from app.models.employment import labour
    from app.models.excel import list_table
    from app.models.excel.excel_export import export_table
    from app.models.places import rhythm

    path, people, phones = demo
    with open_database(path) as db:
        seen = 0
        for key in ("labour_force", "employed", "unemployed", "never_trained", "public_welfare_posts",
                    "zero_employment_households", "households_with_labour", "training_person_times_total"):
            table = list_table.figure_table(db, key, labour.figure_ids(db, key))
            out = tmp_path / f"{key}.xlsx"
            export_table(db, table, out, masked=True)
            seen += check_xlsx(out, people, phones)
        out = tmp_path / "due.xlsx"
        export_table(db, list_table.due_table(rhythm.due_list(db), ""), out, masked=True)
        check_xlsx(out, people, phones)
    assert seen > 0


def test_audit_export_masks_numbers_in_details(demo, tmp_path):
    from app.models.core import audit_view
    from app.models.core.audit_events import Action, record_event

    path, people, phones = demo
    whole = next(p["id_number"] for p in people.values() if p["id_number"])
    with open_database(path) as db:
        record_event(db, Action.EXPORT, {"file": f"{whole}.xlsx", "note": "13912345678"})
        out = tmp_path / "audit.xlsx"
        audit_view.export(db, audit_view.AuditFilter(), out)
    check_xlsx(out, people, phones | {"13912345678"})


def _pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [*text.split("\f"), info]


def check_pdf(pdf: Path, people: dict, phones: set[str]) -> int:
    ids = {p["id_number"] for p in people.values() if p["id_number"]}
    raw = pdf.read_bytes().decode("latin-1")
    assert not [i for i in ids if i in raw]
    seen = 0
    for page in _pdf_pages(pdf):
        flat = page.replace(" ", "")
        assert not [i for i in ids if i in flat], pdf.name
        assert not [p for p in phones if re.sub(r"\D", "", p) in re.sub(r"[^\d*\n]", "", flat)
                    and len(re.sub(r"\D", "", p)) == 11], pdf.name
        seen += len(MASKED_ID.findall(flat))
        # a page is one document for the attacker: every clue on it counts for every number on it
        assert rebuilt(page, people) == [], (pdf.name, page[:300])
    return seen


def test_every_masked_form_and_printed_list_gives_back_no_number(demo, tmp_path, qapp):
    from app.models.employment import labour
    from app.models.excel import list_table
    from app.models.forms import forms
    from app.ui.printing import printing

    path, people, phones = demo
    with open_database(path) as db:
        building = db.scalar("SELECT name FROM building WHERE deleted = 0 ORDER BY number LIMIT 1")
        household = db.scalar("SELECT number FROM household WHERE deleted = 0 AND status = '在住' LIMIT 1")
        course = db.scalar("SELECT c.name FROM training_course c JOIN training_attendance a ON a.course_id = c.id "
                           "GROUP BY c.id ORDER BY count(*) DESC LIMIT 1")
        case = db.scalar("SELECT number FROM mediation_case WHERE deleted = 0 AND agreement_text != '' "
                         "AND outcome = '已调解' LIMIT 1")
        jobs = {
            "household-card": {"household": household}, "round-sheet": {"building": building},
            "visit-form": {"household": household}, "training-attendance": {"course": course},
            "training-certificate": {"course": course}, "monthly-disputes": {"month": TODAY.strftime("%Y-%m")},
        }
        if case:
            jobs["mediation-agreement"] = {"case": case}
        assert set(jobs) | {"mediation-agreement", "residence-certificate"} == set(forms.FORMS)
        seen = 0
        for form, selector in jobs.items():
            job = printing.PrintJob.select(db, form, selector)
            out = tmp_path / f"{form}.pdf"
            printing.write_pdf(db, job, out)
            seen += check_pdf(out, people, phones)
        table = list_table.figure_table(db, "labour_force", labour.figure_ids(db, "labour_force"))
        out = tmp_path / "list.pdf"
        printing.write_pdf(db, printing.ListPrintJob(table), out)
        seen += check_pdf(out, people, phones)
    assert seen > 0


# -- who gets the full variant ---------------------------------------------------------------------
def test_other_roles_always_get_the_masked_variant(demo, tmp_path):
    from app.models.excel.excel_export import export_ledger
    from app.models.excel.list_table import ListTable

    path, people, phones = demo
    with open_database(path) as db:
        for role in (Role.BUILDING_HEAD, Role.VIEWER):
            db.principal = Principal("王楼长", role, "x", frozenset(r[0] for r in db.query("SELECT id FROM building")))
            out = tmp_path / f"{role}.xlsx"
            result = export_ledger(db, "residents", out)  # asked for the full one
            assert result.forced_masked
            check_xlsx(out, people, phones)
            with pytest.raises(PermissionDeniedError):
                from app.models.forms import forms

                forms.records(db, "residence-certificate", household="x")
        assert ListTable  # the list export goes through the same decision (tested in the UI tests)


def test_full_export_asks_a_reason_that_is_audited(demo, tmp_path):
    from app.models.excel.excel_export import export_ledger

    path, _people, _phones = demo
    with open_database(path) as db:
        db.principal = Principal("李干事", Role.CLERK, "y")
        with pytest.raises(ValidationError, match="理由"):
            export_ledger(db, "residents", tmp_path / "a.xlsx")
        with pytest.raises(ValidationError, match="其他"):
            export_ledger(db, "residents", tmp_path / "a.xlsx", reason="其他")
        assert not (tmp_path / "a.xlsx").exists()
        export_ledger(db, "residents", tmp_path / "a.xlsx", reason="数据核查")
        export_ledger(db, "figures", tmp_path / "f.xlsx")  # nothing personal in it: no reason asked
        detail = db.scalar("SELECT detail FROM audit_events WHERE action = 'export' AND detail LIKE '%a.xlsx%' "
                           "ORDER BY id DESC LIMIT 1")
    assert '"reason": "数据核查"' in detail and '"masked": false' in detail

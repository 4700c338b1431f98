"""Each ledger's one definition: what the export writes is what the import reads."""

from __future__ import annotations

from collections import Counter

import openpyxl
import pytest

from app.models.excel.excel_export import export_ledger
from app.models.excel.excel_import import IMPORTERS, apply_plan, plan_import
from app.models.excel.excel_read import RESIDENTS, norm_header
from app.models.excel.ledger_spec import ID, MASK_BIRTHDATE, MASK_ID, MASK_PHONE, PHONE
from app.models.excel.ledgers import LEDGERS, get_ledger
from tests.builders.excel import add_records, build_office


def test_export_columns_are_the_fields_that_have_sql():
    ledger = get_ledger("residents")
    assert [c.header for c in ledger.columns] == [f.header for f in RESIDENTS.exported]
    assert ledger.title == RESIDENTS.title


def test_every_exported_header_is_read_back_as_its_field():
    aliases = IMPORTERS["residents"].aliases
    for f in RESIDENTS.exported:
        assert aliases[norm_header(f.header)] == f.key


def test_no_name_means_two_fields():
    names = Counter(norm_header(n) for f in RESIDENTS.fields for n in (f.header, *f.aliases))
    assert [n for n, k in names.items() if k > 1] == []


def test_personal_fields_say_what_masking_hides():
    masks = {f.key: f.mask for f in RESIDENTS.fields if f.mask}
    assert masks == {"id_number": MASK_ID, "phone": MASK_PHONE, "birth_date": MASK_BIRTHDATE}


def test_the_quick_count_counts_what_the_export_writes(db):
    build_office(db)
    with db.write() as tx:  # a household without a room: the place joins are LEFT joins
        tx.insert("household", {"number": "NO-ROOM"})
    for name in ("residents", "households"):
        ledger = get_ledger(name)
        assert ledger.count_from and ledger.count_from in ledger.count_sql()
        _cols, total, rows = ledger.rows(db)
        assert total == len(list(rows)) == db.scalar(f"SELECT count(*) FROM {ledger.from_sql} WHERE {ledger.base_where}")


# -- every ledger with an import: one definition, and a round trip that cannot drift ---------------
SPEC_LEDGERS = sorted(name for name, ledger in LEDGERS.items() if ledger.spec is not None)


def test_every_ledger_exported_and_imported_has_one_definition():
    assert SPEC_LEDGERS == sorted(set(LEDGERS) & set(IMPORTERS))
    assert SPEC_LEDGERS == ["employment", "households", "intentions", "mediation", "residents", "training", "visits"]


@pytest.mark.parametrize("name", SPEC_LEDGERS)
def test_export_columns_and_import_headers_come_from_the_same_definition(name):
    ledger, importer = LEDGERS[name], IMPORTERS[name]
    spec = ledger.spec
    assert (ledger.name, ledger.title) == (spec.name, spec.title)
    assert [(c.header, c.sql, c.width) for c in ledger.columns] == [(f.header, f.sql, f.width) for f in spec.exported]
    assert dict(importer.aliases) == spec.aliases and dict(importer.labels) == spec.labels
    for f in spec.exported:  # every exported header is read back as its own field
        assert importer.aliases[norm_header(f.header)] == f.key
    names = Counter(norm_header(n) for f in spec.fields for n in (f.header, *f.aliases))
    assert [n for n, k in names.items() if k > 1] == []
    # What masking hides is said by the definition: ID numbers and phones, and only those.
    masked = {c.header for c in ledger.columns if c.kind in (ID, PHONE)}
    assert masked == {f.header for f in spec.exported if f.mask in (MASK_ID, MASK_PHONE)}


# The one cell each round trip edits, and its new value. Visits are insert-only: an edited visit
# is refused, naming the column that differs.
EDITS = {
    "residents": ("联系电话", "13900001111"),
    "households": ("居住证", "已办"),
    "employment": ("月收入(元)", 3500.5),
    "training": ("备注", "补考通过"),
    "intentions": ("需求详情", "想学直播带货"),
    "visits": ("发现情况", "屋顶漏水"),
    "mediation": ("简要情况", "楼上卫生间漏水"),
}
SHOWN = {"月收入(元)": "3500.50"}  # how a change list shows the new value, where not as typed


@pytest.mark.parametrize("name", SPEC_LEDGERS)
def test_round_trip_changes_nothing_and_one_edited_cell_is_exactly_one_change(db, tmp_path, name):
    office = build_office(db)
    add_records(db, office)
    out = tmp_path / f"{name}.xlsx"
    n = export_ledger(db, name, out)
    plan = plan_import(db, out, ledger=name)
    assert plan.counts == {"new": 0, "updated": 0, "unchanged": n, "errors": 0}, [e.message() for e in plan.errors]

    header, new = EDITS[name]
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    column = next(c.column for c in ws[2] if c.value == header)
    old = ws.cell(row=3, column=column).value
    ws.cell(row=3, column=column, value=new)
    wb.save(out)
    plan = plan_import(db, out, ledger=name)
    if name == "visits":
        assert plan.counts == {"new": 0, "updated": 0, "unchanged": n - 1, "errors": 1}
        (error,) = plan.errors
        assert error.row == 3 and f"但{header}不同" in error.problem
        return
    assert plan.counts == {"new": 0, "updated": 1, "unchanged": n - 1, "errors": 0}, [e.message() for e in plan.errors]
    (row,) = [r for r in plan.rows if r.status == "updated"]
    assert row.row == 3 and row.changes == [(header, "" if old is None else str(old), SHOWN.get(header, str(new)))]
    apply_plan(db, plan)
    again = tmp_path / f"{name}-again.xlsx"
    export_ledger(db, name, again)
    assert plan_import(db, again, ledger=name).counts == {"new": 0, "updated": 0, "unchanged": n, "errors": 0}


def test_every_importer_plans_and_applies_itself_and_the_engine_names_no_ledger():
    """The import engine asks the registry: no ledger kind is named in planning or applying."""
    import ast
    import inspect

    from app.models.excel import excel_import

    assert all(callable(imp.plan) and callable(imp.apply) for imp in IMPORTERS.values())
    assert [k for k, imp in IMPORTERS.items() if imp.mappable] == ["residents"]
    named = set()
    for fn in (excel_import.plan_import, excel_import._apply_plan):
        (tree,) = ast.parse(inspect.getsource(fn)).body
        body = tree.body[1:] if isinstance(tree.body[0], ast.Expr) else tree.body  # not the docstring
        named |= {n.value for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Constant)}
    assert named and named.isdisjoint(IMPORTERS)

"""The resident ledger's one definition: what the export writes is what the import reads."""

from __future__ import annotations

from collections import Counter

from app.models.excel.excel_import import IMPORTERS
from app.models.excel.excel_read import RESIDENTS, norm_header
from app.models.excel.ledger_spec import MASK_BIRTHDATE, MASK_ID, MASK_PHONE
from app.models.excel.ledgers import get_ledger


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
    from tests.models.test_excel_fixtures import build_office

    build_office(db)
    with db.write() as tx:  # a household without a room: the place joins are LEFT joins
        tx.insert("household", {"number": "NO-ROOM"})
    for name in ("residents", "households"):
        ledger = get_ledger(name)
        assert ledger.count_from and ledger.count_from in ledger.count_sql()
        _cols, total, rows = ledger.rows(db)
        assert total == len(list(rows)) == db.scalar(f"SELECT count(*) FROM {ledger.from_sql} WHERE {ledger.base_where}")

"""One definition per ledger field, read by both the Excel export and the import.

A field says what its column is called (and the other names county sheets use for it), which
stored value a cell becomes (and the Chinese message when it cannot), the SQL that exports it,
how Excel shows it (kind, width) and what a masked export hides. Export columns and import
headers come from the same FieldSpec, so a round trip cannot drift: the test
`test_every_importable_ledger_exports_and_imports_back_unchanged` holds every ledger to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# Column kinds decide how a value is written and how it is masked (app.models.excel.ledgers.
# masked_view): text (never a number or formula; masked: ID and mobile numbers inside it), id (an
# ID number), phone, birth (a birth date, written as a date), age (whole years, written as a
# number), date (a real date), money (fen → yuan, 2 decimals), int, number.
TEXT, ID, PHONE, DATE, MONEY, INT, NUMBER = "text", "id", "phone", "date", "money", "int", "number"
BIRTH, AGE = "birth", "age"

# What a masked export hides of a field (the masking policy decides how).
MASK_ID, MASK_PHONE, MASK_BIRTHDATE = "id", "phone", "birthdate"


@dataclass(frozen=True)
class FieldSpec:
    key: str
    header: str  # the name used in messages and in our exports
    aliases: tuple[str, ...] = ()  # other names seen in county and street sheets
    sql: str = ""  # the export's expression ("": not exported)
    kind: str = TEXT
    width: int = 10  # in characters of a Chinese font; ~2 per Han character
    mask: str | None = None  # MASK_ID, MASK_PHONE, MASK_BIRTHDATE or None
    household: bool = False  # a household attribute, the same on every member's row
    import_: bool = True  # False: derived on export (就业状态) or the sheet's own (序号), ignored on import
    # Cell → stored value, raising CellProblem with the Chinese problem and hint; None: plain
    # text within the field's length limit.
    convert: Callable[[Any], Any] | None = None
    exact: bool = False  # free text: kept exactly as typed (a leading tab or '=' included), blanks too
    # Stored value → the text a change list shows (None: the cell's own text, "" for nothing).
    show: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class LedgerSpec:
    name: str
    title: str
    fields: tuple[FieldSpec, ...]

    @property
    def exported(self) -> tuple[FieldSpec, ...]:
        """The export's columns, in order."""
        return tuple(f for f in self.fields if f.sql)

    @property
    def imported(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.import_)

    @cached_property
    def by_key(self) -> dict[str, FieldSpec]:
        return {f.key: f for f in self.fields}

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Every name a column of this ledger goes by (normalised) → its field key."""
        return {norm_header(name): f.key for f in self.fields for name in (f.header, *f.aliases)}

    @cached_property
    def labels(self) -> dict[str, str]:
        """Field key → the header named in messages."""
        return {f.key: f.header for f in self.fields}

    def keys_of(self, header_cells: list[Any]) -> set[str]:
        """The fields a header row names."""
        aliases = self.aliases
        return {k for c in header_cells if c is not None and (k := aliases.get(norm_header(c))) is not None}


def norm_header(text: Any) -> str:
    """A header cell as compared: no spaces, ASCII brackets and colons, no 必填/选填 mark."""
    s = str(text or "").strip()
    s = s.translate(str.maketrans("（）：", "():"))
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"\((必填|选填|可选)\)$", "", s)
    return s.rstrip("*:")


# -- SQL pieces of the residents' fields (the export's aliases: p person, h household, r room,
# u unit, b building) ----------------------------------------------------------------------------
TAGS_SQL = (
    "rtrim(CASE WHEN h.tag_lifted THEN '脱贫户、' ELSE '' END"
    " || CASE WHEN h.tag_monitored THEN '监测户、' ELSE '' END"
    " || CASE WHEN h.tag_dibao THEN '低保、' ELSE '' END"
    " || CASE WHEN h.tag_tekun THEN '特困、' ELSE '' END, '、')"
)
RISK_SQL = "CASE h.risk_colour WHEN 'red' THEN '红' WHEN 'yellow' THEN '黄' WHEN 'green' THEN '绿' END"
LABOUR_SQL = (
    "CASE p.labour_ability WHEN '全' THEN '全劳动力' WHEN '半' THEN '半劳动力' WHEN '无' THEN '无劳动力' END"
)
CURRENT_JOB = (
    "(SELECT e.kind FROM employment e WHERE e.person_id = p.id AND e.deleted = 0"
    " AND (e.end_date IS NULL OR e.end_date = '' OR e.end_date >= date('now', 'localtime'))"
    " ORDER BY e.start_date DESC LIMIT 1)"
)
JOB_STATUS_SQL = (
    f"coalesce({CURRENT_JOB}, CASE WHEN p.labour_ability IN ('全','半') THEN '未就业' END)"
)

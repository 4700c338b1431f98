"""Registry search: turning what a clerk types (name, pinyin initials, ID/phone fragment, address) into SQL.

Every query is answered from an index, so a keystroke costs a few milliseconds at 100,000 residents:
- Chinese name: prefix range on ``person.name`` (``name >= ? AND name < ?``); 3+ characters
  also match anywhere in the name through the trigram index.
- Latin letters: prefix ranges on ``person.name_initials`` and ``person.name_pinyin``.
- Digits (3+): the trigram index ``person_search_fts`` over ID number, phone and name (substring);
  also a room number. 1–2 digits: a building number.
- An address ("3-2-501", "3栋2单元"): building / unit / room equality.
Several words separated by spaces must all match (AND).

The household list is ``FROM (<matches>) AS m JOIN household h …``: ``m`` holds each matching
household once with its best rank (0 = exact), so the best matches come first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.models.core.db import Database
from app.models.core.list_query import Condition, ExportView, ListQuery, column_alias, dict_rows
from app.models.core.vocab import LabourAbility
from app.models.migrations.m0002_registry import PERSON_TEXT
from app.models.registry import households

MATCH_CAP = 2000  # people per broad branch of a one-word search (see person_matches)
EXT_MIN = 6  # digits typed before the county's household numbers are searched too
MAX_TERM = 40  # longer words cannot be a name, number or address; they are cut, not refused
SPECIAL_GROUPS: dict[str, str] = {
    "sg_left_behind_child": "留守儿童",
    "sg_elderly_alone": "孤寡老人",
    "sg_disabled": "残疾",
    "sg_incapacitated": "失能",
    "sg_hospitalised": "住院",
}
LABOUR_ABILITIES: list[str] = list(LabourAbility)

_DIGITS = re.compile(r"^[0-9]+[Xx]?$")
_LETTERS = re.compile(r"^[A-Za-z]+$")
_HOUSEHOLD_NUMBER = re.compile(r"^[A-Za-z]{1,8}-?[0-9]+$")

# Queries name their index (INDEXED BY): other features add indexes on person (deleted, labour
# ability …) and without ANALYZE statistics SQLite may pick one of those and scan 100,000 rows.
# LEFT JOINs throughout: SQLite drops a LEFT JOIN on a primary key whose columns a query does
# not use, so counting touches only the household_order index.
# A digits search shows which field matched beside the name, so the clerk sees why the row is here.
_WHO_BY_DIGITS = ("CASE WHEN instr(coalesce(ps.phone, ''), ?) > 0 THEN ps.name || '（电话 ' || ps.phone || '）' "
                  "ELSE ps.name || '（身份证号）' END")
# The trigram index's matches with their person (household, deleted flag, name), by primary key.
_FTS_JOIN = ("person_search_fts f JOIN person_search s ON s.rid = f.rowid "
             "JOIN person ps ON ps.id = s.person_id")
HOUSEHOLD_JOINS = (
    "LEFT JOIN household h ON h.id = o.household_id "
    f"{households.PLACE_JOINS} LEFT JOIN person hp ON hp.id = h.head_person_id"
)


# Households with a current member whose ID number needs attention.
ID_STATES = {"unverified": "身份证待核实", "missing": "身份证待补录"}
_ID_STATE_SQL = {
    "unverified": "idc.id_unverified IS NOT NULL",
    "missing": "idc.id_number IS NULL",
}


@dataclass
class Filters:
    """The filter widgets beside the search box; None means "any"."""

    building_id: str | None = None
    grid_id: str | None = None
    tag: str | None = None
    risk_colour: str | None = None
    special_group: str | None = None  # a column of SPECIAL_GROUPS
    labour_ability: str | None = None
    id_state: str | None = None  # a key of ID_STATES
    origin_township: str | None = None
    include_gone: bool = False  # households moved away / cancelled
    deleted_only: bool = False  # the tombstoned households, to restore one


@dataclass
class Search:
    """A household query: FROM, WHERE and params, and whether it carries a rank column ``m.rank``."""

    from_sql: str
    where: str
    params: list[Any] = field(default_factory=list)  # FROM params first, then WHERE params
    ranked: bool = False
    words: list[str] = field(default_factory=list)
    count_from_sql: str = ""  # the FROM without the joins that only feed displayed columns
    capped: tuple[str, list[Any]] | None = None  # the capped match query, if any
    names_people: bool = False  # the driving word may name a person (so m.who is worth showing)

    def truncated(self, db: Database) -> bool:
        """True if a capped branch stopped at MATCH_CAP people: the list is not complete."""
        if self.capped is None:
            return False
        sql, params = self.capped
        return int(db.scalar(f"SELECT count(*) FROM ({sql})", params)) >= MATCH_CAP

    def count(self, db: Database) -> int:
        where = f" WHERE {self.where}" if self.where else ""
        return int(db.scalar(f"SELECT count(*) FROM {self.count_from_sql or self.from_sql}{where}", self.params))

    def query(self) -> ListQuery:
        """The households found, as a list query (ids ``o.household_id``)."""
        return ListQuery(self.from_sql, self.where, tuple(self.params), id_sql="o.household_id")

    def _display(self, columns: Sequence[tuple[str, str]]) -> str:
        # A ranked search shows which member matched ("who"), carried through the page query as pg._who.
        return ", ".join(f"{'pg._who' if key == 'who' and self.ranked else sql} AS {column_alias(key)}"
                         for key, sql in columns)

    def page(self, db: Database, columns: Sequence[tuple[str, str]], order: str, limit: int, offset: int,
             *, narrow: bool) -> list[dict[str, Any]]:
        """One page of the household list in `order`, in two steps ("deferred join").

        The inner query picks the page's household ids computing nothing but the sort key, then
        only those rows get their display columns (head, size, derived tags …): SQLite would
        otherwise compute every column of every matching row before sorting (0.6 s for a sort by
        户号 at 25,000 households). `narrow`: the order is a key of household_order, so the inner
        query can count from the lean FROM.
        """
        inner = (
            "SELECT o.household_id AS _hid"
            + (", m.rank AS _rank, m.who AS _who" if self.ranked else "")
            + f" FROM {self.count_from_sql if narrow else self.from_sql}"
            + (f" WHERE {self.where}" if self.where else "")
            + f" ORDER BY {order}, o.household_id LIMIT ? OFFSET ?"
        )
        sql = (
            f"SELECT o.household_id AS _id, {self._display(columns)} FROM ({inner}) AS pg "
            f"JOIN household_order o ON o.household_id = pg._hid {HOUSEHOLD_JOINS} "
            f"ORDER BY {order.replace('m.rank', 'pg._rank')}, pg._hid"
        )
        return dict_rows(db, sql, [*self.params, limit, offset])

    def ordered(self, db: Database, order: str) -> list[tuple[Any, ...]]:
        """Every household found in `order`: (id, rank, who) when ranked, else (id,)."""
        sql = (f"SELECT o.household_id{', m.rank, m.who' if self.ranked else ''} "
               f"FROM {self.from_sql}" + (f" WHERE {self.where}" if self.where else "")
               + f" ORDER BY {order}, o.household_id")
        return [tuple(r) for r in db.conn.execute(sql, self.params)]

    def rows_at(self, db: Database, columns: Sequence[tuple[str, str]], chunk: Sequence[Sequence[Any]]
                ) -> list[dict[str, Any]]:
        """The display rows of `chunk` (entries of :meth:`ordered`), in that order."""
        inner = ("SELECT json_extract(value, '$[0]') AS _hid, json_extract(value, '$[2]') AS _who, "
                 "CAST(key AS INTEGER) AS _pos FROM json_each(?)")
        sql = (
            f"SELECT o.household_id AS _id, {self._display(columns)} FROM ({inner}) AS pg "
            f"JOIN household_order o ON o.household_id = pg._hid {HOUSEHOLD_JOINS} "
            "ORDER BY pg._pos"
        )
        return dict_rows(db, sql, [json.dumps([list(c) for c in chunk])])

    def household_ids(self, db: Database, limit: int = 1000) -> list[str]:
        """Best first (rank, then address); for tests and the CLI."""
        where = f" WHERE {self.where}" if self.where else ""
        order = ("m.rank, " if self.ranked else "") + "o.addr_key"
        rows = db.query(
            f"SELECT o.household_id FROM {self.from_sql}{where} ORDER BY {order}, o.household_id LIMIT ?",
            [*self.params, limit],
        )
        return [r[0] for r in rows]


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def words_of(text: str) -> list[str]:
    text = (text or "").replace("\u3000", " ").strip()
    return [w[:MAX_TERM] for w in text.split() if w][:5]


@dataclass(frozen=True)
class Term:
    """One word typed into a search box and what kind of key it is (see :func:`classify`)."""

    word: str
    kind: str


def parse(text: str) -> list[Term]:
    """What a clerk typed, as the words every search box of the program reads alike.

    The registry (:func:`build`) and the resident searches of the other ledgers
    (:func:`person_condition`) both start here, so a word means the same everywhere.
    """
    return [Term(w, classify(w)) for w in words_of(text)]


def classify(word: str) -> str:
    """'number' (household number such as HLX-000123), 'address', 'digits', 'letters' or 'name'."""
    if _HOUSEHOLD_NUMBER.match(word):
        return "number"
    if households.parse_address(word) is not None:
        return "address"
    if _DIGITS.match(word):
        return "digits"
    if _LETTERS.match(word):
        return "letters"
    return "name"


def _capped(sql: str, cap: int | None) -> str:
    return f"SELECT * FROM ({sql} LIMIT {int(cap)})" if cap else sql


def person_matches(word: str, cap: int | None = None) -> tuple[str, list[Any]] | None:
    """SELECT of (household_id, rank, who) of persons matching one word, or None if the word is not personal.

    Each branch is a range scan of a covering index (or the trigram index), never a table scan.
    With `cap`, the broad (prefix / substring) branches stop after that many people, so a
    one-letter or "5321" query costs a few milliseconds; exact matches are separate branches
    and are never cut.
    """
    kind = classify(word)
    live = "deleted = 0 AND household_id IS NOT NULL"
    if kind == "letters":
        w = word.lower()
        hi = _next_prefix(w)
        parts = [
            f"SELECT household_id, 0 AS rank, name AS who FROM person INDEXED BY person_by_initials "
            f"WHERE name_initials = ? AND {live}",
            _capped("SELECT household_id, 1 AS rank, name AS who FROM person INDEXED BY person_by_initials "
                    f"WHERE name_initials > ? AND name_initials < ? AND {live}", cap),
        ]
        params: list[Any] = [w, w, hi]
        if len(w) > 1:
            parts += [
                f"SELECT household_id, 0, name FROM person INDEXED BY person_by_pinyin WHERE name_pinyin = ? AND {live}",
                _capped("SELECT household_id, 2, name FROM person INDEXED BY person_by_pinyin "
                        f"WHERE name_pinyin > ? AND name_pinyin < ? AND {live}",
                        cap),
            ]
            params += [w, w, hi]
        return " UNION ALL ".join(parts), params
    if kind == "digits":
        w = word.upper()
        if len(w) < 3:
            return None
        # The indexed text is "<id number>|<phone>|<name>": an ID starting with the digits ranks
        # before the digits anywhere (an exact ID or phone has its own branch, rank 0).
        return (
            "SELECT household_id, 0 AS rank, name || '（身份证号）' AS who FROM person INDEXED BY person_id_number "
            f"WHERE id_number = ? AND {live} "
            "UNION ALL SELECT household_id, 0, name || '（电话 ' || phone || '）' FROM person INDEXED BY person_phone "
            f"WHERE phone = ? AND {live} UNION ALL "
            + _capped(
                f"SELECT ps.household_id, CASE WHEN {search_text('ps')} LIKE ? THEN 1 ELSE 2 END, {_WHO_BY_DIGITS} "
                f"FROM {_FTS_JOIN} WHERE person_search_fts MATCH ? AND ps.deleted = 0 AND ps.household_id IS NOT NULL",
                cap,
            ),
            [w, w, w + "%", w, _fts_phrase(w)],
        )
    if kind == "name":
        parts = [
            f"SELECT household_id, 0 AS rank, name AS who FROM person INDEXED BY person_by_name WHERE name = ? AND {live}",
            _capped("SELECT household_id, 1, name FROM person INDEXED BY person_by_name "
                    f"WHERE name > ? AND name < ? AND {live}", cap),
        ]
        params = [word, word, _next_prefix(word)]
        if len(word) >= 3:
            parts.append(_capped(
                f"SELECT ps.household_id, 3, ps.name FROM {_FTS_JOIN} "
                "WHERE person_search_fts MATCH ? AND ps.deleted = 0 AND ps.household_id IS NOT NULL", cap))
            params.append('"' + word.replace('"', '""') + '"')
        return " UNION ALL ".join(parts), params
    return None


def _rooms_where(cond: str) -> str:
    """Households whose room satisfies `cond` over r2/u2/b2, as a set of household ids."""
    return (
        "SELECT h2.id FROM household h2 INDEXED BY household_room WHERE h2.room_id IN (SELECT r2.id FROM room r2 "
        f"JOIN unit u2 ON u2.id = r2.unit_id JOIN building b2 ON b2.id = u2.building_id WHERE {cond})"
    )


def household_matches(word: str) -> tuple[str, list[Any]] | None:
    """SELECT of household ids for a word that names a place (address, building or room number)."""
    kind = classify(word)
    if kind == "address":
        addr = households.parse_address(word)
        assert addr is not None
        sql, params = households.building_match_sql(addr.building)
        sql = sql.replace("b.", "b2.")
        if addr.unit is not None:
            sql += " AND u2.number = ?"
            params.append(addr.unit)
        if addr.room:
            sql += " AND r2.number = ?"
            params.append(addr.room)
        return _rooms_where(sql), params
    if kind == "digits" and len(word) <= 4 and word.isdigit():
        if len(word) <= 2:
            return _rooms_where("b2.number = ?"), [int(word)]
        return ("SELECT h2.id FROM room r2 INDEXED BY room_number JOIN household h2 INDEXED BY household_room "
                "ON h2.room_id = r2.id WHERE r2.number = ?"), [word]
    return None


def matcher(word: str, cap: int | None = None) -> tuple[str, list[Any]] | None:
    """SELECT of (household_id, rank, who) for one word: people and places it may name. None: nothing can match."""
    person = person_matches(word, cap)
    place = household_matches(word)
    # A household number (户号) typed in full or from its start; digits may be a number like 000123.
    number = word.upper()
    parts: list[str] = [_capped(
        "SELECT id AS household_id, CASE WHEN number = ? THEN 0 ELSE 1 END AS rank, NULL AS who "
        "FROM household INDEXED BY household_number WHERE number >= ? AND number < ? AND deleted = 0", cap)]
    params: list[Any] = [number, number, _next_prefix(number)]
    if classify(word) not in ("number", "digits") or (classify(word) == "digits" and len(word) < 4):
        parts, params = [], []
    if classify(word) == "digits" and len(word) >= EXT_MIN:
        # The county's household number (ext_number), typed in full or from its start.
        parts.append(_capped("SELECT id AS household_id, 0 AS rank, NULL AS who FROM household "
                             "WHERE ext_number >= ? AND ext_number < ? AND deleted = 0", cap))
        params += [word, _next_prefix(word)]
    if place is not None:
        parts.append(f"SELECT id AS household_id, 0 AS rank, NULL AS who FROM ({place[0]})")
        params += place[1]
    if person is not None:
        parts.append(person[0])
        params += person[1]
    if not parts:
        return None
    return " UNION ALL ".join(parts), params


def filters_sql(db: Database, f: Filters) -> tuple[list[str], list[Any]]:
    if f.deleted_only:
        where: list[str] = ["o.state = 2"]
    else:
        where = ["o.state <= 1" if f.include_gone else "o.state = 0"]
    params: list[Any] = []
    if f.building_id:
        where.append(f"o.household_id IN ({_rooms_where('b2.id = ?')})")
        params.append(f.building_id)
    if f.grid_id:
        where.append(f"o.household_id IN ({_rooms_where('b2.grid_id = ?')})")
        params.append(f.grid_id)
    if f.tag:
        sql, p = households.tag_sql(db, f.tag)
        where.append(sql)
        params += p
    if f.risk_colour:
        where.append("h.risk_colour = ?")
        params.append(f.risk_colour)
    if f.special_group:
        if f.special_group not in SPECIAL_GROUPS:
            raise ValueError(f.special_group)
        where.append(
            f"EXISTS (SELECT 1 FROM person sg INDEXED BY person_household_status WHERE sg.household_id = o.household_id "
            "AND sg.deleted = 0 "
            f"AND sg.status = '在册' AND sg.{f.special_group} = 1)"
        )
    if f.labour_ability:
        where.append(
            "EXISTS (SELECT 1 FROM person la INDEXED BY person_household_status WHERE la.household_id = o.household_id "
            "AND la.deleted = 0 "
            "AND la.status = '在册' AND la.labour_ability = ?)"
        )
        params.append(f.labour_ability)
    if f.id_state:
        where.append(
            "EXISTS (SELECT 1 FROM person idc WHERE idc.household_id = o.household_id AND idc.deleted = 0 "
            f"AND idc.status = '在册' AND {_ID_STATE_SQL[f.id_state]})"
        )
    if f.origin_township:
        where.append("h.origin_township = ?")
        params.append(f.origin_township)
    return where, params


def word_check(word: str) -> tuple[str, list[Any]] | None:
    """A condition over ``o.household_id`` for a word that narrows a driven search.

    It is checked per candidate household (members through an index), so a broad word such as
    "王" or "5321" costs little when another word has already chosen a few hundred households.
    """
    kind = classify(word)
    member = "EXISTS (SELECT 1 FROM person px INDEXED BY person_household_status " \
             "WHERE px.household_id = o.household_id AND px.deleted = 0 AND {cond})"
    alternatives: list[str] = []
    params: list[Any] = []
    place = household_matches(word)
    if place is not None:
        alternatives.append(f"o.household_id IN ({place[0]})")
        params += place[1]
    if kind == "number":
        w = word.upper()
        alternatives.append("o.household_id IN (SELECT id FROM household INDEXED BY household_number "
                            "WHERE number >= ? AND number < ?)")
        params += [w, _next_prefix(w)]
    elif kind == "letters":
        w = word.lower()
        alternatives.append(member.format(
            cond="((px.name_initials >= ? AND px.name_initials < ?) OR (px.name_pinyin >= ? AND px.name_pinyin < ?))"))
        params += [w, _next_prefix(w), w, _next_prefix(w)]
    elif kind == "digits" and len(word) >= 3:
        if len(word) >= EXT_MIN:
            alternatives.append("o.household_id IN (SELECT id FROM household WHERE ext_number >= ? AND ext_number < ?)")
            params += [word, _next_prefix(word)]
        alternatives.append(
            "EXISTS (SELECT 1 FROM person px INDEXED BY person_household_status "
            f"WHERE px.household_id = o.household_id AND px.deleted = 0 AND instr({search_text('px')}, ?) > 0)")
        params.append(word.upper())
    elif kind == "name":
        if len(word) >= 3:
            alternatives.append(member.format(cond="instr(px.name, ?) > 0"))
            params.append(word)
        else:
            alternatives.append(member.format(cond="px.name >= ? AND px.name < ?"))
            params += [word, _next_prefix(word)]
    if not alternatives:
        return None
    return "(" + " OR ".join(alternatives) + ")", params


_DRIVER_PRIORITY = {"address": 0, "number": 1}


def build(db: Database, text: str, filters: Filters | None = None) -> Search:
    """The household query for what is typed in the search box and the chosen filters.

    One word drives the query (``m``, with a rank): an address or household number if there is
    one (small, exact sets), else the longest word. Its broad branches are capped (see
    person_matches); the other words are checked per candidate household (see word_check).
    """
    filters = filters or Filters()
    terms = parse(text)
    words = [t.word for t in terms]
    where, where_params = filters_sql(db, filters)
    order = sorted(range(len(terms)), key=lambda i: (_DRIVER_PRIORITY.get(terms[i].kind, 2), -len(words[i]), i))
    driver: tuple[str, list[Any]] | None = None
    driver_kind = ""
    for i in order:
        word = words[i]
        found = matcher(word, MATCH_CAP) if driver is None else word_check(word)
        if found is None:
            where.append("0")  # e.g. "12" that is no building: nothing can match
            continue
        if driver is None:
            driver, driver_kind = found, terms[i].kind
            continue
        where.append(found[0])
        where_params += found[1]
    where_sql = " AND ".join(where)
    h_join = " LEFT JOIN household h ON h.id = o.household_id" if "h." in where_sql.replace("h2.", "") else ""
    if driver is None:
        from_sql = f"household_order o {HOUSEHOLD_JOINS}"
        count_from = f"household_order o{h_join}"
        from_params: list[Any] = []
    else:
        # `who` is a bare column next to min(): SQLite takes it from the best-ranked row.
        m = f"(SELECT household_id, min(rank) AS rank, who FROM ({driver[0]}) GROUP BY household_id) AS m"
        from_sql = f"{m} JOIN household_order o ON o.household_id = m.household_id {HOUSEHOLD_JOINS}"
        count_from = f"{m} JOIN household_order o ON o.household_id = m.household_id{h_join}"
        from_params = driver[1]
    search = Search(from_sql, where_sql, [*from_params, *where_params], driver is not None, words, count_from)
    search.capped = driver
    search.names_people = driver is not None and driver_kind != "address"
    return search


def persons_where(search: Search) -> tuple[str, list[Any]]:
    """The residents of the households `search` finds, as a WHERE over aliases p and h (see RegistryTab.export_query)."""
    inner = f"SELECT o.household_id FROM {search.from_sql}" + (f" WHERE {search.where}" if search.where else "")
    return f"p.deleted = 0 AND h.id IN ({inner})", list(search.params)


def residents_view(search: Search) -> ExportView:
    """"Export what I see" of the registry: the residents (not deleted; any status) of every
    household `search` finds, as rows of the residents ledger."""
    where, params = persons_where(search)
    return ExportView("residents", Condition(where, tuple(params)))


_FTS_PERSONS = ("SELECT s.person_id FROM person_search_fts f JOIN person_search s ON s.rid = f.rowid "
                "WHERE person_search_fts MATCH ?")
# A word that names this many residents or more by pinyin, by ID number / phone / name (trigram
# index), or a quarter as many households by number, is tested resident by resident (see
# _person_term): a list in name order then stops after its first page, a capped count after its
# cap, instead of gathering 100,000 ids first ("532" heads nearly every ID number, "HLX-0" every
# household number, "l" a quarter of the names). At 100,000 residents the two forms cost the same
# (about 60 ms for count and page) near 8,000 hits: fewer are cheaper as a set, more per person.
BROAD_HITS = 8000


def _fts_phrase(word: str) -> str:
    return '"' + word.upper().replace('"', '""') + '"'


def search_text(p: str) -> str:
    """SQL of the text the trigram index holds for person alias `p` (it keeps no copy, m0040):
    "<ID number>|<phone>|<name>"."""
    return PERSON_TEXT.format(p=p)


@dataclass(frozen=True)
class _Households:
    """The households a word names: places (SELECTs of ids) and prefix ranges of a number column."""

    places: list[tuple[str, list[Any]]]
    ranges: list[tuple[str, str, str]]  # (column of household, low, high)

    def sql(self) -> tuple[str, list[Any]]:
        """One SELECT of their ids ("" if none)."""
        parts = [sql for sql, _ in self.places]
        params = [x for _, ps in self.places for x in ps]
        for column, lo, hi in self.ranges:
            hint = " INDEXED BY household_number" if column == "number" else ""
            parts.append(f"SELECT id FROM household{hint} WHERE {column} >= ? AND {column} < ?")
            params += [lo, hi]
        return " UNION ALL ".join(parts), params

    def tests(self, p: str) -> tuple[list[str], list[Any]]:
        """Per-person tests of the same: membership of the (small) places, a look-up for a range."""
        tests = [f"+{p}.household_id IN ({sql})" for sql, _ in self.places]
        params = [x for _, ps in self.places for x in ps]
        for column, lo, hi in self.ranges:
            tests.append(f"EXISTS (SELECT 1 FROM household hx WHERE hx.id = {p}.household_id "
                         f"AND hx.{column} >= ? AND hx.{column} < ?)")
            params += [lo, hi]
        return tests, params


def _households_of(term: Term) -> _Households:
    """The households a word names (place, household number, the county's number)."""
    word, kind = term.word, term.kind
    place = household_matches(word)
    found = _Households([place] if place is not None else [], [])
    if kind == "number" or (kind == "digits" and len(word) >= 4 and word.isdigit()):
        w = word.upper()
        found.ranges.append(("number", w, _next_prefix(w)))
    if kind == "digits" and len(word) >= EXT_MIN:
        found.ranges.append(("ext_number", word, _next_prefix(word)))
    return found


def _letters_rowids(word: str) -> tuple[str, list[Any]]:
    """SELECT of the rowids of persons whose pinyin initials or full pinyin start with `word` (read
    from the two name indexes alone)."""
    w = word.lower()
    return ("SELECT rowid FROM person WHERE name_initials >= ? AND name_initials < ? "
            "UNION ALL SELECT rowid FROM person WHERE name_pinyin >= ? AND name_pinyin < ?",
            [w, _next_prefix(w), w, _next_prefix(w)])


WALK_INDEX = "person_by_pinyin"  # the order (p.name_pinyin) a broad search's list walks


def is_broad(db: Database, term: Term) -> bool:
    """True if `term` is letters, a digits word or a household number that names very many residents (see
    BROAD_HITS). The indexes stop counting at the threshold, so this costs about a millisecond."""
    if term.kind == "letters":
        sql, params = _letters_rowids(term.word)
        return int(db.scalar(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, BROAD_HITS])) >= BROAD_HITS
    if term.kind not in ("digits", "number") or (term.kind == "digits" and len(term.word) < 3):
        return False
    if term.kind == "digits":
        hits = db.scalar("SELECT count(*) FROM (SELECT rowid FROM person_search_fts WHERE person_search_fts MATCH ? "
                         "LIMIT ?)", [_fts_phrase(term.word), BROAD_HITS])
        if int(hits) >= BROAD_HITS:
            return True
    households_sql, params = _households_of(term).sql()
    if not households_sql:
        return False
    many = BROAD_HITS // 4
    hits = db.scalar(f"SELECT count(*) FROM ({households_sql} LIMIT ?)", [*params, many])
    return int(hits) >= many


def _person_term(term: Term, p: str, broad: bool = False) -> Condition:
    """One word as a condition over person alias `p`: the person's own keys (name, pinyin, ID
    number, phone) or their household's place or number — what the word finds in the registry.

    Whatever may match is gathered as one set of person ids (households by index, then their
    members; substrings through the trigram index), so SQLite builds it once instead of testing
    several IN lists for every person. A `broad` word (see :func:`is_broad`) is instead tested per
    person: their pinyin starts with the letters, their household is one the word names, or their
    ID number, phone and name (:func:`search_text`, what the trigram index holds) contain the
    digits. The same people either way: the trigram phrase of a digits word is a substring test,
    and upper() folds the "x" of an ID number as the index does.
    """
    word, kind = term.word, term.kind
    if kind == "letters" and broad:
        # Tested per person ("+": not an index to drive by), so a list in name order walks its
        # index and stops after a page instead of sorting the 24,000 people of "l".
        sql, letter_params = _letters_rowids(word)
        return Condition(f"+{p}.rowid IN ({sql})", tuple(letter_params))
    if kind == "letters":
        w = word.lower()
        return Condition(f"(({p}.name_initials >= ? AND {p}.name_initials < ?) "
                         f"OR ({p}.name_pinyin >= ? AND {p}.name_pinyin < ?))",
                         (w, _next_prefix(w), w, _next_prefix(w)))
    if kind == "name" and len(word) < 3:
        return Condition(f"({p}.name >= ? AND {p}.name < ?)", (word, _next_prefix(word)))
    households = _households_of(term)
    substring = (kind == "digits" and len(word) >= 3) or kind == "name"
    if broad:
        tests, params = households.tests(p)
        if substring:
            tests.append(f"instr(upper({search_text(p)}), ?) > 0")
            params.append(word.upper())
        return Condition("(" + " OR ".join(tests) + ")", tuple(params))
    households_sql, params = households.sql()
    sets: list[str] = []
    if households_sql:
        sets.append(f"SELECT px.id FROM person px WHERE px.household_id IN ({households_sql})")
    if substring:
        # An ID number or phone containing the digits, or a name containing 3+ characters.
        sets.append(_FTS_PERSONS)
        params.append(_fts_phrase(word))
    if not sets:
        return Condition("0")  # e.g. "12" that is no building: nothing can match
    return Condition(f"{p}.id IN ({' UNION '.join(sets)})", tuple(params))


def person_condition(text: str, alias: str = "p", db: Database | None = None) -> Condition:
    """What is typed, as a condition over the persons of a list (alias `alias`); every word must match.

    The same grammar as the registry search (:func:`parse`): a name (prefix; 3+ characters
    anywhere), pinyin initials or full pinyin, an ID number or phone fragment (3+ digits), an
    address ("3-2-501", "3栋2单元"), a building (1–2 digits) or room number (3–4 digits), a
    household number. Nothing typed: no condition.

    With `db`, a word that names nearly everyone ("532", "HLX-0") is written to be tested per
    person (see :func:`is_broad`): the same people, but a search box's first page and its capped
    count (``ListQuery.count_upto``) stay fast at 100,000 residents.
    """
    terms = [(t, db is not None and is_broad(db, t)) for t in parse(text)]
    cond = Condition.all_of(_person_term(t, alias, broad) for t, broad in terms)
    if any(broad for _t, broad in terms):
        # A list in pinyin order walks the pinyin index and stops after a page; SQLite would
        # otherwise start from the households (the index covers no household) and sort them all.
        cond = replace(cond, walk=WALK_INDEX)
    return cond

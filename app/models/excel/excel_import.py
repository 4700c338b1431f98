"""Importing existing Excel ledgers: a dry run that explains every bad row, then an all-or-nothing
(or valid-rows-only) apply, and the error workbook for the clerk.

The resident ledger is planned here; every other ledger's planner is a :class:`LedgerImporter` in
the registry (IMPORTERS), found by its header. Reading and the shared checks: app.models.excel.excel_read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.core.db import Database, new_id
from app.models.core.errors import KnownError
from app.models.core.logs import file_ref, logged
from app.models.core.pinyin import name_pinyin
from app.models.core.safe_files import atomic_file, check_zip
from app.models.excel import excel_import_county as county
from app.models.excel import excel_import_ledgers, excel_import_mediation, excel_import_rooms
from app.models.excel.excel_read import (
    FIELDS_BY_KEY,
    FORMULA_PROBLEM,
    HEADER_SCAN_ROWS,
    HOUSEHOLD_COLS,
    MAX_ROWS,
    PERSON_COLS,
    PROGRESS_EVERY,
    RESIDENT_ALIASES,
    RESIDENT_FIELDS,
    RISK_DISPLAY,
    TAG_COLUMNS,
    CellError,
    CellProblem,
    HeaderNotFound,
    ImportCancelled,
    ImportPlan,
    LedgerImporter,
    Places,
    ProgressFn,
    RowResult,
    Sheet,
    SheetInput,
    cell_show,
    check_file,
    checkpoint,
    chunks,
    col_letter,
    convert_row,
    file_fingerprint,
    find_header,
    formula_cells,
    likely_header,
    norm_header,
    place_text,
    query_in,
    same_ethnicity,
    tags_text,
    update_household,
    with_remembered,
)

# -- the dry run -------------------------------------------------------------------------------


def choose_importer(ledger: str | None, header_cells: list[Any], file_name: str) -> LedgerImporter:
    """The importer the clerk asked for (refused if the header is not that ledger's), or the one
    the header looks like."""
    if ledger is None:
        return next(imp for imp in IMPORTERS.values() if imp.looks_like(header_cells))
    importer = IMPORTERS[ledger]
    if not importer.looks_like(header_cells):
        raise KnownError(f"“{file_name}”{importer.refusal}")
    return importer


@logged("excel.plan", facts=lambda a: {"file": file_ref(a["path"]), "ledger": a["ledger"]},
        summary=lambda plan: {"ledger": plan.ledger, **plan.counts})
def plan_import(
    db: Database,
    path: str | Path,
    *,
    ledger: str | None = None,
    sheet: str | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    create_places: bool = False,
) -> ImportPlan:
    """Read and validate the whole file without writing anything; the plan says what would change.

    `ledger` is one of IMPORTERS ("residents", "employment" …); None tells them apart by the header.
    `create_places`: buildings, units and rooms the file names but the office lacks are created
    by the import (else those rows are errors).
    """
    path = Path(path)
    if ledger not in (None, *IMPORTABLE):
        raise KnownError(
            f"暂不支持导入“{ledger}”台账；目前可导入：{'、'.join(f'{k}（{v}）' for k, v in IMPORTABLE.items())}。"
        )
    kind = check_file(path)
    source = file_fingerprint(path)
    book = Sheet(path, kind, sheet)
    stamp = int(db.scalar("SELECT coalesce(max(op_id), 0) FROM change_log") or 0)
    head = _read_header(db, book, path, sheet)
    importer = choose_importer(ledger, head.cells, path.name)
    columns, headers, ignored = _map_columns(
        head, head.aliases if importer.mappable else importer.aliases, importer.labels, book.name)
    plan = ImportPlan(path, importer.kind, book.name, head.row + 1, columns, headers, ignored, [], stamp,
                      source=source)
    plan.extra["options"] = {"create_places": create_places}
    formulas = formula_cells(path, book.name) if kind == "xlsx" else set()
    importer.plan(db, plan, head.input(book, formulas, create_places), progress=progress, cancelled=cancelled)
    return plan


@dataclass
class _Header:
    """The header row found in a sheet, and the sheet's rows around it."""

    row: int  # 0-based
    cells: list[Any]
    head_rows: list[tuple[int, list[Any]]]  # the first rows read to find it
    rest: Iterator[tuple[int, list[Any]]] | None  # the rows after those
    aliases: dict[str, str]  # the residents' header names, with the clerk's remembered mapping
    ignore: set[str]  # headers the clerk chose to leave out

    def data_rows(self) -> Iterator[tuple[int, list[Any]]]:
        yield from ((r, cells) for r, cells in self.head_rows if r > self.row)
        if self.rest is not None:
            yield from self.rest

    def input(self, book: Sheet, formulas: set[tuple[int, int]], create_places: bool) -> SheetInput:
        """What the ledger's planner reads."""
        sample = next((cells for r, cells in self.head_rows if r > self.row and any(v is not None for v in cells)), [])

        def release() -> None:
            # The sheet's cells (~190 MB for 100k rows in calamine) are no longer needed.
            self.rest = None
            self.head_rows.clear()
            book.close()

        return SheetInput(self.data_rows(), max(book.height - self.row - 1, 1), self.cells, sample, formulas,
                          create_places, release)


def _read_header(db: Database, book: Sheet, path: Path, sheet: str | None) -> _Header:
    """The header: on the first sheet that has one (or the sheet asked for)."""
    head_rows: list[tuple[int, list[Any]]] = []
    for name in [book.name] if sheet else book.names:
        if name != book.name:
            book.open(name)
        it = iter(book.rows())
        head_rows = []
        for r, cells in it:
            head_rows.append((r, cells))
            if len(head_rows) >= HEADER_SCAN_ROWS:
                break
        aliases, ignore = with_remembered(db, head_rows, book.merged)
        header = find_header(head_rows, book.merged, aliases)
        for other in HEADER_SEARCH:
            finder = IMPORTERS[other].find_header
            if header is None and finder is not None:
                header = finder(head_rows, book.merged)
        if header is not None:
            return _Header(header[0], header[1], head_rows, it, aliases, ignore)
    if not any(any(v is not None for v in cells) for _, cells in head_rows):
        raise KnownError(f"“{path.name}”的工作表“{book.name}”是空的，没有可导入的数据。")
    likely = likely_header(head_rows, book.merged)
    missing = HeaderNotFound(likely, book.name,
        f"在“{path.name}”中找不到表头：前 {HEADER_SCAN_ROWS} 行里没有一行同时含有“姓名”和“身份证号”（或“户编号”），"
        "也没有“户编号”“走访日期”“走访类型”。请确认表头文字，例如：户编号、姓名、身份证号、性别、出生日期、"
        "联系电话、楼栋、单元、房号。"
    )
    if likely is not None:
        missing.sample = next((c for r, c in head_rows if r > likely[0] and any(v is not None for v in c)), [])
    raise missing


def _map_columns(head: _Header, aliases: Mapping[str, str], labels: Mapping[str, str], sheet: str
                 ) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """(field key → column, field key → header as in the file, headers not imported)."""
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for c, cell in enumerate(head.cells):
        if cell is None:
            continue
        key = aliases.get(norm_header(cell))
        if key is None:
            if norm_header(cell) not in head.ignore:  # a column the clerk chose to leave out
                ignored.append(str(cell))
            continue
        if key in columns:
            raise KnownError(
                f"工作表“{sheet}”第 {head.row + 1} 行的表头重复："
                f"第 {col_letter(columns[key])} 列“{headers[key]}”和第 {col_letter(c)} 列“{cell}”是同一项"
                f"（{labels[key]}）。请删除或改名其中一列后再导入。"
            )
        columns[key] = c
        headers[key] = str(cell)
    return columns, headers, ignored


def _plan_residents(db: Database, plan: ImportPlan, sheet: SheetInput, *, progress: ProgressFn | None = None,
                    cancelled: Callable[[], bool] | None = None) -> None:
    """Convert every row, form the households, match and diff: the resident ledger's dry run."""
    columns, headers, book_name, formulas = plan.columns, plan.headers, plan.sheet, sheet.formulas
    import_columns = {k: c for k, c in columns.items() if FIELDS_BY_KEY[k].import_}
    total = sheet.total
    raw: list[tuple[int, dict, list]] = []
    memo: dict[str, dict[Any, tuple[bool, Any]]] = {}
    for n, (r, cells) in enumerate(sheet.rows):
        checkpoint(n, total, progress, cancelled, "正在检查每一行…")
        if n >= MAX_ROWS:
            raise KnownError(f"数据超过一次导入的上限 {MAX_ROWS} 行。请拆分成几个文件分批导入。")
        if not any(cells[c] is not None for c in import_columns.values() if c < len(cells)):
            continue
        values, problems = convert_row(cells, import_columns, memo)
        errs = [
            CellError(book_name, r + 1, headers[k], columns[k], v, p.problem, p.hint) for k, v, p in problems
        ]
        for c in sorted(c for c in import_columns.values() if (r, c) in formulas):
            key = next(k for k, cc in import_columns.items() if cc == c)
            errs.append(CellError(book_name, r + 1, headers[key], c, cells[c] if c < len(cells) else None,
                                  *FORMULA_PROBLEM))
        raw.append((r, values, errs))
    if not raw:
        raise KnownError(f"工作表“{book_name}”在表头（第 {plan.header_row} 行）下面没有数据。")
    if progress is not None:
        progress(total, total, "正在与现有数据比对…")
    plan.extra["header_cells"] = sheet.header_cells
    plan.extra["sample"] = sheet.sample
    sheet.release()  # free the sheet's cells before the households are formed
    county.form_households(db, plan, raw, create=sheet.create_places)
    _match(db, plan, raw)
    reasons = plan.extra.pop("reasons", {})
    for res in plan.rows:
        res.reason = reasons.get(res.row, "")
    county.maybe_same(db, plan)


Err = Callable[..., CellError]


@dataclass
class _Known:
    """What the database holds for the file's rows, fetched only for the numbers in the file."""

    by_id: dict[str, list[dict]]  # ID number → the residents with it
    households: dict[str, dict]  # household number → its row
    dup_households: set[str]  # numbers used by two households
    by_name: dict[tuple[str, str], list[dict]]  # (household number, name) → residents
    places: Places
    occupants: dict[str, tuple[str, str, str | None]]  # room → (household id, number, head's name)


def _match(db: Database, plan: ImportPlan, raw: list[tuple[int, dict, list]]) -> None:
    """Match each row to a resident (or none: new), diff it against the database, classify it."""
    sheet, headers, columns = plan.sheet, plan.headers, plan.columns

    def err(r: int, key: str, value: Any, problem: str, hint: str = "") -> CellError:
        return CellError(sheet, r + 1, headers.get(key, FIELDS_BY_KEY[key].header if key in FIELDS_BY_KEY else ""),
                         columns.get(key), value, problem, hint)

    ids = _duplicate_ids(raw, err)
    known = _fetch_known(db, raw, ids)
    plan.households = _plan_households(raw, known, err)
    matched_rows: dict[str, list[RowResult]] = {}
    for r, values, errs in raw:
        res = RowResult(row=r + 1, status="error", name=values.get("name", ""), hh_number=values.get("hh_number", ""))
        res.errors = errs
        res.values = values
        if values.get("id_number"):
            res.id_number = values["id_number"][0]
        number = values.get("hh_number")
        entry = plan.households.get(number) if number else None
        _check_row(r, values, errs, entry, err, plan.columns.get("name"))
        match = _find_person(r, values, known, errs, err)
        if match is not None and not errs:
            matched_rows.setdefault(match["id"], []).append(res)
        if match is None and not number and not errs:
            errs.append(err(r, "hh_number", None, "新居民必须填写户编号", "请填写该居民所在户的户编号"))
        if not errs:
            _classify(res, match, _diff_person(values, match, headers), entry, r)
        plan.rows.append(res)
    _same_resident_twice(matched_rows, sheet, headers, columns)


def _duplicate_ids(raw: list[tuple[int, dict, list]], err: Err) -> list[str]:
    """The file's ID numbers; every row that shares one with another row is wrong."""
    seen: dict[str, list[int]] = {}
    for i, (_r, values, _e) in enumerate(raw):
        if "id_number" in values:
            seen.setdefault(values["id_number"][0], []).append(i)
    for number, idxs in seen.items():
        if len(idxs) > 1:
            rows_txt = "、".join(str(raw[i][0] + 1) for i in idxs)
            for i in idxs:
                raw[i][2].append(err(raw[i][0], "id_number", number, f"同一身份证号在本文件中出现了多次（第 {rows_txt} 行）",
                                     "每人只能有一行，请删除重复的行"))
    return list(seen)


def _fetch_known(db: Database, raw: list[tuple[int, dict, list]], ids: list[str]) -> _Known:
    # Only the columns compared: 100k full person rows as dicts took ~1 GB.
    person_cols = "p.id, p.household_id, p.id_number, " + ", ".join(f"p.{c}" for c in PERSON_COLS)
    by_id: dict[str, list[dict]] = {}
    for chunk in chunks(ids, 500):
        for row in db.query(
            f"SELECT {person_cols}, h.number AS hh_number FROM person p LEFT JOIN household h ON h.id = p.household_id "
            f"WHERE p.deleted = 0 AND p.id_number IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            by_id.setdefault(row["id_number"], []).append(dict(row))
    hh_numbers = sorted({v["hh_number"] for _, v, _ in raw if v.get("hh_number")})
    # Households of rows that name nobody the database knows by ID: their members by name.
    name_numbers = sorted({
        v["hh_number"] for _, v, _ in raw
        if v.get("hh_number") and ("id_number" not in v or v["id_number"][0] not in by_id)
    })
    households: dict[str, dict] = {}
    dup_households: set[str] = set()
    by_name: dict[tuple[str, str], list[dict]] = {}
    for chunk in chunks(hh_numbers, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM household WHERE deleted = 0 AND number IN ({marks})", chunk):
            if row["number"] in households:
                dup_households.add(row["number"])
            households[row["number"]] = dict(row)
    for chunk in chunks(name_numbers, 500):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT {person_cols}, h.number AS hh_number FROM person p JOIN household h ON h.id = p.household_id "
            f"WHERE p.deleted = 0 AND h.deleted = 0 AND h.number IN ({marks})",
            chunk,
        ):
            by_name.setdefault((row["hh_number"], row["name"]), []).append(dict(row))
    occupants: dict[str, tuple[str, str, str | None]] = {}
    for row in db.query("SELECT h.room_id, h.id, h.number, p.name FROM household h LEFT JOIN person p "
                        "ON p.id = h.head_person_id WHERE h.deleted = 0 AND h.status = '在住' AND h.room_id IS NOT NULL"):
        occupants.setdefault(row[0], (row[1], row[2], row[3]))
    return _Known(by_id, households, dup_households, by_name, Places(db), occupants)


HOUSEHOLD_KEYS = ("building", "unit", "room", "origin_township", "origin_village", "tags", "risk", "move_in_date",
                  "_room_id", "ext_number")


def _plan_households(raw: list[tuple[int, dict, list]], known: _Known, err: Err) -> dict[str, dict]:
    """Household number → what its rows say about it: existing or new, where it lives, what changes."""
    # The first row of a household that gives a value sets it; a later row that disagrees is an error.
    hh_values: dict[str, dict[str, tuple[Any, int]]] = {}
    hh_first: dict[str, int] = {}
    for r, values, errs in raw:
        number = values.get("hh_number")
        if not number:
            continue
        hh_first.setdefault(number, r)
        agreed = hh_values.setdefault(number, {})
        for key in HOUSEHOLD_KEYS:
            if key not in values:
                continue
            if key in agreed and agreed[key][0] != values[key]:
                errs.append(err(r, key, cell_show(key, values[key]),
                                f"同一户（户编号 {number}）在第 {agreed[key][1] + 1} 行填的是“{cell_show(key, agreed[key][0])}”，与本行不一致",
                                "同一户各成员行的户信息应一致"))
            else:
                agreed.setdefault(key, (values[key], r))
    claimed_rooms: dict[str, str] = {}
    return {number: _household_entry(number, {k: v for k, (v, _r) in agreed.items()}, hh_first[number], known,
                                     claimed_rooms)
            for number, agreed in hh_values.items()}


def _household_entry(number: str, vals: dict[str, Any], first_row: int, known: _Known,
                     claimed_rooms: dict[str, str]) -> dict:
    places = known.places
    existing = known.households.get(number)
    entry: dict[str, Any] = {"id": existing["id"] if existing else None, "set": {}, "changes": [], "error": None,
                             "first_row": first_row, "new": existing is None}
    if number in known.dup_households:
        entry["error"] = ("hh_number", f"系统中有多户使用户编号“{number}”", "请先在居民管理中处理重复的户编号")
    place_keys = [k for k in ("building", "unit", "room") if k in vals]
    room_id = existing["room_id"] if existing else None
    if "_room_id" in vals:
        room_id = vals["_room_id"]
    elif place_keys:
        missing = [FIELDS_BY_KEY[k].header for k in ("building", "unit", "room") if k not in vals]
        if missing:
            entry["error"] = (place_keys[0], f"楼栋、单元、房号要一起填写（缺少{'、'.join(missing)}）", "")
        else:
            try:
                room_id = places.room(str(vals["building"]), int(vals["unit"]), str(vals["room"]))
            except CellProblem as p:
                entry["error"] = ("building", p.problem, p.hint)
    elif existing is None:
        entry["error"] = ("building", "新户需要填写楼栋、单元、房号", "请填写该户所住的楼栋、单元和房号")
    if entry["error"] is None and room_id and room_id != (existing or {}).get("room_id"):
        # The one rule of households.room_free, checked here for the preview and again in apply.
        occ = known.occupants.get(room_id)
        if occ is not None and occ[0] != (existing or {}).get("id"):
            head = f"（户主 {occ[2]}）" if occ[2] else ""
            entry["error"] = ("building", f"{place_text(places, room_id)} 已住有户号 {occ[1]}{head}的住户",
                              "一间房只能住一户；如果是同一户，请用该户的户编号或填写成员的身份证号")
        elif room_id in claimed_rooms and claimed_rooms[room_id] != number:
            entry["error"] = ("building", f"{place_text(places, room_id)} 在本文件中已分给户 {claimed_rooms[room_id]}",
                              "一间房只能住一户，请核对房号")
        else:
            claimed_rooms[room_id] = number
    if entry["error"] is None:
        _diff_household(entry, vals, existing, room_id, places)
    return entry


def _diff_household(entry: dict, vals: dict[str, Any], existing: dict | None, room_id: str | None,
                    places: Places) -> None:
    old = existing or {}
    if room_id != old.get("room_id"):
        entry["set"]["room_id"] = room_id
        entry["changes"].append(("房屋", place_text(places, old.get("room_id")), place_text(places, room_id)))
    for key in HOUSEHOLD_COLS:
        if key in vals and vals[key] != old.get(key):
            entry["set"][key] = vals[key]
            entry["changes"].append((FIELDS_BY_KEY[key].header, cell_show(key, old.get(key)), cell_show(key, vals[key])))
    if "tags" in vals:
        for col, v in vals["tags"].items():
            if v != (old.get(col) or 0):
                entry["set"][col] = v
        if any(c in entry["set"] for c in TAG_COLUMNS):
            entry["changes"].append(("户标签", tags_text(old), tags_text(vals["tags"])))
    if "risk" in vals and vals["risk"] != old.get("risk_colour", "green" if existing is None else None):
        entry["set"]["risk_colour"] = vals["risk"]
        entry["changes"].append(("风险等级", RISK_DISPLAY.get(old.get("risk_colour") or "", ""), RISK_DISPLAY[vals["risk"]]))


def _check_row(r: int, values: dict, errs: list[CellError], entry: dict | None, err: Err,
               name_col: int | None) -> None:
    """A row's own consistency: sex and birth date against the ID number, a name, its household."""
    idinfo = values.get("id_number")
    if idinfo:
        _number, birth, sex = idinfo
        if "sex" in values and values["sex"] != sex:
            errs.append(err(r, "sex", values["sex"], f"与身份证号不符（按身份证号应为“{sex}”）", "请核对性别或身份证号"))
        if "birth_date" in values and values["birth_date"] != birth.isoformat():
            errs.append(err(r, "birth_date", values["birth_date"],
                            f"与身份证号不符（按身份证号应为 {birth.isoformat()}）", "请核对出生日期或身份证号"))
    if not values.get("name") and not any(e.col_index == name_col for e in errs):
        errs.append(err(r, "name", None, "姓名为空", "每行都要有居民姓名"))
    number = values.get("hh_number")
    if entry is not None and entry["error"] is not None and entry["first_row"] == r:
        key, problem, hint = entry["error"]
        errs.append(err(r, key, cell_show(key, values.get(key)), problem, hint))
    elif entry is not None and entry["error"] is not None:
        errs.append(err(r, "hh_number", number, f"所在户（户编号 {number}）的户信息有错，见第 {entry['first_row'] + 1} 行", ""))


def _find_person(r: int, values: dict, known: _Known, errs: list[CellError], err: Err) -> dict | None:
    """Who is it? By ID number; else by household number + name. A row with an ID number the
    database does not know yet may still be a member recorded without one (the ID is filled in)."""
    idinfo = values.get("id_number")
    number = values.get("hh_number")
    name = values.get("name")
    same_name = known.by_name.get((number, name), []) if number and name else []
    if idinfo:
        found = known.by_id.get(idinfo[0], [])
        if len(found) > 1:
            errs.append(err(r, "id_number", idinfo[0], "系统中已有两条以上记录使用这个身份证号", "请先在居民管理中合并重复的居民"))
            return None
        if found:
            return found[0]
        without_id = [p for p in same_name if not p["id_number"]]
        return without_id[0] if len(without_id) == 1 else None
    if same_name:
        if len(same_name) > 1:
            errs.append(err(r, "name", values["name"], f"户 {number} 中有多位叫“{values['name']}”的居民",
                            "请填写身份证号以区分"))
            return None
        return same_name[0]
    if not number:
        errs.append(err(r, "hh_number", None, "没有身份证号时必须填写户编号", "请填写户编号或身份证号"))
    return None


def _diff_person(values: dict, match: dict | None, headers: dict[str, str]) -> list[tuple[str, str, str]]:
    """(column, old, new) of what the row changes in the matched resident ([] for a new one)."""
    if match is None:
        return []
    changes: list[tuple[str, str, str]] = []
    for key in PERSON_COLS:
        if key == "ethnicity" and key in values and same_ethnicity(match.get(key), values[key]):
            continue  # 苗 stored by an older version is 苗族: not a change
        if key in values and values[key] != match.get(key):
            changes.append((headers.get(key, FIELDS_BY_KEY[key].header), cell_show(key, match.get(key)),
                            cell_show(key, values[key])))
    idinfo = values.get("id_number")
    if idinfo and match.get("id_number") != idinfo[0]:
        changes.append(("身份证号", match.get("id_number") or "", idinfo[0]))
    number = values.get("hh_number")
    if number and number != match.get("hh_number"):
        changes.append(("户编号", match.get("hh_number") or "", number))
    return changes


def _classify(res: RowResult, match: dict | None, changes: list[tuple[str, str, str]], entry: dict | None,
              r: int) -> None:
    """new / updated / unchanged; a household's changes ride on its first row."""
    if match is None:
        res.status = "new"
    else:
        res.person_id = match["id"]
        res.old_name = match.get("name")
        res.status = "updated" if changes else "unchanged"
        if not changes:
            res.values = {}  # nothing to write for this row; 100k kept values cost ~150 MB
    if entry is not None and entry["first_row"] == r and entry["changes"] and not entry["new"]:
        changes = changes + entry["changes"]
        if res.status == "unchanged":
            res.status = "updated"
    res.changes = changes


def _same_resident_twice(matched_rows: dict[str, list[RowResult]], sheet: str, headers: dict[str, str],
                         columns: dict[str, int]) -> None:
    """Two rows that are the same resident in the database: both are wrong (which one is right?)."""
    for results in matched_rows.values():
        if len(results) > 1:
            rows_txt = "、".join(str(x.row) for x in results)
            for x in results:
                x.status, x.changes = "error", []
                x.errors.append(CellError(sheet, x.row, headers.get("name", "姓名"), columns.get("name"), x.name,
                                          f"第 {rows_txt} 行是系统中的同一位居民", "每位居民只能有一行，请删除重复的行"))


# -- applying ----------------------------------------------------------------------------------
@logged("excel.import", facts=lambda a: {"file": file_ref(a["plan"].path), "ledger": a["plan"].ledger,
                                   "valid_only": a["valid_only"]},
        summary=lambda counts: {k: v for k, v in counts.items() if isinstance(v, int)})  # counts only
def apply_plan(
    db: Database,
    plan: ImportPlan,
    *,
    valid_only: bool = False,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Write the plan in one transaction. With errors and not `valid_only`, nothing is written."""
    # A county ledger touches every page of person's fifteen indexes in random order (row ids are
    # random): with SQLite's 2 MB default cache the pages went back and forth to the disk all the
    # transaction long (half the insert's CPU time was system time). 64 MB, for this write only.
    old_cache = db.conn.execute("PRAGMA cache_size").fetchone()[0]
    db.conn.execute(f"PRAGMA cache_size = {IMPORT_CACHE_KIB}")
    try:
        return _apply_plan(db, plan, valid_only=valid_only, progress=progress, cancelled=cancelled)
    finally:
        db.conn.execute(f"PRAGMA cache_size = {int(old_cache)}")


IMPORT_CACHE_KIB = -65536  # negative: KiB, SQLite's convention


def _apply_plan(
    db: Database,
    plan: ImportPlan,
    *,
    valid_only: bool,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
) -> dict[str, int]:
    if plan.source is not None and file_fingerprint(plan.path) != plan.source:
        raise KnownError(f"“{plan.path.name}”在预览之后被修改过（或被替换），未作任何改动。请重新预览后再导入。")
    with db.write() as tx:
        stamp = int(tx.conn.execute("SELECT coalesce(max(op_id), 0) FROM change_log").fetchone()[0])
        if stamp != plan.stamp:
            # Someone wrote since the preview: validate again against what is there now.
            plan = plan_import(db, plan.path, ledger=plan.ledger, sheet=plan.sheet, **plan.extra.get("options", {}))
        counts = plan.counts
        if counts["errors"] and not valid_only:
            raise KnownError(
                f"文件中有 {counts['errors']} 行错误，按“全部或不导入”的规则没有导入任何数据。"
                "请改正错误后重新导入，或选择“只导入正确的行”。"
            )
        result: dict[str, int] = dict(counts)
        result.update(IMPORTERS[plan.ledger].apply(db, plan, progress=progress, cancelled=cancelled) or {})
        if valid_only:
            result["skipped"] = counts["errors"]
        return result


def _apply_residents(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> dict[str, int]:
    """Write the resident roll's valid rows (inside apply_plan's transaction): the new households
    (and places), the people, then the heads of the new households."""
    with db.write() as tx:
        good = [r for r in plan.rows if r.status in ("new", "updated")]
        first_status = {r.row: r.status for r in plan.rows}
        used_numbers = {r.hh_number for r in good if r.hh_number}
        summary = f"Excel 导入 {plan.path.name}"
        # Households, then people, then heads: inserting a parent row while a deferred foreign key
        # is dangling makes SQLite scan every child table (some have no index on the key), which
        # took minutes for 23k residents; in this order no key ever dangles.
        pids = {r.row: new_id() if r.status == "new" or r.person_id is None else r.person_id for r in good}
        heads: dict[str, str] = {}
        for r in good:
            if r.values.get("relation") == "户主" and r.hh_number:
                heads.setdefault(r.hh_number, pids[r.row])
        from app.models.registry.households import room_occupant

        hh_ids: dict[str, str] = {}
        new_households: list[dict] = []
        total = len(good) + len(plan.households)
        done = 0
        for number, entry in plan.households.items():
            if entry["error"] is not None:
                continue
            if entry["new"]:
                if number not in used_numbers:
                    continue
                row: dict[str, Any] = {"id": new_id(), "number": number, "room_id": None, "origin_township": None,
                       "origin_village": None, "move_in_date": None, "risk_colour": "green",
                       **{c: 0 for c in TAG_COLUMNS}}
                row.update(entry["set"])
                new_households.append(row)
                hh_ids[number] = row["id"]
            else:
                hh_ids[number] = entry["id"]
                # The household's changes ride on its first row: applied when that row is valid.
                if entry["set"] and first_status.get(entry["first_row"] + 1) in ("new", "updated", "unchanged"):
                    if entry["set"].get("room_id"):
                        occ = room_occupant(db, entry["set"]["room_id"], entry["id"])
                        if occ is not None:
                            raise KnownError(f"户 {number} 要搬入的房间已住有户号 {occ['number']} 的住户，未作任何改动。"
                                             "请重新预览后再导入。")
                    update_household(db, tx, entry["id"], entry["set"], summary)
            done += 1
        index = plan.extra.get("place_index")
        if index is not None and index.create and index.count_new:
            community = tx.conn.execute("SELECT id FROM community WHERE deleted = 0 ORDER BY rowid LIMIT 1").fetchone()
            if community is None:
                raise KnownError("还没有建立社区，无法创建楼栋。请先在“社区设置”中填写社区名称，再导入。")
            county.create_places(tx, index.creations(), community[0], summary)
        # The occupied-room rule, again inside this transaction (the preview checked it before):
        # one query per batch of rooms instead of one per new household.
        wanted = {row["room_id"]: row for row in new_households if row.get("room_id")}
        for chunk in chunks(list(wanted), 500):
            occ = tx.conn.execute(
                "SELECT room_id, number FROM household WHERE deleted = 0 AND status = '在住' "
                f"AND room_id IN ({','.join('?' * len(chunk))}) LIMIT 1",
                chunk,
            ).fetchone()
            if occ is not None:
                raise KnownError(f"户 {wanted[occ[0]]['number']} 要住的房间已住有户号 {occ[1]} 的住户，未作任何改动。"
                                 "请重新预览后再导入。")
        if new_households:
            entered = dt.date.today().isoformat()  # their first visit is due from today at the earliest
            tx.insert_many("household", [{**h, "entered_date": entered} for h in new_households], summary=summary)
        new_people: list[dict] = []
        updates: dict[str, dict] = {}
        for r in good:
            done += 1
            if done % PROGRESS_EVERY == 0:
                if cancelled is not None and cancelled():
                    raise ImportCancelled("已取消导入，未作任何改动。")
                if progress is not None:
                    progress(done, total, "正在写入…")
            v = r.values
            fields = {k: v[k] for k in PERSON_COLS if k in v}
            if "id_number" in v:
                number, birth, sex = v["id_number"]
                fields.update(id_number=number, birth_date=birth.isoformat(), sex=sex)
            if "name" in fields and (r.status == "new" or fields["name"] != r.old_name):
                fields["name_pinyin"], fields["name_initials"] = name_pinyin(fields["name"])
            if r.hh_number:
                fields["household_id"] = hh_ids.get(r.hh_number) or plan.households[r.hh_number]["id"]
            if r.status == "new":
                row = {k: None for k in (*PERSON_COLS, "id_number", "name_pinyin", "name_initials", "household_id")}
                row.update(fields)
                row["id"] = pids[r.row]
                new_people.append(row)
            elif r.person_id is not None:
                updates[r.person_id] = fields
        if cancelled is not None and cancelled():
            raise ImportCancelled("已取消导入，未作任何改动。")
        # Rows the plan found changed: written in batches, each with its own audit entry.
        tx.update_many("person", updates, summary=summary)
        if new_people:
            tx.insert_many("person", new_people, summary=summary)
        # A household created just now has no head yet: set them all in one statement.
        created = {h["id"] for h in new_households}
        tx.set_many("household", "head_person_id",
                    {hh_ids[n]: pid for n, pid in heads.items() if hh_ids.get(n) in created}, summary=summary)
        # An existing household gets the file's head only when it has none: asked in batches, not
        # once per household (a ledger names some 5,000 heads).
        head_of = {hid: pid for n, pid in heads.items() if (hid := hh_ids.get(n)) and hid not in created}
        headless = [row[0] for row in query_in(
            db, "SELECT id FROM household WHERE id IN ({marks}) AND coalesce(head_person_id, '') = ''", head_of)]
        for hid in headless:
            tx.update("household", hid, {"head_person_id": head_of[hid]}, summary=summary)
        if progress is not None:
            progress(total, total, "正在保存…")
        return {"households_new": len(new_households), "places_new": plan.places_new}


# -- the registry ------------------------------------------------------------------------------
# The resident roll streams its rows (a county ledger has 100k) and forms households; the clerk may
# map its columns by hand. Any header with a name and a way to a household may be one.
RESIDENTS = LedgerImporter(
    "residents", "居民花名册", RESIDENT_ALIASES, {f.key: f.header for f in RESIDENT_FIELDS}, lambda cells: True, "",
    _plan_residents, _apply_residents, mappable=True)
# Every importable ledger by kind. A file's ledger is the first whose header it looks like
# (residents when none does); the order matters where headers overlap (a room list's columns
# are in every ledger with an address, training's in employment's …).
IMPORTERS: dict[str, LedgerImporter] = {
    imp.kind: imp
    for imp in (excel_import_rooms.IMPORTER, *excel_import_ledgers.IMPORTERS, excel_import_mediation.IMPORTER,
                RESIDENTS)
}
# Where no resident header is found, these ledgers' headers are looked for, in this order.
HEADER_SEARCH = ("visits", "households", "mediation", "rooms")
IMPORTABLE = {kind: imp.title for kind, imp in IMPORTERS.items()}


def preview_lines(plan: ImportPlan, limit: int = 20) -> list[str]:
    """What a clerk reads before saying yes: how households were formed, the households to be
    created (number, room, head, members), the missing places, the possible duplicates."""
    out: list[str] = []
    rule = plan.extra.get("rule")
    if rule is None:  # only the resident roll forms households
        return out
    out.append(f"分户方式：{county.RULES[rule]}")
    new = [h for h in plan.extra.get("households_preview", []) if h["number"] in plan.households
           and plan.households[h["number"]].get("error") is None]
    if new:
        people = sum(h["members"] for h in new)
        out.append(f"将新建 {plan.households_new} 户（共 {people} 人）：")
        for h in new[:limit]:
            ext = f"，县级户编号 {h['ext_number']}" if h["ext_number"] else ""
            out.append(f"  {h['number']}  {h['address'] or '（无地址）'}  户主 {h['head'] or '（未标明）'}  "
                       f"{h['members']} 人（第 {h['first_row']} 行起{ext}）")
        if len(new) > limit:
            out.append(f"  … 另有 {len(new) - limit} 户")
    index = plan.extra.get("place_index")
    if index is not None and index.missing:
        verb = "将创建" if index.create else "系统中没有（勾选创建或加 --create-places）"
        out.append(f"文件中出现、系统中没有的楼栋/单元/房间，{verb}：{index.missing_text()}")
    maybe = plan.extra.get("maybe_same", [])
    if maybe:
        out.append(f"可能是同一人（{len(maybe)} 行，导入为新居民，请核对）：")
        out.extend(f"  第 {row} 行：{text}" for row, text in maybe[:limit])
    return out


# -- the error workbook ------------------------------------------------------------------------
@logged("excel.error_workbook", facts=lambda a: {"errors": len(a["plan"].errors), "file": file_ref(a["out"])})
def write_error_workbook(plan: ImportPlan, out: str | Path) -> Path:
    """A copy of the original workbook with a 错误说明 column and the bad cells in red."""
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        out = out.with_suffix(".xlsx")
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    red = PatternFill("solid", fgColor="FFC7CE")
    by_row: dict[int, list[CellError]] = {}
    for e in plan.errors:
        by_row.setdefault(e.row, []).append(e)
    kind = check_file(plan.path)
    if kind == "xlsx":
        with plan.path.open("rb") as fh:  # a file object: openpyxl would refuse an .xlsx named .xls
            wb = load_workbook(fh)
        ws = wb[plan.sheet]
    else:
        # openpyxl cannot edit .xls/.ods: copy the values into a new workbook.
        wb = Workbook()
        ws = wb.active
        ws.title = plan.sheet[:31]
        book = Sheet(plan.path, kind, plan.sheet)
        for r, cells in book.rows():
            for c, v in enumerate(cells):
                if v is not None:
                    cell = ws.cell(row=r + 1, column=c + 1)
                    cell.value = v
                    if isinstance(v, str):
                        cell.data_type = "s"  # never a formula
    err_col = max(ws.max_column, max(plan.columns.values(), default=0) + 1) + 1
    head = ws.cell(row=plan.header_row, column=err_col, value="错误说明")
    head.font = Font(bold=True, color="9C0006")
    head.fill = red
    ws.column_dimensions[col_letter(err_col - 1)].width = 60
    # Printable on A4 landscape, all columns on one page width, so the clerk can hand it round.
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    for row, errs in by_row.items():
        text = "；".join(
            (f"{e.column}：" if e.column else "") + e.problem + (f"（{e.hint}）" if e.hint else "") for e in errs
        )
        ws.cell(row=row, column=err_col, value=text).font = Font(color="9C0006")
        for e in errs:
            if e.col_index is not None:
                cell = ws.cell(row=row, column=e.col_index + 1)
                cell.fill = red
                cell.comment = Comment(e.problem + (f"；{e.hint}" if e.hint else ""), "安居台账")
    with atomic_file(out, check=check_zip, what="错误标注工作簿") as fh:
        wb.save(fh)
    return out


def workbook_ledgers(path: str | Path) -> dict[str, str]:
    """{"households": sheet, "residents": sheet} when one workbook holds both ledgers (a whole
    office's data: ours exported from another office, or a county's 户表 and 人表); else {}."""
    import itertools

    path = Path(path)
    book = Sheet(path, check_file(path))
    found: dict[str, str] = {}
    try:
        if len(book.names) < 2:
            return {}
        for name in book.names:
            if name != book.name:
                book.open(name)
            head = list(itertools.islice(book.rows(), HEADER_SCAN_ROWS))
            households = IMPORTERS["households"]
            hh = households.find_header(head, book.merged) if households.find_header is not None else None
            if hh is not None and households.looks_like(hh[1]):
                found.setdefault("households", name)
            elif find_header(head, book.merged) is not None:
                found.setdefault("residents", name)
    finally:
        book.close()
    return found if len(found) == 2 else {}


class _Undo(Exception):
    """Leaves the workbook import's transaction without keeping anything."""


def import_workbook(
    db: Database, path: str | Path, sheets: dict[str, str], *, create_places: bool = False, dry_run: bool = False,
    valid_only: bool = False,
) -> tuple[list[ImportPlan], bool]:
    """Households first, then residents, in ONE transaction: the residents sheet is checked against
    the households the first sheet makes. A dry run (or an error) rolls the whole of it back."""
    plans: list[ImportPlan] = []
    try:
        with db.write():
            for ledger in ("households", "residents"):
                plan = plan_import(db, path, ledger=ledger, sheet=sheets[ledger], create_places=create_places)
                plans.append(plan)
                if plan.counts["errors"] and not valid_only:
                    raise _Undo
                apply_plan(db, plan, valid_only=valid_only)
            if dry_run:
                raise _Undo
    except _Undo:
        return plans, False
    return plans, True


def import_file(
    db: Database,
    path: str | Path,
    *,
    ledger: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    errors_out: str | Path | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[ImportPlan, bool]:
    """Dry run, then (unless `dry_run`) apply. Returns (plan, applied)."""
    plan = plan_import(db, path, ledger=ledger, progress=progress, cancelled=cancelled)
    if errors_out and plan.errors:
        write_error_workbook(plan, errors_out)
    if dry_run:
        return plan, False
    if plan.counts["errors"] and not valid_only:
        return plan, False
    apply_plan(db, plan, valid_only=valid_only, progress=progress, cancelled=cancelled)
    return plan, True

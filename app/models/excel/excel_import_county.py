"""Forming households from a county resident ledger that carries no household numbers of ours.

Rules, in order of preference (the preview names the one used): the county's own household
number; else consecutive rows from a 户主 row; else the 户主姓名 column with the address;
else the address (one room, one household). Addresses come in one cell or in separate columns;
buildings, units and rooms the office has not registered yet are listed and, when the clerk
asks, created by the import itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.models.core.db import Database, new_id
from app.models.core.vocab import is_head
from app.models.excel.excel_read import CellError, CellProblem, ImportPlan, Places, chunks

RULES = {
    "ext": "按文件中的户编号（县级系统编号）分户",
    "relation": "按“与户主关系”分户：每个“户主/本人”行开始一户，其下各行属于该户",
    "head_name": "按“户主姓名”分户（同名户主按地址区分）",
    "address": "按地址分户：同一房间为同一户",
    "local": "按本系统户编号分户",
}
_COUNTY_NUMBER = re.compile(r"^\d{8,}$")
_ADDRESS = re.compile(
    r"(?P<b>[0-9A-Za-z]+)\s*(?:栋|号楼|幢|号|-|－|—)\s*"
    r"(?:(?P<u>\d+)\s*(?:单元|-|－|—)\s*)?"
    r"(?P<r>\d+[A-Za-z]?)\s*(?:室|号|房)?\s*$"
)


def parse_address(text: str) -> tuple[str, int | None, str] | None:
    """"红路馨居社区5栋1单元501室", "5栋1单元501", "5-1-501", "5栋501" → (building, unit or None, room)."""
    t = str(text).strip().translate(str.maketrans("０１２３４５６７８９－", "0123456789-"))
    m = _ADDRESS.search(t)
    if not m:
        return None
    return m.group("b"), (int(m.group("u")) if m.group("u") else None), m.group("r")


def _building_label(b: str) -> str:
    return f"{b}栋" if b.isdigit() else b


@dataclass
class PlaceIndex:
    """Rooms by the way a ledger names them, and the places the import would create."""

    places: Places
    create: bool
    units_of: dict[str, list[int]] = field(default_factory=dict)
    new_buildings: dict[str, str] = field(default_factory=dict)  # label → new id
    new_units: dict[tuple[str, int], str] = field(default_factory=dict)  # (building label, unit) → new id
    new_rooms: dict[tuple[str, int, str], str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)  # "12栋" / "13栋 2单元" → rows
    new_room_text: dict[str, str] = field(default_factory=dict)  # new room id → "12栋1单元501"
    # building name → its id (None: not registered), or the problem that names it
    found: dict[str, str | None | CellProblem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for bid, number in self.places.units:
            self.units_of.setdefault(bid, []).append(number)

    def _building(self, b: str) -> str | None:
        # A ledger names the same few buildings on every row: each name is looked up once.
        if b not in self.found:
            try:
                self.found[b] = self._find_building(b)
            except CellProblem as p:
                self.found[b] = p
        outcome = self.found[b]
        if isinstance(outcome, CellProblem):
            raise outcome
        return outcome

    def _find_building(self, b: str) -> str | None:
        label = _building_label(b)
        exact = [x for x in self.places.buildings if x[1] in (b, label)]
        if len(exact) == 1:
            return exact[0][0]
        if len(exact) > 1:
            raise CellProblem(f"有多个楼栋叫“{label}”，无法确定是哪一栋", "请先在“楼栋网格”中区分它们")
        if b.isdigit():
            by_number = [x for x in self.places.buildings if x[2] == int(b)]
            if len(by_number) == 1:
                return by_number[0][0]
        return None

    def room(self, b: str, unit: int | None, room: str) -> tuple[str | None, str | None]:
        """(room id — existing or to be created —, or None and the missing place's label)."""
        label = _building_label(b)
        room = room.lstrip("0") or room
        bid = self._building(b)
        if bid is None:
            return self._missing(label, label, unit or 1, room)
        units = sorted(self.units_of.get(bid, []))
        if unit is None:
            if len(units) > 1:
                raise CellProblem(f"{label}有 {len(units)} 个单元，地址中缺少单元号", "请写成“5栋1单元501”或“5-1-501”")
            unit = units[0] if units else 1
        uid = self.places.units.get((bid, unit))
        if uid is None:
            return self._missing(label, f"{label} {unit}单元", unit, room)
        rid = self.places.rooms.get((uid, room))
        if rid is None:
            return self._missing(label, f"{label} {unit}单元 {room}", unit, room, unit_id=uid)
        return rid, None

    def _missing(self, label: str, group: str, unit: int, room: str, unit_id: str | None = None
                 ) -> tuple[str | None, str | None]:
        self.missing[group] = self.missing.get(group, 0) + 1
        if not self.create:
            return None, group
        if unit_id is None and (label, unit) not in self.new_units:
            if self._building(label) is None:
                self.new_buildings.setdefault(label, new_id())
            self.new_units[(label, unit)] = new_id()
        if (label, unit, room) not in self.new_rooms:
            from app.models.registry.households import address_text

            rid = self.new_rooms[(label, unit, room)] = new_id()
            self.new_room_text[rid] = address_text(label, unit, room)
        return self.new_rooms[(label, unit, room)], None

    def describe(self, room_id: str) -> str:
        """"5栋1单元501" of a room, existing or to be created."""
        from app.models.registry.households import address_text

        info = self.places.room_info.get(room_id)
        if info is not None:
            return address_text(info[0], info[1], info[2])
        return self.new_room_text.get(room_id, "")

    def missing_text(self) -> str:
        return "；".join(f"{k}：{n} 行" for k, n in sorted(self.missing.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def count_new(self) -> int:
        return len(self.new_buildings) + len(self.new_units) + len(self.new_rooms)

    def creations(self) -> dict[str, Any]:
        """What apply inserts, in order: buildings, units, rooms (with the ids rows already use)."""
        existing_units = {}
        for bid, name, _n in self.places.buildings:
            for unit in self.units_of.get(bid, []):
                existing_units[(name, unit)] = self.places.units[(bid, unit)]
        return {
            "buildings": [{"id": i, "name": label, "number": int(label[:-1]) if label[:-1].isdigit() else None}
                          for label, i in self.new_buildings.items()],
            "units": [{"id": i, "building": label, "building_id": self._building(label), "number": unit}
                      for (label, unit), i in self.new_units.items()],
            "rooms": [{"id": i, "unit_id": self.new_units.get((label, unit)) or self._unit_id(label, unit),
                       "number": room, "floor": int(room[:-2]) if room.isdigit() and len(room) >= 3 else None}
                      for (label, unit, room), i in self.new_rooms.items()],
        }

    def _unit_id(self, label: str, unit: int) -> str:
        bid = self._building(label)
        assert bid is not None
        return self.places.units[(bid, unit)]


def create_places(tx: Any, creations: dict[str, Any], community_id: str, summary: str) -> None:
    """Insert the buildings, units and rooms a plan asked for (inside the import's transaction)."""
    building_ids = {}
    for b in creations["buildings"]:
        tx.insert("building", {"id": b["id"], "community_id": community_id, "name": b["name"], "number": b["number"]},
                  summary=summary)
        building_ids[b["name"]] = b["id"]
    for u in creations["units"]:
        tx.insert("unit", {"id": u["id"], "building_id": u["building_id"] or building_ids[u["building"]],
                           "number": u["number"]}, summary=summary)
    if creations["rooms"]:
        tx.insert_many("room", [{"id": r["id"], "unit_id": r["unit_id"], "number": r["number"], "floor": r["floor"]}
                                for r in creations["rooms"]], summary=summary)


def _next_numbers(db: Database) -> Iterator[str]:
    """Fresh local household numbers, after the highest one in use."""
    top = db.scalar("SELECT max(number) FROM household WHERE number GLOB '*[0-9]'")
    m = re.match(r"^(.*?)(\d+)$", top or "")
    prefix, digits = (m.group(1), m.group(2)) if m else ("HLX-", "000000")
    taken = {r[0] for r in db.query("SELECT number FROM household")}
    n = int(digits)
    while True:
        n += 1
        candidate = f"{prefix}{n:0{len(digits)}d}"
        if candidate not in taken:
            yield candidate


def county_numbers(raw: list[tuple[int, dict, list]]) -> bool:
    """True when the 户编号 column holds the county's long digit codes rather than numbers of ours."""
    values = [v["hh_number"] for _, v, _ in raw if v.get("hh_number")]
    return bool(values) and all(_COUNTY_NUMBER.match(x) for x in values)


def form_households(db: Database, plan: ImportPlan, raw: list[tuple[int, dict, list]], *, create: bool) -> None:
    """Give every row the household it belongs to (values["hh_number"], a new number for a new
    household) and its room (values["_room_id"]); explain each row's placement in plan.extra."""
    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    if "hh_number" in columns and "ext_number" not in columns and county_numbers(raw):
        columns["ext_number"] = columns.pop("hh_number")
        headers["ext_number"] = headers.pop("hh_number")
        for _r, values, _e in raw:
            if "hh_number" in values:
                values["ext_number"] = values.pop("hh_number")
    index = PlaceIndex(Places(db), create)
    plan.extra["place_index"] = index
    reasons: dict[int, str] = {}
    plan.extra["reasons"] = reasons

    def err(r: int, key: str, value: Any, problem: str, hint: str = "", errs: list | None = None) -> None:
        assert errs is not None
        errs.append(CellError(sheet, r + 1, headers.get(key, ""), columns.get(key), value, problem, hint))

    # Each row's room, from one address cell or from building/unit/room columns.
    room_of: dict[int, str | None] = {}
    place_text: dict[int, str] = {}
    texts = "hh_number" not in columns  # only forming households by rule names their places
    short: dict[str, str] = {}  # building as written → without its 栋/号楼 (the same few on every row)
    for i, (r, values, errs) in enumerate(raw):
        addr = None
        if values.get("address"):
            addr = parse_address(values["address"])
            if addr is None:
                err(r, "address", values["address"], "看不出楼栋、单元和房号",
                    "请写成“5栋1单元501室”“5-1-501”或“5栋501”（单元只有一个时）", errs)
                continue
        elif values.get("building") and values.get("room"):
            b = str(values["building"]).strip()
            if b not in short:
                short[b] = re.sub(r"(栋|号楼|幢|号)$", "", b) or b
            b = short[b]
            addr = (b, values.get("unit"), str(values["room"]).strip().rstrip("室号"))
        elif values.get("building") or values.get("room"):
            err(r, "building" if values.get("building") else "room", None, "楼栋和房号要一起填写", "", errs)
            continue
        if addr is None:
            continue
        try:
            rid, missing = index.room(*addr)
        except CellProblem as p:
            err(r, "address" if "address" in values else "building", values.get("address"), p.problem, p.hint, errs)
            continue
        if texts:
            unit_txt = f"{addr[1]}单元" if addr[1] else ""
            place_text[i] = index.describe(rid) if rid else f"{_building_label(addr[0])}{unit_txt}{addr[2]}"
        if missing is not None:
            what = f"楼栋“{missing}”" if missing == _building_label(addr[0]) else f"“{missing}”"
            known = "、".join(b[1] for b in index.places.buildings[:8])
            err(r, "address" if "address" in values else "building", values.get("address") or values.get("building"),
                f"系统中没有{what}", (f"已登记的楼栋有：{known}；" if known else "") +
                "要由导入一并创建，请勾选“创建文件中缺少的楼栋、单元和房间”（命令行加 --create-places）", errs)
            continue
        room_of[i] = rid
        for k in ("address", "building", "unit", "room"):
            values.pop(k, None)

    if "hh_number" in columns:  # numbers of our own: the households are given
        plan.extra["rule"] = "local"
        for i, (_r, values, _e) in enumerate(raw):
            if i in room_of:
                values["_room_id"] = room_of[i]
        return

    # Groups of row indexes, by the first rule the file allows.
    groups: list[tuple[str, list[int]]] = []
    if "ext_number" in columns:
        rule = "ext"
        by_key: dict[str, list[int]] = {}
        for i, (r, values, errs) in enumerate(raw):
            if not values.get("ext_number"):
                err(r, "ext_number", None, "户编号为空", "每行都要填写所在户的户编号", errs)
                continue
            by_key.setdefault(values["ext_number"], []).append(i)
        groups = [(f"户编号 {k}", v) for k, v in by_key.items()]
    elif "relation" in columns and any(is_head(v.get("relation")) for _, v, _ in raw):
        rule = "relation"
        current: list[int] | None = None
        for i, (r, values, errs) in enumerate(raw):
            if is_head(values.get("relation")):
                current = [i]
                groups.append((f"第 {r + 1} 行的户主 {values.get('name', '')}", current))
            elif current is None:
                err(r, "relation", values.get("relation"), "上面没有户主行，不知道属于哪一户",
                    "按“与户主关系”分户时，每户的户主行要在本户成员之前", errs)
            else:
                current.append(i)
    elif "head_name" in columns:
        rule = "head_name"
        by_head: dict[tuple[str, str | None], list[int]] = {}
        for i, (r, values, errs) in enumerate(raw):
            if not values.get("head_name"):
                err(r, "head_name", None, "户主姓名为空", "每行都要填写所在户的户主姓名", errs)
                continue
            by_head.setdefault((values["head_name"], room_of.get(i)), []).append(i)
        for (head, _room), idxs in by_head.items():
            groups.append((f"户主 {head}" + (f"（{place_text[idxs[0]]}）" if idxs[0] in place_text else ""), idxs))
            if "relation" not in columns:
                for i in idxs:
                    if raw[i][1].get("name") == head:
                        raw[i][1]["relation"] = "户主"
    elif room_of:
        rule = "address"
        by_room: dict[str, list[int]] = {}
        for i, (r, _values, errs) in enumerate(raw):
            if (room := room_of.get(i)) is not None:
                by_room.setdefault(room, []).append(i)
            elif not errs:
                err(r, "address" if "address" in columns else "building", None, "没有地址，无法确定属于哪一户",
                    "按地址分户时每行都要有楼栋、单元、房号", errs)
        groups = [(place_text[v[0]], v) for v in by_room.values()]
    else:
        for r, _values, errs in raw:
            errs.append(CellError(sheet, r + 1, "", None, None, "无法确定这一行属于哪一户",
                                  "文件中要有户编号、与户主关系、户主姓名或地址（楼栋、单元、房号）之一"))
        plan.extra["rule"] = None
        return
    plan.extra["rule"] = rule

    # Who the database already knows, fetched only for what the file names.
    ids = sorted({v["id_number"][0] for _, v, _ in raw if v.get("id_number")})
    hh_of_id: dict[str, tuple[str, str]] = {}
    for chunk in chunks(ids, 500):
        for row in db.query(
            "SELECT p.id_number, h.id, h.number FROM person p JOIN household h ON h.id = p.household_id "
            f"WHERE p.deleted = 0 AND h.deleted = 0 AND p.id_number IN ({','.join('?' * len(chunk))})", chunk):
            hh_of_id[row[0]] = (row[1], row[2])
    ext_keys = sorted({v["ext_number"] for _, v, _ in raw if v.get("ext_number")})
    hh_of_ext: dict[str, tuple[str, str]] = {}
    for chunk in chunks(ext_keys, 500):
        for row in db.query(f"SELECT ext_number, id, number FROM household WHERE deleted = 0 AND ext_number IN "
                            f"({','.join('?' * len(chunk))})", chunk):
            hh_of_ext[row[0]] = (row[1], row[2])
    occupant: dict[str, tuple[str, str, str | None]] = {}
    for row in db.query("SELECT h.room_id, h.id, h.number, p.name FROM household h LEFT JOIN person p "
                        "ON p.id = h.head_person_id WHERE h.deleted = 0 AND h.status = '在住' AND h.room_id IS NOT NULL"):
        occupant.setdefault(row[0], (row[1], row[2], row[3]))
    members: dict[str, set[tuple[str, str | None]]] = {}  # occupant household → (name, birth) of its members
    rooms_named = {room_of[i] for _, idxs in groups for i in idxs if i in room_of}
    occupied_ids = sorted({occupant[r][0] for r in rooms_named if r in occupant})
    for chunk in chunks(occupied_ids, 500):
        for row in db.query("SELECT household_id, name, birth_date FROM person WHERE deleted = 0 AND household_id IN "
                            f"({','.join('?' * len(chunk))})", chunk):
            members.setdefault(row[0], set()).add((row[1], row[2]))

    numbers = _next_numbers(db)
    claimed: dict[str, int] = {}  # room → first row of the new household that takes it
    preview: list[dict[str, Any]] = []
    for label, idxs in groups:
        idxs = [i for i in idxs if not raw[i][2]]
        if not idxs:
            continue  # every row of it is wrong already: no household to form
        rooms = [room_of[i] for i in idxs if i in room_of]
        room = rooms[0] if rooms else None
        first_r = raw[idxs[0]][0]
        for i in idxs:
            if i in room_of and room_of[i] != room:
                r, values, errs = raw[i]
                err(r, "address" if "address" in columns else "building", place_text.get(i),
                    f"与本户第 {first_r + 1} 行的地址（{place_text[idxs[0]] if idxs[0] in place_text else ''}）不一致",
                    "同一户的各成员应住同一间房", errs)
        target: tuple[str, str] | None = None
        why = ""
        ext = raw[idxs[0]][1].get("ext_number")
        if ext and ext in hh_of_ext:
            target, why = hh_of_ext[ext], f"户编号 {ext} 已对应本系统的户"
        if target is None:
            found = {hh_of_id[raw[i][1]["id_number"][0]] for i in idxs if raw[i][1].get("id_number")
                     and raw[i][1]["id_number"][0] in hh_of_id}
            if len(found) == 1:
                target, why = found.pop(), "成员的身份证号与系统中的户一致"
            elif len(found) > 1:
                shown = "、".join(sorted(n for _h, n in found))
                for i in idxs:
                    r, _v, errs = raw[i]
                    err(r, "id_number", None, f"本户成员在系统中分属不同的户（{shown}）",
                        "请核对身份证号，或先在居民管理中把他们移到同一户", errs)
                continue
        if target is None and room is not None and room in occupant:
            occ_id, occ_number, occ_head = occupant[room]
            people = members.get(occ_id, set())
            same = [i for i in idxs if (raw[i][1].get("name"), _birth(raw[i][1])) in people and _birth(raw[i][1])]
            if same:
                target, why = (occ_id, occ_number), "姓名和出生日期与该房间现住户的成员一致"
            else:
                head = f"（户主 {occ_head}）" if occ_head else ""
                for i in idxs:
                    r, values, errs = raw[i]
                    err(r, "address" if "address" in columns else "building", place_text.get(i),
                        f"{place_text.get(i, '')}已住有户号 {occ_number}{head}的住户，不能再安排一户",
                        "如果是同一户，请填写成员的身份证号以便核对；否则请核对房号", errs)
                continue
        if target is None:
            if room is not None and room in claimed:
                for i in idxs:
                    r, values, errs = raw[i]
                    err(r, "address" if "address" in columns else "building", place_text.get(i),
                        f"与第 {claimed[room] + 1} 行起的另一户是同一间房", "一间房只能住一户，请核对房号", errs)
                continue
            number = next(numbers)
            if room is not None:
                claimed[room] = first_r
            heads = [raw[i][1].get("name") for i in idxs if raw[i][1].get("relation") == "户主"]
            preview.append({"number": number, "address": place_text.get(idxs[0], ""), "head": heads[0] if heads else "",
                            "members": len(idxs), "first_row": first_r + 1, "rule": label, "ext_number": ext or ""})
            why = f"新建户 {number}"
        else:
            number = target[1]
            why = f"归入已有户 {number}（{why}）"
        for i in idxs:
            r, values, _errs = raw[i]
            values["hh_number"] = number
            if room is not None:
                values["_room_id"] = room
            reasons[r + 1] = f"{label} → {why}"
    plan.extra["households_preview"] = preview


def _birth(values: dict) -> str | None:
    if values.get("id_number"):
        return values["id_number"][1].isoformat()
    return values.get("birth_date")


def maybe_same(db: Database, plan: ImportPlan) -> None:
    """New people whose name and birth date a live resident already has: listed, never merged."""
    rows = [r for r in plan.rows if r.status == "new" and r.name]
    want: dict[tuple[str, str], list] = {}
    for r in rows:
        birth = _birth(r.values)
        if birth:
            want.setdefault((r.name, birth), []).append(r)
    out: list[tuple[int, str]] = []
    names = sorted({k[0] for k in want})
    for chunk in chunks(names, 500):
        for row in db.query(
            "SELECT p.name, p.birth_date, p.id_number, h.number FROM person p LEFT JOIN household h "
            f"ON h.id = p.household_id WHERE p.deleted = 0 AND p.name IN ({','.join('?' * len(chunk))})", chunk):
            for r in want.get((row[0], row[1]), []):
                text = (f"可能是同一人：系统中已有 {row[0]}（{row[1]}，户 {row[3] or '—'}"
                        f"{'，身份证号 ' + row[2][-4:].rjust(8, '*') if row[2] else ''}）")
                out.append((r.row, text))
    plan.extra["maybe_same"] = sorted(out)

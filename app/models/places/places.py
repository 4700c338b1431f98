"""Places: community → district → grid → building → unit → room, their picture signs and heads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import NotFoundError, ValidationError
from app.models.core.text_rules import control_problem
from app.models.places import rhythm
from app.models.places.place_roles import CURRENT_ROLE_SQL, ROLE_FOR_PLACE, ROLE_NAMES, ROLE_VALUES_SQL
from app.models.places.signs import is_sign, sign_name
from app.models.registry.registry_search import person_condition

# place table → Chinese word, used in messages.
KIND_NAMES = {
    "community": "社区",
    "district": "片区",
    "grid": "网格",
    "building": "楼栋",
    "unit": "单元",
    "room": "房间",
}

# In SQL here and in rhythm/visits, "+h.deleted = 0", "+p.status = …": the unary plus keeps SQLite
# (which has no statistics) from walking the low-selectivity household_deleted / person_deleted indexes
# instead of the room and household ones; measured 150 ms instead of 1 ms for one unit's rooms.

ROOM_NUMBER_RE = re.compile(r"[0-9A-Za-z\-]{1,10}")

_PARENT = {
    "district": "community",
    "grid": "community",
    "building": "community",
    "unit": "building",
    "room": "unit",
}


@dataclass
class PlaceNode:
    """One node of the places tree (rooms are loaded on demand, not here)."""

    table: str
    id: str
    name: str
    parent_table: str | None = None
    parent_id: str | None = None
    sign: str | None = None
    retired: bool = False
    number: int | None = None
    children: list[PlaceNode] = field(default_factory=list)


@dataclass
class Counts:
    households: int = 0
    residents: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0
    overdue: int = 0

    def add(self, other: Counts) -> None:
        self.households += other.households
        self.residents += other.residents
        self.red += other.red
        self.yellow += other.yellow
        self.green += other.green
        self.overdue += other.overdue


# -- reading -----------------------------------------------------------------------------------
def tree(db: Database, include_retired: bool = True) -> list[PlaceNode]:
    """All communities with their districts, grids, buildings and units (a few thousand rows at most)."""
    ret = "" if include_retired else " AND retired = 0"
    comms = [
        PlaceNode("community", r["id"], r["name"])
        for r in db.query("SELECT id, name FROM community WHERE deleted = 0 ORDER BY name")
    ]
    by_comm = {c.id: c for c in comms}
    districts: dict[str, PlaceNode] = {}
    for r in db.query(f"SELECT * FROM district WHERE deleted = 0{ret} ORDER BY sort_order, name"):
        node = PlaceNode(
            "district", r["id"], r["name"], "community", r["community_id"], retired=bool(r["retired"])
        )
        districts[node.id] = node
        if r["community_id"] in by_comm:
            by_comm[r["community_id"]].children.append(node)
    grids: dict[str, PlaceNode] = {}
    for r in db.query(f"SELECT * FROM grid WHERE deleted = 0{ret} ORDER BY sort_order, name"):
        parent = districts.get(r["district_id"] or "") or by_comm.get(r["community_id"])
        node = PlaceNode(
            "grid",
            r["id"],
            r["name"],
            parent.table if parent else None,
            parent.id if parent else None,
            retired=bool(r["retired"]),
        )
        grids[node.id] = node
        if parent:
            parent.children.append(node)
    buildings: dict[str, PlaceNode] = {}
    for r in db.query(f"SELECT * FROM building WHERE deleted = 0{ret} ORDER BY number, name COLLATE natsort"):
        parent = grids.get(r["grid_id"] or "") or by_comm.get(r["community_id"])
        node = PlaceNode(
            "building",
            r["id"],
            r["name"],
            parent.table if parent else None,
            parent.id if parent else None,
            r["sign"],
            bool(r["retired"]),
            r["number"],
        )
        buildings[node.id] = node
        if parent:
            parent.children.append(node)
    for r in db.query(f"SELECT * FROM unit WHERE deleted = 0{ret} ORDER BY number"):
        b = buildings.get(r["building_id"])
        if b:
            b.children.append(
                PlaceNode(
                    "unit",
                    r["id"],
                    unit_label(r["number"], r["name"]),
                    "building",
                    b.id,
                    r["sign"],
                    bool(r["retired"]),
                    r["number"],
                )
            )
    return comms


def unit_label(number: int | None, name: str | None = None) -> str:
    return name or f"{number}单元"


def rooms_of_unit(db: Database, unit_id: str) -> list[dict]:
    """Rooms of one unit with the household living there (if any)."""
    rows = db.query(
        "SELECT r.id, r.number, r.floor, r.retired, h.id AS household_id, h.number AS household_number, "
        "h.risk_colour, p.name AS head_name FROM room r "
        "LEFT JOIN household h ON h.room_id = r.id AND +h.deleted = 0 AND +h.status = '在住' "
        "LEFT JOIN person p ON p.id = h.head_person_id "
        "WHERE r.unit_id = ? AND r.deleted = 0 ORDER BY r.floor, r.number",
        (unit_id,),
    )
    return [dict(r) for r in rows]


def get_place(db: Database, table: str, place_id: str) -> dict:
    _check_table(table)
    row = db.one(f"SELECT * FROM {table} WHERE id = ? AND deleted = 0", (place_id,))
    if row is None:
        raise NotFoundError(f"找不到这个{KIND_NAMES[table]}，可能已被删除。")
    return dict(row)


def community_of(db: Database, table: str, place_id: str) -> str:
    """The community id a place belongs to."""
    if table == "community":
        return place_id
    if table in ("district", "grid", "building"):
        return get_place(db, table, place_id)["community_id"]
    if table == "unit":
        return get_place(db, "building", get_place(db, "unit", place_id)["building_id"])["community_id"]
    if table == "room":
        return community_of(db, "unit", get_place(db, "room", place_id)["unit_id"])
    raise ValueError(table)


def place_path(db: Database, table: str, place_id: str) -> str:
    """Readable path such as “红路馨居 / 3号楼 / 2单元”."""
    parts: list[str] = []
    t, pid = table, place_id
    while t and pid:
        row = get_place(db, t, pid)
        if t == "unit":
            parts.append(unit_label(row["number"], row["name"]))
            t, pid = "building", row["building_id"]
        elif t == "room":
            parts.append(row["number"])
            t, pid = "unit", row["unit_id"]
        else:
            parts.append(row["name"])
            if t == "community":
                break
            t, pid = "community", row["community_id"]
    return " / ".join(reversed(parts))


def counts_by_place(db: Database, today: dt.date | str | None = None) -> dict[tuple[str, str], Counts]:
    """Household, resident, colour and overdue counts for every unit, building, grid, district, community.

    Counted per unit in one query, then summed upward in Python (there are only hundreds of units).
    """
    per_unit: dict[str, Counts] = {}
    for r in db.query(
        "SELECT r.unit_id AS unit_id, count(*) AS n, sum(h.risk_colour = 'red') AS red, "
        "sum(h.risk_colour = 'yellow') AS yellow, sum(h.risk_colour = 'green') AS green, "
        "sum((SELECT count(*) FROM person p WHERE p.household_id = h.id AND +p.deleted = 0 "
        "     AND +p.status = '在册')) AS residents "
        "FROM household h JOIN room r ON r.id = h.room_id "
        "WHERE +h.deleted = 0 AND +h.status = '在住' GROUP BY r.unit_id"
    ):
        per_unit[r["unit_id"]] = Counts(
            r["n"], r["residents"] or 0, r["red"] or 0, r["yellow"] or 0, r["green"] or 0
        )
    for unit_id, n in rhythm.overdue_by_unit(db, today).items():
        per_unit.setdefault(unit_id, Counts()).overdue = n
    out: dict[tuple[str, str], Counts] = {}
    units = db.query(
        "SELECT u.id AS unit_id, b.id AS building_id, b.grid_id, g.district_id, b.community_id "
        "FROM unit u JOIN building b ON b.id = u.building_id LEFT JOIN grid g ON g.id = b.grid_id "
        "WHERE u.deleted = 0 AND b.deleted = 0"
    )
    for u in units:
        c = per_unit.get(u["unit_id"], Counts())
        out[("unit", u["unit_id"])] = c
        for key in (
            ("building", u["building_id"]),
            ("grid", u["grid_id"]),
            ("district", u["district_id"]),
            ("community", u["community_id"]),
        ):
            if key[1]:
                out.setdefault(key, Counts()).add(c)
    return out


# -- writing places ----------------------------------------------------------------------------
def _check_table(table: str) -> None:
    if table not in KIND_NAMES:
        raise ValueError(f"unknown place table {table}")


def _clean_name(name: str, kind: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(f"请填写{kind}名称。", field="name")
    if len(name) > 40:
        raise ValidationError(f"{kind}名称太长（最多 40 个字）。", field="name")
    problem = control_problem(name, f"{kind}名称")
    if problem:
        raise ValidationError(f"{problem}，请删除后重新输入。", field="name")
    return name


def add_community(db: Database, name: str, street: str | None = None, county: str | None = None) -> str:
    name = _clean_name(name, "社区")
    if db.scalar("SELECT 1 FROM community WHERE name = ? AND deleted = 0", (name,)):
        raise ValidationError(f"已有名为“{name}”的社区。", field="name")
    with db.write() as tx:
        return tx.insert(
            "community", {"name": name, "street": street, "county": county}, summary=f"新建社区 {name}"
        )


def add_district(db: Database, community_id: str, name: str) -> str:
    get_place(db, "community", community_id)
    name = _clean_name(name, "片区")
    _unique_sibling(db, "district", "community_id", community_id, name)
    with db.write() as tx:
        return tx.insert("district", {"community_id": community_id, "name": name}, summary=f"新建片区 {name}")


def add_grid(db: Database, community_id: str, name: str, district_id: str | None = None) -> str:
    get_place(db, "community", community_id)
    if district_id and get_place(db, "district", district_id)["community_id"] != community_id:
        raise ValidationError("片区不属于这个社区。", field="district")
    name = _clean_name(name, "网格")
    _unique_sibling(db, "grid", "community_id", community_id, name)
    with db.write() as tx:
        return tx.insert(
            "grid",
            {"community_id": community_id, "district_id": district_id, "name": name},
            summary=f"新建网格 {name}",
        )


def add_building(
    db: Database,
    community_id: str,
    name: str,
    *,
    grid_id: str | None = None,
    number: int | None = None,
    floors: int | None = None,
    units: int = 0,
    rooms_per_floor: int = 0,
    layout: Mapping[int, Sequence[tuple[str, int | None]]] | None = None,
) -> str:
    """Add a building; optionally with `units` units, each with `floors` × `rooms_per_floor` rooms (501, 502…).

    `layout` (unit number → (room number, floor) pairs) gives the units and rooms one by one instead,
    for buildings that are not a plain grid (shops on the ground floor, a missing or renumbered room).
    """
    get_place(db, "community", community_id)
    if grid_id and get_place(db, "grid", grid_id)["community_id"] != community_id:
        raise ValidationError("网格不属于这个社区。", field="grid")
    name = _clean_name(name, "楼栋")
    _unique_sibling(db, "building", "community_id", community_id, name)
    if units < 0 or units > 20 or rooms_per_floor < 0 or rooms_per_floor > 20 or (floors or 0) > 60:
        raise ValidationError(
            "单元数、层数或每层户数超出范围（单元最多 20 个，每层最多 20 户，最多 60 层）。"
        )
    if units and rooms_per_floor and not floors:
        raise ValidationError("要自动生成房间，请填写层数。", field="floors")
    with db.write() as tx:
        bid = tx.insert(
            "building",
            {
                "community_id": community_id,
                "grid_id": grid_id,
                "name": name,
                "number": number,
                "floors": floors,
            },
            summary=f"新建楼栋 {name}",
        )
        if layout is None:
            layout = {u: grid_rooms(floors or 0, rooms_per_floor) for u in range(1, units + 1)}
        for u, unit_rooms in sorted(layout.items()):
            uid = tx.insert("unit", {"building_id": bid, "number": u})
            add_rooms(db, uid, unit_rooms, summary=f"{name} {u}单元 房间")
    return bid


def grid_rooms(floors: int, rooms_per_floor: int, skip_floors: Iterable[int] = ()) -> list[tuple[str, int]]:
    """Room numbers floor + two-digit sequence (501, 502 …) for a plain stairwell."""
    skip = set(skip_floors)
    return [
        (f"{f}{k:02d}", f) for f in range(1, floors + 1) if f not in skip for k in range(1, rooms_per_floor + 1)
    ]


def add_rooms(db: Database, unit_id: str, rooms: Sequence[tuple[str, int | None]], *, summary: str | None = None) -> int:
    """Add many rooms to one unit in one batch; refuses a bad or repeated number (nothing written)."""
    get_place(db, "unit", unit_id)
    taken = {r["number"] for r in db.query("SELECT number FROM room WHERE unit_id = ? AND deleted = 0", (unit_id,))}
    rows = []
    for number, floor in rooms:
        if not ROOM_NUMBER_RE.fullmatch(number):
            raise ValidationError(f"房号“{number}”不对：房号只能包含数字、字母和“-”，例如 501。", field="number")
        if number in taken:
            raise ValidationError(f"这个单元已有房号 {number}。", field="number")
        taken.add(number)
        rows.append({"unit_id": unit_id, "number": number, "floor": floor})
    with db.write() as tx:
        return tx.insert_many("room", rows, summary=summary or "新建房间")


def add_unit(db: Database, building_id: str, number: int, name: str | None = None) -> str:
    b = get_place(db, "building", building_id)
    if not isinstance(number, int) or number <= 0:
        raise ValidationError("单元号应为正整数。", field="number")
    if db.scalar(
        "SELECT 1 FROM unit WHERE building_id = ? AND number = ? AND deleted = 0", (building_id, number)
    ):
        raise ValidationError(f"{b['name']}已有{number}单元。", field="number")
    with db.write() as tx:
        return tx.insert(
            "unit",
            {"building_id": building_id, "number": number, "name": (name or "").strip() or None},
            summary=f"新建单元 {b['name']} {number}单元",
        )


def add_room(db: Database, unit_id: str, number: str, floor: int | None = None) -> str:
    get_place(db, "unit", unit_id)
    number = (number or "").strip()
    if not ROOM_NUMBER_RE.fullmatch(number):
        raise ValidationError("房号只能包含数字、字母和“-”，例如 501。", field="number")
    if db.scalar("SELECT 1 FROM room WHERE unit_id = ? AND number = ? AND deleted = 0", (unit_id, number)):
        raise ValidationError(f"这个单元已有房号 {number}。", field="number")
    if floor is None and number.isdigit() and len(number) >= 3:
        floor = int(number[:-2])
    with db.write() as tx:
        return tx.insert(
            "room", {"unit_id": unit_id, "number": number, "floor": floor}, summary=f"新建房间 {number}"
        )


def _unique_sibling(
    db: Database, table: str, parent_col: str, parent_id: str, name: str, except_id: str | None = None
) -> None:
    row = db.scalar(
        f"SELECT id FROM {table} WHERE {parent_col} = ? AND name = ? AND deleted = 0 AND id IS NOT ?",
        (parent_id, name, except_id),
    )
    if row:
        raise ValidationError(f"这里已有名为“{name}”的{KIND_NAMES[table]}。", field="name")


def rename(db: Database, table: str, place_id: str, name: str) -> None:
    _check_table(table)
    row = get_place(db, table, place_id)
    kind = KIND_NAMES[table]
    if table == "room":
        name = (name or "").strip()
        if not ROOM_NUMBER_RE.fullmatch(name):
            raise ValidationError("房号只能包含数字、字母和“-”，例如 501。", field="name")
        if db.scalar(
            "SELECT 1 FROM room WHERE unit_id = ? AND number = ? AND deleted = 0 AND id <> ?",
            (row["unit_id"], name, place_id),
        ):
            raise ValidationError(f"这个单元已有房号 {name}。", field="name")
        with db.write() as tx:
            tx.update("room", place_id, {"number": name}, summary=f"房号改为 {name}")
        return
    name = _clean_name(name, kind)
    if table == "unit":
        with db.write() as tx:
            tx.update("unit", place_id, {"name": name}, summary=f"单元改名为 {name}")
        return
    if table != "community":
        _unique_sibling(db, table, "community_id", row["community_id"], name, place_id)
    elif db.scalar("SELECT 1 FROM community WHERE name = ? AND deleted = 0 AND id <> ?", (name, place_id)):
        raise ValidationError(f"已有名为“{name}”的社区。", field="name")
    with db.write() as tx:
        tx.update(table, place_id, {"name": name}, summary=f"{kind}改名为 {name}")


def move(db: Database, table: str, place_id: str, new_parent_id: str | None) -> None:
    """Move a grid to another district (or none), or a building to another grid, within its community.

    Moving a unit to another building is refused: the rooms and addresses of its households would change.
    """
    row = get_place(db, table, place_id)
    if table == "grid":
        if new_parent_id and get_place(db, "district", new_parent_id)["community_id"] != row["community_id"]:
            raise ValidationError("网格只能移到同一社区的片区下。")
        with db.write() as tx:
            tx.update("grid", place_id, {"district_id": new_parent_id}, summary=f"移动网格 {row['name']}")
    elif table == "building":
        if new_parent_id and get_place(db, "grid", new_parent_id)["community_id"] != row["community_id"]:
            raise ValidationError("楼栋只能移到同一社区的网格下。")
        with db.write() as tx:
            tx.update("building", place_id, {"grid_id": new_parent_id}, summary=f"移动楼栋 {row['name']}")
    else:
        raise ValidationError(f"{KIND_NAMES[table]}不能移动。")


def households_in(db: Database, table: str, place_id: str) -> int:
    """Households living (status 在住) in a place."""
    joins = (
        "FROM household h JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id "
        "JOIN building b ON b.id = u.building_id LEFT JOIN grid g ON g.id = b.grid_id"
    )
    col = {
        "room": "r.id",
        "unit": "u.id",
        "building": "b.id",
        "grid": "b.grid_id",
        "district": "g.district_id",
        "community": "b.community_id",
    }[table]
    return int(
        db.scalar(
            f"SELECT count(*) {joins} WHERE {col} = ? AND +h.deleted = 0 AND +h.status = '在住'", (place_id,)
        )
    )


def set_retired(db: Database, table: str, place_id: str, retired: bool) -> None:
    """Retire (停用) a place: it stays in the records but is not offered for new entries."""
    _check_table(table)
    get_place(db, table, place_id)
    if retired:
        n = households_in(db, table, place_id)
        if n:
            raise ValidationError(
                f"这个{KIND_NAMES[table]}还住着 {n} 户，不能停用。请先把这些住户搬到其他房间。"
            )
    with db.write() as tx:
        tx.update(
            table,
            place_id,
            {"retired": 1 if retired else 0},
            summary=("停用" if retired else "恢复") + KIND_NAMES[table],
        )


def delete_place(db: Database, table: str, place_id: str) -> None:
    """Delete (tombstone) a place and everything under it; refused while any household lives there."""
    _check_table(table)
    row = get_place(db, table, place_id)
    kind = KIND_NAMES[table]
    n = households_in(db, table, place_id)
    if n:
        raise ValidationError(
            f"这个{kind}还住着 {n} 户，不能删除。请先把这些住户搬到其他房间（在户籍台账里修改住址），再删除。"
        )
    gone = [*_descendants(db, table, place_id), (table, place_id)]
    with db.write() as tx:
        # Grids of a deleted district, and buildings of a deleted grid, stay: directly under the community.
        if table == "district":
            for r in db.query("SELECT id FROM grid WHERE district_id = ? AND deleted = 0", (place_id,)):
                tx.update("grid", r["id"], {"district_id": None})
        if table == "grid":
            for r in db.query("SELECT id FROM building WHERE grid_id = ? AND deleted = 0", (place_id,)):
                tx.update("building", r["id"], {"grid_id": None})
        for gone_table, gone_id in gone:
            for r in db.query(
                "SELECT id FROM place_role WHERE place_table = ? AND place_id = ? AND deleted = 0",
                (gone_table, gone_id),
            ):
                tx.delete("place_role", r["id"])
            tx.delete(
                gone_table,
                gone_id,
                summary=f"删除{kind} {row.get('name') or row.get('number')}" if gone_id == place_id else None,
            )


def _descendants(db: Database, table: str, place_id: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if table == "community":
        for t in ("district", "grid", "building"):
            for r in db.query(f"SELECT id FROM {t} WHERE community_id = ? AND deleted = 0", (place_id,)):
                if t == "building":
                    out += _descendants(db, "building", r["id"])
                out.append((t, r["id"]))
    elif table == "building":
        for r in db.query("SELECT id FROM unit WHERE building_id = ? AND deleted = 0", (place_id,)):
            out += _descendants(db, "unit", r["id"])
            out.append(("unit", r["id"]))
    elif table == "unit":
        out += [
            ("room", r["id"])
            for r in db.query("SELECT id FROM room WHERE unit_id = ? AND deleted = 0", (place_id,))
        ]
    return out


# -- picture signs -----------------------------------------------------------------------------
def signs_in_use(db: Database, community_id: str) -> dict[str, str]:
    """sign key → building name, for the buildings of one community."""
    return {
        r["sign"]: r["name"]
        for r in db.query(
            "SELECT sign, name FROM building WHERE community_id = ? AND deleted = 0 AND sign IS NOT NULL",
            (community_id,),
        )
    }


def set_sign(db: Database, table: str, place_id: str, sign: str | None) -> None:
    """Give a building or unit its picture sign. Two buildings of one community may not share a sign."""
    if table not in ("building", "unit"):
        raise ValidationError("只有楼栋和单元可以设置图标。")
    if sign is not None and not is_sign(sign):
        raise ValidationError(f"没有这个图标：{sign}")
    row = get_place(db, table, place_id)
    if table == "building" and sign:
        other = db.one(
            "SELECT name FROM building WHERE community_id = ? AND sign = ? AND id <> ? AND deleted = 0",
            (row["community_id"], sign, place_id),
        )
        if other:
            raise ValidationError(
                f"图标“{sign_name(sign)}”已经给了本社区的{other['name']}，同一社区的两栋楼不能用同一个图标。"
                "请换一个图标。",
                field="sign",
            )
    if table == "unit" and sign:
        b = get_place(db, "building", row["building_id"])
        other = db.one(
            "SELECT number, name FROM unit WHERE building_id = ? AND sign = ? AND id <> ? AND deleted = 0",
            (b["id"], sign, place_id),
        )
        if other:
            raise ValidationError(
                f"图标“{sign_name(sign)}”已经给了{b['name']}的{unit_label(other['number'], other['name'])}。",
                field="sign",
            )
    with db.write() as tx:
        tx.update(table, place_id, {"sign": sign}, summary=f"设置图标 {sign_name(sign) or '无'}")


# -- heads and grid workers ------------------------------------------------------------------------
def roles_of(db: Database, table: str, place_id: str) -> list[dict]:
    rows = db.query(
        "SELECT pr.*, p.name AS person_name, p.phone AS person_phone FROM place_role pr "
        "LEFT JOIN person p ON p.id = pr.person_id "
        f"WHERE pr.place_table = ? AND pr.place_id = ? AND pr.deleted = 0 AND {CURRENT_ROLE_SQL} "
        "ORDER BY pr.start_date",
        (table, place_id),
    )
    out = []
    for r in rows:
        d = dict(r)
        d["display_name"] = d["person_name"] or d["staff_name"] or ""
        d["kind"] = "居民" if d["person_id"] else "工作人员"
        out.append(d)
    return out


def assign_role(
    db: Database,
    table: str,
    place_id: str,
    *,
    person_id: str | None = None,
    staff_name: str | None = None,
    phone: str | None = None,
    start_date: str | None = None,
    replace: bool = True,
) -> str:
    """Make a resident (`person_id`) or a staff member (`staff_name`) the grid worker / head of a place.

    A building head may look after several buildings, but only within one community.
    With `replace`, the current holder(s) of the role at this place step down (end_date set).
    """
    if table not in ROLE_FOR_PLACE:
        raise ValidationError("只有网格、楼栋和单元可以指定负责人。")
    role = ROLE_FOR_PLACE[table]
    place = get_place(db, table, place_id)
    staff_name = (staff_name or "").strip() or None
    if not person_id and not staff_name:
        raise ValidationError(f"请选择一位居民，或填写工作人员姓名，作为{ROLE_NAMES[role]}。")
    if person_id:
        p = db.one("SELECT name FROM person WHERE id = ? AND +deleted = 0", (person_id,))
        if p is None:
            raise NotFoundError("找不到这位居民。")
        staff_name = None
        who_sql, who = "pr.person_id = ?", person_id
        who_name = p["name"]
    else:
        who_sql, who = "pr.person_id IS NULL AND pr.staff_name = ?", staff_name or ""
        who_name = staff_name or ""
    community = community_of(db, table, place_id)
    for other in db.query(
        f"SELECT pr.place_table, pr.place_id FROM place_role pr WHERE {who_sql} AND pr.deleted = 0 "
        f"AND {CURRENT_ROLE_SQL} AND pr.place_table IN ('building', 'unit', 'grid')",
        (who,),
    ):
        try:
            other_comm = community_of(db, other["place_table"], other["place_id"])
        except NotFoundError:
            continue
        if other_comm != community:
            cname = get_place(db, "community", other_comm)["name"]
            raise ValidationError(
                f"{who_name}已经是“{cname}”社区{place_path(db, other['place_table'], other['place_id'])}的"
                f"负责人，不能同时负责另一个社区的楼栋。请先在原社区解除。"
            )
    if db.scalar(
        f"SELECT 1 FROM place_role pr WHERE pr.place_table = ? AND pr.place_id = ? AND {who_sql} "
        f"AND pr.role IN {ROLE_VALUES_SQL[table]} AND pr.deleted = 0 AND {CURRENT_ROLE_SQL}",
        (table, place_id, who),
    ):
        raise ValidationError(f"{who_name}已经是这里的{ROLE_NAMES[role]}了。")
    import datetime as dt

    start = start_date or dt.date.today().isoformat()
    with db.write() as tx:
        if replace:
            for r in db.query(
                f"SELECT id FROM place_role pr WHERE place_table = ? AND place_id = ? "
                f"AND role IN {ROLE_VALUES_SQL[table]} AND deleted = 0 AND {CURRENT_ROLE_SQL}",
                (table, place_id),
            ):
                tx.update("place_role", r["id"], {"end_date": start})
        return tx.insert(
            "place_role",
            {
                "place_table": table,
                "place_id": place_id,
                "role": role,
                "person_id": person_id,
                "staff_name": staff_name,
                "phone": (phone or "").strip() or None,
                "start_date": start,
            },
            summary=f"{place.get('name') or ''} {ROLE_NAMES[role]}：{who_name}",
        )


def end_role(db: Database, role_id: str, end_date: str | None = None) -> None:
    import datetime as dt

    with db.write() as tx:
        tx.update(
            "place_role", role_id, {"end_date": end_date or dt.date.today().isoformat()}, summary="解除负责人"
        )


def building_heads(db: Database, community_id: str | None = None) -> list[dict]:
    """Distinct current building heads: {key, name, person_id, staff_name, buildings} for filters."""
    sql = (
        "SELECT pr.person_id, pr.staff_name, coalesce(p.name, pr.staff_name) AS name, "
        "group_concat(b.name, '、') AS buildings FROM place_role pr JOIN building b ON b.id = pr.place_id "
        "LEFT JOIN person p ON p.id = pr.person_id "
        f"WHERE pr.place_table = 'building' AND pr.role IN {ROLE_VALUES_SQL['building']} AND pr.deleted = 0 "
        f"AND {CURRENT_ROLE_SQL} AND b.deleted = 0"
    )
    params: list[Any] = []
    if community_id:
        sql += " AND b.community_id = ?"
        params.append(community_id)
    sql += " GROUP BY pr.person_id, pr.staff_name ORDER BY name"
    out = []
    for r in db.query(sql, params):
        d = dict(r)
        d["key"] = f"p:{d['person_id']}" if d["person_id"] else f"s:{d['staff_name']}"
        out.append(d)
    return out


# -- rooms by what a building head types ---------------------------------------------------------------
_ROOM_RE = re.compile(r"^\s*(?:(\d+)\s*(?:-|－|—|单元|/|\s)\s*)?([0-9A-Za-z]+)\s*(?:室|号)?\s*$")


def resolve_room(db: Database, building_id: str, text: str) -> dict:
    """Find a room in a building from what was typed: “2-501” (unit 2, room 501), “2单元501”,
    or “501” when the building has one unit (or the number is unique in the building).

    Returns {room_id, unit_id, unit_number, room_number, household_id (or None)}.
    Raises ValidationError with a Chinese message when the room does not exist.
    """
    b = get_place(db, "building", building_id)
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("请输入房号，例如 2-501（2单元501室）。", field="room")
    m = _ROOM_RE.match(raw)
    if not m:
        raise ValidationError(f"看不懂房号“{raw}”。请按“单元-房号”输入，例如 2-501。", field="room")
    unit_no, room_no = m.group(1), m.group(2)
    base = (
        "SELECT r.id AS room_id, u.id AS unit_id, u.number AS unit_number, r.number AS room_number, "
        "(SELECT h.id FROM household h WHERE h.room_id = r.id AND +h.deleted = 0 AND +h.status = '在住' "
        " LIMIT 1) AS household_id "
        "FROM room r JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ? AND r.deleted = 0 AND u.deleted = 0 "
    )
    if unit_no is not None:
        rows = db.query(
            base + "AND u.number = ? AND (r.number = ? OR r.number = ?)",
            (building_id, int(unit_no), room_no, f"{unit_no}-{room_no}"),
        )
        if not rows:
            if not db.scalar(
                "SELECT 1 FROM unit WHERE building_id = ? AND number = ? AND deleted = 0",
                (building_id, int(unit_no)),
            ):
                raise ValidationError(f"{b['name']}没有{unit_no}单元。", field="room")
            raise ValidationError(f"{b['name']}{unit_no}单元没有{room_no}室。", field="room")
    else:
        rows = db.query(
            base + "AND (r.number = ? OR r.number = u.number || '-' || ?)", (building_id, room_no, room_no)
        )
        if not rows:
            raise ValidationError(f"{b['name']}没有房号“{room_no}”。", field="room")
        if len(rows) > 1:
            raise ValidationError(
                f"{b['name']}有 {len(rows)} 个单元都有{room_no}室，请加上单元号，例如 "
                f"{rows[0]['unit_number']}-{room_no}。",
                field="room",
            )
    return dict(rows[0])


def building_signs(db: Database, *, include_retired: bool = False) -> list[dict[str, Any]]:
    """Buildings with their picture sign, in natural order (the sign board's tiles)."""
    retired = "" if include_retired else " AND retired = 0"
    return [dict(r) for r in db.query(
        f"SELECT id, name, sign FROM building WHERE deleted = 0{retired} ORDER BY number, name COLLATE natsort"
    )]


def _live_places(db: Database, table: str, columns: str, order: str, community_id: str | None,
                 include_retired: bool) -> list[dict[str, Any]]:
    sql = f"SELECT {columns} FROM {table} WHERE deleted = 0"
    params: list[Any] = []
    if community_id is not None:
        sql += " AND community_id = ?"
        params.append(community_id)
    if not include_retired:
        sql += " AND retired = 0"
    return [dict(r) for r in db.query(f"{sql} ORDER BY {order}", params)]


def buildings(db: Database, community_id: str | None = None, *, include_retired: bool = True
              ) -> list[dict[str, Any]]:
    """Buildings not deleted (of one community, or all), in number order: id, name, number, sign."""
    return _live_places(db, "building", "id, name, number, sign", "number, name COLLATE natsort",
                        community_id, include_retired)


def grids(db: Database, community_id: str | None = None, *, include_retired: bool = True) -> list[dict[str, Any]]:
    """Grids not deleted (of one community, or all), in their order: id, name."""
    return _live_places(db, "grid", "id, name", "sort_order, name", community_id, include_retired)


def has_buildings(db: Database) -> bool:
    return db.scalar("SELECT 1 FROM building WHERE deleted = 0 LIMIT 1") is not None


def building_name(db: Database, building_id: str | None) -> str | None:
    if not building_id:
        return None
    name = db.scalar("SELECT name FROM building WHERE id = ?", (building_id,))
    return None if name is None else str(name)


def districts(db: Database, community_id: str, *, include_retired: bool = True) -> list[dict[str, Any]]:
    """Districts (片区) not deleted of one community, in their order: id, name."""
    sql = "SELECT id, name FROM district WHERE community_id = ? AND deleted = 0"
    if not include_retired:
        sql += " AND retired = 0"
    return [dict(r) for r in db.query(sql + " ORDER BY sort_order, name", (community_id,))]


def next_unit_number(db: Database, building_id: str) -> int:
    """The number after the building's highest unit (1 for none)."""
    return int(db.scalar("SELECT coalesce(max(number), 0) + 1 FROM unit WHERE building_id = ? AND deleted = 0",
                         (building_id,)))


def units_of(db: Database, parent_table: str, parent_id: str) -> list[dict[str, Any]]:
    """Units (not deleted) of a building, or the unit itself: id, number, sign, in number order."""
    col = "id" if parent_table == "unit" else "building_id"
    return [dict(r) for r in db.query(
        f"SELECT id, number, sign FROM unit WHERE {col} = ? AND deleted = 0 ORDER BY number", (parent_id,))]


def household_in_room(db: Database, room_id: str) -> str | None:
    """The id of the household living (在住) in the room, or None."""
    return db.scalar("SELECT id FROM household WHERE room_id = ? AND +deleted = 0 AND +status = '在住'", (room_id,))


_PLACE_COLUMN = {
    "room": "r.id", "unit": "u.id", "building": "b.id", "grid": "b.grid_id", "district": "g.district_id",
    "community": "b.community_id",
}


def households_at(db: Database, table: str, place_id: str, *, limit: int = 500) -> list[dict[str, Any]]:
    """Households living (在住) at a place, by unit and room: id, number, name (of the head), u, r."""
    col = _PLACE_COLUMN[table]
    return [dict(r) for r in db.query(
        "SELECT h.id, h.number, p.name, u.number AS u, r.number AS r FROM household h "
        "JOIN room r ON r.id = h.room_id JOIN unit u ON u.id = r.unit_id JOIN building b ON b.id = u.building_id "
        "LEFT JOIN grid g ON g.id = b.grid_id LEFT JOIN person p ON p.id = h.head_person_id "
        f"WHERE {col} = ? AND +h.deleted = 0 AND +h.status = '在住' ORDER BY u.number, r.number LIMIT ?",
        (place_id, limit))]


def role_candidates(db: Database, text: str, community_id: str | None, building_id: str | None = None,
                    *, limit: int = 50) -> list[dict[str, Any]]:
    """Registered residents who may take a role (building head …): id, name, phone, b, u, r.

    What is typed is read as every resident search reads it (``registry_search.person_condition``:
    name, pinyin, ID number or phone, a room, a household number). The people of `building_id`
    come first (read from the building: a few hundred people).
    """
    search = person_condition(text.strip(), db=db)
    if not search.sql:
        return []
    rows: list[dict[str, Any]] = []
    if building_id:
        rows = [dict(r) for r in db.query(
            "SELECT p.id, p.name, p.phone, b.name AS b, u.number AS u, r.number AS r FROM building b "
            "JOIN unit u ON u.building_id = b.id JOIN room r ON r.unit_id = u.id "
            "JOIN household h ON h.room_id = r.id JOIN person p ON p.household_id = h.id "
            f"WHERE b.id = ? AND +p.deleted = 0 AND +p.status = '在册' AND {search.sql} "
            "ORDER BY p.name LIMIT ?",
            (building_id, *search.params, limit))]
    seen = {r["id"] for r in rows}
    rows += [dict(r) for r in db.query(
        "SELECT p.id, p.name, p.phone, b.name AS b, u.number AS u, r.number AS r FROM person p "
        "JOIN household h ON h.id = p.household_id LEFT JOIN room r ON r.id = h.room_id "
        "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN building b ON b.id = u.building_id "
        f"WHERE +p.deleted = 0 AND +p.status = '在册' AND {search.sql} "
        "AND (b.community_id = ? OR b.community_id IS NULL) ORDER BY p.name LIMIT ?",
        (*search.params, community_id, limit)) if r["id"] not in seen]
    return rows


def visit_buildings(db: Database) -> list[dict[str, Any]]:
    """Buildings in use (not deleted, not retired) of every community, for the visit form: id, name, sign."""
    return [dict(r) for r in db.query(
        "SELECT b.id, b.name, b.sign, c.name AS community FROM building b JOIN community c ON c.id = b.community_id "
        "WHERE b.deleted = 0 AND b.retired = 0 ORDER BY c.name, b.number, b.name COLLATE natsort")]


def household_place(db: Database, household_id: str) -> dict[str, Any] | None:
    """Where a household lives: building_id, u (unit number), r (room number); None without a room."""
    row = db.one(
        "SELECT u.building_id, u.number AS u, r.number AS r FROM household h JOIN room r ON r.id = h.room_id "
        "JOIN unit u ON u.id = r.unit_id WHERE h.id = ?", (household_id,))
    return None if row is None else dict(row)

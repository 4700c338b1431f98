"""Setting up an office: its community, grids, buildings and rooms, and the set-up draft kept between starts."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from app.models.core import settings
from app.models.core.db import Database
from app.models.core.errors import ValidationError
from app.models.places import places
from app.models.places.signs import SIGNS, sign_name

DRAFT_KEY = "setup_draft"  # meta: what the set-up wizard held when it was closed (per PC)
USER_KEY = "user_name"  # meta: the name recorded on changes made at this PC (until accounts exist)

MAX_UNITS, MAX_FLOORS, MAX_PER_FLOOR = 20, 60, 20
_SEP = re.compile(r"[、,，;；\s]+")
_ARROW = re.compile(r"\s*(?:=|＝|→|->|改为|改成)\s*")
_ROOM_REF = re.compile(r"^(?:(\d+)\s*(?:-|－|—|单元))?\s*([0-9A-Za-z]+)\s*室?$")
_FLOOR_RANGE = re.compile(r"^(\d+)\s*(?:-|－|—|~|～|至|到)\s*(\d+)$")
_DIGITS = re.compile(r"\d+")


# -- where an office stands --------------------------------------------------------------------
def setup_state(db: Database) -> str | None:
    """What set-up still lacks: "community" (no live community), "places" (no live building), or None.

    A file with any household in it counts as set up whatever it lacks: it is an office at work
    (or an old file), and the wizard must never stand between a clerk and existing records.
    """
    if db.scalar("SELECT 1 FROM household LIMIT 1"):
        return None
    if not db.scalar("SELECT 1 FROM community WHERE deleted = 0"):
        return "community"
    if not db.scalar("SELECT 1 FROM building WHERE deleted = 0"):
        return "places"
    return None


@dataclass
class CommunityInfo:
    name: str = ""
    street: str = ""
    county: str = ""
    office_name: str = ""
    office_address: str = ""
    office_phone: str = ""


def office_name_for(community: str) -> str:
    """The default letterhead of a community's office."""
    community = community.strip()
    return f"{community}服务中心" if community else ""


def current_community(db: Database) -> dict | None:
    """The office's community: the first one set up (an office keeps one)."""
    row = db.one("SELECT * FROM community WHERE deleted = 0 ORDER BY rowid LIMIT 1")
    return dict(row) if row else None


def community_info(db: Database) -> CommunityInfo:
    """The community and the office details printed on forms, as the wizard's first page shows them."""
    row = current_community(db) or {}
    values = settings.get_all(db)
    has_office_name = db.scalar("SELECT 1 FROM setting WHERE id = 'office_name' AND deleted = 0")
    name = row.get("name") or ""
    return CommunityInfo(
        name=name,
        street=row.get("street") or "",
        county=row.get("county") or "",
        # A file never set up still carries the demo letterhead by default: offer the community's own.
        office_name=str(values["office_name"]) if has_office_name else office_name_for(name),
        office_address=str(values["office_address"] or ""),
        office_phone=str(values["office_phone"] or ""),
    )


def clean_community(info: CommunityInfo) -> CommunityInfo:
    """Checked and trimmed values; ValidationError names the field that is wrong."""
    out = CommunityInfo(**{k: (v or "").strip() for k, v in asdict(info).items()})
    if not out.name:
        raise ValidationError("请填写社区名称。", field="name")
    if len(out.name) > 40:
        raise ValidationError("社区名称太长（最多 40 个字）。", field="name")
    for key, label in (("street", "街道"), ("county", "县（市、区）"), ("office_name", "单位名称")):
        if len(getattr(out, key)) > 40:
            raise ValidationError(f"{label}太长（最多 40 个字）。", field=key)
    if not out.office_name:
        out.office_name = office_name_for(out.name)
    if len(out.office_address) > 100 or len(out.office_phone) > 40:
        raise ValidationError("单位地址或电话太长。", field="office_address")
    return out


def save_community(db: Database, info: CommunityInfo) -> str:
    """Create the office's community (or change the existing one) and the office details; returns its id."""
    info = clean_community(info)
    with db.write() as tx:
        row = current_community(db)
        if row is None:
            cid = places.add_community(db, info.name, info.street or None, info.county or None)
        else:
            cid = row["id"]
            if info.name != row["name"]:
                places.rename(db, "community", cid, info.name)
            tx.update("community", cid, {"street": info.street or None, "county": info.county or None},
                      summary=f"社区信息 {info.name}")
        for key in ("office_name", "office_address", "office_phone"):
            value = getattr(info, key)
            stored = db.scalar("SELECT value FROM setting WHERE id = ? AND deleted = 0", (key,))
            if stored is None or json.loads(stored) != value:
                settings.set_value(db, key, value)
    return cid


# -- buildings as typed (or read from a room list) ---------------------------------------------
Rooms = dict[int, list[tuple[str, int | None]]]  # unit number → (room number, floor)


@dataclass
class BuildingSpec:
    """One building the clerk wants: a plain stairwell grid with its exceptions, or explicit rooms."""

    name: str
    grid: str = ""
    units: int = 0
    floors: int = 0
    rooms_per_floor: int = 0
    empty_floors: str = ""  # floors without homes, e.g. "1" (shops on the ground floor)
    missing: str = ""  # rooms that do not exist: "2-502、301" (301 in every unit)
    renumbered: str = ""  # rooms numbered differently: "1-1101=1101A"
    sign: str | None = None
    head: str = ""  # building head (楼栋长), a staff name; optional
    rooms: Rooms | None = None  # explicit rooms (from a room list): the grid fields are then ignored
    where: str = ""  # where the clerk typed it, for messages ("第 3 行")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.rooms is not None:
            out["rooms"] = {str(u): [list(r) for r in rs] for u, rs in self.rooms.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildingSpec:
        data = dict(data)
        rooms = data.pop("rooms", None)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        spec = cls(**known)
        if rooms is not None:
            spec.rooms = {int(u): [(str(n), f) for n, f in rs] for u, rs in rooms.items()}
        return spec


def _problem(spec: BuildingSpec, text: str, field: str | None = None) -> ValidationError:
    where = f"{spec.where}（{spec.name}）" if spec.where else spec.name
    return ValidationError(f"{where}：{text}", field=field)


def parse_floors(text: str, floors: int) -> set[int]:
    """"1", "1、2", "1-2" → floor numbers; each must be a floor of the building."""
    out: set[int] = set()
    for token in _SEP.split((text or "").strip()):
        token = token.removesuffix("层").removesuffix("楼")
        if not token:
            continue
        m = _FLOOR_RANGE.match(token)
        if m:
            low, high = int(m.group(1)), int(m.group(2))
        elif token.isdigit():
            low = high = int(token)
        else:
            raise ValidationError(f"看不懂楼层“{token}”，请写数字，例如 1 或 1-2。", field="empty_floors")
        if low < 1 or high > floors or low > high:
            raise ValidationError(f"楼层“{token}”不在 1 到 {floors} 层之间。", field="empty_floors")
        out.update(range(low, high + 1))
    return out


def _room_refs(spec: BuildingSpec, text: str, field: str, units: list[int]) -> list[tuple[list[int], str, str]]:
    """("2-502" → units [2], "502"; "502" → every unit) with the token as typed."""
    out = []
    for token in _SEP.split((text or "").strip()):
        if not token:
            continue
        m = _ROOM_REF.match(token)
        if not m:
            raise _problem(spec, f"看不懂房号“{token}”，请写“单元-房号”，例如 2-502。", field)
        if m.group(1) is not None:
            u = int(m.group(1))
            if u not in units:
                raise _problem(spec, f"“{token}”：这栋楼没有 {u} 单元。", field)
            out.append(([u], m.group(2), token))
        else:
            out.append((list(units), m.group(2), token))
    return out


def layout(spec: BuildingSpec) -> Rooms:
    """Every room of the building by unit, with its exceptions applied; ValidationError when they do not fit."""
    if spec.rooms is not None:
        return {u: list(rs) for u, rs in spec.rooms.items()}
    if not 1 <= spec.units <= MAX_UNITS:
        raise _problem(spec, f"单元数应在 1 到 {MAX_UNITS} 之间。", "units")
    if not 1 <= spec.floors <= MAX_FLOORS:
        raise _problem(spec, f"层数应在 1 到 {MAX_FLOORS} 之间。", "floors")
    if not 1 <= spec.rooms_per_floor <= MAX_PER_FLOOR:
        raise _problem(spec, f"每层户数应在 1 到 {MAX_PER_FLOOR} 之间。", "rooms_per_floor")
    try:
        empty = parse_floors(spec.empty_floors, spec.floors)
    except ValidationError as exc:
        raise _problem(spec, exc.message, "empty_floors") from None
    units = list(range(1, spec.units + 1))
    out: Rooms = {u: [(number, floor) for number, floor in places.grid_rooms(spec.floors, spec.rooms_per_floor, empty)]
                  for u in units}
    for us, number, token in _room_refs(spec, spec.missing, "missing", units):
        found = False
        for u in us:
            before = len(out[u])
            out[u] = [r for r in out[u] if r[0] != number]
            found = found or len(out[u]) < before
        if not found:
            raise _problem(spec, f"要去掉的房间“{token}”本来就没有。", "missing")
    text = _ARROW.sub("=", (spec.renumbered or "").strip())
    for pair in _SEP.split(text):
        if not pair:
            continue
        if pair.count("=") != 1:
            raise _problem(spec, f"看不懂改号“{pair}”，请写“原房号=新房号”，例如 1-1101=1101A。", "renumbered")
        old, new = (p.strip() for p in pair.split("="))
        if not places.ROOM_NUMBER_RE.fullmatch(new):
            raise _problem(spec, f"新房号“{new}”不对：只能包含数字、字母和“-”。", "renumbered")
        refs = _room_refs(spec, old, "renumbered", units)
        if len(refs) != 1:
            raise _problem(spec, f"看不懂改号“{pair}”。", "renumbered")
        us, number, token = refs[0]
        found = False
        for u in us:
            numbers = [r[0] for r in out[u]]
            if number in numbers:
                if new in numbers and new != number:
                    raise _problem(spec, f"“{token}”改成“{new}”：{u}单元已有房号 {new}。", "renumbered")
                out[u] = [(new, f) if n == number else (n, f) for n, f in out[u]]
                found = True
        if not found:
            raise _problem(spec, f"要改号的房间“{token}”不存在。", "renumbered")
    return out


def building_number(name: str) -> int | None:
    """The number in a building's name ("5栋", "5号楼" → 5), used to match addresses such as 5-1-501."""
    m = _DIGITS.search(name)
    return int(m.group()) if m and len(m.group()) <= 4 else None


# -- what a set of specs would create ----------------------------------------------------------
@dataclass
class BuildingPlan:
    spec: BuildingSpec
    building_id: str | None  # an existing building of that name, or None (new)
    units_new: list[int] = field(default_factory=list)
    rooms_new: Rooms = field(default_factory=dict)
    rooms_total: int = 0
    sign_change: bool = False
    head_new: bool = False
    is_new: bool = False  # the building itself is created (building_id is filled in when applied)

    @property
    def new_rooms(self) -> int:
        return sum(len(rs) for rs in self.rooms_new.values())

    def describe(self) -> str:
        s = self.spec
        what = "新建" if self.is_new else "已有，补充"
        grid = f"（{s.grid}）" if s.grid else ""
        parts = [f"{s.name}{grid}：{what}"]
        if self.is_new:
            parts.append(f"{len(self.units_new)} 个单元、{self.new_rooms} 间房")
        elif self.units_new or self.new_rooms:
            parts.append(f"{len(self.units_new)} 个单元、{self.new_rooms} 间房")
        else:
            parts[0] = f"{s.name}{grid}：已有，房间无变化"
        if s.sign:
            parts.append(f"图标“{sign_name(s.sign)}”")
        if s.head:
            parts.append(f"楼栋长 {s.head}")
        return " ".join(parts[:2]) + ("，" + "，".join(parts[2:]) if parts[2:] else "")


@dataclass
class PlacesPlan:
    community_id: str | None
    buildings: list[BuildingPlan] = field(default_factory=list)
    grids_new: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "grids": len(self.grids_new),
            "buildings": sum(1 for b in self.buildings if b.is_new),
            "units": sum(len(b.units_new) for b in self.buildings),
            "rooms": sum(b.new_rooms for b in self.buildings),
        }

    @property
    def places_new(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        c = self.counts
        return f"将新建：网格 {c['grids']} 个，楼栋 {c['buildings']} 栋，单元 {c['units']} 个，房间 {c['rooms']} 间"


def plan_places(db: Database, community_id: str | None, specs: list[BuildingSpec]) -> PlacesPlan:
    """What `specs` would add to the community (nothing is written); every problem is listed."""
    plan = PlacesPlan(community_id)
    existing: dict[str, dict] = {}
    grids: set[str] = set()
    used_signs: dict[str, str] = {}
    if community_id:
        existing = {
            r["name"]: dict(r)
            for r in db.query("SELECT id, name, sign FROM building WHERE community_id = ? AND deleted = 0", (community_id,))
        }
        grids = {r["name"] for r in db.query("SELECT name FROM grid WHERE community_id = ? AND deleted = 0", (community_id,))}
        used_signs = places.signs_in_use(db, community_id)
    seen: dict[str, BuildingSpec] = {}
    for spec in specs:
        name = (spec.name or "").strip()
        if not name:
            plan.problems.append(f"{spec.where or ''}：请填写楼栋名称。".lstrip("："))
            continue
        if len(name) > 40:
            plan.problems.append(_problem(spec, "楼栋名称太长（最多 40 个字）。").message)
            continue
        spec = replace(spec, name=name, grid=(spec.grid or "").strip(), head=(spec.head or "").strip())
        if name in seen:
            plan.problems.append(_problem(spec, f"楼栋“{name}”填了两次（另见{seen[name].where or '前面'}）。").message)
            continue
        seen[name] = spec
        if len(spec.grid) > 40:
            plan.problems.append(_problem(spec, "网格名称太长（最多 40 个字）。").message)
            continue
        try:
            rooms = layout(spec)
        except ValidationError as exc:
            plan.problems.append(exc.message)
            continue
        old = existing.get(name)
        bp = BuildingPlan(spec, old["id"] if old else None, rooms_total=sum(len(r) for r in rooms.values()),
                          is_new=old is None)
        have_units: dict[int, str] = {}
        have_rooms: dict[int, set[str]] = {}
        if old:
            for r in db.query("SELECT id, number FROM unit WHERE building_id = ? AND deleted = 0", (old["id"],)):
                have_units[r["number"]] = r["id"]
                have_rooms[r["number"]] = {
                    x["number"] for x in db.query("SELECT number FROM room WHERE unit_id = ? AND deleted = 0", (r["id"],))
                }
        for u, unit_rooms in sorted(rooms.items()):
            if u not in have_units:
                bp.units_new.append(u)
            fresh = [rm for rm in unit_rooms if rm[0] not in have_rooms.get(u, set())]
            if fresh:
                bp.rooms_new[u] = fresh
        if spec.sign:
            if spec.sign not in SIGNS:
                plan.problems.append(_problem(spec, f"没有这个图标：{spec.sign}").message)
                continue
            holder = used_signs.get(spec.sign)
            if holder and holder != name:
                plan.problems.append(_problem(
                    spec, f"图标“{sign_name(spec.sign)}”已经给了{holder}，同一社区的两栋楼不能用同一个图标。").message)
                continue
            used_signs[spec.sign] = name
            bp.sign_change = not old or old["sign"] != spec.sign
        if spec.head:
            if len(spec.head) > 40:
                plan.problems.append(_problem(spec, "楼栋长姓名太长。").message)
                continue
            bp.head_new = not old or spec.head not in {
                r["display_name"] for r in places.roles_of(db, "building", old["id"])
            }
        if spec.grid and spec.grid not in grids and spec.grid not in plan.grids_new:
            plan.grids_new.append(spec.grid)
        plan.buildings.append(bp)
    return plan


def apply_places(db: Database, community_id: str, specs: list[BuildingSpec]) -> PlacesPlan:
    """Add the grids, buildings, units and rooms of `specs` that do not exist yet, all or nothing.

    Re-running with the same specs adds nothing: an existing building (same name) only gets its
    missing units and rooms, and keeps its grid.
    """
    with db.write():
        plan = plan_places(db, community_id, specs)
        if plan.problems:
            more = f"（另有 {len(plan.problems) - 5} 处）" if len(plan.problems) > 5 else ""
            raise ValidationError("；".join(p.rstrip("。") for p in plan.problems[:5]) + more + "。未作任何改动。")
        grid_ids = {
            r["name"]: r["id"]
            for r in db.query("SELECT id, name FROM grid WHERE community_id = ? AND deleted = 0", (community_id,))
        }
        for bp in plan.buildings:
            spec = bp.spec
            grid_id = None
            if spec.grid:
                if spec.grid not in grid_ids:
                    grid_ids[spec.grid] = places.add_grid(db, community_id, spec.grid)
                grid_id = grid_ids[spec.grid]
            if bp.building_id is None:  # a new building
                floors = max((f or 0 for rs in bp.rooms_new.values() for _n, f in rs), default=0) or None
                building_id = bp.building_id = places.add_building(
                    db, community_id, spec.name, grid_id=grid_id, number=building_number(spec.name),
                    floors=spec.floors or floors, layout=bp.rooms_new,
                )
            else:
                building_id = bp.building_id
                unit_ids = {
                    r["number"]: r["id"]
                    for r in db.query("SELECT id, number FROM unit WHERE building_id = ? AND deleted = 0",
                                      (building_id,))
                }
                for u in bp.units_new:
                    unit_ids[u] = places.add_unit(db, building_id, u)
                for u, rooms in sorted(bp.rooms_new.items()):
                    places.add_rooms(db, unit_ids[u], rooms, summary=f"{spec.name} {u}单元 房间")
            if bp.sign_change:
                places.set_sign(db, "building", building_id, spec.sign)
            if bp.head_new:
                places.assign_role(db, "building", building_id, staff_name=spec.head)
    return plan


# -- the wizard's one commit -------------------------------------------------------------------
def clean_user_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写您的姓名：每一条修改都会记下是谁做的。", field="user")
    if len(name) > 20:
        raise ValidationError("姓名太长（最多 20 个字）。", field="user")
    return name


def finish_setup(db: Database, info: CommunityInfo, specs: list[BuildingSpec], user_name: str) -> PlacesPlan:
    """The wizard's commit: community, office details, places and this PC's user name, in one transaction."""
    # A logged-in account signs its own changes; the typed name only serves files without accounts.
    user = db.principal.name if db.principal.has_account else clean_user_name(user_name)
    info = clean_community(info)
    previous = db.user
    db.user = user  # the set-up itself is recorded under the name just given
    try:
        with db.write():
            cid = save_community(db, info)
            if not specs and not db.scalar("SELECT 1 FROM building WHERE community_id = ? AND deleted = 0", (cid,)):
                raise ValidationError("请至少添加一栋楼（或从 Excel 房间清单导入）。", field="buildings")
            plan = apply_places(db, cid, specs)
            db.set_meta(USER_KEY, user)
            db.conn.execute("DELETE FROM meta WHERE key = ?", (DRAFT_KEY,))
    except BaseException:
        db.user = previous
        raise
    return plan


def saved_user(db: Database) -> str | None:
    """The user name given at set-up on this PC, if any."""
    return db.meta(USER_KEY)


# -- the draft ---------------------------------------------------------------------------------
def save_draft(db: Database, draft: dict[str, Any]) -> None:
    """Keep what the wizard holds (this PC only) so that closing it loses nothing."""
    db.set_meta(DRAFT_KEY, json.dumps(draft, ensure_ascii=False))


def load_draft(db: Database) -> dict[str, Any] | None:
    raw = db.meta(DRAFT_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # a damaged draft is only a convenience: start afresh
    return data if isinstance(data, dict) else None

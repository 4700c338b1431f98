"""Importing a room list (房间清单): one row per room, or one row per building or unit with its floors.

Either layout becomes buildings with explicit rooms (community_setup.BuildingSpec) and goes through
the same action as the set-up wizard, so an import only ever adds what is missing: importing the
same list twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.models.core.db import Database
from app.models.core.errors import KnownError
from app.models.excel.excel_read import (
    CellError,
    CellProblem,
    ImportPlan,
    LedgerImporter,
    ProgressFn,
    RowResult,
    cell_text,
    checkpoint,
    filled_cells,
    find_header,
    norm_header,
    rows_planner,
)
from app.models.places import community_setup
from app.models.places.places import ROOM_NUMBER_RE, grid_rooms

ROOM_HEADERS: dict[str, tuple[str, ...]] = {
    "building": ("楼栋", "楼栋号", "楼栋名称", "楼栋编号", "栋", "栋号", "楼号"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "房间号", "门牌号", "房屋号", "房间"),
    "units": ("单元数", "单元数量"),
    "floors": ("层数", "楼层数", "总层数"),
    "per_floor": ("每层户数", "每层房间数", "每层套数", "每单元每层户数"),
    "grid": ("网格", "所属网格", "网格名称", "片区/网格"),
    "floor": ("楼层", "所在楼层"),
}
ROOM_ALIASES = {norm_header(h): k for k, hs in ROOM_HEADERS.items() for h in hs}
ROOM_LABELS = {k: hs[0] for k, hs in ROOM_HEADERS.items()}
# Columns a room list may carry that say nothing about where the rooms are.
IGNORABLE = {norm_header(h) for h in ("序号", "编号", "备注", "说明", "面积", "建筑面积", "户型")}
LIMITS = {"units": community_setup.MAX_UNITS, "floors": community_setup.MAX_FLOORS,
          "per_floor": community_setup.MAX_PER_FLOOR}


def room_list_header(found: set[str]) -> bool:
    return "building" in found and ("room" in found or {"floors", "per_floor"} <= found)


def looks_like_room_list(header_cells: list[Any]) -> bool:
    """Place columns only: a ledger of people that also names rooms is never taken for a room list."""
    keys: set[str] = set()
    for c in header_cells:
        if c is None or not str(c).strip():
            continue
        norm = norm_header(c)
        if norm in ROOM_ALIASES:
            keys.add(ROOM_ALIASES[norm])
        elif norm not in IGNORABLE:
            return False
    return room_list_header(keys)


def find_room_header(rows: list[tuple[int, list[Any]]], merged: list) -> tuple[int, list[Any]] | None:
    header = find_header(rows, merged, ROOM_ALIASES, room_list_header)
    return header if header is not None and looks_like_room_list(header[1]) else None


def _count(key: str, value: Any) -> int:
    text = cell_text(value) or ""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits or len(digits) > 3:
        raise CellProblem(f"{ROOM_LABELS[key]}不对", "应为数字，例如 6")
    n = int(digits)
    if not 1 <= n <= LIMITS[key]:
        raise CellProblem(f"{ROOM_LABELS[key]}应在 1 到 {LIMITS[key]} 之间")
    return n


def _convert(key: str, value: Any) -> Any:
    if key in LIMITS:
        return _count(key, value)
    text = cell_text(value) or ""
    if key == "unit":
        digits = "".join(ch for ch in text.removesuffix("单元") if ch.isdigit())
        if not digits or len(digits) > 2 or int(digits) < 1:
            raise CellProblem("单元号不对", "应为数字，例如 2 或“2单元”")
        return int(digits)
    if key == "room":
        number = text.removesuffix("室").removesuffix("号").strip()
        if not ROOM_NUMBER_RE.fullmatch(number):
            raise CellProblem("房号不对", "只能包含数字、字母和“-”，例如 501")
        return number
    if key == "floor":
        digits = text.removesuffix("层").removesuffix("楼")
        if not digits.isdigit() or not 1 <= int(digits) <= community_setup.MAX_FLOORS:
            raise CellProblem("楼层不对", f"应为 1 到 {community_setup.MAX_FLOORS} 的数字")
        return int(digits)
    if len(text) > 40:
        raise CellProblem(f"{ROOM_LABELS[key]}名称太长", "最多 40 个字")
    return text


def _floor_of(number: str) -> int | None:
    # As places.add_room does: 501 → 5, 1203 → 12.
    return int(number[:-2]) if number.isdigit() and len(number) >= 3 else None


def plan_rooms(db: Database, plan: ImportPlan, rows: list[tuple[int, list[Any]]], *,
               progress: ProgressFn | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Check every row, gather the buildings, and mark each row new (adds a place) or unchanged."""
    community = community_setup.current_community(db)
    if community is None:
        raise KnownError("数据库中还没有社区。请先在程序的“社区设置”中填写社区（或运行 anju init），再导入房间清单。")
    sheet, columns, headers = plan.sheet, plan.columns, plan.headers
    per_room = "room" in columns

    def err(r: int, key: str, value: Any, problem: str, hint: str = "") -> CellError:
        return CellError(sheet, r + 1, headers.get(key, ROOM_LABELS[key]), columns.get(key), value, problem, hint)

    # building → grid (and the row that set it), rooms by unit, and the row that gave each room.
    grid_of: dict[str, tuple[str, int]] = {}
    rooms: dict[str, community_setup.Rooms] = {}
    row_rooms: dict[int, tuple[str, list[tuple[int, str, int | None]]]] = {}
    origin: dict[tuple[str, int, str], int] = {}
    unit_rows: dict[tuple[str, int], int] = {}
    results: list[RowResult] = []
    for n, (r, cells) in enumerate(rows):
        checkpoint(n, len(rows), progress, cancelled, "正在检查每一行…")
        values: dict[str, Any] = {}
        errs: list[CellError] = []
        for key, c, v in filled_cells(cells, columns):
            try:
                values[key] = _convert(key, v)
            except CellProblem as p:
                errs.append(CellError(sheet, r + 1, headers[key], c, v, p.problem, p.hint))
        res = RowResult(row=r + 1, status="error", errors=errs)
        results.append(res)
        for key in ("building", *(("room",) if per_room else ("floors", "per_floor"))):
            if key not in values and not any(e.column == headers.get(key) for e in errs):
                errs.append(err(r, key, None, f"{ROOM_LABELS[key]}为空", "每一行都要填写"))
        if "unit" in columns and "unit" not in values and not any(e.column == headers["unit"] for e in errs):
            errs.append(err(r, "unit", None, "单元为空", "每一行都要填写单元号（只有一个单元的楼填 1）"))
        if errs:
            continue
        building = values["building"]
        res.name = building
        grid = values.get("grid", "")
        if grid:
            first = grid_of.setdefault(building, (grid, r))
            if first[0] != grid:
                errs.append(err(r, "grid", grid, f"同一楼栋在第 {first[1] + 1} 行填的网格是“{first[0]}”，与本行不一致",
                                "一栋楼只属于一个网格"))
                continue
        if per_room:
            unit, number = values.get("unit", 1), values["room"]
            wanted = [(unit, number, values.get("floor") or _floor_of(number))]
            res.name = f"{building} {unit}单元 {number}"
        else:
            units = [values["unit"]] if "unit" in values else list(range(1, values.get("units", 1) + 1))
            wanted = [(u, num, f) for u in units for num, f in grid_rooms(
                values["floors"], values["per_floor"])]
            res.name = f"{building} {values['unit']}单元" if "unit" in values else building
            clash = next((u for u in units if (building, u) in unit_rows), None)
            if clash is not None:
                errs.append(err(r, "unit" if "unit" in values else "building", values.get("unit", building),
                                f"{building} {clash}单元在第 {unit_rows[(building, clash)] + 1} 行已经填过",
                                "每个单元只填一行"))
                continue
            for u in units:
                unit_rows[(building, u)] = r
        clash_room = next((w for w in wanted if (building, w[0], w[1]) in origin), None)
        if clash_room is not None:
            u, num, _f = clash_room
            errs.append(err(r, "room", num, f"{building} {u}单元 {num} 在第 {origin[(building, u, num)] + 1} 行已经有了",
                            "每个房间只填一行"))
            continue
        for u, num, f in wanted:
            origin[(building, u, num)] = r
            rooms.setdefault(building, {}).setdefault(u, []).append((num, f))
        row_rooms[r] = (building, wanted)

    specs = [
        community_setup.BuildingSpec(name, grid=grid_of.get(name, ("", 0))[0], rooms=unit_rooms)
        for name, unit_rooms in rooms.items()
    ]
    places_plan = community_setup.plan_places(db, community["id"], specs)
    if places_plan.problems:
        raise KnownError("；".join(places_plan.problems[:5]))
    fresh = {(bp.spec.name, u, num) for bp in places_plan.buildings for u, rs in bp.rooms_new.items() for num, _f in rs}
    for res in results:
        if res.errors:
            continue
        building, wanted_rooms = row_rooms[res.row - 1]
        res.status = "new" if any((building, u, num) in fresh for u, num, _f in wanted_rooms) else "unchanged"
        if res.status == "new":
            res.values = {"building": building}
    plan.rows = results
    plan.extra.update(
        community_id=community["id"],
        row_rooms=row_rooms,
        grids={name: g for name, (g, _r) in grid_of.items()},
        places=places_plan.counts,
        places_new=places_plan.places_new,
        places_summary=places_plan.summary(),
        households_new=0,
    )


def specs_from_plan(plan: ImportPlan) -> list[community_setup.BuildingSpec]:
    """The buildings of a planned room list (its rows without errors), with explicit rooms."""
    rooms: dict[str, community_setup.Rooms] = {}
    for res in plan.rows:
        if res.status == "error":
            continue
        building, wanted = plan.extra["row_rooms"][res.row - 1]
        for u, num, floor in wanted:
            rooms.setdefault(building, {}).setdefault(u, []).append((num, floor))
    return [
        community_setup.BuildingSpec(name, grid=plan.extra["grids"].get(name, ""), rooms=unit_rooms,
                                     where=f"{plan.path.name} {name}")
        for name, unit_rooms in rooms.items()
    ]


def apply_rooms(db: Database, plan: ImportPlan, *, progress: ProgressFn | None = None,
                cancelled: Callable[[], bool] | None = None) -> None:
    """Add the places of the rows without errors (runs inside apply_plan's transaction)."""
    result = community_setup.apply_places(db, plan.extra["community_id"], specs_from_plan(plan))
    plan.extra.update(places=result.counts, places_new=result.places_new, places_summary=result.summary())
    if progress is not None:
        progress(1, 1, "正在保存…")


IMPORTER = LedgerImporter("rooms", "房间清单", ROOM_ALIASES, ROOM_LABELS, looks_like_room_list,
                          "看起来不是房间清单：表头应只有“楼栋”“单元”“房号”（或“层数”“每层户数”）和“网格”。",
                          rows_planner(plan_rooms), apply_rooms, find_room_header)

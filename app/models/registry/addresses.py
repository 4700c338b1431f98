"""Addresses of rooms as clerks write and read them: "3栋2单元501" from its parts, "3-2-501" parsed
back, the SQL that matches a typed building, and a room's address by its id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.models.core.db import Database

_ADDRESS = re.compile(
    r"^\s*(?P<b>[0-9]+|[^\s\-栋号幢单元]+?)\s*(?:栋|号楼|幢|号|-|－|—|\s)\s*"
    r"(?:(?P<u>[0-9]+)\s*(?:单元|-|－|—|\s)?\s*)?"
    r"(?P<r>[0-9]+[A-Za-z]?)?\s*(?:室|号)?\s*$"
)


def address_text(building_name: str | None, unit_number: Any, room_number: str | None) -> str:
    """"3栋2单元501" from a building's name ("3" or "3栋"), a unit number and a room number."""
    if not building_name and unit_number is None and not room_number:
        return ""
    b = str(building_name or "").strip()
    if b and b[-1].isdigit():
        b += "栋"
    u = f"{unit_number}单元" if unit_number not in (None, "") else ""
    return f"{b}{u}{room_number or ''}"


@dataclass(frozen=True)
class AddressQuery:
    """A parsed address as a clerk types it: building, and optionally unit and room."""

    building: str
    unit: int | None = None
    room: str | None = None


def parse_address(text: str) -> AddressQuery | None:
    """Read "3-2-501", "3栋2单元501", "3栋2单元", "3栋", "3-2"; None if it is not an address."""
    text = (text or "").strip()
    if not text:
        return None
    if "-" not in text and "－" not in text and not any(w in text for w in ("栋", "单元", "幢", "号楼")):
        return None
    m = _ADDRESS.match(text + ("" if re.search(r"[栋幢\-－—]|号楼", text) else "栋"))
    if not m:
        return None
    unit = int(m.group("u")) if m.group("u") else None
    return AddressQuery(m.group("b"), unit, m.group("r"))


def building_match_sql(building: str) -> tuple[str, list[Any]]:
    """SQL over alias b matching a typed building: its number, or its name with or without 栋."""
    if building.isdigit():
        return "(b.number = ? OR b.name = ? OR b.name = ?)", [int(building), building, building + "栋"]
    return "(b.name = ? OR b.name = ?)", [building, building + "栋"]


def room_address(db: Database, room_id: str | None) -> str:
    if not room_id:
        return ""
    row = db.one(
        "SELECT b.name AS b, u.number AS u, r.number AS r FROM room r JOIN unit u ON u.id = r.unit_id "
        "JOIN building b ON b.id = u.building_id WHERE r.id = ?",
        (room_id,),
    )
    return address_text(row["b"], row["u"], row["r"]) if row else ""

"""Small places/households fixtures shared by the places, rhythm and visits tests."""

from __future__ import annotations

from app.models.places import places


def community_with_building(db, *, units: int = 2, floors: int = 3, per_floor: int = 2) -> dict:
    c = places.add_community(db, "测试社区")
    g = places.add_grid(db, c, "一网格")
    b = places.add_building(
        db, c, "1栋", grid_id=g, number=1, floors=floors, units=units, rooms_per_floor=per_floor
    )
    return {"community": c, "grid": g, "building": b}


def room_id(db, building_id: str, unit: int, number: str) -> str:
    return db.scalar(
        "SELECT r.id FROM room r JOIN unit u ON u.id = r.unit_id WHERE u.building_id = ? AND u.number = ? "
        "AND r.number = ?",
        (building_id, unit, number),
    )


def add_household(
    db,
    room: str | None,
    *,
    number: str = "H-1",
    colour: str = "green",
    move_in: str | None = "2025-01-01",
    head: str = "张三",
    special: str | None = None,
    tekun: int = 0,
) -> str:
    with db.write() as tx:
        hid = tx.insert(
            "household",
            {
                "number": number,
                "room_id": room,
                "risk_colour": colour,
                "move_in_date": move_in,
                "tag_tekun": tekun,
            },
        )
        pid = tx.insert(
            "person",
            {"household_id": hid, "name": head, "relation": "户主", **({special: 1} if special else {})},
        )
        tx.update("household", hid, {"head_person_id": pid})
    return hid


def add_visit_row(db, household_id: str, day: str, visitor: str = "李四") -> str:
    with db.write() as tx:
        return tx.insert(
            "visit",
            {
                "household_id": household_id,
                "visit_date": day,
                "kind": "月访",
                "visitor_name": visitor,
                "findings": "正常",
                "created_at": tx.now,
            },
        )

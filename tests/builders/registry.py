"""Two buildings of rooms and households made through the registry's own functions."""

from __future__ import annotations

import datetime as dt

from app.models.core import id_numbers
from app.models.registry import households, persons

ID_ZHOU = id_numbers.make("532128", dt.date(1985, 3, 2), 11, "女")
ID_WANG = id_numbers.make("532128", dt.date(1960, 7, 9), 3, "男")


def make_site(db) -> dict[str, str]:
    """Two buildings (1栋, 2栋) of two units with rooms 101, 102, 501 each; returns room ids by address."""
    rooms: dict[str, str] = {}
    with db.write() as tx:
        c = tx.insert("community", {"name": "测试社区"})
        grid = tx.insert("grid", {"community_id": c, "name": "第1网格"})
        for b in (1, 2):
            bid = tx.insert("building", {"community_id": c, "grid_id": grid if b == 1 else None,
                                         "name": f"{b}栋", "number": b})
            for u in (1, 2):
                uid = tx.insert("unit", {"building_id": bid, "number": u})
                for r in ("101", "102", "501"):
                    rooms[f"{b}-{u}-{r}"] = tx.insert("room", {"unit_id": uid, "number": r, "floor": int(r[0])})
    return rooms


def add_household(db, room: str, head: str, head_id: str | None = None, **values) -> tuple[str, str]:
    hid = households.create(db, {"origin_township": "大湾镇", "origin_village": "岩脚村", **values}, room=room)
    pid = persons.add(db, hid, {"name": head, "id_number": head_id, "relation": "户主", "labour_ability": "全"})
    return hid, pid

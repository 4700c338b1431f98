"""A small community for the mediation tests: three households of two people each."""

from __future__ import annotations

from app.models.core.pinyin import name_pinyin


def make_places(db) -> dict:
    """A community with one building (2 units), three households and their people."""
    out: dict = {}
    with db.write() as tx:
        com = tx.insert("community", {"name": "馨居社区"})
        b = tx.insert("building", {"community_id": com, "name": "1栋", "number": 1, "sign": "apple"})
        b2 = tx.insert("building", {"community_id": com, "name": "2栋", "number": 2})
        u = tx.insert("unit", {"building_id": b, "number": 1})
        out["building"], out["building2"] = b, b2
        for i, (head, other) in enumerate((("张三", "王芳"), ("李四", "赵敏"), ("单雄", "曾丽"))):
            room = tx.insert("room", {"unit_id": u, "number": f"10{i + 1}"})
            hh = tx.insert("household", {"number": f"H00{i + 1}", "room_id": room})
            ids = []
            for name, rel in ((head, "户主"), (other, "配偶")):
                full, ini = name_pinyin(name)
                ids.append(tx.insert("person", {"household_id": hh, "name": name, "name_pinyin": full,
                                                "name_initials": ini, "relation": rel,
                                                "id_number": f"53010219800101{i}{len(ids)}1X"}))
            tx.update("household", hh, {"head_person_id": ids[0]})
            out[head], out[other] = ids
            out[f"hh{i + 1}"] = hh
    return out

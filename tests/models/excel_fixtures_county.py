"""A small office and county-style ledgers for the import tests (helpers; no tests of their own)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.models.core.db import Database
from app.models.core.id_numbers import make


def county_office(db: Database) -> dict[str, str]:
    """红路馨居社区: 5栋 (units 1–2, floors 1–6, rooms x01–x02) and 6栋 (one unit, same rooms)."""
    ids: dict[str, str] = {}
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路馨居社区"})
        ids["community"] = cid
        for bnum, units in ((5, 2), (6, 1)):
            bid = tx.insert("building", {"community_id": cid, "name": f"{bnum}栋", "number": bnum, "floors": 6})
            ids[f"b{bnum}"] = bid
            for unum in range(1, units + 1):
                uid = tx.insert("unit", {"building_id": bid, "number": unum})
                for floor in range(1, 7):
                    for n in (1, 2):
                        ids[f"room-{bnum}-{unum}-{floor}0{n}"] = tx.insert(
                            "room", {"unit_id": uid, "number": f"{floor}0{n}", "floor": floor})
    return ids


def pid(birth: tuple[int, int, int], seq: int, sex: str) -> str:
    return make("522301", dt.date(*birth), seq, sex)


def write_sheet(path: Path, rows: list[list[Any]], *, title_rows: int = 0, merge_title: bool = False,
                sheet: str = "Sheet1", more: dict[str, list[list[Any]]] | None = None) -> Path:
    """An .xlsx with optional title rows (merged across) above the rows; numbers stay numbers."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name, data, titles in ((sheet, rows, title_rows), *((n, d, 0) for n, d in (more or {}).items())):
        ws = wb.add_worksheet(name)
        for t in range(titles):
            text = "XX社区易地扶贫搬迁人口台账" if t == 0 else "填报单位：XX社区"
            if merge_title and data:
                ws.merge_range(t, 0, t, max(len(data[0]) - 1, 1), text)
            else:
                ws.write_string(t, 0, text)
        for r, row in enumerate(data, start=titles):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
    wb.close()
    return path

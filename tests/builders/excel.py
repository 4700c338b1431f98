"""Offices and ledgers for the Excel tests: the office that exports and re-imports its own
workbooks (build_office) and the county office whose hand-made ledgers are imported (county_office)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.models.core.db import Database
from app.models.core.id_numbers import make
from app.models.core.pinyin import name_pinyin
from app.models.employment import training

PEOPLE = [
    # household, name, birth, sex, relation, phone, labour, notes
    ("HL-0001", "张秀英", dt.date(1968, 3, 5), "女", "户主", "13812345678", "全", "=SUM(A1:A9)"),
    ("HL-0001", "李建国", dt.date(1966, 11, 20), "男", "配偶", "13987654321", "半", "+86 备用"),
    ("HL-0001", "李小龙", dt.date(2012, 6, 1), "男", "子", None, None, "-留守儿童"),
    ("HL-0002", "单春花", dt.date(1950, 1, 15), "女", "户主", "0871-6543210", "无", "@行动不便"),
    ("HL-0002", "王芳", dt.date(1990, 2, 28), "女", "女", "15800001111", "全", "\t前面有制表符"),
    ("HL-0003", "马文学", dt.date(1985, 7, 7), "男", "户主", "18600002222", "全", "\r回车开头"),
]


def build_office(db: Database, *, people: list[tuple] | None = None) -> dict[str, str]:
    """A community with building 1栋 (units 1–2, rooms 101–302) and a few households."""
    ids: dict[str, str] = {}
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路馨居社区"})
        for bnum in (1, 2):
            ids.update(_building(tx, cid, bnum, units=2, floors=3, sign="苹果"))
        rooms = ["room-1-1-101", "room-1-2-302", "room-2-1-201"]
        households: dict[str, str] = {}
        for i, number in enumerate(sorted({p[0] for p in (people or PEOPLE)})):
            households[number] = tx.insert(
                "household",
                {"number": number, "room_id": ids[rooms[i % len(rooms)]], "origin_township": "大坪镇",
                 "origin_village": f"新{i + 1}村", "move_in_date": "2019-10-01", "tag_lifted": 1,
                 "tag_dibao": i % 2, "risk_colour": ["green", "yellow", "red"][i % 3]},
            )
        for seq, (hh, name, birth, sex, rel, phone, labour, notes) in enumerate(people or PEOPLE):
            full, initials = name_pinyin(name)
            pid = tx.insert(
                "person",
                {"household_id": households[hh], "id_number": make("532301", birth, seq + 1, sex), "name": name,
                 "name_pinyin": full, "name_initials": initials, "sex": sex, "birth_date": birth.isoformat(),
                 "ethnicity": "彝族" if seq % 2 else "汉族", "relation": rel, "phone": phone,
                 "labour_ability": labour, "notes": notes},
            )
            ids[name] = pid
            if rel == "户主":
                tx.update("household", households[hh], {"head_person_id": pid})
        ids.update({f"hh-{k}": v for k, v in households.items()})
    return ids


def add_records(db: Database, office: dict[str, str]) -> str:
    """One record in every ledger besides the residents' (hostile text in some); the job's id."""
    with db.write() as tx:
        pid = office["张秀英"]
        eid = tx.insert("employment", {"person_id": pid, "kind": "就近就业", "sub_kind": "帮扶车间", "employer": "=HYPERLINK(1)",
                                       "start_date": "2024-03-05", "monthly_income_fen": 312345, "organised": 1, "in_province": 1})
        cid = tx.insert("training_course", {"name": "家政服务", "kind": "技能提升", "start_date": "2024-04-01", "hours": 40,
                                            "with_certificate": 1})
        tx.insert("training_attendance", {"course_id": cid, "person_id": pid, "certificate_obtained": 1})
        training.ensure_sessions(tx)
        tx.insert("intention", {"person_id": office["王芳"], "kind": "培训", "training_wanted": "电商",
                                "recorded_date": "2024-05-06"})
        tx.insert("visit", {"household_id": office["hh-HL-0001"], "visit_date": "2024-06-07", "kind": "月访",
                            "visitor_name": "王楼长", "findings": "@正常"})
        mid = tx.insert("mediation_case", {"number": "2024-0001", "received_date": dt.date.today().isoformat(),
                                           "title": "漏水", "category": "邻里", "status": "已调解",
                                           "building_id": office["b1"]})
        tx.insert("mediation_party", {"case_id": mid, "person_id": pid, "role": "申请人"})
    return eid


def county_office(db: Database) -> dict[str, str]:
    """红路馨居社区: 5栋 (units 1–2, floors 1–6, rooms x01–x02) and 6栋 (one unit, same rooms)."""
    ids: dict[str, str] = {}
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路馨居社区"})
        ids["community"] = cid
        for bnum, units in ((5, 2), (6, 1)):
            ids.update(_building(tx, cid, bnum, units=units, floors=6, floors_field=True))
    return ids


def _building(tx: Any, community_id: str, number: int, *, units: int, floors: int, floors_field: bool = False,
              sign: str | None = None) -> dict[str, str]:
    """Building `number`栋 with `units` units of rooms x01 and x02 on floors 1…`floors`: its id as
    ``b<number>`` and each room's as ``room-<building>-<unit>-<room>``."""
    values: dict[str, Any] = {"community_id": community_id, "name": f"{number}栋", "number": number}
    if sign is not None:
        values["sign"] = sign
    if floors_field:
        values["floors"] = floors
    ids = {f"b{number}": tx.insert("building", values)}
    for unum in range(1, units + 1):
        uid = tx.insert("unit", {"building_id": ids[f"b{number}"], "number": unum})
        for floor in range(1, floors + 1):
            for n in (1, 2):
                ids[f"room-{number}-{unum}-{floor}0{n}"] = tx.insert(
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

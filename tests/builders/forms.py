"""A community of 45 households with visits, jobs, cases and a course, for the printed forms."""

from __future__ import annotations

import datetime as dt

from app.models.core import settings
from app.models.core.id_numbers import make
from app.models.employment import training

SURNAMES = "张王李赵刘陈杨黄吴周徐孙马朱胡郭何高林罗"
GIVEN = "国华秀英建军丽芳志强玉兰海燕春梅文明红霞德成桂香"


def person_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 3 + 1) % len(GIVEN)]


def make_fixture(db, households: int = 45) -> dict:
    """A community with two buildings, `households` households in 3栋, visits, jobs, a case, a course."""
    ids: dict = {"households": [], "persons": []}
    with db.write() as tx:
        cid = tx.insert("community", {"name": "红路馨居社区"})
        b3 = tx.insert("building", {"community_id": cid, "name": "3栋", "number": 3, "sign": "apple", "floors": 6})
        b5 = tx.insert("building", {"community_id": cid, "name": "5栋", "number": 5, "sign": "nosuchsign"})
        ids.update(community=cid, b3=b3, b5=b5)
        units = [tx.insert("unit", {"building_id": b3, "number": n}) for n in (1, 2)]
        u5 = tx.insert("unit", {"building_id": b5, "number": 1})
        seq = 0
        for i in range(households):
            unit = units[i % 2]
            room = tx.insert("room", {"unit_id": unit, "number": f"{i // 2 // 4 + 1}0{i // 2 % 4 + 1}", "floor": i // 8 + 1})
            hid = tx.insert(
                "household",
                {
                    "number": f"HL{i + 1:04d}",
                    "room_id": room,
                    "origin_township": "关岭镇",
                    "origin_village": "新村",
                    "move_in_date": "2024-05-01",
                    "risk_colour": ("red", "yellow", "green")[i % 3],
                    "tag_lifted": 1,
                    "tag_dibao": int(i % 4 == 0),
                    "residence_permit": "已办",
                    "garden_plot_m2": 20 if i % 2 else None,
                },
            )
            members = []
            for k in range(3 if i else 4):
                seq += 1
                sex = "男" if k % 2 == 0 else "女"
                number = make("520424", dt.date(1970 + k * 15, 1 + i % 12, 1 + k), seq % 500, sex)
                pid = tx.insert(
                    "person",
                    {
                        "household_id": hid,
                        "id_number": number,
                        "name": person_name(seq),
                        "sex": sex,
                        "birth_date": f"{1970 + k * 15}-{1 + i % 12:02d}-{1 + k:02d}",
                        "ethnicity": "汉族" if k else "苗族",
                        "relation": "户主" if k == 0 else ("配偶" if k == 1 else "子女"),
                        "phone": f"1380000{seq:04d}",
                        "labour_ability": "全" if k < 2 else "无",
                        "sg_elderly_alone": int(i == 4 and k == 0),
                    },
                )
                members.append(pid)
                ids["persons"].append(pid)
            tx.update("household", hid, {"head_person_id": members[0]})
            ids["households"].append(hid)
            if i % 4 == 0:
                tx.insert("visit", {"household_id": hid, "visit_date": "2026-03-10", "kind": "周访",
                                    "visitor_name": "楼栋长甲", "findings": "家中一切正常"})
            if i == 0:
                tx.insert("employment", {"person_id": members[0], "kind": "就近就业", "sub_kind": "帮扶车间",
                                         "employer": "馨居服装帮扶车间", "start_date": "2025-01-01",
                                         "monthly_income_fen": 320000})
        tx.insert("room", {"unit_id": u5, "number": "101"})
        head = ids["persons"][0]
        tx.insert("place_role", {"place_table": "building", "place_id": b3, "role": "building_head",
                                 "person_id": head, "phone": "13900001111", "start_date": "2025-01-01"})
        case = tx.insert(
            "mediation_case",
            {
                "number": "2026-0007",
                "received_date": "2026-03-02",
                "source": "来访",
                "category": "邻里",
                "title": "楼上漏水纠纷",
                "description": "3栋1单元楼上卫生间漏水，楼下住户天花板受损。",
                "building_id": b3,
                "level": "楼栋",
                "mediators": "调解员乙",
                "status": "已调解",
                "outcome": "已调解",
                "agreement_text": "1、楼上住户于3月25日前修好防水层。\n2、楼上住户赔偿楼下住户修补费500元。\n3、双方不再就此事争执。",
                "agreement_date": "2026-03-12",
            },
        )
        tx.insert("mediation_party", {"case_id": case, "person_id": ids["persons"][0], "role": "申请人"})
        tx.insert("mediation_party", {"case_id": case, "person_id": ids["persons"][5], "role": "被申请人"})
        open_case = tx.insert("mediation_case", {"number": "2026-0008", "received_date": "2026-03-15",
                                                 "category": "物业费", "title": "物业费争议", "status": "调解中"})
        tx.insert("mediation_party", {"case_id": open_case, "outsider_name": "外来商户", "role": "被申请人"})
        course = tx.insert("training_course", {"name": "家政服务技能培训", "kind": "技能提升", "provider": "县人社局",
                                               "start_date": "2026-03-01", "end_date": "2026-03-05", "hours": 40,
                                               "with_certificate": 1, "certificate_name": "家政服务员"})
        for n, pid in enumerate(ids["persons"][:40]):
            tx.insert("training_attendance", {"course_id": course, "person_id": pid, "certificate_obtained": int(n % 2 == 0)})
        training.ensure_sessions(tx)
        ids.update(case=case, open_case=open_case, course=course)
    settings.set_value(db, "office_phone", "0851-1234567")
    settings.set_value(db, "office_address", "关岭县红路馨居社区服务中心一楼")
    return ids

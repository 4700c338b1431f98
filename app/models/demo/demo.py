"""The demo community: a realistic, seeded resettlement community written through the logged write path."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.models.core import id_numbers, settings
from app.models.core import sqlite as sqlite3
from app.models.core.accounts import DEMO_PASSWORD, create_demo_accounts, has_accounts
from app.models.core.db import Database, Tx, new_id, open_database
from app.models.core.db_keys import KeyFile, key_for, keys_path, remember_key
from app.models.core.encryption import convert_to_encrypted, plain_with_accounts, start_encrypted
from app.models.core.errors import KnownError
from app.models.core.pinyin import name_pinyin
from app.models.core.safe_files import DiskFullError, atomic_path
from app.models.core.site import claim_path_before_rename
from app.models.core.vocab import HouseholdStatus, PersonStatus
from app.models.migrations.m0020_training_sessions import presence_id
from app.models.places.signs import SIGNS, all_signs
from app.models.sync.compact import compact

Progress = Callable[[int, int, str], None]
Row = dict[str, Any]

COMMUNITY = "红路馨居社区"
STREET = "南坪街道"
COUNTY = "云岭县"
NUMBER_PREFIX = "HLX"

# Made-up origin townships (迁出乡镇) with their county's region code and villages.
TOWNSHIPS: list[tuple[str, str, list[str]]] = [
    ("大湾镇", "532128", ["大湾村", "岩脚村", "松林村", "坪子村", "新田村"]),
    ("坡头乡", "532128", ["坡头村", "老街村", "麻栗村", "水井村"]),
    ("母享镇", "532128", ["母享村", "核桃村", "黑树村", "小河村", "龙洞村", "中寨村"]),
    ("花朗乡", "532128", ["花朗村", "石板村", "营盘村"]),
    ("雨河镇", "532129", ["雨河村", "荞地村", "落水村", "箐口村", "木杉村"]),
    ("牛场镇", "532129", ["牛场村", "光明村", "红岩村", "干沟村"]),
    ("碧谷镇", "532129", ["碧谷村", "梨树村", "沙坝村", "杉树村", "白泥村"]),
    ("林口乡", "532130", ["林口村", "鱼塘村", "凉水村", "青杠村"]),
    ("龙街乡", "532130", ["龙街村", "高山村", "新寨村", "田坝村", "大箐村", "水田村"]),
    ("罗坎镇", "532130", ["罗坎村", "竹林村", "双河村"]),
    ("赫章乡", "522428", ["河镇村", "平山村", "松树村", "兴隆村"]),
    ("双坪乡", "522428", ["双坪村", "阳光村", "团结村", "底坝村", "银厂村"]),
    ("猫场镇", "522425", ["猫场村", "大坪村", "老鹰岩村", "新街村"]),
    ("马场镇", "522425", ["马场村", "白岩村", "茶园村", "桃园村", "丰收村", "岔河村"]),
]

ETHNICITIES = [("汉", 60), ("彝", 14), ("苗", 12), ("回", 8), ("布依", 4), ("白", 2)]
SURNAMES_BY_ETHNICITY: dict[str, list[tuple[str, int]]] = {
    "汉": [("王", 10), ("李", 10), ("张", 9), ("刘", 6), ("陈", 6), ("杨", 6), ("赵", 4), ("黄", 3), ("周", 4),
          ("吴", 3), ("徐", 2), ("孙", 2), ("朱", 2), ("胡", 3), ("郭", 2), ("何", 3), ("罗", 4), ("高", 2),
          ("邓", 2), ("陆", 2), ("熊", 3), ("陶", 2), ("蒋", 2), ("冯", 2), ("曾", 2), ("谢", 2), ("付", 2),
          ("唐", 2), ("田", 2), ("苏", 1), ("单", 1), ("解", 1), ("覃", 1), ("查", 1), ("邹", 1), ("余", 2)],
    "彝": [("阿", 3), ("沙", 3), ("龙", 3), ("安", 3), ("禄", 2), ("陇", 2), ("李", 4), ("杨", 3), ("罗", 3)],
    "苗": [("龙", 4), ("杨", 4), ("吴", 3), ("王", 3), ("熊", 3), ("陶", 3), ("张", 2), ("朱", 2)],
    "回": [("马", 8), ("纳", 3), ("沙", 2), ("丁", 3), ("白", 2), ("金", 2), ("海", 1)],
    "布依": [("韦", 4), ("罗", 3), ("岑", 2), ("王", 3), ("黄", 2), ("陆", 2)],
    "白": [("段", 3), ("赵", 3), ("杨", 3), ("李", 2), ("张", 2)],
}
MALE_CHARS = "明国华建军伟勇强平东文志海波兵刚林福贵发成荣昌永德学忠祥顺江云朝洪富友才正光春家兴俊杰浩宇鑫磊"
FEMALE_CHARS = "芳丽英梅兰秀珍艳燕红霞琴玲娟菊萍凤春美桂莲芬敏静婷雪丹慧琳欣怡佳蓉娇翠花"

EDUCATION_ADULT = [("文盲或半文盲", 8), ("小学", 30), ("初中", 38), ("高中", 10), ("中专/中职", 7),
                   ("大专", 5), ("本科及以上", 2)]

FIRST_NAMES_STAFF = ["罗晓丽", "杨光明", "王丽娟", "陈志强", "刘芳", "赵永福", "张艳", "周建华", "李春梅",
                     "吴海波", "黄琳", "马文杰", "熊丽萍", "龙江", "胡敏", "何晓燕", "郭宇", "邓佳",
                     "陆红", "陶俊", "蒋怡", "冯磊", "谢婷", "付春", "唐慧", "田雪", "苏勇", "余浩"]

OUT_DESTINATIONS = ["浙江宁波", "广东东莞", "福建晋江", "江苏苏州", "浙江温州", "广东佛山", "上海", "江苏昆山"]
IN_DESTINATIONS = ["昆明", "曲靖", "昭通", "玉溪", "红河"]
OUT_EMPLOYERS = ["电子厂", "服装厂", "鞋厂", "建筑工地", "物流公司", "家具厂", "食品厂", "酒店"]
PARK_EMPLOYERS = ["云岭工业园区新能源电池厂", "云岭工业园区服饰有限公司", "云岭工业园区食品加工厂",
                  "云岭工业园区五金制品厂", "云岭工业园区包装材料厂"]
WORKSHOPS = ["红路馨居帮扶车间（假发）", "红路馨居帮扶车间（电子配件）", "红路馨居帮扶车间（手工刺绣）",
             "红路馨居帮扶车间（箱包）"]
OTHER_NEARBY = ["县城超市", "社区物业公司", "县城餐馆", "县人民医院后勤", "农贸市场"]
WELFARE_POSTS = ["保洁员", "护林员", "楼栋管理员", "治安巡逻员", "公共服务协理员", "就业信息采集员"]
FUNDING = ["中央财政衔接资金", "省级就业补助资金", "县级财政资金"]
GIG_WORK = ["搬运", "装修小工", "家政", "送餐", "保姆", "零星建筑"]
BUSINESS_TYPES = ["小卖部", "餐饮", "养殖", "货运", "电商", "理发店", "修理铺"]

COURSES = [
    ("家政服务员培训", "技能提升", True, "家政服务员职业技能等级证书"),
    ("中式烹调师培训", "技能提升", True, "中式烹调师职业技能等级证书"),
    ("电工上岗培训", "岗前", True, "低压电工作业证"),
    ("焊工培训", "技能提升", True, "焊工职业技能等级证书"),
    ("育婴员培训", "技能提升", True, "育婴员职业技能等级证书"),
    ("挖掘机操作培训", "技能提升", True, "挖掘机操作证"),
    ("电商直播培训", "技能提升", False, None),
    ("SYB 创业培训", "创业", True, "创业培训合格证书"),
    ("养老护理员培训", "技能提升", True, "养老护理员职业技能等级证书"),
    ("缝纫工岗前培训", "岗前", False, None),
    ("电子厂岗前培训", "岗前", False, None),
    ("网店创业培训", "创业", False, None),
]# What each kind of course covers, session by session (first, middle ones, last).
SESSION_TOPICS = {
    "岗前": ["岗位安全与劳动纪律", "工艺流程讲解", "上岗实操", "岗前考核"],
    "技能提升": ["理论讲解", "工具与安全操作", "实操训练", "综合练习", "结业考核"],
    "创业": ["创业意识与项目选择", "市场分析", "经营管理与财务", "创业计划书", "结业答辩"],
}
SESSION_PLACES = ["社区活动室", "社区就业服务站二楼", "县职业技术学校实训楼", "帮扶车间培训室"]

PROVIDERS = ["县人力资源和社会保障局", "云岭县职业技术学校", "南坪街道就业服务站", "县就业训练中心"]

VISIT_FINDINGS = ["家中一切正常", "家庭成员身体健康", "孩子按时上学", "务工收入稳定", "老人身体状况良好",
                  "已了解近期就业情况", "宣传了医保缴费政策", "宣传了防诈骗知识", "检查了用电用气安全"]
# A problem raised on a visit, with the finding box (app.models.places.visits.FINDINGS) a visitor would tick.
VISIT_PROBLEMS = [("反映楼道灯不亮", "房屋设施问题"), ("希望推荐就近就业岗位", "有就业需求"),
                  ("咨询孩子转学手续", "政策咨询"), ("反映卫生间漏水", "房屋设施问题"), ("咨询居住证办理", "政策咨询"),
                  ("老人需要慢病送药", "身体不适/住院"), ("反映邻居噪音", "邻里矛盾"), ("希望参加技能培训", "有就业需求")]

MEDIATION_TITLES = {
    "邻里": ["楼上漏水影响楼下", "楼道堆放杂物", "邻居装修噪音", "宠物扰邻"],
    "家庭/婚姻": ["夫妻感情纠纷", "赡养老人纠纷", "家庭财产分配纠纷"],
    "物业费": ["拒交物业费", "对物业服务不满"],
    "劳资/欠薪": ["务工工资被拖欠", "工伤赔偿纠纷"],
    "土地/山林": ["迁出地承包地边界纠纷", "迁出地山林权属纠纷"],
    "其他": ["停车位纠纷", "借款纠纷", "微菜园地块纠纷"],
}
SOURCES = [("走访发现", 35), ("来访", 25), ("网格上报", 25), ("热线", 10), ("其他", 5)]
REFERRED = ["南坪街道司法所", "县人民法院诉调对接中心", "南坪派出所", "县劳动监察大队"]

SPECIAL_FLAGS = ("sg_left_behind_child", "sg_elderly_alone", "sg_disabled", "sg_incapacitated", "sg_hospitalised")


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class _Builder:
    """Builds the rows in memory (fast, deterministic); the caller writes them in one transaction,
    each table as soon as no later step changes its rows (see :func:`generate`)."""

    def __init__(self, households: int, seed: int, today: dt.date, settings_values: dict[str, Any]) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = households
        self.today = today
        self.cfg = settings_values
        self.rows: dict[str, list[Row]] = {}
        self.used_ids: set[str] = set()
        # Where rows of the STREAMED tables go as they are made (None: kept like the others).
        self.sink: Callable[[str, list[Row]], None] | None = None

    def add(self, table: str, row: Row) -> Row:
        row.setdefault("id", new_id())
        buf = self.rows.setdefault(table, [])
        buf.append(row)
        if table in STREAMED and self.sink is not None and len(buf) >= BATCH:
            # These rows are final once made: they go to the database in batches as they come.
            self.flush(table)
        return row

    def flush(self, table: str) -> None:
        rows = self.rows.pop(table, [])
        if rows and self.sink is not None:
            self.sink(table, rows)

    def days_ago(self, days: int) -> dt.date:
        return self.today - dt.timedelta(days=days)

    def random_date(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def phone(self) -> str:
        rng = self.rng
        return rng.choice(["13", "15", "18"]) + str(rng.randrange(10)) + f"{rng.randrange(100_000_000):08d}"

    def name(self, ethnicity: str, sex: str, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or _weighted(rng, SURNAMES_BY_ETHNICITY.get(ethnicity, SURNAMES_BY_ETHNICITY["汉"]))
        chars = MALE_CHARS if sex == "男" else FEMALE_CHARS
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
        return surname + given

    # -- places ------------------------------------------------------------------------------
    def places(self) -> None:
        rng = self.rng
        self.community = self.add("community", {
            "name": COMMUNITY, "street": STREET, "county": COUNTY,
            "address": f"{COUNTY}{STREET}红路馨居大道 1 号", "phone": "0870-5123456",
        })
        target_rooms = int(self.n / 0.96) + 1
        self.buildings: list[Row] = []
        self.rooms: list[tuple[Row, Row, Row]] = []  # (building, unit, room)
        sign_keys = list(SIGNS)
        every_sign = all_signs()
        number = 0
        while len(self.rooms) < target_rooms:
            number += 1
            floors = _weighted(rng, [(6, 2), (9, 2), (11, 4), (12, 2), (15, 2), (17, 3), (18, 3)])
            units = rng.choice([2, 2, 3, 3, 4])
            per_floor = rng.choice([2, 2, 3, 4])
            # Every building has a sign of its own: the drawings first, then the drawings on
            # coloured discs; past those, the units get pictures instead (distinct within the building).
            sign = every_sign[number - 1] if number <= len(every_sign) else None
            building = self.add("building", {
                "community_id": self.community["id"], "grid_id": None, "name": f"{number}栋",
                "number": number, "sign": sign, "floors": floors, "notes": None,
            })
            self.buildings.append(building)
            # Drawn as before for buildings past the plain drawings, so a seed gives the same community.
            unit_signs = rng.sample(sign_keys, units) if number > len(sign_keys) else [None] * units
            if sign is not None:
                unit_signs = [None] * units
            for u in range(1, units + 1):
                unit = self.add("unit", {"building_id": building["id"], "number": u, "name": f"{u}单元",
                                         "sign": unit_signs[u - 1]})
                building.setdefault("_units", []).append(unit)
                area = rng.choice([50.0, 60.0, 75.0, 90.0, 100.0, 120.0])
                for floor in range(1, floors + 1):
                    for k in range(1, per_floor + 1):
                        room = self.add("room", {"unit_id": unit["id"], "number": f"{floor}{k:02d}",
                                                 "floor": floor, "area_m2": area if k != 1 else area - 10})
                        self.rooms.append((building, unit, room))
        # Grids of 6–8 consecutive buildings, districts (片区) of consecutive grids.
        grids: list[list[Row]] = []
        i = 0
        while i < len(self.buildings):
            size = rng.randint(6, 8)
            grids.append(self.buildings[i:i + size])
            i += size
        n_districts = 3 if len(grids) < 12 else 4
        n_districts = min(n_districts, len(grids))
        district_names = ["一片区", "二片区", "三片区", "四片区"]
        districts = [self.add("district", {"community_id": self.community["id"], "name": district_names[d],
                                           "sort_order": d + 1}) for d in range(n_districts)]
        self.grid_rows: list[Row] = []
        for g, members in enumerate(grids):
            district = districts[g * n_districts // len(grids)]
            grid = self.add("grid", {"community_id": self.community["id"], "district_id": district["id"],
                                     "name": f"第{g + 1}网格", "sort_order": g + 1})
            self.grid_rows.append(grid)
            for b in members:
                b["grid_id"] = grid["id"]
                b["_grid"] = grid
            worker = rng.choice(FIRST_NAMES_STAFF)
            grid["_worker"] = worker
            self.add("place_role", self._role("grid", grid["id"], "grid_worker", None, worker, self.phone(),
                                              dt.date(2021, rng.randint(1, 12), 1)))

    @staticmethod
    def _role(table: str, place_id: str, role: str, person_id: str | None, staff: str | None, phone: str | None,
              start: dt.date) -> Row:
        return {"place_table": table, "place_id": place_id, "role": role, "person_id": person_id,
                "staff_name": staff, "phone": phone, "start_date": start.isoformat(), "end_date": None}

    # -- households and persons ---------------------------------------------------------------
    def id_number(self, region: str, birth: dt.date, sex: str) -> str:
        for _ in range(1000):
            number = id_numbers.make(region, birth, self.rng.randrange(500), sex)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number
        raise RuntimeError("demo: ran out of ID sequence numbers")  # 500 per day and county: never

    def birth_for_age(self, age: int) -> dt.date:
        # A birthday somewhere in the year that makes the person exactly `age` today.
        latest = self.today - dt.timedelta(days=int(age * 365.25))
        return latest - dt.timedelta(days=self.rng.randrange(364))

    def members(self) -> list[tuple[str, str, int]]:
        """(relation, sex, age) of one household, head first."""
        rng = self.rng
        out: list[tuple[str, str, int]] = []
        kind = rng.random()
        if kind < 0.12:  # one or two elderly people
            age = rng.randint(62, 88)
            sex = rng.choice(["男", "女"])
            out.append(("户主", sex, age))
            if rng.random() < 0.5:
                out.append(("配偶", "女" if sex == "男" else "男", max(58, age + rng.randint(-5, 3))))
            return out
        head_sex = "男" if rng.random() < 0.8 else "女"
        other = "女" if head_sex == "男" else "男"
        if kind < 0.62:
            head_age = rng.randint(25, 45)
        elif kind < 0.92:
            head_age = rng.randint(46, 60)
        else:
            head_age = rng.randint(61, 72)
        out.append(("户主", head_sex, head_age))
        if rng.random() < 0.9:
            out.append(("配偶", other, max(20, head_age + rng.randint(-4, 3))))
        if head_age <= 45:
            for _ in range(rng.choice([1, 2, 2, 2, 3, 3])):
                child_age = rng.randint(0, max(0, min(head_age - 21, 20)))
                sex = rng.choice(["男", "女"])
                out.append(("子" if sex == "男" else "女", sex, child_age))
            if rng.random() < 0.38:
                for rel, sex in (("父亲", "男"), ("母亲", "女"))[: rng.choice([1, 2])]:
                    out.append((rel, sex, min(90, head_age + rng.randint(22, 32))))
        else:
            n_children = rng.choice([1, 2, 2, 3])
            for c in range(n_children):
                child_age = rng.randint(max(8, head_age - 40), head_age - 20)
                # The child who stays with the parents after marrying is usually a son.
                sex = "男" if c == 0 and rng.random() < 0.75 else rng.choice(["男", "女"])
                out.append(("子" if sex == "男" else "女", sex, child_age))
                if c == 0 and child_age >= 22 and rng.random() < 0.55:
                    out.append(("儿媳" if sex == "男" else "女婿", "女" if sex == "男" else "男",
                                max(20, child_age + rng.randint(-3, 2))))
                    for _ in range(rng.choice([1, 1, 2])):
                        gage = rng.randint(0, max(0, min(child_age - 21, 15)))
                        gsex = rng.choice(["男", "女"])
                        out.append(("孙子" if gsex == "男" else "孙女", gsex, gage))
        return out

    def households(self) -> None:
        rng = self.rng
        occupied = sorted(rng.sample(range(len(self.rooms)), self.n))
        self.household_rows: list[Row] = []
        self.persons_by_household: dict[str, list[Row]] = {}
        self.labour: list[Row] = []
        for seq, room_index in enumerate(occupied, start=1):
            building, unit, room = self.rooms[room_index]
            township, region, villages = TOWNSHIPS[rng.randrange(len(TOWNSHIPS))]
            move_in = self.random_date(dt.date(2018, 3, 1), dt.date(2021, 12, 31))
            ethnicity = _weighted(rng, ETHNICITIES)
            hukou = rng.random() < 0.7
            household = self.add("household", {
                "number": f"{NUMBER_PREFIX}-{seq:06d}", "room_id": room["id"], "head_person_id": None,
                "origin_township": township, "origin_village": rng.choice(villages),
                "move_in_date": move_in.isoformat(), "risk_colour": "green",
                "tag_lifted": 1 if rng.random() < 0.9 else 0, "tag_monitored": 0, "tag_dibao": 0, "tag_tekun": 0,
                "hukou_moved": 1 if hukou else 0,
                "residence_permit": "已办" if hukou else _weighted(rng, [("已办", 6), ("办理中", 2), ("未办", 2)]),
                "property_cert": _weighted(rng, [("已办", 60), ("办理中", 25), ("未办", 15)]),
                "garden_plot_m2": float(rng.choice([20, 20, 25, 30])) if rng.random() < 0.35 else None,
                "status": HouseholdStatus.LIVING, "notes": None,
            })
            household["_building"] = building
            self.household_rows.append(household)
            self.add("household_address", {
                "household_id": household["id"], "room_id": room["id"],
                "address_text": f"{COMMUNITY}{building['name']}{unit['name']}{room['number']}",
                "from_date": household["move_in_date"], "to_date": None,
            })
            people = self._persons(household, region, ethnicity)
            self.persons_by_household[household["id"]] = people
            household["head_person_id"] = people[0]["id"]
            building.setdefault("_households", []).append(household)
            unit.setdefault("_households", []).append(household)
            self._tags(household, people)

    def _persons(self, household: Row, region: str, ethnicity: str) -> list[Row]:
        rng = self.rng
        wmin, wmax = int(self.cfg["working_age_min"]), int(self.cfg["working_age_max"])
        people: list[Row] = []
        head_surname = None
        members = self.members()
        elderly_only = all(age >= 60 for _, _, age in members)
        for relation, sex, age in members:
            eth = ethnicity if relation in ("户主", "子", "女", "孙子", "孙女", "父亲") or rng.random() < 0.85 else \
                _weighted(rng, ETHNICITIES)
            if relation in ("子", "女", "孙子", "孙女", "父亲") and head_surname:
                surname = head_surname if relation != "孙女" or rng.random() < 0.95 else None
                name = self.name(eth, sex, surname)
            else:
                name = self.name(eth, sex)
            if relation == "户主":
                head_surname = name[0]
            birth = self.birth_for_age(age)
            age = _age_on(birth, self.today)
            student = 1 if 6 <= age <= 17 or (18 <= age <= 22 and rng.random() < 0.35) else 0
            if age < 6:
                education = "学龄前"
            elif age < 12:
                education = "小学（在读）"
            elif age < 15:
                education = "初中（在读）"
            elif student and age < 18:
                education = "高中/中职（在读）"
            elif student:
                education = rng.choice(["大专（在读）", "本科（在读）"])
            else:
                education = _weighted(rng, EDUCATION_ADULT if age < 55 else EDUCATION_ADULT[:3])
            disabled = 1 if rng.random() < (0.02 if age < 50 else 0.06) else 0
            incapacitated = 1 if age >= 70 and rng.random() < 0.08 else 0
            hospitalised = 1 if rng.random() < 0.004 else 0
            # Full-time students are outside the labour ledger, as on the county's forms.
            if age < wmin or student or incapacitated:
                ability = "无"
            elif age > wmax:
                ability = "半" if age <= 65 and rng.random() < 0.3 else "无"
            elif disabled:
                ability = rng.choice(["半", "无"])
            else:
                ability = "半" if rng.random() < 0.06 else "全"
            full, initials = name_pinyin(name)
            no_id = rng.random() < 0.005
            person = self.add("person", {
                "household_id": household["id"],
                "id_number": None if no_id else self.id_number(region, birth, sex),
                "name": name, "name_pinyin": full, "name_initials": initials, "sex": sex,
                "birth_date": birth.isoformat(), "ethnicity": eth + "族", "relation": relation,
                "phone": self.phone() if age >= 18 and rng.random() < 0.92 else None,
                "education": education, "labour_ability": ability,
                "sg_left_behind_child": 0,
                "sg_elderly_alone": 1 if elderly_only and (len(members) == 1 or rng.random() < 0.3) else 0,
                "sg_disabled": disabled, "sg_incapacitated": incapacitated, "sg_hospitalised": hospitalised,
                "party_member": 1 if age >= 22 and rng.random() < (0.08 if sex == "男" else 0.03) else 0,
                "student": student, "status": PersonStatus.REGISTERED, "status_date": None, "notes": None,
            })
            person["_age"] = age
            person["_household"] = household
            people.append(person)
            if ability in ("全", "半") and wmin <= age <= wmax:
                self.labour.append(person)
        return people

    def _tags(self, household: Row, people: list[Row]) -> None:
        rng = self.rng
        elderly_only = all(p["_age"] >= 60 for p in people)
        if rng.random() < 0.05:
            household["tag_monitored"] = 1
        if rng.random() < (0.35 if elderly_only else 0.06):
            household["tag_dibao"] = 1
        if elderly_only and len(people) == 1 and rng.random() < 0.1:
            household["tag_tekun"] = 1
        r = rng.random()
        if household["tag_monitored"]:
            colour = "red" if r < 0.25 else "yellow" if r < 0.85 else "green"
        else:
            colour = "red" if r < 0.018 else "yellow" if r < 0.13 else "green"
        household["risk_colour"] = colour
        if colour != "green":
            reasons = {"red": ["家庭成员重病住院，收入骤减", "主要劳动力失业，存在返贫风险", "家庭突发变故"],
                       "yellow": ["务工收入不稳定", "家中有慢性病患者", "子女上学支出大", "纳入监测对象"]}
            self.add("risk_change", {
                "household_id": household["id"], "old_colour": "green", "new_colour": colour,
                "reason": rng.choice(reasons[colour]), "changed_by": rng.choice(FIRST_NAMES_STAFF[:6]),
                "changed_at": f"{self.random_date(self.days_ago(400), self.days_ago(20)).isoformat()}T09:30:00",
            })

    # -- heads of buildings and units -----------------------------------------------------------
    def roles(self) -> None:
        rng = self.rng
        for building in self.buildings:
            candidates = [p for h in building.get("_households", []) for p in self.persons_by_household[h["id"]]
                          if 30 <= p["_age"] <= 66 and p["phone"]]
            head = rng.choice(candidates) if candidates else None
            building["_head"] = head
            start = dt.date(rng.choice([2020, 2021, 2022]), rng.randint(1, 12), 1)
            if head is not None:
                head["party_member"] = 1 if rng.random() < 0.6 else head["party_member"]
                self.add("place_role", self._role("building", building["id"], "building_head", head["id"], None,
                                                  head["phone"], start))
            for unit in building["_units"]:
                if rng.random() < 0.6:
                    people = [p for h in unit.get("_households", []) for p in self.persons_by_household[h["id"]]
                              if 25 <= p["_age"] <= 70 and p["phone"] and p is not head]
                    if people:
                        uh = rng.choice(people)
                        self.add("place_role", self._role("unit", unit["id"], "unit_head", uh["id"], None,
                                                          uh["phone"], start))

    # -- employment, training, intentions -----------------------------------------------------
    def employment(self) -> None:
        rng = self.rng
        by_household: dict[str, list[Row]] = {}
        for p in self.labour:
            by_household.setdefault(p["household_id"], []).append(p)
        self.current_job: dict[str, Row] = {}
        for household in self.household_rows:
            members = by_household.get(household["id"], [])
            if not members:
                continue
            zero = rng.random() < 0.006
            move_in = dt.date.fromisoformat(household["move_in_date"])
            employed_flags = [not zero and rng.random() > 0.09 for _ in members]
            if not zero and not any(employed_flags):
                employed_flags[rng.randrange(len(members))] = True
            wmin = int(self.cfg["working_age_min"])
            for person, employed in zip(members, employed_flags, strict=True):
                # Nobody's job starts before they reached working age (the employment ledger refuses it).
                came_of_age = _years_after(dt.date.fromisoformat(person["birth_date"]), wmin)
                earliest = min(self.today, max(move_in - dt.timedelta(days=180), came_of_age))
                if employed:
                    start = self.random_date(earliest, self.days_ago(14))
                    if rng.random() < 0.25 and (start - earliest).days > 200:
                        old_start = self.random_date(earliest, start - dt.timedelta(days=120))
                        old_end = self.random_date(old_start + dt.timedelta(days=60), start - dt.timedelta(days=5))
                        self.job(person, old_start, old_end)
                    self.current_job[person["id"]] = self.job(person, start, None)
                elif rng.random() < 0.5 and earliest < self.days_ago(200):
                    old_start = self.random_date(earliest, self.days_ago(200))
                    self.job(person, old_start, self.random_date(self.days_ago(180), self.days_ago(10)))
        # Children under 16 whose parents both work away from home are 留守儿童.
        for household in self.household_rows:
            people = self.persons_by_household[household["id"]]
            parents = [p for p in people if p["relation"] in ("户主", "配偶")]
            if len(parents) == 2 and all(self.current_job.get(p["id"], {}).get("kind") == "外出务工"
                                         for p in parents):
                for p in people:
                    if p["relation"] in ("子", "女") and p["_age"] < 16:
                        p["sg_left_behind_child"] = 1

    def job(self, person: Row, start: dt.date, end: dt.date | None) -> Row:
        rng = self.rng
        half = person["labour_ability"] == "半"
        weights = [("外出务工", 10 if not half else 1), ("就近就业", 5), ("公益性岗位", 1 if not half else 8),
                   ("灵活就业", 3), ("自主创业", 1)]
        kind = _weighted(rng, weights)
        row: Row = {"person_id": person["id"], "kind": kind, "sub_kind": None, "organised": None,
                    "in_province": None, "destination": None, "employer": None, "place": None,
                    "post_name": None, "funding_source": None, "business_type": None, "subsidy_fen": None,
                    "start_date": start.isoformat(), "end_date": end.isoformat() if end else None,
                    "monthly_income_fen": None, "notes": None}
        if kind == "外出务工":
            in_prov = rng.random() < 0.35
            dest = rng.choice(IN_DESTINATIONS if in_prov else OUT_DESTINATIONS)
            row.update(organised=1 if rng.random() < 0.6 else 0, in_province=1 if in_prov else 0,
                       destination=dest, employer=dest + rng.choice(OUT_EMPLOYERS), place=dest,
                       monthly_income_fen=rng.randint(3800, 7500) * 100)
        elif kind == "就近就业":
            sub = _weighted(rng, [("工业园区", 5), ("帮扶车间", 4), ("其他就近就业", 2)])
            employer = rng.choice(PARK_EMPLOYERS if sub == "工业园区" else WORKSHOPS if sub == "帮扶车间"
                                  else OTHER_NEARBY)
            row.update(sub_kind=sub, employer=employer, place=COUNTY,
                       monthly_income_fen=rng.randint(1800, 3600) * 100)
        elif kind == "公益性岗位":
            row.update(post_name=rng.choice(WELFARE_POSTS), funding_source=rng.choice(FUNDING),
                       employer=f"{COMMUNITY}居民委员会", place=COMMUNITY,
                       monthly_income_fen=rng.choice([800, 1000, 1200, 1500, 1800]) * 100)
        elif kind == "灵活就业":
            row.update(sub_kind="零工市场", employer=None, place=COUNTY, notes=f"零工：{rng.choice(GIG_WORK)}",
                       monthly_income_fen=rng.randint(1500, 3500) * 100)
        else:
            business = rng.choice(BUSINESS_TYPES)
            row.update(business_type=business, employer=f"{person['name']}{business}", place=COUNTY,
                       subsidy_fen=rng.choice([0, 500_000, 1_000_000]) or None,
                       monthly_income_fen=rng.randint(3000, 8000) * 100)
        return self.add("employment", row)

    def training(self) -> None:
        rng = self.rng
        n_courses = max(3, round(self.n * 25 / 5000))
        self.attendance_by_person: dict[str, Row] = {}
        for c in range(n_courses):
            name, kind, cert, cert_name = COURSES[c % len(COURSES)]
            # Spread over three years, with the newest few in this year.
            start = self.days_ago(rng.randint(10, 1000)) if c % 5 else self.days_ago(rng.randint(
                5, max(6, (self.today - dt.date(self.today.year, 1, 1)).days)))
            days = rng.choice([3, 5, 7, 10, 15])
            course = self.add("training_course", {
                "name": f"{start.year}年{name}（第{c // len(COURSES) + 1}期）", "kind": kind,
                "provider": rng.choice(PROVIDERS), "start_date": start.isoformat(),
                "end_date": min(self.today, start + dt.timedelta(days=days)).isoformat(),
                "hours": float(days * 6), "with_certificate": 1 if cert else 0,
                "certificate_name": cert_name, "notes": None,
            })
            # Sessions draw from their own generator so the rest of the demo stays as it was.
            srng = random.Random(f"{self.seed}-sessions-{c}")
            sessions = self.sessions(srng, course, start, days, kind)
            if not self.labour:
                continue
            for person in rng.sample(self.labour, min(len(self.labour), rng.randint(30, 70))):
                att = self.add("training_attendance", {
                    "course_id": course["id"], "person_id": person["id"],
                    "certificate_obtained": 1 if cert and rng.random() < 0.85 else 0, "notes": None,
                })
                self.attendance_by_person.setdefault(person["id"], att)
                att["_start"] = start
                # Most come every time; a few miss a day (the sign-in sheet shows who).
                keen = srng.random() < 0.8
                for session in sessions:
                    if keen or srng.random() < 0.75:
                        self.add("training_presence", {"id": presence_id(session["id"], att["id"]),
                                                       "session_id": session["id"], "attendance_id": att["id"],
                                                       "present": 1})

    def sessions(self, srng: random.Random, course: Row, start: dt.date, days: int, kind: str) -> list[Row]:
        """One session a day on working days from the start, none after today; the course's hours and
        end date are the sessions' own."""
        topics = SESSION_TOPICS.get(kind, SESSION_TOPICS["技能提升"])
        place = srng.choice(SESSION_PLACES)
        rows: list[Row] = []
        day = start
        while len(rows) < days and day <= self.today:
            if day.weekday() < 5 or len(rows) == 0:
                morning = srng.random() < 0.7
                hours = srng.choice([3.0, 4.0, 6.0]) if morning else srng.choice([3.0, 4.0])
                i = len(rows)
                topic = topics[0] if i == 0 else topics[-1] if i == days - 1 else topics[1 + (i - 1) % (len(topics) - 2)]
                rows.append(self.add("training_session", {
                    "course_id": course["id"], "session_date": day.isoformat(), "end_date": None,
                    "start_time": "09:00" if morning else "14:00", "hours": hours, "topic": topic, "place": place,
                }))
            day += dt.timedelta(days=1)
        course["hours"] = float(sum(r["hours"] for r in rows))
        course["end_date"] = rows[-1]["session_date"] if len(rows) > 1 else None
        return rows

    def intentions(self) -> None:
        rng = self.rng
        for person in self.labour:
            job = self.current_job.get(person["id"])
            r = rng.random()
            base: Row = {"person_id": person["id"], "kind": None, "job_kind": None, "place": None,
                         "training_wanted": None, "detail": None, "recorded_date": None, "closed_date": None,
                         "met_employment_id": None, "met_attendance_id": None, "notes": None}
            if job is None and r < 0.6:
                base.update(kind="就业", job_kind=rng.choice(["就近就业", "外出务工", "公益性岗位"]),
                            place=rng.choice([COUNTY, "省内", "不限"]), detail="希望尽快找到工作",
                            recorded_date=self.days_ago(rng.randint(3, 150)).isoformat())
            elif job is not None and r < 0.06:
                started = dt.date.fromisoformat(job["start_date"])
                base.update(kind="就业", job_kind=job["kind"], place=job["place"], detail="求职登记",
                            recorded_date=(started - dt.timedelta(days=rng.randint(10, 60))).isoformat(),
                            closed_date=started.isoformat(), met_employment_id=job["id"])
            elif r > 0.97:
                att = self.attendance_by_person.get(person["id"])
                wanted = rng.choice(["电工", "家政", "烹饪", "电商", "挖掘机"])
                if att is not None:
                    closed = att["_start"]
                    base.update(kind="培训", training_wanted=wanted, detail="希望学一门技术",
                                recorded_date=(closed - dt.timedelta(days=rng.randint(10, 90))).isoformat(),
                                closed_date=closed.isoformat(), met_attendance_id=att["id"])
                else:
                    base.update(kind="培训", training_wanted=wanted, detail="希望学一门技术",
                                recorded_date=self.days_ago(rng.randint(3, 200)).isoformat())
            elif r > 0.955:
                base.update(kind="创业", detail=f"想开{rng.choice(BUSINESS_TYPES)}，需要贴息贷款",
                            recorded_date=self.days_ago(rng.randint(3, 200)).isoformat())
            else:
                continue
            self.add("intention", base)

    # -- visits and income checks ---------------------------------------------------------------
    def visits(self) -> None:
        rng = self.rng
        cfg = self.cfg
        intervals = {"red": int(cfg["visit_interval_red"]), "yellow": int(cfg["visit_interval_yellow"]),
                     "green": int(cfg["visit_interval_green"])}
        special_interval = int(cfg["visit_interval_special"])
        window = 90
        for household in self.household_rows:
            people = self.persons_by_household[household["id"]]
            special = bool(household["tag_tekun"]) or any(
                p["sg_disabled"] or p["sg_incapacitated"] or p["sg_hospitalised"] or p["sg_elderly_alone"]
                for p in people)
            colour = household["risk_colour"]
            interval = intervals[colour]
            if special:
                interval = min(interval, special_interval)
            head = household["_building"].get("_head")
            visitor = head["name"] if head else household["_building"]["_grid"]["_worker"]
            visitor_id = head["id"] if head else None
            kind = {"red": "日访", "yellow": "周访", "green": "月访"}[colour]
            if special and colour == "green":
                kind = "四必访"
            move_in = dt.date.fromisoformat(household["move_in_date"])
            # Most households are visited on time; about one in twelve is overdue.
            offset = rng.randint(interval + 1, interval + 20) if rng.random() < 0.08 else rng.randint(0, interval)
            day = offset
            while day <= window:
                date = self.days_ago(day)
                if date < move_in:
                    break
                problem, flag = rng.choice(VISIT_PROBLEMS) if rng.random() < 0.08 else (None, "一切正常")
                self.add("visit", {
                    "household_id": household["id"], "visit_date": date.isoformat(),
                    "kind": "三必到" if rng.random() < 0.01 else kind, "visitor_name": visitor,
                    "visitor_person_id": visitor_id, "findings": rng.choice(VISIT_FINDINGS),
                    "finding_flags": json.dumps([flag], ensure_ascii=False), "problems": problem,
                    "follow_up_needed": 1 if problem else 0,
                    "follow_up_note": "已转社区处理" if problem and rng.random() < 0.5 else None,
                    "mediation_case_id": None,
                    "created_at": f"{date.isoformat()}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:00",
                })
                # Daily rounds skip a day now and then; weekly and monthly ones drift a little.
                if interval == 1:
                    day += 1 if rng.random() < 0.85 else 2
                else:
                    day += max(1, interval + rng.randint(-2, 1))

    def income_checks(self) -> None:
        rng = self.rng
        first = self.today.replace(day=1)
        months = []
        for _ in range(3):
            first = (first - dt.timedelta(days=1)).replace(day=1)
            months.append(first.strftime("%Y-%m"))
        for household in self.household_rows:
            people = self.persons_by_household[household["id"]]
            wages = sum(self.current_job[p["id"]]["monthly_income_fen"] for p in people if p["id"] in self.current_job)
            focus = household["risk_colour"] != "green" or household["tag_monitored"] or household["tag_dibao"]
            for month in months if focus else months[:1]:
                income = wages + rng.randint(200, 1200) * 100
                self.add("income_check", {
                    "household_id": household["id"], "month": month, "income_fen": income,
                    "expense_fen": min(income, rng.randint(800, 3000) * 100 * max(1, len(people) // 2)),
                    "notes": None,
                })

    # -- mediation ------------------------------------------------------------------------------
    def mediation(self, categories: list[str], clerks: list[str], columns: set[str]) -> None:
        """Cases that walk the same workflow as app.models.mediation.mediation (受理 → 调解中 → outcome → 已回访 → 结案)."""
        rng = self.rng
        n_cases = max(3, round(self.n / 40))
        # The oldest case is always a finished one, so even a tiny demo shows a case's whole history.
        received = sorted(self.days_ago(rng.randint(0, 730)) for _ in range(n_cases))
        if (self.today - received[0]).days < 400:
            received[0] = self.days_ago(rng.randint(400, 730))
        per_year: dict[int, int] = {}
        all_people = [p for h in self.household_rows[:: max(1, self.n // 2000)]
                      for p in self.persons_by_household[h["id"]] if p["_age"] >= 20]
        levels = ["楼栋", "社区", "街道"]
        for index, got in enumerate(received):
            per_year[got.year] = per_year.get(got.year, 0) + 1
            age = (self.today - got).days
            if index == 0:
                status = "结案"
            elif age > 120:
                status = _weighted(rng, [("结案", 70), ("已回访", 10), ("已移交", 8), ("调解不成", 5), ("已调解", 7)])
            elif age > 30:
                status = _weighted(rng, [("已调解", 30), ("已回访", 20), ("结案", 20), ("调解中", 15),
                                         ("已移交", 8), ("调解不成", 7)])
            else:
                status = _weighted(rng, [("受理", 35), ("调解中", 40), ("已调解", 20), ("已移交", 5)])
            outcome = status if status in ("已调解", "调解不成", "已移交") else None
            if status in ("已回访", "结案"):
                outcome = _weighted(rng, [("已调解", 85), ("调解不成", 7), ("已移交", 8)])
            path = ["受理"]
            if status != "受理":
                if not (outcome == "已移交" and rng.random() < 0.3):
                    path.append("调解中")  # a case may be handed over straight after it is received
                if outcome:
                    path.append(outcome)
                if status in ("已回访", "结案"):
                    path.append("已回访")
                if status == "结案":
                    path.append("结案")
            level = _weighted(rng, [("楼栋", 50), ("社区", 35), ("街道", 15)])
            start_level = levels[rng.randint(0, levels.index(level))]
            escalations = levels[levels.index(start_level) + 1: levels.index(level) + 1]
            # Level changes happen while the case is still open, before its outcome.
            dates = sorted(got + dt.timedelta(days=rng.randint(0, age)) for _ in range(len(path) - 1 + len(escalations)))
            category = rng.choice(categories)
            first = rng.choice(all_people)
            building = first["_household"]["_building"]
            head = building.get("_head")
            mediators = {"楼栋": head["name"] if head else building["_grid"]["_worker"],
                         "社区": f"社区人民调解委员会 {rng.choice(FIRST_NAMES_STAFF[:8])}",
                         "街道": f"{STREET}司法所 {rng.choice(FIRST_NAMES_STAFF[8:16])}"}[level]
            title = rng.choice(MEDIATION_TITLES.get(category, MEDIATION_TITLES["其他"]))
            case: Row = self.add("mediation_case", {
                "number": f"{got.year}-{per_year[got.year]:04d}", "received_date": got.isoformat(),
                "source": _weighted(rng, SOURCES), "category": category, "title": title,
                "description": f"{first['name']}反映：{title}，请求调解。",
                "building_id": building["id"], "level": level, "level_since": got.isoformat(),
                "mediators": mediators, "status": status, "referred_to": None, "agreement_text": None,
                "agreement_date": None, "visit_id": None, "closed_date": None,
            })
            by = rng.choice(clerks)
            events: list[tuple[dt.date, str, str | None, str, str | None]] = [(got, "status", None, "受理", "登记受理")]
            i = 0
            steps = path[1:]
            # Escalations go in right after 受理 (or 调解中) so they precede any outcome.
            current = start_level
            for new_level in escalations:
                events.append((dates[i], "level", current, new_level, "上报上一级调解"))
                case["level_since"] = dates[i].isoformat()
                current = new_level
                i += 1
            status_dates: dict[str, dt.date] = {}
            previous = "受理"
            for new in steps:
                status_dates[new] = dates[i]
                note = None
                if new == "已移交":
                    case["referred_to"] = rng.choice(REFERRED)
                    note = f"移交：{case['referred_to']}"
                events.append((dates[i], "status", previous, new, note))
                previous = new
                i += 1
            for at, kind, old, new, note in events:
                self.add("mediation_event", {"case_id": case["id"], "at": at.isoformat(), "by_user": by,
                                             "kind": kind, "from_value": old, "to_value": new, "note": note})
            if outcome == "已调解":
                case["agreement_date"] = status_dates["已调解"].isoformat()
                case["agreement_text"] = (f"经调解，双方自愿达成如下协议：一、{first['name']}一方的合理诉求予以解决；"
                                          "二、双方今后互谅互让，不再因此事发生争执；三、本协议自双方签字之日起生效。")
            if "outcome" in columns:
                case["outcome"] = outcome
                case["outcome_date"] = status_dates[outcome].isoformat() if outcome else None
            if "结案" in status_dates:
                case["closed_date"] = status_dates["结案"].isoformat()
            if "已回访" in status_dates:
                # The visit that moved the case to 已回访, sometimes after an earlier phone call.
                followups = [status_dates["已回访"]]
                assert outcome is not None  # a case reaches 已回访 only through an outcome (see `path`)
                if rng.random() < 0.3:
                    followups.insert(0, self.random_date(status_dates[outcome], status_dates["已回访"]))
                for k, when in enumerate(followups):
                    self.add("mediation_followup", {
                        "case_id": case["id"], "followup_date": when.isoformat(),
                        "visitor": mediators.split()[-1],
                        "outcome": _weighted(rng, [("满意", 7), ("基本满意", 2), ("不满意", 1)]),
                        "notes": "电话回访" if k < len(followups) - 1 else "上门回访，双方关系缓和",
                        "next_date": None,
                    })
            self._parties(case, category, first, all_people, columns)

    def _parties(self, case: Row, category: str, first: Row, people: list[Row], columns: set[str]) -> None:
        rng = self.rng
        second: Row | None = None
        outsider: str | None = None
        household = first["_household"]
        if category == "家庭/婚姻":
            others = [p for p in self.persons_by_household[household["id"]] if p is not first and p["_age"] >= 18]
            second = rng.choice(others) if others else None
        elif category == "邻里":
            neighbours = [p for h in household["_building"].get("_households", []) if h is not household
                          for p in self.persons_by_household[h["id"]][:1]]
            second = rng.choice(neighbours) if neighbours else None
        elif category == "物业费":
            outsider = "云岭安居物业服务有限公司"
        elif category == "劳资/欠薪":
            outsider = self.name("汉", "男") + "（包工头）"
        if second is None and outsider is None:
            candidate = rng.choice(people)
            if rng.random() < 0.7 and candidate is not first:
                second = candidate
            else:
                outsider = self.name("汉", rng.choice(["男", "女"]))
        parties = [{"person_id": first["id"], "outsider_name": None, "outsider_phone": None, "role": "申请人"}]
        if second is not None:
            parties.append({"person_id": second["id"], "outsider_name": None, "outsider_phone": None,
                            "role": "被申请人"})
        else:
            parties.append({"person_id": None, "outsider_name": outsider, "outsider_phone": self.phone(),
                            "role": "被申请人"})
        for party in parties:
            if "outsider_initials" in columns:
                party["outsider_initials"] = name_pinyin(party["outsider_name"])[1] if party["outsider_name"] else None
            self.add("mediation_party", {"case_id": case["id"], **party})

    def users(self) -> list[str]:
        names = ["罗晓丽", "杨光明", "王丽娟", "陈志强"]
        for i, name in enumerate(names):
            self.add("app_user", {"name": name, "role": "admin" if i == 0 else "clerk", "phone": self.phone(),
                                  "person_id": None, "active": 1})
        return names


# Tables whose rows are final when made: written in batches while the rest is generated, so a
# 100,000-resident demo never holds its 200,000 visits or 67,000 jobs in memory at once.
STREAMED = frozenset({"visit", "income_check", "employment", "training_presence", "intention"})
BATCH = 5000
# What later generation steps still read of a row once it is written (the rest is dropped then);
# a table not named here keeps nothing. None: the whole row stays (small tables).
KEPT: dict[str, frozenset[str] | None] = {
    "community": None, "district": None, "grid": None, "building": None, "unit": None,
    "household": frozenset({"id", "move_in_date", "risk_colour", "tag_tekun", "tag_monitored", "tag_dibao",
                            "_building"}),
    "person": frozenset({"id", "name", "_age", "_household", "sg_disabled", "sg_incapacitated",
                         "sg_hospitalised", "sg_elderly_alone"}),
    "employment": frozenset({"id", "kind", "place", "start_date", "monthly_income_fen"}),
}


def _write_rows(tx: Any, table: str, rows: list[Row]) -> None:
    """Insert `rows` in key order (the primary key and the logs' row indexes grow at one end), a
    batch at a time; each row dict keeps only what later steps read (KEPT) once written, so the
    rest of its values can be freed."""
    rows.sort(key=lambda r: r["id"])
    kept = KEPT.get(table, frozenset())
    for i in range(0, len(rows), BATCH):
        part = rows[i:i + BATCH]
        tx.insert_many(table, [{k: v for k, v in r.items() if not k.startswith("_")} for r in part],
                       summary="生成演示数据")
        if kept is None:
            continue
        for r in part:
            still = {k: r[k] for k in kept if k in r}
            r.clear()  # frees the dict's table; the few values kept go into a small one
            r.update(still)


# Insert order: parents before children is not required (foreign keys are deferred) but reads well.
TABLE_ORDER = [
    "community", "district", "grid", "building", "unit", "room", "household", "person", "household_address",
    "place_role", "risk_change", "employment", "training_course", "training_attendance", "training_session",
    "training_presence", "intention",
    "visit", "income_check", "mediation_case", "mediation_party", "mediation_event", "mediation_followup",
    "app_user",
]


def generate(db: Database, households: int, seed: int = 1, progress: Progress | None = None,
             today: dt.date | None = None, password: str = DEMO_PASSWORD) -> None:
    """Write a demo community of `households` households into `db` (one transaction).

    The same seed and the same `today` give the same names, ID numbers and household numbers.
    The demo accounts (管理员, 楼栋长1 …) all get `password`.
    """
    if households < 1:
        raise KnownError("演示户数至少为 1。")
    today = today or dt.date.today()
    total = len(TABLE_ORDER) + 4
    done = 0

    def step(text: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, text)

    cfg = settings.get_all(db)
    b = _Builder(households, seed, today, cfg)
    written: set[str] = set()

    def write(tx: Tx, *tables: str) -> None:
        """Write these tables now: no later step changes their rows (each table once, in TABLE_ORDER's
        order within a call; the streamed ones flush what is left of them)."""
        for table in tables:
            if table in STREAMED:
                b.flush(table)
            else:
                _write_rows(tx, table, b.rows.pop(table, []))
            written.add(table)
            step(f"写入 {table}")

    # Random UUID keys scatter inserts over every index; with SQLite's default 2 MB page cache a
    # 100,000-resident write thrashes (minutes instead of seconds), so the cache is raised meanwhile.
    old_cache = db.scalar("PRAGMA cache_size")
    # 32 MB: as fast as 64 MB here, and the demo's peak memory (the rows held while they are built
    # plus this cache) stays under 500 MB at 100,000 residents.
    db.conn.execute(f"PRAGMA cache_size = {-DEMO_CACHE_KB}")
    try:
        with db.write() as tx:
            # The demo writes every table of a new file: the transaction's changes say so rather
            # than list its half a million row ids (held until the commit, and copied then).
            tx.everything = True
            b.sink = lambda table, rows: _write_rows(tx, table, rows)
            # Each table is written as soon as the steps that change its rows are done, so the
            # people (the largest rows) are never held together with the jobs, visits and the rest.
            b.places()
            step("生成楼栋和房间")
            write(tx, "community", "district", "grid", "building", "unit")
            # Each account's password hash takes 32 MB for a moment (scrypt): made while the rows
            # held are few. The building heads' accounts need the buildings written.
            create_demo_accounts(db, password)
            b.households()
            write(tx, "room", "household", "household_address", "risk_change")
            b.roles()
            step("生成住户和人口")
            b.employment()
            write(tx, "person", "employment")
            b.training()
            b.intentions()
            write(tx, "training_course", "training_attendance", "training_session", "training_presence",
                  "intention")
            step("生成就业和培训")
            b.visits()
            b.income_checks()
            write(tx, "visit", "income_check")
            clerks = b.users()
            columns = {r[1] for t in ("mediation_case", "mediation_party") for r in db.query(f"PRAGMA table_info({t})")}
            b.mediation(list(cfg["mediation_categories"]), clerks, columns)
            step("生成走访和调解")
            write(tx, *(t for t in TABLE_ORDER if t not in written))
            settings.set_value(db, "office_name", f"{COMMUNITY}服务中心")
            settings.set_value(db, "office_address", f"{COUNTY}{STREET}红路馨居大道 1 号")
            settings.set_value(db, "office_phone", "0870-5123456")
            db.set_meta("demo", "1")
    finally:
        db.conn.execute(f"PRAGMA cache_size = {int(old_cache)}")


DEMO_CACHE_KB = 32 << 10


# Measured on generated demos: about 40 KB of database per household, plus the empty schema.
BYTES_PER_HOUSEHOLD = 40_000
BYTES_BASE = 2_000_000


def estimated_size(households: int) -> int:
    return BYTES_BASE + households * BYTES_PER_HOUSEHOLD


def create_demo_database(path: str | Path, households: int, seed: int = 1, progress: Progress | None = None,
                         today: dt.date | None = None, password: str = DEMO_PASSWORD,
                         on_recovery_code: Callable[[str], None] | None = None, encrypted: bool = True) -> Path:
    """Create (or fill an empty) database at `path` with the demo community; refuses a file with data.

    A new file is built under a temporary name and renamed when complete, so a failure (a full
    disk, a kill) leaves no half-made database behind. The demo has accounts, so it is encrypted;
    ``encrypted=False`` keeps a plain file (tests that look at pages, benchmarks of the plain file).
    """
    path = Path(path)
    tell = on_recovery_code or (lambda _code: None)
    if path.exists():
        code = _fill_demo(path, path, households, seed, progress, today, password, encrypted)
        if code:
            tell(code)
        return path
    needed = estimated_size(households)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path, check=check_demo_file, what="演示数据库") as part:
            code = _fill_demo(part, path, households, seed, progress, today, password, encrypted)
    except DiskFullError as exc:
        raise DiskFullError(exc.folder, needed=needed, what="演示数据库", estimate=True) from exc
    if code:
        tell(code)
    return path


def begin_encrypted(target: Path) -> str | None:
    """A demo has accounts, so it is encrypted from its first page: a new (or 0-byte) file gets a key
    and keys file before anything is written. Returns the recovery code (None: an existing plain
    file, converted once filled, or no SQLCipher)."""
    if target.exists() and target.stat().st_size > 0 or not sqlite3.ENCRYPTION_AVAILABLE:
        return None
    return start_encrypted(target)[1]


def finish_encrypted(target: Path, path: Path, password: str) -> str | None:
    """After filling: convert a plain file that was filled in place, move a temporary file's keys
    file to the final name, and let the login screen show the demo password when it is the default."""
    code = convert_to_encrypted(target) if plain_with_accounts(target) else None
    keys = KeyFile.load(target)
    if keys is not None:
        keys.data["demo_hint"] = password == DEMO_PASSWORD
        keys.save()
        if target != path:
            os.replace(keys_path(target), keys_path(path))
            key = key_for(target)
            if key is not None:
                remember_key(path, key)
    return code


def _fill_demo(target: Path, path: Path, households: int, seed: int, progress: Progress | None,
               today: dt.date | None, password: str = DEMO_PASSWORD, encrypted: bool = True) -> str | None:
    code = begin_encrypted(target) if encrypted else None
    try:
        return _fill(target, path, households, seed, progress, today, password, encrypted) or code
    except BaseException:
        if code is not None:  # a demo that failed leaves no keys file of its own behind
            keys_path(target).unlink(missing_ok=True)
        raise


def _fill(target: Path, path: Path, households: int, seed: int, progress: Progress | None,
          today: dt.date | None, password: str, encrypted: bool) -> str | None:
    db = open_database(target)
    try:
        if db.scalar("SELECT count(*) FROM household"):
            raise KnownError(f"“{path}”中已有住户数据，演示数据只能生成到新的或空的数据库文件中。")
        if has_accounts(db):
            raise KnownError(f"“{path}”中已有账号，演示数据只能生成到新的或空的数据库文件中。")
        # A fresh file needs no write-ahead copy of every page: a rollback journal only records the
        # few pages that existed before, which halves the disk writes of a 700 MB demo.
        fresh = not db.scalar("SELECT count(*) FROM change_log")
        if fresh:
            with contextlib.suppress(sqlite3.OperationalError):  # another reader: keep WAL, just slower
                db.conn.execute("PRAGMA journal_mode = DELETE")
        try:
            generate(db, households, seed, progress, today, password)
        finally:
            if fresh:
                db.conn.execute("PRAGMA journal_mode = WAL")
        settle(db, target, path)
    finally:
        db.close()
    return finish_encrypted(target, path, password) if encrypted else None


def settle(db: Database, built: Path, final: Path) -> None:
    """After generating into `built` (to become `final`): fold the ops into the rows and claim the
    final path. A fresh demo has no other PC, so nothing waits (a new PC joins by snapshot): a
    23,000-resident demo is 51 MB instead of 128 MB with its 125,000 ops."""
    compact(db.conn, db.site_id, horizon_ms=0)
    if built != final:
        claim_final_path(db, built, final)


def claim_final_path(db: Database, built: Path, final: Path) -> None:
    """Before a file built under a temporary name is renamed: it belongs at its final path, so the
    first edit there does not take it for a copy, and a copy taken before that edit does."""
    claim_path_before_rename(db.conn, built, final)


def check_demo_file(part: Path) -> None:
    # mode=rw, not ro: the file is in WAL mode, and a read-only connection leaves the -wal and -shm
    # it made behind under the temporary name (a read-write one removes them when it closes).
    conn = sqlite3.connect(f"file:{part}?mode=rw", uri=True)
    key = key_for(part)
    try:
        if key is not None:
            sqlite3.apply_key(conn, key)
        ok = conn.execute("SELECT count(*) FROM household").fetchone()[0] > 0
    except sqlite3.Error:
        ok = False
    finally:
        conn.close()
    if not ok:
        raise KnownError("生成的演示数据库不完整，已删除。请重试。")

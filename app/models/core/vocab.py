"""Values as county ledgers write them, made into the names this program stores: the 56 official
ethnic groups, relations to the head of household, labour ability."""

from __future__ import annotations

import difflib
from enum import StrEnum


# Stored words with a fixed meaning in code. Each value is the exact text in the database (and
# in Excel and on paper), so a member compares equal to what a query returns.
class PersonStatus(StrEnum):
    REGISTERED = "在册"
    MOVED_OUT = "迁出"
    DECEASED = "死亡"


class HouseholdStatus(StrEnum):
    LIVING = "在住"
    MOVED_OUT = "迁出"
    CANCELLED = "注销"


class LabourAbility(StrEnum):
    FULL = "全"
    PARTIAL = "半"
    NONE = "无"


class CaseLevel(StrEnum):
    BUILDING = "楼栋"
    COMMUNITY = "社区"
    STREET = "街道"


class CaseStatus(StrEnum):
    RECEIVED = "受理"
    MEDIATING = "调解中"
    SETTLED = "已调解"
    FAILED = "调解不成"
    REFERRED = "已移交"
    FOLLOWED_UP = "已回访"
    CLOSED = "结案"


# The other closed lists of stored words, one definition each: the feature modules offer them in
# forms and imports, and the field rules every write and every sync op are checked against hold
# to them (core.field_rules reads them here, so the write path needs no feature module).
SEXES = ["男", "女"]
RISK_COLOURS = {"red": "红", "yellow": "黄", "green": "绿"}  # stored key → the colour's word
CERT_STATES = ["未办", "办理中", "已办"]  # 居住证 and 产权证
VISIT_KINDS = ("日访", "周访", "月访", "三必到", "四必访", "其他")
EMPLOYMENT_KINDS = ("外出务工", "就近就业", "公益性岗位", "灵活就业", "自主创业")
EMPLOYMENT_SUB_KINDS: dict[str, tuple[str, ...]] = {
    "外出务工": (),
    "就近就业": ("工业园区", "帮扶车间", "其他就近就业"),
    "公益性岗位": (),
    "灵活就业": ("零工市场", "其他灵活就业"),
    "自主创业": (),
}
TRAINING_KINDS = ("岗前", "技能提升", "创业")
INTENTION_KINDS = ("就业", "培训", "创业")
CASE_SOURCES = ["走访发现", "来访", "网格上报", "热线", "其他"]
FOLLOWUP_OUTCOMES = ["满意", "基本满意", "不满意"]

# GB 3304 order, except that the groups of this region's sites come right after 汉族.
ETHNICITIES: tuple[str, ...] = (
    "汉族", "苗族", "彝族", "布依族", "回族", "白族", "哈尼族", "壮族", "傣族", "侗族", "土家族", "水族",
    "仡佬族", "瑶族", "蒙古族", "藏族", "维吾尔族", "朝鲜族", "满族", "黎族", "傈僳族", "佤族", "畲族",
    "高山族", "拉祜族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族",
    "布朗族", "撒拉族", "毛南族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族",
    "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族",
    "赫哲族", "门巴族", "珞巴族", "基诺族", "哈萨克族",
)
_ETHNIC_SHORT = {e[:-1]: e for e in ETHNICITIES}
_ETHNIC_OTHER = {"穿青人": "其他", "其他": "其他", "其它": "其他", "外国血统": "其他"}


class VocabError(ValueError):
    """`problem` and `hint` in Chinese for the clerk."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


def ethnicity(text: str) -> str:
    """苗 / 苗族 / 苗 族 → 苗族; an unknown value raises VocabError naming the nearest official names."""
    t = "".join(str(text).split())
    if t in ETHNICITIES:
        return t
    if t in _ETHNIC_SHORT:
        return _ETHNIC_SHORT[t]
    if t.endswith("族") and t[:-1] in _ETHNIC_SHORT:
        return _ETHNIC_SHORT[t[:-1]]
    if t in _ETHNIC_OTHER:
        return _ETHNIC_OTHER[t]
    near = difflib.get_close_matches(t if t.endswith("族") else t + "族", ETHNICITIES, n=3, cutoff=0.4)
    near += [e for e in ETHNICITIES if t and t[0] in e and e not in near][: 3 - len(near)]
    hint = f"最接近的是：{'、'.join(near)}" if near else "应为 56 个民族之一，例如 汉族、苗族、彝族"
    raise VocabError(f"不认识的民族“{t}”", hint)


# Relation to the head as counties write it → the words of persons.RELATIONS.
RELATIONS: dict[str, str] = {
    "户主": "户主", "本人": "户主", "户主本人": "户主",
    "配偶": "配偶", "妻": "配偶", "妻子": "配偶", "夫": "配偶", "丈夫": "配偶", "之妻": "配偶", "之夫": "配偶",
    "子": "子", "儿子": "子", "之子": "子", "独子": "子", "养子": "子", "继子": "子",
    "女": "女", "女儿": "女", "之女": "女", "独女": "女", "养女": "女", "继女": "女",
    "儿媳": "儿媳", "媳妇": "儿媳", "儿媳妇": "儿媳", "女婿": "女婿",
    "孙子": "孙子", "孙女": "孙女", "外孙": "外孙子", "外孙子": "外孙子", "外孙女": "外孙女",
    "父亲": "父亲", "父": "父亲", "母亲": "母亲", "母": "母亲",
    "祖父": "祖父", "祖母": "祖母", "爷爷": "祖父", "奶奶": "祖母",
    "兄弟": "兄弟", "兄": "兄弟", "弟": "兄弟", "哥哥": "兄弟", "弟弟": "兄弟",
    "姐妹": "姐妹", "姐": "姐妹", "妹": "姐妹", "姐姐": "姐妹", "妹妹": "姐妹",
    "其他": "其他", "其它": "其他",
}
_ORDINALS = "长次三四五六七八九十幺老小大二"


def relation(text: str) -> str:
    """妻 → 配偶, 长子/次子/三子 → 子, 长女 → 女, 孙子/孙女 kept; unknown words are kept as written."""
    t = "".join(str(text).split())
    if t in RELATIONS:
        return RELATIONS[t]
    if len(t) >= 2 and t[0] in _ORDINALS:
        rest = t[1:].lstrip("儿")
        if rest in RELATIONS:
            return RELATIONS[rest]
    for prefix in ("之", "户主之", "户主的"):
        if t.startswith(prefix) and t[len(prefix):] in RELATIONS:
            return RELATIONS[t[len(prefix):]]
    if t.startswith(("孙", "曾孙")):
        return "孙女" if t.endswith("女") else "孙子"
    if t.startswith("外孙"):
        return "外孙女" if t.endswith("女") else "外孙子"
    return t


def is_head(text: str | None) -> bool:
    return bool(text) and relation(str(text)) == "户主"

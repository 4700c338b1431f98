"""Pinyin of names for search: full spelling and initials, with surname readings fixed.

pypinyin's default readings are wrong for several surnames (单 Shan, 曾 Zeng, 解 Xie …), so the
first character of a name is read as a surname when it is one of those.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# Surnames whose ordinary reading differs from the surname reading.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha", "乐": "yue",
    "翟": "zhai", "覃": "qin", "朴": "piao", "尉": "yu", "秘": "bi", "缪": "miao", "种": "chong",
    "盖": "ge", "繁": "po", "员": "yun", "万俟": "moqi", "尉迟": "yuchi", "长孙": "zhangsun",
    "沈": "shen", "任": "ren", "华": "hua", "葛": "ge", "折": "she", "阚": "kan", "么": "yao",
    "黑": "he", "宓": "mi", "禚": "zhuo", "隗": "wei", "召": "shao", "能": "nai", "句": "gou",
}


def _keep_as_is(text: str) -> str:
    """Characters pypinyin has no reading for (digits, Latin) kept one syllable each.

    pypinyin splits a returned list into syllables; its type stub only admits str."""
    return list(text)  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> tuple[str, str]:
    """(full pinyin without spaces, initials), both lower case: 周艳 → ("zhouyan", "zy")."""
    name = (name or "").strip()
    if not name:
        return "", ""
    head, rest = "", name
    for length in (2, 1):
        reading = SURNAME_READINGS.get(name[:length])
        if reading and len(name) > length:
            head, rest = reading, name[length:]
            break
    syllables = ([head] if head else []) + lazy_pinyin(rest, style=Style.NORMAL, errors=_keep_as_is)
    if head and len(name[: len(name) - len(rest)]) == 2:
        # two-character surname: initials of both characters
        initials_head = "".join(p[0] for p in lazy_pinyin(name[:2]))
        syllables_initials = [initials_head] + [s[:1] for s in syllables[1:]]
    else:
        syllables_initials = [s[:1] for s in syllables]
    full = "".join(syllables).lower()
    initials = "".join(syllables_initials).lower()
    return full, initials

"""Picture signs (图标) for buildings and units, so residents who cannot read find their way home.

Each key has an SVG drawn for this project at ``resources/signs/<key>.svg``.
"""

from __future__ import annotations

# key → Chinese name, in the order offered to a clerk.
SIGNS: dict[str, str] = {
    "apple": "苹果",
    "banana": "香蕉",
    "pear": "梨",
    "grape": "葡萄",
    "watermelon": "西瓜",
    "strawberry": "草莓",
    "orange": "橙子",
    "peach": "桃子",
    "deer": "鹿",
    "fish": "鱼",
    "bird": "小鸟",
    "rabbit": "兔子",
    "cat": "猫",
    "horse": "马",
    "butterfly": "蝴蝶",
    "sun": "太阳",
    "star": "星星",
    "moon": "月亮",
    "flower": "花",
    "tree": "树",
    "umbrella": "雨伞",
    "house": "房子",
    "boat": "小船",
    "bell": "铃铛",
}


def sign_name(key: str | None) -> str:
    return SIGNS.get(key or "", "")

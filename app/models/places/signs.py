"""Picture signs (图标) for buildings and units, so residents who cannot read find their way home.

Each key has an SVG drawn for this project at ``resources/signs/<key>.svg``; "<key>/<background>"
is the same drawing on a coloured disc (see BACKGROUNDS).
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


# Backgrounds that make one drawing into several signs ("蓝底苹果"), so a community with more
# buildings than drawings still gives every building a sign of its own: key "apple/blue".
BACKGROUNDS: dict[str, tuple[str, str]] = {
    "red": ("红底", "#f4a6a6"),
    "blue": ("蓝底", "#9cc3f5"),
    "green": ("绿底", "#a8e0b0"),
    "yellow": ("黄底", "#f7dc6f"),
    "purple": ("紫底", "#c9b3f0"),
}


def split(key: str | None) -> tuple[str, str | None]:
    """("apple", "blue") for "apple/blue"; ("apple", None) for a plain sign."""
    base, _, background = (key or "").partition("/")
    return base, background or None


def is_sign(key: str | None) -> bool:
    base, background = split(key)
    return base in SIGNS and (background is None or background in BACKGROUNDS)


def all_signs() -> list[str]:
    """Every sign, plain drawings first, then each drawing on each background."""
    return [*SIGNS, *(f"{base}/{bg}" for bg in BACKGROUNDS for base in SIGNS)]


def sign_name(key: str | None) -> str:
    base, background = split(key)
    name = SIGNS.get(base, "")
    if name and background in BACKGROUNDS:
        return BACKGROUNDS[background][0] + name
    return name

"""Resident ID numbers (GB 11643-1999): check digit, birth date, sex, 15→18 conversion.

Written here rather than taken from a library: the rule is short, and the libraries on PyPI
for it are unmaintained or pull in region-code tables we do not need.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from dataclasses import dataclass

from app.models.core import masking

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_ID15 = re.compile(r"^\d{15}$", re.ASCII)


_ZERO = ord("0") * sum(_WEIGHTS)


def check_digit(first17: str) -> str:
    # On the ASCII codes in C (map/mul) rather than int() per character: imports and a first sync
    # check every resident's number, and this was half of parse().
    digits = first17.encode("ascii", "replace")
    if len(digits) != 17 or not digits.isdigit():
        raise ValueError(f"not 17 digits: {first17!r}")
    return _CHECK[(sum(map(operator.mul, digits, _WEIGHTS)) - _ZERO) % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str  # normalised 18-character form
    birth_date: dt.date
    sex: str  # 男 / 女
    converted_from_15: bool = False


class IdNumberError(ValueError):
    """`str()` is a Chinese message for the clerk."""


class CheckDigitError(IdNumberError):
    """Everything is plausible except the check digit: may be saved marked 待核实."""


_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")  # built once: imports call this per row


def normalise(raw: str) -> str:
    """Strip spaces, a leading apostrophe (Excel's text marker) and full-width digits; upper-case X."""
    text = (raw or "").strip().lstrip("'").strip()
    text = text.translate(_FULL_WIDTH)
    return text.replace(" ", "").upper()


def parse(raw: str, *, today: dt.date | None = None, allow_bad_check_digit: bool = False) -> IdInfo:
    """Validate and normalise an ID number; raises :class:`IdNumberError` saying what is wrong.

    ``allow_bad_check_digit``: a number whose only fault is its last digit is returned as typed
    (a paper record with a slip, kept 待核实 until someone checks the card).
    """
    number = normalise(raw)
    converted = False
    if _ID15.match(number):
        body = number[:6] + "19" + number[6:]
        number = body + check_digit(body)
        converted = True
    elif len(number) != 18:
        raise IdNumberError(f"身份证号应为 18 位（现在是 {len(number)} 位）。")
    elif not _ID18.match(number):
        raise IdNumberError("身份证号前 17 位只能是数字，最后一位是数字或 X。")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(f"身份证号中的出生日期 {number[6:14]} 不是有效日期。") from None
    today = today or dt.date.today()
    if birth > today:
        raise IdNumberError(f"身份证号中的出生日期 {birth.isoformat()} 在今天之后。")
    if birth.year < 1880:
        raise IdNumberError(f"身份证号中的出生年份 {birth.year} 不合理。")
    expected = check_digit(number[:17])
    if not converted and number[17] != expected and not allow_bad_check_digit:
        raise CheckDigitError(f"身份证号校验位错误：最后一位应为 {expected}，请核对是否输错。")
    sex = "男" if int(number[16]) % 2 == 1 else "女"
    return IdInfo(number, birth, sex, converted)


def make(region: str, birth: dt.date, sequence: int, sex: str) -> str:
    """Build a valid 18-character number (demo data and tests). `sequence` is 0..499."""
    order = sequence * 2 + (1 if sex == "男" else 0)
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + check_digit(first17)


def mask(number: str | None) -> str:
    """First 6 and last 4 kept: what may leave the office (the policy is app.models.core.masking's)."""
    return masking.id_number(number)

"""The one masking policy of every masked output: ID numbers, phones, birth dates and free text.

What a masked document (a ledger or list exported 脱敏, a printed form with masked ID numbers)
may carry, and why it cannot be undone:

- **ID number**: the first 6 digits (the region) and the last 4 (two sequence digits, the sex
  digit, the check digit) are kept: 522401********1234. The 8 hidden digits are exactly the
  birth date (YYYYMMDD). The check digit ties them to the rest by one sum modulo 11, so it
  removes about 10 of every 11 dates, no more.
- **Birth date and age are left out** of a masked document (the columns are dropped, not
  blanked). Why not the year, or the age? Each is safe alone: a year leaves 365 dates, of which
  at least 32 pass the check digit in every year 1900–2029 (counted in the tests); an exact age
  on the export day leaves a 365-day window, about as many. But a masked document is often a
  list chosen by an age rule on its export day (the labour force is 16–60 years old on that
  day): with the year shown, someone born in the year they turned 60 is in the list only if
  born after the export day's month and day, so an export in December leaves a few dates in
  late December of that year, and the check digit often leaves one: the whole number. An
  exact age has the same trouble across two documents of different days. With neither, a row
  of an age-chosen list still spans the rule's 45 years of dates.
- **Phone**: 11-digit mobiles keep the first 3 and the last 4 (138****1234); any other number
  (a landline) keeps only its last 4 digits.
- **Free text** (notes, findings, agreements, file names in the audit …) is scanned, and every
  ID number (18 or 15 digits with a plausible birth date) and mobile number found in it is
  masked the same way, full-width digits included. This is a safety net for what a clerk typed;
  the columns themselves are masked by their kind.

The masking is one-way: nothing derived from the hidden digits (a birth-date column, an exact
age, the whole number in a hidden column, a comment, a file name or document properties) is
written beside a masked number. Left for the reader of several documents: two masked lists of
different days can still be compared (someone who joins the labour-force list between them was
born between those days); each single document gives back nothing.
"""

from __future__ import annotations

import re

ID_KEEP_HEAD, ID_KEEP_TAIL = 6, 4
PHONE_KEEP_HEAD, PHONE_KEEP_TAIL = 3, 4
MASK = "*"
# Why someone needs a whole number: on screen (reveal) or in a file (a full export). Audited.
FULL_REASONS = ("办理业务核对身份", "开具证明", "数据核查", "其他")

_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
_DATE8 = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# An ID number inside text: not part of a longer run of digits or letters.
_ID18 = re.compile(rf"(?<![0-9A-Za-z])(\d{{6}})({_DATE8})(\d{{3}}[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(rf"(?<![0-9A-Za-z])(\d{{6}})({_DATE6})(\d{{3}})(?![0-9A-Za-z])")
# A mainland mobile number, also written 138-1234-5678 or 138 1234 5678 (+86 in front or not).
_MOBILE = re.compile(r"(?<![0-9])(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9])")
# Whether a text can hold an ID or a mobile number at all: 11 digits, with the separators a
# phone may be written with (a 15- or 18-digit number holds such a run too).
_ELEVEN_DIGITS = re.compile(r"[0-9０-９](?:[- ]?[0-9０-９]){10}")
_FULL_WIDTH_DIGIT = re.compile(r"[０-９]")
_MOBILE_WHOLE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")


def id_number(value: str | None) -> str:
    """522401********1234: the region and the last 4 kept, the birth date hidden."""
    if not value:
        return ""
    text = str(value)
    # An old 15-digit number holds the birth date as YYMMDD in digits 7–12: keep its last 3 only.
    tail = 3 if len(text) == 15 else ID_KEEP_TAIL
    if len(text) <= ID_KEEP_HEAD + tail:
        return MASK * len(text)  # not an ID number we know: hide it whole
    return text[:ID_KEEP_HEAD] + MASK * (len(text) - ID_KEEP_HEAD - tail) + text[-tail:]


def phone(value: str | None) -> str:
    """138****1234 for a mobile; the last 4 digits of anything else (0870-****3456 → ****3456)."""
    if not value:
        return ""
    if len(value) == 11 and value.isascii() and value.isdigit() and value[0] == "1":
        return value[:PHONE_KEEP_HEAD] + MASK * 4 + value[-PHONE_KEEP_TAIL:]  # the usual form, fast
    text = str(value).strip().translate(_FULL_WIDTH)
    digits = re.sub(r"\D", "", text)
    if _MOBILE_WHOLE.match(re.sub(r"[- ]", "", text)):
        digits = digits[-11:]
        return digits[:PHONE_KEEP_HEAD] + MASK * 4 + digits[-PHONE_KEEP_TAIL:]
    if len(digits) <= PHONE_KEEP_TAIL:
        return MASK * len(digits)
    return MASK * 4 + digits[-PHONE_KEEP_TAIL:]


def text(value: str | None) -> str:
    """Free text with every ID number and mobile number in it masked (the rest unchanged)."""
    if not value:
        return "" if value is None else str(value)
    value = str(value)
    if len(value) < 11 or _ELEVEN_DIGITS.search(value) is None:
        return value  # the common case, and the fast one: no run of 11 digits, nothing to mask
    if _FULL_WIDTH_DIGIT.search(value):
        value = value.translate(_FULL_WIDTH)
    value = _ID18.sub(lambda m: id_number(m.group(0)), value)
    value = _ID15.sub(lambda m: id_number(m.group(0)), value)
    return _MOBILE.sub(lambda m: m.group(1) + MASK * 4 + m.group(3), value)


def describe() -> str:
    """The policy in one line of Chinese, for title rows, notices and help."""
    return "身份证号只保留前 6 位和后 4 位，电话只保留前 3 位和后 4 位，不含出生日期和年龄"

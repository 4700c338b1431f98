"""Reading dates the many ways people write them: real dates, Excel serials, and text forms.

The one parser for import and for every date a clerk types in a dialog."""

from __future__ import annotations

import datetime as dt
import re

# Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is accounted for (serial 60).
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SEP = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MIN_SERIAL, _MAX_SERIAL = 1, 2958465  # 1900-01-01 .. 9999-12-31


class DateError(ValueError):
    """`str()` is a Chinese message saying what would be right."""


HINT = "应为日期，例如 2024-03-05、2024/3/5、2024.3.5、2024年3月5日 或 20240305"


def from_serial(serial: float) -> dt.date:
    if not (_MIN_SERIAL <= serial <= _MAX_SERIAL):
        raise DateError(f"数字 {serial:g} 不是合理的 Excel 日期序号；{HINT}。")
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def parse_date(value: object) -> dt.date | None:
    """A date from a cell value (None for an empty cell); raises :class:`DateError`."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise DateError(f"“{value}”不是日期；{HINT}。")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            # A date-time serial: the day part is the date.
            return from_serial(value)
        n = int(value)
        if 19000101 <= n <= 99991231:
            return _compact(str(n))
        return from_serial(n)
    text = str(value).strip().lstrip("'").strip()
    if not text:
        return None
    text = text.translate(str.maketrans("０１２３４５６７８９－／．", "0123456789-/."))
    # "2024-03-05 00:00:00" from a date-time cell saved as text: keep the date part.
    if " " in text and _SEP.match(text.split(" ", 1)[0]):
        text = text.split(" ", 1)[0]
    m = _SEP.match(text)
    if m:
        return _build(text, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if _COMPACT.match(text):
        return _compact(text)
    raise DateError(f"“{text}”不是可识别的日期；{HINT}。")


def _compact(text: str) -> dt.date:
    return _build(text, int(text[:4]), int(text[4:6]), int(text[6:8]))


def _build(text: str, y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise DateError(f"“{text}”不是有效日期（没有 {y} 年 {m} 月 {d} 日）；{HINT}。") from None


def entered_date(value: object, label: str, field: str | None = None) -> dt.date | None:
    """A date typed in a dialog (any form :func:`parse_date` reads); ValidationError naming the field."""
    from app.models.core.errors import ValidationError

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value.strip()):
        value = value.strip()[:10]  # an ISO date-time: the date part
    try:
        return parse_date(value)
    except DateError as exc:
        raise ValidationError(f"{label}：{str(exc).split('；')[0]}；{HINT}。", field=field) from None


def entered_iso_date(value: object, label: str, *, field: str | None = None, required: bool = False) -> str | None:
    """'YYYY-MM-DD' from a date typed in a dialog (any form :func:`entered_date` reads); empty → None,
    or ValidationError asking for it when `required`."""
    from app.models.core.errors import ValidationError

    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"请填写{label}。", field=field)
        return None
    day = entered_date(value, label, field)
    return None if day is None else day.isoformat()

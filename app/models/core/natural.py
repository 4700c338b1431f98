"""Natural order for place names: 2栋 before 10栋, 1单元 before 12单元, as a clerk reads them."""

from __future__ import annotations

import re

_PARTS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple[tuple[int, int | str], ...]:
    """A sort key where runs of digits compare as numbers ("2栋" < "10栋" < "10栋A")."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PARTS.split(text or "") if p)


def natural_compare(a: str, b: str) -> int:
    """SQLite collation ``natural`` (registered on every connection): ``ORDER BY name COLLATE natsort``."""
    ka, kb = natural_key(a), natural_key(b)
    return (ka > kb) - (ka < kb)


def natural_sorted(names: list[str]) -> list[str]:
    return sorted(names, key=natural_key)

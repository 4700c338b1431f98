"""When an employment intention (需求) is open: the one definition lists, figures and writes share.

An intention is open until it is closed with a date; imports from older ledgers may have stored an
empty text instead of no date, which counts as open too.
"""

from __future__ import annotations


def open_sql(alias: str = "i") -> str:
    """Condition over intention `alias` (or "" for the bare table): not closed yet."""
    col = f"{alias}.closed_date" if alias else "closed_date"
    return f"({col} IS NULL OR {col} = '')"


def closed_sql(alias: str = "i") -> str:
    """Condition over intention `alias`: closed (met) on a date."""
    col = f"{alias}.closed_date" if alias else "closed_date"
    return f"({col} IS NOT NULL AND {col} <> '')"


def is_open(closed_date: object) -> bool:
    """The same rule for a row already read: no closing date (or an empty one)."""
    return closed_date is None or closed_date == ""

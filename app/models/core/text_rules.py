"""Rules for text from clerks and files: invisible control characters, and length limits per field."""

from __future__ import annotations

import re

# Excel refuses (and XlsxWriter cuts) a cell longer than this.
EXCEL_CELL_LIMIT = 32_767
# Length limits, in characters, stated in every message that enforces them.
NAME_LIMIT = 30  # a person's, a household head's name
SHORT_LIMIT = 100  # places, vocabularies, addresses, titles: one line of a form
NOTE_LIMIT = 2_000  # free notes: half a printed page, far below Excel's cell limit

# Field keys (as used by every ledger) of names and of free text; every other text field is short.
NAME_KEYS = frozenset({"name", "head_name", "visitor_name", "outsider_name", "mediators"})
LONG_TEXT_KEYS = frozenset({
    "notes", "note", "detail", "description", "findings", "problems", "follow_up_note", "agreement_text",
    "content", "reason",
})


def limit_of(key: str | None) -> int:
    """The length limit of a field by its key: names short, free text long, the rest one line."""
    if key in NAME_KEYS:
        return NAME_LIMIT
    if key in LONG_TEXT_KEYS:
        return NOTE_LIMIT
    return SHORT_LIMIT


# C0 (but tab, line feed, carriage return: see allowed), DEL, C1; the bidi embeddings, overrides
# and isolates that reorder what a terminal or a list shows; zero-width characters, word joiner and
# invisible operators that hide text; the line and paragraph separators; the byte order mark.
CONTROL_CLASS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
_CONTROL_CLASS = CONTROL_CLASS
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
_CONTROL_OR_LINE = re.compile(f"[{_CONTROL_CLASS}\t\n\r]")


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def show_char(ch: str) -> str:
    """A control character as readable text: \\x1b, \\u202e."""
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep: str = "") -> str:
    """`text` with every control character (tab and line breaks too, unless kept) shown escaped,
    so data can never move the cursor, clear a terminal, recolour it or reorder a line."""
    pattern = _CONTROL_OR_LINE
    if keep:
        extra = "".join(c for c in "\t\n\r" if c not in keep)
        pattern = re.compile(f"[{_CONTROL_CLASS}{re.escape(extra)}]") if extra else _CONTROL
    return pattern.sub(lambda m: show_char(m.group()), text)


def control_chars(text: str, *, allow_lines: bool = False) -> list[str]:
    """The control characters in `text` (tab and line breaks count unless `allow_lines`)."""
    return (_CONTROL if allow_lines else _CONTROL_OR_LINE).findall(text)


def control_problem(text: str, label: str, *, allow_lines: bool = False) -> str | None:
    """A Chinese message when `text` holds control characters, else None."""
    found = control_chars(text, allow_lines=allow_lines)
    if not found:
        return None
    shown = "、".join(dict.fromkeys(show_char(c) for c in found[:5]))
    return f"{label}含有不可见的控制字符（{shown}）"


def length_problem(text: str, label: str, limit: int) -> str | None:
    """A Chinese message stating the limit when `text` is longer, else None."""
    if len(text) <= limit:
        return None
    return f"{label}太长：最多 {limit} 个字，现在有 {len(text)} 个"

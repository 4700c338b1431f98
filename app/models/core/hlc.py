"""Hybrid logical clock: orders edits across PCs even when their wall clocks disagree."""

from __future__ import annotations

import time
from dataclasses import dataclass

# Text form "<13-digit ms>-<5-digit counter>" sorts the same as the clock itself.
_MS_WIDTH = 13
_COUNTER_WIDTH = 5


@dataclass(frozen=True, order=True)
class Hlc:
    ms: int
    counter: int = 0

    def __str__(self) -> str:
        return f"{self.ms:0{_MS_WIDTH}d}-{self.counter:0{_COUNTER_WIDTH}d}"

    @classmethod
    def parse(cls, text: str) -> Hlc:
        ms, _, counter = text.partition("-")
        return cls(int(ms), int(counter or 0))


def wall_ms() -> int:
    return int(time.time() * 1000)


def tick(last: Hlc | None, now_ms: int | None = None) -> Hlc:
    """The next local clock value: never below `last`, even when the wall clock went back."""
    now = wall_ms() if now_ms is None else now_ms
    if last is None or now > last.ms:
        return Hlc(now, 0)
    return Hlc(last.ms, last.counter + 1)


def observe(last: Hlc | None, remote: Hlc, now_ms: int | None = None) -> Hlc:
    """The clock after receiving `remote`: above both, so later local edits win over it."""
    now = wall_ms() if now_ms is None else now_ms
    top = max(x for x in (last, remote, Hlc(now, -1)) if x is not None)
    if top.ms == now and (last is None or last.ms < now) and remote.ms < now:
        return Hlc(now, 0)
    return Hlc(top.ms, top.counter + 1)

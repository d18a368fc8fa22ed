"""Progress of a long operator command: a count, a percentage and an estimate.

    120/1000 (12%), about 35s left

The estimate assumes the rest goes at the average pace so far; it is printed only
once something is done. The clock is injectable so that tests need no waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def duration_text(seconds: float) -> str:
    """``<1s``, ``42s``, ``3m 05s``, ``1h 02m``."""
    if seconds < 1:
        return "<1s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class Progress:
    """Counts ``done`` out of ``total`` since it was made and estimates the rest."""

    def __init__(self, total: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(0, total)
        self.clock = clock
        self.started = clock()

    def remaining_seconds(self, done: int) -> float | None:
        if done <= 0 or self.total <= 0:
            return None
        elapsed = self.clock() - self.started
        return elapsed / done * max(0, self.total - done)

    def text(self, done: int) -> str:
        total = max(self.total, done)
        percent = 100 * done // total if total else 100
        line = f"{done}/{total} ({percent}%)"
        remaining = self.remaining_seconds(done)
        if done >= total:
            return f"{line}, done in {duration_text(self.clock() - self.started)}"
        if remaining is not None:
            line += f", about {duration_text(remaining)} left"
        return line

"""A clock for the timing tests: it moves only when told to."""

from __future__ import annotations


class VirtualClock:
    """A clock that moves only when told to, plus a microsecond per reading (so that a loop that reads it
    until it changes ends)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

"""The host's load during a timing pass: how much of a core the measuring process got.

A single-threaded benchmark process that is never kept waiting runs its CPU time at the wall clock's
pace: CPU time over wall time (its *CPU share*) is close to 1. When other work on the machine holds the
cores, the process waits in the run queue and its share falls; on a virtual machine time stolen by the
hypervisor does the same. ``os.times`` gives the CPU time of the process and of the child processes it
waited for on every system Python runs on, so the share needs no /proc. Thread-CPU-time clocks
(suite.bench.measure.timer_for) keep most of the waiting out of the samples, but caches and memory
bandwidth are shared too, so a run whose share fell below HEAVY_SHARE says so in its summary and its
records (``cpu_share``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

# A pass whose process got less than this share of a core ran under heavy load.
HEAVY_SHARE = 0.8
# Passes shorter than this say little about the load (start-up, a few cases).
MIN_PASS_S = 1.0


@dataclass(frozen=True)
class Reading:
    wall_s: float
    cpu_s: float


def read() -> Reading:
    """Wall time now, and CPU time so far of this process and the children it has waited for."""
    t = os.times()
    return Reading(time.monotonic(), t.user + t.system + t.children_user + t.children_system)


@dataclass(frozen=True)
class PassLoad:
    """One timing pass: its number, wall seconds and the CPU share its process (or child) got."""

    number: int
    wall_s: float
    cpu_share: float | None

    @property
    def heavy(self) -> bool:
        return self.cpu_share is not None and self.cpu_share < HEAVY_SHARE


def between(number: int, start: Reading, end: Reading) -> PassLoad:
    wall = end.wall_s - start.wall_s
    share = min(1.0, (end.cpu_s - start.cpu_s) / wall) if wall >= MIN_PASS_S else None
    return PassLoad(number, wall, None if share is None else round(share, 3))


class Meter:
    """Measures each pass with `reader` (read: real clocks; a test passes a fake one)."""

    def __init__(self, reader: Callable[[], Reading] | None = None):
        self.reader = reader or read
        self.passes: list[PassLoad] = []
        self._start: tuple[int, Reading] | None = None

    def start(self, number: int) -> None:
        self._start = (number, self.reader())

    def stop(self) -> PassLoad | None:
        if self._start is None:
            return None
        number, start = self._start
        self._start = None
        measured = between(number, start, self.reader())
        self.passes.append(measured)
        return measured

    def lowest_share(self) -> float | None:
        shares = [p.cpu_share for p in self.passes if p.cpu_share is not None]
        return min(shares) if shares else None

    def warning(self) -> str | None:
        """One line when a pass ran under heavy load, else None."""
        heavy = [p for p in self.passes if p.heavy]
        if not heavy:
            return None
        worst = min(heavy, key=lambda p: p.cpu_share)
        return (f"heavy load: in {len(heavy)} of {len(self.passes)} timing passes the run got less than "
                f"{HEAVY_SHARE:.0%} of a core (lowest {worst.cpu_share:.0%}, pass {worst.number}); other work "
                "on the machine shared its cores, so its timings may be slower and noisier than on a quiet host")

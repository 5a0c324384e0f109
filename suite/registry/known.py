"""Known deviations: where torch disagrees with the reference, declared once, scoped to where it occurs.

A `Known` names the check it concerns (an fnmatch pattern: "icdf", "rsample.*", "kl"), the dtype, device
and mode where it applies, and the region of the check's elements (parameter sets and points) where it
occurs. The mode is EAGER (the default) for the checks against a reference, an execution mode ("vmap*",
"compile", ...) for the checks of that mode against eager (suite.registry.modes): neither kind applies to
the other's checks. `suite.verdict.judge` turns a check's result and the Known entries that apply into the one verdict:
errors outside every region fail the run; a region where the deviation no longer occurs fails it too on
the torch release it was measured on (a strict xfail). `suite.report.findings` writes them to FINDINGS.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import torch

# The torch release the known deviations were measured on: there they are strict xfails; on other
# releases they are expected failures that may pass (torch may have fixed or changed them).
DEVIATIONS_MEASURED_ON = "2.13"
DEVIATIONS_STRICT = torch.__version__.startswith(DEVIATIONS_MEASURED_ON + ".")
EAGER = "eager"


class Severity(enum.IntEnum):
    """FINDINGS.md groups by these, most severe first."""

    RAISES = 1          # a method raises, returns the wrong type or shape, or cannot be differentiated
    WRONG_FLOAT64 = 2   # wrong values in float64
    NONFINITE = 3       # NaN or an infinity where a finite value is due (or the reverse)
    FLOAT32 = 4         # float32 precision beyond the documented tolerance
    CONVENTION = 5      # a documented or defensible convention that differs from the reference

    @property
    def title(self) -> str:
        return {1: "Raises, or the wrong type or shape", 2: "Wrong values in float64",
                3: "NaN or infinity where a value is due", 4: "float32 precision",
                5: "Convention differences"}[self.value]


# A region receives the coordinates of a check's elements, each broadcast to the element grid:
# the parameters by name, and "at" for the points (quantiles, values) where the check has them.
Region = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Known:
    check: str | tuple[str, ...]  # fnmatch patterns of the checks one torch defect shows up in
    what: str
    severity: Severity
    dtype: str = "*"
    device: str = "*"
    mode: str = EAGER
    region: Region | None = None
    where: str = "every parameter set"
    points: Mapping[str, Sequence] | None = None
    upstream: str = ""

    def applies(self, check: str, dtype: str = "float64", device: str = "cpu", mode: str = EAGER) -> bool:
        return (any(fnmatchcase(check, pattern) for pattern in self.checks) and fnmatchcase(dtype, self.dtype)
                and fnmatchcase(device, self.device) and fnmatchcase(mode, self.mode))

    @property
    def checks(self) -> tuple[str, ...]:
        return (self.check,) if isinstance(self.check, str) else self.check

    def inside(self, coords: Mapping[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """The elements of a grid of `shape` inside this deviation's region (all of them without one)."""
        if self.region is None:
            return np.ones(shape, dtype=bool)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(self.region(coords), dtype=bool), shape)


def matching(known: Iterable[Known], check: str, dtype: str = "float64", device: str = "cpu",
             mode: str = EAGER) -> tuple[Known, ...]:
    return tuple(k for k in known if k.applies(check, dtype, device, mode))


def pin_rows(params: dict, known: Iterable[Known]) -> dict:
    """`params` (a random draw) with its leading rows replaced by the deterministic parameter sets of every
    region, so every seed reaches every pinned region; parameters a region does not name keep their draw."""
    pinned = [k.points for k in known if k.points]
    out = {name: value if isinstance(value, int) else np.array(value, dtype=np.float64, copy=True)
           for name, value in params.items()}
    row = 0
    for points in pinned:
        count = len(next(iter(points.values())))
        for name, values in points.items():
            out[name][row:row + count] = np.asarray(values, dtype=np.float64)
        row += count
    return out

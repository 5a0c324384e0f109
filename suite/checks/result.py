"""The one result type every check returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CheckResult:
    """What a check found: whether it passed, how many elements it compared and how many failed, the worst
    element, and, for element-wise checks, the grid of elements (`ok`) with their coordinates (`coords`:
    parameters by name and "at" for points, each broadcastable to `ok`), so that a known deviation can be
    scoped to a region of it."""

    check: str
    family: str
    dtype: str = "float64"
    passed: bool = True
    compared: int = 0
    failures: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst: dict = field(default_factory=dict)
    message: str = ""
    details: list[str] = field(default_factory=list, repr=False)  # each failure, for checks that list them
    ok: np.ndarray | None = field(default=None, repr=False)
    coords: dict = field(default_factory=dict, repr=False)
    pvalue: float | None = None  # statistical checks: the check's p-value, which `passed` compares with its alpha

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        head = "PASS" if self.passed else "FAIL"
        text = f"{head} {self.family}.{self.check} [{self.dtype}]: {self.failures}/{self.compared} failing"
        if self.max_abs_error or self.max_rel_error:
            text += f", max abs err {self.max_abs_error:.3g}, max rel err {self.max_rel_error:.3g}"
        if self.worst:
            text += f"; worst at {self.worst}"
        return text + (f"; {self.message}" if self.message else "")


def failed(check: str, family: str, dtype: str, message: str) -> CheckResult:
    """A check that could not compare anything: torch raised, or a shape or type is wrong."""
    return CheckResult(check, family, dtype, passed=False, message=message)


def guarded(run: Callable[[], CheckResult], check: str, family: str, dtype: str) -> CheckResult:
    """The check's result, or a failed result saying what torch raised."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001 - any exception from torch is what the check reports
        return failed(check, family, dtype, f"raises {type(error).__name__}: {str(error)[:200]}")

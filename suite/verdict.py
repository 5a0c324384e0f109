"""The one place a check's result and the known deviations that apply to it become a verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from suite.checks.result import CheckResult
from suite.registry.known import DEVIATIONS_MEASURED_ON, DEVIATIONS_STRICT, Known

PASS, FAIL, XFAIL = "pass", "fail", "xfail"


@dataclass(frozen=True)
class Verdict:
    status: str
    message: str


def _coords_of(result: CheckResult, mask: np.ndarray, limit: int = 3) -> str:
    where = np.argwhere(mask)[:limit]
    rows = []
    for index in where:
        row = {}
        for name, value in result.coords.items():
            value = np.broadcast_to(np.asarray(value), mask.shape)
            row[name] = float(np.round(value[tuple(index)], 8))
        rows.append(row)
    return "; ".join(map(str, rows))


def judge(result: CheckResult, known: Sequence[Known], strict: bool = DEVIATIONS_STRICT) -> Verdict:
    """pass, fail or xfail. A failure outside every known region fails; a known region where the deviation
    no longer occurs fails where deviations are strict (the torch release they were measured on)."""
    if not known:
        return Verdict(PASS if result.passed else FAIL, result.summary())
    if result.ok is None:
        if any(k.region is not None for k in known):
            raise ValueError(f"{result.family}.{result.check}: a known deviation with a region needs an "
                             "element-wise result")
        if result.passed:
            return _gone(known, result, strict)
        return Verdict(XFAIL, " | ".join(k.what for k in known))
    bad = ~np.asarray(result.ok, dtype=bool)
    insides = [k.inside(result.coords, bad.shape) for k in known]
    outside = bad & ~np.logical_or.reduce(insides)
    if outside.any():
        return Verdict(FAIL, f"{int(outside.sum())} failing elements outside every known deviation's region, "
                             f"e.g. {_coords_of(result, outside)}; {result.summary()}")
    gone = [k for k, inside in zip(known, insides) if not (bad & inside).any()]
    if gone:
        return _gone(gone, result, strict)
    return Verdict(XFAIL, " | ".join(f"{k.what} ({k.where})" for k in known))


def _gone(known: Sequence[Known], result: CheckResult, strict: bool) -> Verdict:
    text = (f"known deviation did not occur in its region (measured on torch {DEVIATIONS_MEASURED_ON}): "
            + " | ".join(f"{k.what} ({k.where})" for k in known))
    return Verdict(FAIL if strict else PASS, text + "; " + result.summary())

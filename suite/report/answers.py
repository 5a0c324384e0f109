"""The three answers, computed from records: the report's front page (one environment) and the lines at the end of
`pytest --benchmark` (suite.bench.answers) both format these.

1. Which training strategies are correct, and what does each cost against rebuilding the distribution every
   step (validation off and on)?
2. Which Jacobian method is fastest at each (N, d), with its time and peak memory; and at each N, which is
   fastest in most configurations measured?
3. How many torch findings are there, by severity (from FINDINGS.md's writer); how many measured results were
   wrong?
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from suite.bench.results import Record

from .fmt import verdict_passes
from .model import TOTAL_PHASES, geometric_mean

BASELINE_STRATEGY = "rebuild_per_step"
BASELINE_JACOBIAN = "loop"
# The analytic score is the reference the Jacobian methods are checked against, not a generic method.
REFERENCE_JACOBIAN = "analytic"


def _whole(records: Sequence[Record], group: str) -> list[Record]:
    return [r for r in records if r.group == group and r.phase in TOTAL_PHASES]


def _config(record: Record, *without: str) -> tuple:
    fields = ("family", "device", "dtype", "size", "dim", "validate", "compiled", "method")
    return tuple(getattr(record, f) for f in fields if f not in without)


def is_unsettled(record: Record) -> bool:
    return "unsettled" in (record.error or "")


@dataclass(frozen=True)
class Spread:
    """Geometric mean of ratios with their range and count."""

    mean: float
    low: float
    high: float
    count: int

    @staticmethod
    def of(ratios: Sequence[float]) -> Spread | None:
        ratios = [r for r in ratios if r > 0 and math.isfinite(r)]
        if not ratios:
            return None
        return Spread(geometric_mean(ratios), min(ratios), max(ratios), len(ratios))


@dataclass(frozen=True)
class StrategyAnswer:
    strategy: str
    checked: int                      # configurations with a verdict
    passed: int
    failures: tuple[str, ...]         # distinct failing verdicts
    cost_off: Spread | None           # time / rebuild_per_step's time, validation off
    cost_on: Spread | None            # the same, validation on
    cost: Spread | None               # the same, validation off and on together
    median_off_s: float | None        # median step time over configurations, validation off (for the baseline)

    @property
    def correct(self) -> bool:
        return self.checked > 0 and self.passed == self.checked


def strategy_answers(records: Sequence[Record]) -> list[StrategyAnswer]:
    """Per strategy (baseline first): correctness over every configuration and the time ratio to the baseline."""
    steps = [r for r in _whole(records, "strategy_step") if r.status == "ok" and r.median_s]
    base = {_config(r, "method"): r for r in steps if r.method == BASELINE_STRATEGY}
    strategies = list(dict.fromkeys(r.method for r in sorted(steps, key=lambda r: r.method != BASELINE_STRATEGY)))
    out = []
    for strategy in strategies:
        mine = [r for r in steps if r.method == strategy]
        verdicts = [r.verdict for r in mine if r.verdict is not None]
        ratios: dict[bool, list[float]] = {False: [], True: []}
        every: list[float] = []
        for r in mine:
            b = base.get(_config(r, "method"))
            if b is not None and b.median_s:
                ratios[bool(r.validate)].append(r.median_s / b.median_s)
                every.append(r.median_s / b.median_s)
        off = sorted(r.median_s for r in mine if not r.validate)
        out.append(StrategyAnswer(
            strategy, len(verdicts), sum(1 for v in verdicts if verdict_passes(v)),
            tuple(sorted({v for v in verdicts if not verdict_passes(v)})),
            Spread.of(ratios[False]), Spread.of(ratios[True]), Spread.of(every), off[len(off) // 2] if off else None))
    return out


def validation_cost(records: Sequence[Record], strategy: str = BASELINE_STRATEGY) -> Spread | None:
    """Time with validation on over the same step with it off, for one strategy."""
    steps = [r for r in _whole(records, "strategy_step") if r.method == strategy and r.status == "ok" and r.median_s]
    off = {_config(r, "validate"): r for r in steps if r.validate is False}
    return Spread.of([r.median_s / off[_config(r, "validate")].median_s for r in steps
                      if r.validate and _config(r, "validate") in off])


@dataclass(frozen=True)
class JacobianAnswer:
    size: int
    dim: int | None
    fastest: Record | None
    loop: Record | None
    reference: Record | None
    failed: tuple[str, ...]          # methods that ran out of memory or time at this size ("jacrev: oom")
    by_method: dict[str, Record]

    @property
    def speedup(self) -> float | None:
        if self.fastest is None or self.loop is None or self.loop.status != "ok" or not self.loop.median_s:
            return None
        return self.loop.median_s / self.fastest.median_s

    def speedup_of(self, method: str) -> float | None:
        """How many times the fastest method's time `method` took here (None where it did not finish)."""
        record = self.by_method.get(method)
        if self.fastest is None or record is None or record.status != "ok" or not record.median_s:
            return None
        return record.median_s / self.fastest.median_s


def jacobian_answers(records: Sequence[Record], dtype: str = "float64") -> list[JacobianAnswer]:
    """Per (N, d) in `dtype`: the fastest correct autograd method, the loop beside it, and what failed."""
    rows = [r for r in _whole(records, "jacobian") if r.dtype == dtype]
    out = []
    for size, dim in sorted({(r.size, r.dim) for r in rows}, key=lambda k: (k[1] or 0, k[0])):
        here = [r for r in rows if (r.size, r.dim) == (size, dim)]
        candidates = [r for r in here if r.method != REFERENCE_JACOBIAN and r.status == "ok" and r.median_s
                      and verdict_passes(r.verdict) is not False]
        fastest = min(candidates, key=lambda r: r.median_s, default=None)
        loop = next((r for r in here if r.method == BASELINE_JACOBIAN), None)
        reference = next((r for r in here if r.method == REFERENCE_JACOBIAN), None)
        failed = tuple(f"{r.method}: {r.status}" for r in here if r.status in ("oom", "timeout", "error"))
        out.append(JacobianAnswer(size, dim, fastest, loop, reference, failed, {r.method: r for r in here}))
    return out


@dataclass(frozen=True)
class FastestAtSize:
    """The Jacobian method fastest in most configurations (device, dtype, d) measured at one N."""

    size: int
    method: str
    wins: int
    configurations: int


def fastest_at_each_size(records: Sequence[Record]) -> list[FastestAtSize]:
    """Per N, the method that is `jacobian_answers`' fastest in most (device, dtype, d) configurations."""
    jacobian = [r for r in records if r.group == "jacobian"]
    wins: dict[int, Counter] = defaultdict(Counter)
    for device in sorted({r.device for r in jacobian}):
        on_device = [r for r in jacobian if r.device == device]
        for dtype in sorted({r.dtype for r in on_device}):
            for answer in jacobian_answers(on_device, dtype):
                if answer.fastest is not None:
                    wins[answer.size][answer.fastest.method] += 1
    return [FastestAtSize(size, *wins[size].most_common(1)[0], sum(wins[size].values())) for size in sorted(wins)]


@dataclass(frozen=True)
class WrongResults:
    wrong: int
    checked: int  # whole measurements with a correctness verdict


def wrong_results(records: Sequence[Record]) -> WrongResults:
    verdicts = [verdict_passes(r.verdict) for r in records if r.phase in TOTAL_PHASES]
    checked = [v for v in verdicts if v is not None]
    return WrongResults(sum(v is False for v in checked), len(checked))


def jacobian_dtype(records: Sequence[Record]) -> str | None:
    dtypes = {r.dtype for r in records if r.group == "jacobian"}
    return "float64" if "float64" in dtypes else next(iter(sorted(dtypes)), None)


def findings_by_severity() -> dict[str, int] | None:
    """Counts of torch findings per severity title, from FINDINGS.md's writer; None where it has no counter."""
    try:
        from .findings import count_by_severity
    except ImportError:
        return None
    return dict(count_by_severity())

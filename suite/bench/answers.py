"""The three answers of a benchmark run, in a few lines for the end of `pytest --benchmark`: which
training strategy is correct and what it costs against rebuilding the distribution every step, the
fastest Jacobian method at each size measured, and how many results were wrong."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

from suite.bench.results import Record
from suite.report.answers import REFERENCE_JACOBIAN

BASELINE_STRATEGY = "rebuild_per_step"
PASSING_WORDS = ("agree", "pass", "match", "ok", "same")


def passes(verdict: str | None) -> bool | None:
    """True for a passing verdict, False for another one, None without a check (as the report reads them)."""
    try:
        from suite.report.fmt import verdict_passes
    except ImportError:
        if verdict is None:
            return None
        return verdict.lower().split()[0].strip(":(") in PASSING_WORDS if verdict.split() else False
    return verdict_passes(verdict)


def _whole(records: Sequence[Record], group: str) -> list[Record]:
    return [r for r in records if r.group == group and r.phase in (None, "total") and r.status == "ok"
            and r.median_s]


def _configuration(r: Record) -> tuple:
    return (r.family, r.device, r.dtype, r.size, r.dim, r.validate, r.compiled)


def strategy_answer(records: Sequence[Record]) -> str | None:
    steps = _whole(records, "strategy_step")
    if not steps:
        return None
    rebuild = {_configuration(r): r.median_s for r in steps if r.method == BASELINE_STRATEGY}
    verdicts: dict[str, list[bool | None]] = defaultdict(list)
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in steps:
        verdicts[r.method].append(passes(r.verdict))
        base = rebuild.get(_configuration(r))
        if base and r.method != BASELINE_STRATEGY:
            ratios[r.method].append(r.median_s / base)
    correct = [m for m, v in verdicts.items() if m != BASELINE_STRATEGY and v and all(x is not False for x in v)]
    wrong = sorted(m for m, v in verdicts.items() if any(x is False for x in v))
    parts = []
    for method in sorted(correct):
        values = ratios.get(method)
        cost = (f"{math.exp(sum(map(math.log, values)) / len(values)):.2f}x the step time of {BASELINE_STRATEGY}, "
                f"geometric mean of {len(values)}" if values else "no time against rebuild measured")
        parts.append(f"{method} ({cost})")
    text = "correct: " + ("; ".join(parts) if parts else "none besides " + BASELINE_STRATEGY)
    return "training strategy: " + text + (f"; wrong: {', '.join(wrong)}" if wrong else "")


def jacobian_answer(records: Sequence[Record]) -> str | None:
    """The method fastest in most configurations at each size (the analytic score, the reference, left out)."""
    jac = [r for r in _whole(records, "jacobian") if r.method != REFERENCE_JACOBIAN]
    if not jac:
        return None
    fastest: dict[tuple, Record] = {}
    for r in jac:
        key = (r.family, r.device, r.dtype, r.size, r.dim)
        if key not in fastest or r.median_s < fastest[key].median_s:
            fastest[key] = r
    wins: dict[int, Counter] = defaultdict(Counter)
    for (_, _, _, size, _), r in fastest.items():
        wins[size][r.method] += 1
    cells = []
    for size in sorted(wins):
        method, count = wins[size].most_common(1)[0]
        total = sum(wins[size].values())
        cells.append(f"N={size}: {method}" + (f" ({count} of {total})" if total > 1 else ""))
    return "fastest Jacobian: " + ", ".join(cells)


def wrong_answer(records: Sequence[Record]) -> str:
    checked = [r for r in records if r.phase in (None, "total") and passes(r.verdict) is not None]
    wrong = [r for r in checked if passes(r.verdict) is False]
    return f"wrong results: {len(wrong)} of {len(checked)} checked"


def answer_lines(records: Sequence[Record]) -> list[str]:
    """The three answers, each on one line, for the records given (those without data are left out)."""
    return [line for line in (strategy_answer(records), jacobian_answer(records), wrong_answer(records))
            if line is not None]

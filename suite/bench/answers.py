"""The three answers of a benchmark run, in a few lines for the end of `pytest --benchmark`: which
training strategy is correct and what it costs against rebuilding the distribution every step, the
fastest Jacobian method at each size measured, and how many results were wrong. suite.report.answers
computes them, as it does for the report's front page; this module words them."""

from __future__ import annotations

from collections.abc import Sequence

from suite.bench.results import Record
from suite.report.answers import BASELINE_STRATEGY, fastest_at_each_size, strategy_answers, wrong_results


def strategy_line(records: Sequence[Record]) -> str | None:
    answers = strategy_answers(records)
    if not answers:
        return None
    parts = []
    for answer in sorted((a for a in answers if a.correct and a.strategy != BASELINE_STRATEGY),
                         key=lambda a: a.strategy):
        cost = (f"{answer.cost.mean:.2f}x the step time of {BASELINE_STRATEGY}, geometric mean of {answer.cost.count}"
                if answer.cost else "no time against rebuild measured")
        parts.append(f"{answer.strategy} ({cost})")
    wrong = sorted(a.strategy for a in answers if a.failures)
    text = "correct: " + ("; ".join(parts) if parts else "none besides " + BASELINE_STRATEGY)
    return "training strategy: " + text + (f"; wrong: {', '.join(wrong)}" if wrong else "")


def jacobian_line(records: Sequence[Record]) -> str | None:
    """The method fastest in most configurations at each size (the analytic score, the reference, left out)."""
    fastest = fastest_at_each_size(records)
    if not fastest:
        return None
    return "fastest Jacobian: " + ", ".join(
        f"N={f.size}: {f.method}" + (f" ({f.wins} of {f.configurations})" if f.configurations > 1 else "")
        for f in fastest)


def wrong_line(records: Sequence[Record]) -> str:
    found = wrong_results(records)
    return f"wrong results: {found.wrong} of {found.checked} checked"


def answer_lines(records: Sequence[Record]) -> list[str]:
    """The three answers, each on one line, for the records given (those without data are left out)."""
    return [line for line in (strategy_line(records), jacobian_line(records), wrong_line(records))
            if line is not None]

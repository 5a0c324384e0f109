"""A report's front page: the three answers in words with the measurements behind them, then the environment,
then links to the detail pages. Kept to one screen: the answers come within the first 60 lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from suite.bench.results import Record

from .answers import (
    BASELINE_JACOBIAN,
    BASELINE_STRATEGY,
    REFERENCE_JACOBIAN,
    JacobianAnswer,
    Spread,
    StrategyAnswer,
    findings_by_severity,
    is_unsettled,
    jacobian_answers,
    jacobian_dtype,
    strategy_answers,
    validation_cost,
)
from .fmt import MISSING, fmt_bytes, fmt_ratio, fmt_time, md_escape
from .inputs import Source

STATUS_WORDS = {"oom": "out of memory", "timeout": "timed out", "error": "error", "unsupported": "unsupported"}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_spread(spread: Spread | None) -> str:
    if spread is None:
        return MISSING
    if spread.count == 1:
        return fmt_ratio(spread.mean)
    return f"{fmt_ratio(spread.mean)} ({fmt_ratio(spread.low)}–{fmt_ratio(spread.high)})"


def _verdict_text(answer: StrategyAnswer) -> str:
    if not answer.checked:
        return "not checked"
    if answer.correct:
        return f"correct ({answer.passed}/{answer.checked} ✓)"
    wrong = answer.checked - answer.passed
    return f"**wrong: {', '.join(answer.failures)} in {wrong}/{answer.checked} ✗**"


def strategy_section(records: Sequence[Record], link: str | None) -> str:
    answers = strategy_answers(records)
    if not answers:
        return ""
    correct = [a for a in answers if a.correct and a.strategy != BASELINE_STRATEGY]
    wrong = [a for a in answers if not a.correct and a.checked]
    configs = answers[0].checked
    lines = []
    if correct:
        costs = [a.cost_off.mean for a in correct if a.cost_off] + [1.0]
        names = ", ".join(f"`{a.strategy}`" for a in [answers[0], *correct])
        lines.append(f"- **Use {names}**: each is correct in every configuration measured, and per step they cost "
                     f"{fmt_ratio(min(costs))}–{fmt_ratio(max(costs))} the time of `{BASELINE_STRATEGY}` "
                     "(validation off; geometric mean over families, sizes and dtypes).")
    for a in wrong:
        lines.append(f"- **Do not use `{a.strategy}`**: it is {', '.join(a.failures)} in {a.checked - a.passed} of "
                     f"{a.checked} configurations; its speed ({fmt_spread(a.cost_off)}) buys a wrong answer.")
    cost = validation_cost(records)
    if cost is not None:
        saving = 1 - 1 / cost.mean
        lines.append(f"- Validation (`validate_args`) costs {fmt_spread(cost)} per `{BASELINE_STRATEGY}` step; "
                     f"`torch.distributions.Distribution.set_default_validate_args(False)` saves about "
                     f"{100 * saving:.0f}% once your code is debugged.")
    base = answers[0]
    lines += ["", f"Time per training step relative to `{BASELINE_STRATEGY}` (median {fmt_time(base.median_off_s)} "
              f"per step over the {configs // 2 if configs else 0} configurations without validation):", ""]
    rows = [[f"`{a.strategy}`", _verdict_text(a), *(("1× (baseline)",) * 2 if a.strategy == BASELINE_STRATEGY
                                                    else (fmt_spread(a.cost_off), fmt_spread(a.cost_on)))]
            for a in answers]
    lines.append(table(["strategy", "correct?", "time vs rebuild, validation off", "validation on"], rows))
    if link:
        lines += ["", f"Per family, size and phase: [{link}]({link})."]
    return "\n".join(lines)


def _jacobian_row(a: JacobianAnswer) -> list[str]:
    n, d = str(a.size), MISSING if a.dim is None else str(a.dim)
    if a.fastest is None:
        return [n, d, "none finished", "", "", "", "; ".join(a.failed)]
    loop = a.loop
    loop_text = (fmt_time(loop.median_s) if loop and loop.status == "ok"
                 else STATUS_WORDS.get(loop.status, loop.status) if loop else MISSING)
    speed = f"{a.speedup:.3g}× slower" if a.speedup else ""
    unsettled = " ≈" if is_unsettled(a.fastest) else ""
    return [n, d, f"`{a.fastest.method}`", fmt_time(a.fastest.median_s) + unsettled,
            fmt_bytes(a.fastest.peak_bytes) if a.fastest.peak_bytes is not None else "not measured",
            f"{loop_text}" + (f" ({speed})" if speed else ""), "; ".join(a.failed) or ""]


def jacobian_section(records: Sequence[Record], link: str | None) -> str:
    dtype = jacobian_dtype(records)
    if dtype is None:
        return ""
    answers = jacobian_answers(records, dtype)
    family = next((r.family for r in records if r.group == "jacobian"), None)
    winners: dict[str, int] = {}
    for a in answers:
        if a.fastest is not None:
            winners[a.fastest.method] = winners.get(a.fastest.method, 0) + 1
    best = max(winners, key=winners.get) if winners else None
    lines = []
    if best:
        behind = [a.speedup_of(best) for a in answers if a.fastest is not None and a.fastest.method != best]
        behind = [b for b in behind if b is not None]
        worst_loop = max((a for a in answers if a.speedup), key=lambda a: a.speedup, default=None)
        lines.append(f"**Use `{best}`**: fastest at {winners[best]} of {len(answers)} sizes measured ({family} "
                     f"log_prob, {dtype}, N samples of dimension d)"
                     + (f" and at most {max(behind):.2g}× the fastest time at the others" if behind else "") + "."
                     + (f" The Python `{BASELINE_JACOBIAN}` over `autograd.grad` is up to {worst_loop.speedup:.3g}× "
                        f"slower (N={worst_loop.size}, d={worst_loop.dim})." if worst_loop else ""))
    lines += ["", "Fastest method per (N, d) with its peak tensor memory, and the loop for comparison; "
              "≈ marks a median whose timing passes did not settle:", ""]
    lines.append(table(["N", "d", "fastest", "time", "peak memory", f"`{BASELINE_JACOBIAN}`", "failed at this size"],
                       [_jacobian_row(a) for a in answers]))
    lines.append("")
    lines.append(f"`{REFERENCE_JACOBIAN}` (the closed-form score, where torch has one) is the reference every "
                 "method is checked against, not listed as a method.")
    if link:
        lines[-1] += f" Every method at every size: [{link}]({link})."
    return "\n".join(lines)


def findings_section(findings_link: str | None, counts: dict[str, int] | None) -> str:
    lines = []
    target = f"[FINDINGS.md]({findings_link})" if findings_link else "FINDINGS.md"
    if counts:
        total = sum(counts.values())
        lines.append(f"**{total} findings** where torch disagrees with the reference, most severe first "
                     f"(each with what a user sees and its size): {target}.")
        lines += ["", table(["severity", "findings"], [[md_escape(k), str(v)] for k, v in counts.items()])]
    else:
        lines.append(f"The torch disagreements the correctness suite found, grouped by severity: {target}.")
    return "\n".join(lines)


def environment_section(source: Source) -> str:
    """The environment as a short table; the merged report's detail pages carry the full one."""
    env = source.results.environment
    records = source.results.records
    unsettled = sum(1 for r in records if r.status == "ok" and is_unsettled(r))
    not_measured = sum(1 for r in records if r.status != "ok")
    rows = [["torch", env.torch], ["CPU", f"{md_escape(env.cpu)}, {env.threads} thread(s)"],
            ["GPU", md_escape(env.gpu or "none") + (f" (CUDA {env.cuda})" if env.cuda else "")],
            ["Python, numpy, scipy", f"{env.python}, {env.numpy}, {env.scipy}"],
            ["platform", md_escape(env.platform)], ["allocator", md_escape(env.allocator or MISSING)],
            ["distsuite commit", f"`{(env.distsuite_commit or MISSING)[:12]}`"], ["measured", env.date],
            ["measurements", f"{len(records)}; {not_measured} not measured (out of memory, time-outs, "
                             f"unsupported, errors); {unsettled} medians unsettled (≈)"]]
    return table(["", "value"], rows)


QUESTIONS = ("## 1. Which training strategy should I use?",
             "## 2. Which per-sample Jacobian method is fastest at my size?",
             "## 3. What is wrong in this torch?")


def _per_source(sources: Sequence[Source], body: Callable[[Source], str]) -> str:
    if len(sources) == 1:
        return body(sources[0])
    return "\n\n".join(f"### {s.label}: {md_escape(s.results.environment.id)}\n\n{body(s) or 'Not measured.'}"
                       for s in sources)


def render_front_page(sources: Sequence[Source], findings_link: str | None, links: dict[str, str],
                      figures: Sequence[str], details: str, provenance: Sequence[str] = ()) -> str:
    """The README of a report: the three answers, the figures behind them, the environment, the detail pages."""
    title = (md_escape(sources[0].results.environment.id) if len(sources) == 1
             else f"{len(sources)} environments")
    answers = [
        _per_source(sources, lambda s: strategy_section(s.results.records, links.get("strategy_step"))),
        _per_source(sources, lambda s: jacobian_section(s.results.records, links.get("jacobian"))),
        findings_section(findings_link, findings_by_severity()),
    ]
    parts = [f"# distsuite report: {title}",
             "Three questions answered from this run's measurements; the environment and the detail pages follow.",
             *provenance]
    parts += [f"{heading}\n\n{body}" for heading, body in zip(QUESTIONS, answers) if body]
    if figures:
        parts.append("## The answers in figures\n\n" + "\n\n".join(figures))
    parts += ["## Environment\n\n" + _per_source(sources, environment_section), details]
    return "\n\n".join(p for p in parts if p) + "\n"

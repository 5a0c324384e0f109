"""STRATEGIES.md: the training-strategy verdicts, a summary (family x strategy verdict counts) before the raw rows.

The rows come from `suite.cli.strategies.verdict_rows`; this module only formats them, so the committed file can
be checked against a fresh run row by row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from suite.training.strategies import STRATEGIES

LOSSES = ("mle", "kl")


def known_failures() -> dict[tuple[str, str], str]:
    """(family, loss) -> why torch fails every strategy there: the registry's `strategy.<loss>` findings."""
    from suite.registry.families import FAMILIES

    return {(family.name, loss): known[0].what for family in FAMILIES for loss in LOSSES
            if (known := family.known_for(f"strategy.{loss}"))}

RAW_HEADER = ("family", "transform", "loss", "strategy", "verdict", "steps", "final", "mle_err", "cause")
SUMMARY_TITLE = "## Summary: verdicts per family and strategy"
RAW_TITLE = "## Every row"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.2g}"
    if isinstance(value, dict):
        return " ".join(f"{k}={[round(x, 3) for x in v][:3]}" for k, v in value.items())
    return "" if value is None else str(value)


def mle_cell(row: dict) -> str:
    if row["loss"] != "mle":
        return ""
    if row["mle_error"]:
        return "error"
    return f"{row['mle_param_error']:.1e}" + ("" if row["mle_ok"] else " FAIL")


def raw_cells(row: dict) -> list[str]:
    if row["verdict"] == "not fittable":
        return [row["family"], "", "", "", "not fittable", "", "", "", row["cause"]]
    return [row["family"], row["transform"], row["loss"], row["strategy"], row["verdict"], str(row["steps"]),
            _fmt(row["final"]), mle_cell(row), row["cause"][:70]]


def format_table(rows: Iterable[dict]) -> str:
    lines = [" | ".join(RAW_HEADER), " | ".join("---" for _ in RAW_HEADER)]
    lines += [" | ".join(raw_cells(r)) for r in rows]
    return "\n".join(lines)


def outcome(row: dict) -> str:
    """A row's verdict as counted in the summary: a fit that misses scipy's MLE counts as `fit FAIL`."""
    if row["verdict"] == "pass" and row.get("mle_ok") is False:
        return "fit FAIL"
    return row["verdict"]


def is_known(row: dict) -> bool:
    return (row["family"], row.get("loss")) in known_failures()


def unexpected(rows: Iterable[dict]) -> list[dict]:
    """Rows that contradict what the suite asserts: a correct strategy (every one but retain_graph) that does
    not pass, or a retain_graph that passes; known torch findings are expected."""
    out = []
    for r in rows:
        strategy = r.get("strategy")
        if strategy is None or is_known(r):
            continue
        if strategy == "retain_graph":
            if outcome(r) == "pass":
                out.append(r)
        elif outcome(r) != "pass":
            out.append(r)
    return out


def summary_counts(rows: Iterable[dict]) -> dict[str, dict[str, Counter]]:
    """{family: {strategy: Counter(outcome)}}, families in first-seen order; unfittable families under '-'."""
    table: dict[str, dict[str, Counter]] = {}
    for r in rows:
        per_family = table.setdefault(r["family"], {})
        per_family.setdefault(r.get("strategy") or "-", Counter())[outcome(r)] += 1
    return table


def _count_cell(counts: Counter | None) -> str:
    if not counts:
        return ""
    order = ("pass", "fit FAIL", "stale", "error", "not fittable")
    keys = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    return ", ".join(f"{counts[k]} {k}" for k in keys)


def summary_table(rows: Sequence[dict]) -> str:
    counts = summary_counts(rows)
    header = ("family", *STRATEGIES)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    totals: dict[str, Counter] = {s: Counter() for s in STRATEGIES}
    for family, per_strategy in counts.items():
        if "-" in per_strategy:
            lines.append(f"| {family} | not fittable | | | |")
            continue
        cells = []
        for s in STRATEGIES:
            totals[s].update(per_strategy.get(s, Counter()))
            cell = _count_cell(per_strategy.get(s))
            known = any(r["family"] == family and r.get("strategy") == s and is_known(r) and outcome(r) != "pass"
                        for r in rows)
            cells.append(cell + (" (torch finding)" if known else ""))
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(f"**{_count_cell(totals[s])}**" for s in STRATEGIES) + " |")
    return "\n".join(lines)


def to_markdown(rows: Sequence[dict], torch_version: str, steps: int, seed: int) -> str:
    correct = [s for s in STRATEGIES if s != "retain_graph"]
    counts = summary_counts(rows)
    n_fittable = sum(1 for per in counts.values() if "-" not in per)
    known = "; ".join(f"{family} {loss}: {why}" for (family, loss), why in known_failures().items())
    return "\n\n".join([
        "# Training strategies: verdict table",
        f"Written by `python -m suite strategies --markdown reports/STRATEGIES.md` (torch {torch_version}, "
        f"{steps} steps, seed {seed}). Each fittable family ({n_fittable} of {len(counts)}) is trained with "
        "every strategy for each parameter transform (exp, softplus) and loss (MLE; KL where rsample exists). "
        "A strategy passes when it follows `rebuild_per_step`'s parameter trajectory step by step and, for MLE, "
        "ends at scipy's maximum-likelihood estimate.",
        f"**Use {', '.join(f'`{s}`' for s in correct)}**: they pass every row except the torch findings "
        f"({known}). **Do not use `retain_graph`**: it trains a stale copy of the parameters or raises.",
        SUMMARY_TITLE,
        "Rows per cell: transform x loss. `fit FAIL`: followed the trajectory but missed scipy's MLE.",
        summary_table(rows),
        RAW_TITLE,
        "mle_err: worst scaled parameter error against scipy's MLE; FAIL marks a fit that does not match.",
        format_table(rows),
    ]) + "\n"


def raw_rows_of(markdown: str) -> list[list[str]]:
    """The raw rows of a STRATEGIES.md, as cells (for checking a committed file against a fresh run)."""
    _, _, raw = markdown.partition(RAW_TITLE)
    lines = [line for line in raw.splitlines() if " | " in line]
    return [line.split(" | ") for line in lines[2:]]

"""Human-readable numbers for report cells: times, bytes, ratios, verdicts."""

from __future__ import annotations

import math

# A verdict passes when its first word is one of these ("agree (rel err 2e-07)" passes, "disagree: ..." not);
# "reference" marks the configuration the others are checked against, "exact" a measurement probe that hit.
PASSING_VERDICTS = frozenset({"pass", "passed", "ok", "agree", "correct", "reference", "exact"})

_TIME_UNITS = ((1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s"))
_BYTE_UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))
MISSING = "—"


def _absent(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_time(seconds: float | None) -> str:
    if _absent(seconds):
        return MISSING
    for scale, unit in _TIME_UNITS[:-1]:
        text = f"{seconds / scale:.3g}"
        if abs(float(text)) < 1000:
            return f"{text} {unit}"
    return f"{seconds:.3g} s"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return MISSING
    for scale, unit in _BYTE_UNITS:
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def fmt_ratio(ratio: float | None) -> str:
    if _absent(ratio):
        return MISSING
    return f"{ratio:.2f}×" if ratio >= 0.01 else f"{ratio:.2g}×"


def verdict_passes(verdict: str | None) -> bool | None:
    """True for a passing correctness verdict, False for any other verdict, None when there was no check."""
    if verdict is None:
        return None
    first_word = verdict.lower().replace(":", " ").replace("(", " ").split()
    return bool(first_word) and first_word[0] in PASSING_VERDICTS


def fmt_verdict(verdict: str | None, markdown: bool = True) -> str:
    """'pass ✓', or the failing verdict in bold with a cross ('**stale ✗**'), or '' without a check."""
    passes = verdict_passes(verdict)
    if passes is None:
        return ""
    if passes:
        return f"{verdict} ✓"
    return f"**{verdict} ✗**" if markdown else f"{verdict} ✗"


def md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

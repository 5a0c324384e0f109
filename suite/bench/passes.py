"""Timing passes of a record: each pass's median, the quiet passes a record's median rests on, and
setting the other passes aside.

A record's ``samples_s`` holds its ``passes`` timing passes in order and in equal parts (suite.bench.results).
On a shared host a pass can fall into a stretch of load from other tenants that slows a memory-bound call
by 10-50%, for seconds or for minutes, and a fresh process can run a case consistently slower than the
next one; neither makes the code faster. A median pooled over every pass then depends on how many passes
the load happened to hit, which differs from run to run. So a record's median is taken over its *quiet*
passes: the fastest two passes whose medians agree within SETTLED_WITHIN, and every pass within that
fraction of the faster of them. The other passes are kept in the record as ``set_aside_samples_s``
(``set_aside_passes`` of them), not lost. A record is *settled* when its fastest pass is one of the quiet
passes, that is, another pass confirms it; a run repeats the cases with unsettled records
(suite.bench.plugin).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from suite.bench.results import Record

# Two passes agree when the slower median is within this fraction of the faster.
SETTLED_WITHIN = 0.05


def pass_medians(samples_s: Sequence[float], passes: int) -> list[float] | None:
    """The median of each pass's samples, or None for a single pass or samples that do not split evenly."""
    if passes < 2 or len(samples_s) % passes:
        return None
    return [float(np.median(chunk)) for chunk in np.split(np.asarray(samples_s, dtype=float), passes)]


def quiet_passes(medians: Sequence[float], within: float = SETTLED_WITHIN) -> list[int] | None:
    """Indices of the quiet passes, in order: the fastest pass that another pass agrees with (its median
    within `within` of it) and every pass that agrees with it; None when no two passes agree."""
    for fastest in sorted(range(len(medians)), key=lambda i: medians[i]):
        limit = medians[fastest] * (1 + within)
        agreeing = [i for i, m in enumerate(medians) if medians[fastest] <= m <= limit]
        if len(agreeing) >= 2:
            return agreeing
    return None


def settled_medians(medians: Sequence[float], within: float = SETTLED_WITHIN) -> bool:
    """Whether the fastest pass is among the quiet passes (another pass confirms it)."""
    return _confirms_fastest(medians, quiet_passes(medians, within))


def _confirms_fastest(medians: Sequence[float], quiet: list[int] | None) -> bool:
    return quiet is not None and min(range(len(medians)), key=lambda i: medians[i]) in quiet


def settled(samples_s: Sequence[float], passes: int, within: float = SETTLED_WITHIN) -> bool:
    """Whether the record's fastest pass is confirmed by another (settled_medians). True for a single
    pass, which has nothing to agree with."""
    medians = pass_medians(samples_s, passes)
    return medians is None or settled_medians(medians, within)


def set_aside(record: Record, within: float = SETTLED_WITHIN) -> bool:
    """Keep the quiet passes' samples in `record.samples_s` (median, IQR and rounds recomputed from them)
    and move the other passes' to `record.set_aside_samples_s`, when the record is settled or, unsettled,
    when its quiet passes are at least half of its passes (a level most passes share, a lone faster pass
    unconfirmed). Otherwise the record is left as it is, its median that of every pass: its quiet passes
    could be a slow pair among passes that agree with nothing. Returns whether the record is settled."""
    passes = record.passes or 1
    medians = pass_medians(record.samples_s, passes)
    if medians is None:
        return True
    quiet = quiet_passes(medians, within)
    is_settled = _confirms_fastest(medians, quiet)
    if quiet is not None and (is_settled or 2 * len(quiet) >= passes) and len(quiet) < passes:
        chunks = np.split(np.asarray(record.samples_s, dtype=float), passes)
        kept = [float(s) for i in quiet for s in chunks[i]]
        aside = [float(s) for i in range(passes) if i not in quiet for s in chunks[i]]
        q1, median, q3 = np.percentile(kept, [25, 50, 75])
        record.samples_s, record.passes = kept, len(quiet)
        record.set_aside_samples_s = (record.set_aside_samples_s or []) + aside
        record.set_aside_passes = (record.set_aside_passes or 0) + passes - len(quiet)
        record.median_s, record.iqr_s, record.rounds = float(median), float(q3 - q1), len(kept)
    return is_settled

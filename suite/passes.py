"""Timing passes of a record: each pass's median, and whether the pooled median rests on passes that agree.

A record's ``samples_s`` holds its ``passes`` timing passes in order and in equal parts (suite.results).
On a shared host a pass can fall into a burst of load that slows it by 20-50% for seconds, and a fresh
process can be consistently a few percent slower than the next; a median pooled over three passes, two of
them slowed, is then the slowed value. A run therefore repeats the cases whose passes disagree
(suite.bench_plugin) until the pooled median is settled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A pooled median is settled when more than half of its passes, and at least two, have a median within
# this fraction of it. Two runs whose medians are each settled this way stay within about twice it.
SETTLED_WITHIN = 0.05


def pass_medians(samples_s: Sequence[float], passes: int) -> list[float] | None:
    """The median of each pass's samples, or None for a single pass or samples that do not split evenly."""
    if passes < 2 or len(samples_s) % passes:
        return None
    return [float(np.median(chunk)) for chunk in np.split(np.asarray(samples_s, dtype=float), passes)]


def settled(samples_s: Sequence[float], passes: int, within: float = SETTLED_WITHIN) -> bool:
    """Whether more than half of the passes, and at least two, have a median within `within` of the
    pooled median. True for a single pass, which has nothing to agree with."""
    medians = pass_medians(samples_s, passes)
    if medians is None:
        return True
    centre = float(np.median(samples_s))
    agreeing = sum(abs(m - centre) <= within * centre for m in medians)
    return agreeing >= 2 and 2 * agreeing > len(medians)

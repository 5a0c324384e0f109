"""Known deviations of torch's KL divergences from the float64 references, one per pair deviation,
keyed by pair name ("P-Q", registry family names). Regions receive the pair's coordinates: p's parameters
as "p_<name>", q's as "q_<name>" (scalar parameters only)."""

from __future__ import annotations

from suite.registry.known import Known, Severity  # noqa: F401

KNOWN: dict[str, tuple[Known, ...]] = {}

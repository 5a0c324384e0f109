"""What a registry entry declares about its edges, where they cannot be derived from its constraints.

Everything else about edges (support ends, outside points, legal boundary values of parameters, which
parameterisations exist) is derived from the family's constraints, support and reference by
`suite.checks.edges`. An entry fills `Family.edges` only for what is not derivable: an exact reference for
its logits parameterisation, an mpmath reference for the deep tails where scipy loses precision, and why an
edge kind does not apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from suite.registry.known import Known, Severity

# The edge kinds; a check named "edge.<kind>" (or "edge.<kind>.<method>") checks one of them.
EDGE_KINDS = ("icdf_ends", "cdf_ends", "outside", "boundary_params", "logits", "parameterisation", "tail",
              "mixed_dtype", "empty")

# The methods an element grid of the outside, boundary, mixed-dtype and empty-batch checks runs over: the
# "method" coordinate is an index into this tuple (see `method_is`).
EDGE_METHODS = ("log_prob", "cdf", "icdf", "mean", "variance", "stddev", "entropy", "mode", "sample", "rsample",
                "enumerate_support", "log_prob.validated", "cdf.validated", "construct")


@dataclass(frozen=True)
class Edges:
    # edge kind -> why it does not apply to this family (beyond what is derived, e.g. "no icdf in torch")
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    # log_prob(params with "logits" in place of "probs", x), exact for logits of any magnitude
    logits_log_prob: Callable[[Mapping[str, np.ndarray], np.ndarray], np.ndarray] | None = None
    # An mpmath reference for the deep tails (suite.registry.tails.MpmathTail: log_prob(params, x) and
    # cdf(params, x) in multiple precision): it serves the tail points where scipy's round trip fails.
    tail_reference: object | None = None


def method_is(*names: str) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """A region: the elements of an edge check's grid whose method is one of `names`."""
    wanted = [EDGE_METHODS.index(name) for name in names]
    return lambda coords: np.isin(coords["method"], wanted)


def both(*regions: Callable[[Mapping[str, np.ndarray]], np.ndarray]):
    """A region: the elements inside every one of `regions`."""
    return lambda coords: np.logical_and.reduce([np.asarray(region(coords), dtype=bool) for region in regions])


def coord_in(name: str, *values: float) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """A region: the elements whose coordinate `name` is one of `values`."""
    return lambda coords: np.isin(coords[name], values)


def coord_between(name: str, low: float = -np.inf, high: float = np.inf, magnitude: bool = False):
    """A region: the elements whose coordinate `name` (or its magnitude) lies in [low, high]."""
    def region(coords):
        value = np.abs(coords[name]) if magnitude else coords[name]
        return (value >= low) & (value <= high)
    return region


# One torch defect seen by every family whose constructor reshapes its parameters to (n, -1).
EMPTY_BATCH_RESHAPE = Known("edge.empty", "on a zero-size batch, construct fails: constructing an empty batch raises "
                            "RuntimeError: cannot reshape tensor of 0 elements into shape [0, -1] because the "
                            "unspecified dimension size -1 can be any val", Severity.RAISES,
                            region=method_is("construct"), where="construct", upstream="pytorch#194548")

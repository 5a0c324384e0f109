"""Regions for known deviations: predicates over a check's element coordinates (suite.registry.known.Region).

Each receives the coordinates by name (parameters, "name[i]" for the components of a vector parameter,
"at" for the point, "at[i]" for its components) and returns which elements lie inside.
"""

from __future__ import annotations

import numpy as np

from suite.registry.known import Region

# The quantile grid's tail points are 1e-6 and 1 - 1e-6 (suite.registry.references.QUANTILES).
TAIL = 1e-5


def lower_tail(c) -> np.ndarray:
    return c["at"] < TAIL


def upper_tail(c) -> np.ndarray:
    return c["at"] > 1 - TAIL


def tails(c) -> np.ndarray:
    return lower_tail(c) | upper_tail(c)


def below(name: str, bound: float) -> Region:
    return lambda c: c[name] < bound


def above(name: str, bound: float) -> Region:
    return lambda c: c[name] > bound


def near(name: str, centre: float, half_width: float) -> Region:
    return lambda c: np.abs(c[name] - centre) <= half_width


def both(*regions: Region) -> Region:
    return lambda c: np.logical_and.reduce(np.broadcast_arrays(*[np.asarray(r(c), dtype=bool) for r in regions]))


def smallest_component(c, name: str) -> np.ndarray:
    """The smallest component of a vector coordinate ("probs" -> min over probs[0], probs[1], ...)."""
    parts = [v for key, v in c.items() if key.startswith(name + "[")]
    return np.minimum.reduce(np.broadcast_arrays(*parts))


def largest_component(c, name: str) -> np.ndarray:
    parts = [v for key, v in c.items() if key.startswith(name + "[")]
    return np.maximum.reduce(np.broadcast_arrays(*parts))


def component_below(name: str, bound: float) -> Region:
    return lambda c: smallest_component(c, name) < bound



def near_upper_end(within: float) -> Region:
    """GeneralizedPareto with concentration < 0: points where 1 + concentration (x - loc) / scale, zero at
    the upper end of the support, is below `within`."""
    return lambda c: (c["concentration"] < 0) & (
        1 + c["concentration"] * (c["at"] - c["loc"]) / c["scale"] < within)


def lgamma_terms_above(count: str, size: float) -> Region:
    """Where lgamma(k + count) at the point k is above `size`, about (k + count) ln(k + count): float32 rounds a
    term of that size by size * eps, which cancelling terms keep."""
    def region(c) -> np.ndarray:
        n = np.maximum(c["at"] + c[count], 2.0)
        return n * np.log(n) > size
    return region


def beta_gradient_approximated(c) -> np.ndarray:
    """Beta draws where torch's reparameterised gradient (dirichlet_grad_one, ATen Distributions.h) uses its
    rational correction or saddle-point approximation: total x (1 - x) >= 0.75, away from both ends."""
    total = c["concentration1"] + c["concentration0"]
    return total * c["at"] * (1 - c["at"]) >= 0.75


def dirichlet_gradient_approximated(c) -> np.ndarray:
    """The same for each coordinate x_i of a Dirichlet draw (a Beta(a_i, sum a - a_i) marginal)."""
    total = sum(v for key, v in c.items() if key.startswith("concentration["))
    return total * c["at"] * (1 - c["at"]) >= 0.75

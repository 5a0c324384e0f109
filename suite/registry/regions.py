"""Regions for known deviations: predicates over a check's element coordinates (suite.registry.known.Region).

Each receives the coordinates by name (parameters, "name[i]" for the components of a vector parameter,
"at" for the point, "at[i]" for its components) and returns which elements lie inside.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from suite.registry.built_references import logistic_normal_log_density, stick_breaking_inverse
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


def components(c, name: str) -> np.ndarray:
    """A vector coordinate's components ("probs" -> probs[0], probs[1], ...) stacked on a last axis."""
    count = sum(1 for key in c if key.startswith(name + "["))
    return np.stack(np.broadcast_arrays(*[c[f"{name}[{i}]"] for i in range(count)]), -1)


def smallest_component(c, name: str) -> np.ndarray:
    """The smallest component of a vector coordinate ("probs" -> min over probs[0], probs[1], ...)."""
    return components(c, name).min(-1)


def largest_component(c, name: str) -> np.ndarray:
    return components(c, name).max(-1)


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


def gamma_log_density_terms_above(size: float) -> Region:
    """Where Gamma's log density terms (concentration log rate, (concentration - 1) log x, rate x and
    lgamma(concentration)) add up above `size`: float32 rounds each by its size * eps, and they cancel."""
    def region(c) -> np.ndarray:
        k, rate, x = c["concentration"], c["rate"], c["at"]
        with np.errstate(all="ignore"):
            terms = (np.abs(k * np.log(rate)) + np.abs((k - 1) * np.log(x)) + rate * x
                     + np.abs(special.gammaln(k)))
        return terms > size
    return region


def cauchy_icdf_cancels(rtol: float) -> Region:
    """Where Cauchy's icdf loc + scale tan(pi (q - 1/2)) is off by more than rtol relative: the argument of tan
    is rounded by eps about pi/2 from its pole, a relative error of eps / (2 min(q, 1 - q)) in tan, and loc
    cancelling scale * tan keeps it in absolute terms."""
    def region(c) -> np.ndarray:
        q, loc, scale = c["at"], c["loc"], c["scale"]
        with np.errstate(all="ignore"):
            z = np.tan(np.pi * (q - 0.5))
            error = np.abs(scale * z) * np.finfo(np.float64).eps / (2 * np.minimum(q, 1 - q))
            return error > rtol * np.abs(loc + scale * z)
    return region


def relaxed_bernoulli_saturates(share: float, dtype: str = "float64") -> Region:
    """Where more than `share` of RelaxedBernoulli's draws land within eps of 0 or 1, where torch clamps them
    (clamp_probs): logit(x) = (logit(probs) + L) / temperature beyond logit(1 - eps), L standard logistic."""
    edge = float(special.logit(1 - np.finfo(dtype).eps))

    def region(c) -> np.ndarray:
        t, centre = c["temperature"], special.logit(c["probs"])
        return special.expit(centre - edge * t) + special.expit(-edge * t - centre) > share
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


def stick_breaking_remainders_cancel(rtol: float, atol: float) -> Region:
    """LogisticNormal points where torch's log_prob can be off by more than atol + rtol |log_prob| through the
    remainders r_k = 1 - cumsum(x)_k it forms in float64 (StickBreakingTransform._inverse): each is off by up to
    k eps / 2 absolute, k eps / (2 r_k) relative, which moves the Normal term by (y_k - loc_k) / scale_k^2 times
    that and the log-determinant by at most that. Where r_k cancels to 0 or below, torch clamps it to tiny."""
    eps = np.finfo(np.float64).eps

    def region(c) -> np.ndarray:
        x, loc, scale = components(c, "at"), components(c, "loc"), components(c, "scale")
        y, remaining = stick_breaking_inverse(x)
        k = np.arange(1, remaining.shape[-1] + 1)
        bound = (k * eps / (2 * remaining) * (np.abs(y - loc) / scale ** 2 + 1)).sum(-1)
        return ~(bound <= atol + rtol * np.abs(logistic_normal_log_density(x, loc, scale)))
    return region


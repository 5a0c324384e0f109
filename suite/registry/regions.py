"""Regions for known deviations: predicates over a check's element coordinates (suite.registry.known.Region).

Each receives the coordinates by name (parameters, "name[i]" for the components of a vector parameter,
"at" for the point, "at[i]" for its components) and returns which elements lie inside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import special, stats

from suite.registry.built_references import logistic_normal_log_density, stick_breaking_inverse
from suite.registry.known import Region
from suite.registry.references import QUANTILES
from suite.registry.scores import covariance_of

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
    """A vector or matrix coordinate reassembled from its components ("cov_factor[2,1]"), in trailing axes."""
    keys = [key for key in c if key.startswith(name + "[")]
    indices = [tuple(int(i) for i in key[len(name) + 1:-1].split(",")) for key in keys]
    shape = tuple(max(index[axis] for index in indices) + 1 for axis in range(len(indices[0])))
    values = np.broadcast_arrays(*[np.asarray(c[key], dtype=np.float64) for key in keys])
    out = np.empty(values[0].shape + shape)
    for index, value in zip(indices, values):
        out[(..., *index)] = value
    return out


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


# ----------------------------------------------------------------------------- per-sample Jacobians
# The Jacobian checks evaluate at the reference's quantile grid (QUANTILES): these regions are over parameter sets.

def woodbury_amplification(c) -> np.ndarray:
    """LowRankMultivariateNormal: max over i of S_ii / (cov_diag_i^2 (S^-1)_ii), S = cov_factor cov_factor^T +
    diag(cov_diag). torch writes the Mahalanobis term through the Woodbury identity, r^T D^-1 r minus the
    capacitance term, whose derivatives in cov_diag_i are about r_i^2 / D_i^2 ~ S_ii / D_i^2 each and cancel down
    to the score, about (S^-1)_ii: their rounding is amplified by this ratio."""
    diag = components(c, "cov_diag")
    cov = covariance_of({"cov_factor": components(c, "cov_factor"), "cov_diag": diag})
    precision = np.linalg.inv(cov)
    return (np.diagonal(cov, axis1=-2, axis2=-1)
            / (diag ** 2 * np.diagonal(precision, axis1=-2, axis2=-1))).max(-1)


def woodbury_cancels(ulps: float, rtol: float, dtype: str) -> Region:
    """Where `ulps` ulps of dtype amplified by woodbury_amplification exceed rtol."""
    eps = float(np.finfo(dtype).eps)
    return lambda c: ulps * eps * woodbury_amplification(c) > rtol


ScoreTerms = Callable[[Mapping[str, np.ndarray]], dict[str, list[np.ndarray]]]


def score_cancels(terms: ScoreTerms, ulps: float, rtol: float, dtype: str) -> Region:
    """Where the score of a parameter, a sum of terms (given by `terms` per parameter, each over the quantile grid's
    points on the leading axis), cancels: `ulps` ulps of dtype of the largest sum of |terms| exceed rtol of the
    score's largest |value|, the normwise measure of the Jacobian checks. Each term is rounded to about its own size
    times eps, and the sum keeps that error."""
    eps = float(np.finfo(dtype).eps)

    def region(c) -> np.ndarray:
        inside = []
        for parts in terms(c).values():
            parts = np.broadcast_arrays(*parts)
            magnitude = sum(np.abs(part) for part in parts).max(0)
            inside.append(ulps * eps * magnitude > rtol * np.abs(sum(parts)).max(0))
        return np.logical_or.reduce(inside)
    return region


def _at_quantiles(ppf, *params: np.ndarray) -> np.ndarray:
    params = np.broadcast_arrays(*[np.asarray(p, dtype=np.float64) for p in params])
    return ppf(QUANTILES.reshape((-1,) + (1,) * params[0].ndim), *params)


def student_t_score_terms(c) -> dict[str, list[np.ndarray]]:
    """StudentT's d/d df of log_prob, 1/2 (digamma((df + 1) / 2) - digamma(df / 2) - 1 / df - log1p(z^2 / df)
    + (df + 1) z^2 / (df (df + z^2))), term by term at the standardised quantile points z. For large df the two
    digammas, each about log(df / 2), cancel to about 1 / df, and the score to about 1 / df^2."""
    df = np.asarray(c["df"], dtype=np.float64)
    z2 = _at_quantiles(stats.t.ppf, df) ** 2
    return {"df": [special.digamma((df + 1) / 2) / 2, -special.digamma(df / 2) / 2, -0.5 / df,
                   -np.log1p(z2 / df) / 2, (df + 1) * z2 / (2 * df * (df + z2))]}


def _student_t_kept_squares(c) -> np.ndarray:
    """y^2 = ((x - loc) / scale)^2 at the quantile grid's points that float32 keeps (x and y^2 / df finite, so
    log_prob is; the others are not used), 0 at the rest."""
    df, loc, scale = (np.asarray(c[name], dtype=np.float64) for name in ("df", "loc", "scale"))
    z = _at_quantiles(stats.t.ppf, df)
    top = float(np.finfo(np.float32).max)
    with np.errstate(over="ignore"):
        kept = (np.abs(loc + scale * z) < top) & (z * z <= top) & (z * z / df <= top)
    return np.where(kept, z * z, 0.0)


def student_t_df_score_overflows(c) -> np.ndarray:
    """StudentT, float32: d/d df of log1p(y^2 / df) takes (y^2 / df) / df, which overflows at a point where
    y^2 / df, and so log_prob, is finite: df < 1 and y^2 within a factor df of max / df."""
    y2 = _student_t_kept_squares(c)
    with np.errstate(over="ignore"):
        return (y2 / np.asarray(c["df"]) ** 2 > np.finfo(np.float32).max).any(0)


def student_t_forward_scale_score_overflows(c) -> np.ndarray:
    """StudentT, float32, forward mode: the tangent of y^2 / df along scale, -2 y^2 / scale, then divided by df,
    overflows at a point where log_prob is finite."""
    y2, df, scale = _student_t_kept_squares(c), np.asarray(c["df"]), np.asarray(c["scale"])
    with np.errstate(over="ignore"):
        return (2 * y2 * np.maximum(1.0, 1.0 / df) / scale > np.finfo(np.float32).max).any(0)


def fisher_snedecor_score_terms(c) -> dict[str, list[np.ndarray]]:
    """FisherSnedecor's d/d df1 and d/d df2 of log_prob, term by term at the quantile points x (u = df1 x / df2):
    1/2 (log(df1 / df2) + 1 + log x - log1p(u) - (df1 + df2) x / (df2 (1 + u)) - digamma(df1 / 2)
    + digamma((df1 + df2) / 2)) and 1/2 (-df1 / df2 - log1p(u) + (df1 + df2) u / (df2 (1 + u)) - digamma(df2 / 2)
    + digamma((df1 + df2) / 2)): the digammas cancel where either df is large beside the other."""
    df1, df2 = np.broadcast_arrays(np.asarray(c["df1"], dtype=np.float64), np.asarray(c["df2"], dtype=np.float64))
    x = _at_quantiles(stats.f.ppf, df1, df2)
    u = df1 * x / df2
    both = special.digamma((df1 + df2) / 2) / 2
    return {"df1": [np.log(df1 / df2) / 2, 0.5 + 0 * x, np.log(x) / 2, -np.log1p(u) / 2,
                    -(df1 + df2) * x / (2 * df2 * (1 + u)), -special.digamma(df1 / 2) / 2, both],
            "df2": [-df1 / (2 * df2), -np.log1p(u) / 2, (df1 + df2) * u / (2 * df2 * (1 + u)),
                    -special.digamma(df2 / 2) / 2, both]}


def pareto_scale_score_overflows(c) -> np.ndarray:
    """Pareto: at the grid's largest point x = scale (1 - q)^(-1 / alpha), torch's derivative of x / scale in scale,
    -(x / scale) / scale, overflows float32 where x / scale itself does not (where it does, log_prob is -inf and
    the point is not used): log(x / scale) = -log(1 - q) / alpha lies between log(max) + log(scale) and log(max)."""
    ratio = -np.log1p(-QUANTILES[-1]) / c["alpha"]
    top = np.log(np.finfo(np.float32).max)
    return (ratio - np.log(c["scale"]) > top) & (ratio <= top)


def weibull_reciprocal_overflows(c) -> np.ndarray:
    """Weibull: at the grid's smallest point x = scale (-log(1 - q))^(1 / concentration), torch's derivatives divide
    by x / scale, whose reciprocal overflows float32 below 1 / max, with x itself normal (a subnormal point is not
    used)."""
    ratio = np.log(-np.log1p(-QUANTILES[0])) / c["concentration"]
    return (ratio < -np.log(np.finfo(np.float32).max)) & (ratio + np.log(c["scale"]) >= np.log(
        np.finfo(np.float32).tiny))

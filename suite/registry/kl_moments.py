"""float64 references for KL(p || q) between univariate continuous families, built from p's moments.

KL(p || q) = E_p[log p] - E_p[log q] = -H(p) + CE(p, q). Every q of a registered pair has a log density
made of a few statistics of x (x, (x - m)^2, |x - m|, log x, log(1 - x), exp(-x / s)), so CE(p, q) needs
only p's expectations of those: closed forms in scipy.special, written here independently of torch, with
H(p) from scipy.stats. KL is +inf where p's support is not inside q's or a needed moment diverges.
The magnitude of the terms (`scale`) bounds the cancellation a correct float implementation may suffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

EULER = np.euler_gamma
INF = np.inf
GL_NODES, GL_WEIGHTS = np.polynomial.legendre.leggauss(64)


@dataclass
class Moments:
    """What CE(p, q) needs of p: its support [lo, hi], entropy and expectations (inf where they diverge)."""

    lo: np.ndarray
    hi: np.ndarray
    entropy: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    e_log: np.ndarray | None = None            # E log X (p on the positive half-line)
    e_log1m: np.ndarray | None = None          # E log(1 - X) (p inside [0, 1])
    log_mgf: Callable[[np.ndarray], np.ndarray] | None = None   # t -> log E exp(t X)
    e_abs: Callable[[np.ndarray], np.ndarray] | None = None     # m -> E |X - m|
    # The magnitude of the terms H(p) is the sum of in its usual closed form (lgamma and digamma terms).
    entropy_terms: np.ndarray | None = None


def _gauss_legendre_mean(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(1 / (hi - lo)) * integral of f over [lo, hi], 64-point Gauss-Legendre, per row."""
    x = 0.5 * (lo + hi)[..., None] + 0.5 * (hi - lo)[..., None] * GL_NODES
    return 0.5 * (f(x) * GL_WEIGHTS).sum(-1)


def mean_log_over(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """E log X for X uniform on [lo, hi] (lo >= 0): quadrature where log is smooth on the interval, the
    antiderivative where the interval reaches close to 0 (there it does not cancel)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    width = hi - lo
    with np.errstate(all="ignore"):
        closed = (special.xlogy(hi, hi) - special.xlogy(lo, lo)) / width - 1.0
        smooth = _gauss_legendre_mean(np.log, np.maximum(lo, 1e-300), hi)
    return np.where(lo > 0.1 * width, smooth, closed)


def log_expm1_ratio(z: np.ndarray) -> np.ndarray:
    """log((exp(z) - 1) / z), stable for every real z (z / 2 near 0)."""
    z = np.asarray(z, dtype=float)
    with np.errstate(all="ignore"):
        positive = z + np.log(-np.expm1(-z) / z)
        negative = np.log(np.expm1(z) / z)
    return np.where(np.abs(z) < 1e-10, z / 2, np.where(z > 0, positive, negative))


def _finite_below(t: np.ndarray, bound: np.ndarray, value: np.ndarray) -> np.ndarray:
    return np.where(t < bound, value, INF)


def moments(name: str, p: dict) -> Moments:
    """p's moments for the univariate continuous families that appear as p in a registered pair."""
    with np.errstate(all="ignore"):
        return _MOMENTS[name](p)


def _normal(p: dict) -> Moments:
    loc, scale = p["loc"], p["scale"]

    def e_abs(m):
        d = loc - m
        return scale * np.sqrt(2 / np.pi) * np.exp(-0.5 * (d / scale) ** 2) + d * special.erf(d / (scale * np.sqrt(2)))
    return Moments(np.full_like(loc, -INF), np.full_like(loc, INF), stats.norm(loc, scale).entropy(), loc,
                   scale ** 2, log_mgf=lambda t: loc * t + 0.5 * (scale * t) ** 2, e_abs=e_abs)


def _laplace(p: dict) -> Moments:
    loc, scale = p["loc"], p["scale"]
    return Moments(np.full_like(loc, -INF), np.full_like(loc, INF), stats.laplace(loc, scale).entropy(), loc,
                   2 * scale ** 2,
                   log_mgf=lambda t: _finite_below(np.abs(scale * t), 1.0, loc * t - np.log1p(-(scale * t) ** 2)),
                   e_abs=lambda m: np.abs(loc - m) + scale * np.exp(-np.abs(loc - m) / scale))


def _gumbel(p: dict) -> Moments:
    loc, scale = p["loc"], p["scale"]
    return Moments(np.full_like(loc, -INF), np.full_like(loc, INF), stats.gumbel_r(loc, scale).entropy(),
                   loc + EULER * scale, (np.pi * scale) ** 2 / 6,
                   log_mgf=lambda t: _finite_below(scale * t, 1.0, loc * t + special.gammaln(1 - scale * t)))


def _exponential(p: dict) -> Moments:
    rate = p["rate"]
    return Moments(np.zeros_like(rate), np.full_like(rate, INF), stats.expon(scale=1 / rate).entropy(), 1 / rate,
                   rate ** -2.0, e_log=-EULER - np.log(rate),
                   log_mgf=lambda t: _finite_below(t, rate, -np.log1p(-t / rate)))


def _gamma(p: dict) -> Moments:
    k, rate = p["concentration"], p["rate"]
    entropy = k - np.log(rate) + special.gammaln(k) + (1 - k) * special.digamma(k)
    return Moments(np.zeros_like(k), np.full_like(k, INF), entropy, k / rate,
                   k / rate ** 2, e_log=special.digamma(k) - np.log(rate),
                   log_mgf=lambda t: _finite_below(t, rate, -k * np.log1p(-t / rate)),
                   entropy_terms=k + np.abs(special.gammaln(k)) + np.abs((1 - k) * special.digamma(k))
                   + np.abs(np.log(rate)))


def _beta(p: dict) -> Moments:
    a, b = p["concentration1"], p["concentration0"]
    total = a + b
    entropy = (special.betaln(a, b) - (a - 1) * special.digamma(a) - (b - 1) * special.digamma(b)
               + (total - 2) * special.digamma(total))
    return Moments(np.zeros_like(a), np.ones_like(a), entropy, a / total,
                   a * b / (total ** 2 * (total + 1)), e_log=special.digamma(a) - special.digamma(total),
                   e_log1m=special.digamma(b) - special.digamma(total),
                   entropy_terms=beta_function_terms(a, b))


def beta_function_terms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The magnitude of log B(a, b) and its digamma companions as lgamma and digamma terms."""
    return (np.abs(special.gammaln(a)) + np.abs(special.gammaln(b)) + np.abs(special.gammaln(a + b))
            + np.abs((a - 1) * special.digamma(a)) + np.abs((b - 1) * special.digamma(b))
            + np.abs((a + b - 2) * special.digamma(a + b)))


def _pareto(p: dict) -> Moments:
    scale, alpha = p["scale"], p["alpha"]
    mean = np.where(alpha > 1, alpha * scale / (alpha - 1), INF)
    var = np.where(alpha > 2, scale ** 2 * alpha / ((alpha - 1) ** 2 * (alpha - 2)), INF)
    return Moments(scale, np.full_like(scale, INF), stats.pareto(alpha, scale=scale).entropy(), mean, var,
                   e_log=np.log(scale) + 1 / alpha)


def _uniform(p: dict) -> Moments:
    low, high = p["low"], p["high"]
    width = high - low
    return Moments(low, high, np.log(width), 0.5 * (low + high), width ** 2 / 12,
                   e_log=np.where(low >= 0, mean_log_over(np.maximum(low, 0), high), np.nan),
                   e_log1m=np.where(high <= 1, mean_log_over(np.maximum(1 - high, 0), 1 - low), np.nan),
                   log_mgf=lambda t: t * low + log_expm1_ratio(t * width))


def _continuous_bernoulli(p: dict) -> Moments:
    """Density exp(eta x) / Z on [0, 1], eta = logit(probs): 64-point Gauss-Legendre is exact to rounding
    (the integrand is entire and |eta| < 10), so every moment is a weighted sum."""
    eta = special.logit(p["probs"])[..., None]
    x = 0.5 + 0.5 * GL_NODES
    log_density = eta * x - log_expm1_ratio(eta)
    weights = 0.5 * GL_WEIGHTS * np.exp(log_density)
    mean = (weights * x).sum(-1)
    var = (weights * (x - mean[..., None]) ** 2).sum(-1)
    zeros = np.zeros_like(mean)
    entropy = -(weights * log_density).sum(-1)
    usual_form = np.abs(entropy) + 2 * np.abs(np.log1p(-p["probs"])) + np.log(2) + np.abs(eta[..., 0] * mean)
    return Moments(zeros, zeros + 1, entropy, mean, var, entropy_terms=usual_form)


_MOMENTS: dict[str, Callable[[dict], Moments]] = {
    "Normal": _normal, "Laplace": _laplace, "Gumbel": _gumbel, "Exponential": _exponential, "Gamma": _gamma,
    "Beta": _beta, "Pareto": _pareto, "Uniform": _uniform, "ContinuousBernoulli": _continuous_bernoulli,
}


def q_support(name: str, q: dict) -> tuple[np.ndarray, np.ndarray]:
    first = next(iter(q.values()))
    ones = np.ones_like(first, dtype=float)
    if name in ("Normal", "Laplace", "Gumbel", "Cauchy"):
        return -INF * ones, INF * ones
    if name in ("Exponential", "Gamma"):
        return 0 * ones, INF * ones
    if name in ("Beta", "ContinuousBernoulli"):
        return 0 * ones, ones
    if name == "Pareto":
        return q["scale"], INF * ones
    if name == "Uniform":
        return q["low"], q["high"]
    raise KeyError(name)


def cross_entropy_terms(name: str, q: dict, m: Moments) -> list[np.ndarray]:
    """The terms of CE(p, q) = -E_p[log q(X)] (summed for the value, their magnitudes for the scale)."""
    z = np.zeros_like(m.entropy)
    if name == "Normal":
        loc, scale = q["loc"], q["scale"]
        return [np.log(scale) + 0.5 * np.log(2 * np.pi) + z, (m.var + (m.mean - loc) ** 2) / (2 * scale ** 2)]
    if name == "Laplace":
        return [np.log(2 * q["scale"]) + z, m.e_abs(q["loc"]) / q["scale"]]
    if name == "Exponential":
        return [-np.log(q["rate"]) + z, q["rate"] * m.mean]
    if name == "Gamma":
        k, rate = q["concentration"], q["rate"]
        return [-k * np.log(rate) + special.gammaln(k) + z, -(k - 1) * m.e_log, rate * m.mean]
    if name == "Beta":
        a, b = q["concentration1"], q["concentration0"]
        return [special.betaln(a, b) + z, -(a - 1) * m.e_log, -(b - 1) * m.e_log1m]
    if name == "Pareto":
        scale, alpha = q["scale"], q["alpha"]
        return [-np.log(alpha) - alpha * np.log(scale) + z, (alpha + 1) * m.e_log]
    if name == "Uniform":
        return [np.log(q["high"] - q["low"]) + z]
    if name == "Gumbel":
        loc, scale = q["loc"], q["scale"]
        # E exp(-(X - loc) / scale), in logs so that it overflows only where the KL itself does
        return [np.log(scale) + z, (m.mean - loc) / scale, np.exp(loc / scale + m.log_mgf(-1 / scale))]
    if name == "ContinuousBernoulli":
        eta = special.logit(q["probs"])
        return [log_expm1_ratio(eta) + z, -eta * m.mean]
    raise KeyError(name)


def kl_from_moments(p_name: str, p: dict, q_name: str, q: dict) -> tuple[np.ndarray, np.ndarray]:
    """(KL(p || q), the magnitude of its terms) for univariate continuous p and q, element-wise."""
    m = moments(p_name, p)
    with np.errstate(all="ignore"):
        q_lo, q_hi = q_support(q_name, q)
        inside = (m.lo >= q_lo) & (m.hi <= q_hi)
        terms = cross_entropy_terms(q_name, q, m) if inside.any() else [np.zeros_like(m.entropy)]
        # Outside q's support a term may be NaN (a moment that does not apply); the KL is +inf there.
        value = np.where(inside, sum(terms) - m.entropy, INF)
        entropy_terms = np.abs(m.entropy) if m.entropy_terms is None else m.entropy_terms
        scale = sum(np.abs(t) for t in terms) + entropy_terms
        if q_name == "ContinuousBernoulli":  # its usual form has log C(probs) and log(1 - probs) terms
            scale = scale + 2 * np.abs(np.log1p(-q["probs"])) + np.log(2)
    value = np.where(np.isnan(value) & ~inside, INF, value)
    return value, np.where(np.isfinite(scale), scale, 1.0)

"""KL(p || q) for univariate continuous p and q by numerical integration (scipy.integrate.tanhsinh), from
the densities alone: an independent check on the closed forms of kl_moments and kl_closed.

KL = integral over u in (0, 1) of log p(x(u)) - log q(x(u)), x(u) = p's quantile function: in the quantile
domain the integrand is smooth whatever p's location and scale, with at most logarithmic growth at the ends,
which tanh-sinh handles. The lower part uses ppf(u), the upper part isf(1 - u), so both tails keep full
precision; they meet where log q has a kink (Laplace q), else at the median. Vectorised over the sets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special, stats
from scipy.integrate import tanhsinh

from suite.registry.kl_moments import log_expm1_ratio


class _ContinuousBernoulli:
    """Density exp(eta x) / Z on [0, 1], eta = logit(probs), with its quantile function."""

    def __init__(self, probs: np.ndarray):
        self.eta = special.logit(probs)

    def logpdf(self, x):
        with np.errstate(all="ignore"):
            inside = (x >= 0) & (x <= 1)
            return np.where(inside, self.eta * x - log_expm1_ratio(self.eta), -np.inf)

    def ppf(self, u):
        eta = np.where(np.abs(self.eta) < 1e-8, 1.0, self.eta)
        return np.where(np.abs(self.eta) < 1e-8, u, np.log1p(u * np.expm1(eta)) / eta)

    def isf(self, v):
        return self.ppf(1 - v)


FROZEN: dict[str, Callable[[dict], object]] = {
    "Normal": lambda p: stats.norm(p["loc"], p["scale"]),
    "Laplace": lambda p: stats.laplace(p["loc"], p["scale"]),
    "Gumbel": lambda p: stats.gumbel_r(p["loc"], p["scale"]),
    "Exponential": lambda p: stats.expon(scale=1 / p["rate"]),
    "Gamma": lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
    "Beta": lambda p: stats.beta(p["concentration1"], p["concentration0"]),
    "Pareto": lambda p: stats.pareto(p["alpha"], scale=p["scale"]),
    "Uniform": lambda p: stats.uniform(p["low"], p["high"] - p["low"]),
    "ContinuousBernoulli": lambda p: _ContinuousBernoulli(p["probs"]),
}


def kl_by_quadrature(p_name: str, pp: dict, q_name: str, qp: dict) -> tuple[np.ndarray, np.ndarray]:
    """(KL(p || q), whether tanh-sinh reported convergence), one per parameter set."""
    n = len(next(iter(pp.values())))
    index = np.arange(n, dtype=float)

    def integrand(u, row, upper):
        rows = row.astype(int)  # broadcasts against u
        p = FROZEN[p_name]({k: np.asarray(v, float)[rows] for k, v in pp.items()})
        q = FROZEN[q_name]({k: np.asarray(v, float)[rows] for k, v in qp.items()})
        with np.errstate(all="ignore"):
            x = p.isf(u) if upper else p.ppf(u)
            return p.logpdf(x) - q.logpdf(x)

    # Pieces meet where log p or log q has a kink (a Laplace's loc: p's own at u = 1/2), else at the median.
    below, above = np.full(n, 0.5), np.full(n, 0.5)
    middle = np.zeros(n)
    if q_name == "Laplace":
        p = FROZEN[p_name](pp)
        u_kink, v_kink = p.cdf(qp["loc"]), p.sf(qp["loc"])
        far = (np.minimum(u_kink, v_kink) < 1e-12)  # a kink in p's far tail: leave it to the quadrature
        u_kink, v_kink = np.where(far, 0.5, u_kink), np.where(far, 0.5, v_kink)
        if p_name == "Laplace":  # both kinks: [0, min], [min, max] in the middle, [max, 1]
            below, above = np.minimum(u_kink, 0.5), np.minimum(v_kink, 0.5)
            middle = 1 - below - above
        else:
            below, above = u_kink, v_kink
    lower = tanhsinh(lambda u, row: integrand(u, row, False), 0.0, below, args=(index,), rtol=1e-12, atol=1e-13)
    upper = tanhsinh(lambda u, row: integrand(u, row, True), 0.0, above, args=(index,), rtol=1e-12, atol=1e-13)
    centre = tanhsinh(lambda u, row: integrand(u, row, False), below, below + middle, args=(index,),
                      rtol=1e-12, atol=1e-13)
    converged = (lower.status == 0) & (upper.status == 0) & ((centre.status == 0) | (middle == 0))
    return lower.integral + upper.integral + np.where(middle > 0, centre.integral, 0.0), converged

"""float64 closed forms and exact sums for KL(p || q): same-family pairs, discrete and multivariate ones.

Each returns (KL, the magnitude of its terms) element-wise over the batch; the magnitude bounds the
cancellation a correct float implementation may suffer. Written from the densities (scipy.special,
scipy.stats, numpy.linalg), in forms that stay accurate as p approaches q (KL near 0).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from suite.registry.kl_moments import beta_function_terms
from suite.registry.scores import covariance_of

INF = np.inf
Ref = tuple[np.ndarray, np.ndarray]


def _expm1_minus(x: np.ndarray) -> np.ndarray:
    """exp(x) - 1 - x, accurate near x = 0 (r - 1 - log r at r = exp(x))."""
    return np.where(np.abs(x) < 1e-3, x * x / 2 * (1 + x / 3 * (1 + x / 4)), np.expm1(x) - x)


def _scale_of(*terms: np.ndarray) -> np.ndarray:
    return sum(np.abs(t) for t in terms)


def normal_normal(p: dict, q: dict) -> Ref:
    log_ratio = 2 * (np.log(p["scale"]) - np.log(q["scale"]))
    mahalanobis = 0.5 * ((p["loc"] - q["loc"]) / q["scale"]) ** 2
    return 0.5 * _expm1_minus(log_ratio) + mahalanobis, _scale_of(1, log_ratio, np.exp(log_ratio), mahalanobis)


def halfnormal_halfnormal(p: dict, q: dict) -> Ref:
    log_ratio = 2 * (np.log(p["scale"]) - np.log(q["scale"]))
    return 0.5 * _expm1_minus(log_ratio), _scale_of(1, log_ratio, np.exp(log_ratio))


def exponential_exponential(p: dict, q: dict) -> Ref:
    log_ratio = np.log(q["rate"]) - np.log(p["rate"])
    return _expm1_minus(log_ratio), _scale_of(1, log_ratio, np.exp(log_ratio))


def gamma_gamma(p: dict, q: dict) -> Ref:
    kp, rp, kq, rq = p["concentration"], p["rate"], q["concentration"], q["rate"]
    terms = [(kp - kq) * special.digamma(kp), special.gammaln(kq) - special.gammaln(kp),
             kq * (np.log(rp) - np.log(rq)), kp * (rq - rp) / rp]
    return sum(terms), _scale_of(*terms, special.gammaln(kq), special.gammaln(kp), kp, kq * np.log(rp))


def beta_beta(p: dict, q: dict) -> Ref:
    ap, bp, aq, bq = p["concentration1"], p["concentration0"], q["concentration1"], q["concentration0"]
    terms = [special.betaln(aq, bq) - special.betaln(ap, bp), (ap - aq) * special.digamma(ap),
             (bp - bq) * special.digamma(bp), (aq - ap + bq - bp) * special.digamma(ap + bp)]
    return sum(terms), _scale_of(*terms) + beta_function_terms(ap, bp) + beta_function_terms(aq, bq)


def laplace_laplace(p: dict, q: dict) -> Ref:
    distance = np.abs(p["loc"] - q["loc"])
    log_ratio = np.log(p["scale"]) - np.log(q["scale"])
    # log(bq/bp) + (bp/bq) exp(-d/bp) - 1 + d/bq, with the d = 0 part as exp(l) - 1 - l
    tail = np.exp(log_ratio) * np.expm1(-distance / p["scale"])
    terms = [_expm1_minus(log_ratio), tail, distance / q["scale"]]
    return sum(terms), _scale_of(1, log_ratio, np.exp(log_ratio), *terms)


def cauchy_cauchy(p: dict, q: dict) -> Ref:
    # log(((sp + sq)^2 + d^2) / (4 sp sq)) (Chyzak and Nielsen 2019), as log1p of the excess over 1
    excess = ((p["scale"] - q["scale"]) ** 2 + (p["loc"] - q["loc"]) ** 2) / (4 * p["scale"] * q["scale"])
    value = np.log1p(excess)
    return value, np.abs(value) + 1


def uniform_uniform(p: dict, q: dict) -> Ref:
    inside = (p["low"] >= q["low"]) & (p["high"] <= q["high"])
    value = np.log(q["high"] - q["low"]) - np.log(p["high"] - p["low"])
    return np.where(inside, value, INF), np.abs(np.log(q["high"] - q["low"])) + np.abs(np.log(p["high"] - p["low"]))


# Discrete: exact sums over the support.

def _rel_entr_of_complements(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """rel_entr(1 - p, 1 - q) with its logs as log1p where p, q < 1: accurate relative to p and q near 0,
    where forming 1 - q rounds it by eps / 2, an absolute error of eps / 2 on a term of size q."""
    with np.errstate(divide="ignore", invalid="ignore"):
        accurate = (1 - p) * (np.log1p(-p) - np.log1p(-q))
    return np.where((p < 1) & (q < 1), accurate, special.rel_entr(1 - p, 1 - q))


def bernoulli_bernoulli(p: dict, q: dict) -> Ref:
    value = special.rel_entr(p["probs"], q["probs"]) + _rel_entr_of_complements(p["probs"], q["probs"])
    return value, _scale_of(value, special.entr(p["probs"]) + special.entr(1 - p["probs"]))


def bernoulli_poisson(p: dict, q: dict) -> Ref:
    probs, rate = p["probs"], q["rate"]
    with np.errstate(divide="ignore"):
        log_q0, log_q1 = -rate, np.log(rate) - rate
    value = special.rel_entr(1 - probs, np.exp(log_q0)) + special.rel_entr(probs, np.exp(log_q1))
    # rel_entr underflows once exp(-rate) does; the same sum in logs:
    logs = special.xlogy(1 - probs, 1 - probs) - (1 - probs) * log_q0 + special.xlogy(probs, probs) - probs * log_q1
    value = np.where(np.isfinite(value) & (rate < 700), value, logs)
    return value, _scale_of(rate, probs * np.log(rate), 1)


def binomial_binomial(p: dict, q: dict) -> Ref:
    """Exact sum over k = 0..n_p of pmf_p(k) log(pmf_p(k) / pmf_q(k)); +inf where n_p > n_q."""
    n_p, n_q = p["total_count"], q["total_count"]
    k = np.arange(int(np.max(n_p)) + 1)
    with np.errstate(all="ignore"):
        log_p = stats.binom.logpmf(k, n_p[:, None], p["probs"][:, None])
        log_q = stats.binom.logpmf(k, n_q[:, None], q["probs"][:, None])
        weight = np.exp(log_p)
        terms = np.where(weight > 0, weight * (log_p - log_q), 0.0)
    value = np.where(n_p > n_q, INF, terms.sum(-1))
    # The usual closed form n (p (logit p - logit q) + log(1 - p) - log(1 - q)) sums terms of these sizes:
    pp, pq = p["probs"], q["probs"]
    with np.errstate(all="ignore"):
        usual = n_p * (pp * (np.abs(special.logit(pp)) + np.abs(special.logit(pq)))
                       + np.abs(np.log1p(-pp)) + np.abs(np.log1p(-pq)))
    return value, np.where(np.isfinite(usual), usual, 0) + np.where(np.isfinite(value), np.abs(value), 1)


def categorical_categorical(p: dict, q: dict) -> Ref:
    probs_p = p["probs"] / p["probs"].sum(-1, keepdims=True)
    probs_q = q["probs"] / q["probs"].sum(-1, keepdims=True)
    value = special.rel_entr(probs_p, probs_q).sum(-1)
    return value, np.abs(value) + special.entr(probs_p).sum(-1) + 1


def geometric_geometric(p: dict, q: dict) -> Ref:
    # pmf pi (1 - pi)^k on k = 0, 1, ...: sum = log(pp / pq) + E[k] log((1 - pp) / (1 - pq)), E[k] = (1 - pp) / pp
    pp, pq = p["probs"], q["probs"]
    terms = [np.log(pp) - np.log(pq), (1 - pp) / pp * (np.log1p(-pp) - np.log1p(-pq))]
    # the usual form -H(p) - E_p log q sums terms of the size of H(p) and E[k] |log(1 - pq)| + |log pq|
    entropy = -(special.xlogy(pp, pp) + special.xlog1py(1 - pp, -pp)) / pp
    return sum(terms), _scale_of(*terms, entropy, (1 - pp) / pp * np.log1p(-pq), np.log(pq)) + 1


def poisson_poisson(p: dict, q: dict) -> Ref:
    rp, rq = p["rate"], q["rate"]
    return special.kl_div(rp, rq), rp * np.abs(np.log(rp / rq)) + rp + rq


def always_infinite(p: dict, q: dict) -> Ref:
    """p's support is never inside q's (an unbounded support against a bounded one, and the like)."""
    n = len(next(v for v in p.values() if not isinstance(v, int)))
    return np.full(n, INF), np.ones(n)


# Multivariate.

def dirichlet_dirichlet(p: dict, q: dict) -> Ref:
    a, b = p["concentration"], q["concentration"]
    a0 = a.sum(-1)
    terms = [special.gammaln(a0) - special.gammaln(b.sum(-1)), (special.gammaln(b) - special.gammaln(a)).sum(-1),
             ((a - b) * (special.digamma(a) - special.digamma(a0)[..., None])).sum(-1)]
    return sum(terms), _scale_of(*terms) + np.abs(special.gammaln(a)).sum(-1)


def gaussian_gaussian(p: dict, q: dict) -> Ref:
    cov_p, cov_q = covariance_of(p), covariance_of(q)
    d = cov_p.shape[-1]
    diff = (q["loc"] - p["loc"])[..., None]
    trace = np.trace(np.linalg.solve(cov_q, cov_p), axis1=-2, axis2=-1)
    mahalanobis = (diff * np.linalg.solve(cov_q, diff)).sum((-2, -1))
    logdet = np.linalg.slogdet(cov_q)[1] - np.linalg.slogdet(cov_p)[1]
    # Solves and factorisations are backward stable: their relative error is the condition number times eps.
    condition = np.maximum(np.linalg.cond(cov_p), np.linalg.cond(cov_q))
    magnitude = 0.5 * (np.abs(trace) + d + mahalanobis + np.abs(logdet)) * condition
    return 0.5 * (trace - d + mahalanobis + logdet), magnitude


def _multidigamma(a: np.ndarray, d: int) -> np.ndarray:
    return sum(special.digamma(a - 0.5 * i) for i in range(d))


def wishart_wishart(p: dict, q: dict) -> Ref:
    n_p, n_q, cov_p, cov_q = p["df"], q["df"], p["covariance_matrix"], q["covariance_matrix"]
    d = cov_p.shape[-1]
    logdet_ratio = np.linalg.slogdet(cov_q)[1] - np.linalg.slogdet(cov_p)[1]
    trace = np.trace(np.linalg.solve(cov_q, cov_p), axis1=-2, axis2=-1)
    terms = [0.5 * n_q * logdet_ratio, 0.5 * n_p * (trace - d),
             special.multigammaln(n_q / 2, d) - special.multigammaln(n_p / 2, d),
             0.5 * (n_p - n_q) * _multidigamma(n_p / 2, d)]
    return sum(terms), _scale_of(*terms) + n_p * d

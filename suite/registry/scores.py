"""Analytic scores d log_prob / d parameter, the reference of the per-sample Jacobian checks; a registry
entry names its score (`Family.score`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

# Each maps float64 numpy parameters (leading axis n) and x (N, n, *event) to d log_prob / d param,
# shaped (N, n, *param_event) (or broadcastable to it).


def location_scale(dlogf: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], loc_name="loc"):
    """log p = log f(z) - log scale, z = (x - loc) / scale; dlogf(z) -> (d log f/dz, ...)."""
    def score(p, x):
        loc = p.get(loc_name, 0.0)
        z = (x - loc) / p["scale"]
        g = dlogf(z)
        return {loc_name: -g / p["scale"], "scale": -(1 + g * z) / p["scale"]}
    return score


def gamma(p, x):
    a, b = p["concentration"], p["rate"]
    return {"concentration": np.log(b) + np.log(x) - special.digamma(a), "rate": a / b - x}


def dirichlet(p, x):
    a = p["concentration"]
    return {"concentration": np.log(x) + special.digamma(a.sum(-1, keepdims=True)) - special.digamma(a)}


def beta(p, x):
    a, b = p["concentration1"], p["concentration0"]
    both = special.digamma(a + b)
    return {"concentration1": np.log(x) + both - special.digamma(a),
            "concentration0": np.log1p(-x) + both - special.digamma(b)}


def categorical(p, x):
    probs = p["probs"]
    one_hot = (np.arange(probs.shape[-1]) == x[..., None]).astype(float)
    return {"probs": one_hot / probs - 1 / probs.sum(-1, keepdims=True)}


def one_hot(p, x):
    probs = p["probs"]
    return {"probs": x / probs - x.sum(-1, keepdims=True) / probs.sum(-1, keepdims=True)}


def mvn_from_cov(cov, loc, x):
    """(d/d loc, d/d cov) of the Gaussian log density; d/d cov is the symmetric 1/2 (S r r^T S - S)."""
    precision = np.linalg.inv(cov)
    r = x - loc
    s = np.einsum("...ij,...j->...i", precision, r)
    return s, 0.5 * (s[..., :, None] * s[..., None, :] - precision)


def covariance_of(params: dict) -> np.ndarray | None:
    """The covariance matrix a parameter set describes (covariance_matrix, or cov_factor cov_factor^T + diag(cov_diag)
    of LowRankMultivariateNormal); None for a family without one."""
    if "covariance_matrix" in params:
        return np.asarray(params["covariance_matrix"])
    if "cov_factor" not in params:
        return None
    factor = np.asarray(params["cov_factor"])
    return factor @ np.swapaxes(factor, -1, -2) + np.einsum("...i,ij->...ij", params["cov_diag"],
                                                            np.eye(factor.shape[-2]))


def mvn(p, x):
    d_loc, d_cov = mvn_from_cov(p["covariance_matrix"], p["loc"], x)
    return {"loc": d_loc, "covariance_matrix": d_cov}


def low_rank_mvn(p, x):
    d_loc, d_cov = mvn_from_cov(covariance_of(p), p["loc"], x)
    return {"loc": d_loc, "cov_factor": 2 * d_cov @ p["cov_factor"],
            "cov_diag": np.diagonal(d_cov, axis1=-2, axis2=-1)}


def student_t(p, x):
    nu, scale = p["df"], p["scale"]
    z = (x - p["loc"]) / scale
    q = nu + z * z
    return {"loc": (nu + 1) * z / (scale * q),
            "scale": (-1 + (nu + 1) * z * z / q) / scale,
            "df": 0.5 * (special.digamma((nu + 1) / 2) - special.digamma(nu / 2) - 1 / nu - np.log1p(z * z / nu)
                         + (nu + 1) * z * z / (nu * q))}


def weibull(p, x):
    k, lam = p["concentration"], p["scale"]
    log_ratio = np.log(x / lam)
    power = (x / lam) ** k
    return {"scale": k / lam * (power - 1), "concentration": 1 / k + log_ratio - power * log_ratio}


def von_mises(p, x):
    k, delta = p["concentration"], x - p["loc"]
    return {"loc": k * np.sin(delta), "concentration": np.cos(delta) - special.i1e(k) / special.i0e(k)}


def normal_dlogf(z):
    return -z




def _cauchy_dlogf(z):
    return -2 * z / (1 + z * z)


normal = location_scale(normal_dlogf)
cauchy = location_scale(_cauchy_dlogf)
laplace = location_scale(lambda z: -np.sign(z))
gumbel = location_scale(lambda z: np.exp(-z) - 1)


def log_normal(p, x):
    return normal(p, np.log(x))


def exponential(p, x):
    return {"rate": 1 / p["rate"] - x}


def poisson(p, x):
    return {"rate": x / p["rate"] - 1}


def chi2(p, x):
    return {"df": 0.5 * (np.log(x / 2) - special.digamma(p["df"] / 2))}


def inverse_gamma(p, x):
    return {"concentration": np.log(p["rate"]) - special.digamma(p["concentration"]) - np.log(x),
            "rate": p["concentration"] / p["rate"] - 1 / x}


def pareto(p, x):
    return {"alpha": 1 / p["alpha"] + np.log(p["scale"] / x), "scale": p["alpha"] / p["scale"]}


def uniform(p, x):
    return {"low": 1 / (p["high"] - p["low"]), "high": -1 / (p["high"] - p["low"])}


def bernoulli(p, x):
    return {"probs": x / p["probs"] - (1 - x) / (1 - p["probs"])}


def binomial(p, x):
    return {"probs": x / p["probs"] - (p["total_count"] - x) / (1 - p["probs"])}


def geometric(p, x):
    return {"probs": 1 / p["probs"] - x / (1 - p["probs"])}


def negative_binomial(p, x):
    return {"total_count": special.digamma(p["total_count"] + x) - special.digamma(p["total_count"])
            + np.log1p(-p["probs"]),
            "probs": x / p["probs"] - p["total_count"] / (1 - p["probs"])}

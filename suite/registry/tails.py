"""mpmath references for the deep tails, where scipy's own quantiles and cdf lose precision.

Each evaluates log_prob and cdf one element at a time in 50-digit arithmetic (the tail grids are a few dozen
points). The edge tail check uses them where scipy's round trip cdf(ppf(p)) = p fails (see
suite.checks.edge_tails).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import mpmath
import numpy as np

DIGITS = 50
Row = Mapping[str, float]


class MpmathTail:
    def __init__(self, log_prob: Callable[[Row, mpmath.mpf], mpmath.mpf],
                 cdf: Callable[[Row, mpmath.mpf], mpmath.mpf], name: str):
        self._log_prob, self._cdf, self.name = log_prob, cdf, name

    def _each(self, fn, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        rows = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), x.shape) for k, v in params.items()
                if np.ndim(v) <= 1}
        out = np.full(x.shape, np.nan)
        with mpmath.workdps(DIGITS):
            for index in np.ndindex(x.shape):
                if np.isfinite(x[index]):
                    out[index] = float(fn({k: mpmath.mpf(float(v[index])) for k, v in rows.items()},
                                          mpmath.mpf(float(x[index]))))
        return out

    def log_prob(self, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        return self._each(self._log_prob, params, x)

    def cdf(self, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        return self._each(self._cdf, params, x)


def _student_t_log_prob(p: Row, x):
    v, z = p["df"], (x - p["loc"]) / p["scale"]
    return (mpmath.loggamma((v + 1) / 2) - mpmath.loggamma(v / 2) - mpmath.log(v * mpmath.pi) / 2
            - mpmath.log(p["scale"]) - (v + 1) / 2 * mpmath.log1p(z * z / v))


def _student_t_cdf(p: Row, x):
    v, z = p["df"], (x - p["loc"]) / p["scale"]
    lower = mpmath.betainc(v / 2, mpmath.mpf(1) / 2, 0, v / (v + z * z), regularized=True) / 2
    return lower if z < 0 else 1 - lower


def _gamma_log_prob(a, rate, x):
    if x <= 0:
        return mpmath.ninf
    return a * mpmath.log(rate) + (a - 1) * mpmath.log(x) - rate * x - mpmath.loggamma(a)


def _gamma_cdf(a, rate, x):
    return mpmath.gammainc(a, 0, rate * x, regularized=True) if x > 0 else mpmath.mpf(0)


STUDENT_T = MpmathTail(_student_t_log_prob, _student_t_cdf, "mpmath: loggamma closed form, betainc for the cdf")
GAMMA = MpmathTail(lambda p, x: _gamma_log_prob(p["concentration"], p["rate"], x),
                   lambda p, x: _gamma_cdf(p["concentration"], p["rate"], x),
                   "mpmath: loggamma closed form, regularized gammainc for the cdf")
CHI2 = MpmathTail(lambda p, x: _gamma_log_prob(p["df"] / 2, mpmath.mpf(1) / 2, x),
                  lambda p, x: _gamma_cdf(p["df"] / 2, mpmath.mpf(1) / 2, x),
                  "mpmath: Gamma(df/2, rate 1/2), regularized gammainc for the cdf")

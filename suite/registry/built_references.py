"""Float64 references for the families scipy.stats lacks, built from scipy pieces: closed forms in
scipy.special, numerical integration, and transforms or mixtures of scipy.stats laws. Batched like every
Reference: parameters carry a leading axis of n parameter sets."""

from __future__ import annotations

import numpy as np
from scipy import integrate, special, stats

from suite.registry.references import QUANTILES, Reference


class KumaraswamyReference(Reference):
    """Kumaraswamy(a, b): closed forms written with scipy.special (scipy.stats has no Kumaraswamy)."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.a, self.b = a, b

    @property
    def n(self):
        return self.a.shape[0]

    def log_prob(self, x):
        a, b = self.a, self.b
        return np.log(a) + np.log(b) + special.xlogy(a - 1, x) + (b - 1) * self._log_one_minus_x_pow_a(x)

    def _log_one_minus_x_pow_a(self, x):
        with np.errstate(divide="ignore"):
            return np.log(-np.expm1(self.a * np.log(x)))

    def cdf(self, x):
        return -np.expm1(self.b * self._log_one_minus_x_pow_a(x))

    def icdf(self, q):
        return (-np.expm1(np.log1p(-q) / self.b)) ** (1 / self.a)

    def _raw_moment(self, k):
        return self.b * special.beta(1 + k / self.a, self.b)

    def mean(self):
        return self._raw_moment(1)

    def variance(self):
        return self._raw_moment(2) - self._raw_moment(1) ** 2

    def entropy(self):
        a, b = self.a, self.b
        harmonic_b = special.digamma(b + 1) + np.euler_gamma
        return (1 - 1 / b) + (1 - 1 / a) * harmonic_b - np.log(a * b)

    def mode(self):
        a, b = self.a, self.b
        defined = (a >= 1) & (b >= 1) & ~((a == 1) & (b == 1))
        return np.where(defined, ((a - 1) / (a * b - 1)) ** (1 / a), np.nan)

    def outside(self):
        return [np.full(self.n, -1e-3), np.full(self.n, 1 + 1e-3)]


class ContinuousBernoulliReference(Reference):
    """ContinuousBernoulli(p): normaliser and moments by numerical integration (scipy.integrate)."""

    def __init__(self, p: np.ndarray):
        self.p = p
        self.log_norm = -np.log(self._integrate(lambda x: np.ones_like(x)))

    @property
    def n(self):
        return self.p.shape[0]

    def _unnormalised(self, x):
        return np.exp(special.xlogy(x, self.p) + special.xlog1py(1 - x, -self.p))

    def _integrate(self, weight):
        # probs of exactly 0 or 1 make the density a point mass: not integrable, left undefined (NaN)
        proper = (self.p > 0) & (self.p < 1)
        if proper.all():
            value, _ = integrate.quad_vec(lambda x: weight(x) * self._unnormalised(x), 0.0, 1.0,
                                          epsabs=0, epsrel=1e-13)
            return value
        value = np.full(self.p.shape, np.nan)
        if proper.any():
            value[proper] = ContinuousBernoulliReference(self.p[proper])._integrate(
                lambda x: np.broadcast_to(weight(x), self.p.shape)[..., proper] if np.ndim(weight(x)) else weight(x))
        return value

    def log_prob(self, x):
        return special.xlogy(x, self.p) + special.xlog1py(1 - x, -self.p) + self.log_norm

    def cdf(self, x):
        return np.stack([self._cdf_row(xi) for xi in x])

    def _cdf_row(self, x):
        value, _ = integrate.quad_vec(lambda t: t * 0 + self._unnormalised(t * x), 0.0, 1.0,
                                      epsabs=0, epsrel=1e-13)
        return value * x * np.exp(self.log_norm)

    def icdf(self, q):
        p = self.p
        return np.log1p(q * (2 * p - 1) / (1 - p)) / (np.log(p) - np.log1p(-p))

    def mean(self):
        return self._integrate(lambda x: x) * np.exp(self.log_norm)

    def variance(self):
        # Centred at 1/2, where the mean is for probs near 1/2: E[(x - 1/2)^2] - (mean - 1/2)^2 does not
        # cancel the way E[x^2] - mean^2 does.
        centred = self._integrate(lambda x: (x - 0.5) ** 2) * np.exp(self.log_norm)
        return centred - (self.mean() - 0.5) ** 2

    def entropy(self):
        return -(self._integrate(lambda x: self.log_prob(x)) * np.exp(self.log_norm))

    def outside(self):
        return [np.full(self.n, -1e-3), np.full(self.n, 1 + 1e-3)]


class LogisticNormalReference(Reference):
    """LogisticNormal(loc, scale) as torch defines it, through StickBreakingTransform:
    log(x_i / (1 - sum_{j<=i} x_j)) + log(K - 1 - i) ~ Normal(loc_i, scale_i), i < K - 1, from scipy.stats.norm.

    (torch's docstring omits the log(K - 1 - i) offset; see FINDINGS.md.)
    """

    event_dim = 1

    def __init__(self, loc: np.ndarray, scale: np.ndarray):
        self.loc, self.scale = loc, scale

    @property
    def n(self):
        return self.loc.shape[0]

    def log_prob(self, x):
        return logistic_normal_log_density(x, self.loc, self.scale)

    @property
    def _offset(self):
        k_minus_1 = self.loc.shape[-1]
        return np.log(k_minus_1 - np.arange(k_minus_1))

    def values(self, rng):
        y = stats.norm.ppf(QUANTILES[:, None, None], self.loc, self.scale)
        stick = special.expit(y - self._offset)
        remaining = np.cumprod(np.concatenate([np.ones_like(stick[..., :1]), 1 - stick], -1), -1)
        return np.concatenate([stick, np.ones_like(stick[..., :1])], -1) * remaining

    def outside(self):
        k = self.loc.shape[-1] + 1
        return [np.full((self.n, k), 1.0 / (k - 1)), np.full((self.n, k), 1.0 / k) * np.r_[-1, [3] * (k - 1)] / 2]


def logistic_normal_log_density(x: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """LogisticNormal's log density at simplex points x (..., K) as torch reads them: the first K - 1
    coordinates, the last taken as 1 - their sum."""
    y, remaining = stick_breaking_inverse(x)
    jacobian = np.log(x[..., :-1]).sum(-1) + np.log(remaining[..., -1])
    return stats.norm.logpdf(y, loc, scale).sum(-1) - jacobian


def stick_breaking_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """StickBreakingTransform's inverse y_i = log(x_i / r_i) + log(K - 1 - i) at simplex points x (..., K), and
    the remainders r_i = 1 - sum_{j <= i} x_j, i < K - 1. The remainders are summed exactly (to float64 rounding
    of the result): 1 - cumsum(x) in float64 is off by eps absolute, eps / r relative at a remainder r."""
    remaining = one_minus_cumsum(x[..., :-1])
    k_minus_1 = remaining.shape[-1]
    return np.log(x[..., :-1]) - np.log(remaining) + np.log(k_minus_1 - np.arange(k_minus_1)), remaining


def one_minus_cumsum(x: np.ndarray) -> np.ndarray:
    """1 - cumsum(x, -1) with each term's rounding error carried along (Neumaier's compensated summation):
    accurate to a few ulps of each result, where 1 - cumsum(x) in float64 is accurate to eps absolute."""
    total = np.ones_like(x[..., 0])
    carried = np.zeros_like(total)
    out = np.empty_like(x)
    for i in range(x.shape[-1]):
        term = -x[..., i]
        added = total + term
        carried += np.where(np.abs(total) >= np.abs(term), (total - added) + term, (term - added) + total)
        total = added
        out[..., i] = total + carried
    return out


class RelaxedBernoulliReference(Reference):
    """RelaxedBernoulli(t, p): logit(x) ~ scipy.stats.logistic(loc=logit(p)/t, scale=1/t)."""

    def __init__(self, temperature: np.ndarray, probs: np.ndarray):
        self.logit = stats.logistic(loc=special.logit(probs) / temperature, scale=1 / temperature)

    @property
    def n(self):
        return self.logit.mean().shape[0]

    def log_prob(self, x):
        return self.logit.logpdf(special.logit(x)) - np.log(x) - np.log1p(-x)

    def cdf(self, x):
        return self.logit.cdf(special.logit(x))

    def icdf(self, q):
        return special.expit(self.logit.ppf(q))

    def outside(self):
        return [np.full(self.n, -1e-3), np.full(self.n, 1 + 1e-3)]


class ConcreteReference(Reference):
    """RelaxedOneHotCategorical(t, p): the Concrete density of Maddison et al. (2017), scipy.special."""

    event_dim = 1

    def __init__(self, temperature: np.ndarray, probs: np.ndarray):
        self.t, self.probs = np.asarray(temperature), probs / probs.sum(-1, keepdims=True)
        self.k = probs.shape[-1]

    @property
    def n(self):
        return self.probs.shape[0]

    def log_prob(self, x):
        t, logp, k = self.t[..., None], np.log(self.probs), self.k
        score = logp - (t + 1) * np.log(x)
        return (special.gammaln(k) + (k - 1) * np.log(self.t) + score.sum(-1)
                - k * special.logsumexp(logp - t * np.log(x), axis=-1))

    def values(self, rng):
        gumbel = rng.gumbel(size=(len(QUANTILES), self.n, self.k))
        return special.softmax((np.log(self.probs) + gumbel) / self.t[..., None], axis=-1)

    def outside(self):
        return [np.full((self.n, self.k), 1.0 / (self.k - 1)), np.zeros((self.n, self.k))]


class NormalMixtureReference(Reference):
    """MixtureSameFamily(Categorical(w), Normal(mu, s)) from scipy.stats.norm and logsumexp."""

    def __init__(self, weights: np.ndarray, loc: np.ndarray, scale: np.ndarray):
        self.w, self.loc, self.scale = weights, loc, scale

    @property
    def n(self):
        return self.w.shape[0]

    def log_prob(self, x):
        return special.logsumexp(np.log(self.w) + stats.norm.logpdf(x[..., None], self.loc, self.scale), axis=-1)

    def cdf(self, x):
        return (self.w * stats.norm.cdf(x[..., None], self.loc, self.scale)).sum(-1)

    def mean(self):
        return (self.w * self.loc).sum(-1)

    def variance(self):
        return (self.w * (self.scale**2 + self.loc**2)).sum(-1) - self.mean() ** 2

    def values(self, rng):
        component = np.arange(len(QUANTILES)) % self.w.shape[-1]
        loc = self.loc[:, component].T
        scale = self.scale[:, component].T
        return stats.norm.ppf(QUANTILES[:, None], loc, scale)


class LKJ2Reference(Reference):
    """LKJCholesky(2, eta): the correlation r = L[1, 0] has (r + 1) / 2 ~ scipy.stats.beta(eta, eta)."""

    event_dim = 2

    def __init__(self, concentration: np.ndarray):
        self.beta = stats.beta(concentration, concentration)

    @property
    def n(self):
        return self.beta.mean().shape[0]

    def log_prob(self, x):
        return self.beta.logpdf((x[..., 1, 0] + 1) / 2) - np.log(2)

    def values(self, rng):
        r = 2 * self.beta.ppf(QUANTILES[:, None] * np.ones((1, self.n))) - 1
        factor = np.zeros((*r.shape, 2, 2))
        factor[..., 0, 0] = 1
        factor[..., 1, 0] = r
        factor[..., 1, 1] = np.sqrt(1 - r**2)
        return factor

    def outside(self):
        upper = np.tile(np.array([[1.0, 0.5], [0.0, 1.0]]), (self.n, 1, 1))
        unnormalised = np.tile(np.array([[2.0, 0.0], [0.5, 1.0]]), (self.n, 1, 1))
        return [upper, unnormalised]

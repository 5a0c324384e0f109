"""Float64 references for each family: scipy.stats where it has the family, scipy pieces otherwise.

Every reference is batched: parameters carry a leading axis of n parameter sets and the
methods return arrays over that axis, so one torch call is compared element-wise with one
vectorised scipy call. Methods a reference cannot provide raise NotImplementedError.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy import integrate, special, stats

QUANTILES = np.array([1e-6, 1e-3, 0.05, 0.25, 0.5, 0.75, 0.95, 1 - 1e-3, 1 - 1e-6])
TAIL_QUANTILES = np.array([1e-6, 1 - 1e-6])


class Reference:
    """Reference values for n parameter sets. x arrays are shaped (m, n, *event_shape)."""

    event_dim = 0

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def cdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def icdf(self, q: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mean(self) -> np.ndarray:
        raise NotImplementedError

    def variance(self) -> np.ndarray:
        raise NotImplementedError

    def stddev(self) -> np.ndarray:
        return np.sqrt(self.variance())

    def entropy(self) -> np.ndarray:
        raise NotImplementedError

    def mode(self) -> np.ndarray:
        raise NotImplementedError

    def enumerate_support(self) -> np.ndarray:
        raise NotImplementedError

    def values(self, rng: np.random.Generator) -> np.ndarray:
        """Points of the support to evaluate at: the quantile grid, bulk and both tails."""
        return self.icdf(QUANTILES[:, None] * np.ones((1, self.n)))

    def outside(self) -> list[np.ndarray]:
        """Points outside the support (each shaped like one row of values())."""
        return []

    @property
    def n(self) -> int:
        raise NotImplementedError


class ScipyReference(Reference):
    """A frozen, broadcast scipy.stats distribution over n parameter sets."""

    def __init__(self, frozen, discrete: bool = False, mode: Callable[[], np.ndarray] | None = None):
        self.frozen = frozen
        self.discrete = discrete
        self._mode = mode

    @property
    def n(self) -> int:
        return int(np.broadcast(*self.frozen.args, *self.frozen.kwds.values()).shape[0])

    def log_prob(self, x):
        return self.frozen.logpmf(x) if self.discrete else self.frozen.logpdf(x)

    def cdf(self, x):
        return self.frozen.cdf(x)

    def icdf(self, q):
        return self.frozen.ppf(q)

    def mean(self):
        return self.frozen.mean()

    def variance(self):
        return self.frozen.var()

    def stddev(self):
        return self.frozen.std()

    def entropy(self):
        return self.frozen.entropy()

    def mode(self):
        if self._mode is None:
            raise NotImplementedError
        return self._mode()

    def outside(self):
        lower, upper = self.frozen.support()
        lower = np.broadcast_to(lower, (self.n,)).astype(float)
        upper = np.broadcast_to(upper, (self.n,)).astype(float)
        step = 1.0 if self.discrete else 1e-3
        points = []
        if np.all(np.isfinite(lower)):
            points.append(lower - step * np.maximum(1.0, np.abs(lower)))
        if np.all(np.isfinite(upper)):
            points.append(upper + step * np.maximum(1.0, np.abs(upper)))
        if self.discrete:
            points.append(self.icdf(np.full(self.n, 0.5)) + 0.5)
        return points



def accepting_scipy(reference: Callable[[dict], object]) -> Callable[[dict], Reference]:
    """`reference`, where it returns a frozen scipy.stats distribution, returning it as a ScipyReference."""
    if getattr(reference, "accepts_scipy", False):
        return reference

    def wrapped(params: dict) -> Reference:
        found = reference(params)
        if isinstance(found, Reference):
            return found
        if isinstance(getattr(found, "dist", None), (stats.rv_continuous, stats.rv_discrete)):
            return ScipyReference(found, discrete=isinstance(found.dist, stats.rv_discrete))
        raise TypeError(f"a reference must be a suite Reference or a frozen scipy.stats distribution, "
                        f"not {type(found).__name__}")
    wrapped.accepts_scipy = True
    return wrapped

class FiniteDiscreteReference(ScipyReference):
    """A scipy discrete distribution whose support is {0, ..., upper}, enumerable."""

    def __init__(self, frozen, upper: int, mode=None):
        super().__init__(frozen, discrete=True, mode=mode)
        self.upper = upper

    def enumerate_support(self):
        return np.arange(self.upper + 1, dtype=float)[:, None] * np.ones((1, self.n))


class CategoricalReference(Reference):
    """Categorical(probs) through scipy.stats.multinomial(1, probs) on one-hot vectors."""

    def __init__(self, probs: np.ndarray, one_hot: bool = False):
        self.probs = probs / probs.sum(-1, keepdims=True)  # torch normalises probs the same way
        self.k = probs.shape[-1]
        self.one_hot = one_hot
        self.event_dim = 1 if one_hot else 0
        self.frozen = stats.multinomial(1, self.probs)

    @property
    def n(self):
        return self.probs.shape[0]

    def _one_hot(self, x):
        return x if self.one_hot else np.eye(self.k)[x.astype(int)]

    def _event(self, index):
        return np.eye(self.k)[index.astype(int)] if self.one_hot else index

    def log_prob(self, x):
        return self.frozen.logpmf(self._one_hot(x))

    def entropy(self):
        return stats.entropy(self.probs, axis=-1)

    def mean(self):
        if not self.one_hot:
            raise NotImplementedError
        return self.probs

    def variance(self):
        if not self.one_hot:
            raise NotImplementedError
        return self.probs * (1 - self.probs)

    def mode(self):
        return self._event(np.argmax(self.probs, axis=-1).astype(float))

    def enumerate_support(self):
        return self._event(np.arange(self.k, dtype=float)[:, None] * np.ones((1, self.n)))

    def values(self, rng):
        cumulative = np.cumsum(self.probs, axis=-1)
        q = QUANTILES[:, None] * np.ones((1, self.n))
        index = np.minimum((cumulative[None] < q[..., None]).sum(-1), self.k - 1).astype(float)
        return self._event(index)

    def outside(self):
        if self.one_hot:
            return [np.zeros((self.n, self.k)), np.full((self.n, self.k), 0.5)]
        return [np.full(self.n, -1.0), np.full(self.n, float(self.k)), np.full(self.n, 0.5)]


class RowwiseReference(Reference):
    """A multivariate scipy distribution built one parameter set at a time (scipy does not batch it)."""

    def __init__(self, frozen_rows: list, event_dim: int, transpose_x: bool = False,
                 mode: Callable[[], np.ndarray] | None = None, outside: Callable[[], list] | None = None,
                 prepare_x: Callable[[np.ndarray], np.ndarray] | None = None):
        self.rows = frozen_rows
        self.prepare_x = prepare_x
        self.event_dim = event_dim
        self.transpose_x = transpose_x  # scipy.stats.dirichlet wants the event axis first
        self._mode = mode
        self._outside = outside

    @property
    def n(self):
        return len(self.rows)

    def _stack(self, name):
        return np.stack([getattr(row, name)() for row in self.rows])

    def log_prob(self, x):
        if self.prepare_x is not None:
            x = self.prepare_x(x)
        columns = []
        for i, row in enumerate(self.rows):
            columns.append(self._row_log_prob(row, x[:, i]))
        return np.stack(columns, axis=1)

    def _row_log_prob(self, row, xi):
        """The log density at the points xi (shaped (m, *event)). scipy wants matrix events last-axis
        stacked and Dirichlet points event axis first; a point it rejects gets NaN (no reference)."""
        try:
            if self.event_dim == 2:
                return np.atleast_1d(row.logpdf(np.moveaxis(xi, 0, -1)))
            return np.atleast_1d(row.logpdf(np.moveaxis(xi, 0, -1) if self.transpose_x else xi))
        except (ValueError, np.linalg.LinAlgError):
            if xi.shape[0] == 1:
                return np.array([np.nan])
            return np.concatenate([self._row_log_prob(row, xi[j:j + 1]) for j in range(xi.shape[0])])

    def mean(self):
        return self._stack("mean")

    def variance(self):
        return self._stack("var")

    def entropy(self):
        return self._stack("entropy")

    def mode(self):
        if self._mode is None:
            raise NotImplementedError
        return self._mode()

    def values(self, rng):
        samples = [np.asarray(row.rvs(size=len(QUANTILES), random_state=rng)) for row in self.rows]
        return np.stack(samples, axis=1)

    def outside(self):
        return self._outside() if self._outside else []


class SumOfIndependentReference(Reference):
    """Independent(base, 1): log densities and entropies summed over the last axis."""

    def __init__(self, base: ScipyReference):
        self.base = base
        self.event_dim = 1

    @property
    def n(self):
        return self.base.frozen.mean().shape[0]

    def log_prob(self, x):
        return self.base.log_prob(x).sum(-1)

    def mean(self):
        return self.base.mean()

    def variance(self):
        return self.base.variance()

    def entropy(self):
        return self.base.entropy().sum(-1)

    def mode(self):
        return self.base.mode()

    def values(self, rng):
        shape = self.base.frozen.mean().shape
        q = QUANTILES.reshape(-1, *([1] * len(shape))) * np.ones((1, *shape))
        return self.base.icdf(q)


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
        remaining = 1 - np.cumsum(x, axis=-1)[..., :-1]
        y = np.log(x[..., :-1]) - np.log(remaining) + self._offset
        return stats.norm.logpdf(y, self.loc, self.scale).sum(-1) - np.log(x).sum(-1)

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


class MultinomialReference(Reference):
    """Multinomial(total_count, probs) through the broadcasting scipy.stats.multinomial."""

    event_dim = 1

    def __init__(self, total_count: int, probs: np.ndarray):
        self.total_count, self.probs = total_count, probs / probs.sum(-1, keepdims=True)
        self.frozen = stats.multinomial(total_count, self.probs)

    @property
    def n(self):
        return self.probs.shape[0]

    def log_prob(self, x):
        return self.frozen.logpmf(x)

    def mean(self):
        return self.total_count * self.probs

    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def entropy(self):
        """Exact, by enumerating every outcome (scipy's own entropy is accurate to about 1e-6 only)."""
        k = self.probs.shape[-1]
        outcomes = np.array([c for c in itertools.product(range(self.total_count + 1), repeat=k - 1)
                             if sum(c) <= self.total_count], dtype=float)
        outcomes = np.concatenate([outcomes, self.total_count - outcomes.sum(-1, keepdims=True)], -1)
        log_pmf = self.frozen.logpmf(outcomes[:, None, :])
        return -(np.exp(log_pmf) * log_pmf).sum(0)

    def values(self, rng):
        return rng.multinomial(self.total_count, self.probs, size=(len(QUANTILES), self.n)).astype(float)

    def outside(self):
        k = self.probs.shape[-1]
        too_many = np.full((self.n, k), float(self.total_count))
        fractional = np.full((self.n, k), self.total_count / k)
        fractional[:, 0] += 0.5
        fractional[:, 1] -= 0.5
        negative = np.zeros((self.n, k))
        negative[:, 0], negative[:, 1] = -1, self.total_count + 1
        return [too_many, negative]


class VonMisesReference(ScipyReference):
    """VonMises(loc, kappa): scipy.stats.vonmises for the density, scipy.special for circular moments.

    torch's variance is the circular variance 1 - I1(kappa)/I0(kappa), not scipy's linear one.
    """

    def __init__(self, loc: np.ndarray, concentration: np.ndarray):
        super().__init__(stats.vonmises(concentration, loc=loc), mode=lambda: loc)
        self.loc, self.kappa = loc, concentration

    def mean(self):
        return self.loc

    def variance(self):
        return 1 - special.i1e(self.kappa) / special.i0e(self.kappa)

    def stddev(self):
        raise NotImplementedError  # torch has no circular standard deviation

    def values(self, rng):
        offsets = np.linspace(-np.pi, np.pi, len(QUANTILES) + 2)[1:-1]
        return np.remainder(self.loc[None] + offsets[:, None] + np.pi, 2 * np.pi) - np.pi

    def outside(self):
        return []

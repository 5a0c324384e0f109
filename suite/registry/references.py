"""Float64 references: the Reference protocol and scipy.stats distributions wrapped as references (the
families scipy.stats lacks are built from scipy pieces in suite.registry.built_references).

Every reference is batched: parameters carry a leading axis of n parameter sets and the
methods return arrays over that axis, so one torch call is compared element-wise with one
vectorised scipy call. Methods a reference cannot provide raise NotImplementedError.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy import special, stats

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

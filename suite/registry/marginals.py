"""Scalar projections of multivariate and circular draws whose laws are known in closed form, for the
samplers' goodness of fit; a registry entry names its projections (`Family.marginals`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

ParamDict = dict[str, "np.ndarray | int"]
RANDOM_DIRECTIONS = 2  # random projections added to the coordinate axes for multivariate laws


def _registry():
    from suite.registry.families import REGISTRY  # the entries name these functions: imported late
    return REGISTRY


class Law:
    """A batched 1-d law over n parameter sets: cdf/ppf/pmf on arrays shaped (m, n)."""

    def __init__(self, cdf: Callable | None = None, ppf: Callable | None = None, discrete: bool = False,
                 sf: Callable | None = None, pdf: Callable | None = None):
        self.cdf, self.ppf, self.discrete, self.pdf = cdf, ppf, discrete, pdf
        self.sf = sf or (cdf and (lambda x: 1 - cdf(x)))

    @classmethod
    def scipy(cls, frozen, discrete: bool = False) -> "Law":
        return cls(frozen.cdf, frozen.ppf, discrete, frozen.sf, None if discrete else frozen.pdf)

    @classmethod
    def reference(cls, ref, discrete: bool = False) -> "Law":
        frozen = getattr(ref, "frozen", None)
        if frozen is not None and hasattr(frozen, "ppf"):
            return cls.scipy(frozen, discrete)
        return cls(_implemented(ref.cdf), _implemented(ref.icdf), discrete,
                   pdf=None if discrete else (lambda x: np.exp(ref.log_prob(x))))


def _implemented(method: Callable) -> Callable | None:
    try:
        method(np.full((1, 1), 0.5))
    except NotImplementedError:
        return None
    except Exception:  # noqa: BLE001 - a probe at a point the method may reject; it exists
        pass
    return method


@dataclass(frozen=True)
class Projection:
    """A scalar function of a draw, y = apply(x, params) shaped (m, n), whose law is law(params)."""

    name: str
    apply: Callable[[torch.Tensor, ParamDict], torch.Tensor]
    law: Callable[[ParamDict], Law]
    quantile_bins: bool = False  # the law's cdf is too slow for a KS test: bin by its ppf
    coordinate: bool = False  # y is one coordinate of the draw, held exactly in the draw's dtype


def identity(x: torch.Tensor, params: ParamDict) -> torch.Tensor:
    return x


def _like(x: torch.Tensor, value) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value), dtype=x.dtype, device=x.device)


def _directions(rng: np.random.Generator, d: int) -> list[np.ndarray]:
    random = rng.normal(size=(RANDOM_DIRECTIONS, d))
    return [*np.eye(d), *(random / np.linalg.norm(random, axis=-1, keepdims=True))]


def _gaussian(mean: Callable[[ParamDict], np.ndarray], cov: Callable[[ParamDict], np.ndarray],
              transform: Callable[[torch.Tensor], torch.Tensor], rng: np.random.Generator,
              d: int) -> list[Projection]:
    """u . transform(x) ~ Normal(u . mean, sqrt(u' cov u)) for the axes and random unit vectors u."""
    def projection(u):
        return Projection(
            f"u={np.round(u, 3).tolist()}",
            lambda x, p: transform(x) @ _like(x, u),
            lambda p: Law.scipy(stats.norm(mean(p) @ u, np.sqrt(np.einsum("i,nij,j->n", u, cov(p), u)))))
    return [projection(u) for u in _directions(rng, d)]


def _rows(p: ParamDict, family: str, attribute: str) -> np.ndarray:
    return np.stack([getattr(row, attribute) for row in _registry()[family].reference(p).rows])


def mvn(family: str):
    return lambda p, rng: _gaussian(lambda q: _rows(q, family, "mean"), lambda q: _rows(q, family, "cov"),
                                    lambda x: x, rng, p["loc"].shape[-1])


def independent_normal(p, rng):
    return _gaussian(lambda q: q["loc"],
                     lambda q: np.einsum("ni,ij->nij", q["scale"] ** 2, np.eye(q["scale"].shape[-1])),
                     lambda x: x, rng, p["loc"].shape[-1])


def _stick_breaking_logits(x: torch.Tensor) -> torch.Tensor:
    """log(x_i / (1 - sum_{j<=i} x_j)) + log(K - 1 - i), i < K - 1: Normal(loc_i, scale_i) under torch's
    StickBreakingTransform."""
    k = x.shape[-1]
    remaining = 1 - x.cumsum(-1)[..., :-1]
    offset = torch.log(torch.arange(k - 1, 0, -1, dtype=x.dtype, device=x.device))
    return x[..., :-1].log() - remaining.log() + offset


def logistic_normal(p, rng):
    return _gaussian(lambda q: q["loc"], lambda q: np.einsum("ni,ij->nij", q["scale"] ** 2, np.eye(q["loc"].shape[-1])),
                     _stick_breaking_logits, rng, p["loc"].shape[-1])


def _subsets(k: int) -> list[tuple[int, ...]]:
    return [*((i,) for i in range(k)), *itertools.combinations(range(k), 2)]


def dirichlet(p, rng):
    """Each coordinate x_i ~ Beta(a_i, sum a - a_i)."""
    def projection(i):
        def law(q):
            a = q["concentration"]
            return Law.scipy(stats.beta(a[..., i], a.sum(-1) - a[..., i]))
        return Projection(f"x{i}", lambda x, q: x[..., i], law, coordinate=True)
    return [projection(i) for i in range(p["concentration"].shape[-1])]


def multinomial(p, rng):
    """Sums over a subset S of the counts: Binomial(total_count, sum_S p)."""
    def projection(subset):
        def law(q):
            probs = q["probs"] / q["probs"].sum(-1, keepdims=True)
            return Law.scipy(stats.binom(q["total_count"], probs[..., list(subset)].sum(-1)), discrete=True)
        return Projection(f"sum x{list(subset)}", lambda x, q: x[..., list(subset)].sum(-1), law)
    return [projection(s) for s in _subsets(p["probs"].shape[-1])]


def wishart(p, rng):
    """u' W u / u' S u ~ chi2(df) for any fixed u (W ~ Wishart(df, S))."""
    def projection(u):
        def law(q):
            return Law.scipy(stats.chi2(q["df"], scale=np.einsum("i,nij,j->n", u, q["covariance_matrix"], u)))
        return Projection(f"u' W u, u={np.round(u, 3).tolist()}",
                          lambda x, q: torch.einsum("i,...ij,j->...", _like(x, u), x, _like(x, u)), law)
    return [projection(u) for u in _directions(rng, p["covariance_matrix"].shape[-1])]


def lkj_cholesky(p, rng):
    """At dim 2, (L[1, 0] + 1) / 2 ~ Beta(eta, eta)."""
    return [Projection("(L[1,0] + 1) / 2", lambda x, q: (x[..., 1, 0] + 1) / 2,
                       lambda q: Law.scipy(stats.beta(q["concentration"], q["concentration"])))]


def von_mises(p, rng):
    """On the circle: the angle from loc, wrapped to [-pi, pi), ~ scipy.stats.vonmises(kappa)."""
    def wrapped(x, q):
        return torch.remainder(x - _like(x, q["loc"]) + torch.pi, 2 * torch.pi) - torch.pi
    return [Projection("angle - loc (mod 2 pi)", wrapped, lambda q: Law.scipy(stats.vonmises(q["concentration"])))]


def concrete(p, rng):
    """log(x_i / x_j) ~ Logistic((log p_i - log p_j) / t, 1 / t) (difference of two Gumbels, over t)."""
    def projection(i, j):
        def law(q):
            logp = np.log(q["probs"])
            return Law.scipy(stats.logistic((logp[..., i] - logp[..., j]) / q["temperature"], 1 / q["temperature"]))
        return Projection(f"log(x{i} / x{j})", lambda x, q: x[..., i].log() - x[..., j].log(), law)
    k = p["probs"].shape[-1]
    return [projection(i, k - 1) for i in range(k - 1)] + [projection(0, 1)]


def continuous_bernoulli(p, rng):
    """x itself, binned by the reference's closed-form icdf (its cdf integrates one row at a time)."""
    return [Projection("x", identity, lambda q: Law(ppf=_registry()["ContinuousBernoulli"].reference(q).icdf),
                       quantile_bins=True)]



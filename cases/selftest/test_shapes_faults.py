"""Planted faults: each shape check must report the fault it exists to catch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.distributions as D
from torch.distributions.utils import _sum_rightmost

from suite.checks import shape_plans as P
from suite.checks import shapes as S
from suite.checks import shapes_documented as SD
from suite.registry.families import FAMILIES, REGISTRY


def _representatives(families, kind) -> list:
    """The first of `families` of each kind."""
    chosen: dict = {}
    for family in families:
        chosen.setdefault(kind(family), family)
    return list(chosen.values())


with P.quiet():
    REPRESENTATIVES = _representatives(FAMILIES, lambda f: (f.event_dim, f.discrete))
    RSAMPLE_REPRESENTATIVES = _representatives(
        [f for f in FAMILIES if f.has_rsample and not f.known_for("shapes.gradient")], lambda f: f.event_dim)
    # Multivariate continuous families whose float64 log_prob the reference comparison covers.
    MULTIVARIATE_CONTINUOUS = [f for f in FAMILIES if f.event_dim == 1 and not f.discrete
                               and not f.known_for("log_prob", torch.float64)]
BATCHED = (2, 3)
ids = lambda f: f.name  # noqa: E731


def planted(dist: D.Distribution, **methods) -> D.Distribution:
    """The same instance, its class replaced by a subclass with `methods` overridden."""
    cls = type(dist)
    dist.__class__ = type(f"Faulty{cls.__name__}", (cls,), methods)
    return dist


class ShortIndependent(D.Independent):
    """Sums one reinterpreted dimension too few (log_prob and entropy keep an extra dimension)."""

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), max(self.reinterpreted_batch_ndims - 1, 0))

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), max(self.reinterpreted_batch_ndims - 1, 0))


class SliceIndependent(D.Independent):
    """Sums one dimension too few and keeps only the first slice of the last one: right shape, wrong value."""

    def _short(self, terms):
        k = self.reinterpreted_batch_ndims
        return _sum_rightmost(terms, k - 1).select(-1, 0) if k else terms

    def log_prob(self, value):
        return self._short(self.base_dist.log_prob(value))

    def entropy(self):
        return self._short(self.base_dist.entropy())


def off_when_batched(dist):
    cls = type(dist)

    def log_prob(self, value):
        lp = cls.log_prob(self, value)
        return lp * (1 + 1e-6) + 1e-6 if self.batch_shape else lp

    return planted(dist, log_prob=log_prob)


def stale_expand(dist):
    """expand returns an instance whose log_prob comes out reversed along the last batch dimension."""
    cls = type(dist)

    def expand(self, batch_shape, _instance=None):
        new = cls.expand(self, batch_shape, _instance)
        new._stale = True
        return new

    def log_prob(self, value):
        lp = cls.log_prob(self, value)
        return lp.flip(-1) if getattr(self, "_stale", False) else lp

    return planted(dist, expand=expand, log_prob=log_prob)


def drops_sample_dim(dist):
    cls = type(dist)
    return planted(dist, sample=lambda self, sample_shape=torch.Size(): cls.sample(self, tuple(sample_shape)[1:]))


def detached_rsample(dist):
    cls = type(dist)
    return planted(dist, rsample=lambda self, sample_shape=torch.Size(): cls.rsample(self, sample_shape).detach())


def nan_gradient_rsample(dist):
    cls = type(dist)

    def rsample(self, sample_shape=torch.Size()):
        x = cls.rsample(self, sample_shape)
        x.register_hook(lambda grad: grad * float("nan"))
        return x

    return planted(dist, rsample=rsample)


def elementwise_log_prob(dist):
    """The log_prob a user expects from pytorch#43878: the value's singleton dimension squeezed away."""
    cls = type(dist)

    def log_prob(self, value):
        squeeze_at = value.dim() - len(self.event_shape) - 1
        if value.dim() > len(self.batch_shape) + len(self.event_shape):
            value = value.squeeze(squeeze_at)
        return cls.log_prob(self, value)

    return planted(dist, log_prob=log_prob)


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_shape_check_catches_short_independent(family, rng):
    result = S.check_shapes(family, BATCHED, torch.float64, "cpu", rng, independent=ShortIndependent)
    assert not result.passed
    assert any("log_prob shape" in failure for failure in result.details), result.summary()


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_value_check_catches_short_independent(family, rng):
    assert not S.check_values(family, BATCHED, "cpu", rng, independent=ShortIndependent).passed


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_value_check_catches_what_shapes_cannot(family, rng):
    """SliceIndependent has every shape right: only the value check sees it."""
    assert S.check_shapes(family, BATCHED, torch.float64, "cpu", rng, independent=SliceIndependent).passed
    result = S.check_values(family, BATCHED, "cpu", rng, independent=SliceIndependent)
    assert not result.passed
    assert any("Independent" in failure for failure in result.details), result.summary()


@pytest.mark.parametrize("family", MULTIVARIATE_CONTINUOUS, ids=ids)
def test_value_check_catches_error_only_when_batched(family, rng):
    """Right without a batch, off by 1e-6 relative with one: the per-element reference comparison fails."""
    assert S.check_values(family, (), "cpu", rng, plan=[P.View()], wrap=off_when_batched).passed
    result = S.check_values(family, (3,), "cpu", rng, wrap=off_when_batched)
    assert not result.passed
    assert any("vs reference" in failure for failure in result.details), result.summary()


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_value_check_catches_stale_expand(family, rng):
    plain = S.check_values(family, BATCHED, "cpu", rng, plan=[P.View()], wrap=stale_expand)
    assert plain.passed, plain.summary()
    result = S.check_values(family, BATCHED, "cpu", rng, wrap=stale_expand)
    assert any("expand" in failure and "explicitly built" in failure for failure in result.details)


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_shape_check_catches_dropped_sample_dimension(family, rng):
    result = S.check_shapes(family, BATCHED, torch.float32, "cpu", rng, wrap=drops_sample_dim)
    assert any("sample shape" in failure for failure in result.details), result.summary()


@pytest.mark.parametrize("fault", [detached_rsample, nan_gradient_rsample], ids=lambda f: f.__name__)
@pytest.mark.parametrize("family", RSAMPLE_REPRESENTATIVES, ids=ids)
def test_gradient_check_catches(family, fault, rng):
    result = S.check_gradient_flow(family, BATCHED, "cpu", rng, wrap=fault)
    assert not result.passed
    expected = "rsample does not depend" if fault is detached_rsample else "non-finite"
    assert any(expected in failure for failure in result.details), result.summary()


def nan_gradient_log_prob(dist):
    cls = type(dist)

    def log_prob(self, value):
        lp = cls.log_prob(self, value)
        if lp.requires_grad:
            lp.register_hook(lambda grad: grad * float("nan"))
        return lp

    return planted(dist, log_prob=log_prob)


def _kumaraswamy_drawing_ones():
    """Kumaraswamy with parameter set 0 (concentration0 0.2 < 1) drawing x = 1 (one draw in 800), where its
    density is infinite, and set 1 (concentration0 5) never near it."""
    family = dataclasses.replace(REGISTRY["Kumaraswamy"], make_params=lambda rng, n: {
        "concentration1": np.full(n, 50.0), "concentration0": np.where(np.arange(n) % 2 == 0, 0.2, 5.0)})
    return family, (2,), (20_000,)


def test_gradient_check_excuses_only_sets_with_a_draw_of_infinite_density(rng):
    """No finite gradient of sum(log_prob(rsample)) is due where a draw sits at infinite density; a NaN
    gradient at a set without such a draw is still caught."""
    family, batch, sample = _kumaraswamy_drawing_ones()
    assert S.check_gradient_flow(family, batch, "cpu", rng, sample).passed
    faulty = S.check_gradient_flow(family, batch, "cpu", rng, sample, wrap=nan_gradient_log_prob)
    assert faulty.details and all("sum(log_prob(rsample))" in failure and "has 1/2 non-finite" in failure
                                  for failure in faulty.details), faulty.summary()


@pytest.mark.parametrize("family", REPRESENTATIVES, ids=ids)
def test_pitfall_check_tells_elementwise_log_prob_apart(family, rng):
    pitfall = SD.broadcast_pitfall(family, 3, "cpu", rng, wrap=elementwise_log_prob)
    assert pitfall.log_prob_shape == (3,)
    assert not pitfall.outer


def test_seed_003_comparison_catches_wrong_reinterpretation():
    observed = SD.seed_003_shapes("cpu", independent=lambda d, k: D.Independent(d, k + 1))
    assert set(map(lambda line: line.split(":")[0], SD.shape_differences(observed, SD.SEED_003_PRINTED))) == {
        "iid_normal.batch_shape", "iid_normal.event_shape"}


def test_diagonal_gaussian_check_catches_sigma_for_variance(rng):
    """The classic mistake: diag(sigma) where the covariance is diag(sigma^2)."""
    def make(loc, scale):
        dists = SD.diagonal_gaussians(loc, scale)
        dists["MultivariateNormal(diag)"] = D.MultivariateNormal(loc, covariance_matrix=torch.diag_embed(scale))
        return dists

    normal = REGISTRY["Normal"]
    loc, scale = SD.diagonal_gaussian_params(normal, rng, BATCHED, dim=3)
    result = SD.check_diagonal_gaussians(normal, loc, scale, torch.float64, "cpu", rng, make=make)
    assert not result.passed
    assert all(failure.startswith("MultivariateNormal(diag)") for failure in result.details), result.summary()

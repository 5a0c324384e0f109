"""Every KL check fails on a planted fault: a KL off by a constant factor, a KL that is finite where it must
be +inf, a nonzero self-divergence, broken batch shapes, a wrong gradient; and the registry test notices a
registered pair without a reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as D

import suite.registry.kl as kl_registry
from suite.checks.kl import (
    check_kl_broadcast,
    check_kl_expand,
    check_kl_independent,
    check_kl_infinite_outside_support,
    check_kl_self_zero,
    check_kl_values,
)
from suite.checks.kl_grad import check_kl_grad
from suite.registry.kl import PAIRS, draw_pinned

N = 1000


def scaled(factor: float):
    return lambda p, q: factor * D.kl_divergence(p, q)


def finite_instead_of_inf(p, q):
    return torch.nan_to_num(D.kl_divergence(p, q), posinf=1e3)


def offset(p, q):
    return D.kl_divergence(p, q) + 1e-6


def flipped_when_batched(p, q):
    value = D.kl_divergence(p, q)
    return value.flip(-1) if value.dim() > 1 else value


def first_of_independent(p, q):
    if isinstance(p, D.Independent):
        return D.kl_divergence(p.base_dist, q.base_dist)[..., 0]
    return D.kl_divergence(p, q)


def gradient_off_by_a_thousandth(p, q):
    value = D.kl_divergence(p, q)
    return value + 1e-3 * (value - value.detach())


@pytest.mark.parametrize("pair_name,factor,fault_dtype", [
    ("Normal-Normal", 1 + 1e-6, torch.float64),
    ("Gamma-Gumbel", 1 + 1e-6, torch.float64),
    ("Dirichlet-Dirichlet", 1 + 1e-6, torch.float64),
    ("Binomial-Binomial", 1 + 1e-6, torch.float64),
    ("Beta-Normal", 1.01, torch.float32),
], ids=["normal", "gamma-gumbel", "dirichlet", "binomial", "float32-beta-normal"])
def test_values_check_fails_on_a_kl_off_by_a_constant_factor(pair_name, factor, fault_dtype, rng):
    pair = PAIRS[pair_name]
    pp, qp = draw_pinned(pair, rng, N)
    clean = check_kl_values(pair, pp, qp, fault_dtype)
    result = check_kl_values(pair, pp, qp, fault_dtype, kl=scaled(factor))
    # most of the finite KLs move out of tolerance (small ones stay inside the term tolerance)
    assert not result.passed and result.failures > clean.failures + 0.25 * result.compared, result.summary()


@pytest.mark.parametrize("pair_name", ["Uniform-Uniform", "Pareto-Pareto", "Normal-Beta", "Poisson-Bernoulli"])
def test_infinite_check_fails_on_a_kl_that_is_finite_where_it_must_be_inf(pair_name, rng):
    pair = PAIRS[pair_name]
    pp, qp = draw_pinned(pair, rng, N)
    assert check_kl_infinite_outside_support(pair, pp, qp, torch.float64).passed
    result = check_kl_infinite_outside_support(pair, pp, qp, torch.float64, kl=finite_instead_of_inf)
    assert not result.passed and result.failures == result.compared > 0, result.summary()
    assert not check_kl_values(pair, pp, qp, torch.float64, kl=finite_instead_of_inf).passed


def test_self_check_fails_on_a_nonzero_self_divergence(rng):
    pair = PAIRS["Normal-Normal"]
    pp, _ = draw_pinned(pair, rng, N)
    assert check_kl_self_zero(pair, pp, torch.float64).passed
    assert not check_kl_self_zero(pair, pp, torch.float64, kl=offset).passed


@pytest.mark.parametrize("check,fault", [(check_kl_broadcast, flipped_when_batched),
                                         (check_kl_expand, flipped_when_batched),
                                         (check_kl_independent, first_of_independent)],
                         ids=["broadcast", "expand", "independent"])
def test_shape_checks_fail_on_broken_batches(check, fault, rng):
    pair = PAIRS["Normal-Normal"]
    pp, qp = draw_pinned(pair, rng, N)
    assert check(pair, pp, qp, torch.float64).passed
    assert not check(pair, pp, qp, torch.float64, kl=fault).passed


@pytest.mark.parametrize("pair_name", ["Normal-Normal", "Beta-Gamma", "MultivariateNormal-MultivariateNormal"])
def test_gradient_check_fails_on_a_wrong_gradient(pair_name, rng):
    pair = PAIRS[pair_name]
    pp, qp = draw_pinned(pair, rng, N)
    assert check_kl_grad(pair, pp, qp, np.random.default_rng(1)).passed
    result = check_kl_grad(pair, pp, qp, np.random.default_rng(1), kl=gradient_off_by_a_thousandth)
    assert not result.passed, result.summary()


def test_a_registered_pair_without_a_reference_is_reported(monkeypatch):
    registry = dict(kl_registry._KL_REGISTRY)
    registry[(D.Kumaraswamy, D.Normal)] = lambda p, q: None
    monkeypatch.setattr(kl_registry, "_KL_REGISTRY", registry)
    assert kl_registry.missing_references() == [("Kumaraswamy", "Normal")]

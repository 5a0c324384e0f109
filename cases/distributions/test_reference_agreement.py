"""Every family against its float64 reference: >= 1000 parameter sets in one batched call per check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks.values import check_invalid_params, check_method, check_support, implemented_methods
from suite.registry.families import DEVIATIONS_STRICT, FAMILIES, Family, unregistered_classes

N_PARAMETER_SETS = 1000

METHOD_CASES = [pytest.param(family, method, id=f"{family.name}-{method}")
                for family in FAMILIES for method in implemented_methods(family)]
FAMILY_CASES = [pytest.param(family, id=family.name) for family in FAMILIES]


def expect_deviation(request: pytest.FixtureRequest, family: Family, check: str, dtype: torch.dtype) -> None:
    reason = family.deviation(check, dtype)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason=reason))


@pytest.mark.parametrize("family,method", METHOD_CASES)
def test_method_agrees_with_reference(family, method, dtype, device, rng, request):
    expect_deviation(request, family, method, dtype)
    params = family.make_params(rng, N_PARAMETER_SETS)
    result = check_method(family, method, params, dtype, device, rng)
    assert result.passed, result.summary()


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_support_inside_on_and_outside(family, dtype, device, rng, request):
    expect_deviation(request, family, "support", dtype)
    result = check_support(family, family.make_params(rng, N_PARAMETER_SETS), dtype, device, rng)
    assert result.passed, result.summary()


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_invalid_parameters_raise_value_error(family, device, rng, request):
    expect_deviation(request, family, "invalid_params", torch.float64)
    result = check_invalid_params(family, rng, device)
    assert result.passed, result.summary()


def test_every_public_class_has_a_registry_entry():
    missing = unregistered_classes()
    assert not missing, f"torch.distributions classes without a registry entry: {missing}"


def test_each_family_is_checked_on_at_least_1000_parameter_sets_per_call():
    for family in FAMILIES:
        dist = family.instantiate(family.make_params(np.random.default_rng(0), N_PARAMETER_SETS))
        assert dist.batch_shape == (N_PARAMETER_SETS,), family.name

"""Every family against its float64 reference: >= 1000 parameter sets in one batched call per check.

Each draw starts with the same deterministic sets at every --seed (the points of every known deviation's
region and the corners of the parameter space, `Family.draw`), so a known deviation is reached and asserted
by every seed and the random rest is checked at full tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks.result import guarded
from suite.checks.values import check_invalid_params, check_method, check_support, implemented_methods
from suite.conformance import expect
from suite.registry.families import FAMILIES, dtype_name, unregistered_classes
from suite.verdict import judge

N_PARAMETER_SETS = 1000

METHOD_CASES = [pytest.param(family, method, id=f"{family.name}-{method}")
                for family in FAMILIES for method in implemented_methods(family)]
FAMILY_CASES = [pytest.param(family, id=family.name) for family in FAMILIES]


@pytest.mark.parametrize("family,method", METHOD_CASES)
def test_method_agrees_with_reference(family, method, dtype, device, rng):
    params = family.draw(rng, N_PARAMETER_SETS)
    result = guarded(lambda: check_method(family, method, params, dtype, device, rng),
                     method, family.name, dtype_name(dtype))
    expect(judge(result, family.known_for(method, dtype, device)))


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_support_inside_on_and_outside(family, dtype, device, rng):
    result = guarded(lambda: check_support(family, family.draw(rng, N_PARAMETER_SETS), dtype, device, rng),
                     "support", family.name, dtype_name(dtype))
    expect(judge(result, family.known_for("support", dtype, device)))


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_invalid_parameters_raise_value_error(family, device, rng):
    result = check_invalid_params(family, rng, device)
    expect(judge(result, family.known_for("invalid_params", torch.float64, device)))


def test_every_public_class_has_a_registry_entry():
    missing = unregistered_classes()
    assert not missing, f"torch.distributions classes without a registry entry: {missing}"


def test_each_family_is_checked_on_at_least_1000_parameter_sets_per_call():
    for family in FAMILIES:
        dist = family.instantiate(family.make_params(np.random.default_rng(0), N_PARAMETER_SETS))
        assert dist.batch_shape == (N_PARAMETER_SETS,), family.name

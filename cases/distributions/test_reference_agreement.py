"""Every family against its float64 reference: >= 1000 parameter sets in one batched call per check, through the
same conformance checks a user runs on a distribution of their own (suite.conformance).

Each draw starts with the same deterministic sets at every --seed (the points of every known deviation's
region and the corners of the parameter space, `Family.draw`), so a known deviation is reached and asserted
by every seed and the random rest is checked at full tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from suite.checks.values import VALUE_METHODS
from suite.conformance import CHECKS, N_PARAMETER_SETS, parametrize_with_checks
from suite.registry.families import FAMILIES, unregistered_classes

BY_NAME = {check.name: check for check in CHECKS}
FAMILY_CASES = [pytest.param(family, id=family.name) for family in FAMILIES]


@parametrize_with_checks(FAMILIES, [BY_NAME[method] for method in VALUE_METHODS])
def test_method_agrees_with_reference(family, check, dtype, device, rng):
    check(family, dtype, device, rng)


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_support_inside_on_and_outside(family, dtype, device, rng):
    BY_NAME["support"](family, dtype, device, rng)


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_invalid_parameters_raise_value_error(family, device, rng):
    BY_NAME["invalid_params"](family, device=device, rng=rng)


def test_every_public_class_has_a_registry_entry():
    missing = unregistered_classes()
    assert not missing, f"torch.distributions classes without a registry entry: {missing}"


def test_each_family_is_checked_on_at_least_1000_parameter_sets_per_call():
    for family in FAMILIES:
        assert family.invalid, f"{family.name}: the built-in entries list invalid parameters"
        dist = family.instantiate(family.make_params(np.random.default_rng(0), N_PARAMETER_SETS))
        assert dist.batch_shape == (N_PARAMETER_SETS,), family.name

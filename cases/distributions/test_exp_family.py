"""ExponentialFamily's generic entropy and mean carrier measure, for every exponential family."""

from __future__ import annotations

import pytest
from torch.distributions.exp_family import ExponentialFamily

from suite.checks.exp_family import check_generic_entropy, exponential_families
from suite.conformance import expect
from suite.verdict import judge


@pytest.mark.parametrize("family", [pytest.param(f, id=f.name) for f in exponential_families()])
def test_generic_entropy_matches_the_reference(family, rng):
    expect(judge(check_generic_entropy(family, rng), family.known_for("exp_family.entropy")))


def test_poisson_entropy_is_the_generic_one():
    poisson = next(f for f in exponential_families() if f.name == "Poisson")
    assert poisson.torch_cls.entropy is ExponentialFamily.entropy

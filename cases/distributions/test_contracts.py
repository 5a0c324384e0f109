"""Every family's log_prob rejects malformed values with ValueError (validation on), and its parameterisations
describe one distribution before and after expand."""

from __future__ import annotations

import pytest

from suite.checks.contracts import check_parameter_shapes, check_parameterisations, check_value_contract
from suite.checks.result import guarded
from suite.conformance import expect
from suite.registry.families import FAMILIES
from suite.verdict import judge

FAMILY_CASES = [pytest.param(family, id=family.name) for family in FAMILIES]


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_malformed_values_raise_value_error(family, rng):
    result = guarded(lambda: check_value_contract(family, rng), "value_contract", family.name, "float64")
    expect(judge(result, family.known_for("value_contract")))


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_parameterisations_describe_one_distribution(family, rng):
    result = guarded(lambda: check_parameterisations(family, rng), "parameterisations", family.name, "float64")
    expect(judge(result, family.known_for("parameterisations")))


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_disagreeing_parameter_shapes_raise_value_error(family, rng):
    result = guarded(lambda: check_parameter_shapes(family, rng), "parameter_shapes", family.name, "float64")
    expect(judge(result, family.known_for("parameter_shapes")))

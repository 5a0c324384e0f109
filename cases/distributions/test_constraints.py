"""Every public constraint: membership inside, on the closed boundary and just outside; event_dim; the maps
transform_to / biject_to into it, and biject_to's round trip."""

from __future__ import annotations

import pytest

from suite.checks.constraints import (
    check_biject_round_trip,
    check_dependent,
    check_event_dim,
    check_maps_into,
    check_membership,
)
from suite.conformance import expect
from suite.registry.constraints import CONSTRAINT_CASES, KNOWN, uncovered_constraints
from suite.registry.known import matching
from suite.verdict import judge

CASES = [pytest.param(case, id=case.name) for case in CONSTRAINT_CASES]


def _expect(result, case):
    expect(judge(result, matching(KNOWN.get(case.name, ()), result.check)))


@pytest.mark.parametrize("case", CASES)
def test_membership_and_event_dim(case):
    _expect(check_membership(case), case)
    _expect(check_event_dim(case), case)


@pytest.mark.parametrize("registry", ["transform_to", "biject_to"])
@pytest.mark.parametrize("case", CASES)
def test_maps_real_inputs_into_the_constraint(case, registry, rng):
    _expect(check_maps_into(case, registry, rng), case)


@pytest.mark.parametrize("case", CASES)
def test_biject_to_round_trips(case, rng):
    _expect(check_biject_round_trip(case, rng), case)


def test_dependent_constraints():
    assert not check_dependent(), check_dependent()


def test_every_public_constraint_has_a_case():
    assert not uncovered_constraints(), f"constraints without a case: {uncovered_constraints()}"

"""Every public Transform and its compositions: round trip, log|det J| against jacrev, constraints,
structure and caching, in float64 and float32."""

from __future__ import annotations

import pytest
import torch

from suite.checks.transforms import CHECKS
from suite.conformance import expect
from suite.registry.families import dtype_name
from suite.registry.known import matching
from suite.registry.transforms import TRANSFORM_CASES, uncovered_transforms
from suite.registry.transforms_known import known_for
from suite.verdict import judge

# Values are checked in both dtypes; the declared structure and the cache once, in float64.
VALUE_CHECKS = ("round_trip", "log_abs_det_jacobian", "constraints")
VALUE_CASES = [pytest.param(case, check, id=f"{case.name}-{check}")
               for case in TRANSFORM_CASES for check in VALUE_CHECKS]
DECLARED_CASES = [pytest.param(case, check, id=f"{case.name}-{check}")
                  for case in TRANSFORM_CASES for check in CHECKS if check not in VALUE_CHECKS]


@pytest.mark.parametrize("case,check", VALUE_CASES)
def test_transform_values(case, check, dtype, rng):
    result = CHECKS[check](case, dtype, rng)
    expect(judge(result, matching(known_for(case), check, dtype_name(dtype))))


@pytest.mark.parametrize("case,check", DECLARED_CASES)
def test_transform_declared(case, check, rng):
    result = CHECKS[check](case, torch.float64, rng)
    expect(judge(result, matching(known_for(case), check, "float64")))


def test_every_public_transform_has_a_case():
    assert not uncovered_transforms(), f"Transform classes without a case: {uncovered_transforms()}"

"""Shapes of every registry family under batching, Independent and expand, in shape and in value.

The matrix: batch shapes x views (plain, Independent(k) for every valid k, expand, expand then
Independent, Independent then expand) x sample shapes, generated in suite.checks.shapes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from suite.checks import shape_plans as P
from suite.checks import shapes as S
from suite.checks.result import CheckResult
from suite.conformance import expect
from suite.registry.families import FAMILIES
from suite.verdict import judge

RSAMPLE_FAMILIES = [family for family in FAMILIES if family.has_rsample]
BATCH_IDS = ["x".join(map(str, b)) or "scalar" for b in P.BATCH_SHAPES]


@pytest.mark.parametrize("batch_shape", P.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_shapes(family, batch_shape, dtype, device, rng):
    result = S.check_shapes(family, batch_shape, dtype, device, rng)
    assert result.passed, result.summary()


@pytest.mark.parametrize("batch_shape", P.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_values(family, batch_shape, device, rng):
    result = S.check_values(family, batch_shape, device, rng)
    assert result.passed, result.summary()


@pytest.mark.parametrize("batch_shape", P.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", RSAMPLE_FAMILIES, ids=lambda f: f.name)
def test_gradient_flow(family, batch_shape, device, rng):
    result = S.check_gradient_flow(family, batch_shape, device, rng)
    expect(judge(as_result(result, "shapes.gradient", family), family.known_for("shapes.gradient")))


def as_result(result: CheckResult, check: str, family) -> CheckResult:
    return dataclasses.replace(result, check=check, family=family.name)


KNOWN_ERRORS = [pytest.param(family, f"{method}/{situation}", what, id=f"{family.name}-{method}/{situation}")
                for family in FAMILIES for method, situation, what in P.known_error_situations(family)]


@pytest.mark.parametrize("family, key, what", KNOWN_ERRORS)
def test_known_error_still_raised(family, key, what, device, rng):
    """The matrix leaves these calls out; here they run, and must still raise while torch has the error."""
    try:
        S.exercise_known_error(family, key, device, rng)
    except Exception as error:  # noqa: BLE001 - the known error, shown
        pytest.xfail(f"raises {type(error).__name__}: {what}")
    expect(judge(CheckResult(key, family.name, passed=True), family.known_for(*key.split("/"))
                 if not key.endswith("/expanded") else family.known_for(key.split("/")[0], mode="expanded")))


PER_SET = [pytest.param(family, id=family.name) for family in FAMILIES if P.shared_params(family)]


@pytest.mark.parametrize("family", PER_SET)
def test_one_value_per_parameter_set(family, device, rng):
    """The parameters the registry passes as one scalar, given one value per parameter set instead."""
    result = S.check_shapes(family, (3,), torch.float64, device, rng, per_set=True)
    expect(judge(as_result(result, "shapes.per_set", family), family.known_for("shapes.per_set")))


def test_plan_size():
    """The matrix size this module checks per family (batch shape x view x sample shape)."""
    assert [len(P.views(b)) for b in P.BATCH_SHAPES] == [4, 7, 10, 13]
    assert P.plan_size() == 34 * len(P.SAMPLE_SHAPES)
    assert all(np.prod(P.widen(b)) >= 2 for b in P.BATCH_SHAPES)

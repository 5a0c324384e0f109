"""Shapes of every registry family under batching, Independent and expand, in shape and in value.

The matrix: batch shapes x views (plain, Independent(k) for every valid k, expand, expand then
Independent, Independent then expand) x sample shapes, generated in suite.checks.shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks import shapes as S
from suite.registry.families import DEVIATIONS_STRICT, FAMILIES

RSAMPLE_FAMILIES = [family for family in FAMILIES if family.has_rsample]
BATCH_IDS = ["x".join(map(str, b)) or "scalar" for b in S.BATCH_SHAPES]


@pytest.mark.parametrize("batch_shape", S.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_shapes(family, batch_shape, dtype, device, rng):
    result = S.check_shapes(family, batch_shape, dtype, device, rng)
    assert result.ok, result.summary()


@pytest.mark.parametrize("batch_shape", S.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_values(family, batch_shape, device, rng):
    result = S.check_values(family, batch_shape, device, rng)
    assert result.ok, result.summary()


@pytest.mark.parametrize("batch_shape", S.BATCH_SHAPES, ids=BATCH_IDS)
@pytest.mark.parametrize("family", RSAMPLE_FAMILIES, ids=lambda f: f.name)
def test_gradient_flow(family, batch_shape, device, rng, request):
    reason = S.deviation(family, "gradient")
    if reason:
        request.applymarker(pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason=reason))
    result = S.check_gradient_flow(family, batch_shape, device, rng)
    assert result.ok, result.summary()


KNOWN_ERRORS = [pytest.param(family, key, marks=pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason=reason),
                             id=f"{family.name}-{key}")
                for family in FAMILIES for key, reason in S.facts(family).known_errors.items()]


@pytest.mark.parametrize("family, key", KNOWN_ERRORS)
def test_known_error_still_raised(family, key, device, rng):
    """The matrix leaves these calls out; here they run, and fail while torch still raises."""
    S.exercise_known_error(family, key, device, rng)


PER_SET = [pytest.param(family, marks=pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason="; ".join(
               f"{name}: {why}" for name, why in S.facts(family).scalar_params.items())), id=family.name)
           for family in FAMILIES if S.facts(family).scalar_params]


@pytest.mark.parametrize("family", PER_SET)
def test_one_value_per_parameter_set(family, device, rng):
    """The parameters the registry passes as one scalar, given one value per parameter set instead."""
    result = S.check_shapes(family, (3,), torch.float64, device, rng, per_set=True)
    assert result.ok, result.summary()


def test_plan_size():
    """The matrix size this module checks per family (batch shape x view x sample shape)."""
    assert [len(S.views(b)) for b in S.BATCH_SHAPES] == [4, 7, 10, 13]
    assert S.plan_size() == 34 * len(S.SAMPLE_SHAPES)
    assert all(np.prod(S.widen(b)) >= 2 for b in S.BATCH_SHAPES)

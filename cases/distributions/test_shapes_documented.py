"""Documented shape behaviours: the broadcasting pitfall of pytorch#43878, the seed post's examples,
and the three ways of writing a Gaussian with diagonal covariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks import shape_plans as P
from suite.checks import shapes_documented as SD
from suite.registry.families import FAMILIES, REGISTRY

PITFALL_BATCH = 3
# The univariate family the diagonal-Gaussian check compares against.
NORMAL = REGISTRY["Normal"]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_broadcast_pitfall(family, device, rng):
    """What torch does (pytorch#43878): values x of a batch of k passed as x.unsqueeze(1), shape
    (k, 1, *event), broadcast against batch_shape (k,) and log_prob returns a (k, k) table of every
    value under every parameter set; the user meant its diagonal, shape (k,). Summing it adds k^2
    terms instead of k. validate_args=True does not catch it as a shape error: (k, 1) is broadcastable
    with (k,). Families with a bounded support may reject it as a support error instead."""
    pitfall = SD.broadcast_pitfall(family, PITFALL_BATCH, device, rng)
    assert pitfall.value_shape[:2] == (PITFALL_BATCH, 1)
    assert pitfall.log_prob_shape == (PITFALL_BATCH, PITFALL_BATCH)
    assert pitfall.outer, "entry [i, j] is not log_prob of value i under parameter set j"
    assert pitfall.diagonal_is_elementwise, "the diagonal is not the element-wise log_prob"
    assert pitfall.validation != "shape error", pitfall.message


def test_seed_003_shapes(device):
    """Every shape the seed post prints, from the post's own code."""
    assert SD.shape_differences(SD.seed_003_shapes(device), SD.SEED_003_PRINTED) == []


def test_seed_003_independent_normal_is_the_diagonal_mvn(device, rng):
    """The post's point: Independent(Normal(mean, sigma), 1) is its MultivariateNormal with the
    diagonal covariance, in value as well as in shape (float32, as in the post)."""
    mean, var = SD.seed_003_tensors(device)
    loc = mean.double().cpu().numpy()
    scale = np.sqrt(var.double().cpu().numpy())
    result = SD.check_diagonal_gaussians(NORMAL, loc, scale, torch.float32, device, rng)
    assert result.passed, result.summary()


@pytest.mark.parametrize("batch_shape", P.BATCH_SHAPES, ids=lambda b: "x".join(map(str, b)) or "scalar")
def test_diagonal_gaussians_agree(batch_shape, dtype, device, rng):
    """Independent(Normal(mu, sigma), 1), MultivariateNormal(mu, diag(sigma^2)) and
    LowRankMultivariateNormal(mu, 0, sigma^2) against scipy.stats.norm summed over the event."""
    loc, scale = SD.diagonal_gaussian_params(NORMAL, rng, batch_shape, dim=3)
    result = SD.check_diagonal_gaussians(NORMAL, loc, scale, dtype, device, rng)
    assert result.passed, result.summary()

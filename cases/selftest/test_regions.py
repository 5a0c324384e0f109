"""Known deviations are pinned to regions that every seed reaches, and an error outside a region still fails.

A planted error inside a finding's family, check and dtype but outside its region fails the run; every
Known's deterministic points lie inside its region and show the deviation there, so a strict xfail cannot
pass by luck.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from suite.checks.values import check_method, default_builder, implements
from suite.faults import with_fault
from suite.registry.families import DTYPES, FAMILIES, REGISTRY
from suite.registry.family import deterministic_rows
from suite.verdict import FAIL, XFAIL, judge

N = 1000


def _icdf_wrong_at_the_median(x, q):
    return torch.where(q == 0.5, x + 1.0, x)


def _with(perturb, attribute):
    def build(family, params, dtype, device):
        return with_fault(default_builder(family, params, dtype, device), attribute, perturb)
    return build


def test_normal_float32_icdf_deviation_is_an_xfail_at_every_seed():
    family = REGISTRY["Normal"]
    for seed in range(3):
        rng = np.random.default_rng(seed)
        result = check_method(family, "icdf", family.draw(rng, N), torch.float32, rng=rng)
        assert judge(result, family.known_for("icdf", torch.float32)).status == XFAIL, result.summary()


def test_error_planted_outside_a_known_region_fails_the_run():
    """Normal's float32 icdf has a known deviation at q = 1e-6; an error at q = 0.5 is outside it."""
    family = REGISTRY["Normal"]
    rng = np.random.default_rng(0)
    result = check_method(family, "icdf", family.draw(rng, N), torch.float32, rng=rng,
                          build=_with(_icdf_wrong_at_the_median, "icdf"))
    verdict = judge(result, family.known_for("icdf", torch.float32))
    assert verdict.status == FAIL, verdict.message
    assert "outside every known deviation's region" in verdict.message


@functools.lru_cache(maxsize=None)
def is_value_check(family: str, check: str) -> bool:
    return implements(REGISTRY[family], check)


REGIONS = [pytest.param(family, known, id=f"{family.name}-{known.check}-{known.dtype}-{i}")
           for family in FAMILIES for i, known in enumerate(family.known)
           if known.region is not None and known.points and is_value_check(family.name, known.check)]


@pytest.mark.parametrize("family, known", REGIONS)
def test_known_deviation_occurs_at_its_points(family, known):
    """Every element-wise value deviation shows at its own deterministic points, inside its region, in a
    draw's leading rows as the default tier makes them."""
    count = len(next(iter(known.points.values())))
    before = sum(len(next(iter(k.points.values()))) for k in family.known[: family.known.index(known)] if k.points)
    params = dict(deterministic_rows(family))  # the rows every draw starts with, at the same positions
    params.update({name: value for name, value in family.make_params(np.random.default_rng(0), 1).items()
                   if np.ndim(value) == 0})  # shared parameters (a dimension, one temperature) as drawn
    for name, dtype in DTYPES.items():
        if not known.applies(known.check, name):
            continue
        result = check_method(family, known.check, params, dtype)
        assert result.ok is not None, result.summary()
        shown = ~result.ok & known.inside(result.coords, result.ok.shape)
        assert shown[..., before:before + count].any(), f"{known.what}: not at its points; {result.summary()}"

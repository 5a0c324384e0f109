"""Sampler goodness of fit for every family's sample and rsample, with planted faults showing the power."""

from __future__ import annotations

import pytest
import torch
import torch.distributions as D

from suite.checks import sampling as S
from suite.registry.families import REGISTRY

CHECKS = [pytest.param(family.name, method, id=f"{family.name}-{method}") for family, method in S.sampler_checks()]


@pytest.mark.parametrize("name, method", CHECKS)
def test_sampler_fits_reference(name, method, dtype, device, rng):
    result = S.goodness_of_fit(REGISTRY[name], method, dtype, device, rng)
    assert result.passed, str(result)


class ScaledExponential(D.Exponential):
    """Draws 5% too large: the scale is 1.05 / rate."""

    def rsample(self, sample_shape=torch.Size()):
        return 1.05 * super().rsample(sample_shape)


class SwappingCategorical(D.Categorical):
    """Swaps its most and least probable categories in 3% of the draws."""

    def sample(self, sample_shape=torch.Size()):
        draws = super().sample(sample_shape)
        most, least = self.probs.argmax(-1), self.probs.argmin(-1)
        swap = torch.rand(draws.shape, device=draws.device) < 0.03
        swapped = torch.where(draws == most, least, torch.where(draws == least, most, draws))
        return torch.where(swap, swapped, draws)


def _faulty(cls):
    return lambda params, dtype, device: cls(
        **{k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in params.items()})


@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_detects_exponential_scale_five_percent_large(method, dtype, device, rng):
    result = S.goodness_of_fit(REGISTRY["Exponential"], method, dtype, device, rng,
                               instantiate=_faulty(ScaledExponential))
    assert not result.passed, str(result)


def test_detects_categorical_swapping_three_percent(dtype, device, rng):
    result = S.goodness_of_fit(REGISTRY["Categorical"], "sample", dtype, device, rng,
                               instantiate=_faulty(SwappingCategorical))
    assert not result.passed, str(result)


def test_budget_is_split_over_every_statistical_check():
    assert S.ALPHA * S.STATISTICAL_CHECKS == pytest.approx(S.FALSE_POSITIVE_BUDGET)
    assert S.STATISTICAL_CHECKS >= len(CHECKS) * len(S.RUN_DTYPES) * len(S.RUN_DEVICES)


@pytest.mark.slow
def test_false_alarms_over_fifty_seeds(device, record_property):
    """Every sampler check at 50 seeds; expected false alarms 50 * checks * ALPHA (about 0.02)."""
    runs, failures = S.false_alarm_sweep(range(50), S.RUN_DTYPES, device)
    record_property("sampler_checks_run", runs)
    record_property("false_alarms", len(failures))
    print(f"{runs} sampler checks over 50 seeds: {len(failures)} alarms "
          f"(expected false alarms {runs * S.ALPHA:.3g})")
    assert not failures, "\n".join(map(str, failures))

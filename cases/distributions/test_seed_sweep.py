"""The slow tier's seed sweep: every distribution check of the default tier (values, support, invalid
parameters, rsample gradients, samplers) over SWEEP_SEEDS run seeds, every failure reported; and the power of
each statistical planted fault, simulated over POWER_SEEDS seeds.

`pytest -m slow cases/distributions/test_seed_sweep.py`. Time on a 2-core machine shared with other work:
about 2 minutes per seed for the value cases, 1 for the gradient cases and 1.5 for the samplers, so about
4.5 hours for all three at 50 seeds; the power cases about 15 minutes each at 1000 seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks import rsample_grad as G
from suite.checks import sampling as S
from suite.checks import sweep as W
from suite.registry.families import REGISTRY

SWEEP_SEEDS = 50
POWER_SEEDS = 1000
KINDS = {"values": W.value_cases, "rsample_gradients": W.gradient_cases, "samplers": W.sampler_cases}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_check_passes_at_every_seed(kind, record_property):
    """0 false alarms: a failure here is a finding no known deviation covers, or a check that breaks on some
    draw. Expected false alarms of the statistical cases: runs * ALPHA (about 0.1 for the samplers)."""
    runs, failures = W.sweep(KINDS[kind](), range(SWEEP_SEEDS), progress=print)
    record_property("runs", runs)
    record_property("failures", len(failures))
    print(f"{kind}: {runs} runs over {SWEEP_SEEDS} seeds, {len(failures)} failures")
    assert not failures, "\n".join(map(str, failures))


def _unbiasedness_rejects(name: str, cls, dtype: torch.dtype, params):
    def rejects(seed: int) -> bool:
        torch.manual_seed(seed)
        return not G.unbiasedness(REGISTRY[name], dtype, "cpu", np.random.default_rng(seed),
                                  build=lambda tensors: cls(**tensors), params=params).passed
    return rejects


def _sampler_rejects(name: str, method: str, cls, dtype: torch.dtype, params=None):
    def rejects(seed: int) -> bool:
        torch.manual_seed(seed)
        return not S.goodness_of_fit(REGISTRY[name], method, dtype, "cpu", np.random.default_rng(seed),
                                     instantiate=lambda p, d, dev: cls(**{k: torch.as_tensor(v, dtype=d)
                                                                         for k, v in p.items()}),
                                     params=params).passed
    return rejects


FAULTS = ("exponential-scale-1.05-sample", "exponential-scale-1.05-rsample", "categorical-swap-3%",
          "gamma-gradient-x1.02-unbiasedness", "normal-loc-detached-unbiasedness")
POWER_CASES = [f"{fault}-{dtype}" for dtype in ("float64", "float32") for fault in FAULTS]


def _power_case(name: str):
    """The planted fault's check at one seed: True where it rejects the faulty sampler."""
    import test_rsample_grad as R  # the planted faults live beside their default-tier cases
    import test_sampling as T

    fault, _, tag = name.rpartition("-")
    dtype = getattr(torch, tag)
    swap = {"probs": np.tile(T.SWAP_PROBS, (S.PARAMETER_SETS, 1))}
    return {
        "exponential-scale-1.05-sample": _sampler_rejects("Exponential", "sample", T.ScaledExponential, dtype),
        "exponential-scale-1.05-rsample": _sampler_rejects("Exponential", "rsample", T.ScaledExponential, dtype),
        "categorical-swap-3%": _sampler_rejects("Categorical", "sample", T.SwappingCategorical, dtype, swap),
        "gamma-gradient-x1.02-unbiasedness": _unbiasedness_rejects("Gamma", R.SteeperGamma, dtype,
                                                                   R.STATED_PARAMS["Gamma"]),
        "normal-loc-detached-unbiasedness": _unbiasedness_rejects("Normal", R.LocDetachedNormal, dtype,
                                                                  R.STATED_PARAMS["Normal"]),
    }[fault]


@pytest.mark.slow
@pytest.mark.parametrize("fault", POWER_CASES)
def test_planted_fault_power_is_at_least_0_999(fault, record_property):
    rejects = _power_case(fault)
    detected = sum(rejects(seed) for seed in range(POWER_SEEDS))
    record_property("power", detected / POWER_SEEDS)
    print(f"{fault}: detected at {detected} of {POWER_SEEDS} seeds (alpha {S.ALPHA:.3g})")
    assert detected / POWER_SEEDS >= 0.999

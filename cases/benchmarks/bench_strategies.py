"""One training step per strategy, split into construct / log_prob / backward / optimiser step, with
argument validation on and off; the strategy's verdict (against rebuild_per_step) beside each number."""

from __future__ import annotations

import functools

import pytest
import torch

from suite import training as S
from suite.bench import workloads
from suite.registry.families import REGISTRY

pytestmark = pytest.mark.benchmark

# (family, event dimension or None for the registry's own)
FAMILIES = [("Normal", None), ("Gamma", None), ("Beta", None), ("StudentT", None), ("Dirichlet", None),
            ("Categorical", None), ("MultivariateNormal", 2), ("MultivariateNormal", 32)]
SIZES = [pytest.param(10**2, id="1e2"), pytest.param(10**4, id="1e4"),
         pytest.param(10**6, id="1e6", marks=pytest.mark.cpu_slow)]
VERDICT_STEPS, VERDICT_SAMPLES = 5, 256


@functools.cache
def fit_spec(family: str, dim: int | None) -> S.FitSpec:
    return S.fit_spec(workloads.sized_family(REGISTRY[family], dim))


@functools.cache
def verdicts(family: str, dim: int | None, device: str, dtype: torch.dtype, validate: bool) -> dict[str, str]:
    """Each strategy's verdict from a short run against rebuild_per_step in the same configuration."""
    found = S.compare_strategies(fit_spec(family, dim), device, dtype, steps=VERDICT_STEPS,
                                 n_samples=VERDICT_SAMPLES, validate=validate)
    return {v.strategy: v.verdict for v in found}


@pytest.mark.parametrize("validate", [False, True], ids=["novalidate", "validate"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("strategy", S.STRATEGIES)
@pytest.mark.parametrize("family,dim", [pytest.param(f, d, id=f if d is None else f"{f}-d{d}") for f, d in FAMILIES])
def test_strategy_step(bench, family, dim, strategy, size, validate, device, dtype):
    state = S.training_state(strategy, fit_spec(family, dim), size, device, dtype, validate)
    def verdict(_) -> str | None:  # asked once, in the first timing pass
        return verdicts(family, dim, str(device), dtype, validate).get(strategy)

    bench.run_stages(workloads.step_stages(state), device, verdict=verdict, errors_are_data=True,
                     group="strategy_step", family=family, method=strategy, dtype=dtype, size=size, dim=dim,
                     validate=validate, compiled=False)

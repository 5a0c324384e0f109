"""Benchmark workloads: batched evaluation (log_prob, rsample, sample) at a batch size, training steps
split into phases, and families resized to an event dimension.

A throughput workload is a distribution with batch shape (size,) from the registry's parameter
generator and, for log_prob, one point per parameter set. Large batches repeat a block of generated
parameter sets (GENERATED_AT_MOST) so that host-side generation stays cheap at GPU sizes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.distributions import Distribution

from suite.bench.measure import Stage
from suite.checks import jacobian as J
from suite.checks import jacobian_agreement as JA
from suite.registry.families import REGISTRY, Family, ParamDict, dtype_name
from suite.training import TrainingState

METHODS = ("log_prob", "rsample", "sample")
GENERATED_AT_MOST = 10**5


def methods_of(family: Family) -> tuple[str, ...]:
    return tuple(m for m in METHODS if m != "rsample" or family.has_rsample)


def batched_params(family: Family, rng: np.random.Generator, size: int) -> ParamDict:
    """`size` parameter sets: generated up to GENERATED_AT_MOST, then that block repeated."""
    block = family.make_params(rng, min(size, GENERATED_AT_MOST))
    if size <= GENERATED_AT_MOST:
        return block
    index = np.arange(size) % GENERATED_AT_MOST
    return {k: v if isinstance(v, int) or np.ndim(v) == 0 else np.asarray(v)[index] for k, v in block.items()}


@dataclass(frozen=True)
class Workload:
    family: str
    method: str
    distribution: Distribution
    x: torch.Tensor | None

    @property
    def event_size(self) -> int:
        return math.prod(self.distribution.event_shape)

    def call(self) -> torch.Tensor:
        if self.method == "log_prob":
            return self.distribution.log_prob(self.x)
        return getattr(self.distribution, self.method)()


def workload(family: Family, method: str, size: int, device: str | torch.device, dtype: torch.dtype,
             seed: int, validate_args: bool = False) -> Workload:
    if method not in methods_of(family):
        raise ValueError(f"{family.name} has no {method}")
    rng = np.random.default_rng(seed)
    dist = family.instantiate(batched_params(family, rng, size), dtype, device, validate_args)
    x = None
    if method == "log_prob":
        with torch.no_grad():
            x = dist.sample()
    return Workload(family.name, method, dist, x)


def compiled(fn: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """torch.compile'd fn (static shapes); compilation happens, and may fail, on the first call."""
    return torch.compile(fn, dynamic=False)


def agreement(eager: torch.Tensor, other: torch.Tensor, rtol: float, atol: float) -> str:
    """'agree' when two evaluations match elementwise (NaN where NaN), else the largest difference."""
    if eager.shape != other.shape:
        return f"disagree: shape {tuple(other.shape)} vs {tuple(eager.shape)}"
    if torch.allclose(other, eager, rtol=rtol, atol=atol, equal_nan=True):
        return "agree"
    diff = (other.double() - eager.double()).abs().nan_to_num(math.inf).max()
    return f"disagree: max |difference| {float(diff):.3g}"


def sized_family(family: Family, dim: int | None) -> Family:
    """The family with parameters generated at event dimension `dim` (None: the registry's own)."""
    if dim is None:
        return family
    generate = family.sized_params
    if generate is None:
        raise ValueError(f"{family.name} has no sized parameter generator")
    return dataclasses.replace(family, make_params=lambda rng, n: generate(rng, n, dim))


def step_stages(state: TrainingState) -> list[Stage]:
    """One training step as stages: construct the distribution, the loss (its log_prob), backward,
    then the optimiser step (with zero_grad, ready for the next step)."""

    def optimizer_step(_: object) -> None:
        state.optimizer_step()
        state.zero_grad()

    return [("construct", lambda _: state.construct()), ("log_prob", state.loss), ("backward", state.backward),
            ("optimizer_step", optimizer_step)]


def sized_params(family: str, dim: int) -> ParamDict:
    """One unbatched parameter set at event dimension `dim`, as the Jacobian benchmark problems use."""
    params = REGISTRY[family].sized_params(np.random.default_rng(0), 1, dim)
    return {k: v if isinstance(v, int) else np.asarray(v)[0] for k, v in params.items()}


def jacobian_agreement(family: str, dim: int, values: tuple[torch.Tensor, ...],
                       reference: tuple[torch.Tensor, ...], dtype: torch.dtype) -> str:
    """'agree' or 'disagree' with the largest normwise relative error, a method's Jacobians (in the
    order of the family's differentiable parameters) against the reference method's, at the
    Jacobian checks' tolerance, symmetric-matrix parameters symmetrised as those checks do."""
    fam = REGISTRY[family]
    names = J.differentiable_params(fam, sized_params(family, dim))

    def result(method: str, vals: tuple[torch.Tensor, ...]) -> J.ComputedJacobian:
        return J.ComputedJacobian(method, family, J.OK, dict(zip(names, vals)), dtype=dtype_name(dtype))

    comparison = JA.compare(result("method", values), result(J.REFERENCE_METHOD, reference), JA.rtol_for(fam, dtype),
                           batch_ndim=0, symmetric=JA.symmetric_param_names(fam, names))
    return f"{'agree' if comparison.passed else 'disagree'} (rel err {comparison.max_rel_error:.1e})"

"""Per-sample Jacobians of log_prob by every method, for N samples and event size d; verdicts against
the analytic score of the same configuration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.bench import workloads
from suite.checks import jacobian as J
from suite.registry.families import FAMILIES

pytestmark = pytest.mark.benchmark

N_SAMPLES = (10, 100, 1_000, 10_000)
DIMS = (2, 16, 128)
# Jacobian entries (N x parameter count) above this are the slow tier on the CPU: there the
# sequential and forward-mode methods take seconds to minutes per call.
CPU_DEFAULT_ENTRIES = 30_000


def parameter_count(family: str, d: int) -> int:
    return sum(np.size(v) for v in workloads.sized_params(family, d).values() if not isinstance(v, int))


# Methods that push a batch of N cotangents through all N samples at once: memory grows with N^2.
BATCHED_COTANGENTS = ("functional.reverse.vectorize", "jacrev")
# Peak working memory over the size of the arrays named below, measured on CPU (jacrev, d=16, N=1000: 12 GB).
OVERHEAD = 6


def estimated_bytes(method: str, family: str, size: int, dim: int, dtype: torch.dtype) -> int:
    """Working memory of a method for N samples and P parameters of event size d: N^2 P for batched
    cotangents, N P d for per-sample vmaps and forward mode, N P for the sequential methods."""
    count, itemsize = parameter_count(family, dim), torch.finfo(dtype).bits // 8
    if method in BATCHED_COTANGENTS:
        elements = size * size * count
    elif J.METHODS[method].mode == J.FORWARD or method == "vmap_grad" or method.endswith("vectorize"):
        elements = size * count * dim
    else:
        elements = size * count
    return OVERHEAD * elements * itemsize


def _grid() -> list:
    cases = []
    for family in [f.name for f in FAMILIES if f.sized_params is not None]:
        for d in DIMS:
            count = parameter_count(family, d)
            for n in N_SAMPLES:
                marks = [pytest.mark.cpu_slow, pytest.mark.isolated] if n * count > CPU_DEFAULT_ENTRIES else []
                cases.append(pytest.param(family, d, n, id=f"{family}-d{d}-N{n}", marks=marks))
    return cases


@pytest.mark.parametrize("method", list(J.METHODS))
@pytest.mark.parametrize("family,dim,size", _grid())
def test_jacobian(bench, method, family, dim, size, device, dtype, seed):
    bench.check_memory(estimated_bytes(method, family, size, dim, dtype), device, group="jacobian", family=family,
                       method=method, dtype=dtype, size=size, dim=dim)
    fn, inputs = J.benchmark_case(method, family, size, dim, device, dtype, seed=seed)

    def verdict(values: tuple[torch.Tensor, ...]) -> str:
        if method == J.REFERENCE_METHOD:
            return "reference"
        ref_fn, ref_inputs = J.benchmark_case(J.REFERENCE_METHOD, family, size, dim, device, dtype, seed=seed)
        return workloads.jacobian_agreement(family, dim, values, ref_fn(*ref_inputs), dtype)

    bench.run(lambda: fn(*inputs), device, verdict=verdict, errors_are_data=True, group="jacobian", family=family,
              method=method, dtype=dtype, size=size, dim=dim)

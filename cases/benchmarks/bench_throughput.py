"""Throughput of log_prob, rsample and sample against batch size for every family, eager and compiled,
and the memory probe that shows the peak-memory measure right on this machine."""

from __future__ import annotations

import pytest
import torch

from suite.bench import measure, workloads
from suite.bench.plugin import tier_of
from suite.bench.results import Record
from suite.registry.families import FAMILIES, dtype_name

pytestmark = pytest.mark.benchmark

SIZES = [pytest.param(10**2, id="1e2"), pytest.param(10**4, id="1e4"),
         pytest.param(10**6, id="1e6", marks=pytest.mark.cpu_slow),
         pytest.param(10**8, id="1e8", marks=pytest.mark.gpu_only)]
CASES = [pytest.param(f, m, id=f"{f.name}-{m}") for f in FAMILIES for m in workloads.methods_of(f)]

# torch.compile costs seconds per graph on a small CPU: the representative families (compile_representative in
# their entries), one size in the default --benchmark run, the rest in the slow tier.
COMPILED_SIZES = [pytest.param(10**4, id="1e4"), pytest.param(10**2, id="1e2", marks=pytest.mark.slow),
                  pytest.param(10**6, id="1e6", marks=pytest.mark.cpu_slow)]
COMPILED_CASES = [pytest.param(f, m, id=f"{f.name}-{m}") for f in FAMILIES if f.compile_representative
                  for m in workloads.methods_of(f)]


def _known_to_raise(family, method: str, dtype: torch.dtype) -> bool:
    """A registry known deviation for this method: a failure is recorded as data, not a failed case."""
    return bool(family.known_for(method, dtype))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("family,method", CASES)
def test_throughput(bench, family, method, size, device, dtype, seed):
    work = workloads.workload(family, method, size, device, dtype, seed)
    bench.run(work.call, device, errors_are_data=_known_to_raise(family, method, dtype), group="throughput",
              family=family.name, method=method, dtype=dtype, size=size, dim=work.event_size, validate=False,
              compiled=False)


@pytest.mark.timed_only
@pytest.mark.parametrize("size", COMPILED_SIZES)
@pytest.mark.parametrize("family,method", COMPILED_CASES)
def test_throughput_compiled(bench, family, method, size, device, dtype, seed):
    """A compile failure is recorded as an `error` record with its message (and the case skipped)."""
    work = workloads.workload(family, method, size, device, dtype, seed)
    eager = work.call() if method == "log_prob" else None
    tol = family.tolerance[dtype]

    def verdict(value: torch.Tensor) -> str | None:
        return workloads.agreement(eager, value, tol.rtol, tol.atol) if eager is not None else None

    bench.run(workloads.compiled(work.call), device, verdict=verdict, errors_are_data=True, group="throughput",
              family=family.name, method=method, dtype=dtype, size=size, dim=work.event_size, validate=False,
              compiled=True)


PROBE_BYTES = [pytest.param(1 << 20, id="1MiB"), pytest.param(3 * 10**7, id="30MB")]


@pytest.mark.parametrize("nbytes", PROBE_BYTES)
def test_memory_probe(recorder, nbytes, device, dtype, request):
    """Two live blocks of nbytes/2 then, after freeing one, a third: the true peak is exactly nbytes."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    count = nbytes // 2 // itemsize

    def allocate() -> torch.Tensor:
        first = torch.empty(count, dtype=dtype, device=device)
        second = torch.empty(count, dtype=dtype, device=device)
        del first
        return second.clone()

    expected = 2 * count * itemsize
    memory = measure.peak_memory(allocate, device)
    verdict = "exact" if memory.peak_bytes == expected else f"measured {memory.peak_bytes} of {expected} bytes"
    if recorder is not None:
        recorder.add([Record(case_id=request.node.nodeid, group="memory_probe", method="allocate",
                             device=measure.device_type(device), dtype=dtype_name(dtype), size=expected,
                             peak_bytes=memory.peak_bytes, verdict=verdict, tier=tier_of(request.node))])
    assert memory.peak_bytes == expected, verdict

"""Cost of the execution modes: compile time and compiled speed-up (inductor) of every family's log_prob
and rsample, and on CUDA the device synchronisations per call with validation on and off
(torch.cuda.set_sync_debug_mode), beside the time the call takes.

The compiled cases are `timed_only` (they run with --benchmark): the record is the compiled call's
timing; its verdict carries the agreement with eager (log_prob), the compile time (the first call after a
Dynamo reset, wall clock, after inductor's one-time start-up) and the speed-up over eager at the same
size, eager timed in a few rounds beside it.
The synchronisation cases run where CUDA exists and skip with the reason elsewhere.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
import torch

from suite.bench import measure, syncs, workloads
from suite.checks import modes as M
from suite.registry.families import FAMILIES

pytestmark = pytest.mark.benchmark

COMPILED_SIZES = [pytest.param(10**4, id="1e4"), pytest.param(10**2, id="1e2", marks=pytest.mark.slow),
                  pytest.param(10**6, id="1e6", marks=pytest.mark.cpu_slow)]
SYNC_SIZES = [pytest.param(10**4, id="1e4"), pytest.param(10**6, id="1e6", marks=pytest.mark.cpu_slow)]
COST_METHODS = ("log_prob", "rsample")
# Inductor costs seconds per graph on a small CPU: the default --benchmark tier compiles the representative
# family (compile_representative in its entry); every family compiles in the slow tier.
CASES = [pytest.param(f, m, id=f"{f.name}-{m}", marks=() if f.compile_representative else pytest.mark.slow)
         for f in FAMILIES for m in COST_METHODS if m in workloads.methods_of(f)]
SPEEDUP_ROUNDS = 5


def compile_seconds(fn, device) -> tuple[float, measure.Outcome]:
    """Wall-clock seconds of the first call of a freshly compiled fn (tracing, lowering, code generation
    and the call), and what the call gave."""
    measure.synchronize(device)
    start = time.perf_counter()
    outcome = measure.guarded(fn, device)
    measure.synchronize(device)
    return time.perf_counter() - start, outcome


@functools.lru_cache(maxsize=None)
def warm_inductor(device: str) -> None:
    """Compile a trivial function once per device, so that inductor's one-time start-up (over a minute on a
    cold CPU machine) is not counted as the first case's compile time."""
    torch.compile(lambda t: t * 2 + 1)(torch.ones(8, device=device))
    torch._dynamo.reset()


def median_call(fn, device) -> float:
    return float(np.median(measure.time_calls(fn, device, SPEEDUP_ROUNDS)))


@pytest.mark.timed_only
@pytest.mark.parametrize("size", COMPILED_SIZES)
@pytest.mark.parametrize("family,method", CASES)
def test_compile_time_and_speedup(bench, family, method, size, device, dtype, seed):
    work = workloads.workload(family, method, size, device, dtype, seed)
    eager = work.call()
    warm_inductor(measure.device_type(device))
    compiled = torch.compile(work.call, dynamic=False)
    compile_s, first = compile_seconds(compiled, device)
    parts = [f"compile {compile_s:.2f} s"]
    if first.ok:
        if method == "log_prob":
            tol = family.tolerance[dtype]
            parts.insert(0, workloads.agreement(eager, first.value, tol.rtol, tol.atol))
        parts.append(f"speed-up {median_call(work.call, device) / median_call(compiled, device):.2f}x")
    bench.run(compiled, device, verdict="; ".join(parts), errors_are_data=True, group="throughput",
              family=family.name, method=method, dtype=dtype, size=size, dim=work.event_size, validate=False,
              compiled=True)
    torch._dynamo.reset()


@pytest.mark.parametrize("validate", [pytest.param(False, id="validate-off"), pytest.param(True, id="validate-on")])
@pytest.mark.parametrize("size", SYNC_SIZES)
@pytest.mark.parametrize("family,method", CASES)
def test_synchronisations_per_call(bench, family, method, validate, size, device, dtype, seed):
    """Construction from device tensors and the method, with validation on or off: synchronisations
    counted, then timed."""
    reason = syncs.cuda_skip_reason(device)
    if reason is not None:
        pytest.skip(reason)
    inputs = M.make_inputs(family, size, dtype, seed, device)

    def call():
        return M.call_methods(family, inputs.tensors, inputs.x, inputs.q, (method,), validate)

    count = syncs.count_syncs(call, device)
    bench.run(call, device, verdict=f"{count} synchronisations per call", group="throughput", family=family.name,
              method=method, dtype=dtype, size=size, dim=int(np.prod(inputs.x.shape[1:])), validate=validate,
              compiled=False)

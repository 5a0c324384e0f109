"""The measuring itself: peak memory to the byte, stage timing, failure classification, the memory budget,
and the verdicts written beside the numbers. Each check has a planted fault that it reports."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from virtual_clock import VirtualClock

from suite.bench import measure, workloads
from suite.checks import jacobian as J

# ------------------------------------------------------------------ peak memory


def blocks(nbytes: int, dtype: torch.dtype, device, extra_elements: int = 0):
    """Two live blocks of nbytes/2, one freed, then a copy of the other: the true peak is nbytes."""
    count = nbytes // 2 // torch.empty((), dtype=dtype).element_size()

    def allocate() -> torch.Tensor:
        first = torch.empty(count + extra_elements, dtype=dtype, device=device)
        second = torch.empty(count, dtype=dtype, device=device)
        del first
        return second.clone()

    return allocate


def peak_is(fn, device, expected: int) -> bool:
    return measure.peak_memory(fn, device).peak_bytes == expected


@pytest.mark.parametrize("nbytes", [1 << 16, 24_000_000])
def test_peak_memory_is_exact(nbytes, device, dtype):
    assert measure.peak_memory(blocks(nbytes, dtype, device), device).peak_bytes == nbytes


def test_peak_memory_planted_faults_are_seen(device, dtype):
    """A block 8 elements larger, or blocks that never overlap, give a different peak than declared."""
    nbytes = 1 << 20
    assert not peak_is(blocks(nbytes, dtype, device, extra_elements=8), device, nbytes)

    def sequential() -> None:
        for _ in range(2):
            torch.empty(nbytes // 2, dtype=torch.uint8, device=device)

    assert not peak_is(sequential, device, nbytes)
    assert peak_is(sequential, device, nbytes // 2)


def test_peak_memory_excludes_what_was_already_allocated(device):
    held = torch.empty(1 << 22, dtype=torch.uint8, device=device)
    assert measure.peak_memory(lambda: torch.empty(1024, dtype=torch.uint8, device=device), device).peak_bytes == 1024
    del held


def test_peak_of_replays_allocations_in_time_order():
    assert measure.peak_of([(0, 100), (1, 50), (2, -100), (3, 80)]) == 150
    assert measure.peak_of([(0, 100), (1, -100), (2, 50), (3, 80)]) == 130


# ------------------------------------------------------------------ timing


SLEEPS = {"short": 0.002, "long": 0.006}


def waiting_stages(clock: VirtualClock):
    """Two stages that wait (on a device, say) 2 and 6 ms of the virtual clock."""
    return [(name, lambda _, s=s: clock.advance(s)) for name, s in SLEEPS.items()]


def stage_times_match(stages, timer) -> bool:
    timings = measure.time_stages(stages, "cpu", rounds=5, warmup=1, timer=timer)
    within = [timings[name].median_s == pytest.approx(s, abs=1e-5) for name, s in SLEEPS.items()]
    return all(within) and timings["total"].median_s == pytest.approx(sum(SLEEPS.values()), abs=2e-5)


def test_stage_timing_attributes_time_to_each_stage():
    clock = VirtualClock()
    assert stage_times_match(waiting_stages(clock), clock)


def test_stage_timing_planted_fault_clock_that_misses_waiting():
    """A clock that does not see the waiting (as one without synchronisation misses GPU work)."""
    clock, blind = VirtualClock(), VirtualClock()
    assert not stage_times_match(waiting_stages(clock), blind)


def python_work(units: int) -> int:
    return sum(range(units * 20_000))


def cpu_seen_by(clock, fn) -> float:
    start = clock()
    fn()
    return clock() - start


def test_single_thread_clock_counts_the_work_of_its_thread_and_not_waiting():
    """thread_time, the clock of a one-thread CPU run, advances with the thread's own work and not while it
    waits: sleeping 50 ms reads (far) under 25 ms whatever else the machine does, work reads above zero."""
    assert measure.timer_for("cpu", threads=1) is time.thread_time
    assert cpu_seen_by(time.thread_time, lambda: time.sleep(0.05)) < 0.025
    assert cpu_seen_by(time.thread_time, lambda: python_work(5)) > 0


def test_thread_clock_planted_fault_work_in_another_thread():
    """Work on another thread is invisible to the thread clock: why more than one torch thread means
    the wall clock. The other thread's own CPU time shows the work that the caller's clock missed."""
    inside = []

    def worker() -> None:
        inside.append(cpu_seen_by(time.thread_time, lambda: python_work(20)))

    def elsewhere() -> None:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()

    seen = cpu_seen_by(time.thread_time, elsewhere)
    assert inside[0] > 0 and seen < inside[0]
    assert measure.timer_for("cpu", threads=2) is time.perf_counter


def test_stage_timing_feeds_each_output_to_the_next_stage():
    seen = []
    stages = [("a", lambda _: 3), ("b", lambda v: seen.append(v) or v * 2)]
    assert measure.run_stages(stages) == 6 and seen == [3]
    measure.time_stages(stages, "cpu", rounds=2, warmup=0)
    assert seen == [3, 3, 3]


def test_summarize_median_and_iqr():
    timing = measure.summarize([9.0, 1.0, 2.0, 3.0, 100.0])
    assert (timing.median_s, timing.iqr_s, timing.rounds) == (3.0, 7.0, 5)


def test_rounds_within_budget():
    assert measure.rounds_within(0.01, 0.1) == 10
    assert measure.rounds_within(1.0, 0.1) == 5
    assert measure.rounds_within(1e-6, 0.1) == 200


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() is False")
def test_cuda_timer_waits_for_queued_work():
    """The synchronising clock counts queued kernels; the planted plain perf_counter reads far less."""
    device = "cuda"
    a = torch.randn(4096, 4096, device=device)

    def work() -> None:
        for _ in range(20):
            a @ a

    work()
    timings = {}
    for name, clock in {"synced": measure.timer_for(device), "plain": time.perf_counter}.items():
        torch.cuda.synchronize()
        timings[name] = measure.time_stages([("work", lambda _: work())], device, rounds=3, timer=clock)["work"]
    torch.cuda.synchronize()
    assert timings["plain"].median_s < 0.5 * timings["synced"].median_s


# ------------------------------------------------------------------ failures


def test_real_cpu_allocation_failure_is_oom():
    outcome = measure.guarded(lambda: torch.empty(1 << 60, dtype=torch.uint8), "cpu")
    assert outcome.status == measure.OOM and "allocate" in outcome.error


@pytest.mark.parametrize("exc,status", [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), measure.OOM),
    (MemoryError(), measure.OOM),
    (NotImplementedError("no rsample"), measure.UNSUPPORTED),
    (RuntimeError("The size of tensor a (3) must match the size of tensor b (4)"), measure.ERROR),
    (ValueError("Expected parameter scale to satisfy the constraint"), measure.ERROR),
])
def test_failures_are_classified(exc, status):
    def fail():
        raise exc

    outcome = measure.guarded(fail)
    assert outcome.status == status and outcome.exception is exc and "\n" not in outcome.error


# ------------------------------------------------------------------ verdicts beside the numbers


def test_compiled_agreement_planted_faults():
    eager = torch.tensor([1.0, float("nan"), -3.0])
    assert workloads.agreement(eager, eager.clone(), 1e-6, 0.0) == "agree"
    assert workloads.agreement(eager, eager * 1.001, 1e-6, 0.0).startswith("disagree")
    assert workloads.agreement(eager, torch.tensor([1.0, 2.0, -3.0]), 1e-6, 0.0).startswith("disagree")
    assert workloads.agreement(eager, eager[:2], 1e-6, 0.0).startswith("disagree: shape")


def test_jacobian_agreement_planted_fault():
    fn, inputs = J.benchmark_case(J.REFERENCE_METHOD, "MultivariateNormal", 20, 3, "cpu", torch.float64)
    reference = fn(*inputs)
    loop_fn, loop_inputs = J.benchmark_case("loop", "MultivariateNormal", 20, 3, "cpu", torch.float64)
    assert workloads.jacobian_agreement("MultivariateNormal", 3, loop_fn(*loop_inputs), reference,
                                        torch.float64).startswith("agree")
    wrong = (reference[0] * 1.01,) + tuple(reference[1:])
    assert workloads.jacobian_agreement("MultivariateNormal", 3, wrong, reference,
                                        torch.float64).startswith("disagree")


# ------------------------------------------------------------------ the memory budget


def test_memory_budget_is_a_positive_share_of_physical_memory():
    assert 0 < measure.memory_budget("cpu") <= measure.physical_memory() // 2


def test_a_case_over_the_memory_budget_is_recorded_as_oom_and_not_run():
    from suite.bench.plugin import Bench

    class Recorded:
        records: list = []
        pass_number = 1

        def add(self, records):
            self.records.extend(records)

    recorder = Recorded()
    bench = Bench("case[huge]", benchmark=None, recorder=recorder)
    bench.check_memory(1024, "cpu", group="jacobian", family="MultivariateNormal", method="jacrev",
                       dtype=torch.float64, size=10, dim=2)
    assert recorder.records == []
    with pytest.raises(pytest.skip.Exception, match="exceeds the budget"):
        bench.check_memory(10**18, "cpu", group="jacobian", family="MultivariateNormal", method="jacrev",
                           dtype=torch.float64, size=10**6, dim=128)
    (record,) = recorder.records
    assert record.status == measure.OOM and "not run" in record.error and record.size == 10**6

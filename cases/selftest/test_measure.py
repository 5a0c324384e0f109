"""The measuring itself: peak memory to the byte, stage timing, failure classification, results.json,
and the `pytest --benchmark` run end to end. Each check has a planted fault that it reports."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch._dynamo  # noqa: F401  (once, before pytester runs, which would import it twice)

from suite.bench import allocator, environment, measure, workloads
from suite.bench import passes as P
from suite.bench import results as R
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
# Upper slack for a sleep on a loaded machine; a clock that misses the sleep reads under the lower bound.
SLACK_S = 0.03


def stage_times_match(timer) -> bool:
    stages = [(name, lambda _, s=s: time.sleep(s)) for name, s in SLEEPS.items()]
    timings = measure.time_stages(stages, "cpu", rounds=5, warmup=1, timer=timer)
    within = [s <= timings[name].median_s <= s + SLACK_S for name, s in SLEEPS.items()]
    total = sum(SLEEPS.values())
    return all(within) and total <= timings["total"].median_s <= total + 2 * SLACK_S


def test_stage_timing_attributes_time_to_each_stage():
    assert stage_times_match(measure.timer_for("cpu", threads=2))


def test_stage_timing_planted_fault_clock_that_misses_waiting():
    """process_time does not advance while sleeping, as a clock without synchronisation misses GPU work."""
    assert not stage_times_match(time.process_time)


def python_work(units: int) -> int:
    return sum(range(units * 20_000))


def in_another_thread(fn):
    def run(value):
        worker = threading.Thread(target=fn, args=(value,))
        worker.start()
        worker.join()
    return run


def work_ratio_matches(stages, timer) -> bool:
    """The heavy stage does three times the light stage's work: their times must show it."""
    timings = measure.time_stages(stages, "cpu", rounds=7, warmup=1, timer=timer)
    light = timings["light"].median_s
    return light > 0 and 2.4 <= timings["heavy"].median_s / light <= 3.6


def test_single_thread_clock_counts_the_work_of_each_stage():
    stages = [("light", lambda _: python_work(1)), ("heavy", lambda _: python_work(3))]
    assert measure.timer_for("cpu", threads=1) is time.thread_time
    assert work_ratio_matches(stages, measure.timer_for("cpu", threads=1))


def test_thread_clock_planted_fault_work_in_another_thread():
    """Work on another thread is invisible to the thread clock: why more than one torch thread means
    the wall clock."""
    stages = [("light", lambda _: python_work(1)), ("heavy", in_another_thread(lambda _: python_work(3)))]
    assert not work_ratio_matches(stages, time.thread_time)
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


# ------------------------------------------------------------------ results.json


def sample_results(env_id: str = "test-env") -> R.Results:
    env = replace(environment.capture(threads=1), id=env_id)
    return R.Results(env, [
        R.Record(case_id="c::a", group="throughput", method="log_prob", device="cpu", dtype="float64", size=100,
                 family="Normal", median_s=1e-5, iqr_s=1e-6, rounds=3, samples_s=[1e-5, 1.1e-5, 0.9e-5],
                 peak_bytes=800),
        R.Record(case_id="c::b", group="strategy_step", method="rebuild_per_step", device="cpu", dtype="float32",
                 size=10**6, family="Gamma", phase="total", validate=True, status="oom", error="MemoryError"),
    ])


def test_results_round_trip(tmp_path):
    path = R.write_atomic(tmp_path / "env" / R.FILENAME, sample_results())
    assert R.load(path) == sample_results()


@pytest.mark.parametrize("fault", ["schema_version", "missing", "unknown", "status", "bool_size", "samples"])
def test_results_validation_planted_faults(fault):
    document = sample_results().to_dict()
    record = document["records"][0]
    if fault == "schema_version":
        document["schema_version"] = 2
    elif fault == "missing":
        del record["median_s"]
    elif fault == "unknown":
        record["speed"] = 1.0
    elif fault == "status":
        record["status"] = "fine"
    elif fault == "bool_size":
        record["size"] = True
    else:
        record["samples_s"] = ["fast"]
    with pytest.raises(R.SchemaError):
        R.validate(document)
    R.validate(sample_results().to_dict())


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = R.write_atomic(tmp_path / R.FILENAME, sample_results())
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(R.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        R.write_atomic(path, sample_results())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [R.FILENAME]


def test_another_environments_results_are_not_overwritten(tmp_path):
    path = R.write_atomic(tmp_path / R.FILENAME, sample_results("machine-a"))
    with pytest.raises(FileExistsError, match="machine-a"):
        R.write_atomic(path, sample_results("machine-b"))
    assert R.load(path).environment.id == "machine-a"


def test_environment_id_is_stable_and_distinguishes_settings():
    first = environment.capture(threads=3)
    assert environment.capture(threads=3).id == first.id
    assert environment.capture(threads=4).id != first.id
    assert environment.environment_id("AMD EPYC", 1, None) != environment.environment_id("AMD EPYC", 1, "NVIDIA H100")
    assert "/" not in environment.environment_id("Intel(R) Xeon(R) CPU @ 2.20GHz", 1, "A/B")
    steady = environment.environment_id("AMD EPYC", 1, None, allocator="steady (glibc malloc, ...)")
    assert steady == environment.environment_id("AMD EPYC", 1, None)
    assert environment.environment_id("AMD EPYC", 1, None, allocator="system (defaults)") == steady + "_system-malloc"


# ------------------------------------------------------------------ pytest --benchmark end to end

BENCH_MODULE = '''
import json, sys
import pytest, torch
pytestmark = pytest.mark.benchmark

def test_ok(bench):
    x = torch.ones(1000, dtype=torch.float64)
    bench.run(x.clone, "cpu", group="throughput", method="log_prob", dtype=torch.float64, size=1000,
              verdict="agree")

def test_stages(bench):
    bench.run_stages([("construct", lambda _: torch.ones(10)), ("log_prob", lambda t: t.sum())], "cpu",
                     group="strategy_step", method="rebuild_per_step", dtype=torch.float32, size=10)

def test_oom(bench):
    bench.run(lambda: torch.empty(1 << 60, dtype=torch.uint8), "cpu", group="throughput", method="sample",
              dtype=torch.float64, size=1 << 60)

def test_error_as_data(bench):
    def fail():
        raise RuntimeError("compile failed")
    bench.run(fail, "cpu", errors_are_data=True, group="throughput", method="log_prob", dtype=torch.float32,
              size=1, compiled=True)

def test_runs_after_the_failures(bench):
    bench.run(lambda: None, "cpu", group="throughput", method="rsample", dtype=torch.float32, size=2)

# test_unsteady's calls advance the clock by exact amounts, so that its passes agree or differ by design.
from suite.bench import measure
_real_timer_for, _virtual_s = measure.timer_for, [0.0]

def _timer_for(device, threads=None):
    real = _real_timer_for(device, threads)
    return lambda: real() + _virtual_s[0]

measure.timer_for = _timer_for

@pytest.fixture(autouse=True, scope="module")
def _restore_timer():
    yield
    measure.timer_for = _real_timer_for

def test_unsteady(bench):
    # 2 ms a call, five and three times that in timing passes 2 and 3: bursts of load on the host, planted,
    # so that no two of the first three passes agree.
    plan = sys.argv[sys.argv.index("--bench-repeat") + 1] if "--bench-repeat" in sys.argv else None
    number = json.loads(open(plan).read())["pass"] if plan is not None else 1
    def call():
        _virtual_s[0] += 2e-3 * {2: 5, 3: 3}.get(number, 1)
    bench.run(call, "cpu", group="throughput", method="rsample", dtype=torch.float64, size=4)

def test_breaks_in_a_later_pass(bench):
    def work():
        if "--bench-repeat" in sys.argv:
            raise RuntimeError("broke in a later pass")
    bench.run(work, "cpu", group="throughput", method="sample", dtype=torch.float32, size=3)
'''

NOT_A_BENCHMARK = '''
def test_plain():
    pass
'''


@pytest.fixture
def bench_project(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(bench_cases=BENCH_MODULE, test_plain=NOT_A_BENCHMARK)
    pytester.makeini("[pytest]\npython_files = bench_*.py test_*.py\nmarkers =\n    benchmark: timed\n")
    return pytester


def run_benchmark(project, *args):
    out = project.path / "out"
    result = project.runpytest_inprocess("-p", "suite.bench.plugin", "--benchmark", "--bench-dir", str(out), *args)
    return result, out


def test_benchmark_run_writes_every_outcome_and_goes_on(bench_project, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "suite.report", None)
    result, out = run_benchmark(bench_project, "-rs", "--bench-passes", "1")
    result.assert_outcomes(passed=5, skipped=2, deselected=1)
    [path] = out.glob(f"*/{R.FILENAME}")
    records = {(r.case_id.split("::")[1], r.phase): r for r in R.load(path).records}
    assert records[("test_ok", None)].status == "ok" and records[("test_ok", None)].verdict == "agree"
    assert records[("test_ok", None)].median_s > 0 and records[("test_ok", None)].peak_bytes == 8000
    assert {phase for name, phase in records if name == "test_stages"} == {"total", "construct", "log_prob"}
    assert records[("test_oom", None)].status == "oom"
    assert records[("test_error_as_data", None)].status == "error"
    assert "compile failed" in records[("test_error_as_data", None)].error
    assert records[("test_runs_after_the_failures", None)].status == "ok"
    assert R.load(path).environment.threads == 1
    assert R.load(path).environment.allocator.startswith("steady" if allocator._glibc() is not None else "system")
    result.stdout.fnmatch_lines(["*9 records (1 error, 7 ok, 1 oom)*", "*out of memory at size*"])


def test_later_passes_pool_their_samples_into_the_first_pass_records(bench_project, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "suite.report", None)
    result, out = run_benchmark(bench_project, "--bench-passes", "1", "-k", "test_ok")
    [single] = [r for r in R.load(next(out.glob(f"*/{R.FILENAME}"))).records]
    result, out = run_benchmark(bench_project, "--bench-passes", "3", "--bench-dir", str(out / "three"))
    result.assert_outcomes(passed=5, skipped=2, deselected=1)
    records = {(r.case_id.split("::")[1], r.phase): r for r in R.load(next(out.glob(f"three/*/{R.FILENAME}"))).records}
    pooled = records[("test_ok", None)]
    assert pooled.rounds == len(pooled.samples_s) and pooled.rounds % pooled.passes == 0
    assert pooled.passes >= 2 and pooled.passes + (pooled.set_aside_passes or 0) >= 3
    assert pooled.rounds > single.rounds
    assert pooled.median_s == pytest.approx(float(np.median(pooled.samples_s)))
    for phase in ("total", "construct"):
        stage = records[("test_stages", phase)]
        assert len(stage.samples_s) % stage.passes == 0 and stage.passes + (stage.set_aside_passes or 0) >= 3
    # A case that breaks in a later pass keeps its first-pass record and is named in the summary.
    assert records[("test_breaks_in_a_later_pass", None)].status == "ok"
    # The case slowed in passes 2 and 3 (no two of its first three passes agree) gets further passes until
    # another pass confirms its fastest; the slowed passes are set aside and its median is an unslowed one.
    unsteady = records[("test_unsteady", None)]
    assert (unsteady.passes, unsteady.set_aside_passes, unsteady.error) == (2, 2, None)
    assert unsteady.median_s == pytest.approx(2e-3, rel=0.01)
    assert P.pass_medians(unsteady.set_aside_samples_s, 2) == pytest.approx([10e-3, 6e-3], rel=0.01)
    result.stdout.fnmatch_lines(["*timing pass 3 of 3 in a fresh process over 5 cases*",
                                 "*timing pass 4 of at most 8 in a fresh process over * whose passes disagree*",
                                 "*pass 2: *test_breaks_in_a_later_pass: error: RuntimeError: broke in a later pass*",
                                 "*pass 3: *test_breaks_in_a_later_pass: error: RuntimeError: broke in a later pass*"])


def test_further_passes_stop_at_the_most_allowed(bench_project, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "suite.report", None)
    result, out = run_benchmark(bench_project, "--bench-passes", "3", "--bench-max-passes", "3", "-k", "unsteady")
    [record] = R.load(next(out.glob(f"*/{R.FILENAME}"))).records
    assert record.passes == 3 and not P.settled(record.samples_s, record.passes) and not record.set_aside_samples_s
    assert "unsettled: the fastest of its 3 timing passes agrees with no other within 5%" in record.error
    result.stdout.fnmatch_lines(["*still unsettled after 3 passes: 1 of 1 case *"])


def test_most_passes_below_the_first_passes_is_a_usage_error(bench_project):
    result, _ = run_benchmark(bench_project, "--bench-passes", "3", "--bench-max-passes", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bench-max-passes (2) must be at least --bench-passes (3)*"])


def chunks_of(medians):
    return [m + d for m in medians for d in (-1e-4, 0.0, 1e-4)]


@pytest.mark.parametrize("medians,quiet,settled", [
    ([1.0, 1.0, 1.0], [0, 1, 2], True),
    ([1.0, 1.02, 0.99], [0, 1, 2], True),
    ([1.0, 1.5, 1.03], [0, 2], True),            # one pass slowed by load on the host
    ([1.5, 1.0, 1.55, 1.02], [1, 3], True),      # the slowed passes are the majority: still set aside
    ([5.9, 9.0, 6.4], None, False),              # measured: MultivariateNormal d=32 step, ms; no two within 5%
    ([5.9, 9.0, 6.4, 6.1], [0, 3], True),        # a fourth pass confirms the fastest
    # measured: jacrev d=2 N=1000, ms; the fastest pass is not yet confirmed, so the case is repeated
    ([14.64, 15.18, 21.53, 12.47], [0, 1], False),
    ([14.64, 15.18, 21.53, 12.47, 12.43], [3, 4], True),
    ([1.0, 1.3], None, False),
])
def test_the_quiet_passes_are_the_fastest_that_agree(medians, quiet, settled):
    assert P.quiet_passes(medians) == quiet
    assert P.settled(chunks_of(medians), len(medians)) is settled


def test_a_single_pass_is_settled():
    assert P.settled([1.0, 2.0, 3.0], 1)


def test_set_aside_passes_are_set_aside_and_kept(tmp_path):
    record = R.Record("case", "throughput", "sample", "cpu", "float64", 1, samples_s=chunks_of([1.0, 1.5, 1.02]),
                      passes=3, median_s=1.02, iqr_s=0.2, rounds=9)
    assert P.set_aside(record)
    assert record.passes == 2 and record.samples_s == chunks_of([1.0, 1.02]) and record.rounds == 6
    assert record.set_aside_passes == 1 and record.set_aside_samples_s == chunks_of([1.5])
    assert record.median_s == pytest.approx(1.01) and 0.015 < record.iqr_s < 0.021
    path = tmp_path / "results.json"
    R.write_atomic(path, R.Results(environment.capture(1), [record]))
    assert R.load(path).records == [record]
    unsettled = R.Record("case", "throughput", "sample", "cpu", "float64", 1, samples_s=chunks_of([1.0, 1.3]),
                         passes=2, median_s=1.1)
    assert not P.set_aside(unsettled) and unsettled.passes == 2 and unsettled.median_s == 1.1
    # Unconfirmed fastest pass, the other two agree: unsettled, and the median is the two's level.
    lone = R.Record("case", "throughput", "sample", "cpu", "float64", 1, samples_s=chunks_of([1.3, 1.0, 1.32]),
                    passes=3, median_s=1.3)
    assert not P.set_aside(lone) and lone.passes == 2 and lone.set_aside_samples_s == chunks_of([1.0])
    # Unconfirmed fastest pass and a slow pair among passes that agree with nothing: every pass counts.
    scattered = [262.1, 280.1, 296.5, 319.2, 364.7, 410.2, 527.4, 537.6]  # measured: an optimizer_step, us
    spread = R.Record("case", "strategy_step", "m", "cpu", "float32", 1, samples_s=chunks_of(scattered), passes=8,
                      median_s=340.0, phase="optimizer_step")
    assert not P.set_aside(spread) and spread.passes == 8 and not spread.set_aside_samples_s
    # measured: jacrev d=2 N=1000, ms; a lone fastest pass, and half the passes agree on a level: that level.
    measured = [12.63, 13.31, 13.27, 13.36, 13.29, 18.09, 14.87, 19.72]
    level = R.Record("case", "jacobian", "jacrev", "cpu", "float64", 1000, samples_s=chunks_of(measured),
                     passes=8, median_s=13.8)
    assert not P.set_aside(level) and level.passes == 4 and level.set_aside_passes == 4
    assert level.median_s == pytest.approx(13.3, abs=0.01)


def test_set_aside_passes_that_do_not_divide_their_samples_are_refused(tmp_path):
    record = R.Record("case", "throughput", "sample", "cpu", "float64", 1, samples_s=[1.0], passes=1, median_s=1.0,
                      set_aside_samples_s=[2.0, 2.0, 2.0], set_aside_passes=2)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(R.Results(environment.capture(1), [record]).to_dict()))
    with pytest.raises(R.SchemaError, match="set_aside_passes: 2 does not divide its 3 set-aside samples"):
        R.load(path)


def test_only_the_cases_with_unsettled_records_are_repeated(tmp_path):
    from suite.bench.recorder import Recorder

    recorder = Recorder(environment.capture(1), tmp_path)
    steady = R.Record("steady", "throughput", "sample", "cpu", "float64", 1, samples_s=[1.0, 1.0, 1.01], passes=3)
    burst = R.Record("stage", "strategy_step", "m", "cpu", "float64", 1, samples_s=[1.0, 1.0, 1.01], passes=3,
                     phase="total")
    burst_stage = replace(burst, phase="backward", samples_s=[1.0, 1.6, 1.3], passes=3)
    failed = R.Record("failed", "throughput", "sample", "cpu", "float64", 1, status="oom")
    recorder.add([steady, burst, burst_stage, failed])
    recorder.repeatable = {"steady": (1, 1), "stage": (1, 2), "failed": (1, 1)}
    assert recorder.unsettled() == {"stage": (1, 2)}


def test_without_benchmark_bodies_run_once_and_nothing_is_written(bench_project):
    result = bench_project.runpytest_inprocess("-p", "suite.bench.plugin", "--bench-dir",
                                               str(bench_project.path / "out"))
    result.assert_outcomes(passed=6, skipped=2)
    assert not (bench_project.path / "out").exists()


def test_benchmark_refuses_xdist(bench_project):
    result, _ = run_benchmark(bench_project, "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark runs in a single process*"])


def test_benchmark_cuda_request_without_gpu_is_a_clear_error(bench_project):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    bench_project.makeconftest("def pytest_addoption(parser):\n    parser.addoption('--device', default='all')\n")
    result, _ = run_benchmark(bench_project, "--device", "cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark --device cuda: no CUDA device*"])


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

"""The measuring itself: peak memory to the byte, stage timing, failure classification, results.json,
and the `pytest --benchmark` run end to end. Each check has a planted fault that it reports."""

from __future__ import annotations

import datetime
import json
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

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


class VirtualClock:
    """A clock that moves only when told to, plus a microsecond per reading (so that a loop that reads it
    until it changes ends)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds




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


# ------------------------------------------------------------------ results.json


FIXED_DATE = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def sample_results(env_id: str = "test-env") -> R.Results:
    env = replace(environment.capture(threads=1, date=FIXED_DATE), id=env_id)
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
#
# The run is real (pytest, pytest-benchmark, the plugin, results.json), the time is not: every clock the
# plugin reads is a VirtualClock that the planted cases advance by exact amounts, and the later passes and
# isolated cases run in this process through a fake of children.run_child. One test below runs a real child.


BENCH_MODULE = '''
import pytest, torch
from suite.bench import measure
pytestmark = pytest.mark.benchmark

def work(seconds):
    """A call that takes exactly `seconds` of the virtual clock."""
    measure.timer_for("cpu").advance(seconds)

def test_ok(bench):
    x = torch.ones(1000, dtype=torch.float64)
    bench.run(lambda: (work(1e-4), x.clone())[1], "cpu", group="throughput", method="log_prob",
              dtype=torch.float64, size=1000, verdict="agree")

def test_stages(bench):
    bench.run_stages([("construct", lambda _: work(2e-4)), ("log_prob", lambda t: work(1e-4))], "cpu",
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
    bench.run(lambda: work(3e-4), "cpu", group="throughput", method="rsample", dtype=torch.float32, size=2)

def test_unsteady(bench, recorder):
    # 2 ms a call, five and three times that in timing passes 2 and 3: bursts of load on the host, planted,
    # so that no two of the first three passes agree.
    factor = {2: 5, 3: 3}.get(recorder.pass_number if recorder is not None else 1, 1)
    bench.run(lambda: work(2e-3 * factor), "cpu", group="throughput", method="rsample", dtype=torch.float64,
              size=4)

def test_breaks_in_a_later_pass(bench, recorder):
    def call():
        if recorder is not None and recorder.pass_number > 1:
            raise RuntimeError("broke in a later pass")
        work(1e-4)
    bench.run(call, "cpu", group="throughput", method="sample", dtype=torch.float32, size=3)
'''

NOT_A_BENCHMARK = '''
def test_plain():
    pass
'''


def in_process_children(pytester, monkeypatch, outcomes=None):
    """Run each child pytest process in this process instead (pytest reads the @FILE of node ids itself);
    `outcomes` maps a node id's test name to the ChildRun outcome a watcher would have given it."""
    from suite.bench import children, isolation

    ran = []

    def run(argv, *, rss_limit_bytes, timeout_s, cwd=None, env=None):
        args = list(argv[3:])  # [python, -m, pytest, ...]
        ids = Path(args[0][1:]).read_text().split()
        ran.append(ids)
        for name, outcome in (outcomes or {}).items():
            if any(i.endswith(name) for i in ids):
                return isolation.ChildRun(outcome, None, 2**31, timeout_s, "")
        result = pytester.runpytest_inprocess(*args)
        return isolation.ChildRun(isolation.FINISHED, int(result.ret), None, 0.0, str(result.stdout))

    monkeypatch.setattr(children, "run_child", run)
    return ran


@pytest.fixture
def clock(monkeypatch):
    virtual = VirtualClock()
    monkeypatch.setattr(measure, "timer_for", lambda device, threads=None: virtual)
    monkeypatch.setitem(__import__("sys").modules, "suite.report", None)
    return virtual


@pytest.fixture
def bench_project(pytester, monkeypatch, clock):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(bench_cases=BENCH_MODULE, test_plain=NOT_A_BENCHMARK)
    pytester.makeini("[pytest]\npython_files = bench_*.py test_*.py\nmarkers =\n    benchmark: timed\n")
    pytester.children = in_process_children(pytester, monkeypatch)
    return pytester


def run_benchmark(project, *args, out=None):
    out = out or project.path / "out"
    result = project.runpytest_inprocess("-p", "suite.bench.plugin", "-p", "no:hypothesispytest", "--benchmark",
                                         "--bench-dir", str(out), "--benchmark-max-time=0.02", *args)
    return result, out


def records_of(out) -> dict:
    return {(r.case_id.split("::")[1], r.phase): r for r in R.load(next(out.glob(f"*/{R.FILENAME}"))).records}


def test_benchmark_run_writes_every_outcome_and_goes_on(bench_project):
    result, out = run_benchmark(bench_project, "-rs", "--bench-passes", "1")
    result.assert_outcomes(passed=5, skipped=2, deselected=1)
    [path] = out.glob(f"*/{R.FILENAME}")
    records = records_of(out)
    assert records[("test_ok", None)].status == "ok" and records[("test_ok", None)].verdict == "agree"
    assert records[("test_ok", None)].median_s == pytest.approx(1e-4, rel=0.05)
    assert records[("test_ok", None)].peak_bytes == 8000
    assert {phase for name, phase in records if name == "test_stages"} == {"total", "construct", "log_prob"}
    assert records[("test_stages", "construct")].median_s == pytest.approx(2e-4, rel=0.05)
    assert records[("test_oom", None)].status == "oom"
    assert records[("test_error_as_data", None)].status == "error"
    assert "compile failed" in records[("test_error_as_data", None)].error
    assert records[("test_runs_after_the_failures", None)].status == "ok"
    assert {(r.tier, r.measured_at, r.commit) for r in records.values()} == {
        ("default", R.load(path).environment.date, R.load(path).environment.distsuite_commit)}
    assert R.load(path).environment.threads == 1
    assert R.load(path).environment.allocator.startswith("steady" if allocator._glibc() is not None else "system")
    assert not bench_project.children
    result.stdout.fnmatch_lines(["*9 records (1 error, 7 ok, 1 oom)*", "*wrong results: 0 of 1 checked*",
                                 "*out of memory at size*"])


def test_later_passes_pool_their_samples_into_the_first_pass_records(bench_project):
    result, out = run_benchmark(bench_project, "--bench-passes", "3")
    result.assert_outcomes(passed=5, skipped=2, deselected=1)
    records = records_of(out)
    pooled = records[("test_ok", None)]
    assert pooled.rounds == len(pooled.samples_s) and pooled.passes == 3 and not pooled.unsettled
    for phase in ("total", "construct"):
        stage = records[("test_stages", phase)]
        assert len(stage.samples_s) % stage.passes == 0 and stage.passes + (stage.set_aside_passes or 0) == 3
    # A case that breaks in a later pass keeps its first-pass record and is named in the summary.
    assert records[("test_breaks_in_a_later_pass", None)].status == "ok"
    # The case slowed in passes 2 and 3 (no two of its first three passes agree) gets further passes until
    # another pass confirms its fastest; the slowed passes are set aside and its median is an unslowed one.
    unsteady = records[("test_unsteady", None)]
    assert (unsteady.passes, unsteady.set_aside_passes, unsteady.error, unsteady.unsettled) == (2, 2, None, False)
    assert unsteady.median_s == pytest.approx(2e-3, rel=0.01)
    assert P.pass_medians(unsteady.set_aside_samples_s, 2) == pytest.approx([10e-3, 6e-3], rel=0.01)
    # Each later pass collected exactly the cases it ran: the five timed ones, then the unsettled one.
    timed = {"test_ok", "test_stages", "test_unsteady", "test_runs_after_the_failures", "test_breaks_in_a_later_pass"}
    assert [{i.split("::")[1] for i in ids} for ids in bench_project.children] == [timed, timed, {"test_unsteady"}]
    # pytest-benchmark's format beside results.json holds every pass's samples.
    [folder] = [p.parent for p in out.glob(f"*/{R.FILENAME}")]
    benchmarks = json.loads((folder / "pytest-benchmark.json").read_text())["benchmarks"]
    assert {b["fullname"].split("::", 1)[1]: b["stats"]["data"] for b in benchmarks}["test_ok"] == pooled.samples_s
    result.stdout.fnmatch_lines(["*timing pass 3 of 3 in a fresh process over 5 cases*",
                                 "*timing pass 4 of at most 8 in a fresh process over 1 case whose passes disagree*",
                                 "*pass 2: *test_breaks_in_a_later_pass: error: RuntimeError: broke in a later pass*",
                                 "*pass 3: *test_breaks_in_a_later_pass: error: RuntimeError: broke in a later pass*"])


def test_further_passes_stop_at_the_most_allowed(bench_project):
    result, out = run_benchmark(bench_project, "--bench-passes", "3", "--bench-max-passes", "3", "-k", "unsteady")
    [record] = records_of(out).values()
    assert record.passes == 3 and not P.settled(record.samples_s, record.passes) and not record.set_aside_samples_s
    assert "unsettled: the fastest of its 3 timing passes agrees with no other within 5%" in record.error
    assert record.unsettled is True
    result.stdout.fnmatch_lines(["*still unsettled after 3 passes: 1 of 1 case *"])


class FakeHost:
    """load.read for a test: each reading is `step_s` of wall time later, with `share` of it as CPU time."""

    def __init__(self, step_s: float, share: float):
        self.wall = self.cpu = 0.0
        self.step_s, self.share = step_s, share

    def __call__(self):
        from suite.bench import load

        self.wall += self.step_s
        self.cpu += self.step_s * self.share
        return load.Reading(self.wall, self.cpu)


def test_no_pass_starts_once_the_time_budget_is_spent(bench_project, monkeypatch):
    """Each reading of the (fake) host clock is 100 s later: the first pass takes 200 s (two readings), the
    second (half a first pass's time per case) is predicted to end at 500 s, past a budget of 450 s, so it
    never starts.
    (Within the default budget it does: test_later_passes_pool_their_samples_into_the_first_pass_records.)"""
    from suite.bench import load

    monkeypatch.setattr(load, "read", FakeHost(100.0, 1.0))
    result, out = run_benchmark(bench_project, "--bench-passes", "3", "--bench-time-budget", "450", "-k", "test_ok")
    [record] = records_of(out).values()
    assert record.passes == 1 and record.unsettled is True and "timed in 1 of 3 passes" in record.error
    assert not bench_project.children
    result.stdout.fnmatch_lines(["*time budget: 400 s of 450 s spent (--bench-time-budget); "
                                 "timing pass 2 over 1 case (about 100 s) not started*"])


def test_no_case_is_timed_once_the_time_budget_is_spent(bench_project, monkeypatch):
    """Readings 100 s apart: the first case starts 200 s into the run, within a budget of 250 s; the next
    at 300 s is not timed, and its earlier record (from a run before) is kept."""
    from suite.bench import load

    _, out = run_benchmark(bench_project, "--bench-passes", "1", "-k", "test_ok or test_runs_after")
    before = records_of(out)
    monkeypatch.setattr(load, "read", FakeHost(100.0, 1.0))
    result, _ = run_benchmark(bench_project, "--bench-passes", "1", "--bench-time-budget", "250", "-k",
                              "test_ok or test_runs_after")
    after = records_of(out)
    assert after[("test_runs_after_the_failures", None)] == before[("test_runs_after_the_failures", None)]
    assert after[("test_ok", None)] != before[("test_ok", None)]
    result.stdout.fnmatch_lines(["*time budget: 1 cases not timed, the budget (250 s) spent before they came*"])


def test_a_run_under_heavy_load_says_so_in_its_summary_and_records(bench_project, monkeypatch):
    """The process got 50% of a core over its pass (planted): the end of the run and its records say so."""
    from suite.bench import load

    monkeypatch.setattr(load, "read", FakeHost(10.0, 0.5))
    result, out = run_benchmark(bench_project, "--bench-passes", "1", "-k", "test_ok")
    assert records_of(out)[("test_ok", None)].cpu_share == 0.5
    result.stdout.fnmatch_lines(["*heavy load: in 1 of 1 timing passes the run got less than 80% of a core*"])


def test_the_load_meter_warns_only_when_a_pass_got_less_than_most_of_a_core():
    """A quiet host (a full core) and a pass too short to say are the planted faults: no warning."""
    from suite.bench import load

    meter = load.Meter(FakeHost(10.0, 1.0))
    meter.start(1)
    assert meter.stop().cpu_share == 1.0 and meter.warning() is None
    busy = load.Meter(FakeHost(10.0, 0.6))
    for number in (1, 2):
        busy.start(number)
        busy.stop()
    assert busy.lowest_share() == 0.6 and busy.warning().startswith("heavy load: in 2 of 2 timing passes")
    short = load.Meter(FakeHost(0.5, 0.1))
    short.start(1)
    assert short.stop().cpu_share is None and short.warning() is None


def test_a_narrow_run_keeps_every_earlier_record(bench_project):
    """A broad run, then one case into the same folder: every record of the broad run is still there, the
    one case's records replaced; --bench-replace (the planted fault) drops the others."""
    _, out = run_benchmark(bench_project, "--bench-passes", "1")
    broad = records_of(out)
    result, _ = run_benchmark(bench_project, "--bench-passes", "1", "-k", "test_stages")
    after = records_of(out)
    assert after.keys() == broad.keys()
    assert all(after[key] == broad[key] for key in broad if key[0] != "test_stages")
    assert after[("test_stages", "total")].samples_s != [] and len(after) == 9
    result.stdout.fnmatch_lines(["*3 records (3 ok) in *; 6 earlier records of cases not run here kept*"])


def recorder_over(folder, earlier, replace_file=False):
    """A Recorder whose results file holds `earlier` records."""
    from suite.bench.recorder import Recorder

    env = replace(environment.capture(1, date=FIXED_DATE), id="env")
    if earlier is not None:
        R.write_atomic(R.results_path(folder, "env"), R.Results(env, earlier))
    return Recorder(env, folder, render_report=False, replace=replace_file)


def test_replacing_the_results_file_needs_the_option(tmp_path):
    """--bench-replace (the planted fault for the test above) drops the records of cases not run."""
    old = [R.Record(f"c::{n}", "throughput", "sample", "cpu", "float64", 1, median_s=1.0) for n in "ab"]
    new = R.Record("c::a", "throughput", "sample", "cpu", "float64", 1, median_s=2.0)
    kept = recorder_over(tmp_path / "kept", old)
    kept.add([replace(new)])
    kept.flush()
    assert [(r.case_id, r.median_s) for r in R.load(kept.path).records] == [("c::b", 1.0), ("c::a", 2.0)]
    dropped = recorder_over(tmp_path / "dropped", old, replace_file=True)
    dropped.add([replace(new)])
    dropped.flush()
    assert [(r.case_id, r.median_s) for r in R.load(dropped.path).records] == [("c::a", 2.0)]


def test_an_unreadable_results_file_is_moved_aside_not_overwritten(tmp_path):
    recorder = recorder_over(tmp_path, None)
    recorder.path.parent.mkdir(parents=True)
    recorder.path.write_text("{ truncated")
    recorder.add([R.Record("c::a", "throughput", "sample", "cpu", "float64", 1, median_s=1.0)])
    recorder.flush()
    [aside] = recorder.path.parent.glob(f"{R.FILENAME}.unreadable-*")
    assert aside.read_text() == "{ truncated" and len(R.load(recorder.path).records) == 1
    [problem] = recorder.problems
    assert f"{recorder.path} was unreadable" in problem and f"moved to {aside.name}" in problem


def test_the_pytest_benchmark_file_holds_every_pass():
    """pytest-benchmark's own JSON: every pooled sample, its statistics from pytest-benchmark's Stats, a
    stage named after its case."""
    from suite.bench import benchmark_json

    samples = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    records = [R.Record("f.py::test_x[a]", "throughput", "sample", "cpu", "float64", 1, samples_s=samples,
                        passes=2, median_s=3.5, tier="default"),
               R.Record("f.py::test_y", "strategy_step", "m", "cpu", "float64", 1, phase="construct",
                        samples_s=[1.0], median_s=1.0),
               R.Record("f.py::test_z", "throughput", "sample", "cpu", "float64", 1, status="oom")]
    document = benchmark_json.document(R.Results(replace(environment.capture(1, date=FIXED_DATE), id="env"),
                                                 records))
    x, y = document["benchmarks"]
    assert x["fullname"] == "f.py::test_x[a]" and x["name"] == "test_x[a]" and x["group"] == "throughput"
    assert x["stats"]["data"] == samples and x["stats"]["median"] == 3.5 and x["stats"]["rounds"] == 6
    assert x["extra_info"]["passes"] == 2 and x["extra_info"]["tier"] == "default"
    assert y["fullname"] == "f.py::test_y::construct"
    assert document["datetime"] == FIXED_DATE.isoformat(timespec="seconds")


@pytest.mark.skipif(sys.platform != "linux", reason="the child's environment is checked on Linux")
def test_a_later_pass_runs_in_a_real_child_process(pytester, monkeypatch):
    """End to end with a real child (no fakes): the later pass's samples come back and are pooled."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setitem(sys.modules, "suite.report", None)
    pytester.makepyfile(bench_real='''
import os, pytest, torch
pytestmark = pytest.mark.benchmark

def test_clone(bench, recorder):
    from suite.bench import allocator
    if recorder.pass_number > 1 and allocator._glibc() is not None:  # the setting reaches the child's environment
        assert "glibc.malloc.mmap_threshold=33554432" in os.environ["GLIBC_TUNABLES"]
    x = torch.ones(100)
    bench.run(x.clone, "cpu", group="throughput", method="sample", dtype=torch.float32, size=100)
''')
    pytester.makeini("[pytest]\npython_files = bench_*.py\nmarkers =\n    benchmark: timed\n")
    result, out = run_benchmark(pytester, "--bench-passes", "2", "--bench-max-passes", "2")
    [record] = records_of(out).values()
    assert record.passes + (record.set_aside_passes or 0) == 2, str(result.stdout)


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
    """Without --benchmark the bodies run (on the virtual clock too) and nothing is recorded."""
    result = bench_project.runpytest_inprocess("-p", "suite.bench.plugin", "-p", "no:hypothesispytest",
                                               "--bench-dir", str(bench_project.path / "out"))
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


def test_the_three_answers_of_a_run():
    """Strategy: which are correct and their cost against rebuild; Jacobian: the fastest method per size;
    wrong results counted. The planted fault: a stale strategy is named wrong, not correct."""
    from suite.bench.answers import answer_lines

    def step(method, median, verdict, size=100):
        return R.Record(f"s[{method}-{size}]", "strategy_step", method, "cpu", "float32", size, family="Normal",
                        phase="total", median_s=median, verdict=verdict, validate=False, compiled=False)

    def jac(method, size, median):
        return R.Record(f"j[{method}-{size}]", "jacobian", method, "cpu", "float64", size, family="Normal", dim=2,
                        median_s=median, verdict="agree")

    records = [step("rebuild_per_step", 1.0, "pass"), step("constraint_module", 2.0, "pass"),
               step("retain_graph", 0.5, "stale"), jac("loop", 10, 1.0), jac("jacrev", 10, 0.5),
               jac("loop", 1000, 9.0), jac("vmap_grad", 1000, 0.1)]
    strategy, jacobian, wrong = answer_lines(records)
    assert strategy == ("training strategy: correct: constraint_module (2.00x the step time of rebuild_per_step, "
                        "geometric mean of 1); wrong: retain_graph")
    assert jacobian == "fastest Jacobian: N=10: jacrev, N=1000: vmap_grad"
    assert wrong == "wrong results: 1 of 7 checked"


def test_the_report_top_says_tiers_heavy_load_and_unsettled_records():
    """The lines at the top of a report: from which tiers, when, under heavy load (planted: half a core),
    unsettled. The planted fault is the quiet run: no load line."""
    from suite.report.inputs import Source
    from suite.report.markdown import passes_text, provenance_lines

    def source(share, unsettled):
        record = R.Record("c::a", "throughput", "sample", "cpu", "float64", 1, median_s=1.0, samples_s=[1.0] * 4,
                          passes=2, tier="default", measured_at="2026-01-02T03:04:05+00:00", cpu_share=share,
                          unsettled=unsettled)
        env = replace(environment.capture(1, date=FIXED_DATE), id="env")
        return Source(Path("results.json"), "E1",
                      R.Results(env, [record, replace(record, case_id="c::b", tier="slow")]))

    tiers, heavy, unsettled = provenance_lines([source(0.5, True)])
    assert tiers == "Measurements: 1 of the default tier; 1 of the slow tier; measured 2026-01-02."
    assert heavy.startswith("**Measured under heavy load: 2 of 2 records**") and "(lowest 50%)" in heavy
    assert unsettled.startswith("2 records are unsettled")
    assert provenance_lines([source(1.0, False)]) == [tiers]
    assert passes_text(source(1.0, True).results.records[0]) == "2, unsettled"


def test_a_case_whose_file_moved_replaces_its_earlier_records_and_is_compared_with_them():
    """`cases/bench_x.py::t` measured before its file moved to `cases/benchmarks/`: the new record replaces it
    (no duplicate) and compare matches the two; another case (the planted fault) stays apart."""
    from suite.report.compare import MISSING_NEW, compare

    def record(case_id, median):
        return R.Record(case_id, "throughput", "sample", "cpu", "float64", 1, median_s=median,
                        samples_s=[median] * 5)

    old = [record("cases/bench_x.py::test_t[a]", 1.0), record("cases/bench_x.py::test_u[a]", 1.0)]
    new = [record("cases/benchmarks/bench_x.py::test_t[a]", 1.0)]
    merged = R.merged_by_case(old, new)
    assert [r.case_id for r in merged] == ["cases/bench_x.py::test_u[a]", "cases/benchmarks/bench_x.py::test_t[a]"]
    env = replace(environment.capture(1, date=FIXED_DATE), id="env")
    comparison = compare(R.Results(env, old), R.Results(env, new))
    assert comparison.missing_cases == ["cases/bench_x.py::test_u[a]"]
    assert [c.flag for c in comparison.changes if c.flag == MISSING_NEW] == [MISSING_NEW]

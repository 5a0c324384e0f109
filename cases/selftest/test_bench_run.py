"""`pytest --benchmark` end to end: every outcome recorded, later passes pooled, the time budget, load, narrow
runs, and the options it refuses.

The run is real (pytest, pytest-benchmark, the plugin, results.json), the time is not: every clock the
plugin reads is a VirtualClock that the planted cases advance by exact amounts, and the later passes and
isolated cases run in this process through a fake of children.run_child. One test below runs a real child."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from fake_children import in_process_children
from virtual_clock import VirtualClock

from suite.bench import allocator, measure
from suite.bench import passes as P
from suite.bench import results as R

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


@pytest.fixture
def clock(monkeypatch):
    virtual = VirtualClock()
    monkeypatch.setattr(measure, "timer_for", lambda device, threads=None: virtual)
    monkeypatch.setitem(__import__("sys").modules, "suite.report", None)
    return virtual


def import_dynamo_before_pytester() -> None:
    """pytester restores sys.modules after each inner run: torch._dynamo imported first inside one would be
    imported a second time by the next."""
    import torch._dynamo  # noqa: F401


@pytest.fixture
def bench_project(pytester, monkeypatch, clock):
    import_dynamo_before_pytester()
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


@pytest.mark.skipif(sys.platform != "linux", reason="the child's environment is checked on Linux")
def test_a_later_pass_runs_in_a_real_child_process(pytester, monkeypatch):
    """End to end with a real child (no fakes): the later pass's samples come back and are pooled."""
    import_dynamo_before_pytester()
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

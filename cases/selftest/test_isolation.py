"""The watched child process (suite.bench.isolation) and isolated benchmark cases: a child over its memory
limit or past its time limit is stopped and recorded, and the run goes on."""

from __future__ import annotations

import sys

import pytest

from suite.bench import isolation
from suite.bench import results as R

needs_proc = pytest.mark.skipif(sys.platform != "linux", reason="resident memory is read from /proc (Linux)")

# 16 blocks of 16 MiB, all held for several polls of the watcher before the child says it got them all.
GROWING = ("import time\nblocks = []\nfor _ in range(16):\n    blocks.append(bytearray(16 * 2**20))\n"
           "    time.sleep(0.02)\ntime.sleep(0.5)\nprint('allocated all')\n")


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_finishes_reports_its_return_code_and_output():
    run = isolation.run_watched(python("print('hello'); raise SystemExit(3)"), rss_limit_bytes=None, timeout_s=60)
    assert run.outcome == isolation.FINISHED and run.returncode == 3 and "hello" in run.output


def test_a_child_past_its_time_limit_is_stopped():
    run = isolation.run_watched(python("import time; time.sleep(60)"), rss_limit_bytes=None, timeout_s=0.5)
    assert run.outcome == isolation.TIMED_OUT and run.returncode is None and run.seconds < 10


@needs_proc
def test_a_child_over_its_memory_limit_is_stopped_before_it_allocates_everything():
    limit = 128 * 2**20
    run = isolation.run_watched(python(GROWING), rss_limit_bytes=limit, timeout_s=60)
    assert run.outcome == isolation.OVER_MEMORY
    assert run.peak_rss_bytes > limit and "allocated all" not in run.output


@needs_proc
def test_within_its_memory_limit_a_child_runs_to_the_end():
    run = isolation.run_watched(python(GROWING), rss_limit_bytes=16 * 2**30, timeout_s=60)
    assert run.outcome == isolation.FINISHED and run.returncode == 0 and "allocated all" in run.output
    assert run.peak_rss_bytes >= 16 * 16 * 2**20


ISOLATED_MODULE = '''
import pytest, torch
pytestmark = [pytest.mark.benchmark, pytest.mark.isolated]

def test_grows(bench):
    bench.run(lambda: None, "cpu", group="jacobian", method="jacrev", dtype=torch.float64, size=10**4)

def test_hangs(bench):
    bench.run(lambda: None, "cpu", group="jacobian", method="loop", dtype=torch.float32, size=10**5)

def test_fits(bench):
    x = torch.ones(1000, dtype=torch.float64)
    bench.run(x.clone, "cpu", group="jacobian", method="loop", dtype=torch.float64, size=1000, verdict="agree")
'''

CONFTEST = '''
pytest_plugins = ["suite.bench.plugin"]

def pytest_addoption(parser):
    parser.addoption("--device", default="all")
    parser.addoption("--seed", default=0, type=int)
'''


@pytest.fixture
def isolated_project(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setitem(sys.modules, "suite.report", None)
    pytester.makepyfile(bench_isolated=ISOLATED_MODULE)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\npython_files = bench_*.py\nmarkers =\n    benchmark: timed\n")
    return pytester


def test_isolated_cases_are_measured_in_children_and_their_failures_recorded(isolated_project, monkeypatch):
    """Each isolated case runs in its own child (here in this process, with the watcher's verdicts planted:
    test_grows passed its memory limit, test_hangs its time limit); the run records each and goes on."""
    from fake_children import in_process_children

    children = in_process_children(isolated_project, monkeypatch, {"test_grows": isolation.OVER_MEMORY,
                                                                   "test_hangs": isolation.TIMED_OUT})
    out = isolated_project.path / "out"
    result = isolated_project.runpytest_inprocess(
        "-p", "no:hypothesispytest", "--benchmark", "--bench-dir", str(out), "--bench-passes", "1",
        "--bench-memory-limit", "1.5", "--bench-case-timeout", "15", "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    assert [[i.split("::")[1] for i in ids] for ids in children] == [["test_grows"], ["test_hangs"], ["test_fits"]]
    records = {r.case_id.split("::")[1]: r for r in R.load(next(out.glob(f"*/{R.FILENAME}"))).records}
    fits = records["test_fits"]
    assert fits.status == "ok" and fits.verdict == "agree" and fits.median_s > 0 and fits.peak_bytes == 8000
    assert records["test_grows"].status == "oom"
    assert "resident memory passed 1.5 GiB (--bench-memory-limit)" in records["test_grows"].error
    assert records["test_hangs"].status == "timeout" and "15 s" in records["test_hangs"].error
    result.stdout.fnmatch_lines(["*3 records (1 ok, 1 oom, 1 timeout)*"])


def test_an_isolated_case_is_not_run_when_a_smaller_size_shows_it_cannot_finish(tmp_path):
    from suite.bench import environment, measure
    from suite.bench.children import foregone
    from suite.bench.recorder import Recorder

    recorder = Recorder(environment.capture(1), tmp_path, render_report=False)
    config = dict(group="jacobian", family="MultivariateNormal", method="loop", device="cpu", dtype="float64",
                  dim=128)
    at = {n: dict(config, case_id=f"case[N{n}]", size=n) for n in (100, 1000, 10000)}
    assert foregone(recorder, at[10000], 100) is None
    recorder.add([R.Record(**at[100], median_s=0.4, rounds=3)])
    assert foregone(recorder, at[1000], 100) is None  # 4 s per call predicted
    outcome = foregone(recorder, at[10000], 100)  # 40 s per call: two calls fit in 100 s
    assert outcome is None
    recorder.add([R.Record(**at[1000], median_s=6.0, rounds=3)])
    outcome = foregone(recorder, at[10000], 100)  # 60 s per call: two do not
    assert outcome.status == measure.TIMEOUT and "size 1000 took 6.00 s" in outcome.error
    assert foregone(recorder, dict(at[10000], method="jacrev"), 100) is None  # another configuration
    recorder.add([R.Record(**at[1000], status=measure.OOM, error="resident memory passed 12 GiB")])
    outcome = foregone(recorder, at[10000], 100)
    assert outcome.status == measure.OOM
    assert "size 1000 of the same configuration already ended in oom" in outcome.error

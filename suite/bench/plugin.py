"""pytest plugin for `pytest --benchmark`: timed benchmark cases, a separate memory pass, results.json.

Without ``--benchmark`` every case marked ``benchmark`` runs its body once, untimed, as a smoke
test (pytest-benchmark is disabled). With it, only those cases run, one process at a time (xdist
is refused: parallel workers share the cores being measured; the child processes below run one
after another), torch's intra-op thread count is pinned
(``--bench-threads``, default 1), and each measurement becomes a record of
``<bench-dir>/<environment id>/results.json``, rewritten atomically as the run goes and at its end:
updated by case, so records of cases the run did not measure are kept (``--bench-replace`` replaces
the file). Beside it go pytest-benchmark's own JSON of every pass (suite.bench.benchmark_json) and the
report, which ``suite.report.render`` writes when that module is present (suite.bench.recorder). The run
ends with the three answers in a few lines (suite.bench.answers). The C allocator is set for steady
timings (``--bench-allocator``, suite.bench.allocator).

Every case is timed in ``--bench-passes`` passes over the whole run (default 3): the first by
pytest-benchmark in this process, which picks the rounds and iterations; each later pass in a fresh
child process, which repeats those rounds (and the stage breakdown) and whose samples are added to
the case's record. A case's median then pools moments minutes apart and processes with their own
memory layout, rather than one fraction of a second in one process, which a burst of load on a
shared host or the placement of one process's buffers can skew by 10-20% (suite.bench.children).

Once ``--bench-time-budget`` seconds of the run are spent no case is timed (its earlier records are
kept) and no further pass starts, nor one predicted to end after that; records left short of passes
or unsettled say so. Each pass's share of a
core is measured (suite.bench.load) and a run under heavy load says so at its end and in its records.
Each child process collects only the node ids it runs.

A CPU case marked ``isolated`` (the Jacobians whose memory grows with N^2 or N*d) runs in a child
pytest process under a resident-memory limit (three quarters of the memory available when it
starts) and a time limit (``--bench-case-timeout``): passing either is recorded as ``oom`` or
``timeout`` and the run goes on (suite.bench.children, suite.bench.isolation).

Cases use the ``bench`` fixture (:class:`suite.bench.case.Bench`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from suite.bench import allocator, environment, measure
from suite.bench.case import Bench
from suite.bench.children import Child, child_environment, repeat_pass
from suite.bench.recorder import Recorder

__all__ = ["Bench", "bench", "recorder", "tier_of"]

RECORDER = pytest.StashKey["Recorder"]()
# One intra-op thread: comparable across machines, and free of the stalls a parallel region suffers
# when another process takes one of its cores.
DEFAULT_THREADS = 1
DEFAULT_DIR = "reports"
DEFAULT_PASSES = 3
DEFAULT_MAX_PASSES = 8
DEFAULT_CASE_TIMEOUT_S = 300.0
# Seconds from the start of a run after which no case is timed and no further timing pass starts
# (--bench-time-budget). On this 2-core machine, busy (load average 8-10), the default tier's first pass
# took 290 s; a later pass repeats only the timing (no calibration, memory pass or verdicts), about
# LATER_PASS_SHARE of a first pass's time per case until one is measured, and may overrun its prediction
# by half before it is stopped. Start-up, collection and the report take up to 2 minutes more under
# heavy load, so the whole run stays within about 10 minutes.
DEFAULT_TIME_BUDGET_S = 420.0
LATER_PASS_SHARE = 0.5
# Without --benchmark a case body runs once at sizes up to this; larger sizes change only its timing.
SMOKE_MAX_SIZE = 100
# pytest-benchmark settings for --benchmark unless given on the command line: rounds of at least
# 1 ms (several calls per round below that), about 0.1 s per case and pass, at least 5 rounds.
BENCHMARK_DEFAULTS = {
    "benchmark_min_time": ("--benchmark-min-time", "0.001"),
    "benchmark_max_time": ("--benchmark-max-time", "0.1"),
    "benchmark_min_rounds": ("--benchmark-min-rounds", 5),
    "benchmark_columns": ("--benchmark-columns", ["median", "iqr", "rounds", "iterations"]),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("distsuite")
    group.addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run only the timed benchmark cases and write reports/<environment-id>/",
    )
    group.addoption("--bench-threads", type=int, default=DEFAULT_THREADS,
                    help=f"torch intra-op threads during --benchmark, recorded (default: {DEFAULT_THREADS})")
    group.addoption("--bench-passes", type=int, default=DEFAULT_PASSES,
                    help=f"passes over the benchmark cases whose samples are pooled (default: {DEFAULT_PASSES})")
    group.addoption("--bench-max-passes", type=int, default=None,
                    help="further passes, over only the cases whose passes disagree, up to this many passes in all "
                         f"(default: {DEFAULT_MAX_PASSES}, or --bench-passes if that is more)")
    group.addoption("--bench-time-budget", type=float, default=DEFAULT_TIME_BUDGET_S, metavar="SECONDS",
                    help="seconds from the start of the run after which no case is timed and no further "
                         "timing pass starts (one predicted to end after it does not start either); cases not "
                         "timed keep their earlier records, records left short of passes or unsettled say so "
                         f"(default: {DEFAULT_TIME_BUDGET_S:g})")
    group.addoption("--bench-replace", action="store_true", default=False,
                    help="replace the environment's results.json with this run's records instead of updating "
                         "it by case (records of cases not run are then dropped)")
    group.addoption("--bench-case-timeout", type=float, default=DEFAULT_CASE_TIMEOUT_S,
                    help="seconds an isolated case may run in its child process before it is stopped and "
                         f"recorded as timeout (default: {DEFAULT_CASE_TIMEOUT_S:g})")
    group.addoption("--bench-memory-limit", type=float, default=None, metavar="GiB",
                    help="resident memory an isolated case's child process may use before it is stopped and "
                         "recorded as oom (default: 3/4 of the memory available when it starts)")
    group.addoption("--bench-allocator", choices=allocator.CHOICES, default=allocator.STEADY,
                    help="C allocator during --benchmark: steady (fixed glibc thresholds: large blocks reused, "
                         "not page-faulted anew on every call) or system (its defaults); recorded (default: steady)")
    group.addoption("--bench-child", action="store_true", default=False, help=argparse.SUPPRESS)
    group.addoption("--bench-repeat", default=None, help=argparse.SUPPRESS)
    group.addoption("--bench-dir", default=DEFAULT_DIR,
                    help=f"folder for <environment-id>/results.json, relative to the root (default: {DEFAULT_DIR})")


def benchmark_mode(config: pytest.Config) -> bool:
    return bool(config.getoption("--benchmark"))


def _given(config: pytest.Config, flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") or (flag == "-n" and arg.startswith("-n") and len(arg) > 2)
               for arg in config.invocation_params.args)


def _xdist_active(config: pytest.Config) -> bool:
    return bool(hasattr(config, "workerinput") or config.getoption("numprocesses", None)
                or config.getoption("dist", "no") != "no")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The correctness tier runs on every core (`-n auto` in the project's addopts); --benchmark times in one
    process, so there the addopts' -n is dropped (an -n given on the command line is refused below)."""
    if benchmark_mode(config) and not (_given(config, "-n") or _given(config, "--numprocesses")):
        config.option.numprocesses = 0
        config.option.dist = "no"


MARKERS = {
    "cpu_slow": "benchmark size for the slow tier on the CPU (default tier on a GPU)",
    "gpu_only": "benchmark size run on a GPU only (skipped on the CPU)",
    "timed_only": "benchmark case too costly for the untimed smoke run (torch.compile): runs with --benchmark",
    "isolated": "CPU benchmark case timed in a child process under a memory and a time limit",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if not benchmark_mode(config):
        if not _given(config, "--benchmark-enable"):
            config.option.benchmark_disable = True
        return
    if _given(config, "--benchmark-disable") or _given(config, "--benchmark-skip"):
        raise pytest.UsageError("--benchmark times the benchmark cases; it cannot be combined with "
                                "--benchmark-disable or --benchmark-skip")
    if _xdist_active(config):
        raise pytest.UsageError("--benchmark runs in a single process (benchmarks are disabled under xdist); "
                                "drop -n/--dist")
    if config.getoption("--device", "all") == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError(
            f"--benchmark --device cuda: no CUDA device (torch.cuda.is_available() is False; torch "
            f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); use --device cpu")
    threads = config.getoption("--bench-threads")
    if threads < 1:
        raise pytest.UsageError(f"--bench-threads must be at least 1; got {threads}")
    for flag in ("--bench-case-timeout", "--bench-memory-limit", "--bench-time-budget"):
        value = config.getoption(flag)
        if value is not None and value <= 0:
            raise pytest.UsageError(f"{flag} must be positive; got {value:g}")
    if config.getoption("--bench-passes") < 1:
        raise pytest.UsageError(f"--bench-passes must be at least 1; got {config.getoption('--bench-passes')}")
    if max_passes(config) < config.getoption("--bench-passes"):
        raise pytest.UsageError(f"--bench-max-passes ({max_passes(config)}) must be at least --bench-passes "
                                f"({config.getoption('--bench-passes')})")
    torch.set_num_threads(threads)
    allocator_setting = allocator.configure(config.getoption("--bench-allocator"))
    for name, (flag, value) in BENCHMARK_DEFAULTS.items():
        if not _given(config, flag):
            setattr(config.option, name, value)
    recorder = Recorder(environment.capture(torch.get_num_threads(), allocator=allocator_setting),
                        config.rootpath / config.getoption("--bench-dir"),
                        render_report=not config.getoption("--bench-child"),
                        replace=config.getoption("--bench-replace"))
    if not config.getoption("--bench-child"):
        recorder.budget_s = config.getoption("--bench-time-budget")
    plan = config.getoption("--bench-repeat")
    if plan is not None:
        recorder.start_repeat(Path(plan))
    config.stash[RECORDER] = recorder


def max_passes(config: pytest.Config) -> int:
    given = config.getoption("--bench-max-passes")
    return max(DEFAULT_MAX_PASSES, config.getoption("--bench-passes")) if given is None else given


def _params_of(item: pytest.Item) -> dict:
    return getattr(getattr(item, "callspec", None), "params", {})


def _device_of(item: pytest.Item) -> str:
    return measure.device_type(_params_of(item).get("device", "cpu"))


def _deselect(config: pytest.Config, items: list[pytest.Item], drop: Callable[[pytest.Item], bool]) -> None:
    kept = [item for item in items if not drop(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if drop(item)])
        items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tiers from the MARKERS; with --benchmark only benchmark cases, each timed with its device's clock
    (measure.timer_for: thread CPU time on a one-thread CPU, synchronised wall clock on CUDA)."""
    timed = benchmark_mode(config)
    if not timed:
        _deselect(config, items, lambda item: _params_of(item).get("size", 0) > SMOKE_MAX_SIZE)
    for item in items:
        on_cpu = _device_of(item) == "cpu"
        if on_cpu and item.get_closest_marker("cpu_slow"):
            item.add_marker(pytest.mark.slow)
        if on_cpu and item.get_closest_marker("gpu_only"):
            item.add_marker(pytest.mark.skip(reason="a size for GPUs only"))
        if not timed and item.get_closest_marker("timed_only"):
            item.add_marker(pytest.mark.skip(reason="too costly untimed (torch.compile): runs with --benchmark"))
    if not timed:
        return
    _deselect(config, items, lambda item: item.get_closest_marker("benchmark") is None)
    recorder = config.stash.get(RECORDER, None)
    if recorder is not None and recorder.pass_number > 1:
        _deselect(config, items, lambda item: item.nodeid not in recorder.repeatable)
    for item in items:
        item.add_marker(pytest.mark.benchmark(timer=measure.timer_for(_device_of(item))), append=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the time budget is spent, a case of the first pass is not timed (nor its workload built)."""
    recorder = item.config.stash.get(RECORDER, None)
    if recorder is None or recorder.pass_number > 1 or any(m.name == "skip" for m in item.iter_markers()):
        return
    if recorder.budget_spent():
        recorder.not_timed.append(item.nodeid)
        pytest.skip("not timed: the time budget (--bench-time-budget) is spent; its earlier records are kept")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """After pytest's own pass, the further timing passes (--bench-passes), each in a fresh child
    process over the cases that were timed; its samples are pooled into this run's records. Then, up to
    --bench-max-passes, passes over only the cases whose passes do not yet agree (suite.bench.passes.settled).
    No pass starts once --bench-time-budget is spent or when it is predicted to end after it is; the
    host's load is measured over each pass (suite.bench.load)."""
    recorder = session.config.stash.get(RECORDER, None)
    first = recorder is not None and recorder.pass_number == 1
    if first:
        recorder.load.start(1)
    yield
    if not first:
        return
    recorder.load.stop()
    if session.shouldfail or session.shouldstop or not recorder.repeatable:
        return
    config = session.config
    passes, most = config.getoption("--bench-passes"), max_passes(config)
    budget_s = config.getoption("--bench-time-budget")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    options = _child_options(config, config.getoption("--device", None), config.getoption("--dtype", None))

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"distsuite: {line}")

    per_case_s = LATER_PASS_SHARE * recorder.load.passes[-1].wall_s / max(1, len(recorder.repeatable))
    for number in range(2, most + 1):
        cases = recorder.repeatable if number <= passes else recorder.unsettled()
        if not cases:
            break
        elapsed = recorder.elapsed_s()
        predicted = per_case_s * len(cases)
        if elapsed + predicted > budget_s:
            say(f"time budget: {elapsed:.0f} s of {budget_s:g} s spent (--bench-time-budget); timing pass {number} "
                f"over {_cases(len(cases))} (about {predicted:.0f} s) not started")
            if number <= passes:
                note = (f"timed in {number - 1} of {passes} passes: the time budget ({budget_s:g} s, "
                        "--bench-time-budget) was spent")
                recorder.short_of_passes.update(dict.fromkeys(cases, note))
            break
        why = "" if number <= passes else " whose passes disagree"
        say(f"timing pass {number} of {passes if number <= passes else f'at most {most}'} in a fresh process "
            f"over {_cases(len(cases))}{why}")
        recorder.load.start(number)
        repeat_pass(recorder, number, cases, options, config.rootpath, timeout_s=budget_s - elapsed + predicted / 2,
                    env=child_environment(config.getoption("--bench-allocator")))
        measured = recorder.load.stop()
        per_case_s = measured.wall_s / len(cases)
    if passes > 1:
        left = recorder.unsettled()
        if left:
            say(f"still unsettled after {recorder.load.passes[-1].number} passes: {len(left)} of "
                f"{_cases(len(recorder.repeatable))} (their records say so)")


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def _child_options(config: pytest.Config, device: str | None, dtype: str | None) -> list[str]:
    """pytest options for a child process that times cases as this run does."""
    # Without hypothesis's plugin, whose end-of-session summary alone took seconds per child.
    options = ["-p", __name__, "--benchmark", "--bench-child", "--bench-passes", "1", "-m", "slow or not slow",
               "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q",
               "--bench-threads", str(config.getoption("--bench-threads")),
               "--bench-allocator", config.getoption("--bench-allocator")]
    for flag, value in (("--seed", config.getoption("--seed", None)), ("--device", device), ("--dtype", dtype)):
        if value is not None and _has_option(config, flag):
            options += [flag, str(value)]
    for name, (flag, _) in BENCHMARK_DEFAULTS.items():
        value = getattr(config.option, name)
        if not isinstance(value, list):
            options.append(f"{flag}={value}")
    return options


def _has_option(config: pytest.Config, flag: str) -> bool:
    try:
        config.getoption(flag)
    except ValueError:
        return False
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is not None:
        recorder.finish()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER, None)
    if recorder is None:
        return
    terminalreporter.write_sep("-", "distsuite benchmark")
    for line in recorder.summary():
        terminalreporter.write_line(line)


def _child_for(item: pytest.Item) -> Child:
    """How to run an isolated case in its own process, with this run's options."""
    config = item.config
    limit = config.getoption("--bench-memory-limit")
    return Child(item.nodeid, _child_options(config, "cpu", None), config.rootpath,
                 config.getoption("--bench-case-timeout"), None if limit is None else int(limit * 2**30),
                 env=child_environment(config.getoption("--bench-allocator")))


def tier_of(item: pytest.Item) -> str:
    """The tier a benchmark case belongs to: `slow` when it is marked so (on this device), else `default`."""
    return "slow" if item.get_closest_marker("slow") is not None else "default"


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Recorder | None:
    """The run's Recorder under --benchmark, else None."""
    return request.config.stash.get(RECORDER, None)


@pytest.fixture
def bench(request: pytest.FixtureRequest, benchmark) -> Iterator[Bench]:
    """Time, break down, measure memory and record a benchmark case (see Bench).

    The case runs with the pinned thread count (--bench-threads) in the untimed smoke run too.
    """
    config = request.config
    recorder = config.stash.get(RECORDER, None)
    isolated = (recorder is not None and request.node.get_closest_marker("isolated") is not None
                and _device_of(request.node) == "cpu")
    in_child = config.getoption("--bench-child")
    with measure.pinned_threads(config.getoption("--bench-threads")):
        yield Bench(request.node.nodeid, benchmark, recorder, _child_for(request.node) if isolated and not in_child
                    else None, watched=isolated and in_child, tier=tier_of(request.node))

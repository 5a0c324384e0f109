"""Benchmark work in child pytest processes, one at a time, each watched by suite.bench.isolation: the later
timing passes over the whole run (fresh processes, samples pooled into the first pass's records) and
the isolated cases (one case per process under a memory and a time limit)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from suite.bench import allocator, isolation, measure
from suite.bench import results as R
from suite.bench.recorder import SAMPLES_FILENAME, Recorder

ISOLATED_MEMORY_FRACTION = 0.75
# The folder that holds the `suite` package this process imported: a child imports the same one.
SUITE_PARENT = str(Path(__file__).resolve().parents[2])
# How a child process is run and watched; a test replaces it with an in-process fake.
run_child = isolation.run_watched


def child_environment(allocator_choice: str) -> dict[str, str]:
    """The environment of a child: this one, with the `suite` this process runs first on the import path
    and the C allocator setting as glibc tunables (which the child's own children inherit too)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SUITE_PARENT, env.get("PYTHONPATH")) if p)
    env.update(allocator.child_environment(allocator_choice))
    return env


def pytest_argv_for(workdir: Path, nodeids: Sequence[str], options: Sequence[str]) -> list[str]:
    """pytest on exactly these node ids (read from a file: pytest's @FILE argument), so that the child
    collects only the modules they are in and runs only them."""
    listed = workdir / "nodeids.txt"
    listed.write_text("\n".join(nodeids) + "\n", encoding="utf-8")
    return isolation.pytest_argv(f"@{listed}", options)


class Child:
    """How to run one case in a watched child process: its node id, pytest options, folder, time limit."""

    def __init__(self, nodeid: str, options: Sequence[str], rootpath: Path, timeout_s: float,
                 memory_limit_bytes: int | None = None, env: Mapping[str, str] | None = None):
        self.nodeid, self.options, self.rootpath, self.timeout_s = nodeid, list(options), rootpath, timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        self.env = env

    def memory_limit(self) -> tuple[int, str]:
        """The child's resident-memory limit and how it was set."""
        if self.memory_limit_bytes is not None:
            return self.memory_limit_bytes, "--bench-memory-limit"
        return measure.memory_budget("cpu", ISOLATED_MEMORY_FRACTION), "3/4 of the memory available"

    def run(self, problems: list[str]) -> ChildResult:
        """Run the case. A child stopped for memory or time gives an `oom` or `timeout` outcome, one that
        wrote no records an `error` outcome; records without a memory measurement note the process's
        peak resident memory. A results file it left unreadable is named in `problems`."""
        limit, limit_source = self.memory_limit()
        workdir = isolation.child_workdir()
        try:
            argv = pytest_argv_for(workdir, [self.nodeid], [*self.options, "--bench-dir", str(workdir)])
            run = run_child(argv, rss_limit_bytes=limit, timeout_s=self.timeout_s, cwd=self.rootpath, env=self.env)
            records = []
            for path in workdir.glob(f"*/{R.FILENAME}"):
                try:
                    records.extend(R.load(path).records)
                except (OSError, ValueError) as exc:
                    problems.append(f"{self.nodeid}: its child's results unreadable: {exc}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if run.outcome == isolation.OVER_MEMORY:
            return ChildResult(run, [], measure.Outcome(measure.OOM, error=f"resident memory passed "
                               f"{limit / 2**30:.1f} GiB ({limit_source}) after {run.seconds:.0f} s; stopped"))
        if run.outcome == isolation.TIMED_OUT:
            return ChildResult(run, [], measure.Outcome(measure.TIMEOUT, error=f"still running after "
                               f"{self.timeout_s:g} s (--bench-case-timeout); stopped"))
        if not records:
            return ChildResult(run, [], measure.Outcome(measure.ERROR, error=f"child process exited with "
                               f"{run.returncode} and recorded nothing: {last_line(run.output)}",
                               exception=RuntimeError(run.output)))
        if run.peak_rss_bytes is not None:
            for record in records:
                if record.status == measure.OK and record.peak_bytes is None and record.phase in (None, "total"):
                    note = f"peak resident memory of its process {run.peak_rss_bytes / 2**30:.2f} GiB"
                    record.error = f"{record.error}; {note}" if record.error else note
        return ChildResult(run, records, None)


@dataclass
class ChildResult:
    """What a child process left: its run, its records, and the outcome that replaces them when it failed."""

    run: isolation.ChildRun
    records: list[R.Record]
    outcome: measure.Outcome | None


def repeat_pass(recorder: Recorder, number: int, cases: Mapping[str, tuple[int, int]], options: Sequence[str],
                rootpath: Path, timeout_s: float = float("inf"), env: Mapping[str, str] | None = None) -> None:
    """One later timing pass over `cases` (case id -> rounds and iterations, from the recorder's repeatable
    cases), in a child pytest process run with `options` on exactly those node ids; its samples are pooled
    into the recorder, what it could not do is named in its problems."""
    workdir = isolation.child_workdir()
    try:
        plan = workdir / "plan.json"
        plan.write_text(json.dumps({"pass": number, "cases": dict(cases)}), encoding="utf-8")
        argv = pytest_argv_for(workdir, list(cases), [*options, "--bench-repeat", str(plan),
                                                      "--bench-dir", str(workdir)])
        run = run_child(argv, rss_limit_bytes=None, timeout_s=timeout_s, cwd=rootpath, env=env)
        samples = workdir / SAMPLES_FILENAME
        if run.outcome == isolation.TIMED_OUT:
            recorder.problems.append(f"pass {number}: stopped after {run.seconds:.0f} s, past the time budget; "
                                     "its samples are not used")
            return
        if not samples.exists():
            recorder.problems.append(f"pass {number}: its process exited with {run.returncode} and timed nothing: "
                                     f"{last_line(run.output)}")
            return
        repeated = json.loads(samples.read_text(encoding="utf-8"))
        for case_id, phase, values in repeated["samples"]:
            recorder.pool(case_id, phase, values)
        recorder.problems.extend(repeated["problems"])
        if run.returncode not in (0, 5):  # 5: no case was collected
            recorder.problems.append(f"pass {number}: its process exited with {run.returncode}: "
                                     f"{last_line(run.output)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def foregone(recorder: Recorder, base: dict, timeout_s: float) -> measure.Outcome | None:
    """The outcome of an isolated case that need not run: a smaller size of the same configuration
    already ran out of memory or time, or its time per call, scaled linearly to this size (a lower
    bound for every method here), leaves no room for a second call within the time limit."""
    smaller = recorder.smaller(base)
    if smaller is None:
        return None
    if smaller.status in (measure.OOM, measure.TIMEOUT):
        return measure.Outcome(smaller.status, error=f"not run: size {smaller.size} of the same configuration "
                               f"already ended in {smaller.status}")
    if smaller.status == measure.OK and smaller.median_s:
        predicted_s = smaller.median_s * base["size"] / smaller.size
        if 2 * predicted_s > timeout_s:
            return measure.Outcome(measure.TIMEOUT, error=f"not run: {predicted_s:.0f} s or more per call "
                                   f"(size {smaller.size} took {smaller.median_s:.2f} s), two calls exceed "
                                   f"{timeout_s:g} s (--bench-case-timeout)")
    return None


def last_line(text: str) -> str:
    """The last non-blank line of a process's output, for a one-line message."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"

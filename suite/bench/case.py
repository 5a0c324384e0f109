"""What a benchmark case calls (the `bench` fixture of suite.bench.plugin): time it with pytest-benchmark,
break it down by stage, measure its memory, and record it; a later timing pass repeats the first pass's
rounds; an isolated case is measured in a watched child process (suite.bench.children)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch

from suite.bench import measure
from suite.bench import results as R
from suite.bench.children import Child, foregone
from suite.bench.recorder import Recorder
from suite.registry.families import dtype_name

# A call slower than this is timed in LONG_CALL_ROUNDS rounds instead of pytest-benchmark's calibration.
LONG_CALL_S = 1.0
LONG_CALL_ROUNDS = 3
# A call slower than this is timed in one round.
VERY_LONG_CALL_S = 20.0
MAX_PHASE_ROUNDS = 50


class Bench:
    """What a benchmark case calls: time (pytest-benchmark), break down, measure memory, record.

    Outside --benchmark it runs the body once, untimed, and records nothing. With a `child`, a CPU
    case is measured by a child process running the same case (see Child and suite.bench.isolation).
    """

    def __init__(self, case_id: str, benchmark, recorder: Recorder | None, child: Child | None = None,
                 watched: bool = False, tier: str = "default"):
        self.case_id = case_id
        self.tier = tier
        self.benchmark = benchmark
        self.recorder = recorder
        self.child = child
        # Measured in a watched child process: by `child` here, or this is that child.
        self.watched = watched or child is not None

    @property
    def timed(self) -> bool:
        return self.recorder is not None

    def check_memory(self, estimated_bytes: int, device: str | torch.device, **fields: Any) -> None:
        """Record `oom` and skip the case, unrun, when its estimated memory exceeds measure.memory_budget.

        An isolated CPU case is not judged by its estimate: its child's measured memory is the guard."""
        if self.watched and measure.device_type(device) == "cpu":
            return
        budget = measure.memory_budget(device)
        if estimated_bytes > budget:
            base = dict(fields, case_id=self.case_id, device=measure.device_type(device),
                        dtype=dtype_name(fields["dtype"]), tier=self.tier)
            self._fail(measure.Outcome(measure.OOM, error=f"estimated {estimated_bytes / 2**30:.1f} GiB exceeds "
                                       f"the budget of {budget / 2**30:.1f} GiB (half the free memory); not run"),
                       base, None, errors_are_data=True)

    def run(self, fn: Callable[[], Any], device: str | torch.device, *, verdict: Any = None,
            errors_are_data: bool = False, **fields: Any) -> Any:
        """Measure fn(); `fields` are the record's group, method, dtype, size, family, dim, validate, compiled."""
        return self.run_stages([("total", lambda _: fn())], device, breakdown=False, verdict=verdict,
                               errors_are_data=errors_are_data, **fields)

    def run_stages(self, stages: Sequence[measure.Stage], device: str | torch.device, *, breakdown: bool = True,
                   verdict: Any = None, errors_are_data: bool = False, **fields: Any) -> Any:
        """Measure a pipeline of stages (see measure.time_stages): the whole by pytest-benchmark and,
        with `breakdown`, each stage in its own records (phase = the stage's name).

        An out-of-memory failure becomes an `oom` record and skips the case with that message; with
        `errors_are_data` any other failure becomes an `error` (or `unsupported`) record likewise,
        else the case fails. `verdict` is a string or a function of the first call's result.
        Returns that result.
        """
        base = dict(fields, case_id=self.case_id, device=measure.device_type(device),
                    dtype=dtype_name(fields["dtype"]), tier=self.tier)
        phase = "total" if breakdown else None

        def call() -> Any:
            return measure.run_stages(stages)

        if self.timed and self.child is not None and measure.device_type(device) == "cpu":
            return self._run_in_child(base, phase, errors_are_data)
        clock = measure.timer_for(device)
        start = clock()
        first = measure.guarded(call, device)
        first_s = clock() - start
        if not first.ok:
            self._fail(first, base, phase, errors_are_data)
        if not self.timed:
            self.benchmark(lambda: None)
            return first.value
        if self.recorder.pass_number > 1:
            self._repeat(call, device, phase, stages if breakdown else ())
            return first.value
        text = verdict(first.value) if callable(verdict) else verdict
        long_call = first_s > LONG_CALL_S
        try:
            if long_call:
                rounds = 1 if first_s > VERY_LONG_CALL_S else LONG_CALL_ROUNDS
                self.benchmark.pedantic(call, rounds=rounds, iterations=1)
            else:
                self.benchmark(call)
        except Exception as exc:  # noqa: BLE001 - classified below
            self._fail(measure.failure(exc, device), base, phase, errors_are_data)
        stats = self.benchmark.stats.stats
        records = [R.Record(**base, phase=phase, median_s=float(stats.median), iqr_s=float(stats.iqr),
                            rounds=int(stats.rounds), samples_s=R.rounded(stats.data), passes=1, verdict=text)]
        if breakdown:
            rounds = min(int(stats.rounds), MAX_PHASE_ROUNDS)
            for name, timing in measure.time_stages(stages, device, rounds, warmup=0).items():
                if name != "total":
                    records.append(R.Record(**base, phase=name, median_s=timing.median_s, iqr_s=timing.iqr_s,
                                            rounds=timing.rounds, samples_s=R.rounded(timing.samples_s), passes=1,
                                            verdict=text))
        if long_call and measure.device_type(device) == "cpu":
            # The CPU profiler keeps an event per allocation: a call this long can need gigabytes of events.
            records[0].error = f"memory pass skipped: a CPU call over {LONG_CALL_S:g} s"
        else:
            memory = measure.guarded(lambda: measure.peak_memory(call, device), device)
            if memory.ok:
                records[0].peak_bytes = memory.value.peak_bytes
            else:
                records[0].error = f"memory pass: {memory.error}"
        self.recorder.add(records)
        self.recorder.repeatable[self.case_id] = (int(stats.rounds), int(self.benchmark.stats.iterations))
        return first.value

    def _repeat(self, call: Callable[[], Any], device: str | torch.device, phase: str | None,
                stages: Sequence[measure.Stage]) -> None:
        """A later timing pass: the first pass's rounds and iterations, samples pooled into its record;
        with `stages`, the stage breakdown too."""
        # Timed here, not by pytest-benchmark: mark its fixture used so that it does not warn.
        self.benchmark._mode = "distsuite timing pass"
        rounds, iterations = self.recorder.repeatable[self.case_id]
        samples = measure.time_calls(call, device, rounds, iterations)
        self.recorder.repeated_samples(self.case_id, phase, samples)
        if stages:
            timings = measure.time_stages(stages, device, min(rounds, MAX_PHASE_ROUNDS), warmup=0)
            for name, timing in timings.items():
                if name != "total":
                    self.recorder.repeated_samples(self.case_id, name, timing.samples_s)

    def _run_in_child(self, base: dict, phase: str | None, errors_are_data: bool) -> None:
        """Measure this case in a watched child and take its records; a child stopped for memory or
        time becomes an `oom` or `timeout` record, one that crashed an `error` record."""
        self.benchmark._mode = "distsuite child process"  # the child times it; no unused-fixture warning
        not_run = foregone(self.recorder, base, self.child.timeout_s)
        if not_run is not None:
            self._fail(not_run, base, phase, errors_are_data=True)
        result = self.child.run(self.recorder.problems)
        if result.outcome is not None:
            self._fail(result.outcome, base, phase,
                       errors_are_data=errors_are_data or result.outcome.status != measure.ERROR)
        self.recorder.add(result.records)
        failed = [r for r in result.records if r.status != measure.OK]
        if failed:
            pytest.skip(f"{failed[0].status}: {failed[0].error}")
        if result.run.returncode != 0:
            pytest.fail(f"the case failed in its child process:\n{result.run.output}")

    def _fail(self, outcome: measure.Outcome, base: dict, phase: str | None, errors_are_data: bool) -> None:
        if self.timed and self.recorder.pass_number > 1:
            # The first pass's record stands; a case that stops working in a later pass is reported.
            self.recorder.problems.append(f"pass {self.recorder.pass_number}: {self.case_id}: {outcome.status}: "
                                          f"{outcome.error}")
            pytest.skip(f"pass {self.recorder.pass_number}: {outcome.status}: {outcome.error}")
        if self.timed:
            self.recorder.add([R.Record(**base, phase=phase, status=outcome.status, error=outcome.error)])
        if outcome.status == measure.OOM:
            pytest.skip(f"out of memory at size {base['size']} on {base['device']}: {outcome.error}")
        if outcome.status == measure.ERROR and not errors_are_data:
            raise outcome.exception
        pytest.skip(f"{outcome.status}: {outcome.error}")

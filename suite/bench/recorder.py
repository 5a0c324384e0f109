"""The records of a `pytest --benchmark` run: results.json rewritten atomically as the run goes and
at its end, later passes' samples pooled in, the report rendered beside it.

The file is updated by case, never replaced: the records of cases this run did not measure are kept
(results.merged_by_case), unless the run was asked to replace it (``replace``). A file that cannot be
read is moved aside under a name that says so, not overwritten.

A later timing pass runs in a child process with a Recorder of its own that only collects samples
(``repeated``) and hands them to the first pass's process in SAMPLES_FILENAME.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from suite.bench import answers, benchmark_json, load, measure
from suite.bench import passes as P
from suite.bench import results as R

FLUSH_INTERVAL_S = 15.0
SAMPLES_FILENAME = "repeated-samples.json"


class Recorder:
    """The run's records, written to <root>/<environment id>/results.json atomically and incrementally."""

    def __init__(self, environment: R.Environment, root: Path, flush_interval_s: float = FLUSH_INTERVAL_S,
                 render_report: bool = True, replace: bool = False):
        self.environment = environment
        self.path = R.results_path(root, environment.id)
        self.records: list[R.Record] = []
        self.replace = replace
        # The records already in the file when this run first writes it (None: not read yet).
        self.earlier: list[R.Record] | None = None
        self.load = load.Meter()
        self.started = self.load.reader().wall_s
        # Seconds from `started` after which no case is timed and no pass starts (None: no limit).
        self.budget_s: float | None = None
        self.not_timed: list[str] = []
        # Cases left with fewer timing passes than asked, because the time budget was spent.
        self.short_of_passes: dict[str, str] = {}
        self.flush_interval_s = flush_interval_s
        self._written_at = time.monotonic()
        self.report: Path | None = None
        self.problems: list[str] = []
        self.pass_number = 1
        self.render_report = render_report
        # case id -> (rounds, iterations) that pytest-benchmark chose in the first pass
        self.repeatable: dict[str, tuple[int, int]] = {}
        # In a later pass's process: (case id, phase, samples) for the first pass's process to pool.
        self.repeated: list[tuple[str, str | None, list[float]]] = []

    def start_repeat(self, plan: Path) -> None:
        """Make this run a later timing pass over the cases in `plan` (written by the first pass)."""
        content = json.loads(plan.read_text("utf-8"))
        self.pass_number = int(content["pass"])
        self.repeatable = {case: (int(r), int(i)) for case, (r, i) in content["cases"].items()}

    def add(self, records: Sequence[R.Record]) -> None:
        for record in records:
            record.measured_at = record.measured_at or self.environment.date
            record.commit = record.commit or self.environment.distsuite_commit
        self.records.extend(records)
        if time.monotonic() - self._written_at >= self.flush_interval_s:
            self.flush()

    def smaller(self, fields: dict) -> R.Record | None:
        """The record of the same configuration (all fields but case id and size) at the largest smaller
        size measured so far in this run, if any."""
        keys = ("group", "family", "method", "device", "dtype", "dim", "validate", "compiled")
        same = [r for r in R.merge_records(self.records) if r.phase in (None, "total") and r.size < fields["size"]
                and all(getattr(r, k) == fields.get(k) for k in keys)]
        return max(same, key=lambda r: r.size, default=None)

    def elapsed_s(self) -> float:
        return self.load.reader().wall_s - self.started

    def budget_spent(self) -> bool:
        return self.budget_s is not None and self.elapsed_s() > self.budget_s

    def unsettled(self) -> dict[str, tuple[int, int]]:
        """The repeatable cases (with their rounds and iterations) that have a timed record, the whole or a
        stage, whose timing passes do not yet agree (suite.bench.passes.settled)."""
        cases = {r.case_id for r in self.records if r.case_id in self.repeatable and r.status == measure.OK
                 and not P.settled(r.samples_s, r.passes or 1)}
        return {case: plan for case, plan in self.repeatable.items() if case in cases}

    def repeated_samples(self, case_id: str, phase: str | None, samples_s: Sequence[float]) -> None:
        self.repeated.append((case_id, phase, R.rounded(samples_s)))

    def pool(self, case_id: str, phase: str | None, samples_s: Sequence[float]) -> None:
        """Add a later pass's samples to the case's record and recompute its median, IQR and rounds."""
        for record in reversed(self.records):
            if (record.case_id, record.phase) == (case_id, phase):
                record.samples_s = record.samples_s + R.rounded(samples_s)
                timing = measure.summarize(record.samples_s)
                record.median_s, record.iqr_s, record.rounds = timing.median_s, timing.iqr_s, timing.rounds
                record.passes = (record.passes or 1) + 1
                break
        else:
            raise KeyError(f"no record of {case_id} ({phase}) to add samples to")
        if time.monotonic() - self._written_at >= self.flush_interval_s:
            self.flush()

    def settle(self) -> None:
        """Set each record's slowed passes aside (suite.bench.passes.set_aside); a record still unsettled, or
        left with fewer passes than asked for want of time, says so (``unsettled`` and a note)."""
        share = self.load.lowest_share()
        for record in R.merge_records(self.records):
            record.cpu_share = share if record.cpu_share is None else record.cpu_share
            if record.status != measure.OK:
                continue
            passes = record.passes or 1
            notes = []
            if passes >= 2 and not P.set_aside(record):
                notes.append(f"unsettled: the fastest of its {passes} timing passes agrees with no other within "
                             f"{P.SETTLED_WITHIN:.0%}")
            short = self.short_of_passes.get(record.case_id)
            if short is not None and passes + (record.set_aside_passes or 0) < 2:
                notes.append(short)
            record.unsettled = bool(notes) if record.case_id in self.repeatable else record.unsettled
            for note in notes:
                record.error = f"{record.error}; {note}" if record.error else note

    def merged(self) -> list[R.Record]:
        """The file's records after this run: earlier records of cases it did not run, then its own."""
        if self.earlier is None:
            self.earlier = [] if self.replace else self._read_earlier()
        return R.merged_by_case(self.earlier, R.merge_records(self.records))

    def _read_earlier(self) -> list[R.Record]:
        if not self.path.exists():
            return []
        try:
            return R.load(self.path).records
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
            self.path.rename(aside)
            self.problems.append(f"{self.path} was unreadable ({measure.describe(exc, 120)}); moved to {aside.name}, "
                                 "this run's records start a new file")
            return []

    def flush(self) -> None:
        if self.records:
            R.write_atomic(self.path, R.Results(self.environment, self.merged()))
        self._written_at = time.monotonic()

    def finish(self) -> None:
        if self.pass_number > 1:
            R.write_text_atomic(self.path.parent.parent / SAMPLES_FILENAME,
                                json.dumps({"samples": self.repeated, "problems": self.problems}))
            return
        self.settle()
        try:
            self.flush()
        except (OSError, R.SchemaError) as exc:
            self.problems.append(f"results not written: {measure.describe(exc)}")
            return
        if not self.records or not self.render_report:
            return
        try:
            benchmark_json.write(R.Results(self.environment, self.merged()), self.path.parent)
        except (OSError, ValueError) as exc:
            self.problems.append(f"{benchmark_json.FILENAME} not written: {measure.describe(exc)}")
        self.render()

    def render(self) -> None:
        """The report beside results.json, when suite.report is there to render it."""
        try:
            from suite.report import render
        except ImportError:
            return
        try:
            self.report = render([self.path], self.path.parent)
        except Exception as exc:  # noqa: BLE001 - the measurements are saved; a report failure is reported
            self.problems.append(f"report not rendered: {measure.describe(exc)}")

    def summary(self) -> list[str]:
        counts: dict[str, int] = {}
        for record in R.merge_records(self.records):
            counts[record.status] = counts.get(record.status, 0) + 1
        lines = [f"environment {self.environment.id}, torch threads: {self.environment.threads}"]
        if self.records:
            tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            ran = {R.case_key(r.case_id) for r in self.records}
            kept = sum(R.case_key(r.case_id) not in ran for r in self.earlier or [])
            lines.append(f"{sum(counts.values())} records ({tally}) in {self.path}"
                         + (f"; {kept} earlier records of cases not run here kept" if kept else ""))
            lines += answers.answer_lines(self.merged())
        else:
            lines.append("no benchmark case ran; nothing written")
        if self.not_timed:
            lines.append(f"time budget: {len(self.not_timed)} cases not timed, the budget ({self.budget_s:g} s) "
                         "spent before they came; their earlier records are kept (--bench-time-budget allows more)")
        if self.report is not None:
            lines.append(f"report: {self.report}")
        warning = self.load.warning()
        return lines + self.problems + ([warning] if warning else [])

"""What a benchmark run keeps: results.json (round trip, validation, atomic writes), the recorder that merges
a run into it, pytest-benchmark's file, the passes set aside and settled, and what the records say at the end of
a run and at the top of a report. Each check has a planted fault that it reports."""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from suite.bench import environment
from suite.bench import passes as P
from suite.bench import results as R

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


# ------------------------------------------------------------------ passes set aside


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


# ------------------------------------------------------------------ the end of a run


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

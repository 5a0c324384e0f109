"""Comparisons of synthetic results files: significance, passes, stages, host drift, bad input, and compare as a
gate."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from synthetic_results import REPO, SAMPLES, SPREAD, environment, run, slowed, synthetic_records, timed, write_results

from suite.bench.results import Record
from suite.cli.report import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, compare_main, report_main
from suite.report import compare, read_results
from suite.report.compare import (
    BROKEN,
    FEW,
    IMPROVEMENT,
    REGRESSION,
    SAME,
    STAGE_ONLY,
    UNSETTLED,
    UNSTEADY,
    WRONG,
    smallest_p,
)
from suite.state import derive_seed


def test_compare_flags_a_planted_slowdown(tmp_path, capsys):
    rng = np.random.default_rng(derive_seed("report", "slowdown"))
    records = synthetic_records(rng)
    target = "bench_strategy[Normal-None-parametrize_module-False-10000-cpu]"
    base = write_results(tmp_path / "base" / "results.json", "env", 0, records)
    new = write_results(tmp_path / "new" / "results.json", "env", 0, slowed(records, target, 1.3, rng))
    comparison = compare(read_results(base), read_results(new))
    flagged = [c for c in comparison.changes if c.flag != SAME]
    assert [(c.record.case_id, c.record.phase, c.flag) for c in flagged if c.p_value is not None] == [
        (target, "total", REGRESSION)]
    assert 1.2 < flagged[0].ratio < 1.4
    assert compare_main([str(base), str(new)]) == EXIT_REGRESSION
    assert "**regression ✗**" in capsys.readouterr().out


def test_compare_does_not_flag_identical_distributions(tmp_path, capsys):
    """Independent draws from the same distributions: at alpha 0.01 (BH) a flag would be a false positive."""
    base = write_results(tmp_path / "base.json", "env", derive_seed("report", "same", 1))
    new = write_results(tmp_path / "new.json", "env", derive_seed("report", "same", 2))
    comparison = compare(read_results(base), read_results(new))
    tested = [c for c in comparison.changes if c.p_value is not None]
    assert len(tested) > 100
    assert all(c.flag == SAME for c in tested)
    assert compare_main([str(base), str(new), "--changed-only"]) == EXIT_OK
    assert ("0 regressions, 0 improvements, 0 beyond it but not in every timing pass, 0 beyond it in a record that "
            "did not settle (its fastest pass unconfirmed), 0 beyond it in a stage whose whole step did not change so, "
            "0 significant changes below the threshold") in capsys.readouterr().out


def test_compare_counts_whole_measurements_above_1ms_that_agree_within_10_percent(tmp_path, capsys):
    rng = np.random.default_rng(derive_seed("report", "agreement"))
    fields = dict(group="jacobian", family="Normal", method="loop", device="cpu", dtype="float64", dim=2)

    def run(slow: float) -> list[Record]:
        return [timed(rng, 2e-3, case_id="steady[2ms]", size=1, **fields),
                timed(rng, 2e-3 * slow, case_id="apart[2ms]", size=2, **fields),
                timed(rng, 5e-4 * slow, case_id="fast[0.5ms]", size=3, **fields),
                timed(rng, 2e-3, case_id="step[2ms]", size=4, phase="total", **fields),
                timed(rng, 2e-3 * slow, case_id="step[2ms]", size=4, phase="construct", **fields)]

    base = write_results(tmp_path / "base.json", "env", 0, run(1.0))
    new = write_results(tmp_path / "new.json", "env", 0, run(1.25))
    measured, apart = compare(read_results(base), read_results(new), normalise=False).agreement()
    # Counted: the whole measurements above 1 ms (not the 0.5 ms case, not the construct stage).
    assert measured == 3 and [c.record.case_id for c in apart] == ["apart[2ms]"]
    compare_main([str(base), str(new)])
    assert "Agreement: 2 of the 3 whole measurements with a median above 1 ms are within 10% of base" in (
        capsys.readouterr().out)


def _three_passes(rng: np.random.Generator, centres: tuple[float, float, float], **fields) -> Record:
    samples = np.concatenate([c * rng.lognormal(0.0, SPREAD, SAMPLES) for c in centres])
    return Record(median_s=float(np.median(samples)), rounds=samples.size, samples_s=samples.tolist(), passes=3,
                  **fields)


@pytest.mark.parametrize("new_passes, expected", [
    pytest.param((1.3, 1.3, 1.3), REGRESSION, id="slower-in-every-pass"),
    pytest.param((1.3, 1.3, 1.0), UNSTEADY, id="slower-in-two-passes-of-three"),
    pytest.param((0.7, 0.7, 0.7), IMPROVEMENT, id="faster-in-every-pass"),
    pytest.param((0.7, 1.0, 0.7), UNSTEADY, id="faster-in-two-passes-of-three"),
    # Slower in every pass, but no two passes agree: the new run's median never settled.
    pytest.param((1.3, 1.6, 2.0), UNSETTLED, id="slower-but-unsettled"),
])
def test_compare_flags_a_change_beyond_the_threshold_only_when_every_pass_shows_it(tmp_path, new_passes, expected):
    """A burst of load moves one pass: a change is a regression only when it holds in each pass."""
    rng = np.random.default_rng(derive_seed("report", "passes", *new_passes))
    fields = dict(group="jacobian", family="Normal", method="loop", device="cpu", dtype="float64", size=10, dim=2)
    target = "bench_jacobian[target]"
    others = [f"bench_jacobian[{i}]" for i in range(30)]
    base = [_three_passes(rng, (1e-3,) * 3, case_id=c, **fields) for c in [target, *others]]
    new = [_three_passes(rng, tuple(1e-3 * f for f in new_passes), case_id=target, **fields)]
    new += [_three_passes(rng, (1e-3,) * 3, case_id=c, **fields) for c in others]
    comparison = compare(read_results(write_results(tmp_path / "base.json", "env", 0, base)),
                         read_results(write_results(tmp_path / "new.json", "env", 0, new)))
    flags = {c.record.case_id: c.flag for c in comparison.changes}
    assert flags[target] == expected
    assert comparison.failed == (expected == REGRESSION)
    assert all(flags[c] == SAME for c in others)


@pytest.mark.parametrize("whole_step, expected", [
    pytest.param(1.0, STAGE_ONLY, id="whole-step-unchanged"),
    pytest.param(1.3, REGRESSION, id="whole-step-slower-too"),
])
def test_a_stage_is_a_regression_only_with_its_whole_step(tmp_path, whole_step, expected):
    """A stage 30% slower in every pass: a regression when the whole step is slower too, else stage only."""
    rng = np.random.default_rng(derive_seed("report", "stage", whole_step))
    fields = dict(group="strategy_step", family="Normal", method="rebuild_per_step", device="cpu", dtype="float64",
                  size=100, validate=False)
    cases = [f"bench_strategies[{i}]" for i in range(30)]
    base, new = [], []
    for i, case in enumerate(cases):
        for phase in ("total", "construct"):
            base.append(_three_passes(rng, (1e-3,) * 3, case_id=case, phase=phase, **fields))
            factor = (whole_step if phase == "total" else 1.3) if i == 0 else 1.0
            new.append(_three_passes(rng, (1e-3 * factor,) * 3, case_id=case, phase=phase, **fields))
    comparison = compare(read_results(write_results(tmp_path / "base.json", "env", 0, base)),
                         read_results(write_results(tmp_path / "new.json", "env", 0, new)))
    flags = {(c.record.case_id, c.record.phase): c.flag for c in comparison.changes}
    assert flags[(cases[0], "construct")] == expected
    assert comparison.failed == (expected == REGRESSION)
    assert all(flags[(c, p)] == SAME for c in cases[1:] for p in ("total", "construct"))


def test_a_record_whose_passes_do_not_divide_its_samples_is_refused():
    from suite.bench.results import SchemaError, validate

    record = dataclasses.asdict(timed(np.random.default_rng(0), 1e-3, case_id="c", group="jacobian",
                                      method="loop", device="cpu", dtype="float64", size=10))
    document = {"schema_version": 1, "environment": dataclasses.asdict(environment("env")), "records": [record]}
    validate(document)
    record["passes"] = 4  # 15 samples
    with pytest.raises(SchemaError, match="passes: 4 does not divide its 15 samples"):
        validate(document)
    del record["passes"]  # files written before the field existed
    validate(document)


def test_compare_improvement_is_flagged_without_failing(tmp_path):
    rng = np.random.default_rng(derive_seed("report", "faster"))
    records = synthetic_records(rng)
    target = "bench_jacobian[loop-16-1000-cpu]"
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, slowed(records, target, 0.7, rng))
    comparison = compare(read_results(base), read_results(new))
    changes = {(c.record.case_id, c.record.phase): c.flag for c in comparison.changes}
    assert changes[(target, None)] == IMPROVEMENT
    assert compare_main([str(base), str(new)]) == EXIT_OK


def test_compare_fails_on_broken_case_and_broken_verdict(tmp_path):
    records = synthetic_records(np.random.default_rng(0))
    new_records = list(records)
    oom_at = next(i for i, r in enumerate(records) if r.group == "jacobian")
    wrong_at = next(i for i, r in enumerate(records) if r.method == "parametrize_module")
    new_records[oom_at] = replace(records[oom_at], status="oom", median_s=None, samples_s=[], error="OOM")
    new_records[wrong_at] = replace(records[wrong_at], verdict="diverged")
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, new_records)
    flags = {(c.record.case_id, c.record.phase): c.flag for c in compare(read_results(base), read_results(new)).changes}
    assert flags[(records[oom_at].case_id, None)] == BROKEN
    assert flags[(records[wrong_at].case_id, records[wrong_at].phase)] == WRONG
    assert compare_main([str(base), str(new)]) == EXIT_REGRESSION


def test_compare_says_when_samples_are_too_few_to_test(tmp_path):
    """Three samples a side cannot reach p < 0.01 (smallest two-sided p is 0.1): said, never silently passed."""
    records = [replace(r, samples_s=r.samples_s[:3]) for r in synthetic_records(np.random.default_rng(0))]
    tripled = [replace(r, samples_s=[3 * x for x in r.samples_s], median_s=r.median_s and 3 * r.median_s)
               for r in records]
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, tripled)
    flags = {c.flag for c in compare(read_results(base), read_results(new)).changes if c.base.samples_s}
    assert flags == {FEW}


def test_compare_tests_records_of_many_samples(tmp_path):
    """Eight passes of 150 rounds a side: the smallest p-value is far below any float (no overflow)."""
    records = [replace(r, samples_s=list(np.resize(r.samples_s, 1200)), passes=8)
               for r in synthetic_records(np.random.default_rng(0)) if r.samples_s]
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, records)
    changes = compare(read_results(base), read_results(new)).changes
    assert changes and {c.flag for c in changes} == {SAME}
    assert smallest_p(1200, 1200) == 0.0 and smallest_p(5, 5) == pytest.approx(2 / 252)


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = write_results(tmp_path / "good.json", "env", 0, synthetic_records(np.random.default_rng(0))[:3])
    text = good.read_text()
    future, bad_field = json.loads(text), json.loads(text)
    future["schema_version"] = 2
    bad_field["records"][0]["size"] = "big"
    bad_field["records"][0]["x"] = 1
    cases = {
        "missing": (tmp_path / "absent.json", "no such file"),
        "truncated": (text[: len(text) // 2], "truncated"),
        "foreign": (json.dumps({"machine_info": {}, "benchmarks": [], "version": "4.0.0"}),
                    "not a distsuite results file"),
        "list": ("[1, 2, 3]", "not a distsuite results file"),
        "future": (json.dumps(future), "schema version 2 is not supported"),
        "bad field": (json.dumps(bad_field), "not a valid results file"),
        "binary": (b"\x89PNG\r\n\x1a\n\xff\xfe", "not a UTF-8 text file"),
        "directory": (tmp_path, "is a directory"),
    }
    out = {}
    for name, (content, reason) in cases.items():
        if isinstance(content, Path):
            out[name] = (content, reason)
            continue
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        out[name] = (path, reason)
    out["good"] = (good, "")
    return out


BAD = ("missing", "truncated", "foreign", "list", "future", "bad field", "binary", "directory")


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, kind):
    inputs = _bad_inputs(tmp_path)
    bad, reason = inputs[kind]
    good = inputs["good"][0]
    for main, argv in ((report_main, [str(good), str(bad), "--out", str(tmp_path / "out")]),
                       (compare_main, [str(good), str(bad)])):
        assert main(argv) == EXIT_BAD_INPUT
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and reason in lines[0] and str(bad) in lines[0], captured.err
        assert lines[0].startswith("python -m suite ")
        assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()


def test_bad_input_from_the_command_line_has_no_traceback(tmp_path):
    proc = run([sys.executable, "-m", "suite", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")], REPO)
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stderr.splitlines() == [f"python -m suite compare: error: {tmp_path / 'a.json'}: no such file"]


def _everything_slower(records: list[Record], factor: float, rng: np.random.Generator) -> list[Record]:
    """Every timed record of every phase redrawn `factor` times slower."""
    return [dataclasses.replace(r, samples_s=(factor * np.asarray(r.samples_s)
                                              * rng.lognormal(0.0, SPREAD, len(r.samples_s))).tolist(),
                                median_s=factor * r.median_s) if r.samples_s else r for r in records]


def _base_and_everything_slower(tmp_path: Path, label: str, factor: float) -> tuple[Path, Path]:
    rng = np.random.default_rng(derive_seed("report", label))
    records = synthetic_records(rng)
    return (write_results(tmp_path / "base.json", "env", 0, records),
            write_results(tmp_path / "new.json", "env", 0, _everything_slower(records, factor, rng)))


def test_compare_measures_host_drift_and_tests_cases_relative_to_it(tmp_path, capsys):
    """Every case 7% slower (a drifting host): no case is flagged against the host factor; raw times are."""
    base, new = _base_and_everything_slower(tmp_path, "drift", 1.07)
    comparison = compare(read_results(base), read_results(new))
    assert 1.03 < comparison.host_factor < 1.11
    assert not comparison.failed
    assert all(c.flag == SAME for c in comparison.changes if c.p_value is not None)
    raw = compare(read_results(base), read_results(new), normalise=False)
    assert raw.host_factor == 1.0 and any(c.flag != SAME for c in raw.changes if c.p_value is not None)
    assert compare_main([str(base), str(new)]) == EXIT_OK
    assert "Host speed factor" in capsys.readouterr().out


def test_compare_fails_when_everything_is_slower_beyond_the_threshold(tmp_path, capsys):
    base, new = _base_and_everything_slower(tmp_path, "global", 1.3)
    comparison = compare(read_results(base), read_results(new))
    assert comparison.global_regression and comparison.failed
    assert compare_main([str(base), str(new)]) == EXIT_REGRESSION
    assert "global regression ✗" in capsys.readouterr().out


# ------------------------------------------------------------------ compare as a gate


def test_compare_fails_when_new_lacks_cases_of_base(tmp_path, capsys):
    """NEW measured one case of BASE (a narrow run): the gate fails and says how many are missing; with
    --allow-subset (a deliberate subset) it passes. The planted fault is the old gate, which passed."""
    records = synthetic_records(np.random.default_rng(0))
    kept = records[0].case_id
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, [r for r in records if r.case_id == kept])
    missing = len({r.case_id for r in records}) - 1
    comparison = compare(read_results(base), read_results(new))
    assert len(comparison.missing_cases) == missing and comparison.failed
    assert compare_main([str(base), str(new)]) == EXIT_REGRESSION
    out = capsys.readouterr().out
    first = out.splitlines()[2]
    assert first.startswith("**FAIL ✗**") and f"{missing} cases of BASE missing from NEW" in first
    assert compare_main([str(base), str(new), "--allow-subset"]) == EXIT_OK
    assert f"1 of the {missing + 1} cases of BASE measured in NEW ({missing} missing, allowed" in (
        capsys.readouterr().out)


@pytest.mark.parametrize("empty", ["base", "new"])
def test_compare_refuses_a_file_without_records(tmp_path, capsys, empty):
    full = write_results(tmp_path / "full.json", "env", 0)
    none = write_results(tmp_path / "none.json", "env", 0, [])
    argv = [str(none), str(full)] if empty == "base" else [str(full), str(none)]
    assert compare_main(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.splitlines() == [
        f"python -m suite compare: error: {none}: holds no records; nothing to compare"]


def test_compare_summary_comes_first_and_the_table_lists_only_what_changed(tmp_path, capsys):
    rng = np.random.default_rng(derive_seed("report", "summary"))
    records = synthetic_records(rng)
    target = "bench_strategy[Normal-None-parametrize_module-False-10000-cpu]"
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, slowed(records, target, 1.3, rng))
    assert compare_main([str(base), str(new)]) == EXIT_REGRESSION
    out = capsys.readouterr().out
    assert out.splitlines()[2].startswith("**FAIL ✗**: 1 significant regressions beyond 10%")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "bench_" in line]
    assert len(rows) == 1 and target in rows[0]
    assert compare_main([str(base), str(new), "--all"]) == EXIT_REGRESSION
    every = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "bench_" in line]
    assert len(every) == len(records)


def test_compare_says_when_a_run_was_measured_under_heavy_load(tmp_path, capsys):
    records = synthetic_records(np.random.default_rng(0))
    base = write_results(tmp_path / "base.json", "env", 0, records)
    new = write_results(tmp_path / "new.json", "env", 0, [replace(r, cpu_share=0.3) for r in records])
    compare_main([str(base), str(new)])
    assert "NEW was measured under heavy load (its process got as little as 30% of a core)" in (
        capsys.readouterr().out)
    compare_main([str(base), str(base)])  # the planted fault: quiet runs, no such line
    assert "heavy load" not in capsys.readouterr().out

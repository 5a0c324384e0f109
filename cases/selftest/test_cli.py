"""The command line: one-line errors, exit status, progress, closed pipes, --version, the program name; and
STRATEGIES.md against what its command writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from suite.cli import main, program_name
from suite.cli import strategies as cli_strategies
from suite.registry.families import FAMILIES
from suite.report import strategies as report_strategies

REPO = Path(__file__).resolve().parents[2]
STRATEGIES_MD = REPO / "reports" / "STRATEGIES.md"


def strategies(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["strategies", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_unknown_family_is_one_line_listing_the_choices(capsys):
    status, out, err = strategies(capsys, "--family", "Nrmal")
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert "unknown family 'Nrmal'" in line and "did you mean Normal?" in line
    assert all(f.name in line for f in FAMILIES)


@pytest.mark.parametrize("name,expected", [("tpu", "unknown device 'tpu'; choose from cpu, cuda"),
                                             ("cuda", "--device cuda: no CUDA device")])
def test_bad_device_is_one_line(capsys, name, expected):
    import torch
    if name == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    status, out, err = strategies(capsys, "--device", name, "--family", "Exponential")
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and expected in err


@pytest.mark.parametrize("steps", ["0", "-3", "many"])
def test_steps_must_be_a_positive_whole_number(capsys, steps):
    with pytest.raises(SystemExit) as exit_:
        main(["strategies", "--steps", steps])
    assert exit_.value.code == 2
    assert "argument --steps" in capsys.readouterr().err


def test_progress_goes_to_stderr_and_the_table_to_stdout(capsys):
    status, out, err = strategies(capsys, "--family", "Bernoulli", "--family", "Geometric", "--steps", "2")
    assert status == 0
    assert err.startswith("[1/2] Bernoulli") and "[2/2] Geometric" in err
    assert out.startswith("family | transform") and "[1/2]" not in out


def test_a_known_finding_does_not_fail_but_an_unexpected_row_does(monkeypatch, capsys):
    wishart_kl = {"family": "Wishart", "transform": "exp", "loss": "kl", "strategy": "constraint_module",
                  "verdict": "error", "steps": 0, "final": None, "cause": "in-place"}
    passing = dict(wishart_kl, family="Normal", verdict="pass")
    monkeypatch.setattr(cli_strategies, "verdict_rows", lambda *a, **k: [wishart_kl, passing])
    status, _, err = strategies(capsys, "--quiet")
    assert status == 0 and "known torch findings" in err
    broken = dict(passing, verdict="stale")  # planted: a correct strategy that trained a stale copy
    monkeypatch.setattr(cli_strategies, "verdict_rows", lambda *a, **k: [wishart_kl, broken])
    status, _, err = strategies(capsys, "--quiet")
    assert status == 1 and "unexpected: Normal exp kl constraint_module: stale" in err


def test_a_closed_pipe_ends_quietly():
    # a command that writes far more than a pipe buffer holds, so the writes meet the closed pipe
    code = ("import sys; from suite.cli import COMMANDS, main; "
            "COMMANDS['flood'] = (lambda argv: [print('x' * 99) for _ in range(20000)] and 0, 'planted'); "
            "sys.exit(main(['flood']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away, as `| head -c 10` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("distsuite 0.1.0 (torch ")


@pytest.mark.parametrize("argv0,expected", [("/venv/bin/distsuite", "distsuite"), ("/repo/suite/__main__.py",
                                                                                     "python -m suite")])
def test_help_names_the_program_as_called(monkeypatch, capsys, argv0, expected):
    monkeypatch.setattr(sys, "argv", [argv0])
    assert program_name() == expected
    with pytest.raises(SystemExit):
        main(["strategies", "--help"])
    assert capsys.readouterr().out.startswith(f"usage: {expected} strategies")


def test_committed_strategies_summary_counts_its_own_rows():
    """Default tier: the summary table of the committed STRATEGIES.md is the one its raw rows give."""
    text = STRATEGIES_MD.read_text(encoding="utf-8")
    header = report_strategies.RAW_HEADER
    rows = []
    for cells in report_strategies.raw_rows_of(text):
        row = dict(zip(header, cells))
        if row["verdict"] != "not fittable":
            row["mle_ok"] = False if row["mle_err"].endswith("FAIL") else None
        rows.append(row)
    assert len(rows) > 100
    assert report_strategies.summary_table(rows) in text


def test_committed_strategies_rows_match_a_fresh_run_for_one_family():
    """Default tier: Exponential's rows (cheap) of the committed file equal a fresh run's."""
    exponential = [f for f in FAMILIES if f.name == "Exponential"]
    fresh = report_strategies.format_table(cli_strategies.verdict_rows(exponential)).splitlines()[2:]
    committed = [" | ".join(cells) for cells in report_strategies.raw_rows_of(STRATEGIES_MD.read_text("utf-8"))
                 if cells[0] == "Exponential"]
    assert fresh == committed


@pytest.mark.slow
def test_committed_strategies_file_is_what_its_command_writes(tmp_path):
    """Slow tier (several minutes): the whole file, regenerated by its documented command."""
    out = tmp_path / "STRATEGIES.md"
    assert main(["strategies", "--quiet", "--markdown", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == STRATEGIES_MD.read_text(encoding="utf-8")

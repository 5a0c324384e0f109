"""Reports from synthetic results files: rendering, merging, findings, re-rendering, the words and columns beside
the numbers, and the workflows' lint."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from synthetic_results import REPO, run, synthetic_records, write_results

import suite.report
from suite.bench.results import Record
from suite.cli.report import EXIT_OK, report_main
from suite.report import read_results, render
from suite.state import derive_seed


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    path = write_results(tmp_path_factory.mktemp("one") / "cpu-env" / "results.json", "cpu-env",
                         derive_seed("report", "single"))
    render([path], path.parent)
    return path.parent / "README.md"


def report_text(readme: Path) -> str:
    """The front page and every detail page of a report, in one text."""
    return "\n".join(p.read_text() for p in sorted(readme.parent.glob("*.md")))


def table_rows_with(text: str, *needles: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|") and all(n in line for n in needles)]


def test_render_shows_every_group_environment_and_plots(single):
    text = report_text(single)
    for heading in ("## Environments", "# Training step per strategy", "# Jacobian methods",
                    "# Throughput of log_prob, rsample and sample", "# Memory probes", "## Findings",
                    "### Normal", "### MultivariateNormal"):
        assert heading in text
    assert "| id | cpu-env |" in text
    links = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.svg)\)", text)
    assert any("scaling-strategy-step" in link for link in links)
    assert any("answer-strategies" in link for link in links) and any("answer-jacobian" in link for link in links)
    assert any("phases-strategy-step-normal" in link for link in links)
    for link in links:
        root = ET.parse(single.parent / link).getroot()
        assert root.tag.endswith("svg")
    assert sorted(p.name for p in (single.parent / "plots").iterdir()) == sorted(Path(link).name for link in links)


def test_wrong_strategy_is_marked_beside_its_numbers(single):
    text = report_text(single)
    stale_rows = table_rows_with(text, "| retain_graph |")
    assert stale_rows and all("**stale ✗**" in row for row in stale_rows)
    assert all("pass ✓" in row for row in table_rows_with(text, "| parametrize_module |"))
    assert "## Wrong results" in text and "retain_graph" in text.split("## Wrong results")[1].split("##")[0]
    svg = (single.parent / "plots" / "scaling-strategy-step-cpu-float32.svg").read_text()
    assert "retain_graph ✗ stale" in svg


def test_ratios_are_taken_against_the_baseline(single):
    text = report_text(single)
    baseline = [row for row in table_rows_with(text, "| rebuild_per_step |") if "×" in row]
    assert len(baseline) == 8 and all("| 1.00× |" in row for row in baseline)
    constraint = table_rows_with(text, "| constraint_module |", "| 1e4 |", "×")
    assert constraint and all(re.search(r"\| 1\.9\d×|\| 2\.0\d×", row) for row in constraint)
    jacrev = table_rows_with(text, "| jacrev |", "×")
    assert jacrev and all(re.search(r"\| 0\.(09|10|11)×", row) for row in jacrev)


def test_failed_measurements_are_shown_not_dropped(single):
    text = report_text(single)
    assert "**out of memory**" in text
    assert "BackendCompilerFailed: inductor \\| raised" in text
    assert "7.63 MiB" in text


def test_front_page_answers_the_three_questions_within_60_lines(single):
    head = "\n".join(single.read_text().splitlines()[:60])
    for question in ("## 1. Which training strategy", "## 2. Which per-sample Jacobian method", "## 3. What is wrong"):
        assert question in head
    assert "**Do not use `retain_graph`**: it is stale in 8 of 8 configurations" in head
    assert re.search(r"\| `constraint_module` \| correct \(8/8 ✓\) \| (1\.9\d|2\.0\d)×", head)
    # JACOBIAN_COST: vmap_grad is the fastest at every size, 20x faster than the loop
    assert "**Use `vmap_grad`**: fastest at 4 of 4 sizes" in head
    assert re.search(r"\| 1000 \| 16 \| `vmap_grad` \| [0-9.]+ ms \| not measured \| [0-9.]+ ms \(19\.\d× slower\)",
                     head)


def test_merge_gives_one_column_per_environment(tmp_path):
    rng = np.random.default_rng(derive_seed("report", "merge"))
    first = write_results(tmp_path / "a" / "results.json", "linux-cpu", 1)
    gpu_records = synthetic_records(rng, device="cuda")[:12]
    second = write_results(tmp_path / "b" / "results.json", "linux-gpu", 2, gpu_records, gpu="Synthetic GPU")
    assert report_main([str(first), str(second), "--out", str(tmp_path / "merged")]) == EXIT_OK
    text = report_text(tmp_path / "merged" / "README.md")
    assert "| id | linux-cpu | linux-gpu |" in text
    assert "| gpu | — | Synthetic GPU |" in text
    page = (tmp_path / "merged" / "strategy-step.md").read_text()
    header = next(line for line in page.splitlines() if line.startswith("|") and "| strategy |" in line)
    assert header.endswith("| E1 | E2 |")
    front = (tmp_path / "merged" / "README.md").read_text()
    assert "### E1: linux-cpu" in front and "### E2: linux-gpu" in front
    cpu_only = table_rows_with(text, "| cpu |", "| constraint_module |", " · ")
    assert cpu_only and all(row.rstrip(" |").endswith("—") for row in cpu_only)
    both = [p.name for p in (tmp_path / "merged" / "plots").iterdir()]
    assert any(name.endswith("-e1.svg") for name in both) and any(name.endswith("-e2.svg") for name in both)


def test_render_error_leaves_the_output_directory_as_it_was(tmp_path, monkeypatch):
    path = write_results(tmp_path / "env" / "results.json", "env", 0)
    (tmp_path / "env" / "README.md").write_text("previous report\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    calls = []

    def failing_write(fig, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        fig.savefig(target, format="svg")

    monkeypatch.setattr(suite.report, "write_svg", failing_write)
    with pytest.raises(OSError):
        render([path], path.parent)
    assert len(calls) == 2
    assert (tmp_path / "env" / "README.md").read_text() == "previous report\n"
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == ["README.md", "results.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_rerender_replaces_report_and_keeps_other_files(tmp_path):
    records = synthetic_records(np.random.default_rng(0))[-2:]
    path = write_results(tmp_path / "env" / "results.json", "env", 0, records)
    (tmp_path / "env" / "plots").mkdir()
    (tmp_path / "env" / "plots" / "stale.svg").write_text("<svg/>")
    (tmp_path / "env" / "notes.txt").write_text("kept")
    (tmp_path / "env" / "raw").mkdir()
    (tmp_path / "env" / "raw" / "run.log").write_text("kept too")
    render([path], path.parent, findings=None)
    assert (tmp_path / "env" / "notes.txt").read_text() == "kept"
    assert (tmp_path / "env" / "raw" / "run.log").read_text() == "kept too"
    assert not (tmp_path / "env" / "plots" / "stale.svg").exists()
    assert read_results(path).records == records
    assert "No findings document" in (tmp_path / "env" / "README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]


def test_report_links_findings_inside_reports_and_carries_them_outside(tmp_path):
    findings = tmp_path / "reports" / "FINDINGS.md"
    findings.parent.mkdir()
    findings.write_text("# findings\n")
    path = write_results(findings.parent / "env" / "results.json", "env", 0,
                         synthetic_records(np.random.default_rng(0))[-2:])
    render([path], path.parent, findings=findings)
    assert "[FINDINGS.md](../FINDINGS.md)" in (path.parent / "README.md").read_text()
    render([path], tmp_path / "site", findings=findings)
    assert "[FINDINGS.md](FINDINGS.md)" in (tmp_path / "site" / "README.md").read_text()
    assert (tmp_path / "site" / "FINDINGS.md").read_text() == "# findings\n"


def actionlint_binary() -> str | None:
    return shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))


BROKEN_WORKFLOW = """\
on: push
jobs:
  x:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ matrix.nothing }}
"""


@pytest.mark.skipif(actionlint_binary() is None,
                    reason="actionlint is not installed (no actionlint on PATH or beside the Python executable)")
def test_workflows_pass_actionlint(tmp_path):
    binary = actionlint_binary()
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert workflows
    proc = run([binary, "-no-color", *map(str, workflows)], REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    proc = run([binary, "-no-color", str(broken)], tmp_path)
    assert proc.returncode != 0 and "matrix" in proc.stdout


@pytest.mark.parametrize("verdict,passes", [
    ("pass", True), ("agree (rel err 2.3e-07)", True), ("reference", True), ("exact", True),
    ("stale", False), ("error", False), ("disagree: max |difference| 0.1", False),
    ("disagree (rel err 1.0e-02)", False), ("measured 10 of 12 bytes", False), (None, None),
])
def test_verdict_words_the_benchmarks_write_are_classified(verdict, passes):
    from suite.report.fmt import verdict_passes
    assert verdict_passes(verdict) is passes


def test_the_passes_column_says_how_many_passes_were_set_aside():
    from suite.report.markdown import passes_text

    record = Record("case", "throughput", "sample", "cpu", "float64", 1, samples_s=[1.0] * 6, passes=3)
    assert passes_text(record) == "3"
    assert passes_text(replace(record, set_aside_samples_s=[2.0, 2.0], set_aside_passes=2)) == "3 of 5"
    assert passes_text(replace(record, passes=None)) == ""

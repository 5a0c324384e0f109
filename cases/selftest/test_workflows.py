"""The GitHub workflows behave on GitHub as intended: each property is a check on the workflow text, shown to hold
for the committed files and to fail for a planted fault (the defect it guards against)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
BENCH = (WORKFLOWS / "bench.yml").read_text(encoding="utf-8")
CI = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")


def job(text: str, name: str) -> str:
    """The text of one job: from `  name:` to the next job at the same indentation."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text, flags=re.S | re.M)
    assert match, f"no job {name!r}"
    return match.group(1)


def steps(job_text: str) -> list[str]:
    return re.split(r"^      - ", job_text, flags=re.M)[1:]


def step(job_text: str, needle: str) -> tuple[int, str]:
    for i, text in enumerate(steps(job_text)):
        if needle in text:
            return i, text
    raise AssertionError(f"no step containing {needle!r}")


def matrix_values(job_text: str, key: str) -> list[str]:
    match = re.search(rf"^\s+{key}: \[(.*)\]", job_text, flags=re.M)
    return [v.strip().strip('"') for v in match.group(1).split(",")] if match else []


def scheduled_runs_publish(bench: str, ci: str) -> list[str]:
    problems = []
    if "schedule:" not in bench:
        problems.append("no schedule trigger")
    if "github.event.repository" in bench:
        problems.append("reads github.event.repository, absent on schedule events")
    _, publish = step(job(bench, "report"), "actions-gh-pages")
    condition = re.search(r"^\s+if: (.*)$", publish, flags=re.M)
    if condition and "refs/heads/main" not in condition.group(1):
        problems.append(f"publish condition {condition.group(1)!r} does not hold on a scheduled run of main")
    return problems


def windows_legs_run(bench: str, ci: str) -> list[str]:
    problems = []
    for name, text in (("bench cpu", job(bench, "cpu")), ("ci tests", job(ci, "tests"))):
        if "windows-latest" not in matrix_values(text, "os"):
            problems.append(f"{name}: no Windows leg")
        for body in steps(text):
            if "run: |" in body and "shell: bash" not in body:
                problems.append(f"{name}: a multi-line script without `shell: bash` runs in PowerShell on Windows")
    for path in (*REPO.joinpath("suite").rglob("*.py"), *REPO.joinpath("cases").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path.name != Path(__file__).name and "os.sysconf(" in source and 'hasattr(os, "sysconf")' not in source:
            problems.append(f"{path.relative_to(REPO)}: os.sysconf without a guard (absent on Windows)")
    return problems


def failed_leg_does_not_block(bench: str, ci: str) -> list[str]:
    problems = []
    cpu, report = job(bench, "cpu"), job(bench, "report")
    if "fail-fast: false" not in cpu:
        problems.append("one failed leg cancels the others")
    if re.search(r"needs\.\w+\.result == 'success'", report.split("steps:")[0]):
        problems.append("the report job waits for every leg to succeed")
    if "!cancelled()" not in report.split("steps:")[0]:
        problems.append("the report job is skipped when a leg fails")
    for needle in ("upload-artifact", "Collect the results.json"):
        _, body = step(cpu, needle)
        if "!cancelled()" not in body and "always()" not in body:
            problems.append(f"a failed leg does not upload its outcome ({needle})")
    if "outcome.txt" not in report:
        problems.append("the report does not list each leg's outcome")
    return problems


def compare_gates_publishing(bench: str, ci: str) -> list[str]:
    report = job(bench, "report")
    compare_at, compare = step(report, "suite compare")
    publish_at, publish = step(report, "actions-gh-pages")
    problems = []
    if compare_at > publish_at:
        problems.append("publishes before comparing with the last published run")
    if re.search(r"always\(\)|failure\(\)|!cancelled\(\)", publish):
        problems.append("publishes even when the comparison failed")
    if "continue-on-error" in compare:
        problems.append("a regression does not fail the job")
    if 'exit "$status"' not in compare:
        problems.append("the comparison's exit status is dropped")
    return problems


def cache_keys_name_torch(bench: str, ci: str) -> list[str]:
    problems = []
    for name, text in (("bench", bench), ("ci", ci)):
        if re.search(r"^\s+cache: pip", text, flags=re.M):
            problems.append(f"{name}: setup-python's pip cache is keyed on pyproject.toml only")
        for key in re.findall(r"^\s+key: (.*)$", text, flags=re.M):
            if "matrix.torch" not in key:
                problems.append(f"{name}: cache key {key!r} ignores the torch version")
    return problems


def bench_uses_ci_torch(bench: str, ci: str) -> list[str]:
    tested, benched = matrix_values(job(ci, "tests"), "torch"), matrix_values(job(bench, "cpu"), "torch")
    problems = [] if tested and benched == tested else [f"bench torch {benched} differs from ci torch {tested}"]
    _, install = step(job(bench, "cpu"), "pip install")
    if "torch==${{ matrix.torch }}" not in install:
        problems.append("bench installs a torch the matrix does not name")
    return problems


def history_is_kept(bench: str, ci: str) -> list[str]:
    problems = []
    if "keep_files: true" not in bench:
        problems.append("publishing replaces the branch, losing earlier runs")
    if "suite history add" not in bench or "previous/history.json" not in bench:
        problems.append("the history file does not carry over from the last published run")
    return problems


CHECKS = {check.__name__: check for check in (scheduled_runs_publish, windows_legs_run, failed_leg_does_not_block,
                                              compare_gates_publishing, cache_keys_name_torch, bench_uses_ci_torch,
                                              history_is_kept)}

# The defect each check guards against, planted in the committed text: (check, file, old, new).
PLANTED = [
    ("scheduled_runs_publish", "bench", "if: github.ref == 'refs/heads/main'",
     "if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"),
    ("windows_legs_run", "bench", "        os: [ubuntu-latest, macos-latest, windows-latest]",
     "        os: [ubuntu-latest, macos-latest]"),
    ("windows_legs_run", "ci", "        shell: bash\n        run: |\n          python -m pip install --upgrade pip",
     "        run: |\n          python -m pip install --upgrade pip"),
    ("failed_leg_does_not_block", "bench", "    if: ${{ !cancelled() }}\n    runs-on: ubuntu-latest",
     "    if: ${{ !cancelled() && needs.cpu.result == 'success' }}\n    runs-on: ubuntu-latest"),
    ("compare_gates_publishing", "bench", "        if: github.ref == 'refs/heads/main'",
     "        if: always() && github.ref == 'refs/heads/main'"),
    ("cache_keys_name_torch", "ci", "-torch${{ matrix.torch }}", ""),
    ("bench_uses_ci_torch", "bench", 'torch: ["2.9.1", "2.13.0"]', 'torch: ["2.13.0"]'),
    ("history_is_kept", "bench", "keep_files: true", "keep_files: false"),
]


@pytest.mark.parametrize("name", CHECKS)
def test_committed_workflows_have_the_property(name):
    assert CHECKS[name](BENCH, CI) == []


@pytest.mark.parametrize("name,file,old,new", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
def test_planted_workflow_defect_is_caught(name, file, old, new):
    text = {"bench": BENCH, "ci": CI}[file]
    assert old in text, f"the planted fault's anchor is gone from {file}.yml: {old!r}"
    planted = text.replace(old, new)
    bench, ci = (planted, CI) if file == "bench" else (BENCH, planted)
    assert CHECKS[name](bench, ci)


def test_every_check_has_a_planted_fault():
    assert {p[0] for p in PLANTED} == set(CHECKS)

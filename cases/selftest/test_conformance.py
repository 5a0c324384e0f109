"""parametrize_with_checks on a user's own distribution (the README's example, run as written) and a family
registered at run time reaching every check and benchmark of the suite with no other edit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from suite.conformance import expect
from suite.verdict import FAIL, PASS, XFAIL, Verdict

REPO = Path(__file__).resolve().parents[2]
README_EXAMPLE = next(block for block in re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(),
                                                    flags=re.S) if "parametrize_with_checks" in block)

PLANTED = '''

import dataclasses


class OffLogProb(MyExponential):
    def log_prob(self, value):
        return super().log_prob(value) + 1e-4


class WideDraws(MyExponential):
    def rsample(self, sample_shape=torch.Size()):
        return 1.05 * super().rsample(sample_shape)


@parametrize_with_checks([dataclasses.replace(MY_EXPONENTIAL, name="OffLogProb", torch_cls=OffLogProb),
                          dataclasses.replace(MY_EXPONENTIAL, name="WideDraws", torch_cls=WideDraws)])
def test_planted(family, check):
    check(family)
'''


def outcomes(result) -> dict[str, str]:
    """Case id (the part in brackets) -> passed / failed / skipped, as the in-process run reported it."""
    found = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            found[report.nodeid.split("[", 1)[1].rstrip("]")] = report.outcome
    return found


def test_readme_example_passes_and_each_planted_fault_fails(pytester):
    pytester.makepyfile(test_user=README_EXAMPLE + PLANTED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "ignore::UserWarning", "-k",
                                          "MyExponential or (OffLogProb and log_prob) or (WideDraws and sampler)")
    found = outcomes(result)
    mine = {case: outcome for case, outcome in found.items() if case.startswith("MyExponential-")}
    assert len(mine) >= 15 and set(mine.values()) <= {"passed", "skipped"}, mine
    assert mine["MyExponential-mode"] == "skipped"  # not implemented: skipped with the reason, not failed
    assert found["OffLogProb-log_prob"] == "failed", found
    assert found["WideDraws-sampler.sample"] == "failed", found
    assert found["WideDraws-sampler.rsample"] == "failed", found


REGISTER_PLUGIN = '''
import torch.distributions as D
from scipy import stats

from suite.registry.families import REGISTRY, register
from suite.registry.family import Family


class RuntimeNormal(D.Normal):
    """A new family, defined here and nowhere else."""


def pytest_configure(config):
    if "RuntimeNormal" not in REGISTRY:  # one registration per test, however many runs it makes
        register(Family("RuntimeNormal", RuntimeNormal,
                        lambda rng, n: {"loc": rng.normal(size=n), "scale": 10 ** rng.uniform(-1, 1, n)},
                        lambda p: stats.norm(p["loc"], p["scale"]), invalid=({"scale": -1.0},)))
'''


def test_a_family_registered_at_run_time_reaches_every_check(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    pytester.makepyfile(register_runtime_normal=REGISTER_PLUGIN)
    monkeypatch.syspath_prepend(pytester.path)
    def collected(folder: Path, *options: str) -> set[str]:
        # A fresh process: the case modules build their parameter lists from the registry when imported.
        result = pytester.runpytest_subprocess(str(folder), "-p", "register_runtime_normal", *options,
                                              "-p", "no:cacheprovider", "--collect-only", "-q", "--rootdir", str(REPO))
        return {line.split("::")[0].rsplit("/", 1)[-1] for line in result.outlines if "RuntimeNormal" in line}

    distributions = REPO / "cases" / "distributions"
    # Every file of distribution cases is generated from the family registry but these, which are about other
    # parts of torch.distributions (transforms, constraints, KL pairs), specific torch behaviours, or sweep every
    # family inside one case per kind of check (the slow tier's seed sweep).
    not_per_family = {"test_torch_behaviours.py", "test_transforms.py", "test_constraints.py", "test_kl.py",
                      "test_seed_sweep.py"}
    over_every_family = {path.name for path in distributions.glob("test_*.py")} - not_per_family
    assert collected(distributions) == over_every_family
    assert collected(REPO / "cases" / "benchmarks", "--benchmark") == {"bench_throughput.py", "bench_modes.py"}


def test_expect_fails_on_any_failure_before_it_xfails():
    with pytest.raises(pytest.fail.Exception, match="new error"):
        expect(Verdict(XFAIL, "known"), Verdict(FAIL, "new error"), Verdict(PASS, "fine"))
    with pytest.raises(pytest.xfail.Exception, match="known"):
        expect(Verdict(PASS, "fine"), Verdict(XFAIL, "known"))
    expect(Verdict(PASS, "fine"))

"""Conformance checks for any torch.distributions family, the registry's and a user's own alike.

`parametrize_with_checks(families)` gives one pytest case per (family, check); each check is a callable
`check(family, dtype=..., device=..., rng=...)` that runs one pure check of `suite.checks`, judges it with the
family's known deviations and passes, fails, xfails or skips with the reason it does not apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from suite.checks.result import CheckResult, failed
from suite.checks.values import VALUE_METHODS
from suite.registry.family import Family, dtype_name
from suite.verdict import FAIL, XFAIL, Verdict, judge

N_PARAMETER_SETS = 1000
SHAPES_BATCH = (2, 3)


def expect(*verdicts: Verdict) -> None:
    """Fail, xfail or return, as the verdicts say: any failure fails, else any expected failure xfails."""
    for status, act in ((FAIL, lambda text: pytest.fail(text, pytrace=False)), (XFAIL, pytest.xfail)):
        messages = [v.message for v in verdicts if v.status == status]
        if messages:
            act(" | ".join(messages))


Run = Callable[[Family, torch.dtype, str, np.random.Generator], CheckResult]


@dataclass(frozen=True)
class Check:
    """One conformance check: its name (the known deviations it answers to), what it runs, and when it does
    not apply (`skip` returns the reason, or None)."""

    name: str
    run: Run
    skip: Callable[[Family], str | None] = lambda family: None

    def __call__(self, family: Family, dtype: torch.dtype = torch.float64, device: str = "cpu",
                 rng: np.random.Generator | None = None) -> None:
        reason = self.skip(family)
        if reason:
            pytest.skip(f"{self.name} does not apply to {family.name}: {reason}")
        rng = rng if rng is not None else np.random.default_rng(0)
        try:
            result = self.run(family, dtype, device, rng)
        except NotImplementedError as error:
            pytest.skip(f"{family.name} does not implement what {self.name} needs: {error or 'NotImplementedError'}")
        except Exception as error:  # noqa: BLE001 - what torch raised is the check's result
            result = failed(self.name, family.name, dtype_name(dtype), f"raises {type(error).__name__}: {error}")
        expect(judge(result, family.known_for(self.name, dtype, device)))

    def __repr__(self) -> str:
        return self.name


def _value(method: str) -> Run:
    def run(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
        from suite.checks.values import check_method
        return check_method(family, method, family.draw(rng, N_PARAMETER_SETS), dtype, device, rng)
    return run


def _support(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
    from suite.checks.values import check_support
    return check_support(family, family.draw(rng, N_PARAMETER_SETS), dtype, device, rng)


def _invalid(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
    from suite.checks.values import check_invalid_params
    return check_invalid_params(family, rng, device)


def _shapes(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
    from suite.checks import shapes
    found = shapes.check_shapes(family, SHAPES_BATCH, dtype, device, rng)
    if found.passed and dtype == torch.float64:
        found = shapes.check_values(family, SHAPES_BATCH, device, rng)
    return dataclasses.replace(found, check="shapes", family=family.name, dtype=dtype_name(dtype))


def _sampler(method: str) -> Run:
    def run(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
        from suite.checks.sampling import goodness_of_fit
        return goodness_of_fit(family, method, dtype, device, rng)
    return run


def _grad(kind: str) -> Run:
    def run(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
        from suite.checks import rsample_grad as G
        if kind == "flow":
            found = [G.flow(family, dtype, device, rng)]
        else:
            found = [G.pathwise(family, name, device, rng) for name in G.pathwise_parameters(family)]
        wrong = [r for r in found if not r.passed]
        return CheckResult(f"rsample.{kind}", family.name, dtype_name(dtype), passed=not wrong, compared=len(found),
                           failures=len(wrong), message="; ".join(r.summary() for r in wrong or found))
    return run


def _strategies(family: Family, dtype: torch.dtype, device: str, rng: np.random.Generator) -> CheckResult:
    from suite.training import compare_strategies, fit_spec
    verdicts = compare_strategies(fit_spec(family), device, dtype, loss="mle", steps=3, n_samples=64, seed=3)
    wrong = [v for v in verdicts if (v.verdict == "pass") == (v.strategy == "retain_graph")]
    return CheckResult("strategies", family.name, dtype_name(dtype), passed=not wrong, compared=len(verdicts),
                       failures=len(wrong), message="; ".join(map(str, wrong)))


def _no_rsample(family: Family) -> str | None:
    return None if family.has_rsample else "it has no rsample"


def _no_invalid(family: Family) -> str | None:
    return None if family.invalid else "its entry lists no invalid parameters (Family.invalid)"


def _not_trainable(family: Family) -> str | None:
    from suite.training import fittable
    trainable, why = fittable(family)
    return None if trainable else why


def _no_pathwise(family: Family) -> str | None:
    from suite.checks.rsample_grad import pathwise_parameters
    return _no_rsample(family) or (None if pathwise_parameters(family) else "no parameter has a draw-by-draw "
                                   "pathwise reference")


CHECKS: tuple[Check, ...] = (
    *(Check(method, _value(method)) for method in VALUE_METHODS),
    Check("support", _support),
    Check("invalid_params", _invalid, _no_invalid),
    Check("shapes", _shapes),
    Check("sampler.sample", _sampler("sample")),
    Check("sampler.rsample", _sampler("rsample"), _no_rsample),
    Check("rsample.flow", _grad("flow"), _no_rsample),
    Check("rsample.pathwise", _grad("pathwise"), _no_pathwise),
    Check("strategies", _strategies, _not_trainable),
)


def parametrize_with_checks(families: Sequence[Family], checks: Sequence[Check] = CHECKS) -> pytest.MarkDecorator:
    """A pytest parametrisation over every (family, check): the test takes `family` and `check` and calls
    `check(family)`."""
    return pytest.mark.parametrize("family, check", [pytest.param(family, check, id=f"{family.name}-{check.name}")
                                                     for family in families for check in checks])

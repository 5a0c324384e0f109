"""Judging the per-sample Jacobians of `suite.checks.jacobian`: a method's Jacobian against the reference's
(normwise relative error, symmetric-matrix parameters symmetrised), whether a method is supported exactly where
the registry records it, and the known deviations that apply to each check."""

from __future__ import annotations

import math

import numpy as np
import torch

from suite.checks.jacobian import (
    BASELINE_METHOD,
    METHODS,
    REFERENCE_METHOD,
    ComputedJacobian,
    Method,
    Problem,
    arg_constraints,
    differentiable_params,
)
from suite.checks.result import CheckResult
from suite.registry.families import Family, Unsupported
from suite.registry.known import Severity

RTOL = {torch.float64: 1e-10}  # other dtypes use the family's rtol for that dtype
SCORE = "score"  # the method's Jacobian against the reference (symmetric parameters symmetrised)
RAW_ENTRIES = "raw_entries"  # symmetric-matrix parameters entry by entry, not symmetrised


def compare(result: ComputedJacobian, reference: ComputedJacobian, rtol: float, batch_ndim: int,
            symmetric: tuple[str, ...] = (), check: str = SCORE) -> CheckResult:
    """Normwise relative error per parameter and batch element, over the samples and the parameter's
    own components: max |J - R| / max |R|; non-finite entries must be identical.

    Parameters named in `symmetric` are compared on symmetric matrices only: both Jacobians are
    symmetrised over the last two axes (the derivative along a symmetric perturbation is what is
    defined there; how it is split between the (i, j) and (j, i) entries is a convention). The result's
    max_rel_error is the largest such error, its worst["where"] the parameter (and batch element) it is at.
    """
    def outcome(worst: float, where: str) -> CheckResult:
        passed = worst <= rtol
        return CheckResult(f"jacobian.{check}", result.family, result.dtype, passed=passed, compared=1,
                           failures=int(not passed), max_rel_error=worst, worst={"where": where},
                           message=f"{result.method} against {reference.method}, rtol {rtol:g}")

    if not (result.ok and reference.ok):
        raise ValueError(f"cannot compare {result.method} ({result.status}) with "
                         f"{reference.method} ({reference.status})")
    worst, where = 0.0, "nowhere"
    for name, ref in reference.jacobian.items():
        got = result.jacobian[name].to(device="cpu", dtype=torch.float64)
        ref = ref.to(device="cpu", dtype=torch.float64)
        if got.shape != ref.shape:
            return outcome(math.inf, f"{name}: shape {tuple(got.shape)} != {tuple(ref.shape)}")
        if name in symmetric:
            got, ref = symmetrised(got), symmetrised(ref)
        finite = torch.isfinite(ref)
        if not torch.equal(got[~finite].nan_to_num(), ref[~finite].nan_to_num()) or not torch.isfinite(
                got[finite]).all():
            return outcome(math.inf, f"{name}: non-finite entries differ")
        batch = ref.shape[1:1 + batch_ndim].numel()
        diff = torch.where(finite, got - ref, 0.0).reshape(ref.shape[0], batch, -1).abs().amax(dim=(0, 2))
        scale = torch.where(finite, ref, 0.0).reshape(ref.shape[0], batch, -1).abs().amax(dim=(0, 2))
        rel = torch.where(diff == 0, 0.0, diff / scale)
        j = int(torch.argmax(rel))
        if float(rel[j]) > worst or where == "nowhere":
            worst, where = float(rel[j]), f"{name}[batch {j}]" if batch_ndim else name
    return outcome(worst, where)


def symmetrised(jacobian: torch.Tensor) -> torch.Tensor:
    return 0.5 * (jacobian + jacobian.transpose(-1, -2))


def symmetric_param_names(family: Family, names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Parameters (of `names`, default all differentiable ones) constrained to symmetric matrices,
    positive (semi)definite included, by the instance's arg_constraints."""
    constraints = arg_constraints(family)
    if names is None:
        names = differentiable_params(family, family.make_params(np.random.default_rng(0), 2))
    symmetric = type(torch.distributions.constraints.symmetric)
    return tuple(name for name in names if isinstance(constraints.get(name), symmetric))


def rtol_for(family: Family, dtype: torch.dtype) -> float:
    return RTOL.get(dtype, family.tolerance[dtype].rtol)


def check(problem: Problem, result: ComputedJacobian, reference: ComputedJacobian,
          symmetric: bool = True) -> CheckResult:
    """`compare` at this problem's tolerance, batch shape and symmetric parameters (the SCORE check), or with
    symmetric-matrix parameters entry by entry (the RAW_ENTRIES check)."""
    return compare(result, reference, rtol_for(problem.family, problem.x.dtype), problem.batch_ndim,
                   symmetric_param_names(problem.family, problem.wrt) if symmetric else (),
                   SCORE if symmetric else RAW_ENTRIES)


def reference_method(family: Family) -> str:
    """The analytic score where the table has one, else the Python loop."""
    return REFERENCE_METHOD if family.score is not None else BASELINE_METHOD


# --------------------------------------------------------------------------- expected support


def expected_unsupported(method: Method | str, family: Family, dtype: torch.dtype,
                         validate_args: bool | None) -> Unsupported | None:
    method = METHODS[method] if isinstance(method, str) else method
    if method.unsupported is not None:
        return method.unsupported
    if method.name == REFERENCE_METHOD and family.score is None:
        return Unsupported("no analytic score", "the registry entry names no analytic score")
    raises = [k for k in family.known_for("log_prob", dtype) if k.severity is Severity.RAISES]
    if raises:  # every method calls log_prob
        return Unsupported("", raises[0].what)
    entry = family.jacobian_unsupported.get(method.name)
    return entry if entry is not None and entry.applies(dtype, validate_args) else None


SUPPORTED = "jacobian.supported"  # the check that a method works exactly where the registry says it does


def check_status(result: ComputedJacobian, expected: Unsupported | None) -> CheckResult:
    """Is the method supported exactly where expected, failing with the expected error where not?"""
    def outcome(passed: bool, message: str) -> CheckResult:
        return CheckResult(SUPPORTED, result.family, result.dtype, passed=passed, compared=1,
                           failures=int(not passed), message=message)

    if expected is None:
        return outcome(result.ok, "ok" if result.ok else f"{result.method} raised {result.error}")
    if result.ok:
        return outcome(False, f"{result.method} now works; expected it to fail with '{expected.pattern}'")
    if expected.pattern not in (result.error or ""):
        return outcome(False, f"{result.method} failed differently: {result.error} (expected '{expected.pattern}')")
    return outcome(True, f"unsupported as recorded: {result.error}")


# --------------------------------------------------------------------------- known deviations



def known_for(check: str, method: Method | str, family: Family, dtype: torch.dtype) -> tuple:
    """The registry's known deviations of one Jacobian check ("jacobian.<check>.<AD mode>") for a method."""
    method = METHODS[method] if isinstance(method, str) else method
    return family.known_for(f"jacobian.{check}.{method.mode}", dtype)

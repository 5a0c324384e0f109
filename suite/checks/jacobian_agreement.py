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
from suite.checks.values import element_coords
from suite.registry.families import Family, ParamDict, Unsupported
from suite.registry.known import Severity
from suite.registry.scores import covariance_of

# float64: the scores are a few elementary functions (log, digamma, ...), each to a few ulps in the reference and
# in torch; 1e-10 (about 4.5e5 ulps) leaves room for the cancellation between their terms. Other dtypes use the
# family's rtol for that dtype.
RTOL = {torch.float64: 1e-10}
# float64 against an analytic score through a d x d covariance S (d/d S is 1/2 (S^-1 r r^T S^-1 - S^-1)): S^-1 from
# a backward-stable factorisation (Cholesky, LU) is accurate to about d * condition(S) * eps relative, in the
# reference and in torch alike (measured, d = 3: the reference and torch's MultivariateNormal within 3 condition(S)
# ulps of 40-digit values over 200 draws, every method within 2 d condition(S) ulps of the reference over 500).
# Where COVARIANCE_ULPS times d * condition(S) ulps exceeds RTOL (condition(S) above about 9e3 at d = 3), that is
# the tolerance.
COVARIANCE_ULPS = 16
SCORE = "score"  # the method's Jacobian against the reference (symmetric parameters symmetrised)
RAW_ENTRIES = "raw_entries"  # symmetric-matrix parameters entry by entry, not symmetrised


def compare(result: ComputedJacobian, reference: ComputedJacobian, rtol: float | np.ndarray, batch_ndim: int,
            symmetric: tuple[str, ...] = (), check: str = SCORE, params: ParamDict | None = None) -> CheckResult:
    """Normwise relative error per parameter and batch element, over the samples and the parameter's
    own components: max |J - R| / max |R|; non-finite entries must be identical.

    `rtol` is one tolerance or one per batch element. The result is element-wise: `ok` over (parameter, batch
    element), in the order of the reference's parameters, and `coords` each batch element's `params` (by name,
    the components of vector and matrix parameters as "name[i]", "name[i,j]"). Parameters named in `symmetric`
    are compared on symmetric matrices only: both Jacobians are symmetrised over the last two axes (the
    derivative along a symmetric perturbation is what is defined there; how it is split between the (i, j) and
    (j, i) entries is a convention). max_rel_error is the largest error, worst["where"] the parameter and batch
    element furthest beyond its tolerance (the largest error where none is).
    """
    if not (result.ok and reference.ok):
        raise ValueError(f"cannot compare {result.method} ({result.status}) with "
                         f"{reference.method} ({reference.status})")
    names = list(reference.jacobian)
    batch = reference.jacobian[names[0]].shape[1:1 + batch_ndim].numel() if names else 1
    tolerance = np.broadcast_to(np.asarray(rtol, dtype=np.float64), (batch,))
    errors = np.zeros((len(names), batch))
    reasons = {}
    for row, name in enumerate(names):
        got = result.jacobian[name].to(device="cpu", dtype=torch.float64)
        ref = reference.jacobian[name].to(device="cpu", dtype=torch.float64)
        if got.shape != ref.shape:
            errors[row], reasons[row] = math.inf, f"shape {tuple(got.shape)} != {tuple(ref.shape)}"
            continue
        if name in symmetric:
            got, ref = symmetrised(got), symmetrised(ref)
        got, ref = got.reshape(ref.shape[0], batch, -1), ref.reshape(ref.shape[0], batch, -1)
        finite = torch.isfinite(ref)
        agree = torch.where(finite, torch.isfinite(got), got.nan_to_num() == ref.nan_to_num()).all(2).all(0)
        diff = torch.where(finite, got - ref, 0.0).abs().amax(dim=(0, 2))
        scale = torch.where(finite, ref, 0.0).abs().amax(dim=(0, 2))
        rel = torch.where(diff == 0, 0.0, diff / scale)
        errors[row] = torch.where(agree, rel, math.inf).numpy()
        if not agree.all():
            reasons[row] = "non-finite entries differ"
    ok = errors <= tolerance
    where = "nowhere"
    if names:
        row, j = np.unravel_index(int(np.argmax(errors / tolerance)), ok.shape)
        where = f"{names[row]}[batch {j}]" if batch_ndim else names[row]
        if not np.isfinite(errors[row, j]):
            where += f": {reasons[row]}"
    span = f"{tolerance.min():g}" + (f" to {tolerance.max():g}" if np.ptp(tolerance) else "")
    return CheckResult(f"jacobian.{check}", result.family, result.dtype, passed=bool(ok.all()), compared=ok.size,
                       failures=int((~ok).sum()), max_rel_error=float(errors.max(initial=0.0)),
                       worst={"where": where}, message=f"{result.method} against {reference.method}, rtol {span}",
                       ok=ok, coords=element_coords(params or {}, ok.shape, 1))


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


def rtol_for(family: Family, dtype: torch.dtype, params: ParamDict | None = None) -> float | np.ndarray:
    """The tolerance of a Jacobian in dtype: in float64 RTOL, raised per parameter set where the family's analytic
    score goes through a covariance of `params` (see COVARIANCE_ULPS); other dtypes the family's rtol."""
    if dtype not in RTOL:
        return family.tolerance[dtype].rtol
    covariance = covariance_of(params) if params is not None and family.score is not None else None
    if covariance is None:
        return RTOL[dtype]
    condition = np.linalg.cond(covariance)
    return np.maximum(RTOL[dtype], COVARIANCE_ULPS * covariance.shape[-1] * condition * np.finfo(np.float64).eps)


def check(problem: Problem, result: ComputedJacobian, reference: ComputedJacobian,
          symmetric: bool = True) -> CheckResult:
    """`compare` at this problem's tolerance, batch shape and symmetric parameters (the SCORE check), or with
    symmetric-matrix parameters entry by entry (the RAW_ENTRIES check)."""
    params = problem.numpy_params()
    return compare(result, reference, rtol_for(problem.family, problem.x.dtype, params), problem.batch_ndim,
                   symmetric_param_names(problem.family, problem.wrt) if symmetric else (),
                   SCORE if symmetric else RAW_ENTRIES, params)


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

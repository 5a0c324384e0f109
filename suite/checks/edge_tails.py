"""Deep tails: log_prob, cdf and icdf at tail probabilities down to near the smallest normal number of the dtype.

The tail points are the reference's quantiles x = ppf(p) (lower tail) and isf(p) (upper tail) at the tail
probabilities p of TAIL_PROBABILITIES. scipy serves an element where its own round trip cdf(ppf(p)) = p
(sf(isf(p)) = p) holds to 1e-9; elsewhere the entry's mpmath reference (`Edges.tail_reference`) serves it
where one is declared, and otherwise the element is not compared (the message counts them). A torch value
of 0, -inf or NaN where the true value is representable fails; cdf is compared in log space, so that a
tail probability of 1e-300 is not matched by 0 within an absolute tolerance.
"""

from __future__ import annotations

import numpy as np
import torch

from suite.checks.edge_grid import Grid, matches
from suite.checks.edges import base_params, call, edges_of, torch_implements
from suite.checks.result import CheckResult
from suite.registry.family import Family, Tolerance, round_to

NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}
TAIL_PROBABILITIES = {torch.float64: np.array([1e-10, 1e-30, 1e-100, 1e-200, 1e-300]),
                      torch.float32: np.array([1e-10, 1e-20, 1e-30, 1e-37])}
ROUND_TRIP = 1e-9


def tail_not_applicable(family: Family) -> str | None:
    declared = edges_of(family).not_applicable.get("tail")
    if declared:
        return declared
    ref = family.reference(base_params(family))
    if ref.event_dim or not hasattr(ref, "frozen") or not hasattr(ref.frozen, "isf"):
        return "no univariate scipy reference with tail quantiles (ppf, isf)"
    return None


def _scipy_serves(frozen, x: np.ndarray, p: np.ndarray, upper: bool) -> np.ndarray:
    with np.errstate(all="ignore"):
        back = frozen.sf(x) if upper else frozen.cdf(x)
        return np.isfinite(x) & (np.abs(back / p - 1) <= ROUND_TRIP)


def check_tails(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """log_prob at both tails, cdf at the lower tail, icdf at the lower tail and at 1 - p down to eps."""
    params = round_to(base_params(family), dtype)
    ref = family.reference(params)
    frozen, n = ref.frozen, ref.n
    dist = family.instantiate(params, dtype=dtype, device=device, validate_args=False)
    mp = edges_of(family).tail_reference
    info = np.finfo(NUMPY_DTYPE[dtype])
    tol = family.tolerance[dtype]
    p = TAIL_PROBABILITIES[dtype][:, None] * np.ones((1, n))
    grid = Grid("edge.tail", family, dtype)
    skipped = 0
    for upper in (False, True):
        with np.errstate(all="ignore"):
            exact = frozen.isf(p) if upper else frozen.ppf(p)
        serves = _scipy_serves(frozen, exact, p, upper)
        if mp is not None:
            exact = np.where(serves, exact, mp.quantile(params, p, upper))
            serves = serves | np.isfinite(exact)
        x = exact.astype(NUMPY_DTYPE[dtype]).astype(np.float64)
        representable = np.isfinite(x) & ((x == 0) | (np.abs(x) >= info.tiny)) & (np.abs(x) <= info.max)
        usable = serves & representable
        skipped += int((~usable).sum())
        xt = torch.as_tensor(np.where(usable, x, np.nanmedian(x) if np.isfinite(x).any() else 1.0), dtype=dtype)
        xt = xt.to(device)
        with np.errstate(all="ignore"):
            expected = ref.log_prob(x)
            if mp is not None:
                expected = np.where(np.isfinite(expected), expected, mp.log_prob(params, x))
        actual = call(lambda: dist.log_prob(xt), x.shape)
        grid.add("log_prob", matches(actual, expected, tol), params, actual, expected, at=x, skip=~usable,
                 p=p, upper=float(upper))
        if not upper and torch_implements(family, "cdf") and not family.discrete:
            with np.errstate(all="ignore"):
                expected = np.where(serves, frozen.cdf(x), mp.cdf(params, x) if mp is not None else np.nan)
            actual = call(lambda: dist.cdf(xt), x.shape)
            keep = usable & (expected >= info.tiny)
            grid.add("cdf", _log_matches(actual, expected, tol), params, actual, expected, at=x, skip=~keep,
                     p=p, upper=0.0)
    if torch_implements(family, "icdf") and not family.discrete:
        _add_icdf(grid, family, dtype, device, dist, frozen, params, mp, tol)
    result = grid.result()
    result.message = f"{grid.skipped} tail elements without a trustworthy reference or not representable"
    return result


def _add_icdf(grid: Grid, family: Family, dtype, device, dist, frozen, params, mp, tol: Tolerance) -> None:
    n = np.shape(next(v for v in params.values() if np.ndim(v)))[0]
    eps = float(np.finfo(NUMPY_DTYPE[dtype]).eps)
    for upper, probabilities in ((False, TAIL_PROBABILITIES[dtype]), (True, np.array([1e-5, 8 * eps, eps]))):
        q = (1 - probabilities if upper else probabilities).astype(NUMPY_DTYPE[dtype]).astype(np.float64)
        tail = 1 - q if upper else q  # exact: q is a float of dtype near 1
        tail = tail[:, None] * np.ones((1, n))
        with np.errstate(all="ignore"):
            expected = frozen.isf(tail) if upper else frozen.ppf(tail)
        serves = _scipy_serves(frozen, expected, tail, upper)
        if mp is not None:
            expected = np.where(serves, expected, mp.quantile(params, tail, upper))
            serves = serves | np.isfinite(expected)
        qt = torch.as_tensor(q[:, None] * np.ones((1, n)), dtype=dtype, device=device)
        actual = call(lambda: dist.icdf(qt), tail.shape)
        grid.add("icdf", matches(actual, expected, tol), params, actual, expected, at=q[:, None] * np.ones((1, n)),
                 skip=~serves, p=tail, upper=float(upper))


def _log_matches(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return matches(np.log(actual), np.log(expected), tol)

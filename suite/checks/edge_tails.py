"""Deep tails: log_prob, cdf and icdf at tail probabilities down to near the smallest normal number of the dtype.

The tail points are scipy's quantiles x = ppf(p) (lower tail) and isf(p) (upper tail) at the tail
probabilities p of TAIL_PROBABILITIES, strictly inside the support and representable in the dtype. scipy
serves the values at a point where its own round trip cdf(ppf(p)) = p (sf(isf(p)) = p) holds to 1e-9;
elsewhere the entry's mpmath reference (`Edges.tail_reference`) serves them where one is declared, and
otherwise the point is not compared (the message counts them). icdf is checked at q = the true cdf of each
lower-tail point (icdf(cdf(x)) = x), and at 1 - p for p down to eps from scipy's isf. A torch value
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
    """log_prob at both tails, cdf and icdf at the lower tail, icdf at 1 - p down to eps."""
    params = round_to(base_params(family), dtype)
    ref = family.reference(params)
    frozen, n = ref.frozen, ref.n
    dist = family.instantiate(params, dtype=dtype, device=device, validate_args=False)
    mp = edges_of(family).tail_reference
    info = np.finfo(NUMPY_DTYPE[dtype])
    tol = family.tolerance[dtype]
    p = TAIL_PROBABILITIES[dtype][:, None] * np.ones((1, n))
    grid = Grid("edge.tail", family, dtype)
    with_cdf = torch_implements(family, "cdf") and not family.discrete
    with_icdf = torch_implements(family, "icdf") and not family.discrete
    by_mpmath = 0
    for upper in (False, True):
        with np.errstate(all="ignore"):
            x = (frozen.isf(p) if upper else frozen.ppf(p)).astype(NUMPY_DTYPE[dtype]).astype(np.float64)
            lower_end, upper_end = (np.broadcast_to(end, (n,)) for end in frozen.support())
        usable = (np.isfinite(x) & ((x == 0) | (np.abs(x) >= info.tiny)) & (np.abs(x) <= info.max)
                  & (x > lower_end) & (x < upper_end))
        scipy_serves = _scipy_serves(frozen, x, p, upper) & usable
        mp_serves = usable & ~scipy_serves if mp is not None else np.zeros_like(usable)
        by_mpmath += int(mp_serves.sum())
        xt = torch.as_tensor(np.where(np.isnan(x), 1.0, x), dtype=dtype, device=device)  # skipped where unusable
        with np.errstate(all="ignore"):
            expected = np.where(scipy_serves, ref.log_prob(x), np.nan)
            # an infinite log density at a finite point inside the support is scipy's underflow, not the truth
            expected = np.where(np.isinf(expected), np.nan, expected)
        if mp_serves.any():
            expected = np.where(mp_serves, mp.log_prob(params, np.where(mp_serves, x, np.nan)), expected)
        actual = call(lambda: dist.log_prob(xt), x.shape)
        grid.add("log_prob", matches(actual, expected, tol), params, actual, expected, at=x,
                 skip=np.isnan(expected), p=p, upper=float(upper))
        if upper:
            continue
        with np.errstate(all="ignore"):
            cdf = np.where(scipy_serves, frozen.cdf(x), np.nan)
        if mp_serves.any():
            cdf = np.where(mp_serves, mp.cdf(params, np.where(mp_serves, x, np.nan)), cdf)
        cdf = np.where(cdf >= info.tiny, cdf, np.nan)  # a tail probability dtype cannot hold is not compared
        if with_cdf:
            actual = call(lambda: dist.cdf(xt), x.shape)
            grid.add("cdf", _log_matches(actual, cdf, tol), params, actual, cdf, at=x, skip=np.isnan(cdf), p=p,
                     upper=0.0)
        if with_icdf:
            # icdf(cdf(x)) = x: at q = the true cdf of each tail point, rounded to dtype, to first order in
            # the rounding
            q = cdf.astype(NUMPY_DTYPE[dtype]).astype(np.float64)
            with np.errstate(all="ignore"):
                density = np.exp(mp.log_prob(params, x) if mp is not None else ref.log_prob(x))
                expected = x + (q - cdf) / density
            expected = np.where(np.isnan(cdf), np.nan, expected)
            qt = torch.as_tensor(np.where(np.isnan(q), 0.5, q), dtype=dtype, device=device)
            actual = call(lambda: dist.icdf(qt), x.shape)
            grid.add("icdf", matches(actual, expected, tol), params, actual, expected, at=q,
                     skip=np.isnan(expected), p=p, upper=0.0)
    if with_icdf:
        _add_upper_icdf(grid, dtype, device, dist, frozen, params, tol)
    result = grid.result()
    result.message = f"{grid.skipped} tail elements without a trustworthy reference or not representable"
    if mp is not None:
        result.message += f"; {by_mpmath} tail points where scipy's round trip fails served by {mp.name}"
    return result


def _add_upper_icdf(grid: Grid, dtype, device, dist, frozen, params, tol: Tolerance) -> None:
    """icdf at q = 1 - p for p down to eps (the closest a dtype gets to 1), from scipy's isf."""
    n = np.shape(next(v for v in params.values() if np.ndim(v)))[0]
    eps = float(np.finfo(NUMPY_DTYPE[dtype]).eps)
    q = (1 - np.array([1e-5, 8 * eps, eps])).astype(NUMPY_DTYPE[dtype]).astype(np.float64)
    tail = (1 - q)[:, None] * np.ones((1, n))  # exact: q is a float of dtype near 1
    with np.errstate(all="ignore"):
        expected = frozen.isf(tail)
    serves = _scipy_serves(frozen, expected, tail, True)
    qt = torch.as_tensor(q[:, None] * np.ones((1, n)), dtype=dtype, device=device)
    actual = call(lambda: dist.icdf(qt), tail.shape)
    grid.add("icdf", matches(actual, expected, tol), params, actual, expected, at=q[:, None] * np.ones((1, n)),
             skip=~serves, p=tail, upper=1.0)


def _log_matches(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return matches(np.log(actual), np.log(expected), tol)

"""KL divergence checks: torch's kl_divergence over a batch of parameter pairs against a float64 reference.

Pure functions (no pytest). Each evaluates torch once over the whole batch and the reference once, and
returns a CheckResult whose `ok` grid is over the parameter pairs, with p's and q's scalar parameters as
coordinates ("p_<name>", "q_<name>"), so a known deviation can be scoped to a region.

Agreement: |torch - reference| <= rtol * |reference| + term * magnitude, where `magnitude` is the sum of
the absolute values of the reference's terms: a correct implementation that sums the same terms in the
dtype loses up to a few ulps of it. +inf must be exactly +inf; a finite reference beyond the dtype's
largest finite number may be +inf; NaN never agrees; the KL must not be below -(term * magnitude).
Parameter sets that rounding to float32 makes degenerate are left out (their magnitude is NaN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributions as D

from suite.checks.result import CheckResult, failed
from suite.registry.families import dtype_name, round_to
from suite.registry.kl import KlPair

KlFunction = Callable[[D.Distribution, D.Distribution], torch.Tensor]
NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}


@dataclass(frozen=True)
class KlTolerance:
    rtol: float
    term: float


# float64: 1e-8 relative, or 1e-12 of the terms' magnitude (about 5000 ulps of it). float32: 1e-3 relative,
# or 1e-5 of the magnitude (about 80 ulps): float32 terms of that size cancel to no better.
KL_TOLERANCE = {torch.float64: KlTolerance(1e-8, 1e-12), torch.float32: KlTolerance(1e-3, 1e-5)}


def _rows_of(params: dict, rows) -> dict:
    return {k: v if isinstance(v, int) else np.asarray(v)[rows] for k, v in params.items()}


def coordinates(pp: dict, qp: dict) -> dict[str, np.ndarray]:
    coords = {}
    for side, params in (("p", pp), ("q", qp)):
        for name, value in params.items():
            value = np.asarray(value, dtype=np.float64)
            if value.ndim == 1:
                coords[f"{side}_{name}"] = value
            elif value.ndim == 2:  # a vector per set (probabilities, concentrations): its smallest element
                coords[f"{side}_min_{name}"] = value.min(-1)
    return coords


def agree(actual: np.ndarray, expected: np.ndarray, magnitude: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    tol = KL_TOLERANCE[dtype]
    largest = float(np.finfo(NUMPY_DTYPE[dtype]).max)
    with np.errstate(all="ignore"):
        bound = tol.rtol * np.abs(expected) + tol.term * magnitude
        close = np.isfinite(expected) & (np.abs(actual - expected) <= bound)
        infinite = (expected == np.inf) & (actual == np.inf)
        overflow = np.isfinite(expected) & (expected > largest) & (actual == np.inf)
        non_negative = actual >= -tol.term * magnitude
    return ((close | infinite | overflow) & non_negative) | np.isnan(magnitude)


def _result(check: str, pair: KlPair, dtype: torch.dtype, ok: np.ndarray, actual: np.ndarray,
            expected: np.ndarray, coords: dict, message: str = "") -> CheckResult:
    bad = ~ok
    with np.errstate(all="ignore"):
        error = np.where(np.isfinite(expected) & np.isfinite(actual), np.abs(actual - expected), 0.0)
        rel = error / np.maximum(np.abs(expected), 1e-300)
    worst = {}
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        worst = {name: float(np.ravel(value)[i]) for name, value in coords.items() if np.size(value) == ok.size}
        worst.update(torch=float(actual.ravel()[i]), reference=float(expected.ravel()[i]))
    return CheckResult(check, pair.name, dtype_name(dtype), passed=bool(ok.all()), compared=int(ok.size),
                       failures=int(bad.sum()), max_abs_error=float(error[bad].max()) if bad.any() else 0.0,
                       max_rel_error=float(rel[bad].max()) if bad.any() else 0.0, worst=worst,
                       message=message, ok=ok, coords=coords)


def build(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device) -> tuple[D.Distribution, D.Distribution]:
    return (pair.p_family.instantiate(pp, dtype, device, validate_args=False),
            pair.q_family.instantiate(qp, dtype, device, validate_args=False))


def evaluate(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device, kl: KlFunction):
    """(torch's KL as float64 numpy, the reference at the dtype-rounded parameters, its magnitude)."""
    p, q = build(pair, pp, qp, dtype, device)
    actual = kl(p, q).detach().to("cpu", torch.float64).numpy()
    expected, magnitude = _reference(pair, pp, qp, dtype)
    return actual, expected, magnitude


def _reference(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The reference at the parameters as dtype holds them. Where rounding to dtype makes a parameter set
    degenerate (Uniform(527.32544, 527.32546) has zero width in float32), the reference is NaN while it is
    defined at the float64 parameters: those sets are left out (marked NaN in the returned magnitude)."""
    with np.errstate(all="ignore"):
        expected, magnitude = (np.asarray(x, float) for x in pair.reference(round_to(pp, dtype), round_to(qp, dtype)))
        if dtype != torch.float64 and np.isnan(expected).any():
            degenerate = np.isnan(expected) & ~np.isnan(pair.reference(pp, qp)[0])
            magnitude = np.where(degenerate, np.nan, magnitude)
    return expected, magnitude


def check_kl_values(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device="cpu",
                    kl: KlFunction = D.kl_divergence, check: str = "kl.values") -> CheckResult:
    """kl_divergence(p, q) against the reference on every parameter pair, in one batched call: finite
    values within tolerance, +inf exactly where the reference is, never negative."""
    n = len(next(v for v in pp.values() if not isinstance(v, int)))
    try:
        actual, expected, magnitude = evaluate(pair, pp, qp, dtype, device, kl)
    except Exception as error:  # noqa: BLE001 - torch raising is what the check reports
        return failed(check, pair.name, dtype_name(dtype), f"{type(error).__name__}: {error}")
    if actual.shape != (n,):
        return failed(check, pair.name, dtype_name(dtype), f"shape {actual.shape}, expected {(n,)}")
    ok = agree(actual, expected, magnitude, dtype)
    infinite = int((expected == np.inf).sum())
    return _result(check, pair, dtype, ok, actual, expected, coordinates(pp, qp),
                   f"{infinite} pairs with KL = +inf, {int(np.isfinite(expected).sum())} finite")


def check_kl_infinite_outside_support(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device="cpu",
                                      kl: KlFunction = D.kl_divergence) -> CheckResult:
    """+inf exactly on the pairs where p's support is not inside q's (or a moment log q needs diverges)."""
    actual, expected, _ = evaluate(pair, pp, qp, dtype, device, kl)
    rows = expected == np.inf
    coords = {k: v[rows] for k, v in coordinates(pp, qp).items()}
    ok = actual[rows] == np.inf
    return _result("kl.values.infinite", pair, dtype, ok, actual[rows], expected[rows], coords,
                   f"{int(rows.sum())} pairs where the KL is +inf")


def check_kl_self_zero(pair: KlPair, pp: dict, dtype: torch.dtype, device="cpu",
                       kl: KlFunction = D.kl_divergence) -> CheckResult:
    """KL(p || p') = 0 for p' a second instance with p's parameters (same-family pairs only)."""
    p, p_again = build(pair, pp, pp, dtype, device)
    actual = kl(p, p_again).detach().to("cpu", torch.float64).numpy()
    _, magnitude = _reference(pair, pp, pp, dtype)
    expected = np.zeros_like(actual)
    ok = agree(actual, expected, magnitude, dtype)
    return _result("kl.self", pair, dtype, ok, actual, expected, coordinates(pp, pp))


def _tie(pp: dict, qp: dict) -> tuple[dict, dict]:
    """Parameters torch requires to match between p and q when batches broadcast: one total_count
    (q's above p's raises), one shared transform (different transforms raise)."""
    pp, qp = dict(pp), dict(qp)
    if "total_count" in pp and "total_count" in qp:
        count = float(np.max(pp["total_count"]))
        pp["total_count"] = np.full_like(pp["total_count"], count)
        qp["total_count"] = np.full_like(qp["total_count"], count)
    for name in ("shift", "factor"):
        if name in pp and name in qp:
            pp[name] = np.full_like(pp[name], pp[name][0])
            qp[name] = np.full_like(qp[name], pp[name][0])
    return pp, qp


def _reshaped(params: dict, shape: tuple[int, ...]) -> dict:
    return {k: v if isinstance(v, int) else np.asarray(v).reshape(*shape, *np.shape(v)[1:])
            for k, v in params.items()}


def _broadcast_flat(params: dict, batch: tuple[int, ...], out: tuple[int, ...]) -> dict:
    flat = {}
    for k, v in params.items():
        v = np.asarray(v).reshape(*batch, *np.shape(v)[1:])
        flat[k] = np.broadcast_to(v, (*out, *v.shape[len(batch):])).reshape(-1, *v.shape[len(batch):])
    return flat


def consistent(actual: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Torch against itself: the same value up to rounding (1e-12 relative), NaN where NaN, the same infinity."""
    with np.errstate(all="ignore"):
        close = np.abs(actual - flat) <= 1e-12 * (np.abs(flat) + 1)
    return close | (actual == flat) | (np.isnan(actual) & np.isnan(flat))


def _kl_numpy(kl: KlFunction, p: D.Distribution, q: D.Distribution) -> np.ndarray:
    return kl(p, q).detach().to("cpu", torch.float64).numpy()


def check_kl_broadcast(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device="cpu",
                       kl: KlFunction = D.kl_divergence, a: int = 3, b: int = 4) -> CheckResult:
    """p of batch (a, 1) against q of batch (1, b): a KL of batch (a, b) whose element [i, j] is
    KL(p_i || q_j) as torch computes it on a flat batch of the a * b pairs."""
    pp, qp = _tie(_rows_of(pp, slice(0, a)), _rows_of(qp, slice(0, b)))
    flat_p, flat_q = _broadcast_flat(pp, (a, 1), (a, b)), _broadcast_flat(qp, (1, b), (a, b))
    try:
        actual = _kl_numpy(kl, *build(pair, _reshaped(pp, (a, 1)), _reshaped(qp, (1, b)), dtype, device))
    except Exception as error:  # noqa: BLE001
        return failed("kl.broadcast", pair.name, dtype_name(dtype), f"{type(error).__name__}: {error}")
    if actual.shape != (a, b):
        return failed("kl.broadcast", pair.name, dtype_name(dtype), f"shape {actual.shape}, expected {(a, b)}")
    flat = _kl_numpy(kl, *build(pair, flat_p, flat_q, dtype, device))
    ok = consistent(actual.ravel(), flat)
    return _result("kl.broadcast", pair, dtype, ok, actual.ravel(), flat, coordinates(flat_p, flat_q))


def check_kl_expand(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device="cpu",
                    kl: KlFunction = D.kl_divergence, n: int = 8, copies: int = 2) -> CheckResult:
    """p.expand((copies, n)) against q.expand((copies, n)): batch (copies, n), each copy the unexpanded KL."""
    pp, qp = _rows_of(pp, slice(0, n)), _rows_of(qp, slice(0, n))
    p, q = build(pair, pp, qp, dtype, device)
    try:
        actual = _kl_numpy(kl, p.expand((copies, n)), q.expand((copies, n)))
    except Exception as error:  # noqa: BLE001
        return failed("kl.expand", pair.name, dtype_name(dtype), f"{type(error).__name__}: {error}")
    if actual.shape != (copies, n):
        return failed("kl.expand", pair.name, dtype_name(dtype), f"shape {actual.shape}, expected {(copies, n)}")
    flat = np.tile(_kl_numpy(kl, p, q), copies)
    return _result("kl.expand", pair, dtype, consistent(actual.ravel(), flat), actual.ravel(), flat,
                   {k: np.tile(v, copies) for k, v in coordinates(pp, qp).items()})


def check_kl_independent(pair: KlPair, pp: dict, qp: dict, dtype: torch.dtype, device="cpu",
                         kl: KlFunction = D.kl_divergence, a: int = 3, b: int = 4) -> CheckResult:
    """Independent(p, 1) against Independent(q, 1) over batch (a, b): batch (a,), the sum over b of the KLs
    torch computes on the flat batch."""
    pp, qp = _tie(_rows_of(pp, slice(0, a * b)), _rows_of(qp, slice(0, a * b)))
    p, q = build(pair, _reshaped(pp, (a, b)), _reshaped(qp, (a, b)), dtype, device)
    try:
        actual = _kl_numpy(kl, D.Independent(p, 1), D.Independent(q, 1))
    except Exception as error:  # noqa: BLE001
        return failed("kl.independent", pair.name, dtype_name(dtype), f"{type(error).__name__}: {error}")
    if actual.shape != (a,):
        return failed("kl.independent", pair.name, dtype_name(dtype), f"shape {actual.shape}, expected {(a,)}")
    with np.errstate(invalid="ignore"):
        flat = _kl_numpy(kl, *build(pair, pp, qp, dtype, device)).reshape(a, b).sum(-1)
    coords = {k: v.reshape(a, b)[:, 0] for k, v in coordinates(pp, qp).items()}
    return _result("kl.independent", pair, dtype, consistent(actual, flat), actual, flat, coords)

"""Element-wise agreement of a batched torch distribution with its float64 reference.

Every function here is pure (no pytest): it takes a registry family and parameters, evaluates
torch once over the whole batch and the reference once, and returns a CheckResult.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.distributions as D

from suite.checks.result import CheckResult
from suite.registry.families import Family, ParamDict, dtype_name, round_to
from suite.registry.references import QUANTILES, Reference

Builder = Callable[[Family, ParamDict, torch.dtype, "str | torch.device"], D.Distribution]

VALUE_METHODS = ("log_prob", "cdf", "icdf", "mean", "variance", "stddev", "entropy", "mode", "enumerate_support")
NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}


def default_builder(family: Family, params: ParamDict, dtype: torch.dtype, device) -> D.Distribution:
    return family.instantiate(params, dtype=dtype, device=device, validate_args=False)


def _round(x: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float64).astype(NUMPY_DTYPE[dtype]).astype(np.float64)


def unrepresentable(x: np.ndarray, dtype: torch.dtype, event_dim: int) -> np.ndarray:
    """Points that dtype cannot hold: they overflow, underflow to zero, or become subnormal.

    Returned over the batch dims (event dims reduced); such points are left out of the comparison.
    """
    x = np.asarray(x, dtype=np.float64)
    info = np.finfo(NUMPY_DTYPE[dtype])
    with np.errstate(invalid="ignore"):
        bad = (np.isfinite(x) & (np.abs(x) > info.max)) | ((x != 0) & (np.abs(x) < info.tiny))
    return bad.reshape(*bad.shape[: bad.ndim - event_dim], -1).any(-1) if event_dim else bad


def _worst_params(params: ParamDict, index: int) -> dict:
    def pick(v):
        if isinstance(v, int) or np.ndim(v) == 0:
            return float(v)
        return np.round(np.asarray(v)[index], 8).tolist()
    return {k: pick(v) for k, v in params.items()}


def compare(name: str, family: Family, dtype: torch.dtype, actual: np.ndarray, expected: np.ndarray,
            params: ParamDict, batch_axis: int,
            points: np.ndarray | None = None, exclude: np.ndarray | None = None) -> CheckResult:
    """Element-wise |actual - expected| <= atol + rtol*|expected|.

    Strict about non-finite values: an infinite reference (an infinite density, a moment that does not
    exist) is matched only by the infinity of the same sign, never by NaN or the other sign; a NaN or an
    infinity where the reference is finite fails, and so does a finite value where it is infinite. A NaN
    reference means the reference is undefined there (an undefined
    moment or mode, a point scipy rejects) and that element is not compared; the count is reported.
    A reference beyond dtype's range is
    matched by an infinity of the same sign; `exclude` marks points dtype cannot represent.
    """
    tol = family.tolerance[dtype]
    expected = np.broadcast_to(np.asarray(expected, dtype=np.float64), actual.shape)
    with np.errstate(invalid="ignore"):
        expected = np.where(np.abs(expected) > np.finfo(NUMPY_DTYPE[dtype]).max, np.sign(expected) * np.inf,
                            expected)
    finite = np.isfinite(expected)
    skip = np.isnan(expected)
    if exclude is not None:
        skip = skip | np.broadcast_to(exclude, actual.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.where(finite, np.abs(actual - expected), 0.0)
        abs_err = np.where(finite & ~np.isfinite(actual), np.inf, abs_err)
        rel_err = abs_err / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
        ok = np.where(finite, abs_err <= tol.atol + tol.rtol * np.abs(expected), actual == expected)
    ok |= skip
    abs_err = np.where(skip, 0.0, abs_err)
    rel_err = np.where(skip | ~finite, 0.0, rel_err)
    result = CheckResult(name, family.name, dtype_name(dtype), bool(ok.all()),
                         compared=int((~skip).sum()), failures=int((~ok).sum()),
                         max_abs_error=float(abs_err.max(initial=0.0)), max_rel_error=float(rel_err.max(initial=0.0)),
                         ok=ok, coords=element_coords(params, actual.shape, batch_axis, points))
    if result.compared:
        # The worst point: the largest error in units of the tolerance allowed at that point.
        with np.errstate(invalid="ignore"):
            ranking = np.where(skip | ~finite, -1.0, abs_err / (tol.atol + tol.rtol * np.abs(expected)))
        ranking = np.where(finite | skip, ranking, np.where(ok, -1.0, np.inf))
        where = np.unravel_index(int(np.argmax(ranking)), actual.shape)
        result.worst = {"params": _worst_params(params, where[batch_axis]),
                        "torch": float(actual[where]), "reference": float(expected[where])}
        if points is not None:
            result.worst["at"] = (float(np.asarray(points)[where]) if np.ndim(points) == actual.ndim
                                  else np.asarray(points)[where].tolist())
        result.message = f"tolerance {tol}"
        if skip.any():
            result.message += f"; {int(skip.sum())} points without a reference value or not representable"
    return result


def element_coords(params: ParamDict, shape: tuple[int, ...], batch_axis: int,
                   points: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each scalar-per-set parameter laid along the batch axis of an element grid of `shape`, and the points
    as "at", for scoping known deviations to a region."""
    coords = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        along_batch = [-1 if axis == batch_axis else 1 for axis in range(len(shape))]
        if value.ndim == 1 and value.shape[0] == shape[batch_axis]:
            coords[name] = value.reshape(along_batch)
        elif value.ndim >= 2 and value.shape[0] == shape[batch_axis]:
            # A vector or matrix per set: each component by itself ("concentration[0]", "cov_factor[2,1]"), for
            # regions over them.
            for index in np.ndindex(value.shape[1:]):
                coords[f"{name}[{','.join(map(str, index))}]"] = value[(slice(None), *index)].reshape(along_batch)
        elif value.ndim == 0:
            coords[name] = value
    if points is not None and np.ndim(points) == len(shape):
        coords["at"] = np.asarray(points, dtype=np.float64)
    elif points is not None and np.ndim(points) == len(shape) + 1 and np.shape(points)[:-1] == tuple(shape):
        for i in range(np.shape(points)[-1]):  # a vector point: each component ("at[0]")
            coords[f"at[{i}]"] = np.asarray(points, dtype=np.float64)[..., i]
    return coords


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def check_method(family: Family, method: str, params: ParamDict, dtype: torch.dtype = torch.float64,
                 device="cpu", rng: np.random.Generator | None = None,
                 build: Builder = default_builder) -> CheckResult:
    """Compare one method (log_prob, cdf, icdf, a moment, entropy, mode, enumerate_support) with the reference."""
    rng = rng if rng is not None else np.random.default_rng(0)
    params = round_to(params, dtype)
    ref = family.reference(params)
    dist = build(family, params, dtype, device)
    to_torch = lambda a: torch.as_tensor(_round(a, dtype), dtype=dtype, device=device)  # noqa: E731
    if method in ("log_prob", "cdf"):
        exact = ref.values(rng)
        x = _round(exact, dtype)
        actual = getattr(dist, method)(to_torch(x))
        expected = getattr(ref, method)(x)
        return compare(method, family, dtype, _as_numpy(actual), expected, params, batch_axis=1,
                       points=x if ref.event_dim <= 1 else None,
                       exclude=unrepresentable(exact, dtype, ref.event_dim))
    if method == "icdf":
        q = _round(QUANTILES[:, None] * np.ones((1, ref.n)), dtype)
        return compare(method, family, dtype, _as_numpy(dist.icdf(to_torch(q))), ref.icdf(q), params, 1, points=q)
    if method == "enumerate_support":
        support = dist.enumerate_support(expand=True)
        expected_support = ref.enumerate_support()
        if tuple(support.shape) != expected_support.shape:
            return CheckResult(method, family.name, str(dtype), False,
                               message=f"shape {tuple(support.shape)} != reference {expected_support.shape}")
        values_ok = compare("enumerate_support/values", family, dtype, _as_numpy(support), expected_support,
                            params, batch_axis=1)
        if not values_ok:
            return values_ok
        return compare(method, family, dtype, _as_numpy(dist.log_prob(support)),
                       ref.log_prob(expected_support), params, batch_axis=1)
    value = getattr(dist, method)
    actual = _as_numpy(value() if callable(value) else value)
    expected = getattr(ref, method)()
    return compare(method, family, dtype, actual, expected, params, batch_axis=0)


def implements(family: Family, method: str) -> bool:
    """Whether `method` is one of the VALUE_METHODS that both torch and the family's reference implement (a
    method that is implemented but fails counts: its generated case reports the failure)."""
    if method not in VALUE_METHODS:
        return False
    try:
        check_method(family, method, family.make_params(np.random.default_rng(0), 4))
    except NotImplementedError:
        return False
    except Exception:  # noqa: BLE001 - implemented but broken
        pass
    return True


def implemented_methods(family: Family) -> list[str]:
    """The VALUE_METHODS that both torch and the family's reference implement."""
    return [method for method in VALUE_METHODS if implements(family, method)]


def check_support(family: Family, params: ParamDict, dtype: torch.dtype = torch.float64, device="cpu",
                  rng: np.random.Generator | None = None, build: Builder = default_builder) -> CheckResult:
    """Points inside the support are accepted, points outside rejected, and finite-density boundaries accepted."""
    rng = rng if rng is not None else np.random.default_rng(0)
    params = round_to(params, dtype)
    ref = family.reference(params)
    dist = build(family, params, dtype, device)
    problems = []
    checked = 0
    exact = ref.values(rng)
    inside = _round(exact, dtype)
    accepted = dist.support.check(torch.as_tensor(inside, dtype=dtype, device=device)).cpu().numpy()
    with np.errstate(all="ignore"):
        rounded_outside = ~(ref.log_prob(inside) > -np.inf)  # rounding to dtype moved it off the support
    accepted |= unrepresentable(exact, dtype, ref.event_dim) | rounded_outside
    checked += accepted.size
    if not accepted.all():
        problems.append(f"{int((~accepted).sum())} points inside the support rejected")
    for points in ref.outside():
        rejected = ~dist.support.check(torch.as_tensor(points, dtype=dtype, device=device)).cpu().numpy()
        checked += rejected.size
        if not rejected.all():
            problems.append(f"{int((~rejected).sum())} points outside the support accepted (e.g. {points.flat[0]:g})")
    if hasattr(ref, "frozen") and ref.event_dim == 0 and not isinstance(ref.frozen, type(None)):
        problems += _boundary_problems(ref, dist, dtype, device)
        checked += 2 * ref.n
    return CheckResult("support", family.name, dtype_name(dtype), not problems,
                       compared=checked, failures=len(problems), message="; ".join(problems))


def _boundary_problems(ref: Reference, dist: D.Distribution, dtype, device) -> list[str]:
    problems = []
    try:
        bounds = ref.frozen.support()
    except (AttributeError, NotImplementedError):
        return problems
    for bound in bounds:
        bound = np.broadcast_to(np.asarray(bound, dtype=float), (ref.n,)).copy()
        finite = np.isfinite(bound)
        if not finite.any():
            continue
        with np.errstate(all="ignore"):
            density_finite = np.isfinite(ref.log_prob(bound[None]))[0] & finite
        if not density_finite.any():
            continue
        accepted = dist.support.check(torch.as_tensor(bound, dtype=dtype, device=device)).cpu().numpy()
        missed = density_finite & ~accepted
        if missed.any():
            problems.append(f"{int(missed.sum())} boundary points with finite density rejected "
                            f"(e.g. {bound[np.argmax(missed)]:g})")
    return problems


def check_invalid_params(family: Family, rng: np.random.Generator | None = None, device="cpu") -> CheckResult:
    """Each invalid parameter set raises ValueError when validation is on."""
    from suite.registry.families import invalid_params

    rng = rng if rng is not None else np.random.default_rng(0)
    accepted = []
    cases = invalid_params(family, rng)
    for description, params in cases:
        try:
            family.instantiate(params, device=device, validate_args=True)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - any other error is the wrong answer to bad input
            accepted.append(f"{description} (raised {type(error).__name__}: {str(error)[:80]})")
            continue
        accepted.append(description)
    message = f"no ValueError for: {', '.join(accepted)}" if accepted else ""
    if not cases:
        message = "the registry lists no invalid parameters"
    return CheckResult("invalid_params", family.name, "float64", bool(cases) and not accepted,
                       compared=len(cases), failures=len(accepted), message=message)

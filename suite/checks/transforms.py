"""Checks of one Transform case: round trip, log|det J| against torch.func.jacrev, constraints, structure
(shapes, event dims, sign, bijective), and caching.

Every element-wise check's grid is the batch (one element per event); its coordinates are the smallest
and the largest coordinate of the input event ("x_min", "x_max") and the largest |coordinate| of the
output event ("y_absmax"), so a known deviation can be scoped to a region near a boundary.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributions.transforms as T

from suite.checks.result import CheckResult, failed
from suite.registry.families import DEFAULT_TOLERANCE, dtype_name
from suite.registry.transforms import TransformCase

# The round trip may lose what rounding the intermediate value to the dtype costs (a first-order bound,
# |J_inverse| |y| eps) and a few ulps of the input itself: this many ulps of each.
ROUND_TRIP_ULPS = 64
Build = Callable[[TransformCase, torch.dtype], T.Transform]
Projection = Callable[[torch.Tensor], torch.Tensor]


def default_build(case: TransformCase, dtype: torch.dtype) -> T.Transform:
    return case.build(dtype)


@dataclass
class Evaluated:
    transform: T.Transform
    x: torch.Tensor          # the points, in the dtype
    y: torch.Tensor          # transform(x), in the dtype
    x64: torch.Tensor        # the points as float64 (after rounding to the dtype)
    batch: tuple[int, ...]   # the batch shape: x's shape less the domain's event dims
    coords: dict


def evaluate(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
             build: Build = default_build) -> Evaluated:
    finfo = np.finfo({torch.float64: np.float64, torch.float32: np.float32}[dtype])
    transform = build(case, dtype)
    x = torch.as_tensor(case.points(rng, case.bulk_size, finfo), dtype=dtype)
    y = transform(x)
    event_dim = transform.domain.event_dim
    batch = tuple(x.shape[:x.dim() - event_dim])
    x64 = x.to(torch.float64)
    flat = x64.reshape(batch + (-1,)).numpy()
    y_abs = y.detach().to(torch.float64).abs().reshape(batch + (-1,)).numpy()
    coords = {"x_min": flat.min(-1), "x_max": flat.max(-1), "y_absmax": y_abs.max(-1)}
    return Evaluated(transform, x, y, x64, batch, coords)


def jacobian_blocks(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, event_dim_in: int,
                    project: Projection | None = None, project_in: Projection | None = None,
                    per_event: bool = True) -> tuple[torch.Tensor, float]:
    """The Jacobian of fn at x by torch.func.jacrev, one (out, in) block per batch element (shape
    batch + (out, in)), and the largest entry outside those blocks. per_event: jacrev of fn on one event,
    vmapped over the batch (fn must not depend on an event's place in the batch); else jacrev of fn on the
    whole tensor, whose off-block entries must be 0, as batch elements are independent (NaN there, from
    0 * inf, is ignored). `project` keeps the output coordinates and `project_in` the input coordinates
    the log-det refers to."""
    mapped = (lambda v: project(fn(v))) if project is not None else fn
    batch = tuple(x.shape[:x.dim() - event_dim_in])
    event_shape = tuple(x.shape[x.dim() - event_dim_in:])
    count = int(np.prod(batch, dtype=np.int64))
    events = x.reshape((count,) + event_shape)
    off = 0.0
    if per_event:
        blocks = torch.func.vmap(torch.func.jacrev(mapped))(events).reshape(count, -1, int(np.prod(event_shape)))
    else:
        out = mapped(x)
        jac = torch.func.jacrev(mapped)(x).reshape(count, out.numel() // count, count, x.numel() // count)
        blocks = torch.diagonal(jac, dim1=0, dim2=2).permute(2, 0, 1)
        mask = torch.eye(count, dtype=torch.bool)[:, None, :, None].expand_as(jac)
        off = jac.masked_fill(mask, 0).nan_to_num(nan=0.0).abs().max().item() if count > 1 else 0.0
    if project_in is not None:
        columns = project_in(torch.arange(int(np.prod(event_shape))).reshape(event_shape)).flatten()
        blocks = blocks[..., columns]
    return blocks.reshape(batch + blocks.shape[1:]), off


def _worst(result_ok: np.ndarray, err: np.ndarray, coords: dict) -> dict:
    bad = np.where(~result_ok, err, -np.inf)
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return {name: float(np.broadcast_to(v, bad.shape)[index]) for name, v in coords.items()}


def _elementwise(check: str, case: TransformCase, dtype: torch.dtype, ok: np.ndarray, err: np.ndarray,
                 coords: dict, message: str = "") -> CheckResult:
    ok = np.asarray(ok, dtype=bool)
    finite_err = np.where(np.isfinite(err), err, np.inf)
    return CheckResult(check, case.name, dtype_name(dtype), passed=bool(ok.all()), compared=int(ok.size),
                       failures=int((~ok).sum()), max_abs_error=float(np.nanmax(finite_err, initial=0.0)),
                       worst=_worst(ok, err, coords) if not ok.all() else {}, message=message, ok=ok,
                       coords=coords)


def _close(actual: np.ndarray, expected: np.ndarray, allowance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise |actual - expected| <= allowance, infinities equal only with the same sign, NaN never.
    An infinite allowance (the round trip through a point where the inverse is singular) admits any
    finite or infinite value."""
    with np.errstate(invalid="ignore"):
        err = np.abs(actual - expected)
        same = (actual == expected)
        ok = same | (err <= allowance) & (np.isfinite(expected) | np.isinf(allowance))
    return ok & ~np.isnan(actual), np.where(same, 0.0, err)


def _reduce_event(values: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
    return values.reshape(batch + (-1,))


def check_round_trip(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                     build: Build = default_build) -> CheckResult:
    """Bijective: t.inv(t(x)) == x within the rounding of the intermediate y (uncached). Not bijective:
    the pseudo-inverse property t(t.inv(y)) == y on y = t(x)."""
    ev = evaluate(case, dtype, rng, build)
    t, eps = ev.transform.with_cache(0), torch.finfo(dtype).eps
    if t.bijective:
        back = t.inv(ev.y)
        y64 = ev.y.to(torch.float64)
        inverse64 = case.build(torch.float64).inv
        blocks, _ = jacobian_blocks(inverse64, y64, inverse64.domain.event_dim,
                                    per_event=not case.batch_dependent)
        spread = (blocks.abs() @ _reduce_event(y64.abs(), ev.batch).unsqueeze(-1)).squeeze(-1)
        allowance = ROUND_TRIP_ULPS * eps * (_reduce_event(ev.x64.abs(), ev.batch) + spread)
        actual, expected = _reduce_event(back.to(torch.float64), ev.batch), _reduce_event(ev.x64, ev.batch)
        what = "t.inv(t(x)) == x"
    else:
        again = t(t.inv(ev.y))
        y64 = _reduce_event(ev.y.to(torch.float64), ev.batch)
        allowance = ROUND_TRIP_ULPS * eps * (y64.abs() + y64.abs().amax(-1, keepdim=True))
        actual, expected = _reduce_event(again.to(torch.float64), ev.batch), y64
        what = "t(t.inv(y)) == y (not bijective)"
    ok, err = _close(actual.detach().numpy(), expected.numpy(), allowance.detach().numpy())
    return _elementwise("round_trip", case, dtype, ok.all(-1), err.max(-1), ev.coords, what)


def check_log_abs_det_jacobian(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                               build: Build = default_build) -> CheckResult:
    """log_abs_det_jacobian(x, y) has the batch shape and matches log|det| of the float64 jacrev Jacobian
    (projected to the coordinates the log-det refers to) element-wise; batch elements are independent."""
    ev = evaluate(case, dtype, rng, build)
    t = ev.transform
    try:
        ladj = t.log_abs_det_jacobian(ev.x, ev.y)
    except NotImplementedError:
        if t.bijective:
            return failed("log_abs_det_jacobian", case.name, dtype_name(dtype),
                          "bijective, but log_abs_det_jacobian raises NotImplementedError")
        return CheckResult("log_abs_det_jacobian", case.name, dtype_name(dtype),
                           message="not bijective: log_abs_det_jacobian raises NotImplementedError")
    if tuple(ladj.shape) != ev.batch:
        return failed("log_abs_det_jacobian", case.name, dtype_name(dtype),
                      f"shape {tuple(ladj.shape)}, the batch shape {ev.batch} is due (x {tuple(ev.x.shape)}, "
                      f"domain event_dim {t.domain.event_dim})")
    forward64 = case.reference_forward or case.build(torch.float64)
    blocks, off = jacobian_blocks(forward64, ev.x64, t.domain.event_dim, case.project, case.project_in,
                                  per_event=not case.batch_dependent)
    if blocks.shape[-1] != blocks.shape[-2]:
        return failed("log_abs_det_jacobian", case.name, dtype_name(dtype),
                      f"Jacobian block {tuple(blocks.shape[-2:])} is not square: the case needs a projection")
    expected = torch.linalg.slogdet(blocks)[1].numpy()
    tol = DEFAULT_TOLERANCE[dtype]
    allowance = tol.rtol * np.abs(expected) + tol.atol
    ok, err = _close(ladj.detach().to(torch.float64).numpy(), expected, allowance)
    message = f"against jacrev (float64), {tol}"
    if off != 0:
        ok[...] = False
        message += f"; the Jacobian couples batch elements (off-block entry {off:.3g})"
    return _elementwise("log_abs_det_jacobian", case, dtype, ok, err, ev.coords, message)


def check_constraints(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                      build: Build = default_build) -> CheckResult:
    """Inputs satisfy the domain (the case's points are right) and outputs the codomain, per event."""
    ev = evaluate(case, dtype, rng, build)
    t = ev.transform
    inside, out = t.domain.check(ev.x), t.codomain.check(ev.y)
    for name, constraint, checked in (("domain", t.domain, inside), ("codomain", t.codomain, out)):
        if tuple(checked.shape) != ev.batch:
            return failed("constraints", case.name, dtype_name(dtype),
                          f"{name} {constraint}.check returned shape {tuple(checked.shape)}; its event_dim "
                          f"{constraint.event_dim} implies {ev.batch}")
    if not inside.all():
        return failed("constraints", case.name, dtype_name(dtype),
                      f"{int((~inside).sum())} of the case's points are outside the domain {t.domain}")
    out = out.numpy()
    return _elementwise("constraints", case, dtype, out, (~out).astype(float), ev.coords,
                        f"outputs inside the codomain {t.codomain}")


def _sign_problems(case: TransformCase, ev: Evaluated) -> list[str]:
    t = ev.transform
    try:
        sign = t.sign
    except NotImplementedError:
        return []
    reference = case.reference_forward or case.build(torch.float64)
    blocks, _ = jacobian_blocks(reference, ev.x64, t.domain.event_dim, case.project,
                                per_event=not case.batch_dependent)
    diagonal = torch.diagonal(blocks, dim1=-2, dim2=-1)
    if (blocks - torch.diag_embed(diagonal)).abs().max() > 0:
        return [f"sign is {sign}, but the Jacobian is not diagonal"]
    declared = torch.as_tensor(sign, dtype=torch.float64).expand_as(ev.x64).reshape(diagonal.shape)
    mismatch = (diagonal.sign() != declared) & (diagonal != 0)
    return [f"sign {sign} differs from the sign of dy/dx at {int(mismatch.sum())} points"] if mismatch.any() else []


def check_structure(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                    build: Build = default_build) -> CheckResult:
    """forward_shape / inverse_shape say what the transform does; event_dim matches domain and codomain;
    sign is the sign of dy/dx where declared; t.inv.inv is t."""
    ev = evaluate(case, dtype, rng, build)
    t, problems = ev.transform, []
    if tuple(t.forward_shape(ev.x.shape)) != tuple(ev.y.shape):
        problems.append(f"forward_shape{tuple(ev.x.shape)} = {tuple(t.forward_shape(ev.x.shape))}, "
                        f"y has {tuple(ev.y.shape)}")
    if tuple(t.inverse_shape(ev.y.shape)) != tuple(ev.x.shape):
        problems.append(f"inverse_shape{tuple(ev.y.shape)} = {tuple(t.inverse_shape(ev.y.shape))}, "
                        f"x has {tuple(ev.x.shape)}")
    if tuple(t.inv(ev.y).shape) != tuple(ev.x.shape):
        problems.append(f"t.inv(y) has shape {tuple(t.inv(ev.y).shape)}, x has {tuple(ev.x.shape)}")
    event_in, event_out = t.domain.event_dim, t.codomain.event_dim
    if event_in == event_out:
        if t.event_dim != event_in:
            problems.append(f"event_dim {t.event_dim}, domain and codomain have {event_in}")
    else:
        try:
            problems.append(f"event_dim {t.event_dim} although domain/codomain have {event_in}/{event_out}")
        except ValueError:
            pass
    if t.inv.inv is not t:
        problems.append("t.inv.inv is not t")
    if t.inv.domain.event_dim != event_out or t.inv.codomain.event_dim != event_in:
        problems.append("t.inv's domain and codomain are not t's codomain and domain")
    problems += _sign_problems(case, ev)
    return CheckResult("structure", case.name, dtype_name(dtype), passed=not problems, compared=1,
                       failures=int(bool(problems)), message="; ".join(problems))


def check_cache(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                build: Build = default_build) -> CheckResult:
    """cache_size=1: t(x) again and t.inv(t(x)) return the cached tensors; cache_size=0 recomputes; both
    give the same values."""
    ev = evaluate(case, dtype, rng, build)
    problems = []
    cached = ev.transform.with_cache(1)
    y = cached(ev.x)
    if cached(ev.x) is not y:
        problems.append("cache_size=1: t(x) twice is not the cached y")
    if cached.inv(y) is not ev.x:
        problems.append("cache_size=1: t.inv(t(x)) is not x")
    plain = ev.transform.with_cache(0)
    y0 = plain(ev.x)
    if y0 is not ev.x and plain.inv(y0) is ev.x:
        problems.append("cache_size=0: t.inv(t(x)) returned x itself, from a cache")
    if not torch.equal(y0, y):
        problems.append("cache_size=0 and 1 give different values")
    return CheckResult("cache", case.name, dtype_name(dtype), passed=not problems, compared=1,
                       failures=int(bool(problems)), message="; ".join(problems))


def check_protocol(case: TransformCase, dtype: torch.dtype, rng: np.random.Generator,
                   build: Build = default_build) -> CheckResult:
    """Equality (t == t, t != t, t.inv.inv == t) and a pickle round trip that maps points as the original does."""
    ev = evaluate(case, dtype, rng, build)
    t, problems = ev.transform, []
    if not t == t or t != t:
        problems.append("t == t is False or t != t is True")
    if not t.inv.inv == t:
        problems.append("t.inv.inv != t")
    try:
        if not torch.equal(pickle.loads(pickle.dumps(t))(ev.x), t(ev.x)):
            problems.append("the unpickled transform maps points differently")
    except Exception as error:  # noqa: BLE001 - what pickling or the copy raised is the check's result
        problems.append(f"the pickle round trip raises {type(error).__name__}: {str(error)[:80]}")
    return CheckResult("protocol", case.name, dtype_name(dtype), passed=not problems, compared=3,
                       failures=len(problems), message="; ".join(problems))


CHECKS: dict[str, Callable[..., CheckResult]] = {
    "round_trip": check_round_trip,
    "log_abs_det_jacobian": check_log_abs_det_jacobian,
    "constraints": check_constraints,
    "protocol": check_protocol,
    "structure": check_structure,
    "cache": check_cache,
}

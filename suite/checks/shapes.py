"""Shapes of every family under batching, Independent and expand, checked in shape and in value.

A family's parameters come from the registry as n parameter sets; reshaping the leading axis gives
any batch shape. A `View` is a chain of `Expand` and `Reinterpret` (Independent) steps applied to
that batched instance; its `Layout` says which batch and event shapes torch must report and over
which grid of parameter sets the float64 reference is evaluated (the expanded grid, with the
reinterpreted dimensions summed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributions as D

from suite.checks.result import CheckResult
from suite.checks.shape_plans import (
    SAMPLE_SHAPES,
    VALUE_ROWS,
    VALUE_SAMPLE_SHAPE,
    BatchedParams,
    Expand,
    Layout,
    MakeIndependent,
    Reinterpret,
    Shape,
    View,
    Wrap,
    batched_params,
    known_error,
    leaf_params,
    one_thread,
    quiet,
    views,
    widen,
)
from suite.registry.families import DTYPES, Family, Tolerance, dtype_name

# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class ShapeTally:
    """What one check has compared so far, what disagreed, what torch does not implement; `to_result` makes
    it the suite's one CheckResult."""

    check: str
    where: str
    compared: int = 0
    combinations: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failures and self.compared > 0

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def to_result(self) -> CheckResult:
        return CheckResult(self.check, self.where, passed=self.ok, compared=self.compared,
                           failures=len(self.failures), message=self.summary(), details=list(self.failures))

    def summary(self, limit: int = 8) -> str:
        head = (f"{self.check} {self.where}: {len(self.failures)} failure(s) in {self.compared} comparisons"
                f" over {self.combinations} combinations")
        if self.compared == 0:
            head += " (nothing was compared)"
        lines = self.failures[:limit]
        if len(self.failures) > limit:
            lines.append(f"... {len(self.failures) - limit} more")
        return "\n  ".join([head, *lines])


def _call(result: ShapeTally, label: str, family: Family, method: str, dtype: torch.dtype,
          fn: Callable[[], torch.Tensor], expanded: bool = False) -> torch.Tensor | None:
    """Run one torch method; NotImplementedError and known errors skip it, other errors are failures."""
    if known_error(family, method, dtype, expanded):
        result.skipped.add(f"{method} (known error{', expanded' if expanded else ''})")
        return None
    try:
        with quiet():
            return fn()
    except NotImplementedError:
        result.skipped.add(method)
        return None
    except Exception as error:  # noqa: BLE001 - any other error is what the check reports
        result.fail(f"{label}: {method} raised {type(error).__name__}: {str(error)[:160]}")
        return None


def method_call(dist: D.Distribution, method: str, sample_shape: Shape, x: torch.Tensor | None):
    if method in ("sample", "rsample"):
        return lambda: getattr(dist, method)(sample_shape)
    if method in ("log_prob", "cdf"):
        return lambda: getattr(dist, method)(x)
    if method == "entropy":
        return dist.entropy
    return lambda: getattr(dist, method)


# ---------------------------------------------------------------------------------------------
# Shape checks


def check_view_shapes(family: Family, base: D.Distribution, batch_shape: Shape, view: View,
                      sample_shapes: tuple[Shape, ...], dtype: torch.dtype, result: ShapeTally,
                      independent: MakeIndependent = D.Independent) -> None:
    """batch_shape, event_shape and every method's output shape of one view, for each sample shape."""
    label = f"{view}"
    try:
        dist = view.apply(base, independent)
    except Exception as error:  # noqa: BLE001
        result.fail(f"{label}: building the view raised {type(error).__name__}: {error}")
        return
    layout = view.layout(batch_shape, tuple(base.event_shape))
    for attribute, expected in (("batch_shape", layout.batch_shape), ("event_shape", layout.event_shape)):
        result.compared += 1
        if tuple(getattr(dist, attribute)) != expected:
            result.fail(f"{label}: {attribute} {tuple(getattr(dist, attribute))}, expected {expected}")
    for method in ("entropy", "mean", "variance"):
        _check_shape(result, label, family, dist, method, (), None, layout, dtype, view.expands)
    for sample_shape in sample_shapes:
        result.combinations += 1
        where = f"{label} sample_shape={sample_shape}"
        x = _check_shape(result, where, family, dist, "sample", sample_shape, None, layout, dtype, view.expands)
        _check_shape(result, where, family, dist, "rsample", sample_shape, None, layout, dtype, view.expands)
        if x is None:
            continue
        for method in ("log_prob", "cdf"):
            _check_shape(result, where, family, dist, method, sample_shape, x, layout, dtype, view.expands)


def _check_shape(result, where, family, dist, method, sample_shape, x, layout, dtype, expanded):
    out = _call(result, where, family, method, dtype, method_call(dist, method, sample_shape, x), expanded)
    if out is None:
        return None
    result.compared += 1
    expected = layout.expected(method, sample_shape)
    if tuple(out.shape) != expected:
        result.fail(f"{where}: {method} shape {tuple(out.shape)}, expected {expected}")
        return None
    return out


def check_shapes(family: Family, batch_shape: Shape, dtype: torch.dtype, device: str | torch.device,
                 rng: np.random.Generator, plan: list[View] | None = None,
                 sample_shapes: tuple[Shape, ...] = SAMPLE_SHAPES, *, wrap: Wrap = lambda d: d,
                 independent: MakeIndependent = D.Independent, per_set: bool = False) -> CheckResult:
    """Every view of `views(batch_shape)` x every sample shape: the shapes torch reports and returns."""
    result = ShapeTally("shapes", f"{family.name} batch_shape={batch_shape} {dtype_name(dtype)}")
    params = batched_params(family, rng, batch_shape, per_set)
    with one_thread():
        try:
            base = wrap(params.instantiate(batch_shape, dtype, device, validate_args=False))
        except Exception as error:  # noqa: BLE001
            result.fail(f"construction raised {type(error).__name__}: {error}")
            return result.to_result()
        for view in plan if plan is not None else views(batch_shape):
            check_view_shapes(family, base, batch_shape, view, sample_shapes, dtype, result, independent)
    return result.to_result()


# ---------------------------------------------------------------------------------------------
# Value checks


def _agree(actual: np.ndarray, expected: np.ndarray, bound: np.ndarray) -> np.ndarray:
    same_nonfinite = (np.isnan(actual) & np.isnan(expected)) | (np.isinf(expected) & (actual == expected))
    with np.errstate(invalid="ignore"):
        return same_nonfinite | (np.abs(actual - expected) <= bound)


def compare_summed(result: ShapeTally, where: str, actual: torch.Tensor | None, terms: np.ndarray,
                   summed: int, tol: Tolerance, reference: bool = False) -> None:
    """actual == terms summed over their `summed` rightmost axes, within the tolerance of each term
    (rtol * sum|term| + atol * number of terms: the bound a sum of per-term errors obeys). NaN must
    meet NaN and an infinity the same infinity; with reference=True a NaN term means the reference
    has no value there and the element is not compared."""
    if actual is None:
        return
    axes = tuple(range(terms.ndim - summed, terms.ndim))
    expected = terms.sum(axis=axes)
    got = actual.detach().cpu().numpy().astype(np.float64)
    if got.shape != expected.shape:
        result.compared += 1
        result.fail(f"{where}: shape {got.shape}, the reference summed over {summed} dims has {expected.shape}")
        return
    defined = ~np.isnan(expected) if reference else np.ones(expected.shape, bool)
    if not defined.any():
        return
    result.compared += 1
    count = math.prod(terms.shape[terms.ndim - summed:])
    bound = tol.rtol * np.abs(terms).sum(axis=axes) + tol.atol * count
    good = _agree(got, expected, bound) | ~defined
    if not good.all():
        i = tuple(int(j) for j in np.argwhere(~good)[0])
        result.fail(f"{where}: {int((~good).sum())}/{good.size} elements differ; at {i} torch {got[i]!r}, "
                    f"expected {expected[i]!r} ({tol}, summed over {count} terms)")


def _reference_or_none(fn: Callable[[], np.ndarray]) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            return np.asarray(fn(), dtype=np.float64)
    except NotImplementedError:
        return None


def check_view_values(family: Family, params: BatchedParams, base: D.Distribution, view: View,
                      device: str | torch.device, rng: np.random.Generator, result: ShapeTally,
                      wrap: Wrap = lambda d: d, independent: MakeIndependent = D.Independent) -> None:
    """One view in value, at points of the reference on the view's grid (VALUE_SAMPLE_SHAPE of them).

    The view against an instance built directly on its grid from explicitly broadcast parameters:
    log_prob and entropy equal that instance's summed over the reinterpreted dimensions; mean,
    variance (and cdf when nothing is reinterpreted) equal it element by element. That instance against
    the float64 reference, element by element: log_prob and entropy (each batch element equals scipy's
    value for its own parameter set), except where the registry lists a known float64 deviation."""
    dtype = torch.float64
    tol = family.tolerance[dtype]
    layout = view.layout(params.batch_shape, tuple(base.event_shape))
    label = str(view)
    try:
        dist = view.apply(base, independent)
    except Exception as error:  # noqa: BLE001
        result.fail(f"{label}: building the view raised {type(error).__name__}: {error}")
        return
    result.combinations += 1
    ref = params.reference(layout.grid)
    grid = VALUE_SAMPLE_SHAPE + layout.grid
    rows = np.asarray(ref.values(rng)[VALUE_ROWS], dtype=np.float64)
    points = rows.reshape(grid + rows.shape[2:])
    x = torch.as_tensor(points, dtype=dtype, device=device)
    explicit = wrap(params.instantiate(layout.grid, dtype, device, validate_args=True))
    k, expanded = layout.reinterpreted, view.expands

    def both(method: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        theirs = _call(result, f"{label} (explicit)", family, method, dtype, method_call(explicit, method, (), x))
        if theirs is None:
            return None, None
        return _call(result, label, family, method, dtype, method_call(dist, method, (), x), expanded), theirs

    for method, summed in (("log_prob", k), ("entropy", k), ("mean", 0), ("variance", 0), ("cdf", 0)):
        if method == "cdf" and k:
            continue
        mine, theirs = both(method)
        if mine is None:
            continue
        compare_summed(result, f"{label} {method} vs explicitly built grid instance", mine,
                       theirs.detach().cpu().numpy(), summed, tol)
        if method in ("log_prob", "entropy") and not family.known_for(method, dtype):
            terms = _reference_or_none(lambda: ref.log_prob(rows) if method == "log_prob" else ref.entropy())
            if terms is not None:
                compare_summed(result, f"{label} {method} (grid instance) vs reference", theirs,
                               terms.reshape(grid if method == "log_prob" else layout.grid), 0, tol,
                               reference=True)


def check_values(family: Family, batch_shape: Shape, device: str | torch.device, rng: np.random.Generator,
                 plan: list[View] | None = None, *, wrap: Wrap = lambda d: d,
                 independent: MakeIndependent = D.Independent) -> CheckResult:
    """Every view of `views(batch_shape)` in value, in float64 (see check_view_values)."""
    result = ShapeTally("values", f"{family.name} batch_shape={batch_shape} float64")
    params = batched_params(family, rng, batch_shape)
    with one_thread():
        base = wrap(params.instantiate(batch_shape, torch.float64, device, validate_args=True))
        for view in plan if plan is not None else views(batch_shape):
            check_view_values(family, params, base, view, device, rng, result, wrap, independent)
    return result.to_result()


# ---------------------------------------------------------------------------------------------
# Gradients through shapes


def gradient_views(batch_shape: Shape) -> list[View]:
    """Independent over every batch dimension, and expand (then Independent over the expanded grid)."""
    target = widen(batch_shape)
    return [View((Reinterpret(len(batch_shape)),)), View((Expand(target),)),
            View((Expand(target), Reinterpret(len(target))))]


def check_gradient_flow(family: Family, batch_shape: Shape, device: str | torch.device,
                        rng: np.random.Generator, sample_shape: Shape = (2,), *, wrap: Wrap = lambda d: d,
                        independent: MakeIndependent = D.Independent) -> CheckResult:
    """For each gradient view, two losses: sum(rsample) (the pathwise gradient) and
    sum(log_prob(rsample)) (left out where log_prob is a known error). The gradient of each must reach
    every floating parameter, and be finite; that of sum(log_prob(rsample)) except at the parameter sets
    with a draw where the reference log density is not finite. There the loss is not finite and no finite
    gradient is due. (Kumaraswamy's draws within eps/4 of 1 round to 1, where its density with concentration0
    < 1 is infinite: one draw in 1e3 at concentration0 0.2, concentration1 50.)"""
    result = ShapeTally("gradient", f"{family.name} batch_shape={batch_shape} float64")
    params = batched_params(family, rng, batch_shape)
    with one_thread():
        for view in gradient_views(batch_shape):
            _gradient_view(family, params, batch_shape, view, device, sample_shape, wrap, independent, result)
    return result.to_result()


def _gradient_view(family: Family, params: BatchedParams, batch_shape: Shape, view: View,
                   device: str | torch.device, sample_shape: Shape, wrap: Wrap, independent: MakeIndependent,
                   result: ShapeTally) -> None:
    result.combinations += 1
    tensors = leaf_params(params.torch_params(batch_shape), torch.float64, device)
    leaves = {name: t for name, t in tensors.items() if isinstance(t, torch.Tensor)}
    try:
        with quiet():
            base = wrap(family.from_tensors(tensors, validate_args=False))
            dist = view.apply(base, independent)
            x = dist.rsample(sample_shape)
            losses = {"sum(rsample)": x.sum()}
            if not known_error(family, "log_prob", torch.float64, view.expands):
                losses["sum(log_prob(rsample))"] = dist.log_prob(x).sum()
            grads = {name: torch.autograd.grad(loss, list(leaves.values()), allow_unused=True, retain_graph=True)
                     for name, loss in losses.items() if loss.requires_grad}
    except Exception as error:  # noqa: BLE001 - any error is what the check reports
        result.fail(f"{view}: {type(error).__name__}: {str(error)[:200]}")
        return
    if "sum(rsample)" not in grads:
        result.fail(f"{view}: rsample does not depend on any parameter")
    for loss, per_leaf in grads.items():
        for name, grad in zip(leaves, per_leaf):
            result.compared += 1
            if grad is None:
                result.fail(f"{view}: no gradient of {loss} reaches {name}")
                continue
            bad = ~torch.isfinite(grad)
            if bad.any() and loss != "sum(rsample)":
                layout = view.layout(batch_shape, tuple(base.event_shape))
                bad &= ~_per_leaf(_sets_with_infinite_density(params, layout, x), grad)
            if bad.any():
                result.fail(f"{view}: gradient of {loss} for {name} has {int(bad.sum())}/{grad.numel()} "
                            "non-finite entries")


def _sets_with_infinite_density(params: BatchedParams, layout: Layout, x: torch.Tensor) -> torch.Tensor:
    """Which parameter sets (shaped like params.batch_shape) have a draw in `x` (sample dims + layout.grid +
    the event) where the reference log density is not finite."""
    event = layout.base_event
    points = x.detach().cpu().numpy().reshape((-1, math.prod(layout.grid)) + event)
    with np.errstate(all="ignore"):
        density = params.reference(layout.grid).log_prob(points)
    infinite = torch.as_tensor(~np.isfinite(density)).reshape(x.shape[:x.ndim - len(event)])
    return infinite.to(torch.int64).sum_to_size(params.batch_shape) > 0


def _per_leaf(per_set: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """A mask over parameter sets laid over a parameter's gradient: its sets' own dims, or any set for a
    parameter all sets share."""
    if grad.ndim < per_set.ndim:
        return per_set.any()
    return per_set.reshape(per_set.shape + (1,) * (grad.ndim - per_set.ndim)).to(grad.device)


# ---------------------------------------------------------------------------------------------
# Known errors, shown


def exercise_known_error(family: Family, key: str, device: str | torch.device, rng: np.random.Generator) -> None:
    """Call the method a known error names, in its situation ("method/float64" or "method/expanded"), on a
    batch of 3; raises what torch raises."""
    method, situation = key.split("/")
    dtype = torch.float64 if situation == "expanded" else DTYPES[situation]
    params = batched_params(family, rng, (3,))
    dist = params.instantiate((3,), dtype, device, validate_args=False)
    if situation == "expanded":
        dist = dist.expand(widen((3,)))
    with quiet():
        x = dist.sample()
        method_call(dist, method, (), x)()

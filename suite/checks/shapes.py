"""Shapes of every family under batching, Independent and expand, checked in shape and in value.

A family's parameters come from the registry as n parameter sets; reshaping the leading axis gives
any batch shape. A `View` is a chain of `Expand` and `Reinterpret` (Independent) steps applied to
that batched instance; its `Layout` says which batch and event shapes torch must report and over
which grid of parameter sets the float64 reference is evaluated (the expanded grid, with the
reinterpreted dimensions summed).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np
import torch
import torch.distributions as D

from suite.checks.result import CheckResult
from suite.checks.values import VALUE_METHODS as SHAPE_METHODS
from suite.registry.families import DTYPES, Family, ParamDict, Tolerance, dtype_name, round_to, to_tensor
from suite.registry.known import Severity
from suite.registry.references import Reference

Shape = tuple[int, ...]
Wrap = Callable[[D.Distribution], D.Distribution]
MakeIndependent = Callable[[D.Distribution, int], D.Distribution]

SAMPLE_SHAPES: tuple[Shape, ...] = ((), (1,), (5,), (2, 3))
BATCH_SHAPES: tuple[Shape, ...] = ((), (3,), (2, 3), (4, 1, 2))
# Rows of Reference.values() used as value points: the bulk quantiles 0.05 ... 0.95 (the tails are the
# reference-agreement checks' business), one sample dimension.
VALUE_ROWS = slice(2, 7)
VALUE_SAMPLE_SHAPE: Shape = (5,)
EXPAND_PREFIX = 2  # a new leading batch dimension added by the expand in every plan
EXPAND_WIDTH = 3  # what a size-1 batch dimension is expanded to

# Warnings torch emits for valid but extreme parameter sets (Wishart with df close to its dimension).
QUIET_WARNINGS = ("Low df values detected", "Singular sample detected")


def known_error(family: Family, method: str, dtype: torch.dtype, expanded: bool = False) -> str | None:
    """What torch raises for this method in this situation, where the registry knows it raises."""
    found = [k for k in family.known_for(method, dtype) + (family.known_for(method, dtype, mode="expanded")
                                                          if expanded else ())
             if k.severity is Severity.RAISES]
    return found[0].what if found else None


def known_error_situations(family: Family) -> list[tuple[str, str, str]]:
    """(method, situation, what torch raises) for every value method the registry knows raises: situation is
    a dtype name, or "expanded" where it raises only after expand."""
    out = []
    for k in family.known:
        for method in k.checks if k.severity is Severity.RAISES else ():
            if method not in SHAPE_METHODS:
                continue
            if k.mode == "expanded":
                out.append((method, "expanded", k.what))
            else:
                out.extend((method, name, k.what) for name in DTYPES if fnmatchcase(name, k.dtype))
    return out


def shared_params(family: Family) -> list[str]:
    """Parameters the registry gives as one value for the whole batch (0-d), because torch mishandles one
    value per parameter set (a `shapes.per_set` known deviation says how)."""
    params = family.make_params(np.random.default_rng(0), 2)
    return [name for name, value in params.items() if not isinstance(value, int) and np.ndim(value) == 0]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch single-threaded for a block: the checks here use tiny tensors, for which intra-op
    threads only add contention (batched cholesky on a busy 2-core machine is 15x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings torch emits for valid parameter sets (QUIET_WARNINGS)."""
    with warnings.catch_warnings():
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield


# ---------------------------------------------------------------------------------------------
# Shape plans


@dataclass(frozen=True)
class Expand:
    shape: Shape

    def __str__(self) -> str:
        return f"expand{self.shape}"


@dataclass(frozen=True)
class Reinterpret:
    ndims: int

    def __str__(self) -> str:
        return f"Independent({self.ndims})"


@dataclass(frozen=True)
class Layout:
    """Shapes of a view: `grid` is the shape of the parameter-set grid behind it (batch dimensions
    and reinterpreted ones), the last `reinterpreted` of which have become event dimensions."""

    grid: Shape
    reinterpreted: int
    base_event: Shape

    @property
    def batch_shape(self) -> Shape:
        return self.grid[: len(self.grid) - self.reinterpreted]

    @property
    def event_shape(self) -> Shape:
        return self.grid[len(self.grid) - self.reinterpreted:] + self.base_event

    def expected(self, method: str, sample_shape: Shape = ()) -> Shape:
        batch, event = self.batch_shape, self.event_shape
        return {
            "sample": sample_shape + batch + event,
            "rsample": sample_shape + batch + event,
            "log_prob": sample_shape + batch,
            "cdf": sample_shape + batch + event,
            "entropy": batch,
            "mean": batch + event,
            "variance": batch + event,
        }[method]


@dataclass(frozen=True)
class View:
    """Expand and Independent steps, applied left to right to a batched distribution."""

    steps: tuple[Expand | Reinterpret, ...] = ()

    def __str__(self) -> str:
        return ".".join(map(str, self.steps)) or "plain"

    @property
    def expands(self) -> bool:
        return any(isinstance(step, Expand) for step in self.steps)

    def apply(self, dist: D.Distribution, independent: MakeIndependent = D.Independent) -> D.Distribution:
        for step in self.steps:
            dist = dist.expand(step.shape) if isinstance(step, Expand) else independent(dist, step.ndims)
        return dist

    def layout(self, batch_shape: Shape, base_event: Shape = ()) -> Layout:
        grid, k = tuple(batch_shape), 0
        for step in self.steps:
            if isinstance(step, Reinterpret):
                k += step.ndims
            else:
                grid = tuple(step.shape) + grid[len(grid) - k:]
        return Layout(grid, k, tuple(base_event))


def widen(batch_shape: Shape, prefix: Shape = (EXPAND_PREFIX,), width: int = EXPAND_WIDTH) -> Shape:
    """An expand target for batch_shape: new leading dimensions and every size-1 dimension widened."""
    return tuple(prefix) + tuple(width if size == 1 else size for size in batch_shape)


def views(batch_shape: Shape) -> list[View]:
    """The plan for one batch shape: plain, Independent(k) for every valid k, expand, expand then
    Independent(k), and Independent(k) then expand (Independent.expand)."""
    n = len(batch_shape)
    target = widen(batch_shape)
    plan = [View()]
    plan += [View((Reinterpret(k),)) for k in range(n + 1)]
    plan += [View((Expand(target),))]
    plan += [View((Expand(target), Reinterpret(k))) for k in range(1, len(target) + 1)]
    plan += [View((Reinterpret(k), Expand(widen(batch_shape[: n - k])))) for k in range(1, n + 1)]
    return plan


def plan_size(batch_shapes: tuple[Shape, ...] = BATCH_SHAPES,
              sample_shapes: tuple[Shape, ...] = SAMPLE_SHAPES) -> int:
    """(batch shape, view, sample shape) combinations per family."""
    return sum(len(views(batch)) for batch in batch_shapes) * len(sample_shapes)


# ---------------------------------------------------------------------------------------------
# Parameters at a batch shape


@dataclass(frozen=True)
class BatchedParams:
    """A family's parameter sets laid out on a batch shape (prod(batch_shape) sets, at least one)."""

    family: Family
    flat: ParamDict
    batch_shape: Shape

    def on_grid(self, grid: Shape) -> ParamDict:
        """The sets broadcast to `grid` (batch_shape aligned to its right), leading axis flattened.
        Parameters without a leading axis (python ints, 0-d arrays) hold for every set and pass as they are."""
        out: ParamDict = {}
        for name, value in self.flat.items():
            if np.ndim(value) == 0:
                out[name] = value
                continue
            own = value.shape[1:]
            shaped = np.broadcast_to(value.reshape(self.batch_shape + own), tuple(grid) + own)
            out[name] = np.array(shaped).reshape((math.prod(grid),) + own)
        return out

    def torch_params(self, grid: Shape) -> ParamDict:
        """The sets on `grid` as torch takes them: leading axis shaped like the grid."""
        return {name: value if np.ndim(value) == 0 else value.reshape(tuple(grid) + value.shape[1:])
                for name, value in self.on_grid(grid).items()}

    def reference(self, grid: Shape) -> Reference:
        return self.family.reference(self.on_grid(grid))

    def instantiate(self, grid: Shape, dtype: torch.dtype, device: str | torch.device,
                    validate_args: bool | None = None) -> D.Distribution:
        with quiet():
            return self.family.instantiate(self.torch_params(grid), dtype, device, validate_args)


def batched_params(family: Family, rng: np.random.Generator, batch_shape: Shape,
                   per_set: bool = False) -> BatchedParams:
    """prod(batch_shape) parameter sets from the registry; per_set gives the family's scalar_params one
    value per set too (the layout torch mishandles for them)."""
    n = max(1, math.prod(batch_shape))
    flat = family.make_params(rng, n)
    if per_set:
        for name in shared_params(family):
            flat[name] = np.full(n, float(flat[name]))
    return BatchedParams(family, flat, tuple(batch_shape))


def leaf_params(params: ParamDict, dtype: torch.dtype, device: str | torch.device) -> dict:
    """Parameters as tensors that collect gradients (python ints stay ints)."""
    tensors = {name: to_tensor(value, dtype, device) for name, value in params.items()}
    return {name: t.requires_grad_() if isinstance(t, torch.Tensor) else t for name, t in tensors.items()}


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


def _shape_fn(dist: D.Distribution, method: str, sample_shape: Shape, x: torch.Tensor | None):
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
    out = _call(result, where, family, method, dtype, _shape_fn(dist, method, sample_shape, x), expanded)
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
        theirs = _call(result, f"{label} (explicit)", family, method, dtype, _shape_fn(explicit, method, (), x))
        if theirs is None:
            return None, None
        return _call(result, label, family, method, dtype, _shape_fn(dist, method, (), x), expanded), theirs

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
    every floating parameter, and be finite."""
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
            dist = view.apply(wrap(family.from_tensors(tensors, validate_args=False)), independent)
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
            elif not torch.isfinite(grad).all():
                bad = int((~torch.isfinite(grad)).sum())
                result.fail(f"{view}: gradient of {loss} for {name} has {bad}/{grad.numel()} non-finite entries")


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
        _shape_fn(dist, method, (), x)()


# ---------------------------------------------------------------------------------------------
# Documented behaviours


@dataclass(frozen=True)
class BroadcastPitfall:
    """log_prob of a value shaped (k, 1, *event) on a batch of k (pytorch#43878)."""

    value_shape: Shape
    batch_shape: Shape
    log_prob_shape: Shape
    outer: bool  # log_prob[i, j] is the density of value i under parameter set j
    diagonal_is_elementwise: bool  # its diagonal is what the user meant: log_prob of value i under set i
    validation: str  # with validate_args=True: "accepted", "support error" or "shape error"
    message: str  # the error validation raised, if any


def broadcast_pitfall(family: Family, k: int, device: str | torch.device, rng: np.random.Generator,
                      wrap: Wrap = lambda d: d) -> BroadcastPitfall:
    """What log_prob does with values x_i of a batch of k, passed as x.unsqueeze(1) (in float64, or
    float32 where float64 log_prob is a known error)."""
    dtype = torch.float32 if known_error(family, "log_prob", torch.float64) else torch.float64
    params = batched_params(family, rng, (k,))
    with one_thread(), quiet():
        dist = wrap(params.instantiate((k,), dtype, device, validate_args=False))
        x = dist.sample()
        value = x.unsqueeze(1)
        log_prob = dist.log_prob(value)
        square = tuple(log_prob.shape) == (k, k)
        outer = square and all(_same(log_prob[i], dist.log_prob(x[i].expand_as(x))) for i in range(k))
        diagonal = square and _same(torch.diagonal(log_prob), dist.log_prob(x))
        checked = wrap(params.instantiate((k,), dtype, device, validate_args=True))
        try:
            checked.log_prob(value)
            validation, message = "accepted", ""
        except ValueError as error:
            message = str(error)
            validation = "support error" if "support" in message else "shape error"
    return BroadcastPitfall(tuple(value.shape), (k,), tuple(log_prob.shape), outer, diagonal, validation, message)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to the rounding of a differently batched kernel (NaN equal to NaN)."""
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-12 if a.dtype == torch.float64 else 1e-6,
                                                 atol=0.0, equal_nan=True)


SEED_003_PRINTED: dict[str, Shape] = {
    "mean": (3, 2),
    "var_matrix": (3, 2, 2),
    "multi_normal.batch_shape": (3,),
    "multi_normal.event_shape": (2,),
    "multi_normal.sample()": (3, 2),
    "multi_normal.sample([100])": (100, 3, 2),
    "normal.batch_shape": (3, 2),
    "normal.event_shape": (),
    "iid_normal.batch_shape": (3,),
    "iid_normal.event_shape": (2,),
    "iid_normal.sample([100])": (100, 3, 2),
}


def seed_003_tensors(device: str | torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The post's mean (three rows [i, i]) and per-coordinate variance 0.1, in float32."""
    one_means = [torch.tensor([i, i]).float() for i in (1, 2, 3)]
    mean = torch.stack(one_means, dim=0).to(device)
    var = torch.stack([torch.tensor([0.1, 0.1]).float()] * 3, dim=0).to(device)
    return mean, var


def seed_003_shapes(device: str | torch.device,
                    independent: MakeIndependent = D.Independent) -> dict[str, Shape]:
    """Every shape the seed post prints, computed the way the post computes it."""
    mean, var = seed_003_tensors(device)
    var_matrix = var[:, :, None] * torch.eye(var.size(1), device=device)[None, :, :]
    multi_normal = D.MultivariateNormal(loc=mean, covariance_matrix=var_matrix)
    normal = D.Normal(loc=mean, scale=torch.sqrt(var))
    iid_normal = independent(normal, 1)
    return {
        "mean": tuple(mean.shape),
        "var_matrix": tuple(var_matrix.shape),
        "multi_normal.batch_shape": tuple(multi_normal.batch_shape),
        "multi_normal.event_shape": tuple(multi_normal.event_shape),
        "multi_normal.sample()": tuple(multi_normal.sample().shape),
        "multi_normal.sample([100])": tuple(multi_normal.sample(torch.Size([100])).shape),
        "normal.batch_shape": tuple(normal.batch_shape),
        "normal.event_shape": tuple(normal.event_shape),
        "iid_normal.batch_shape": tuple(iid_normal.batch_shape),
        "iid_normal.event_shape": tuple(iid_normal.event_shape),
        "iid_normal.sample([100])": tuple(iid_normal.sample(torch.Size([100])).shape),
    }


def shape_differences(observed: Mapping[str, Shape], expected: Mapping[str, Shape]) -> list[str]:
    return [f"{key}: {observed.get(key)}, expected {shape}" for key, shape in expected.items()
            if observed.get(key) != shape]


# ---------------------------------------------------------------------------------------------
# Three ways to write a Gaussian with diagonal covariance

DiagonalGaussians = Callable[[torch.Tensor, torch.Tensor], dict[str, D.Distribution]]


def diagonal_gaussians(loc: torch.Tensor, scale: torch.Tensor) -> dict[str, D.Distribution]:
    """Independent(Normal(loc, scale), 1), MultivariateNormal(loc, diag(scale^2)) and
    LowRankMultivariateNormal(loc, zero factor, scale^2): the same distribution."""
    variance = scale**2
    return {
        "Independent(Normal, 1)": D.Independent(D.Normal(loc, scale), 1),
        "MultivariateNormal(diag)": D.MultivariateNormal(loc, covariance_matrix=torch.diag_embed(variance)),
        "LowRankMultivariateNormal(zero factor)": D.LowRankMultivariateNormal(
            loc, torch.zeros(loc.shape + (1,), dtype=loc.dtype, device=loc.device), variance),
    }


def diagonal_gaussian_params(family: Family, rng: np.random.Generator, batch_shape: Shape,
                             dim: int) -> tuple[np.ndarray, np.ndarray]:
    """loc and scale shaped batch_shape + (dim,), from a univariate location-scale family's generator."""
    params = family.make_params(rng, max(1, math.prod(batch_shape)) * dim)
    return (params["loc"].reshape(tuple(batch_shape) + (dim,)),
            params["scale"].reshape(tuple(batch_shape) + (dim,)))


def check_diagonal_gaussians(family: Family, loc: np.ndarray, scale: np.ndarray, dtype: torch.dtype,
                             device: str | torch.device, rng: np.random.Generator,
                             make: DiagonalGaussians = diagonal_gaussians,
                             sample_shapes: tuple[Shape, ...] = SAMPLE_SHAPES) -> CheckResult:
    """Each way of writing the diagonal Gaussian against `family` (the univariate Normal) summed over the
    last axis: log_prob at the reference's bulk points and entropy; mean and variance against loc and
    scale^2; batch/event shapes and rsample shapes. Parameters are rounded to dtype for the reference."""
    result = ShapeTally("diagonal gaussians", f"batch_shape={loc.shape[:-1]} dim={loc.shape[-1]} "
                                               f"{dtype_name(dtype)}")
    tol = family.tolerance[dtype]
    flat = round_to({"loc": loc.reshape(-1), "scale": scale.reshape(-1)}, dtype)
    ref = family.reference(flat)
    rows = np.asarray(ref.values(rng)[VALUE_ROWS], dtype=np.float64)
    grid = VALUE_SAMPLE_SHAPE + loc.shape
    x = torch.as_tensor(rows.reshape(grid), dtype=dtype, device=device)
    expected = {"log_prob": (ref.log_prob(rows).reshape(grid), 1), "entropy": (ref.entropy().reshape(loc.shape), 1),
                "mean": (flat["loc"].reshape(loc.shape), 0), "variance": (flat["scale"].reshape(loc.shape) ** 2, 0)}
    with one_thread():
        dists = make(torch.as_tensor(loc, dtype=dtype, device=device),
                     torch.as_tensor(scale, dtype=dtype, device=device))
        for name, dist in dists.items():
            result.combinations += 1
            for attribute, shape in (("batch_shape", loc.shape[:-1]), ("event_shape", loc.shape[-1:])):
                result.compared += 1
                if tuple(getattr(dist, attribute)) != shape:
                    result.fail(f"{name}: {attribute} {tuple(getattr(dist, attribute))}, expected {shape}")
            for sample_shape in sample_shapes:
                result.compared += 1
                got = tuple(dist.rsample(sample_shape).shape)
                if got != sample_shape + loc.shape:
                    result.fail(f"{name}: rsample{sample_shape} shape {got}, expected {sample_shape + loc.shape}")
            for method, (terms, summed) in expected.items():
                value = _shape_fn(dist, method, (), x)()
                compare_summed(result, f"{name} {method}", value, terms, summed, tol, reference=True)
    return result.to_result()

"""Shape plans: batch shapes, views (chains of Expand and Independent steps) with the layout torch must report,
and a family's parameter sets laid out at a batch shape; what the shape checks run over."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import torch
import torch.distributions as D

from suite.checks.values import VALUE_METHODS as SHAPE_METHODS
from suite.registry.families import DTYPES, Family, ParamDict, to_tensor
from suite.registry.known import EAGER, Severity
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
            elif fnmatchcase(EAGER, k.mode):  # an execution mode's differences are not eager's
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

"""The element grid the edge checks build: elements of several methods and points, flattened to one axis.

Each element carries its coordinates (the method as an index into EDGE_METHODS, the parameters of its
parameter set, the point "at" where it has one), so a known deviation can be scoped to a region of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from suite.checks.result import CheckResult
from suite.registry.edges import EDGE_METHODS
from suite.registry.family import Family, Tolerance, dtype_name


def matches(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    """The strict element-wise comparison of `suite.checks.values.compare`: a finite reference within
    tolerance by a finite value; an infinite one by the same infinity; a NaN reference is not compared."""
    actual, expected = np.broadcast_arrays(np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.isfinite(actual) & (np.abs(actual - expected) <= tol.atol + tol.rtol * np.abs(expected))
        return np.where(np.isnan(expected), True, np.where(np.isfinite(expected), close, actual == expected))


def as_numpy(value: torch.Tensor) -> np.ndarray:
    return value.detach().to("cpu", torch.float64).numpy()


def row_coords(params: Mapping[str, np.ndarray | int], n: int) -> dict[str, np.ndarray]:
    """Per-set coordinates of parameters: a scalar parameter by name, a vector or matrix parameter by its
    smallest and largest entry ("probs.min", "probs.max")."""
    coords = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 0:
            coords[name] = np.full(n, float(value))
        elif value.shape[0] == n and value.ndim == 1:
            coords[name] = value
        elif value.shape[0] == n:
            flat = value.reshape(n, -1)
            coords[f"{name}.min"], coords[f"{name}.max"] = flat.min(-1), flat.max(-1)
    return coords


class Grid:
    """Accumulates elements: each `add` takes an ok array whose last axis runs over the parameter sets."""

    def __init__(self, check: str, family: Family, dtype: torch.dtype):
        self.check, self.family, self.dtype = check, family, dtype
        self.ok: list[np.ndarray] = []
        self.coords: list[dict[str, np.ndarray]] = []
        self.details: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.skipped = 0

    def add(self, method: str, ok: np.ndarray, params: Mapping[str, np.ndarray | int],
            actual: np.ndarray | float = np.nan, expected: np.ndarray | float = np.nan,
            at: np.ndarray | None = None, skip: np.ndarray | None = None, **extra: float) -> None:
        ok = np.atleast_1d(np.asarray(ok, dtype=bool))
        shape = ok.shape
        n = shape[-1]
        coords = {name: np.broadcast_to(value, shape) for name, value in row_coords(params, n).items()}
        coords["method"] = np.full(shape, float(EDGE_METHODS.index(method)))
        if at is not None and np.ndim(at) <= len(shape):
            coords["at"] = np.broadcast_to(np.asarray(at, dtype=np.float64), shape)
        for name, value in extra.items():
            coords[name] = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
        if skip is not None:
            skip = np.broadcast_to(skip, shape)
            self.skipped += int(skip.sum())
            ok = ok | skip
        self.ok.append(ok.ravel())
        self.coords.append({name: np.asarray(value, dtype=np.float64).ravel() for name, value in coords.items()})
        self.details.append((np.broadcast_to(actual, shape).ravel(), np.broadcast_to(expected, shape).ravel(),
                             coords["method"].ravel()))

    def result(self, message: str = "") -> CheckResult:
        if not self.ok:
            return CheckResult(self.check, self.family.name, dtype_name(self.dtype), True,
                               message="nothing to compare", ok=np.ones(0, bool), coords={})
        ok = np.concatenate(self.ok)
        names = sorted({name for coords in self.coords for name in coords})
        coords = {name: np.concatenate([c.get(name, np.full(c["method"].shape, np.nan)) for c in self.coords])
                  for name in names}
        actual, expected, method = (np.concatenate(parts) for parts in zip(*self.details))
        result = CheckResult(self.check, self.family.name, dtype_name(self.dtype), bool(ok.all()),
                             compared=int(ok.size - self.skipped), failures=int((~ok).sum()), ok=ok, coords=coords)
        if not ok.all():
            # The first failing element of each method; the first of them all is the headline.
            firsts = [int(np.argmax(~ok & (method == m))) for m in np.unique(method[~ok])]
            examples = {EDGE_METHODS[int(method[i])]: {
                "torch": float(actual[i]), "reference": float(expected[i]),
                **{name: float(coords[name][i]) for name in names
                   if name != "method" and not np.isnan(coords[name][i])}}
                for i in firsts}
            first = int(np.argmin(ok))
            result.worst = {"method": EDGE_METHODS[int(method[first])], **examples[EDGE_METHODS[int(method[first])]]}
            if len(examples) > 1:
                result.worst["others"] = {m: e for m, e in examples.items() if m != result.worst["method"]}
        result.message = message
        return result

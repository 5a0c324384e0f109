"""Every method with float64 parameters while the default dtype is float32, and on a zero-size batch.

Mixed dtypes ("edge.mixed_dtype"): each method returns float64 and the same values as with the default dtype
float64 (a constant made in the default dtype, or a float32 intermediate, shows up as a difference or an
error). Empty batches ("edge.empty"): each method returns the shape the batch implies, with no error.
A method torch does not implement (NotImplementedError) is not compared.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.distributions as D

from suite.checks.edge_grid import Grid, as_numpy
from suite.checks.edges import base_params
from suite.checks.result import CheckResult
from suite.registry.family import Family, ParamDict, Tolerance

BATCH_METHODS = ("log_prob", "cdf", "icdf", "mean", "variance", "stddev", "entropy", "mode", "sample", "rsample",
                 "enumerate_support")
SAME_VALUES = Tolerance(1e-12, 1e-300)


def _calls(dist: D.Distribution, value: torch.Tensor, q: torch.Tensor) -> dict[str, Callable[[], torch.Tensor]]:
    generator = torch.Generator(device=value.device).manual_seed(0)
    return {
        "log_prob": lambda: dist.log_prob(value), "cdf": lambda: dist.cdf(value), "icdf": lambda: dist.icdf(q),
        "mean": lambda: dist.mean, "variance": lambda: dist.variance, "stddev": lambda: dist.stddev,
        "entropy": dist.entropy, "mode": lambda: dist.mode,
        "sample": lambda: _seeded(generator, dist.sample), "rsample": lambda: _seeded(generator, dist.rsample),
        "enumerate_support": lambda: dist.enumerate_support(expand=True),
    }


def _seeded(generator: torch.Generator, draw: Callable[[], torch.Tensor]) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(generator.initial_seed()))
        return draw()


def _run(call: Callable[[], torch.Tensor]) -> torch.Tensor | Exception | None:
    try:
        return call()
    except NotImplementedError:
        return None
    except Exception as error:  # noqa: BLE001 - an error is what the element reports
        return error


def _inputs(family: Family, params: ParamDict, dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    dist = family.instantiate(params, dtype=dtype, device=device)
    value = dist.sample()
    q = torch.full(dist.batch_shape, 0.3, dtype=dtype, device=device)
    return value, q


def check_mixed_dtype(family: Family, device="cpu") -> CheckResult:
    """Each method with float64 parameters under default dtype float32: float64 results equal to those under
    default dtype float64."""
    params = base_params(family)
    grid = Grid("edge.mixed_dtype", family, torch.float64)
    previous = torch.get_default_dtype()
    try:
        results = {}
        torch.set_default_dtype(torch.float64)
        value, q = _inputs(family, params, torch.float64, device)
        for default in (torch.float64, torch.float32):
            torch.set_default_dtype(default)
            torch.manual_seed(0)
            results[default] = {name: _run(lambda name=name: _calls(
                family.instantiate(params, dtype=torch.float64, device=device), value, q)[name]())
                for name in BATCH_METHODS}
    finally:
        torch.set_default_dtype(previous)
    expected, actual = results[torch.float64], results[torch.float32]
    for name in BATCH_METHODS:
        want, got = expected[name], actual[name]
        if want is None and got is None:
            continue
        if not isinstance(want, torch.Tensor):
            grid.add(name, np.array([isinstance(got, torch.Tensor) or got is None]), {})
            continue
        if not isinstance(got, torch.Tensor):
            grid.add(name, np.array([False]), {})
            continue
        same_dtype = got.dtype == want.dtype
        if name in ("sample", "rsample") or not want.dtype.is_floating_point:
            grid.add(name, np.array([same_dtype and got.shape == want.shape]), {})
            continue
        a, e = as_numpy(got), as_numpy(want)
        with np.errstate(invalid="ignore"):
            close = (a.shape == e.shape) and bool(np.all((a == e) | (np.isnan(a) & np.isnan(e))
                                                        | (np.abs(a - e) <= SAME_VALUES.rtol * np.abs(e))))
        grid.add(name, np.array([same_dtype and close]), {},
                 actual=float(a.flat[0]) if a.size else np.nan, expected=float(e.flat[0]) if e.size else np.nan)
    return grid.result("float64 parameters under default dtype float32")


def check_empty_batch(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """Each method on a batch of zero parameter sets returns a result of the shape the batch implies."""
    one = base_params(family, 1)
    empty = {k: v if isinstance(v, int) or np.ndim(v) == 0 else np.asarray(v)[:0] for k, v in one.items()}
    grid = Grid("edge.empty", family, dtype)
    torch.manual_seed(0)
    value, q = _inputs(family, one, dtype, device)
    value, q = value[:0], q[:0]
    try:
        dist = family.instantiate(empty, dtype=dtype, device=device)
    except Exception as error:  # noqa: BLE001 - an empty batch must construct
        grid.add("construct", np.array([False]), {})
        return grid.result(f"constructing an empty batch raises {type(error).__name__}: {str(error)[:120]}")
    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    expected_shapes = {"log_prob": batch, "cdf": batch, "icdf": batch, "entropy": batch, "mean": batch + event,
                       "variance": batch + event, "stddev": batch + event, "mode": batch + event,
                       "sample": batch + event, "rsample": batch + event}
    problems = []
    for name, call in _calls(dist, value, q).items():
        got = _run(call)
        if got is None:
            continue
        if isinstance(got, Exception):
            grid.add(name, np.array([False]), {})
            problems.append(f"{name} raises {type(got).__name__}: {str(got)[:80]}")
            continue
        want = expected_shapes.get(name)
        ok = got.numel() == 0 and (want is None or tuple(got.shape) == want)
        grid.add(name, np.array([ok]), {})
        if not ok:
            problems.append(f"{name} has shape {tuple(got.shape)}, not {want}")
    if batch != (0,):
        problems.append(f"batch_shape {batch}, not (0,)")
        grid.add("construct", np.array([False]), {})
    return grid.result("; ".join(problems))

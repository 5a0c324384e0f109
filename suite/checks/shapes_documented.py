"""Documented shape behaviours of torch.distributions worth knowing: the broadcasting pitfall of log_prob, the
shapes of a posted example, and three ways to write a Gaussian with diagonal covariance."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributions as D

from suite.checks.result import CheckResult
from suite.checks.shape_plans import (
    SAMPLE_SHAPES,
    VALUE_ROWS,
    VALUE_SAMPLE_SHAPE,
    MakeIndependent,
    Shape,
    Wrap,
    batched_params,
    known_error,
    one_thread,
    quiet,
)
from suite.checks.shapes import ShapeTally, compare_summed, method_call
from suite.registry.families import Family, dtype_name, round_to

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
    # The points as dtype stores them, so the reference is evaluated where torch is (see round_to).
    rows = round_to({"x": ref.values(rng)[VALUE_ROWS]}, dtype)["x"]
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
                value = method_call(dist, method, (), x)()
                compare_summed(result, f"{name} {method}", value, terms, summed, tol, reference=True)
    return result.to_result()

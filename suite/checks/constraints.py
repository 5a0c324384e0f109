"""Checks of one constraint: `check` accepts points inside and on a closed boundary and rejects points just
outside, with the shape its event_dim implies; transform_to(c) and biject_to(c) map any real input into c,
and biject_to(c) round-trips."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributions.constraints as C
from torch.distributions import biject_to, transform_to

from suite.checks.result import CheckResult
from suite.registry.constraints import ConstraintCase

# Real inputs for the maps: the bulk, and pinned large magnitudes of either sign (the same every seed).
PINNED_MAGNITUDES = (0.0, 20.0, -20.0, 40.0, -40.0)
ROUND_TRIP_RTOL = 1e-6


def _result(check: str, case: ConstraintCase, problems: list[str], compared: int,
            ok: np.ndarray | None = None, coords: dict | None = None) -> CheckResult:
    return CheckResult(check, case.name, "float64", passed=not problems, compared=compared,
                       failures=len(problems) if ok is None else int((~ok).sum()), message="; ".join(problems),
                       ok=ok, coords=coords or {})


def check_membership(case: ConstraintCase, dtype: torch.dtype = torch.float64) -> CheckResult:
    """Inside and boundary points accepted, outside points rejected."""
    problems, compared = [], 0
    for label, groups, expected in (("inside", case.inside, True), ("on the closed boundary", case.boundary, True),
                                    ("just outside", case.outside, False)):
        for points in groups:
            value = torch.as_tensor(points, dtype=dtype)
            # a point (a row of the group) is accepted when every element of its check is
            per_point = case.constraint.check(value).reshape(value.shape[0], -1).all(-1)
            # every point of an inside group accepted; no point of an outside group accepted
            accepted = per_point.all() if expected else per_point.any()
            compared += 1
            if bool(accepted) != expected:
                problems.append(f"{label} {points.tolist()} {'rejected' if expected else 'accepted'}")
    return _result("check", case, problems, compared)


def check_event_dim(case: ConstraintCase) -> CheckResult:
    """check(value) has value's shape less event_dim dims, for a batch of two events."""
    points = torch.as_tensor(case.inside[0], dtype=torch.float64)
    batch = torch.stack([points, points])
    event_dim = case.constraint.event_dim
    expected = tuple(batch.shape[:batch.dim() - event_dim])
    got = tuple(case.constraint.check(batch).shape)
    problems = [] if got == expected else [f"check of shape {tuple(batch.shape)} returned {got}; event_dim "
                                           f"{event_dim} implies {expected}"]
    return _result("event_dim", case, problems, 1)


def _real_inputs(transform, event: torch.Tensor, rng: np.random.Generator, n: int) -> torch.Tensor:
    shape = tuple(transform.inverse_shape(event.shape))
    size = int(np.prod(shape, dtype=np.int64))
    pinned = np.repeat(np.asarray(PINNED_MAGNITUDES)[:, None], size, axis=1)
    bulk = rng.normal(0, 1, (n, size)) * 10 ** rng.uniform(-2, 1, (n, 1))
    return torch.as_tensor(np.concatenate([pinned, bulk]).reshape((-1,) + shape))


def check_maps_into(case: ConstraintCase, registry_name: str, rng: np.random.Generator,
                    n: int = 200) -> CheckResult:
    """registry(c)(x) lies in c for real x: the bulk and pinned magnitudes up to 40 (coordinate: the
    largest |x| of an input)."""
    registry = {"transform_to": transform_to, "biject_to": biject_to}[registry_name]
    try:
        transform = registry(case.constraint)
    except NotImplementedError:
        return _result(registry_name, case, [], 0)
    event = torch.as_tensor(case.inside[0][0], dtype=torch.float64)
    x = _real_inputs(transform, event, rng, n)
    y = transform(x)
    ok = case.constraint.check(y).reshape(x.shape[0], -1).all(-1).numpy()
    x_abs = x.abs().reshape(x.shape[0], -1).amax(-1).numpy()
    problems = [] if ok.all() else [f"{int((~ok).sum())} outputs outside {case.constraint}, e.g. at |x| = "
                                    f"{x_abs[~ok][:3].tolist()}"]
    return _result(registry_name, case, problems, int(ok.size), ok, {"x_absmax": x_abs})


def check_biject_round_trip(case: ConstraintCase, rng: np.random.Generator, n: int = 200) -> CheckResult:
    """biject_to(c).inv(biject_to(c)(x)) == x (relative 1e-6) for moderate x (|x| <= 10)."""
    try:
        transform = biject_to(case.constraint)
    except NotImplementedError:
        return _result("biject_round_trip", case, [], 0)
    event = torch.as_tensor(case.inside[0][0], dtype=torch.float64)
    x = _real_inputs(transform, event, rng, n).clamp(-10, 10)
    back = transform.inv(transform(x))
    err = (back - x).abs().reshape(x.shape[0], -1).amax(-1)
    scale = x.abs().reshape(x.shape[0], -1).amax(-1) + 1
    ok = (err <= ROUND_TRIP_RTOL * scale).numpy()
    problems = [] if ok.all() else [f"{int((~ok).sum())} inputs not recovered, worst error {err.max():.3g}"]
    return _result("biject_round_trip", case, problems, int(ok.size), ok,
                   {"x_absmax": x.abs().reshape(x.shape[0], -1).amax(-1).numpy()})


def check_dependent() -> list[str]:
    """dependent constraints: check raises ValueError, is_dependent tells them apart, the base raises."""
    problems = []
    try:
        C.dependent.check(torch.zeros(1))
        problems.append("dependent.check did not raise")
    except ValueError:
        pass
    if not C.is_dependent(C.dependent) or C.is_dependent(C.real):
        problems.append("is_dependent is wrong")
    prop = C.dependent_property(lambda self: C.real, is_discrete=True, event_dim=1)
    if not C.is_dependent(prop) or prop.is_discrete is not True or prop.event_dim != 1:
        problems.append("dependent_property does not carry is_discrete / event_dim")
    try:
        C.Constraint().check(torch.zeros(1))
        problems.append("Constraint().check did not raise NotImplementedError")
    except NotImplementedError:
        pass
    return problems

"""Every public constraint of torch.distributions.constraints, as cases: an instance, points inside, on a
closed boundary (accepted) and just outside (rejected), each as an array of shape (points,) + event."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch.distributions.constraints as C

from suite.registry.known import Known, Severity

TINY = np.finfo(np.float64).tiny
ABOVE_ONE = np.nextafter(1.0, 2.0)
BELOW_ONE = np.nextafter(1.0, 0.0)
NAN = float("nan")


@dataclass(frozen=True)
class ConstraintCase:
    name: str
    constraint: C.Constraint
    inside: list = field(default_factory=list)
    boundary: list = field(default_factory=list)
    outside: list = field(default_factory=list)
    covers: tuple[str, ...] = ()


def _case(name: str, constraint, inside=(), boundary=(), outside=(), covers: tuple[str, ...] = ()):
    return ConstraintCase(name, constraint, [np.asarray(p, dtype=np.float64) for p in inside],
                          [np.asarray(p, dtype=np.float64) for p in boundary],
                          [np.asarray(p, dtype=np.float64) for p in outside], covers or (name,))


CONSTRAINT_CASES: list[ConstraintCase] = [
    _case("boolean", C.boolean, [[0.0, 1.0]], outside=[[0.5, 2.0, -1.0]]),
    _case("real", C.real, [[0.0, -1e300, 1e300, float("inf")]], outside=[[NAN]]),
    _case("real_vector", C.real_vector, [[[0.0, 1e300]]], outside=[[[NAN, 0.0]]]),
    _case("greater_than", C.greater_than(1.0), [[ABOVE_ONE, 1e300]], outside=[[1.0, BELOW_ONE, -1e300]]),
    _case("greater_than_eq", C.greater_than_eq(1.0), [[ABOVE_ONE, 1e300]], [[1.0]], [[BELOW_ONE]]),
    _case("less_than", C.less_than(1.0), [[BELOW_ONE, -1e300]], outside=[[1.0, ABOVE_ONE]]),
    _case("interval", C.interval(-1.0, 1.0), [[0.0, BELOW_ONE]], [[-1.0, 1.0]], [[ABOVE_ONE, -ABOVE_ONE]]),
    _case("unit_interval", C.unit_interval, [[0.5, TINY]], [[0.0, 1.0]], [[-TINY, ABOVE_ONE]]),
    _case("half_open_interval", C.half_open_interval(0.0, 1.0), [[TINY, BELOW_ONE]], [[0.0]],
          [[1.0, -TINY]]),
    _case("integer_interval", C.integer_interval(0, 5), [[1.0, 3.0]], [[0.0, 5.0]], [[2.5, -1.0, 6.0]]),
    _case("nonnegative_integer", C.nonnegative_integer, [[7.0, 1e15]], [[0.0]], [[-1.0, 0.5]]),
    _case("positive_integer", C.positive_integer, [[2.0]], [[1.0]], [[0.0, 1.5]]),
    _case("nonnegative", C.nonnegative, [[TINY, 1e300]], [[0.0]], [[-TINY]]),
    _case("positive", C.positive, [[TINY, 1e300]], outside=[[0.0, -TINY]]),
    _case("simplex", C.simplex, [[[0.2, 0.3, 0.5]]], [[[1.0, 0.0, 0.0]]],
          [[[0.5, 0.5, 1e-5]], [[1.1, -0.1, 0.0]]]),
    _case("multinomial", C.multinomial(10), [[[3.0, 6.0]]], [[[0.0, 10.0]]], [[[-1.0, 2.0]], [[6.0, 5.0]]]),
    _case("one_hot", C.one_hot, [[[0.0, 1.0, 0.0]]], outside=[[[1.0, 1.0, 0.0]], [[0.5, 0.5, 0.0]]]),
    _case("lower_triangular", C.lower_triangular, [[[[1.0, 0.0], [-2.0, 0.0]]]],
          outside=[[[[1.0, 1e-300], [0.0, 1.0]]]]),
    _case("lower_cholesky", C.lower_cholesky, [[[[1.0, 0.0], [-2.0, TINY]]]],
          outside=[[[[1.0, 0.0], [0.0, 0.0]]], [[[1.0, 1e-300], [0.0, 1.0]]]]),
    _case("corr_cholesky", C.corr_cholesky, [[[[1.0, 0.0], [0.6, 0.8]]]],
          outside=[[[[1.0, 0.0], [0.6, 0.8 + 1e-6]]], [[[1.0, 0.0], [-0.6, -0.8]]]]),
    _case("square", C.square, [[[[1.0, 2.0], [3.0, 4.0]]]], outside=[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]]),
    _case("symmetric", C.symmetric, [[[[1.0, 2.0], [2.0, 1.0]]]], outside=[[[[1.0, 2.0], [2.001, 1.0]]]]),
    _case("positive_semidefinite", C.positive_semidefinite, [[[[2.0, 1.0], [1.0, 2.0]]]],
          [[[[1.0, 1.0], [1.0, 1.0]]]], [[[[1.0, 2.0], [2.0, 1.0]]]]),
    _case("positive_definite", C.positive_definite, [[[[2.0, 1.0], [1.0, 2.0]]]],
          outside=[[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 2.0], [2.0, 1.0]]]]),
    _case("independent", C.independent(C.positive, 1), [[[1.0, TINY]]], outside=[[[1.0, 0.0]]]),
    _case("cat", C.cat([C.positive, C.real], dim=-1, lengths=[1, 2]), [[[1.0, -5.0, 3.0]]],
          outside=[[[0.0, -5.0, 3.0]]]),
    _case("stack", C.stack([C.positive, C.real], dim=-1), [[[1.0, -5.0]]], outside=[[[-1.0, 0.0]]]),
    _case("MixtureSameFamilyConstraint", C.MixtureSameFamilyConstraint(C.positive), [[[1.0, 2.0]]],
          outside=[[[1.0, 0.0]]]),
]

# Constraints that are not sets of values: dependent ones (their check raises) and the abstract base.
NOT_SETS = ("Constraint", "dependent", "dependent_property", "is_dependent")


def uncovered_constraints(cases: list[ConstraintCase] = CONSTRAINT_CASES) -> list[str]:
    covered = {name for case in cases for name in case.covers} | set(NOT_SETS)
    return [name for name in C.__all__ if name not in covered]


def _saturates(check: str, bound: str) -> Known:
    return Known(check, f"x = -40 maps to the bound {bound} exactly (exp(-40) < eps), outside the open constraint",
                 Severity.WRONG_FLOAT64, region=lambda c: c["x_absmax"] > 36, where="|x| > 36")


def _not_positive_definite(check: str) -> Known:
    return Known(check, "the 2x2 matrix L L^T, L with diagonal exp(x), fails the check for |x| > 15"
                 " (e.g. all coordinates 20): its rounding is rejected by the eigenvalue / Cholesky test",
                 Severity.WRONG_FLOAT64, region=lambda c: c["x_absmax"] > 15, where="|x| > 15")


KNOWN: dict[str, tuple[Known, ...]] = {
    "greater_than": (_saturates("transform_to", "lower_bound"), _saturates("biject_to", "lower_bound")),
    "less_than": (_saturates("transform_to", "upper_bound"), _saturates("biject_to", "upper_bound")),
    "positive_definite": (_not_positive_definite("transform_to"),),
    "positive_semidefinite": (_not_positive_definite("transform_to"),),
    "stack": (Known("event_dim", "constraints.stack(cseq, dim=-1).event_dim is 1 but its check keeps the "
                    "stacked dim: shape (1, 2) for one event of shape (2,)", Severity.RAISES),),
}

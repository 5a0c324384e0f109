"""Edge checks: support ends, points outside the support, legal boundary parameters, every parameterisation.

Pure functions over a registry family; everything is derived from the family's constraints, support and
reference, except what its `Family.edges` declares. The parameter sets are deterministic (the family's
generator at seed 0, with boundary values set from constraints), so every seed checks the same elements.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.distributions as D
from torch.distributions import constraints as C

from suite.checks.edge_grid import Grid, as_numpy, matches
from suite.checks.result import CheckResult
from suite.registry.edges import Edges
from suite.registry.family import Family, ParamDict, round_to

N_SETS = 4
NUMPY_DTYPE = {torch.float32: np.float32, torch.float64: np.float64}
# Logits out to hundreds in magnitude, both signs, and infinite (a certain or impossible event); vector
# logits are these times linspace(1, -1, k), and for an infinite one, 0 with the last half of the
# categories at -inf (impossible).
LOGITS = np.array([-np.inf, -700.0, -300.0, -100.0, -40.0, -1.0, 0.0, 1.0, 40.0, 100.0, 300.0, 700.0, np.inf])
MATRIX_PARAMETERISATIONS = ("covariance_matrix", "precision_matrix", "scale_tril")


def edges_of(family: Family) -> Edges:
    return family.edges if family.edges is not None else Edges()


def base_params(family: Family, n: int = N_SETS) -> ParamDict:
    return family.make_params(np.random.default_rng(0), n)


def param_constraints(family: Family) -> dict[str, C.Constraint]:
    return {name: c for name, c in family.constraints().items() if name in base_params(family)}


def _implemented(call: Callable[[], object]) -> bool:
    try:
        call()
    except NotImplementedError:
        return False
    except Exception:  # noqa: BLE001 - implemented but failing: the check reports it
        return True
    return True


def torch_implements(family: Family, method: str) -> bool:
    dist = family.example()
    if method in ("cdf", "icdf"):
        return _implemented(lambda: getattr(dist, method)(torch.full(dist.batch_shape, 0.5, dtype=torch.float64)))
    if method == "entropy":
        return _implemented(dist.entropy)
    return _implemented(lambda: getattr(dist, method))


def reference_implements(family: Family, method: str) -> bool:
    ref = family.reference(base_params(family))
    point = np.full((1, ref.n), 0.5)
    return _implemented(lambda: getattr(ref, method)(point) if method in ("cdf", "icdf") else getattr(ref, method)())


def not_applicable(family: Family, kind: str) -> str | None:
    """Why an edge kind does not apply to a family (declared in its entry, or derived), or None."""
    declared = edges_of(family).not_applicable.get(kind)
    if declared:
        return declared
    if kind == "icdf_ends" and not torch_implements(family, "icdf"):
        return "torch does not implement icdf"
    if kind == "cdf_ends" and not torch_implements(family, "cdf"):
        return "torch does not implement cdf"
    if kind in ("icdf_ends", "cdf_ends") and not reference_implements(family, kind.split("_")[0]):
        return f"the reference has no {kind.split('_')[0]}"
    if kind in ("icdf_ends", "cdf_ends") and family.event_dim:
        return "a multivariate event has no quantile function"
    if kind == "outside" and not family.reference(base_params(family)).outside():
        return "the reference lists no point outside the support (all of the real line or space, or none declared)"
    if kind == "boundary_params" and not boundary_cases(family):
        return "no parameter has a constraint that attains a legal boundary value (open or dependent bounds only)"
    if kind == "logits" and "logits" not in family.example().arg_constraints:
        return "no logits parameterisation"
    if kind == "logits" and edges_of(family).logits_log_prob is None:
        return "the entry declares no exact logits reference"
    if kind == "parameterisation" and len(matrix_parameterisations(family)) < 2:
        return "a single parameterisation"
    return None


def _build(family: Family, params: ParamDict, dtype: torch.dtype, device, validate: bool = False) -> D.Distribution:
    return family.instantiate(params, dtype=dtype, device=device, validate_args=validate)


def _tensor(x: np.ndarray, dtype: torch.dtype, device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)


def check_ends(family: Family, method: str, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """icdf at q = 0 and 1 is the support's lower and upper end ("edge.icdf_ends"); cdf at the support's ends
    (finite or infinite) is 0 and 1 ("edge.cdf_ends")."""
    params = round_to(base_params(family), dtype)
    ref, dist = family.reference(params), _build(family, params, dtype, device)
    q = np.array([[0.0], [1.0]]) * np.ones((1, ref.n))
    points = q if method == "icdf" else support_ends(family, ref, dist)
    actual = as_numpy(getattr(dist, method)(_tensor(points, dtype, device)))
    expected = ref.icdf(q) if method == "icdf" else ref.cdf(points)
    grid = Grid(f"edge.{method}_ends", family, dtype)
    grid.add(method, matches(actual, expected, family.tolerance[dtype]), params, actual, expected, at=points,
             end=np.array([[0.0], [1.0]]))
    return grid.result()


def support_ends(family: Family, ref, dist: D.Distribution) -> np.ndarray:
    """The support's lower and upper end per parameter set, shaped (2, n): the reference's quantiles at 0 and
    1 where it has them, else the bounds of torch's support constraint (infinite where it has none)."""
    q = np.array([[0.0], [1.0]]) * np.ones((1, ref.n))
    if reference_implements(family, "icdf"):
        return ref.icdf(q)
    support = dist.support
    ends = []
    for name, default in (("lower_bound", -np.inf), ("upper_bound", np.inf)):
        bound = getattr(support, name, default)
        ends.append(as_numpy(bound) if isinstance(bound, torch.Tensor) else np.full(ref.n, float(bound)))
    return np.broadcast_to(np.stack(ends), q.shape)


def check_outside(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """Outside the support, with validation off log_prob is -inf and cdf 0 (below) or 1 (above); with
    validation on, both raise ValueError."""
    params = round_to(base_params(family), dtype)
    ref, dist = family.reference(params), _build(family, params, dtype, device)
    grid = Grid("edge.outside", family, dtype)
    tol = family.tolerance[dtype]
    with_cdf = torch_implements(family, "cdf") and reference_implements(family, "cdf")
    for index, point in enumerate(ref.outside()):
        point = np.asarray(point, dtype=np.float64).astype(NUMPY_DTYPE[dtype]).astype(np.float64)
        at = point if ref.event_dim == 0 else None
        x = _tensor(point, dtype, device)
        actual = call(lambda: dist.log_prob(x), (ref.n,))
        grid.add("log_prob", actual == -np.inf, params, actual, -np.inf, at=at, outside_set=index)
        grid.add("log_prob.validated", _raises_value_error(family, params, dtype, device, "log_prob", point),
                 params, at=at, outside_set=index)
        if with_cdf:
            actual, expected = call(lambda: dist.cdf(x), (ref.n,)), np.round(ref.cdf(point))
            grid.add("cdf", matches(actual, expected, tol), params, actual, expected, at=at, outside_set=index)
            grid.add("cdf.validated", _raises_value_error(family, params, dtype, device, "cdf", point),
                     params, at=at, outside_set=index)
    return grid.result()


def call(method: Callable[[], torch.Tensor], shape: tuple[int, ...]) -> np.ndarray:
    """A torch method's values, or NaN everywhere where it raises (so every element of it fails)."""
    try:
        return as_numpy(method())
    except Exception:  # noqa: BLE001 - raising where a value is due is what the element reports
        return np.full(shape, np.nan)


def _raises_value_error(family: Family, params: ParamDict, dtype, device, method: str,
                        point: np.ndarray) -> np.ndarray:
    """Per parameter set: does method(point) raise ValueError with validation on?"""
    n = point.shape[0]
    raised = np.zeros(n, dtype=bool)
    for i in range(n):
        row = {k: v if isinstance(v, int) or np.ndim(v) == 0 else np.asarray(v)[i:i + 1] for k, v in params.items()}
        try:
            getattr(_build(family, row, dtype, device, validate=True), method)(_tensor(point[i:i + 1], dtype, device))
        except ValueError:
            raised[i] = True
        except Exception:  # noqa: BLE001 - any other error is the wrong answer
            pass
    return raised


def boundary_values(constraint: C.Constraint) -> list[float | str]:
    """The legal boundary values a constraint attains: the closed ends of an interval or half-line, integer
    bounds, and for a simplex a zero category and a certain one ("zero_category", "one_hot"). An open end
    (positive, greater_than) is not a legal value, so it has none."""
    while isinstance(constraint, C.independent):
        constraint = constraint.base_constraint
    if isinstance(constraint, C._Simplex):
        return ["zero_category", "one_hot"]
    lower, upper = getattr(constraint, "lower_bound", None), getattr(constraint, "upper_bound", None)
    if isinstance(lower, torch.Tensor) or isinstance(upper, torch.Tensor):
        return []  # a bound that depends on another parameter
    if isinstance(constraint, (C._Interval, C._IntegerInterval)):
        return [float(lower), float(upper)]
    if isinstance(constraint, (C._HalfOpenInterval, C._GreaterThanEq, C._IntegerGreaterThan)):
        return [float(lower)]
    return []


def boundary_cases(family: Family) -> list[tuple[str, float | str, ParamDict]]:
    """(parameter, boundary value, parameter sets with that parameter at it) for every legal boundary."""
    cases = []
    for name, constraint in param_constraints(family).items():
        for value in boundary_values(constraint):
            params = base_params(family)
            if isinstance(params[name], int):
                continue
            current = np.array(params[name], dtype=np.float64, copy=True)
            if value == "zero_category":
                current[..., 0] = 0.0
                current /= current.sum(-1, keepdims=True)
            elif value == "one_hot":
                current[:] = 0.0
                current[..., -1] = 1.0
            else:
                current[:] = value
            params[name] = current
            cases.append((name, value, params))
    return cases


def support_points(family: Family, ref, rng: np.random.Generator) -> np.ndarray:
    """Points to evaluate log_prob at, shaped (m, n, *event): small counts for a univariate discrete family,
    every vertex (times the total count) for a one-hot or multinomial one, the reference's quantiles else."""
    n = ref.n
    if family.discrete and ref.event_dim == 0:
        return np.arange(4.0)[:, None] * np.ones((1, n))
    if family.discrete:
        k = family.example().event_shape[-1]
        total = float(getattr(ref, "total_count", 1))
        return total * np.eye(k)[:, None, :] * np.ones((1, n, 1))
    with np.errstate(all="ignore"):
        return ref.values(rng)


def check_boundary_params(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """Every legal boundary value of every parameter: accepted with validation on; log_prob (an impossible
    outcome -inf exactly, a certain one 0), mean, variance and entropy agree with the reference."""
    grid = Grid("edge.boundary_params", family, dtype)
    tol = family.tolerance[dtype]
    for boundary, (_name, _value, params) in enumerate(boundary_cases(family)):
        params = round_to(params, dtype)
        n = next(np.shape(v)[0] for v in params.values() if np.ndim(v) > 0)
        try:
            _build(family, params, dtype, device, validate=True)
            accepted = np.ones(n, dtype=bool)
        except Exception:  # noqa: BLE001 - a legal parameter rejected, however
            accepted = np.zeros(n, dtype=bool)
        grid.add("log_prob.validated", accepted, params, boundary=boundary)
        ref, dist = family.reference(params), _build(family, params, dtype, device)
        with np.errstate(all="ignore"):
            points = support_points(family, ref, np.random.default_rng(0)).astype(NUMPY_DTYPE[dtype])
            expected = ref.log_prob(points.astype(np.float64))
        actual = call(lambda: dist.log_prob(_tensor(points, dtype, device)), expected.shape)
        at = points if ref.event_dim == 0 else None
        grid.add("log_prob", matches(actual, expected, tol), params, actual, expected, at=at, boundary=boundary)
        for method in ("mean", "variance", "entropy"):
            try:
                actual = as_numpy(getattr(dist, method)() if method == "entropy" else getattr(dist, method))
            except NotImplementedError:
                continue
            try:
                with np.errstate(all="ignore"):
                    expected = np.asarray(getattr(ref, method)(), dtype=np.float64)
            except Exception:  # noqa: BLE001 - the reference has no value at this boundary: not compared
                continue
            ok = matches(actual, expected, tol)
            ok = ok.reshape(n, -1).all(-1) if ok.ndim > 1 else ok
            grid.add(method, ok, params, actual.reshape(n, -1)[:, 0], expected.reshape(n, -1)[:, 0],
                     boundary=boundary)
    return grid.result()


def logits_params(family: Family) -> ParamDict:
    """The family's other parameters at seed 0, with logits (from LOGITS) in place of probs."""
    params = base_params(family, len(LOGITS))
    probs = params.pop("probs")
    k = np.shape(probs)[-1] if np.ndim(probs) > 1 else 0
    if not k:
        params["logits"] = LOGITS.copy()
        return params
    with np.errstate(invalid="ignore"):
        vector = LOGITS[:, None] * np.linspace(1.0, -1.0, k)[None]
    vector[np.isinf(LOGITS)] = np.where(np.arange(k) < (k + 1) // 2, 0.0, -np.inf)
    params["logits"] = vector
    return params


def check_logits(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """log_prob through the logits parameterisation, logits out to hundreds in magnitude, against the entry's
    exact logits reference; entropy stays finite."""
    params = round_to(logits_params(family), dtype)
    dist = _build(family, params, dtype, device)
    probs_params = {k: v for k, v in params.items() if k != "logits"}
    logits = params["logits"]
    with np.errstate(over="ignore"):
        probs_params["probs"] = (1 / (1 + np.exp(-logits)) if np.ndim(logits) == 1
                                 else np.exp(logits - logits.max(-1, keepdims=True)))
    ref = family.reference(probs_params)
    points = support_points(family, ref, np.random.default_rng(0))
    if not family.discrete:
        points = continuous_interior_points(family, ref.n)
    points = points.astype(NUMPY_DTYPE[dtype]).astype(np.float64)
    with np.errstate(all="ignore"):
        expected = edges_of(family).logits_log_prob(params, points)
    x = _tensor(points, dtype, device)
    actual = call(lambda: dist.log_prob(x), expected.shape)
    inside = as_numpy(dist.support.check(x)).astype(bool)
    grid = Grid("edge.logits", family, dtype)
    at = points if ref.event_dim == 0 else None
    logit_coord = logits if np.ndim(logits) == 1 else np.where(np.isinf(logits).any(-1), -np.inf, logits[:, 0])
    grid.add("log_prob", matches(actual, expected, family.tolerance[dtype]), params, actual, expected, at=at,
             skip=~inside, logit=logit_coord)
    if _implemented(dist.entropy):
        entropy = call(dist.entropy, (ref.n,))
        grid.add("entropy", np.isfinite(entropy), params, entropy, np.nan, logit=logit_coord)
    return grid.result()


def continuous_interior_points(family: Family, n: int) -> np.ndarray:
    """Interior points of a (0, 1) or simplex support, shaped (m, n, *event)."""
    event = family.example().event_shape
    if not event:
        return np.array([1e-3, 0.25, 0.5, 0.75, 1 - 1e-3])[:, None] * np.ones((1, n))
    k = event[-1]
    points = [np.full(k, 1.0 / k)] + [0.9 * np.eye(k)[j] + 0.1 / k for j in range(k)]
    return np.array(points)[:, None, :] * np.ones((1, n, 1))


def matrix_parameterisations(family: Family) -> list[str]:
    return [name for name in MATRIX_PARAMETERISATIONS if name in family.example().arg_constraints]


def check_parameterisations(family: Family, dtype: torch.dtype = torch.float64, device="cpu") -> CheckResult:
    """log_prob, mean, variance and entropy through covariance_matrix, precision_matrix and scale_tril agree
    with the reference built from the covariance."""
    params = round_to(base_params(family), dtype)
    covariance = params["covariance_matrix"]
    converted = {"covariance_matrix": covariance, "precision_matrix": np.linalg.inv(covariance),
                 "scale_tril": np.linalg.cholesky(covariance)}
    ref = family.reference(params)
    points = ref.values(np.random.default_rng(0))
    grid = Grid("edge.parameterisation", family, dtype)
    tol = family.tolerance[dtype]
    for index, name in enumerate(matrix_parameterisations(family)):
        others = {k: v for k, v in params.items() if k != "covariance_matrix"}
        dist = _build(family, {**others, name: converted[name]}, dtype, device)
        actual, expected = as_numpy(dist.log_prob(_tensor(points, dtype, device))), ref.log_prob(points)
        grid.add("log_prob", matches(actual, expected, tol), params, actual, expected, parameterisation=index)
        for method in ("mean", "variance", "entropy"):
            if not (torch_implements(family, method) and reference_implements(family, method)):
                continue
            actual = as_numpy(dist.entropy() if method == "entropy" else getattr(dist, method))
            expected = np.asarray(getattr(ref, method)(), dtype=np.float64)
            n = actual.shape[0]
            ok = matches(actual, expected, tol).reshape(n, -1).all(-1)
            grid.add(method, ok, params, actual.reshape(n, -1)[:, 0], expected.reshape(n, -1)[:, 0],
                     parameterisation=index)
    return grid.result()

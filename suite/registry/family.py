"""A registry entry: everything the suite knows about one torch.distributions family."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np
import torch
import torch.distributions as D
from torch.distributions import Distribution

from suite.registry import references as R
from suite.registry.edges import Edges
from suite.registry.known import EAGER, Known, matching, pin_rows

ParamDict = dict[str, "np.ndarray | int"]
NAN = float("nan")


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# float64: 8 significant digits. float32: 1e-3 relative and absolute, about 8000 float32 ulps at unit
# scale; what a float32 log-likelihood can be trusted to. Errors beyond these are findings.
DEFAULT_TOLERANCE = {torch.float64: Tolerance(1e-8, 1e-10), torch.float32: Tolerance(1e-3, 1e-3)}

# The dtypes and devices the suite runs on; a default run covers all of them.
DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}
DEVICES = ("cpu", "cuda")


def dtype_name(dtype: torch.dtype | str) -> str:
    """'float64' for torch.float64 (and for 'float64')."""
    return str(dtype).removeprefix("torch.")


# Implicitly reparameterised families: rsample's derivative comes from the CDF, not a fixed transform.
IMPLICIT = "implicit"
EXPLICIT = "explicit"
# How a parameter's pathwise derivative is referenced where the reparameterisation kind does not say it:
# REPLAY (an explicit transform of replayed noise), MARGINAL (through a known marginal law), CONDITIONAL
# (the draw depends on several noise variables along it: only the unbiasedness check applies).
REPLAY, MARGINAL, STRAIGHT_THROUGH, CONDITIONAL = "replay", "marginal", "straight-through", "conditional"


@dataclass(frozen=True)
class Unsupported:
    """A method that raises for a family: the error must contain `pattern`; optionally only in one dtype
    or only with validation on."""
    pattern: str
    why: str
    dtype: torch.dtype | None = None
    validate_args: bool | None = None

    def applies(self, dtype: torch.dtype, validate_args: bool | None) -> bool:
        validating = Distribution._validate_args if validate_args is None else validate_args
        return self.dtype in (None, dtype) and self.validate_args in (None, validating)




@dataclass(frozen=True)
class Family:
    name: str
    torch_cls: type
    make_params: Callable[[np.random.Generator, int], ParamDict]
    # The float64 reference for a batch of parameter sets: a suite reference, or a frozen scipy.stats
    # distribution broadcast over the sets.
    reference: Callable[[ParamDict], R.Reference]
    reference_name: str = ""
    build: Callable[..., D.Distribution] | None = None
    invalid: tuple[Mapping[str, float], ...] = ()
    tolerance: Mapping[torch.dtype, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCE)
    # Where torch disagrees with the reference, and where an execution mode (suite.registry.modes) disagrees
    # with eager: strict xfails scoped to their regions, and FINDINGS.md rows.
    known: tuple[Known, ...] = ()
    implicit_reparam: bool = False
    # Constraints of the tensors `build` takes, for composite families whose arg_constraints are empty.
    param_constraints: Mapping[str, D.constraints.Constraint] | None = None
    # Parameters a fit must hold fixed -> why (not identifiable, or an unbounded likelihood).
    held_when_fitting: Mapping[str, str] = field(default_factory=dict)
    # A maximum-likelihood fit too slow for the default tier (it runs in the slow tier).
    heavy_fit: bool = False
    # The representative family torch.compile is exercised on in the default tier (parity) and the default
    # benchmark tier (compiled throughput); the rest compile in the slow tiers.
    compile_representative: bool = False
    # Projections of a draw with known laws, for the samplers' goodness of fit (suite.registry.marginals);
    # None: the identity projection with the entry's reference.
    marginals: Callable | None = None
    # The analytic score d log_prob / d parameter (suite.registry.scores), the Jacobian checks' reference.
    score: Callable | None = None
    # Parameter -> how its rsample derivative is referenced, where the reparameterisation kind does not say.
    pathwise: Mapping[str, str] = field(default_factory=dict)
    # Parameters at any event size d, for the benchmarks: (rng, n, d) -> parameters.
    sized_params: Callable | None = None
    # Jacobian method -> why it raises for this family (a limitation of the method, not of log_prob).
    jacobian_unsupported: Mapping[str, Unsupported] = field(default_factory=dict)

    # What the edge checks cannot derive from the constraints: exact logits and deep-tail references, and
    # why an edge kind does not apply (None: everything derived).
    edges: Edges | None = None
    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", R.accepting_scipy(self.reference))

    @property
    def discrete(self) -> bool:
        return bool(self.example().support.is_discrete)

    @property
    def event_dim(self) -> int:
        return len(self.example().event_shape)

    def draw(self, rng: np.random.Generator, n: int, check: str | None = None,
             corners: bool = True, dtype: str | None = None) -> ParamDict:
        """n parameter sets that start with the deterministic ones every seed shares: the points of each
        known deviation's region (of the deviations of `check`, an fnmatch pattern, or of all of them), then
        with `corners` the corners of the parameter space; `rng`'s random draw fills the rest. With `dtype`,
        only the points of the deviations of that dtype."""
        params = self.make_params(rng, n)
        fixed = deterministic_rows(self, check, corners, dtype)
        out = {}
        for name, value in params.items():
            if np.ndim(value) == 0 or name not in fixed:
                out[name] = value
                continue
            value = np.array(value, dtype=np.float64, copy=True)
            count = min(n, fixed[name].shape[0])
            value[:count] = fixed[name][:count]
            out[name] = value
        return out

    @functools.cached_property
    def _examples(self) -> dict[tuple[int, int], D.Distribution]:
        return {}

    def example(self, n: int = 4, seed: int = 0) -> D.Distribution:
        """A small float64 instance, for reading structural properties. Built once per (n, seed) and shared
        (collection reads it for every generated case): callers must not change it."""
        if (n, seed) not in self._examples:
            self._examples[n, seed] = self.instantiate(self.make_params(np.random.default_rng(seed), n))
        return self._examples[n, seed]

    def constraints(self) -> Mapping[str, D.constraints.Constraint]:
        """The parameters' constraints: the entry's `param_constraints`, else the example instance's."""
        return self.param_constraints or self.example().arg_constraints

    @property
    def has_rsample(self) -> bool:
        return bool(self.torch_cls.has_rsample)

    @property
    def reparam(self) -> str | None:
        if not self.has_rsample:
            return None
        return IMPLICIT if self.implicit_reparam else EXPLICIT

    @property
    def factory(self) -> Callable[..., D.Distribution]:
        """What builds an instance from keyword tensors and validate_args: `build`, else the torch class."""
        return self.build if self.build is not None else self.torch_cls

    def from_tensors(self, tensors: Mapping[str, torch.Tensor | int],
                     validate_args: bool | None = None) -> D.Distribution:
        """An instance from parameters that are already tensors (they keep their autograd history, and
        may be traced or batched by torch.func)."""
        return self.factory(**tensors, validate_args=validate_args)

    def instantiate(self, params: ParamDict, dtype: torch.dtype = torch.float64,
                    device: str | torch.device = "cpu", validate_args: bool | None = None) -> D.Distribution:
        return self.from_tensors({k: to_tensor(v, dtype, device) for k, v in params.items()}, validate_args)

    def known_for(self, check: str, dtype: torch.dtype | str = "float64", device: str | torch.device = "cpu",
                  mode: str = EAGER) -> tuple[Known, ...]:
        """The known deviations that apply to one check of this family: in eager against the reference, or
        with `mode` an execution mode ("vmap", "compile+validate", ...) against eager."""
        return matching(self.known, check, dtype_name(dtype), torch.device(device).type, mode)


# A deterministic draw large enough that its extreme rows sit at the generators' range ends (each
# generator places 10% of the sets exactly at each end of its range).
CORNER_POOL = 4096
_DETERMINISTIC_ROWS: dict[tuple, ParamDict] = {}


def corner_rows(params: ParamDict, most_corners: int = 16) -> np.ndarray:
    """Indices of the rows of `params` nearest the corners of the space of its coordinates (scalar
    parameters and the components of vector parameters): for each sign pattern s, the row maximising
    sum_j s_j * rank_j (whole rows, so parameters that depend on each other stay valid). With more than
    log2(most_corners) coordinates, the rows at each coordinate's two ends instead."""
    columns = []
    for value in params.values():
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 1:
            columns.append(value)
        elif value.ndim == 2:
            columns.extend(value.T)
    if not columns:
        return np.arange(0)
    n = columns[0].shape[0]
    ranks = np.stack([np.argsort(np.argsort(v, kind="stable"), kind="stable") for v in columns]) / max(n - 1, 1)
    k = len(columns)
    if 2 ** k <= most_corners:
        signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * k, indexing="ij")).reshape(k, -1).T
    else:
        signs = np.concatenate([-np.eye(k), np.eye(k)])
    rows: list[int] = []
    for pattern in signs:
        row = int(np.argmax(pattern @ ranks))
        if row not in rows:
            rows.append(row)
    return np.asarray(rows, dtype=int)


def deterministic_rows(family: Family, check: str | None = None, corners: bool = True,
                       dtype: str | None = None) -> ParamDict:
    """The rows a draw of `family` starts with: the points of the known deviations (of `check`, or all),
    parameters a point does not name taken from a fixed draw; then, with `corners`, the corners of the
    parameter space found in a fixed draw."""
    key = (family.name, check, corners, dtype)
    cached = _DETERMINISTIC_ROWS.get(key)
    if cached is not None:
        return cached
    known = [k for k in family.known if k.points and (check is None or any(
                 fnmatchcase(pattern, check) or fnmatchcase(check, pattern) for pattern in k.checks))
             and (dtype is None or fnmatchcase(dtype, k.dtype))]
    pool = family.make_params(np.random.default_rng(0), CORNER_POOL)
    pinned = sum(len(next(iter(k.points.values()))) for k in known)
    rows = pin_rows({name: np.asarray(value, dtype=np.float64)[:pinned] for name, value in pool.items()
                     if np.ndim(value)}, known)
    chosen = corner_rows(pool) if corners else np.arange(0)
    out = {name: np.concatenate([rows[name], np.asarray(pool[name], dtype=np.float64)[chosen]])
           for name in rows}
    _DETERMINISTIC_ROWS[key] = out
    return out


def to_tensor(value, dtype: torch.dtype, device) -> torch.Tensor | int:
    """A parameter as a tensor of dtype on device; a tensor keeps its autograd history."""
    if isinstance(value, int):
        return value
    if isinstance(value, torch.Tensor):
        return value.to(dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


def round_to(params: ParamDict, dtype: torch.dtype) -> ParamDict:
    """Parameters as dtype would store them, back in float64, so the reference sees what torch sees."""
    numpy_dtype = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
    return {k: v if isinstance(v, int) else np.asarray(v).astype(numpy_dtype).astype(np.float64)
            for k, v in params.items()}


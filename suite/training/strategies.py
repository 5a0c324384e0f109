"""Ways to train a torch distribution's parameters, and a check that they train the right thing.

A distribution whose parameters must satisfy constraints (a positive scale, a simplex, a
Cholesky factor) is trained through unconstrained tensors mapped by a transform. Four strategies:

- ``retain_graph``: build the distribution once from transformed tensors and call
  ``backward(retain_graph=True)`` every step. The raw tensors move, but the distribution keeps
  the values derived at construction (``stale``), or backward raises an in-place modification
  error when the transform saved its input (``error``, e.g. softplus).
- ``rebuild_per_step``: apply the transforms and construct the distribution inside the loop.
- ``parametrize_module``: an ``nn.Module`` whose attributes are ``torch.nn.utils.parametrize``
  parametrisations with the constraint's transform; the distribution is built from them per step.
- ``constraint_module``: :class:`ConstraintModule`, which derives everything from the class's
  ``arg_constraints`` and ``torch.distributions.transform_to``.

Example (a Normal and a Gamma matched to a target by a sample KL loss)::

    model = ConstraintModule(D.Normal, loc=torch.tensor([1.0]), scale=torch.tensor([2.718]))
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    target = D.Normal(5.0, 5.0)
    for _ in range(50):
        optim.zero_grad()
        dist = model()
        samples = dist.rsample((1000,))
        cost = (dist.log_prob(samples) - target.log_prob(samples)).sum()
        cost.backward()
        optim.step()

    model = ConstraintModule(D.Gamma, concentration=torch.tensor([1.0]), rate=torch.tensor([2.718]))
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributions as D
from torch import nn
from torch.distributions import constraints, transform_to
from torch.distributions.constraint_registry import ConstraintRegistry
from torch.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    IndependentTransform,
    SoftplusTransform,
    Transform,
)
from torch.nn.utils import parametrize

from suite.registry.families import Family, ParamDict, to_tensor

STRATEGIES = ("retain_graph", "rebuild_per_step", "parametrize_module", "constraint_module")
TRANSFORMS = ("exp", "softplus")
LOSSES = ("mle", "kl")

softplus_to = ConstraintRegistry()


@softplus_to.register(constraints.greater_than)
@softplus_to.register(constraints.greater_than_eq)
def _softplus_lower_bound(constraint) -> Transform:
    return ComposeTransform([SoftplusTransform(), AffineTransform(constraint.lower_bound, 1)])


@softplus_to.register(constraints.independent)
def _softplus_independent(constraint) -> Transform:
    return IndependentTransform(constraint_transform(constraint.base_constraint, "softplus"),
                                constraint.reinterpreted_batch_ndims)


def constraint_transform(constraint: constraints.Constraint, kind: str = "exp") -> Transform:
    """The transform from unconstrained space onto `constraint`: torch's transform_to, or with
    softplus instead of exp for lower bounds (kind="softplus")."""
    if kind not in TRANSFORMS:
        raise ValueError(f"transform kind must be one of {TRANSFORMS}; got {kind!r}")
    if kind == "softplus":
        try:
            return softplus_to(constraint)
        except NotImplementedError:
            pass
    return transform_to(constraint)


def _constraint_tensors(constraint: constraints.Constraint) -> list[torch.Tensor]:
    found = []
    for value in vars(constraint).values():
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, constraints.Constraint):
            found.extend(_constraint_tensors(value))
    return found


def _is_float_tensor(value) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def trainable(value, constraint: constraints.Constraint | None) -> bool:
    """A parameter is trained when it is a float tensor with a continuous, known constraint."""
    return (_is_float_tensor(value) and constraint is not None and not constraint.is_discrete
            and not isinstance(constraint, constraints._Dependent))


def class_constraints(factory: Callable[..., D.Distribution], values: Mapping[str, object]
                      ) -> dict[str, constraints.Constraint]:
    """arg_constraints of a distribution class, from an instance where they depend on the values."""
    declared = getattr(factory, "arg_constraints", None)
    if isinstance(declared, dict):
        return dict(declared)
    if declared is None:
        raise TypeError(f"{factory!r} has no arg_constraints; pass constraints=")
    return dict(factory(**values, validate_args=False).arg_constraints)


class ConstraintModule(nn.Module):
    """Any torch.distributions class as a trainable module.

    Each float tensor argument with a continuous constraint in ``arg_constraints`` is stored as an
    unconstrained ``nn.Parameter`` and mapped back by ``transform_to(constraint)`` (or softplus for
    lower bounds with ``transform="softplus"``, or a transform per name in ``transforms``); other
    arguments (integer counts, dimensions, arguments without a constraint) are held fixed.
    Calling the module builds the distribution from the current parameters.
    """

    def __init__(self, factory: Callable[..., D.Distribution], *,
                 constraints: Mapping[str, constraints.Constraint] | None = None, transform: str = "exp",
                 transforms: Mapping[str, Transform] | None = None, validate_args: bool | None = None,
                 **values):
        super().__init__()
        self.factory = factory
        self.validate_args = validate_args
        declared = dict(constraints) if constraints is not None else class_constraints(factory, values)
        name = getattr(factory, "__name__", repr(factory))
        self.unconstrained = nn.ParameterDict()
        self.transforms: dict[str, Transform] = {}
        self.fixed: dict[str, object] = {}
        for arg, value in values.items():
            constraint = declared.get(arg)
            if not trainable(value, constraint):
                self.fixed[arg] = value
                continue
            if _constraint_tensors(constraint):
                raise ValueError(f"{name}: the constraint of {arg!r} ({constraint}) depends on the values of "
                                 "other parameters, so it has no fixed unconstrained space to train in")
            self._check(name, arg, value, constraint)
            chosen = (transforms or {}).get(arg) or constraint_transform(constraint, transform)
            self.transforms[arg] = chosen
            self.unconstrained[arg] = nn.Parameter(chosen.inv(value.detach()).clone())
        for arg, value in self.fixed.items():
            if isinstance(value, torch.Tensor):
                self.register_buffer(f"fixed_{arg}", value.detach().clone())

    @staticmethod
    def _check(name: str, arg: str, value: torch.Tensor, constraint: constraints.Constraint) -> None:
        ok = constraint.check(value.detach())
        if not bool(torch.all(ok)):
            shown = value.detach().flatten()[:6].tolist()
            raise ValueError(f"{name}: initial value of {arg!r} violates its constraint {constraint} "
                             f"(values {shown})")

    def values(self) -> dict[str, object]:
        """The constrained arguments from the current parameters, plus the fixed ones."""
        out = {arg: (getattr(self, f"fixed_{arg}") if isinstance(value, torch.Tensor) else value)
               for arg, value in self.fixed.items()}
        out.update({arg: self.transforms[arg](raw) for arg, raw in self.unconstrained.items()})
        return out

    def forward(self) -> D.Distribution:
        return self.factory(**self.values(), validate_args=self.validate_args)


# ------------------------------------------------------------------------------------------------
# A fitting problem, built from the registry


@dataclass
class FitSpec:
    """What to train: the constructor, its constraints, initial and true values, held arguments."""

    family: str
    factory: Callable[..., D.Distribution]
    constraints: dict[str, constraints.Constraint]
    trainable: tuple[str, ...]
    held: dict[str, str]  # argument -> why it is held at its true value
    true_params: ParamDict
    init_params: ParamDict
    has_rsample: bool

    def tensors(self, params: ParamDict, dtype: torch.dtype, device) -> dict[str, object]:
        return {k: to_tensor(v, dtype, device) for k, v in params.items()}

    def transforms(self, kind: str) -> dict[str, Transform]:
        return {name: constraint_transform(self.constraints[name], kind) for name in self.trainable}

    def transform_kinds(self) -> tuple[str, ...]:
        """exp always; softplus where it changes at least one transform."""
        exp, soft = self.transforms("exp"), self.transforms("softplus")
        return ("exp", "softplus") if any(repr(exp[n]) != repr(soft[n]) for n in exp) else ("exp",)


# Arguments held at their true value when fitting, for reasons the constraints cannot tell.
def _unconstrained_norms(transforms: Mapping[str, Transform], params: ParamDict, count: int) -> np.ndarray:
    """Per parameter set, the sum over parameters of the mean square of its unconstrained value."""
    total = np.zeros(count)
    for name, t in transforms.items():
        value = torch.as_tensor(np.asarray(params[name]), dtype=torch.float64)
        inverse = t.inv(value).square()
        total += inverse.reshape(count, -1).mean(1).numpy() if np.ndim(params[name]) else float(inverse.mean())
    return total


def _support_bounds(dist: D.Distribution) -> list[torch.Tensor]:
    try:
        support = dist.support
    except NotImplementedError:
        return []
    return [torch.as_tensor(t) for t in _constraint_tensors(support)]


def _support_parameters(factory, params: dict[str, object], names: Sequence[str],
                        transforms: Mapping[str, Transform]) -> list[str]:
    """The trained arguments whose value moves the support (their MLE sits on its edge)."""
    base = _support_bounds(factory(**params, validate_args=False))
    moved = []
    for name in names:
        t = transforms[name]
        perturbed = dict(params, **{name: t(t.inv(params[name]) + 0.25)})
        bounds = _support_bounds(factory(**perturbed, validate_args=False))
        if any(not torch.equal(a, b) for a, b in zip(base, bounds)):
            moved.append(name)
    return moved


def fit_spec(family: Family, seed: int = 0, candidates: int = 64) -> FitSpec:
    """The fitting problem for a family: true values are the registry's most moderate parameter set
    (closest to 0 in unconstrained space); training starts halfway from the unconstrained origin to
    them (not at the origin itself, where a zero cov_factor is a saddle point)."""
    rng = np.random.default_rng(seed)
    pool = family.make_params(rng, candidates)
    factory = family.factory
    example = {k: to_tensor(v, torch.float64, "cpu") for k, v in pool.items()}
    declared = (dict(family.param_constraints) if family.param_constraints is not None
                else class_constraints(factory, example))
    held = dict(family.held_when_fitting)
    names = []
    for name, value in example.items():
        constraint = declared.get(name)
        if not trainable(value, constraint):
            held[name] = "integer, fixed, or without a constraint" if constraint is None or constraint.is_discrete \
                else f"constraint {constraint} is not continuous"
        elif _constraint_tensors(constraint):
            held[name] = f"its constraint ({type(constraint).__name__}) depends on other parameters"
        elif name not in held:
            names.append(name)
    transforms = {n: transform_to(declared[n]) for n in names}
    best = int(np.argmin(_unconstrained_norms(transforms, pool, candidates)))
    true = {k: np.asarray(v)[best:best + 1] if np.ndim(v) else v for k, v in pool.items()}
    true_t = {k: to_tensor(v, torch.float64, "cpu") for k, v in true.items()}
    for name in _support_parameters(factory, true_t, names, transforms):
        held[name] = "moves the support: its MLE lies on the support's edge"
    names = [n for n in names if n not in held]
    init = dict(true)
    for name in names:
        t = transform_to(declared[name])
        init[name] = t(0.5 * t.inv(true_t[name])).numpy()
    return FitSpec(family.name, factory, declared, tuple(names), held, true, init, family.has_rsample)


def fittable(family: Family) -> tuple[bool, str]:
    """Whether a family has anything to train, and why not."""
    spec = fit_spec(family)
    if spec.trainable:
        return True, ""
    return False, "; ".join(f"{k}: {v}" for k, v in spec.held.items())


# ------------------------------------------------------------------------------------------------
# Strategies


class Strategy:
    """Raw (unconstrained) tensors, a way to get the distribution each step, and backward."""

    name = "abstract"
    retain_graph = False

    def __init__(self, spec: FitSpec, transform: str, device, dtype: torch.dtype,
                 validate_args: bool | None = None):
        self.spec = spec
        self.kind = transform
        self.device = torch.device(device)
        self.dtype = dtype
        self.validate_args = validate_args
        self.transforms = spec.transforms(transform)
        init = spec.tensors(spec.init_params, dtype, device)
        self.fixed = {k: v for k, v in init.items() if k not in spec.trainable}
        self.init = {k: init[k] for k in spec.trainable}

    def parameters(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def construct(self) -> D.Distribution:
        raise NotImplementedError

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward(retain_graph=self.retain_graph)

    def raw(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.spec.trainable, (p.detach() for p in self.parameters())))

    def constrained(self) -> dict[str, torch.Tensor]:
        """Values freshly derived from the raw tensors (what the distribution should use)."""
        with torch.no_grad():
            return {n: self.transforms[n](r) for n, r in self.raw().items()}

    def fresh(self) -> D.Distribution:
        with torch.no_grad():
            return self.spec.factory(**self.fixed, **self.constrained(), validate_args=False)

    def _build(self, values: Mapping[str, torch.Tensor]) -> D.Distribution:
        return self.spec.factory(**self.fixed, **values, validate_args=self.validate_args)


class RebuildPerStep(Strategy):
    name = "rebuild_per_step"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._raw = [self.transforms[n].inv(v).detach().clone().requires_grad_(True)
                     for n, v in self.init.items()]

    def parameters(self):
        return self._raw

    def construct(self):
        return self._build({n: self.transforms[n](r) for n, r in zip(self.spec.trainable, self._raw)})


class RetainGraph(RebuildPerStep):
    """The distribution is built once; every backward keeps the graph from raw to derived values."""

    name = "retain_graph"
    retain_graph = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dist = super().construct()

    def construct(self):
        return self._dist


class _ConstraintParametrization(nn.Module):
    def __init__(self, transform: Transform):
        super().__init__()
        self.transform = transform

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.transform(raw)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return self.transform.inv(value)


class ParametrizeModule(Strategy):
    name = "parametrize_module"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.module = nn.Module()
        for n, value in self.init.items():
            self.module.register_parameter(n, nn.Parameter(value.detach().clone()))
            parametrize.register_parametrization(self.module, n, _ConstraintParametrization(self.transforms[n]))

    def parameters(self):
        return [self.module.parametrizations[n].original for n in self.spec.trainable]

    def construct(self):
        return self._build({n: getattr(self.module, n) for n in self.spec.trainable})


class ConstraintModuleStrategy(Strategy):
    name = "constraint_module"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.module = ConstraintModule(self.spec.factory, constraints=self.spec.constraints,
                                       transforms=self.transforms, validate_args=self.validate_args,
                                       **self.fixed, **self.init)

    def parameters(self):
        return [self.module.unconstrained[n] for n in self.spec.trainable]

    def construct(self):
        return self.module()


STRATEGY_CLASSES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (RetainGraph, RebuildPerStep, ParametrizeModule, ConstraintModuleStrategy)
}


# ------------------------------------------------------------------------------------------------
# Training state: one step split into phases


@contextlib.contextmanager
def counting_syncs(device: torch.device) -> Iterator[list]:
    """Collect CUDA host-device synchronisation warnings into the yielded list (CUDA only)."""
    caught: list = []
    if device.type != "cuda":
        yield caught
        return
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield caught
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    caught.extend(w for w in record if "synchroniz" in str(w.message))


@dataclass
class TrainingState:
    """A ready-to-step training problem. `step()` = construct, loss (log_prob), backward, optimiser."""

    strategy: Strategy
    loss_kind: str
    data: torch.Tensor | None
    target: D.Distribution | None
    n_samples: int
    optimizer: torch.optim.Optimizer
    seed: int | None = None
    steps_taken: int = 0

    def construct(self) -> D.Distribution:
        return self.strategy.construct()

    def loss(self, dist: D.Distribution) -> torch.Tensor:
        if self.loss_kind == "mle":
            return -dist.log_prob(self.data).mean(0).sum()
        samples = dist.rsample((self.n_samples,))
        return (dist.log_prob(samples) - self.target.log_prob(samples)).mean(0).sum()

    def backward(self, loss: torch.Tensor) -> None:
        self.strategy.backward(loss)

    def optimizer_step(self) -> None:
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> torch.Tensor:
        if self.seed is not None:
            torch.manual_seed(self.seed + self.steps_taken)
        self.zero_grad()
        loss = self.loss(self.construct())
        self.backward(loss)
        self.optimizer_step()
        self.steps_taken += 1
        return loss.detach()


def make_data(spec: FitSpec, n_samples: int, dtype: torch.dtype, device, seed: int) -> torch.Tensor:
    """n_samples draws from the true distribution (torch's own sampler, seeded, float64 then cast)."""
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        true = spec.factory(**spec.tensors(spec.true_params, torch.float64, "cpu"), validate_args=False)
        return true.sample((n_samples,)).to(dtype=dtype, device=device)
    finally:
        torch.random.set_rng_state(gen_state)


def make_optimizer(kind: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be sgd or adam; got {kind!r}")


def training_state(strategy: str | type[Strategy], family: Family | FitSpec, n_samples: int, device,
                   dtype: torch.dtype = torch.float64, validate: bool | None = False, *, transform: str = "exp",
                   loss: str = "mle", optimizer: str = "adam", lr: float = 0.05, seed: int | None = 0
                   ) -> TrainingState:
    """A training state for (strategy, family, n_samples, device, dtype, validate), ready to step.

    loss="mle": mean negative log-likelihood of n_samples fixed draws from the true parameters;
    loss="kl": a sample estimate of KL(model || true) from n_samples rsample draws per step.
    With a seed, every step reseeds the global generator with seed + step, so strategies see the
    same random numbers.
    """
    spec = family if isinstance(family, FitSpec) else fit_spec(family)
    cls = STRATEGY_CLASSES[strategy] if isinstance(strategy, str) else strategy
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if loss == "kl" and not spec.has_rsample:
        raise ValueError(f"{spec.family} has no rsample; a sample KL loss cannot be trained")
    if seed is not None:
        torch.manual_seed(seed)
    strat = cls(spec, transform, device, dtype, validate)
    data = make_data(spec, n_samples, dtype, device, seed or 0) if loss == "mle" else None
    target = (spec.factory(**spec.tensors(spec.true_params, dtype, device), validate_args=False)
              if loss == "kl" else None)
    return TrainingState(strat, loss, data, target, n_samples, make_optimizer(optimizer, strat.parameters(), lr),
                         seed)


# ------------------------------------------------------------------------------------------------
# Running strategies and judging them


@dataclass
class Run:
    """A training run: constrained values after each step, losses, error (if any), syncs per step."""

    strategy: str
    transform: str
    trajectory: list[dict[str, np.ndarray]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    error: str | None = None
    syncs_per_step: float | None = None
    distribution_values: list[dict[str, np.ndarray]] = field(default_factory=list)
    log_prob_drift: float | None = None  # |retained dist log_prob - fresh dist log_prob| at the end


def _numpy(values: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.detach().to("cpu", torch.float64).numpy().copy() for k, v in values.items()}


def _attributes(dist: D.Distribution, names: Sequence[str]) -> dict[str, np.ndarray]:
    out = {}
    for name in names:
        value = getattr(dist, name, None)
        if isinstance(value, torch.Tensor):
            out[name] = value.detach().to("cpu", torch.float64).numpy().copy()
    return out


def run_strategy(state: TrainingState, steps: int) -> Run:
    """Step a training state, recording the constrained values (as derived from raw tensors) and the
    values the distribution in use reports, catching the error a strategy may raise."""
    strat = state.strategy
    run = Run(strat.name, strat.kind)
    syncs = 0
    try:
        for _ in range(steps):
            with counting_syncs(strat.device) as caught:
                loss = state.step()
            syncs += len(caught)
            run.losses.append(float(loss))
            run.trajectory.append(_numpy(strat.constrained()))
            with torch.no_grad():
                run.distribution_values.append(_attributes(state.construct(), strat.spec.trainable))
    except RuntimeError as exc:
        run.error = str(exc).splitlines()[0]
    run.syncs_per_step = syncs / max(1, len(run.losses)) if strat.device.type == "cuda" else None
    if run.error is None:
        with torch.no_grad():
            probe = state.data if state.data is not None else state.target.sample((64,))
            used = state.construct().log_prob(probe)
            fresh = strat.fresh().log_prob(probe)
            run.log_prob_drift = float((used - fresh).abs().max())
    return run


def trajectory_error(run: Run, reference: Run) -> float:
    """Largest relative difference of constrained values over the common steps (inf if lengths differ)."""
    if len(run.trajectory) != len(reference.trajectory) or not run.trajectory:
        return float("inf")
    worst = 0.0
    for mine, theirs in zip(run.trajectory, reference.trajectory):
        for name, value in theirs.items():
            scale = np.maximum(np.abs(value), 1.0)
            worst = max(worst, float(np.max(np.abs(mine[name] - value) / scale)))
    return worst


TRAJECTORY_TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5}


@dataclass
class Verdict:
    family: str
    strategy: str
    transform: str
    loss: str
    verdict: str  # pass | stale | error | diverged
    cause: str
    steps: int
    final: dict[str, list]
    trajectory_error: float
    syncs_per_step: float | None


def stale_parameters(run: Run) -> list[str]:
    """Arguments whose value in the distribution never changed while the raw tensor behind it did."""
    if len(run.trajectory) < 2:
        return []
    stale = []
    for name in run.trajectory[0]:
        raw_moved = not np.array_equal(run.trajectory[0][name], run.trajectory[-1][name])
        used = [d.get(name) for d in run.distribution_values]
        if raw_moved and used[0] is not None and all(np.array_equal(u, used[0]) for u in used):
            stale.append(name)
    return stale


def judge(run: Run, reference: Run, dtype: torch.dtype, family: str, loss: str) -> Verdict:
    """Compare a run with rebuild_per_step's from the same start and random numbers."""
    err = trajectory_error(run, reference)
    final = {k: v.ravel().tolist() for k, v in (run.trajectory[-1] if run.trajectory else {}).items()}
    common = dict(family=family, strategy=run.strategy, transform=run.transform, loss=loss,
                  steps=len(run.losses), final=final, trajectory_error=err, syncs_per_step=run.syncs_per_step)
    if run.error is not None:
        return Verdict(verdict="error", cause=run.error, **common)
    stale = stale_parameters(run)
    if stale:
        return Verdict(verdict="stale", cause=f"{', '.join(stale)} never changed in the distribution while the "
                       "raw parameter did", **common)
    if run.log_prob_drift is not None and run.log_prob_drift > TRAJECTORY_TOLERANCE[dtype] * 1e3:
        return Verdict(verdict="stale", cause=f"the distribution in use differs from one built from the current "
                       f"parameters (log_prob differs by {run.log_prob_drift:.3g})", **common)
    if err <= TRAJECTORY_TOLERANCE[dtype]:
        return Verdict(verdict="pass", cause="", **common)
    return Verdict(verdict="diverged", cause=f"trajectory differs from rebuild_per_step by {err:.3g}", **common)


def compare_strategies(family: Family | FitSpec, device, dtype: torch.dtype = torch.float64, *,
                       transform: str = "exp", loss: str = "mle", steps: int = 5, n_samples: int = 256,
                       optimizer: str = "adam", lr: float = 0.05, seed: int = 0, validate: bool | None = False,
                       strategies: Mapping[str, type[Strategy]] | None = None) -> list[Verdict]:
    """Every strategy from the same start with the same random numbers, judged against rebuild_per_step."""
    spec = family if isinstance(family, FitSpec) else fit_spec(family)
    classes = dict(strategies or STRATEGY_CLASSES)
    runs = {}
    for name, cls in {"rebuild_per_step": RebuildPerStep, **classes}.items():
        state = training_state(cls, spec, n_samples, device, dtype, validate, transform=transform, loss=loss,
                               optimizer=optimizer, lr=lr, seed=seed)
        runs[name] = run_strategy(state, steps)
    reference = runs["rebuild_per_step"]
    return [judge(runs[name], reference, dtype, spec.family, loss) for name in classes]


def invalid_initial_value_error(module_cls: type[nn.Module], factory: Callable[..., D.Distribution],
                                **values) -> str | None:
    """The ValueError message a module class gives for these initial values, or None if it accepts them."""
    try:
        module_cls(factory, **values)
    except ValueError as exc:
        return str(exc)
    return None


def spec_from_values(factory: Callable[..., D.Distribution], true: Mapping[str, object],
                     init: Mapping[str, object], trainable: Sequence[str] | None = None,
                     constraints_: Mapping[str, constraints.Constraint] | None = None, name: str = "") -> FitSpec:
    """A fitting problem from explicit true and initial values (numbers, lists or arrays)."""
    as_np = {k: v if isinstance(v, int) else np.asarray(v, dtype=float) for k, v in true.items()}
    start = {k: v if isinstance(v, int) else np.asarray(v, dtype=float) for k, v in {**true, **init}.items()}
    declared = dict(constraints_) if constraints_ is not None else class_constraints(
        factory, {k: to_tensor(v, torch.float64, "cpu") for k, v in as_np.items()})
    names = tuple(trainable) if trainable is not None else tuple(
        k for k in init if trainable_name(declared, k, start[k]))
    held = {k: "held by the example" for k in true if k not in names}
    return FitSpec(name or getattr(factory, "__name__", "custom"), factory, declared, names, held, as_np, start,
                   bool(getattr(factory, "has_rsample", False)))


def trainable_name(declared: Mapping[str, constraints.Constraint], name: str, value) -> bool:
    return trainable(to_tensor(value, torch.float64, "cpu"), declared.get(name))


def validation_default_preserved(state: TrainingState, steps: int = 1) -> bool:
    """Whether stepping a training state leaves Distribution's global validation default as it was."""
    before = D.Distribution._validate_args
    try:
        for _ in range(steps):
            state.step()
    finally:
        after = D.Distribution._validate_args
        D.Distribution.set_default_validate_args(before)
    return before == after

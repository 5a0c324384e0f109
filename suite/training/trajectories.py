"""Running the strategies from the same start and judging each against rebuild_per_step's trajectory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributions as D
from torch import nn
from torch.distributions import constraints

from suite.registry.families import Family, to_tensor
from suite.training.constraint_module import class_constraints, trainable
from suite.training.fitspec import FitSpec, fit_spec
from suite.training.strategies import (
    STRATEGY_CLASSES,
    RebuildPerStep,
    Strategy,
    TrainingState,
    counting_syncs,
    training_state,
)

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

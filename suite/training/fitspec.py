"""The fitting problem of a family: which arguments train, their true and initial values, which are held and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributions as D
from torch.distributions import constraints, transform_to
from torch.distributions.transforms import (
    Transform,
)

from suite.registry.families import Family, ParamDict, to_tensor
from suite.training.constraint_module import class_constraints, constraint_tensors, constraint_transform, trainable

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
    return [torch.as_tensor(t) for t in constraint_tensors(support)]


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
        elif constraint_tensors(constraint):
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

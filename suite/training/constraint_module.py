"""ConstraintModule: any torch.distributions class as a trainable nn.Module, from its arg_constraints and
`torch.distributions.transform_to`, with no per-family code; and the constraint transforms it uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping

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

TRANSFORMS = ("exp", "softplus")
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


def constraint_tensors(constraint: constraints.Constraint) -> list[torch.Tensor]:
    found = []
    for value in vars(constraint).values():
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, constraints.Constraint):
            found.extend(constraint_tensors(value))
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
            if constraint_tensors(constraint):
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

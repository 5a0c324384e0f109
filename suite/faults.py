"""Planted faults: distributions that are wrong in one known way, to prove each check can fail."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributions as D


def with_fault(dist: D.Distribution, attribute: str, perturb: Callable[..., torch.Tensor]) -> D.Distribution:
    """Make `dist.attribute` wrong: a method's result becomes perturb(result, *args), a property's perturb(value)."""
    base = type(dist)
    original = getattr(base, attribute)
    if isinstance(original, property):
        replacement = property(lambda self: perturb(original.fget(self)))
    else:
        def replacement(self, *args, **kwargs):
            return perturb(original(self, *args, **kwargs), *args)
    dist.__class__ = type(f"Faulty{base.__name__}", (base,), {attribute: replacement})
    return dist


def with_support(dist: D.Distribution, support: D.constraints.Constraint) -> D.Distribution:
    """Give `dist` a wrong support constraint."""
    base = type(dist)
    dist.__class__ = type(f"WrongSupport{base.__name__}", (base,), {"support": support})
    return dist


def without_validation(cls: type[D.Distribution]) -> type[D.Distribution]:
    """A subclass of cls that declares no argument constraints, so nothing is ever validated."""
    return type(f"Unvalidated{cls.__name__}", (cls,), {"arg_constraints": {}})

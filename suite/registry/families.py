"""The registry: one entry per torch.distributions family, everything else is generated from it.

An entry (suite.registry.family.Family, written in suite.registry.entries) names the torch class, how to
build an instance from batched parameters, a generator of valid parameters over the whole parameter space,
its float64 reference (scipy.stats or scipy pieces), tolerances per dtype, invalid parameters and the known
deviations (findings).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch.distributions as D

from suite.registry.entries import (
    composite,
    discrete,
    gamma_derived,
    location_scale,
    multivariate,
    tails_and_bounded,
)
from suite.registry.family import (  # noqa: F401 - the registry's public names
    DEFAULT_TOLERANCE,
    DEVICES,
    DTYPES,
    EXPLICIT,
    IMPLICIT,
    NAN,
    Family,
    ParamDict,
    Tolerance,
    Unsupported,
    dtype_name,
    round_to,
    to_tensor,
)

FAMILIES: list[Family] = [*location_scale.ENTRIES, *gamma_derived.ENTRIES, *tails_and_bounded.ENTRIES,
                          *discrete.ENTRIES, *multivariate.ENTRIES, *composite.ENTRIES]
FAMILIES = [family for family in FAMILIES if family.torch_cls is not None]  # older torch lacks some
REGISTRY: dict[str, Family] = {family.name: family for family in FAMILIES}


def register(family: Family) -> Family:
    """Add an entry at run time (before the cases are collected, e.g. from a conftest or plugin)."""
    if family.name in REGISTRY:
        raise ValueError(f"a family named {family.name!r} is registered already")
    FAMILIES.append(family)
    REGISTRY[family.name] = family
    return family

ABSTRACT_CLASSES = frozenset({"Distribution", "ExponentialFamily"})


def public_distribution_classes() -> list[str]:
    """Every concrete public class in torch.distributions."""
    names = []
    for name in D.__all__:
        obj = getattr(D, name)
        if isinstance(obj, type) and issubclass(obj, D.Distribution) and name not in ABSTRACT_CLASSES:
            names.append(name)
    return sorted(names)


def unregistered_classes(registry: Mapping[str, Family] | None = None) -> list[str]:
    """Public torch.distributions classes that have no registry entry."""
    registry = REGISTRY if registry is None else registry
    return sorted(set(public_distribution_classes()) - set(registry))


def invalid_params(family: Family, rng: np.random.Generator) -> list[tuple[str, ParamDict]]:
    """Valid parameter sets with one parameter replaced by an invalid value (description, params)."""
    cases = []
    for overrides in family.invalid:
        params = family.make_params(rng, 4)
        for name, value in overrides.items():
            params[name] = np.broadcast_to(np.asarray(value, dtype=float), np.shape(params[name])).copy()
        cases.append((", ".join(f"{k}={v}" for k, v in overrides.items()), params))
    return cases


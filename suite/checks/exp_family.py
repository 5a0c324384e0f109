"""ExponentialFamily's generic entropy (Bregman divergence of the log normalizer, less the mean carrier
measure) against the family's reference entropy, for every family that defines the pieces it needs."""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions.exp_family import ExponentialFamily

from suite.checks.result import CheckResult, failed
from suite.registry.families import DEFAULT_TOLERANCE, FAMILIES, Family


def exponential_families() -> list[Family]:
    return [f for f in FAMILIES if isinstance(f.torch_cls, type) and issubclass(f.torch_cls, ExponentialFamily)]


def check_generic_entropy(family: Family, rng: np.random.Generator, n: int = 200) -> CheckResult:
    params = family.make_params(rng, n)
    dist = family.instantiate(params)
    try:
        actual = ExponentialFamily.entropy(dist).detach().numpy()
    except NotImplementedError:
        return failed("exp_family.entropy", family.name, "float64",
                      "ExponentialFamily.entropy raises NotImplementedError (no _mean_carrier_measure)")
    expected = np.asarray(family.reference(params).entropy(), dtype=np.float64)
    tol = DEFAULT_TOLERANCE[torch.float64]
    ok = np.abs(actual - expected) <= tol.rtol * np.abs(expected) + tol.atol
    return CheckResult("exp_family.entropy", family.name, passed=bool(ok.all()), compared=int(ok.size),
                       failures=int((~ok).sum()), max_abs_error=float(np.max(np.abs(actual - expected))),
                       ok=ok, coords={k: v for k, v in params.items() if np.ndim(v) == 1})

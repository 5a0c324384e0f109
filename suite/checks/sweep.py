"""The seed sweep of the slow tier: the default tier's distribution checks over many seeds, every failure
reported, so a finding that one seed's draw misses is discovered here rather than by a user's --seed.

Each case is run as the default tier runs it (the same checks, parameter draws and verdicts), at run seeds
0 .. seeds - 1, its rng derived from the case's name and the seed as conftest.py derives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from suite.checks import rsample_grad as G
from suite.checks import sampling as S
from suite.checks.result import CheckResult, guarded
from suite.checks.values import check_invalid_params, check_method, check_support, implemented_methods
from suite.registry.families import DTYPES, FAMILIES, Family, dtype_name
from suite.state import derive_seed
from suite.verdict import FAIL, judge

# The value cases' parameter sets per call (cases/distributions/test_reference_agreement.py).
VALUE_SETS = 1000


@dataclass(frozen=True)
class SweepCase:
    name: str  # "Normal-icdf-float32"
    family: Family
    check: str  # the check name the known deviations match ("icdf", "rsample.unbiasedness", ...)
    dtype: torch.dtype
    run: Callable[[np.random.Generator], CheckResult]


@dataclass(frozen=True)
class SweepFailure:
    seed: int
    case: str
    message: str

    def __str__(self) -> str:
        return f"seed {self.seed}: {self.case}: {self.message[:400]}"


def _value_case(family: Family, method: str, dtype: torch.dtype) -> SweepCase:
    def run(rng: np.random.Generator) -> CheckResult:
        if method == "support":
            return check_support(family, family.draw(rng, VALUE_SETS), dtype, "cpu", rng)
        if method == "invalid_params":
            return check_invalid_params(family, rng, "cpu")
        return check_method(family, method, family.draw(rng, VALUE_SETS), dtype, "cpu", rng)
    return SweepCase(f"{family.name}-{method}-{dtype_name(dtype)}", family, method, dtype, run)


def _grad_case(family: Family, check: str, dtype: torch.dtype,
               run: Callable[[np.random.Generator], CheckResult]) -> SweepCase:
    return SweepCase(f"{family.name}-rsample.{check}-{dtype_name(dtype)}", family, f"rsample.{check}", dtype, run)


def _sampler_case(family: Family, method: str, dtype: torch.dtype) -> SweepCase:
    def run(rng: np.random.Generator) -> CheckResult:
        return S.goodness_of_fit(family, method, dtype, "cpu", rng)
    return SweepCase(f"{family.name}-sampler.{method}-{dtype_name(dtype)}", family, f"sampler.{method}", dtype, run)


def value_cases(families: Iterable[Family] = FAMILIES) -> list[SweepCase]:
    """Every value, support and invalid-parameter case of the default tier, on the CPU."""
    cases = []
    for family in families:
        for dtype in DTYPES.values():
            cases += [_value_case(family, method, dtype) for method in (*implemented_methods(family), "support")]
        cases.append(_value_case(family, "invalid_params", torch.float64))
    return cases


def gradient_cases(families: Iterable[Family] = FAMILIES) -> list[SweepCase]:
    """Every rsample-gradient case of the default tier (pathwise, unbiasedness, flow), on the CPU."""
    cases = []
    unbiased = {f.name for f in S.unbiasedness_families()}
    for family in families:
        if not family.has_rsample:
            continue
        for name in G.pathwise_parameters(family):
            cases.append(_grad_case(family, f"pathwise:{name}", torch.float64,
                                    lambda rng, f=family, p=name: G.pathwise(f, p, "cpu", rng)))
        for dtype in DTYPES.values():
            if family.name in unbiased:
                cases.append(_grad_case(family, "unbiasedness", dtype,
                                        lambda rng, f=family, d=dtype: G.unbiasedness(f, d, "cpu", rng)))
            cases.append(_grad_case(family, "flow", dtype, lambda rng, f=family, d=dtype: G.flow(f, d, "cpu", rng)))
    return cases


def sampler_cases(families: Iterable[Family] = FAMILIES) -> list[SweepCase]:
    """Every sampler goodness-of-fit case of the default tier, on the CPU."""
    names = {f.name for f in families}
    return [_sampler_case(family, method, dtype) for family, method in S.sampler_checks() if family.name in names
            for dtype in DTYPES.values()]


def run_case(case: SweepCase, seed: int) -> str | None:
    """The case's verdict at run seed `seed`: None where the default tier would pass it (or xfail it),
    else why it fails."""
    rng = np.random.default_rng(derive_seed("sweep", case.name, seed))
    result = guarded(lambda: case.run(rng), case.check, case.family.name, dtype_name(case.dtype))
    verdict = judge(result, case.family.known_for(case.check, case.dtype, "cpu"))
    return verdict.message if verdict.status == FAIL else None


def sweep(cases: Sequence[SweepCase], seeds: Iterable[int],
          progress: Callable[[str], None] | None = None) -> tuple[int, list[SweepFailure]]:
    """Every case at every seed: (runs, failures)."""
    runs, failures = 0, []
    for seed in seeds:
        for case in cases:
            message = run_case(case, seed)
            runs += 1
            if message is not None:
                failures.append(SweepFailure(seed, case.name, message))
                if progress is not None:
                    progress(str(failures[-1]))
    return runs, failures

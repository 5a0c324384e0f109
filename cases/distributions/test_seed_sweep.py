"""The slow tier's seed sweep: every case of cases/distributions as the default tier runs it (values, edges,
shapes, KL, transforms, constraints, Jacobians, samplers, rsample gradients, modes, strategies, and their
planted faults), at run seeds 0 .. SWEEP_SEEDS - 1, every failure reported; and the power of each statistical
planted fault, simulated over POWER_SEEDS seeds.

`pytest -m slow cases/distributions/test_seed_sweep.py`. Time on a 2-core machine: about 100 s a seed, so
about 85 minutes at 50 seeds; the power cases about 5 to 15 minutes each at 1000 seeds.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch

from suite.checks import rsample_grad as G
from suite.checks import sampling as S
from suite.registry.families import REGISTRY

SWEEP_SEEDS = 50
POWER_SEEDS = 1000
ROOT = Path(__file__).resolve().parents[2]


def failed_cases(junit_xml: Path) -> list[str]:
    """The ids of the cases a junit report records as failed or in error."""
    return [f"{case.get('classname')}::{case.get('name')}" for case in ET.parse(junit_xml).iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None]


def run_distribution_cases(seed: int, junit_xml: Path) -> list[str]:
    """The default tier's distribution cases at run seed `seed`, in a fresh process: the ids that fail."""
    subprocess.run([sys.executable, "-m", "pytest", "cases/distributions", "-q", "-p", "no:cacheprovider",
                    "--seed", str(seed), f"--junitxml={junit_xml}"], cwd=ROOT, capture_output=True, timeout=3600)
    return failed_cases(junit_xml)


@pytest.mark.slow
def test_every_distribution_case_passes_at_every_seed(tmp_path, record_property):
    """0 false alarms: a failure here is a finding no known deviation covers, a check that breaks on some draw,
    or a planted fault missed. Expected false alarms of the statistical cases: under FALSE_POSITIVE_BUDGET
    (the run-wide alpha) a seed."""
    failures = {}
    for seed in range(SWEEP_SEEDS):
        failures[seed] = run_distribution_cases(seed, tmp_path / f"seed-{seed}.xml")
        print(f"seed {seed}: {len(failures[seed])} failed {' '.join(failures[seed])}", flush=True)
    record_property("failures", sum(map(len, failures.values())))
    assert not any(failures.values()), {seed: ids for seed, ids in failures.items() if ids}


def test_failed_cases_reads_failures_and_errors(tmp_path):
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite><testcase classname="a" name="ok"/>'
                      '<testcase classname="a" name="bad"><failure/></testcase>'
                      '<testcase classname="b" name="broken"><error/></testcase>'
                      '<testcase classname="b" name="skip"><skipped/></testcase></testsuite></testsuites>')
    assert failed_cases(report) == ["a::bad", "b::broken"]


def _unbiasedness_rejects(name: str, cls, dtype: torch.dtype, params):
    def rejects(seed: int) -> bool:
        torch.manual_seed(seed)
        return not G.unbiasedness(REGISTRY[name], dtype, "cpu", np.random.default_rng(seed),
                                  build=lambda tensors: cls(**tensors), params=params).passed
    return rejects


def _sampler_rejects(name: str, method: str, cls, dtype: torch.dtype, params=None):
    def rejects(seed: int) -> bool:
        torch.manual_seed(seed)
        return not S.goodness_of_fit(REGISTRY[name], method, dtype, "cpu", np.random.default_rng(seed),
                                     instantiate=lambda p, d, dev: cls(**{k: torch.as_tensor(v, dtype=d)
                                                                         for k, v in p.items()}),
                                     params=params).passed
    return rejects


FAULTS = ("exponential-scale-1.05-sample", "exponential-scale-1.05-rsample", "categorical-swap-3%",
          "gamma-gradient-x1.02-unbiasedness", "normal-loc-detached-unbiasedness")
POWER_CASES = [f"{fault}-{dtype}" for dtype in ("float64", "float32") for fault in FAULTS]


def _power_case(name: str):
    """The planted fault's check at one seed: True where it rejects the faulty sampler."""
    import test_rsample_grad as R  # the planted faults live beside their default-tier cases
    import test_sampling as T

    fault, _, tag = name.rpartition("-")
    dtype = getattr(torch, tag)
    swap = {"probs": np.tile(T.SWAP_PROBS, (S.PARAMETER_SETS, 1))}
    return {
        "exponential-scale-1.05-sample": _sampler_rejects("Exponential", "sample", T.ScaledExponential, dtype),
        "exponential-scale-1.05-rsample": _sampler_rejects("Exponential", "rsample", T.ScaledExponential, dtype),
        "categorical-swap-3%": _sampler_rejects("Categorical", "sample", T.SwappingCategorical, dtype, swap),
        "gamma-gradient-x1.02-unbiasedness": _unbiasedness_rejects("Gamma", R.SteeperGamma, dtype,
                                                                   R.GAMMA_STATED),
        "normal-loc-detached-unbiasedness": _unbiasedness_rejects("Normal", R.LocDetachedNormal, dtype,
                                                                  R.NORMAL_STATED),
    }[fault]


@pytest.mark.slow
@pytest.mark.parametrize("fault", POWER_CASES)
def test_planted_fault_power_is_at_least_0_999(fault, record_property):
    rejects = _power_case(fault)
    detected = sum(rejects(seed) for seed in range(POWER_SEEDS))
    record_property("power", detected / POWER_SEEDS)
    print(f"{fault}: detected at {detected} of {POWER_SEEDS} seeds (alpha {S.ALPHA:.3g})")
    assert detected / POWER_SEEDS >= 0.999

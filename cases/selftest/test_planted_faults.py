"""Every check of the reference-agreement cases fails on a planted fault."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.distributions as D

from suite.checks.values import check_invalid_params, check_method, check_support, default_builder
from suite.faults import with_fault, with_support, without_validation
from suite.registry.families import REGISTRY, unregistered_classes
from suite.state import GlobalState

N = 1000


def faulty_builder(attribute, perturb):
    def build(family, params, dtype, device):
        return with_fault(default_builder(family, params, dtype, device), attribute, perturb)
    return build


def upper_tail_only(cdf, value):
    return torch.where(cdf > 0.999, cdf + 1e-4, cdf)


def category_two_only(log_prob, value):
    return torch.where(value == 2, log_prob + 1e-3, log_prob)


VALUE_FAULTS = [
    pytest.param("Normal", "log_prob", lambda lp, x: lp + 1e-4, torch.float64, id="log_prob-off-by-1e-4"),
    pytest.param("Normal", "log_prob", lambda lp, x: lp + 1e-2, torch.float32, id="float32-log_prob-off-by-1e-2"),
    pytest.param("Normal", "cdf", upper_tail_only, torch.float64, id="cdf-wrong-only-in-upper-tail"),
    pytest.param("Exponential", "icdf", lambda x, q: x * (1 + 1e-6), torch.float64, id="icdf-scaled-1e-6"),
    pytest.param("Beta", "mean", lambda m: m * (1 + 1e-6), torch.float64, id="mean-scaled-1e-6"),
    pytest.param("Dirichlet", "variance", lambda v: v * (1 + 1e-6), torch.float64, id="variance-scaled-1e-6"),
    pytest.param("StudentT", "stddev", lambda s: s * (1 + 1e-6), torch.float64, id="stddev-scaled-1e-6"),
    pytest.param("Gamma", "entropy", lambda h: h + 1e-3, torch.float64, id="entropy-off-by-1e-3"),
    pytest.param("Poisson", "mode", lambda m: m + 1, torch.float64, id="mode-off-by-one"),
    pytest.param("Categorical", "log_prob", category_two_only, torch.float64, id="enumerate_support-one-category"),
]


@pytest.mark.parametrize("family_name,attribute,perturb,fault_dtype", VALUE_FAULTS)
def test_value_check_reports_planted_fault(family_name, attribute, perturb, fault_dtype, rng):
    family = REGISTRY[family_name]
    method = "enumerate_support" if family_name == "Categorical" else attribute
    params = family.make_params(rng, N)
    assert check_method(family, method, params, fault_dtype, rng=rng).passed, "the unperturbed family must pass first"
    result = check_method(family, method, params, fault_dtype, rng=rng, build=faulty_builder(attribute, perturb))
    assert not result.passed, result.summary()
    assert result.failures > 0 and result.worst


SUPPORT_FAULTS = [
    pytest.param("Exponential", D.constraints.real, "outside the support accepted", id="too-wide"),
    pytest.param("HalfNormal", D.constraints.positive, "boundary", id="rejected-boundary"),
    pytest.param("Normal", D.constraints.positive, "inside the support rejected", id="too-narrow"),
]


@pytest.mark.parametrize("family_name,wrong_support,message", SUPPORT_FAULTS)
def test_support_check_reports_a_wrong_support(family_name, wrong_support, message, rng):
    family = REGISTRY[family_name]
    build = lambda *a: with_support(default_builder(*a), wrong_support)  # noqa: E731
    result = check_support(family, family.make_params(rng, N), build=build)
    assert not result.passed and message in result.message, result.summary()


def test_invalid_parameter_check_reports_missing_validation(rng):
    unvalidated = dataclasses.replace(REGISTRY["Normal"], torch_cls=without_validation(D.Normal))
    result = check_invalid_params(unvalidated, rng)
    assert not result.passed and "no ValueError" in result.message


def test_registry_completeness_reports_a_missing_family():
    partial = {name: family for name, family in REGISTRY.items() if name != "Gamma"}
    assert unregistered_classes(partial) == ["Gamma"]
    assert unregistered_classes(REGISTRY) == []


def test_global_state_capture_detects_changes():
    before = GlobalState.capture()
    validate = D.Distribution._validate_args
    try:
        D.Distribution.set_default_validate_args(not validate)
        assert GlobalState.capture() != before
    finally:
        D.Distribution.set_default_validate_args(validate)
    torch.rand(1)
    assert GlobalState.capture() != before


@pytest.mark.parametrize("family_name", ["Normal", "Dirichlet", "Wishart", "Categorical", "Kumaraswamy"])
def test_checks_leave_validation_threads_and_rng_as_found(family_name):
    family = REGISTRY[family_name]
    rng = np.random.default_rng(0)
    params = family.make_params(rng, 50)
    before = GlobalState.capture()
    for method in ("log_prob", "mean", "entropy"):
        try:
            check_method(family, method, params, rng=rng)
        except NotImplementedError:
            pass
    check_support(family, params, rng=rng)
    check_invalid_params(family, rng)
    assert GlobalState.capture() == before

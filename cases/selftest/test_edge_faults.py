"""Every edge check fails on a planted fault: a torch class subclassed with one method made wrong at an edge."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.distributions as D

from suite.checks import edge_tails, edges
from suite.checks.values import compare
from suite.registry.edges import EDGE_METHODS
from suite.registry.families import REGISTRY
from suite.verdict import FAIL, judge


class IcdfFiniteAtZero(D.Normal):
    def icdf(self, value):
        return super().icdf(value.clamp(1e-300, 1 - 1e-16))


class ImpossibleEventFinite(D.Poisson):
    def log_prob(self, value):
        return super().log_prob(value).clamp(min=-1e4)


class TailUnderflowsEarly(D.Gamma):
    def cdf(self, value):
        cdf = super().cdf(value)
        return torch.where(cdf < 1e-100, torch.zeros_like(cdf), cdf)


class NanWhereInfIsDue(D.Poisson):
    def log_prob(self, value):
        log_prob = super().log_prob(value)
        return torch.where(log_prob == -torch.inf, torch.full_like(log_prob, torch.nan), log_prob)


class LogitsThroughProbs(D.Categorical):
    """log_prob as log(softmax(logits)): the probabilities underflow to 0 for logits hundreds apart."""

    def log_prob(self, value):
        value, probs = torch.broadcast_tensors(value.long().unsqueeze(-1), self.probs)
        return torch.log(probs.gather(-1, value[..., :1])).squeeze(-1)


class NoSampleValidation(D.Exponential):
    def _validate_sample(self, value):
        pass


def _planted(name: str, cls: type) -> object:
    return dataclasses.replace(REGISTRY[name], torch_cls=cls)


EDGE_FAULTS = [
    pytest.param("Normal", IcdfFiniteAtZero, lambda f: edges.check_ends(f, "icdf"), "icdf", id="icdf-finite-at-q0"),
    pytest.param("Poisson", ImpossibleEventFinite, edges.check_boundary_params, "log_prob",
                 id="impossible-event-finite"),
    pytest.param("Gamma", TailUnderflowsEarly, edge_tails.check_tails, "cdf", id="tail-underflows-early"),
    pytest.param("Poisson", NanWhereInfIsDue, edges.check_boundary_params, "log_prob", id="nan-where-inf-is-due"),
    pytest.param("Categorical", LogitsThroughProbs, edges.check_logits, "log_prob", id="logits-overflow"),
]


@pytest.mark.parametrize("family_name,faulty_cls,check,method", EDGE_FAULTS)
def test_edge_check_reports_planted_fault(family_name, faulty_cls, check, method):
    family = REGISTRY[family_name]
    assert check(family).passed, "the unperturbed family must pass first"
    result = check(_planted(family_name, faulty_cls))
    assert not result.passed and result.failures > 0, result.summary()
    assert result.worst["method"] == method, result.worst


def test_outside_check_reports_missing_validation():
    family = REGISTRY["Exponential"]
    planted = dataclasses.replace(family, torch_cls=NoSampleValidation)
    result = edges.check_outside(planted)
    failing = set(np.asarray(result.coords["method"])[~result.ok])
    assert failing >= {EDGE_METHODS.index("log_prob.validated")}, result.summary()


def test_a_new_error_outside_a_pinned_edge_finding_fails_the_run():
    """Exponential's pinned finding covers log_prob and cdf outside the support with validation off; a
    validation that no longer raises is outside that region, so the verdict is a failure, not an xfail."""
    family = REGISTRY["Exponential"]
    known = family.known_for("edge.outside")
    assert known, "Exponential has a pinned edge.outside finding"
    planted = dataclasses.replace(family, torch_cls=NoSampleValidation)
    assert judge(edges.check_outside(planted), known).status == FAIL


def test_compare_is_strict_about_non_finite_values():
    family = REGISTRY["Normal"]
    actual = np.array([np.nan, -np.inf, np.inf, 1.0, np.inf, np.nan, -np.inf])
    expected = np.array([np.inf, np.inf, np.inf, np.inf, 1.0, 1.0, -np.inf])
    result = compare("log_prob", family, torch.float64, actual, expected, {"loc": np.zeros(7)}, batch_axis=0)
    assert result.ok.tolist() == [False, False, True, False, False, False, True]

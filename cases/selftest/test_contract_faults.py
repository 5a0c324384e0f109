"""Planted faults for the contract checks: each must fail its check."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.distributions as D
from torch.distributions import transforms as T
from torch.distributions.utils import lazy_property

from suite.checks.contracts import check_parameter_shapes, check_parameterisations, check_value_contract
from suite.checks.transforms import check_protocol
from suite.registry.families import REGISTRY
from suite.registry.transforms import TRANSFORM_CASES


class UnvalidatedExponential(D.Exponential):
    def log_prob(self, value):
        return self.rate.log() - self.rate * torch.as_tensor(value, dtype=self.rate.dtype)


class DriftingPrecision(D.MultivariateNormal):
    """Built from a covariance, it reports a precision matrix 1e-3 off."""

    @lazy_property
    def precision_matrix(self):
        return torch.cholesky_inverse(self._unbroadcasted_scale_tril).expand(
            self._batch_shape + self._event_shape + self._event_shape) * (1 + 1e-3)


class LenientLowRankShapes(D.LowRankMultivariateNormal):
    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        n = min(loc.shape[-1], cov_factor.shape[-2], cov_diag.shape[-1])
        super().__init__(loc[..., :n], cov_factor[..., :n, :], cov_diag[..., :n], validate_args=validate_args)


class SelfUnequal(T.ExpTransform):
    def __eq__(self, other):
        return False


def test_values_accepted_without_validation_fail_the_value_contract():
    family = dataclasses.replace(REGISTRY["Exponential"], torch_cls=UnvalidatedExponential)
    assert check_value_contract(REGISTRY["Exponential"], np.random.default_rng(0)).passed
    assert not check_value_contract(family, np.random.default_rng(0)).passed


def test_a_parameterisation_that_drifts_fails():
    assert check_parameterisations(REGISTRY["MultivariateNormal"], np.random.default_rng(0)).passed
    family = dataclasses.replace(REGISTRY["MultivariateNormal"], torch_cls=DriftingPrecision)
    assert not check_parameterisations(family, np.random.default_rng(0)).passed


def test_parameters_silently_truncated_fail_the_shape_contract():
    assert check_parameter_shapes(REGISTRY["LowRankMultivariateNormal"], np.random.default_rng(0)).passed
    family = dataclasses.replace(REGISTRY["LowRankMultivariateNormal"], torch_cls=LenientLowRankShapes)
    assert not check_parameter_shapes(family, np.random.default_rng(0)).passed


def test_a_transform_unequal_to_itself_fails_the_protocol():
    case = next(c for c in TRANSFORM_CASES if c.name == "Exp")
    assert check_protocol(case, torch.float64, np.random.default_rng(0)).passed
    planted = dataclasses.replace(case, build=lambda dtype: SelfUnequal())
    assert not check_protocol(planted, torch.float64, np.random.default_rng(0)).passed

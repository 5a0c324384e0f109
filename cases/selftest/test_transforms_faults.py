"""The transform and constraint checks fail on planted faults."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.distributions.constraints as C
import torch.distributions.transforms as T

from suite.checks.constraints import check_membership
from suite.checks.transforms import check_log_abs_det_jacobian, check_round_trip
from suite.registry.constraints import CONSTRAINT_CASES
from suite.registry.transforms import TRANSFORM_CASES

EXP = next(case for case in TRANSFORM_CASES if case.name == "Exp")


class InverseOffNearZero(T.ExpTransform):
    """log(y), off by 1e-9 relative only where y < 1e-100 (x < -230)."""

    def _inverse(self, y):
        x = y.log()
        return torch.where(y < 1e-100, x * (1 + 1e-9), x)


class LogDetWrongSign(T.ExpTransform):
    def log_abs_det_jacobian(self, x, y):
        return -x


class LogDetWrongShape(T.ExpTransform):
    def log_abs_det_jacobian(self, x, y):
        return x.unsqueeze(-1)


def _build(cls):
    return lambda case, dtype: cls()


def test_the_unperturbed_case_passes():
    rng = np.random.default_rng(0)
    assert check_round_trip(EXP, torch.float64, rng).passed
    assert check_log_abs_det_jacobian(EXP, torch.float64, rng).passed


def test_round_trip_reports_an_inverse_off_near_the_boundary():
    result = check_round_trip(EXP, torch.float64, np.random.default_rng(0), build=_build(InverseOffNearZero))
    assert not result.passed and result.worst["x_min"] < -230, result.summary()


def test_log_det_check_reports_a_wrong_sign():
    result = check_log_abs_det_jacobian(EXP, torch.float64, np.random.default_rng(0), build=_build(LogDetWrongSign))
    assert not result.passed and result.failures > 0, result.summary()


def test_log_det_check_reports_a_wrong_shape():
    result = check_log_abs_det_jacobian(EXP, torch.float64, np.random.default_rng(0),
                                        build=_build(LogDetWrongShape))
    assert not result.passed and "shape" in result.message, result.summary()


class AcceptsZero(C._GreaterThan):
    def check(self, value):
        return value >= self.lower_bound


def test_membership_reports_a_constraint_that_accepts_a_point_just_outside():
    positive = next(case for case in CONSTRAINT_CASES if case.name == "positive")
    assert check_membership(positive).passed
    faulty = dataclasses.replace(positive, constraint=AcceptsZero(0.0))
    result = check_membership(faulty)
    assert not result.passed and "just outside" in result.message, result.summary()

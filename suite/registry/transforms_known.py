"""The known deviations of the Transform cases (suite.registry.transforms), keyed by case name or by a pattern
of case names."""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np

from suite.registry.known import Known, Severity
from suite.registry.transforms import TransformCase


def _known(check: str, what: str, severity: Severity, region=None, where: str = "every point",
           dtype: str = "*") -> Known:
    return Known(check=check, what=what, severity=severity, dtype=dtype, region=region, where=where)


_STACK_NEGATIVE_DIM = (
    "StackTransform(dim < 0): domain/codomain constraints.stack(..., dim < 0).event_dim is 1 (the stacked dim "
    "counts as an event dim) while its check and log_abs_det_jacobian keep the stacked dim: shapes (4, 5, 3) "
    "where event_dim 1 implies (4, 5)")
_STICK_BREAKING = (
    "StickBreakingTransform computes 1 - sigmoid(u) as a difference, so once a coordinate saturates the later "
    "simplex coordinates lose their relative precision")

# Known deviations by case name.
KNOWN: dict[str, tuple[Known, ...]] = {
    "Softplus": (_known("round_trip", "t.inv(t(x)) off by exp(-x) (2.8e-10 at x = 22): the forward returns x "
                        "itself above softplus's threshold 20, the inverse is exact", Severity.WRONG_FLOAT64,
                        lambda c: (c["x_min"] > 20) & (c["x_min"] < 40), "20 < x < 40", "float64"),),
    "Softplus.inv": (_known("round_trip", "t.inv(t(y)) off by exp(-y) (2.8e-10 at y = 22): softplus returns x "
                            "itself above its threshold 20", Severity.WRONG_FLOAT64,
                            lambda c: (c["x_min"] > 20) & (c["x_min"] < 40), "20 < y < 40", "float64"),),
    "Abs": (_known("constraints", "AbsTransform.codomain is positive, but |0| = 0 lies outside it "
                   "(nonnegative is due)", Severity.CONVENTION, lambda c: c["x_min"] == 0, "x = 0"),),
    "Sigmoid.inv": (_known("log_abs_det_jacobian", "the inverse clamps y to 1 - eps: for y in (1 - eps, 1] it "
                           "returns logit(1 - eps) (float64 36.04, float32 15.94) and a finite log-det where "
                           "log|det| is off by log 2 (y = 1 - eps/2) or +inf (y = 1)", Severity.CONVENTION,
                           lambda c: c["x_min"] > 0.99999988, "y > 1 - eps"),),
    "Tanh.inv": (_known("log_abs_det_jacobian", "log_abs_det_jacobian(-1, -inf) is NaN, +inf due: the forward's "
                        "2 (log 2 - x - softplus(-2x)) is inf - inf at x = -inf", Severity.NONFINITE,
                        lambda c: c["x_min"] == -1, "y = -1"),),
    "CDF(Normal)": (
        _known("round_trip", "Normal.cdf via erf loses the lower tail: icdf(cdf(x)) off by 2e-5 at x = -13 "
               "(z = -7), 9e-4 at z = -5.2", Severity.WRONG_FLOAT64, lambda c: c["x_min"] < -5, "x < -5 (z < -3)",
               "float64"),
        _known("round_trip", "Normal.cdf via erf loses the lower tail: icdf(cdf(x)) off or -inf for z < -3",
               Severity.FLOAT32, lambda c: c["x_min"] < -5, "x < -5 (z < -3)", "float32"),
    ),
    "CDF(Normal).inv": (
        _known("round_trip", "Normal.cdf via erf has absolute, not relative, precision in the lower tail: "
               "cdf(icdf(q)) off by 1.1e-16 at q = 1e-10 (relative 1e-6)", Severity.WRONG_FLOAT64,
               lambda c: c["x_min"] < 1e-3, "q < 1e-3", "float64"),
        _known("round_trip", "cdf(icdf(q)) off by 6e-8 for q < 1e-3 (erf's absolute precision)",
               Severity.FLOAT32, lambda c: c["x_min"] < 1e-3, "q < 1e-3", "float32"),
        _known("log_abs_det_jacobian", "icdf(q) = -inf for q < 3e-8 (erfinv(2q - 1) = erfinv(-1)), so the "
               "log-det is inf where 17.9 is due at q = 1e-10", Severity.FLOAT32,
               lambda c: c["x_min"] < 1e-6, "q < 1e-6", "float32"),
    ),
    "StickBreaking": (
        _known("log_abs_det_jacobian", _STICK_BREAKING + ": log-det off by 1e-3 at x = (30, 0, 0, 0)",
               Severity.WRONG_FLOAT64, lambda c: c["x_max"] > 20, "a coordinate > 20", "float64"),
        _known("log_abs_det_jacobian", _STICK_BREAKING + ": log-det off by 38 at x = (30, 0, 0, 0)",
               Severity.FLOAT32, lambda c: c["x_max"] > 9, "a coordinate > 9", "float32"),
        _known("round_trip", _STICK_BREAKING + ": t.inv(t(x)) off by 70 at x = (30, 0, 0, 0)",
               Severity.FLOAT32, lambda c: c["x_max"] > 9, "a coordinate > 9", "float32"),
        _known("round_trip", _STICK_BREAKING + ": t.inv(t(x)) off by 651 at x = (30, 30, 30, 30)",
               Severity.WRONG_FLOAT64, lambda c: c["x_min"] > 20, "every coordinate > 20", "float64"),
    ),
    "StickBreaking.inv": (_known("round_trip", _STICK_BREAKING + ": t(t.inv(y)) off by 2.8e-16 absolute on "
                                 "coordinates near 1e-5 (1e-11 relative)", Severity.WRONG_FLOAT64,
                                 lambda c: c["x_min"] < 0.05, "a coordinate < 0.05", "float64"),
                          _known("round_trip", _STICK_BREAKING + ": t(t.inv(y)) off by 1.2e-7 absolute",
                                 Severity.FLOAT32, lambda c: c["x_min"] < 1e-3, "a coordinate < 1e-3",
                                 "float32"),
                          _known("log_abs_det_jacobian", "float32 t.inv's log-det off by up to 70 where the last "
                                 "coordinate is below 1e-6 (69.6 at 3.1e-8): 1 - cumsum(y) cancels to float32's "
                                 "rounding of 1, so the log of the last coordinate is lost", Severity.FLOAT32,
                                 lambda c: c["x_min"] < 1e-6, "a coordinate < 1e-6", "float32")),
    "Compose(Exp,StickBreaking)": (
        *(_known(check, _STICK_BREAKING + ": log-det off by 8.8 at exp(x) = 21", Severity.FLOAT32,
                 lambda c: c["x_max"] > 2.2, "a coordinate > 2.2", "float32")
          for check in ("round_trip", "log_abs_det_jacobian")),
        _known("round_trip", _STICK_BREAKING + ": t.inv(t(x)) off by 3.0 at x = (3.5, 3.5, 3.5), and inf "
               "once exp(x) saturates the first coordinate to 1 (x = (3.77, -0.71, 0.5))",
               Severity.WRONG_FLOAT64, lambda c: c["x_max"] > 3, "a coordinate > 3", "float64"),
        _known("log_abs_det_jacobian", _STICK_BREAKING + ": log-det off by 0.018 at x = (3.5, 3.5, 3.5)",
               Severity.WRONG_FLOAT64, lambda c: c["x_max"] > 3, "a coordinate > 3", "float64"),
    ),
    "CorrCholesky": tuple(
        _known(check, "float32: tanh saturates and 1 - cumsum(y^2) cancels, so the inverse returns inf and the "
               "log-det inf for |x| > 2.5", Severity.FLOAT32,
               lambda c: np.maximum(-c["x_min"], c["x_max"]) > 2.5, "a coordinate |x| > 2.5", "float32")
        for check in ("round_trip", "log_abs_det_jacobian")) + (
        _known("round_trip", "tanh(8) = 1 - 2e-7 and 1 - cumsum(y^2) cancels: the inverse returns inf at "
               "x = (8, ..., 8)", Severity.WRONG_FLOAT64, lambda c: np.maximum(-c["x_min"], c["x_max"]) > 7,
               "a coordinate |x| > 7", "float64"),
        _known("log_abs_det_jacobian", "1 - cumsum(y^2) cancels: log-det off by 2.7e-5 at x = (8, ..., 8)",
               Severity.WRONG_FLOAT64, lambda c: np.maximum(-c["x_min"], c["x_max"]) > 7, "a coordinate |x| > 7",
               "float64")),
    "Stack(dim=1).inv": (_known("log_abs_det_jacobian", "SigmoidTransform's inverse clamps y to 1 - eps: "
                                "log-det 15.94 where 16.64 is due at y = 1 - 2^-24", Severity.CONVENTION,
                                lambda c: (c["x_min"] > 0.9999999) & (c["x_min"] <= 1), "y = 1 - 2^-24",
                                "float32"),),
    "CorrCholesky.inv": (_known("round_trip", "1 - cumsum(y^2) cancels for a nearly singular correlation: "
                                "t(t.inv(L)) off by 1.1e-14 (50 ulps) at correlation 1 - 1e-6",
                                Severity.WRONG_FLOAT64, lambda c: c["y_absmax"] > 5, "|atanh(r)| > 5",
                                "float64"),),
    **{f"Stack(dim={d})": tuple(_known(check, _STACK_NEGATIVE_DIM, Severity.RAISES)
                                for check in ("log_abs_det_jacobian", "constraints")) for d in (-1, -2, -3)},
    "Cat(event,dim=-1)": (_known("constraints", "constraints.cat of event_dim-1 parts along dim -1 returns a "
                                 "check of shape (2n,) for n events: each part's reduced check is concatenated "
                                 "along the batch dim", Severity.RAISES),),
}


# One defect of every inverse transform, keyed by a pattern of case names.
KNOWN["*.inv"] = (Known("protocol", "an unpickled (or deep-copied) inverse transform t.inv raises AssertionError "
                        "'_inv must not be None' when called: Transform.__getstate__ drops _inv, which for an "
                        "inverse transform is the transform itself", Severity.RAISES, where="every t.inv"),)


def known_for(case: TransformCase) -> tuple[Known, ...]:
    return tuple(known for pattern, entries in KNOWN.items() if fnmatchcase(case.name, pattern) for known in entries)

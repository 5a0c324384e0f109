"""The built references are accurate where float64 arithmetic on their formulas is not."""

from __future__ import annotations

import mpmath
import numpy as np

from suite.registry.built_references import LogisticNormalReference

# A LogisticNormal value whose remainders 1 - x_0 - x_1 (2.8e-7) and 1 - x_0 - x_1 - x_2 (1.1e-7) cancel:
# 1 - cumsum(x) in float64 is off by 2.7e-8 in the log density here.
LOC = [-0.005312934828193201, 1.0948653247505953, -0.013485948362686701]
SCALE = [0.1, 3.0, 0.1]
X = [0.34783195468648703, 0.6521677655844996, 1.7160102005442409e-07, 1.0812799333481656e-07]


def _logistic_normal_log_density_mpmath(x, loc, scale) -> float:
    """The same density with every operation in 50 digits, the last coordinate taken as 1 - the others' sum."""
    with mpmath.workdps(50):
        remaining, total, k_minus_1 = mpmath.mpf(1), mpmath.mpf(0), len(loc)
        for i in range(k_minus_1):
            xi = mpmath.mpf(x[i])
            remaining -= xi
            y = mpmath.log(xi / remaining) + mpmath.log(k_minus_1 - i)
            z = (y - mpmath.mpf(loc[i])) / mpmath.mpf(scale[i])
            total += -z ** 2 / 2 - mpmath.log(mpmath.mpf(scale[i]) * mpmath.sqrt(2 * mpmath.pi)) - mpmath.log(xi)
        return float(total - mpmath.log(remaining))


def test_logistic_normal_log_density_sums_the_remainders_exactly():
    reference = LogisticNormalReference(np.array([LOC]), np.array([SCALE]))
    exact = _logistic_normal_log_density_mpmath(X, LOC, SCALE)
    assert abs(reference.log_prob(np.array([X]))[0] - exact) <= 1e-12, (reference.log_prob(np.array([X]))[0], exact)

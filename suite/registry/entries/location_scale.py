"""Location-scale families on the real line and their halves folded at the location: Normal, Cauchy,
Laplace, Gumbel, HalfNormal, HalfCauchy."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import params as P
from suite.registry import regions as G
from suite.registry import scores
from suite.registry.edges import both, coord_between, coord_in, method_is
from suite.registry.family import NAN, Family
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    BOTH_VMAP,
    GLOBAL_VALIDATION_OFF,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_ITEM,
)

ENTRIES: list[Family] = [
    Family("Normal", D.Normal,
           M.params(loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.norm(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.norm(loc, scale)",
           invalid=({"scale": -1.0}, {"scale": 0.0}, {"loc": NAN}),
           known=(
               Known('icdf',
                     'float32 icdf via erfinv(2q - 1) loses relative precision in the lower tail (q = 1e-6)',
                     Severity.FLOAT32, dtype='float32', region=G.lower_tail, where="q = 1e-6",
                     points={"loc": [66.0], "scale": [15.7]}),
               Known("exp_family.entropy", "the generic ExponentialFamily entropy cancels loc^2 / (2 scale^2) "
                     "terms: off by up to 5.8e-7 (relative 1e-7) where |loc| / scale > 1e3", Severity.WRONG_FLOAT64,
                     region=lambda c: np.abs(c["loc"]) / c["scale"] > 1e3, where="|loc| / scale > 1e3"),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at -900.448, loc 0, p '
                                  '1e-30, scale 78.5455, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream='pytorch#192295'),
               Known('edge.tail', 'icdf in the deep tail is -inf where the true value is -900.448 (at 1e-30, loc 0, '
                                  'p 1e-30, scale 78.5455, upper 0)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='icdf; lower tail, tail probability <= 1e-30', upstream='pytorch#192295'),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
               GLOBAL_VALIDATION_OFF,
           ),
           score=scores.normal,
           compile_representative=True),
    Family("Cauchy", D.Cauchy,
           M.params(loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.cauchy(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.cauchy(loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf tan(pi (q - 1/2)) loses relative precision in both tails: 1% off at q = 1e-6',
                     Severity.FLOAT32, dtype='float32', region=lambda c: (c["at"] < 2e-3) | (c["at"] > 1 - 2e-3),
                     where="q <= 1e-3 and q >= 1 - 1e-3",
                     points={"loc": [0.0], "scale": [1.0]}),
               Known('icdf',
                     'float64 icdf loc + scale tan(pi (q - 1/2)) rounds the argument of tan near its pole (a '
                     'relative error of eps / 2q), which loc cancelling the tail value exposes: -0.048808415 for '
                     '-0.048808420 at q = 1e-6, loc 318.26, scale 0.001 (1e-7 relative)',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.cauchy_icdf_cancels(1e-9),
                     where="|scale tan| eps / (2 min(q, 1 - q)) > 1e-9 |icdf(q)|",
                     points={"loc": [318.26107776], "scale": [0.001]}),
               Known('edge.icdf_ends', "icdf at the quantile ends is finite: -1.28275e+18 where the support's end is"
                                       ' -inf (at 0, end 0, loc 0, scale 78.5455); float32: 1.79691e+09 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('icdf'), coord_in('at', 0.0, 1.0)),
                     where='icdf; q in [0.0, 1.0]', upstream='pytorch#186824'),
               Known('edge.tail', 'cdf in the deep tail is 9.9999953e-11 where the true value is 1e-10 (atan(z)/pi +'
                                  ' 1/2 cancels) (at -2.50018e+11, loc 0, p 1e-10, scale 78.5455, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-10)),
                     where='cdf; lower tail, tail probability <= 1e-10', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is -2.5001797e+11 where the true value is -2.5001810e+11 '
                                  '(tan(pi (q - 1/2)) near the pole) (at 1e-10, loc 0, p 1e-10, scale 78.5455, upper'
                                  ' 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_between('p', high=1e-10)),
                     where='icdf; both tail, tail probability <= 1e-10', upstream=''),
               Known('edge.tail', 'log_prob in the deep tail is -inf where the true value is -924.253 (at '
                                  '-2.50018e+201, loc 0, p 1e-200, scale 78.5455, upper 0)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('log_prob'), coord_between('p', high=1e-200)),
                     where='log_prob; both tail, tail probability <= 1e-200', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is 26.7841 where the true value is 26.7341 (at 0.99999, loc'
                                  ' -23.8221, p 1.00136e-05, scale 0.00159043, upper 1)',
                     Severity.FLOAT32, dtype='float32',
                     region=both(method_is('icdf'), coord_in('upper', 1.0), coord_between('p', high=1.01e-05)),
                     where='icdf; upper tail, tail probability <= 1.00136e-05', upstream=''),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.cauchy),
    Family("Laplace", D.Laplace,
           M.params(loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.laplace(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.laplace(loc, scale)", invalid=({"scale": 0.0},),
           known=(
               Known('icdf',
                     'float32 icdf loses relative precision in the lower tail: 0.1% off at q = 1e-6',
                     Severity.FLOAT32, dtype='float32', region=G.lower_tail, where="q = 1e-6",
                     points={"loc": [13.12], "scale": [1.0]}),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at -5371.29, loc 0, p '
                                  '1e-30, scale 78.5455, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is -inf where the true value is -5371.29 (at 1e-30, loc 0, '
                                  'p 1e-30, scale 78.5455, upper 0)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='icdf; lower tail, tail probability <= 1e-30', upstream=''),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.laplace),
    Family("Gumbel", D.Gumbel,
           M.params(loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.gumbel_r(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.gumbel_r(loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known('edge.icdf_ends', "icdf at the quantile ends is finite: -515.494 where the support's end is "
                                       '-inf (at 0, end 0, loc 0, scale 78.5455); float32: -351.08 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('icdf'), coord_in('at', 0.0, 1.0)),
                     where='icdf; q in [0.0, 1.0]', upstream='pytorch#186824'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at -332.658, loc 0, p '
                                  '1e-30, scale 78.5455, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is -515.494 where the true value is -332.658 (at 1e-30, loc'
                                  ' 0, p 1e-30, scale 78.5455, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_between('p', high=1.78e-15)),
                     where='icdf; both tail, tail probability <= 1.77636e-15', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is 903.252 where the true value is 904.182 (at 0.99999, loc'
                                  ' 0, p 1.00136e-05, scale 78.5455, upper 1)',
                     Severity.FLOAT32, dtype='float32',
                     region=both(method_is('icdf'), coord_in('upper', 1.0), coord_between('p', high=1.01e-05)),
                     where='icdf; upper tail, tail probability <= 1.00136e-05', upstream=''),
               Known('icdf',
                     'float32 icdf -log(-log q) loses the tails: 0.8% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32', region=lambda c: (c["at"] < 2e-3) | (c["at"] > 1 - 2e-3),
                     where="q <= 1e-3 and q >= 1 - 1e-3",
                     points={"loc": [-13.8], "scale": [1.0]}),
               Known('icdf',
                     'icdf -log(-log q) takes log(q) for q near 1, not log1p(q - 1): an absolute error of about '
                     'scale eps / (1 - q) (1.5e-9 at q = 1 - 1e-6), 4e-8 relative where loc cancels the quantile',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.upper_tail, where="q = 1 - 1e-6",
                     points={"loc": [-94.45900441], "scale": [6.83989639]}),
               INVALID_INPUT_ITEM,
           ),
           score=scores.gumbel),
    Family("HalfNormal", D.HalfNormal,
           M.params(scale=M.positive()),
           M.scipy(lambda p: stats.halfnorm(scale=p["scale"]), mode=lambda p: 0 * p["scale"]),
           "scipy.stats.halfnorm(scale=scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf via erfinv loses the upper tail: 0.25% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32', region=G.upper_tail, where="q = 1 - 1e-6",
                     points={"scale": [1.0]}),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is -0.000120273, not 0 (at '
                                     '-0.001, outside_set 0, scale 6.63392); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.normal),
    Family("HalfCauchy", D.HalfCauchy,
           M.params(scale=M.positive()),
           M.scipy(lambda p: stats.halfcauchy(scale=p["scale"]), mode=lambda p: 0 * p["scale"]),
           "scipy.stats.halfcauchy(scale=scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf loses the upper tail: 5.7% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32', region=G.upper_tail, where="q = 1 - 1e-6",
                     points={"scale": [1.0]}),
               Known('edge.icdf_ends', "icdf at the quantile ends is finite: 1.0834e+17 where the support's end is "
                                       'inf (at 1, end 1, scale 6.63392); float32: -1.51766e+08 vs inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('icdf'), coord_in('at', 1.0)),
                     where='icdf; q in [1.0]', upstream='pytorch#186824 (the same tan pole)'),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is -9.59644e-05, not 0 (at '
                                     '-0.001, outside_set 0, scale 6.63392); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 1.04205e-29, p 1e-30,'
                                  ' scale 6.63392, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is 2.25045e+15 where the true value is 2.3775e+15 (at 1, p '
                                  '1.77636e-15, scale 6.63392, upper 1)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 1.0), coord_between('p', high=1.78e-15)),
                     where='icdf; upper tail, tail probability <= 1.77636e-15', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is 422760 where the true value is 421756 (at 0.99999, p '
                                  '1.00136e-05, scale 6.63392, upper 1)',
                     Severity.FLOAT32, dtype='float32',
                     region=both(method_is('icdf'), coord_in('upper', 1.0), coord_between('p', high=1.01e-05)),
                     where='icdf; upper tail, tail probability <= 1.00136e-05', upstream=''),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.cauchy),
]

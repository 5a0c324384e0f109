"""Univariate continuous families."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import marginals, scores
from suite.registry import params as P
from suite.registry import references as R
from suite.registry import regions as G
from suite.registry import tails as TAILS
from suite.registry.edges import EMPTY_BATCH_RESHAPE, Edges, both, coord_between, coord_in, method_is
from suite.registry.family import CONDITIONAL, NAN, REPLAY, Family
from suite.registry.known import Known, Severity
from suite.registry.modes import (
                  AUTOGRAD_FUNCTION,
                  BOTH_VMAP,
                  DATA_DEPENDENT,
                  GLOBAL_VALIDATION_OFF,
                  INPLACE_RANDOMNESS,
                  INVALID_INPUT_ITEM,
                  INVALID_VALUE_ITEM,
)

_BETA_GRADIENT = ("torch's reparameterised gradient of Beta draws (dirichlet_grad_one: a rational correction or a "
                  "saddle-point approximation away from x = 0 and 1) is off by up to 3e-3 relative, beyond the "
                  "1e-3 its own tests demand")

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
    Family("Exponential", D.Exponential,
           M.params(rate=M.positive()),
           M.scipy(lambda p: stats.expon(scale=1 / p["rate"]), mode=lambda p: 0 * p["rate"]),
           "scipy.stats.expon(scale=1/rate)", invalid=({"rate": -1.0}, {"rate": 0.0}),
           score=scores.exponential,
           known=(
               Known('edge.outside', 'with validate_args=False, cdf outside the support is -0.00665597, not 0 (at '
                                     '-0.001, outside_set 0, rate 6.63392); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 1.89883, not -inf '
                                     '(at -0.001, outside_set 0, rate 6.63392); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 1.5074e-31, p 1e-30, '
                                  'rate 6.63392, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           )),
    Family("Gamma", D.Gamma,
           M.params(concentration=M.positive(0.05, 1e3), rate=M.positive()),
           M.scipy(lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
                  mode=lambda p: np.maximum(p["concentration"] - 1, 0) / p["rate"]),
           "scipy.stats.gamma(concentration, scale=1/rate)",
           invalid=({"concentration": -1.0}, {"rate": 0.0}), implicit_reparam=True,
           score=scores.gamma,
           known=(
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, '
                                     'concentration 27.4512, outside_set 0, rate 4.3633); torch documents no value '
                                     'there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration 27.4512, outside_set 0, rate 4.3633); torch documents no'
                                     ' value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known("value_contract", "log_prob accepts a Python list with validation on (it converts the value with "
                     "torch.as_tensor before validating), where the other families raise ValueError",
                     Severity.CONVENTION),
               INVALID_INPUT_ITEM,
           ),
           edges=Edges(tail_reference=TAILS.GAMMA)),
    Family("Chi2", D.Chi2,
           M.params(df=M.positive(0.1, 1e3)),
           M.scipy(lambda p: stats.chi2(p["df"]), mode=lambda p: np.maximum(p["df"] - 2, 0)),
           "scipy.stats.chi2(df)", invalid=({"df": -1.0},), implicit_reparam=True,
           score=scores.chi2,
           known=(
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, df'
                                     ' 35.3059, outside_set 0); torch documents no value there with validation off '
                                     '(validate_args=True raises ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, df 35.3059, outside_set 0); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known("value_contract", "log_prob accepts a Python list with validation on (it converts the value with "
                     "torch.as_tensor before validating), where the other families raise ValueError",
                     Severity.CONVENTION),
               INVALID_INPUT_ITEM,
           ),
           edges=Edges(tail_reference=TAILS.CHI2)),
    Family("Beta", D.Beta,
           M.params(concentration1=M.positive(0.1, 1e3), concentration0=M.positive(0.1, 1e3)),
           M.scipy(lambda p: stats.beta(p["concentration1"], p["concentration0"]),
                  mode=lambda p: np.where((p["concentration1"] > 1) & (p["concentration0"] > 1),
                                          (p["concentration1"] - 1)
                                          / (p["concentration1"] + p["concentration0"] - 2), NAN)),
           "scipy.stats.beta(concentration1, concentration0)",
           invalid=({"concentration1": -1.0}, {"concentration0": 0.0}), implicit_reparam=True,
           score=scores.beta,
           known=(
               Known("exp_family.entropy", "no _mean_carrier_measure (Beta overrides entropy)", Severity.CONVENTION),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration0 26.702, concentration1 35.3059, outside_set 0); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               EMPTY_BATCH_RESHAPE,
               Known('log_prob',
                     'float32 log_prob off by up to 2e-3 at large concentration: lgamma(a) + lgamma(b) - lgamma(a + '
                     'b) cancels terms of size ~1e4 in float32',
                     Severity.FLOAT32, dtype='float32',
                     region=lambda c: np.maximum(c["concentration1"], c["concentration0"]) > 300,
                     where="a concentration > 300", points={"concentration1": [1000.0], "concentration0": [0.6605531]}),
               Known("rsample.pathwise:concentration1", _BETA_GRADIENT, Severity.WRONG_FLOAT64,
                     region=G.beta_gradient_approximated, where="(concentration1 + concentration0) x (1 - x) >= 0.75",
                     points={"concentration1": [5.604286], "concentration0": [92.950153]}),
               Known("rsample.pathwise:concentration0", _BETA_GRADIENT, Severity.WRONG_FLOAT64,
                     region=G.beta_gradient_approximated, where="(concentration1 + concentration0) x (1 - x) >= 0.75",
                     points={"concentration1": [92.950153], "concentration0": [5.604286]}),
               AUTOGRAD_FUNCTION("*sample", BOTH_VMAP),
               INVALID_VALUE_ITEM,
           )),
    Family("StudentT", D.StudentT,
           M.params(df=M.positive(0.1, 1e3), loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.t(p["df"], p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.t(df, loc, scale)", invalid=({"df": -1.0}, {"scale": -1.0}),
           implicit_reparam=True,
           known=(
               Known('log_prob',
                     'float32 log_prob underflows to -inf in the far tails where the log density is about -100 (df '
                     '< 1)',
                     Severity.NONFINITE, dtype='float32',
                     region=lambda c: (c["df"] < 0.35) & (np.abs(c["at"] - c["loc"]) > 1e6 * c["scale"]),
                     where="df < 0.35, |x - loc| > 1e6 scale", points={"df": [0.1], "loc": [0.0], "scale": [1.0]}),
               Known("jacobian.score.reverse",
                 "float32 d/d df of log_prob 6.08e-7 vs 8.39e-7 (1.02e-3 normwise) at df 712.2, scale 0.01154, "
                 "z -0.675: digamma((df+1)/2) - digamma(df/2) cancels in float32; forward mode stays at 7.1e-5",
                 Severity.FLOAT32, dtype="float32"),
               Known('edge.tail', 'log_prob in the deep tail is -inf where the true value is -130.571 (at '
                                  '-6.09955e+26, df 1.1999, loc 0.00103856, p 1e-30, scale 151.034)',
                     Severity.NONFINITE, dtype='float32',
                     region=both(method_is('log_prob'), coord_between('p', high=1e-30)),
                     where='log_prob; both tail, tail probability <= 1e-30', upstream=''),
               Known('mean', 'mean is NaN for df <= 1, where scipy.stats.t says inf: the mean does not exist there '
                             '(both tails are heavy), so NaN is the defensible value; found once the comparison '
                             'stopped matching an infinite reference with any non-finite value',
                     Severity.CONVENTION, region=lambda c: c['df'] <= 1, where='df <= 1',
                     points={'df': [0.5]}),
               Known("jacobian.score.*",
                 "float32 d/d df of log_prob off by up to 2.9e-3 normwise in reverse mode, 2.2e-3 in forward mode, "
                 "at df 905.1: digamma((df+1)/2) - digamma(df/2), about 1/df, cancels in float32 (an error of "
                 "about df ulps of digamma(df/2))", Severity.FLOAT32, dtype="float32",
                 where="df 905.1 (every loc and scale)",
                 points={"df": [905.0847457627119], "loc": [0.0], "scale": [1.0]}),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.student_t,
           # loc + scale * z / sqrt(chi2 / df): df moves a normal and a gamma; loc and scale act by an affine map.
           pathwise={"df": CONDITIONAL, "loc": REPLAY, "scale": REPLAY},
           edges=Edges(tail_reference=TAILS.STUDENT_T)),
    Family("FisherSnedecor", D.FisherSnedecor,
           M.params(df1=M.positive(0.5, 1e3), df2=M.positive(0.5, 1e3)),
           M.scipy(lambda p: stats.f(p["df1"], p["df2"]),
                  mode=lambda p: np.where(p["df1"] > 2, (p["df1"] - 2) / p["df1"] * p["df2"] / (p["df2"] + 2),
                                          NAN)),
           "scipy.stats.f(df1, df2)", invalid=({"df1": -1.0},), implicit_reparam=True,
           # a ratio of two gammas: each df moves both
           pathwise={"df1": CONDITIONAL, "df2": CONDITIONAL},
           known=(
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, df1 63.3286, df2 50.2913, outside_set 0); torch documents no value '
                                     'there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('mean', 'mean is NaN for df2 <= 2, where the mean of this positive variable is +inf (scipy: '
                             'inf)',
                     Severity.NONFINITE, region=lambda c: c['df2'] <= 2, where='df2 <= 2',
                     points={'df2': [1.5]}),
               Known('variance', 'variance is NaN for df2 <= 4: +inf for 2 < df2 <= 4 (a finite mean, an infinite '
                                 'second moment); for df2 <= 2 it does not exist (scipy: inf)',
                     Severity.NONFINITE, region=lambda c: c['df2'] <= 4, where='df2 <= 4',
                     points={'df2': [3.0]}),
               Known('stddev', 'stddev is NaN for df2 <= 4, where it is +inf for 2 < df2 <= 4 (scipy: inf)',
                     Severity.NONFINITE, region=lambda c: c['df2'] <= 4, where='df2 <= 4',
                     points={'df2': [3.0]}),
               INVALID_INPUT_ITEM,
           )),
    Family("InverseGamma", D.InverseGamma,
           M.params(concentration=M.positive(0.5, 1e3), rate=M.positive()),
           M.scipy(lambda p: stats.invgamma(p["concentration"], scale=p["rate"]),
                  mode=lambda p: p["rate"] / (p["concentration"] + 1)),
           "scipy.stats.invgamma(concentration, scale=rate)", invalid=({"rate": -1.0},),
           implicit_reparam=True,
           score=scores.inverse_gamma,
           known=(
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, '
                                     'concentration 63.3286, outside_set 0, rate 4.3633); torch documents no value '
                                     'there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration 63.3286, outside_set 0, rate 4.3633); torch documents no'
                                     ' value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 0.021589, '
                                  'concentration 63.3286, p 1e-30, rate 4.3633, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               Known('edge.tail', 'log_prob in the deep tail is -inf where the true value is -643.193 (at '
                                  '1.22639e+179, concentration 0.566928, p 1e-100, rate 407.788, upper 1)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('log_prob'), coord_in('upper', 1.0), coord_between('p', high=1e-100)),
                     where='log_prob; upper tail, tail probability <= 1e-100', upstream=''),
               Known('log_prob',
                     'float32 log_prob off by up to 1.5e-3 at large concentration: concentration log(rate) - '
                     'lgamma(concentration) - (concentration + 1) log(x) cancels terms of size ~1e4 in float32',
                     Severity.FLOAT32, dtype='float32', region=G.above("concentration", 300.0),
                     where="concentration > 300", points={"concentration": [1000.0], "rate": [0.10168671]}),
               INVALID_INPUT_ITEM,
           )),
    Family("Pareto", D.Pareto,
           M.params(scale=M.positive(), alpha=M.positive(0.1, 1e2)),
           M.scipy(lambda p: stats.pareto(p["alpha"], scale=p["scale"]), mode=lambda p: p["scale"]),
           "scipy.stats.pareto(alpha, scale=scale)", invalid=({"alpha": -1.0},),
           known=(
               Known('log_prob',
                     'float32 log_prob is -inf in the far tail (alpha < 0.2) where the log density is about -100',
                     Severity.NONFINITE, dtype='float32', region=lambda c: (c["alpha"] < 0.2) & (c["at"] > 1e30),
                     where="alpha < 0.2, x > 1e30", points={"scale": [1e-3], "alpha": [0.15]}),
               Known('icdf',
                     'float32 icdf overflows to inf where the quantile (about 1e38) is still representable',
                     Severity.NONFINITE, dtype='float32', region=G.both(G.below("alpha", 0.2), G.upper_tail),
                     where="alpha < 0.2, q = 1 - 1e-6", points={"scale": [1e-3], "alpha": [0.15]}),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is -0.00663072, not 0 (alpha'
                                     ' 6.60552, at 6.62728, outside_set 0, scale 6.63392); torch documents no value '
                                     'there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 0.00332008, not -inf'
                                     ' (alpha 6.60552, at 6.62728, outside_set 0, scale 6.63392); torch documents no'
                                     ' value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'log_prob in the deep tail is -729.61400 where the true value is -729.61399 '
                                  '(1.5e-8 relative) (alpha 15.4344, at 1.13717e+18, p 1e-300, scale 0.0415643, '
                                  'upper 1)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('log_prob'), coord_in('upper', 1.0), coord_between('p', high=1e-300)),
                     where='log_prob; upper tail, tail probability <= 1e-300', upstream=''),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.pareto),
    Family("Weibull", D.Weibull,
           M.params(scale=M.positive(), concentration=M.positive(0.1, 1e2)),
           M.scipy(lambda p: stats.weibull_min(p["concentration"], scale=p["scale"]),
                  mode=lambda p: p["scale"] * np.where(p["concentration"] > 1,
                                                       ((p["concentration"] - 1) / p["concentration"])
                                                       ** (1 / p["concentration"]), 0.0)),
           "scipy.stats.weibull_min(concentration, scale=scale)", invalid=({"concentration": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf loses relative precision in the lower tail (q = 1e-6) for concentration > 1',
                     Severity.FLOAT32, dtype='float32', region=G.lower_tail, where="q = 1e-6",
                     points={"scale": [1000.0], "concentration": [10.0]}),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, '
                                     'concentration 6.60552, outside_set 0, scale 6.63392); torch documents no value'
                                     ' there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration 6.60552, outside_set 0, scale 6.63392); torch documents '
                                     'no value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 0.000190598, '
                                  'concentration 6.60552, p 1e-30, scale 6.63392, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream=''),
               Known('edge.tail', 'icdf in the deep tail is 0.20318230016 where the true value is 0.20318229762 '
                                  '(1.3e-8 relative: log(1 - q) for small q) (at 1e-10, concentration 6.60552, p '
                                  '1e-10, scale 6.63392, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 0.0), coord_between('p', high=1e-10)),
                     where='icdf; lower tail, tail probability <= 1e-10', upstream=''),
               Known('mode',
                     'mode is NaN (or 1 at concentration 0.5) for concentration < 1, where the mode is 0',
                     Severity.NONFINITE, region=G.below("concentration", 1.0), where="concentration < 1",
                     points={"scale": [1.0], "concentration": [0.5]}),
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.weibull),
    Family("Uniform", D.Uniform,
           lambda rng, n: (lambda low: {"low": low, "high": low + P.log_uniform(rng, n, 1e-3, 1e3)})(
               P.real(rng, n)),
           M.scipy(lambda p: stats.uniform(p["low"], p["high"] - p["low"])),
           "scipy.stats.uniform(low, high - low)", invalid=({"low": 2.0, "high": 1.0},),
           known=(
               Known('log_prob',
                     "log_prob(high) is -inf: torch's support is [low, high), "
                     "scipy's density at high is 1/(high - low)",
                     Severity.CONVENTION, dtype='float32', region=lambda c: c["at"] >= c["high"],
                     where="x = high (a quantile that rounds to high in float32)",
                     points={"low": [1000.0], "high": [1000.001]}),
               INVALID_INPUT_ITEM,
           ),
           score=scores.uniform),
    Family("LogNormal", D.LogNormal,
           M.params(loc=lambda rng, n: P.real(rng, n, 20.0), scale=M.positive(1e-3, 10.0)),
           M.scipy(lambda p: stats.lognorm(p["scale"], scale=np.exp(p["loc"])),
                  mode=lambda p: np.exp(p["loc"] - p["scale"] ** 2)),
           "scipy.stats.lognorm(scale, scale=exp(loc))", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf exp(loc + scale * erfinv(...)) amplifies the tail error: 1% off at q = 1e-6',
                     Severity.FLOAT32, dtype='float32', region=G.tails, where="q = 1e-6 and 1 - 1e-6",
                     points={"loc": [19.0], "scale": [4.0]}),
               Known('stddev',
                     'float32 stddev overflows to inf where it is representable (sqrt of an overflowed variance)',
                     Severity.NONFINITE, dtype='float32',
                     # the variance (exp(s^2) - 1) exp(2 loc + s^2) exceeds float32's max, exp(88.72)
                     region=lambda c: 2 * c["loc"] + 2 * c["scale"] ** 2 > 88.0,
                     where="2 loc + 2 scale^2 > 88", points={"loc": [-19.0], "scale": [10.0]}),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, '
                                     'loc 0, outside_set 0, scale 1.83406); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, loc 0, outside_set 0, scale 1.83406); torch documents no value there '
                                     'with validation off (validate_args=True raises ValueError, the documented '
                                     'contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 7.38986e-10, loc 0, p'
                                  ' 1e-30, scale 1.83406, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream='pytorch#192295'),
               Known('edge.tail', 'icdf in the deep tail is 0 where the true value is 7.38986e-10 (at 1e-30, loc 0, '
                                  'p 1e-30, scale 1.83406, upper 0)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='icdf; lower tail, tail probability <= 1e-30', upstream='pytorch#192295'),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.log_normal),
    Family("GeneralizedPareto", getattr(D, "GeneralizedPareto", None),
           M.params(loc=P.real, scale=M.positive(), concentration=lambda rng, n: rng.uniform(-0.9, 0.9, n)),
           M.scipy(lambda p: stats.genpareto(p["concentration"], p["loc"], p["scale"]),
                  mode=lambda p: p["loc"]),
           "scipy.stats.genpareto(concentration, loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known(("log_prob", "cdf", "parameterisations"),
                     "RuntimeError: Double did not match Float in float64: torch.isclose(concentration, "
                     "torch.tensor(0.0)) compares a float64 parameter with a default-dtype scalar",
                     Severity.RAISES, dtype="float64", upstream="pytorch#198185"),
               Known('cdf',
                     'float32 cdf is NaN at the upper end of the support (concentration < 0)',
                     Severity.NONFINITE, dtype='float32',
                     region=G.near_upper_end(1e-3),
                     where="concentration < 0, x at the upper end loc + scale/|concentration|",
                     points={"loc": [6.27038527], "scale": [0.001], "concentration": [-0.87386978]}),
               Known('support',
                     'float32 support rejects the upper end loc + scale/|concentration| (concentration < 0)',
                     Severity.FLOAT32, dtype='float32', where="e.g. loc -13.0, scale 0.737, concentration -0.149",
                     points={"loc": [-12.9979739], "scale": [0.73733057], "concentration": [-0.14931952]}),
               Known('edge.cdf_ends', 'cdf_ends: raises RuntimeError: Double did not match Float',
                     Severity.RAISES, dtype='float64', region=None,
                     where='the whole check (it raises)', upstream=''),
               Known('edge.cdf_ends', "cdf at the support's end is NaN, not 1 (at -23.8106, concentration -0.139163,"
                                      ' end 1, loc -23.8221, scale 0.00159043)',
                     Severity.NONFINITE, dtype='float32', region=both(method_is('cdf'), coord_in('end', 1.0)),
                     where='cdf; upper end', upstream=''),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at -0.001, '
                                     'concentration 0.653722, loc 0, outside_set 0, scale 78.5455); torch documents '
                                     'no value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration 0.653722, loc 0, outside_set 0, scale 78.5455); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', "cdf raises RuntimeError 'Double did not match Float' in float64 (see "
                                       "edge.mixed_dtype)",
                     Severity.RAISES, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-10)),
                     where='cdf; lower tail, tail probability <= 1e-10', upstream=''),
               Known('edge.tail', "log_prob raises RuntimeError 'Double did not match Float' in float64 (see "
                                       "edge.mixed_dtype)",
                     Severity.RAISES, dtype='float64',
                     region=both(method_is('log_prob'), coord_between('p', high=1e-10)),
                     where='log_prob; both tail, tail probability <= 1e-10', upstream=''),
               Known('edge.empty', 'on a zero-size batch, cdf fails: log_prob raises RuntimeError: Double did not '
                                   'match Float; cdf raises RuntimeError: Double did not match Float',
                     Severity.RAISES, dtype='float64', region=method_is('cdf'),
                     where='cdf', upstream=''),
               Known('edge.empty', 'on a zero-size batch, log_prob fails: log_prob raises RuntimeError: Double did '
                                   'not match Float; cdf raises RuntimeError: Double did not match Float',
                     Severity.RAISES, dtype='float64', region=method_is('log_prob'),
                     where='log_prob', upstream=''),
               Known('edge.mixed_dtype', "float64 parameters under default dtype float32: log_prob and cdf raise "
                                         "RuntimeError 'Double did not match Float' (torch.isclose of a float64 "
                                         "tensor against a zero made in the default dtype); with default dtype "
                                         "float64 they work",
                     Severity.RAISES, dtype='float64', region=method_is('log_prob', 'cdf'),
                     where='log_prob and cdf', upstream=''),
               Known('log_prob',
                     'float32 log_prob off by up to 4.5e-3 near the upper end of the support (concentration < 0): '
                     'log1p(concentration (x - loc) / scale) cancels there',
                     Severity.FLOAT32, dtype='float32', region=G.near_upper_end(0.05),
                     where="concentration < 0, 1 + concentration (x - loc) / scale < 0.05",
                     points={"loc": [0.15971628, -2.61830926], "scale": [0.99432832, 0.01008012],
                             "concentration": [-0.8965767, -0.85186684]}),
               INVALID_INPUT_ITEM,
           )),
    Family("VonMises", D.VonMises,
           M.params(loc=lambda rng, n: rng.uniform(-np.pi, np.pi, n), concentration=M.positive(1e-3, 1e3)),
           lambda p: R.VonMisesReference(p["loc"], p["concentration"]),
           "scipy.stats.vonmises(concentration, loc); circular variance from scipy.special",
           invalid=({"concentration": -1.0},),
           known=(
               Known('log_prob',
                     'log normaliser from a polynomial approximation of log I0: relative error up to 3e-6 in float64',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.above("concentration", 0.25),
                     where="concentration > 0.25", points={"loc": [0.0], "concentration": [1.0]}),
               Known('variance',
                     'circular variance from the same approximation of I1/I0: relative error up to 5e-4 in float64',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.above("concentration", 0.5),
                     where="concentration > 0.5", points={"loc": [0.0], "concentration": [10.0]}),
               Known("jacobian.score.*",
                 "d/d concentration of log_prob -1.0666563051538 vs -1.0666563586228 (5.0e-8 normwise) at "
                 "concentration 0.5334, x - loc 3.770: log I0 is a float32-grade polynomial "
                 "(_log_modified_bessel_fn)", Severity.WRONG_FLOAT64, dtype="float64",
                 where="concentration 0.5334", points={"loc": [0.0], "concentration": [0.5334]}),
               DATA_DEPENDENT("sample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           ),
           score=scores.von_mises,
           marginals=marginals.von_mises,
           edges=Edges(not_applicable={"tail": "circular: the support is one period, so there are no tails"})),
]

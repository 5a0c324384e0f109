"""Positive families with heavy or stretched tails (Pareto, Weibull, LogNormal, GeneralizedPareto), the bounded
Uniform and the circular VonMises."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import marginals, scores
from suite.registry import params as P
from suite.registry import references as R
from suite.registry import regions as G
from suite.registry.edges import Edges, both, coord_between, coord_in, method_is
from suite.registry.family import Family
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    BOTH_VMAP,
    DATA_DEPENDENT,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_ITEM,
)

ENTRIES: list[Family] = [
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
               Known("jacobian.score.*",
                     "float32 d/d scale of log_prob is inf at the largest point x = 1.48e34 (and, in reverse mode, "
                     "NaN at every other point), where alpha / scale = 118.8 is due (scale 1.36e-3, alpha 0.162): "
                     "the derivative of x / scale is computed as (x / scale) / scale = 8.0e39, beyond float32's max, "
                     "and reverse mode's 0 * inf spreads it to the other points' rows",
                     Severity.NONFINITE, dtype="float32", region=G.pareto_scale_score_overflows,
                     where="the grid's largest point x (q = 1 - 1e-6) with x / scale^2 beyond float32's max and "
                     "x / scale within it: 13.8 / alpha - log(scale) > 88.7 >= 13.8 / alpha",
                     points={"scale": [1.3636e-3], "alpha": [0.162]}),
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
               Known("jacobian.score.*",
                     "float32 score of log_prob is NaN (d/d scale) and inf (d/d concentration) at x = 2.88e-38, "
                     "where -1.5e-4 and -86.59 are due (scale 1000, concentration 0.148), and forward mode's d/d "
                     "scale is off by 1.0e-2 normwise there: x / scale = 2.9e-41 is subnormal, and the backward pass "
                     "divides by it (1 / (x / scale) overflows) while log_prob stays finite",
                     Severity.NONFINITE, dtype="float32", region=G.weibull_reciprocal_overflows,
                     where="concentration below log(-log(1 - 1e-6)) / log(1 / max) = 0.1557, where the grid's "
                     "smallest point x has x / scale below 1 / float32 max, and x itself normal",
                     points={"scale": [1000.0], "concentration": [0.148]}),
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

"""The Gamma family (Exponential and Chi2 are special cases) and the laws torch builds from Gamma variables:
Beta, StudentT, FisherSnedecor, InverseGamma."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import params as P
from suite.registry import regions as G
from suite.registry import scores
from suite.registry import tails as TAILS
from suite.registry.edges import EMPTY_BATCH_RESHAPE, Edges, both, coord_between, coord_in, method_is
from suite.registry.family import CONDITIONAL, NAN, REPLAY, Family
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    AUTOGRAD_FUNCTION,
    BOTH_VMAP,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_ITEM,
    INVALID_VALUE_ITEM,
)

_BETA_GRADIENT = ("torch's reparameterised gradient of Beta draws (dirichlet_grad_one: a rational correction or a "
                  "saddle-point approximation away from x = 0 and 1) is off by up to 3e-3 relative, beyond the "
                  "1e-3 its own tests demand")
# The float32 scores of StudentT and FisherSnedecor: torch's error is within about 1.2 float32 ulps of the sum of
# the score's absolute terms (measured over 3000 parameter sets of each); their Knowns cover where _DIGAMMA_ULPS
# such ulps exceed 1e-3.
_DIGAMMA_ULPS = 4
_DIGAMMA_WHERE = ("4 float32 ulps of the sum of the absolute terms of {score} (the digammas, about log(df / 2) / 2 "
                  "each) exceed 1e-3 of its largest value over the quantile grid")

ENTRIES: list[Family] = [
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
               Known('log_prob',
                     'float32 log_prob sums terms of size concentration log rate, lgamma(concentration), ... that '
                     'cancel: 0.05713 for 0.05603 at concentration 1000, rate 106.7, x 9.57 (terms of 1.4e4)',
                     Severity.FLOAT32, dtype='float32', region=G.gamma_log_density_terms_above(4e3),
                     where="the terms add up above 4e3 (float32 rounding of 5e-4 beside a 1e-3 tolerance)",
                     points={"concentration": [1000.0], "rate": [106.7273407]}),
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
                     # 12% of the draws here exceed 1e-3: two sets (100 draws) miss it with probability 3e-6
                     points={"concentration1": [5.604286] * 2, "concentration0": [92.950153] * 2}),
               Known("rsample.pathwise:concentration0", _BETA_GRADIENT, Severity.WRONG_FLOAT64,
                     region=G.beta_gradient_approximated, where="(concentration1 + concentration0) x (1 - x) >= 0.75",
                     points={"concentration1": [92.950153] * 2, "concentration0": [5.604286] * 2}),
               AUTOGRAD_FUNCTION("*sample", BOTH_VMAP),
               INVALID_VALUE_ITEM,
           )),
    Family("StudentT", D.StudentT,
           M.params(df=M.positive(0.1, 1e3), loc=P.real, scale=M.positive()),
           M.scipy(lambda p: stats.t(p["df"], p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.t(df, loc, scale)", invalid=({"df": -1.0}, {"scale": -1.0}),
           implicit_reparam=True,
           known=(
               Known("rsample.nan_gradient",
                     "float32 rsample's gradient is NaN for a draw whose chi-square component Z has Z / df below "
                     "float32 max^(-2/3) = 2.05e-26, where the true gradient is finite: rsqrt's derivative "
                     "(Z / df)^(-3/2) overflows to inf, and the two paths from df (through Z and through 1 / df) "
                     "add +inf and -inf (a draw in 1.7e5 at df 0.4, in 3.4e6 at df 0.5; test_torch_behaviours "
                     "reproduces it)", Severity.NONFINITE, dtype="float32",
                     where="draws with Z / df < 2.05e-26 (df below about 0.6 reaches them)"),
               Known('log_prob',
                     'float32 log_prob underflows to -inf in the far tails where the log density is about -100 (df '
                     '< 1)',
                     Severity.NONFINITE, dtype='float32',
                     region=lambda c: (c["df"] < 0.35) & (np.abs(c["at"] - c["loc"]) > 1e6 * c["scale"]),
                     where="df < 0.35, |x - loc| > 1e6 scale", points={"df": [0.1], "loc": [0.0], "scale": [1.0]}),
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
                 "at df 905.1 (6.08e-7 vs 8.39e-7, 1.02e-3 in reverse mode at df 712.2, scale 0.01154, z -0.675): "
                 "digamma((df+1)/2) - digamma(df/2), about 1/df, cancels in float32 (an error of about df ulps of "
                 "digamma(df/2))", Severity.FLOAT32, dtype="float32",
                 region=G.score_cancels(G.student_t_score_terms, _DIGAMMA_ULPS, 1e-3, "float32"),
                 where="df above 222 (every loc and scale): " + _DIGAMMA_WHERE.format(score="d/d df"),
                 points={"df": [905.0847457627119], "loc": [0.0], "scale": [1.0]}),
               Known("jacobian.score.*",
                 "float32 d/d df of log_prob is NaN at every point in reverse mode, and inf at the extreme points "
                 "in forward mode, where -40.66 is due at x = +-7.37e21 (df 0.2939, loc 0, scale 1000): the "
                 "derivative of y^2 / df in df, (y^2 / df) / df, overflows where y^2 / df, and so log_prob, is "
                 "still finite, and reverse mode's 0 * inf spreads it to the other points' rows",
                 Severity.NONFINITE, dtype="float32", region=G.student_t_df_score_overflows,
                 where="df below 1 with a quantile point where y^2 / df is within float32's range and y^2 / df^2 "
                 "beyond it, y = (x - loc) / scale: df 0.138 to 0.141 and 0.292 to 0.296 (every loc and scale)",
                 points={"df": [0.2939], "loc": [0.0], "scale": [1000.0]}),
               Known("jacobian.score.forward",
                 "float32 d/d scale of log_prob in forward mode is inf at the extreme points x = +-1.48e16, where "
                 "30.5 is due (df 0.305, loc 0, scale 0.01): the tangent of y^2 along scale, -2 y^2 / scale, "
                 "divided by df, overflows where log_prob is finite; reverse mode stays finite there",
                 Severity.NONFINITE, dtype="float32", region=G.student_t_forward_scale_score_overflows,
                 where="a quantile point where log_prob is finite and 2 y^2 max(1, 1 / df) / scale is beyond "
                 "float32's max, y = (x - loc) / scale: df 0.138 to 0.147 and 0.292 to 0.310 at scale 0.01, none "
                 "at scale 1000",
                 points={"df": [0.305], "loc": [0.0], "scale": [0.01]}),
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
               Known("jacobian.score.forward",
                     "float32 d/d df1 of log_prob in forward mode off by up to 0.6% normwise from reverse mode at "
                     "df1 667, df2 0.546: digamma((df1 + df2) / 2) - digamma(df1 / 2) cancels in float32 (an "
                     "error of about df1 ulps), and the two modes round it differently",
                     Severity.FLOAT32, dtype="float32",
                     region=G.score_cancels(G.fisher_snedecor_score_terms, _DIGAMMA_ULPS, 1e-3, "float32"),
                     where="df1 above 57 (df2 0.5) to 550 (df2 100), or df2 above 220 to 350 (df1 0.5 to 10): "
                     + _DIGAMMA_WHERE.format(score="d/d df1 or d/d df2"),
                     points={"df1": [667.143], "df2": [0.546]}),
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
]

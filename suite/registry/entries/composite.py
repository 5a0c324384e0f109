"""Families built from other distributions or transforms."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import logits as L
from suite.registry import makers as M
from suite.registry import marginals, scores
from suite.registry import params as P
from suite.registry import references as R
from suite.registry import regions as G
from suite.registry.built_references import (
    ConcreteReference,
    ContinuousBernoulliReference,
    KumaraswamyReference,
    LogisticNormalReference,
    NormalMixtureReference,
    RelaxedBernoulliReference,
)
from suite.registry.edges import EMPTY_BATCH_RESHAPE, Edges, both, coord_between, coord_in, method_is
from suite.registry.family import Family
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    BOTH_VMAP,
    DATA_DEPENDENT,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_DATA_DEPENDENT,
    INVALID_INPUT_ITEM,
    INVALID_VALUE_ITEM,
)

_LOGISTIC_NORMAL_TAIL = {"loc": [[0.09481684, 0.14819609, -2.96981311]], "scale": [[1.03412862, 2.95813541, 3.0]]}

ENTRIES: list[Family] = [
    Family("Independent", D.Independent,
           M.params(loc=M.vector(P.real, 3), scale=M.vector(M.positive(), 3)),
           lambda p: R.SumOfIndependentReference(R.ScipyReference(stats.norm(p["loc"], p["scale"]),
                                                                  mode=lambda: p["loc"])),
           "sum over the event of scipy.stats.norm(loc, scale)",
           build=lambda loc, scale, validate_args=None: D.Independent(
               D.Normal(loc, scale, validate_args=validate_args), 1, validate_args=validate_args),
           param_constraints={"loc": D.constraints.real, "scale": D.constraints.positive},
           invalid=({"scale": -1.0},),
           score=scores.normal,
           marginals=marginals.independent_normal,
           known=(
               Known('edge.empty', 'on a zero-size batch, entropy fails: log_prob raises RuntimeError: cannot '
                                   'reshape tensor of 0 elements into shape [0, -1] because the unspecified d; '
                                   'entropy raises RuntimeError: cannot reshape tens',
                     Severity.RAISES, dtype='*', region=method_is('entropy'),
                     where='entropy', upstream='pytorch#194548'),
               Known('edge.empty', 'on a zero-size batch, log_prob fails: log_prob raises RuntimeError: cannot '
                                   'reshape tensor of 0 elements into shape [0, -1] because the unspecified d; '
                                   'entropy raises RuntimeError: cannot reshape tens',
                     Severity.RAISES, dtype='*', region=method_is('log_prob'),
                     where='log_prob', upstream='pytorch#194548'),
               Known("parameter_shapes", "Normal(loc, scale) with shapes that do not broadcast raises RuntimeError "
                     "from torch.broadcast_tensors, not ValueError, even with validate_args=True", Severity.CONVENTION),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
           )),
    Family("MixtureSameFamily", D.MixtureSameFamily,
           M.params(weights=lambda rng, n: P.simplex(rng, n, 3), loc=M.vector(lambda r, m: P.real(r, m, 100.0), 3),
                   scale=M.vector(M.positive(1e-2, 1e2), 3)),
           lambda p: NormalMixtureReference(p["weights"], p["loc"], p["scale"]),
           "logsumexp of log(weights) + scipy.stats.norm(loc, scale).logpdf",
           build=lambda weights, loc, scale, validate_args=None: D.MixtureSameFamily(
               D.Categorical(probs=weights, validate_args=validate_args),
               D.Normal(loc, scale, validate_args=validate_args), validate_args=validate_args),
           param_constraints={"weights": D.constraints.simplex, "loc": D.constraints.real,
                              "scale": D.constraints.positive},
           invalid=({"scale": -1.0}, {"weights": [-0.5, 1.0, 0.5]}),
           heavy_fit=True,
           known=(
               Known('edge.boundary_params', 'log_prob -41.0235 where the true value is -1567.6 at a legal boundary '
                                             'parameter (at -1.60456, boundary 1, loc.max 14.562, loc.min -1.30598, '
                                             'scale.max 58.6749); float32: -20.9222 vs -1567.6',
                     Severity.WRONG_FLOAT64, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 1.0)),
                     where='log_prob; at weights = one_hot', upstream='pytorch#186825 (the same clamp_probs)'),
               Known('edge.empty', 'on a zero-size batch, log_prob fails: log_prob raises RuntimeError: cannot '
                                   'reshape tensor of 0 elements into shape [0, -1] because the unspecified d',
                     Severity.RAISES, dtype='*', region=method_is('log_prob'),
                     where='log_prob', upstream='pytorch#194548'),
               Known('log_prob',
                     'float32 mixture weights below 1.2e-7 are clamped to eps = 1.2e-7 (Categorical.logits via '
                     'probs_to_logits): log density off by up to 11 where such a component dominates',
                     Severity.FLOAT32, dtype='float32', region=G.component_below("weights", 1e-6),
                     where="a weight below 1e-6",
                     points={"weights": [[0.3752502, 0.6247498 - 2e-12, 2e-12]],
                             "loc": [[0.26983784, 78.91332675, 87.32201811]],
                             "scale": [[0.36867137, 0.05540535, 100.0]]}),
               INVALID_VALUE_ITEM,
           )),
    Family("TransformedDistribution", D.TransformedDistribution,
           M.params(loc=lambda rng, n: P.real(rng, n, 5.0), scale=M.positive(1e-2, 3.0),
                   shift=lambda rng, n: P.real(rng, n, 10.0), factor=M.positive(1e-2, 1e2)),
           M.scipy(lambda p: stats.lognorm(p["scale"], loc=p["shift"], scale=p["factor"] * np.exp(p["loc"]))),
           "scipy.stats.lognorm(scale, loc=shift, scale=factor*exp(loc)) for shift + factor*exp(Normal)",
           build=lambda loc, scale, shift, factor, validate_args=None: D.TransformedDistribution(
               D.Normal(loc, scale, validate_args=validate_args),
               [D.ExpTransform(), D.AffineTransform(shift, factor)], validate_args=validate_args),
           param_constraints={"loc": D.constraints.real, "scale": D.constraints.positive,
                              "shift": D.constraints.real, "factor": D.constraints.positive},
           held_when_fitting={
               "shift": "threshold of a 3-parameter lognormal: the likelihood is unbounded as it nears min(x)",
               "factor": "factor * exp(Normal(loc)) = exp(Normal(loc + log factor)): not identifiable with loc"},
           invalid=({"scale": -1.0},),
           known=(
               Known('support',
                     'support is the codomain of the last transform (real), so points below shift are accepted',
                     Severity.CONVENTION),
               Known('icdf',
                     'float32 icdf through exp amplifies the tail error beyond 1e-3 relative',
                     Severity.FLOAT32, dtype='float32', region=G.lower_tail, where="q = 1e-6",
                     points={"loc": [-0.13487016], "scale": [0.22175814], "shift": [-7.25061607],
                             "factor": [26.67657661]}),
               Known('edge.outside', 'with validate_args=False, cdf outside the support is NaN, not 0 (at '
                                     '0.000298012, factor 97.463, loc 0, outside_set 0, scale 1.04947); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('cdf'), coord_in('outside_set', 0.0)),
                     where="cdf; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '0.000298012, factor 97.463, loc 0, outside_set 0, scale 1.04947); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.tail', 'cdf in the deep tail is 0 where the true value is 1e-30 (at 0.00187851, factor '
                                  '97.463, loc 0, p 1e-30, scale 1.04947)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('cdf'), coord_in('upper', 0.0), coord_between('p', high=1e-30)),
                     where='cdf; lower tail, tail probability <= 1e-30', upstream='pytorch#192295'),
               Known('edge.tail', 'icdf in the deep tail is 0.12417945583 where the true value is 0.12417945419 '
                                  '(1.3e-8 relative) (at 1e-10, factor 97.463, loc 0, p 1e-10, scale 1.04947)',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=both(method_is('icdf'), coord_in('upper', 0.0), coord_between('p', high=1e-10)),
                     where='icdf; lower tail, tail probability <= 1e-10', upstream='pytorch#192295'),
               Known('log_prob', 'float32 log_prob is NaN where the point rounds onto shift (the end of the support,'
                                 ' density 0): log(x - shift) = -inf, and -inf - (-inf) from the log-Jacobian gives '
                                 'NaN where -inf is due',
                     Severity.NONFINITE, dtype='float32',
                     region=lambda c: c['factor'] * np.exp(c['loc'] - 4.8 * c['scale']) < 1.2e-7 * np.abs(c['shift']),
                     where='lower quantiles: factor*exp(loc - 4.8 scale) below the float32 resolution of shift',
                     points={'loc': [0.0], 'scale': [3.0], 'shift': [5.0], 'factor': [0.01]}),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
               INVALID_INPUT_ITEM,
           )),
    Family("Kumaraswamy", D.Kumaraswamy,
           M.params(concentration1=M.positive(0.2, 50.0), concentration0=M.positive(0.2, 50.0)),
           lambda p: KumaraswamyReference(p["concentration1"], p["concentration0"]),
           "closed forms from scipy.special (scipy.stats has no Kumaraswamy)",
           invalid=({"concentration1": -1.0},),
           known=(
               Known('log_prob',
                     'log_prob through inverse power transforms loses precision near x = 1: off by up to 0.13',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.above("at", 0.99), where="x > 0.99",
                     points={"concentration1": [2.36364201], "concentration0": [0.37085542]}),
               Known('cdf',
                     'cdf loses precision near x = 1: off by up to 1.3e-5',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.above("at", 0.99), where="x > 0.99",
                     points={"concentration1": [6.48364733], "concentration0": [0.2]}),
               Known('mode',
                     'mode is always NaN: it uses log1p(-concentration0); the mode is ((a - 1)/(ab - 1))^(1/a)',
                     Severity.NONFINITE),
               Known('log_prob',
                     'float32 log_prob is -inf near x = 0 where the density is finite (and loses precision near '
                     'x = 1, as in float64)',
                     Severity.NONFINITE, dtype='float32',
                     region=lambda c: (c["at"] ** c["concentration1"] < 1.2e-7) | (c["at"] > 0.99),
                     where="x^concentration1 < 1.2e-7 (1 - x^concentration1 rounds to 1), or x > 0.99",
                     points={"concentration1": [23.56, 0.3446], "concentration0": [50.0, 50.0]}),
               Known('icdf',
                     'float32 icdf returns 0 at q = 1e-6 for large concentrations (quantile ~0.7)',
                     Severity.NONFINITE, dtype='float32', region=G.lower_tail, where="q = 1e-6",
                     points={"concentration1": [50.0], "concentration0": [41.0]}),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration0 5.69779, concentration1 6.73637, outside_set 0); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               INVALID_INPUT_ITEM,
           )),
    Family("ContinuousBernoulli", D.ContinuousBernoulli,
           M.params(probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           lambda p: ContinuousBernoulliReference(p["probs"]),
           "numerical integration (scipy.integrate.quad_vec) of p^x (1-p)^(1-x)",
           invalid=({"probs": 1.5},),
           known=(
               Known('cdf',
                     'cdf uses a Taylor approximation for probs in (0.499, 0.501): off by up to 4e-4',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.near("probs", 0.5, 1e-3),
                     where="probs in [0.499, 0.501]", points={"probs": [0.50098863]}),
               Known('icdf',
                     'icdf uses the same approximation near probs = 0.5: off by up to 3e-4',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.near("probs", 0.5, 1e-3),
                     where="probs in [0.499, 0.501]", points={"probs": [0.50098863]}),
               Known('variance',
                     'variance near probs = 0.5 is off by up to 2e-9 relative beyond 1e-8',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.near("probs", 0.5, 2e-3),
                     where="|probs - 0.5| <= 2e-3", points={"probs": [0.49881011]}),
               Known('mean',
                     'float32 mean near probs = 0.5 (outside the Taylor window) loses precision',
                     Severity.FLOAT32, dtype='float32', region=G.near("probs", 0.5, 2e-3),
                     where="|probs - 0.5| <= 2e-3", points={"probs": [0.5012399, 0.49881011]}),
               Known('variance',
                     'float32 variance cancels catastrophically near probs = 0.5: -1.15 (negative) at probs 0.5011',
                     Severity.FLOAT32, dtype='float32', region=G.near("probs", 0.5, 0.013),
                     where="|probs - 0.5| <= 0.013 (the largest failing in a scan of float32 probs spaced 1e-6 "
                           "apart: 0.0118)", points={"probs": [0.5012399]}),
               Known('stddev',
                     'float32 stddev near probs = 0.5 is off by up to 0.2 (same cancellation)',
                     Severity.FLOAT32, dtype='float32', region=G.near("probs", 0.5, 0.015),
                     where="|probs - 0.5| <= 0.015 (the largest failing in a scan of float32 probs spaced 1e-6 "
                           "apart: 0.0132)", points={"probs": [0.5012399]}),
               Known("rsample.unbiasedness",
                 "rsample: d x / d probs is exactly 0 for probs in (0.499, 0.501] (icdf returns u there); at "
                 "probs=0.50067 the reference d/dprobs E[atan((x-c)/s)] is 0.362, torch's Monte Carlo 0",
                 Severity.WRONG_FLOAT64, region=G.near("probs", 0.5, 1e-3), where="probs in [0.499, 0.501]",
                 points={"probs": [0.50067]}),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -0.000349718, not '
                                     '-inf (at -0.001, outside_set 0, probs 0.500174); torch documents no value '
                                     'there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.logits', 'log_prob through logits is 2.88473 where the exact value is 5.85108 (at 0.001, '
                                    'logit -700, logits -700); float32: 2.06897 vs 5.85108',
                     Severity.WRONG_FLOAT64, dtype='*',
                     region=both(method_is('log_prob'), coord_between('logit', 40.0, magnitude=True)),
                     where='log_prob; |logits| >= 40', upstream=''),
               Known('stddev',
                     'stddev near probs = 0.5 inherits that variance error: off by up to 1.4e-8 relative (against '
                     'mpmath), beyond 1e-8',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.near("probs", 0.5, 2e-3),
                     # which sets show it depends on their SIMD lane: 80 sets just outside the Taylor window
                     where="|probs - 0.5| <= 2e-3", points={"probs": [*np.linspace(0.4985, 0.49899, 40),
                                                                      *np.linspace(0.50101, 0.5015, 40)]}),
               *(DATA_DEPENDENT(check, BOTH_VMAP)
                 for check in ("log_prob", "cdf", "icdf", "entropy", "rsample", "sample")),
               INVALID_INPUT_DATA_DEPENDENT,
           ),
           marginals=marginals.continuous_bernoulli,
           edges=Edges(logits_log_prob=L.continuous_bernoulli)),
    Family("LogisticNormal", D.LogisticNormal,
           M.params(loc=M.vector(lambda r, m: P.real(r, m, 3.0), 3), scale=M.vector(M.positive(0.1, 3.0), 3)),
           lambda p: LogisticNormalReference(p["loc"], p["scale"]),
           "scipy.stats.norm on log(x_i / (1 - cumsum(x)_i)) + log(K-1-i), with its Jacobian",
           invalid=({"scale": -1.0},),
           known=(
               Known('log_prob',
                     'StickBreakingTransform forms the remainders 1 - cumsum(x) in float64, off by eps absolute '
                     '(eps / r relative): the log density is off by up to 4.5e-8 where the smallest coordinate is '
                     '1.1e-7, 4e-6 at 1e-9, 0.7 at 1.4e-16, and 7e4 at 4e-17, where a remainder cancels to 0 or '
                     'below and is clamped to tiny',
                     Severity.WRONG_FLOAT64, dtype='float64',
                     region=G.stick_breaking_remainders_cancel(rtol=1e-8, atol=1e-10),
                     where="the k-th remainder r_k's rounding k eps / (2 r_k) times the log density's "
                           "sensitivity (y_k - loc_k) / scale_k^2 + 1, summed, above the tolerance (in draws: the "
                           "smallest coordinate below 1.2e-5; failing below 4.4e-6)",
                     points=_LOGISTIC_NORMAL_TAIL),
               Known('log_prob',
                     'float32 clipping of stick fractions: log density off by up to 2.5e5 in the far tails',
                     Severity.FLOAT32, dtype='float32',
                     region=lambda c: G.smallest_component(c, "at") < 1e-3, where="a component of x below 1e-3",
                     points=_LOGISTIC_NORMAL_TAIL),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -184288, not -inf '
                                     '(loc.max 0.957852, loc.min -0.34443, outside_set 0, scale.max 1.16339, '
                                     'scale.min 0.158327); torch documents no value there with validation off '
                                     '(validate_args=True raises ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.empty', 'on a zero-size batch, cdf fails: log_prob raises RuntimeError: cannot reshape '
                                   'tensor of 0 elements into shape [0, -1] because the unspecified d; cdf raises '
                                   'RuntimeError: cannot reshape tensor o',
                     Severity.RAISES, dtype='*', region=method_is('cdf'),
                     where='cdf', upstream='pytorch#194548'),
               Known('edge.empty', 'on a zero-size batch, log_prob fails: log_prob raises RuntimeError: cannot '
                                   'reshape tensor of 0 elements into shape [0, -1] because the unspecified d; cdf '
                                   'raises RuntimeError: cannot reshape tensor o',
                     Severity.RAISES, dtype='*', region=method_is('log_prob'),
                     where='log_prob', upstream='pytorch#194548'),
               INPLACE_RANDOMNESS("rsample", BOTH_VMAP),
           ),
           marginals=marginals.logistic_normal),
    Family("RelaxedBernoulli", D.RelaxedBernoulli,
           M.params(temperature=M.positive(0.1, 10.0), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           lambda p: RelaxedBernoulliReference(p["temperature"], p["probs"]),
           "scipy.stats.logistic(logit(probs)/temperature, 1/temperature) on logit(x)",
           invalid=({"probs": 1.5}, {"temperature": -1.0}),
           known=(
               Known('log_prob',
                     'float32 clamps x to [eps, 1 - eps]: log density off by up to 0.84 within 1.2e-7 of 0 or 1',
                     Severity.FLOAT32, dtype='float32', region=lambda c: (c["at"] < 1.2e-7) | (c["at"] > 1 - 1.2e-7),
                     where="x within 1.2e-7 of 0 or 1", points={"temperature": [0.4164663], "probs": [0.00128847]}),
               Known("rsample.unbiasedness",
                     "rsample clamps its draws to [eps, 1 - eps] (clamp_probs), so a draw within eps of 0 or 1 has "
                     "a zero gradient: the Monte Carlo d/d temperature is -0.62 where -2.87 is due at temperature "
                     "0.136, probs 0.998 (79% of the draws clamped)", Severity.WRONG_FLOAT64, dtype="float64",
                     region=G.relaxed_bernoulli_saturates(1e-3), where="more than 0.1% of the draws clamped",
                     points={"temperature": [0.1361], "probs": [0.9978]}),
               Known('invalid_params',
                     'a negative temperature is accepted with validate_args=True (temperature has no constraint)',
                     Severity.RAISES),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 461.958, not -inf '
                                     '(at -0.001, outside_set 0, probs 0.498134, temperature 0.346396); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.logits', 'log_prob through logits is -inf where the exact value is -759.856 (at 0.001, '
                                    'logit 700, logits 700, temperature 10)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('log_prob'), coord_between('logit', 700.0, magnitude=True)),
                     where='log_prob; |logits| >= 700', upstream=''),
               Known('edge.logits', 'log_prob through logits is -inf where the exact value is -142.305 (at 0.001, '
                                    'logit 100, logits 100, temperature 7.41558)',
                     Severity.NONFINITE, dtype='float32',
                     region=both(method_is('log_prob'), coord_between('logit', 100.0, magnitude=True)),
                     where='log_prob; |logits| >= 100', upstream=''),
               INVALID_INPUT_ITEM,
           ),
           edges=Edges(logits_log_prob=L.relaxed_bernoulli)),
    Family("RelaxedOneHotCategorical", D.RelaxedOneHotCategorical,
           # One temperature per batch: torch fails on a batch of temperatures (see FINDINGS.md).
           lambda rng, n: {"temperature": np.asarray(P.log_uniform(rng, 1, 0.3, 10.0, edges=False)[0]),
                           "probs": P.simplex(rng, n, 4)},
           lambda p: ConcreteReference(p["temperature"], p["probs"]),
           "the Concrete density (Maddison et al. 2017) from scipy.special",
           invalid=({"probs": [-0.1, 0.4, 0.4, 0.3]}, {"temperature": -1.0}),
           known=(
               Known('log_prob',
                     'float32 log density off by up to 30 for points near a vertex of the simplex',
                     Severity.FLOAT32, dtype='float32', region=G.component_below("probs", 1e-6),
                     where="a category's probability below 1e-6",
                     points={"probs": [[0.00019941, 7e-08, 1e-08, 0.99980051]]}),
               Known('invalid_params',
                     'a negative temperature is accepted with validate_args=True (temperature has no constraint)',
                     Severity.RAISES),
               Known("shapes.per_set",
                 "temperature: a temperature per parameter set, shaped like the batch, raises 'The size of tensor "
                 "a (4) must match the size of tensor b (3)' in rsample; shaped batch + (1,) it samples but "
                 "log_prob returns (n, n) for a batch of n", Severity.RAISES, upstream="pytorch#37162"),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 1.86573, not -inf '
                                     '(outside_set 0, probs.max 0.573687, probs.min 0.0272007, temperature 2.79986);'
                                     ' torch documents no value there with validation off (validate_args=True raises'
                                     ' ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               EMPTY_BATCH_RESHAPE,
           ),
           marginals=marginals.concrete,
           edges=Edges(logits_log_prob=L.relaxed_one_hot_categorical)),
]

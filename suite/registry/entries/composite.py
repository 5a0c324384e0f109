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
from suite.registry.edges import Edges, both, coord_between, coord_in, method_is
from suite.registry.family import Family
from suite.registry.known import Known, Severity

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
           )),
    Family("MixtureSameFamily", D.MixtureSameFamily,
           M.params(weights=lambda rng, n: P.simplex(rng, n, 3), loc=M.vector(lambda r, m: P.real(r, m, 100.0), 3),
                   scale=M.vector(M.positive(1e-2, 1e2), 3)),
           lambda p: R.NormalMixtureReference(p["weights"], p["loc"], p["scale"]),
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
                     Severity.FLOAT32, dtype='float32'),
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
           )),
    Family("Kumaraswamy", D.Kumaraswamy,
           M.params(concentration1=M.positive(0.2, 50.0), concentration0=M.positive(0.2, 50.0)),
           lambda p: R.KumaraswamyReference(p["concentration1"], p["concentration0"]),
           "closed forms from scipy.special (scipy.stats has no Kumaraswamy)",
           invalid=({"concentration1": -1.0},),
           known=(
               Known('log_prob',
                     'log_prob through inverse power transforms loses precision near x = 1: off by up to 0.13',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('cdf',
                     'cdf loses precision near x = 1: off by up to 1.3e-5',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('mode',
                     'mode is always NaN: it uses log1p(-concentration0); the mode is ((a - 1)/(ab - 1))^(1/a)',
                     Severity.NONFINITE),
               Known('log_prob',
                     'float32 log_prob is -inf near x = 0 where the density is finite',
                     Severity.NONFINITE, dtype='float32'),
               Known('icdf',
                     'float32 icdf returns 0 at q = 1e-6 for large concentrations (quantile ~0.7)',
                     Severity.NONFINITE, dtype='float32'),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is NaN, not -inf (at '
                                     '-0.001, concentration0 5.69779, concentration1 6.73637, outside_set 0); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
           )),
    Family("ContinuousBernoulli", D.ContinuousBernoulli,
           M.params(probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           lambda p: R.ContinuousBernoulliReference(p["probs"]),
           "numerical integration (scipy.integrate.quad_vec) of p^x (1-p)^(1-x)",
           invalid=({"probs": 1.5},),
           known=(
               Known('cdf',
                     'cdf uses a Taylor approximation for probs in (0.499, 0.501): off by up to 4e-4',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('icdf',
                     'icdf uses the same approximation near probs = 0.5: off by up to 3e-4',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('variance',
                     'variance near probs = 0.5 is off by up to 2e-9 relative beyond 1e-8',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('mean',
                     'float32 mean near probs = 0.5 (outside the Taylor window) loses precision',
                     Severity.FLOAT32, dtype='float32'),
               Known('variance',
                     'float32 variance cancels catastrophically near probs = 0.5: -1.15 (negative) at probs 0.5011',
                     Severity.FLOAT32, dtype='float32'),
               Known('stddev',
                     'float32 stddev near probs = 0.5 is off by up to 0.2 (same cancellation)',
                     Severity.FLOAT32, dtype='float32'),
               Known("rsample.unbiasedness",
                 "rsample: d x / d probs is exactly 0 for probs in (0.499, 0.501] (icdf returns u there); at "
                 "probs=0.50067 the reference d/dprobs E[atan((x-c)/s)] is 0.362, torch's Monte Carlo 0",
                 Severity.WRONG_FLOAT64, dtype="float64"),
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
           ),
           marginals=marginals.continuous_bernoulli,
           edges=Edges(logits_log_prob=L.continuous_bernoulli)),
    Family("LogisticNormal", D.LogisticNormal,
           M.params(loc=M.vector(lambda r, m: P.real(r, m, 3.0), 3), scale=M.vector(M.positive(0.1, 3.0), 3)),
           lambda p: R.LogisticNormalReference(p["loc"], p["scale"]),
           "scipy.stats.norm on log(x_i / (1 - cumsum(x)_i)) + log(K-1-i), with its Jacobian",
           invalid=({"scale": -1.0},),
           known=(
               Known('log_prob',
                     'stick-breaking clips fractions to [tiny, 1 - eps]: log density off by up to 0.9 in the far tails',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('log_prob',
                     'float32 clipping of stick fractions: log density off by up to 2.5e5 in the far tails',
                     Severity.FLOAT32, dtype='float32'),
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
           ),
           marginals=marginals.logistic_normal),
    Family("RelaxedBernoulli", D.RelaxedBernoulli,
           M.params(temperature=M.positive(0.1, 10.0), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           lambda p: R.RelaxedBernoulliReference(p["temperature"], p["probs"]),
           "scipy.stats.logistic(logit(probs)/temperature, 1/temperature) on logit(x)",
           invalid=({"probs": 1.5}, {"temperature": -1.0}),
           known=(
               Known('log_prob',
                     'float32 clamps x to [eps, 1 - eps]: log density off by up to 0.84 within 1.2e-7 of 0 or 1',
                     Severity.FLOAT32, dtype='float32'),
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
           ),
           edges=Edges(logits_log_prob=L.relaxed_bernoulli)),
    Family("RelaxedOneHotCategorical", D.RelaxedOneHotCategorical,
           # One temperature per batch: torch fails on a batch of temperatures (see FINDINGS.md).
           lambda rng, n: {"temperature": np.asarray(P.log_uniform(rng, 1, 0.3, 10.0, edges=False)[0]),
                           "probs": P.simplex(rng, n, 4)},
           lambda p: R.ConcreteReference(p["temperature"], p["probs"]),
           "the Concrete density (Maddison et al. 2017) from scipy.special",
           invalid=({"probs": [-0.1, 0.4, 0.4, 0.3]}, {"temperature": -1.0}),
           known=(
               Known('log_prob',
                     'float32 log density off by up to 30 for points near a vertex of the simplex',
                     Severity.FLOAT32, dtype='float32'),
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
               Known('edge.empty', 'on a zero-size batch, construct fails: constructing an empty batch raises '
                                   'RuntimeError: cannot reshape tensor of 0 elements into shape [0, -1] because the'
                                   ' unspecified dimension size -1 can be any val',
                     Severity.RAISES, dtype='*', region=method_is('construct'),
                     where='construct', upstream='pytorch#194548'),
           ),
           marginals=marginals.concrete,
           edges=Edges(logits_log_prob=L.relaxed_one_hot_categorical)),
]

"""Discrete families."""

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
from suite.registry.edges import EMPTY_BATCH_RESHAPE, Edges, both, coord_between, coord_in, method_is
from suite.registry.family import NAN, Family, Unsupported
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    BOTH_VMAP,
    DYNAMIC_SHAPE,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_DATA_DEPENDENT,
    INVALID_INPUT_ITEM,
    INVALID_VALUE_ITEM,
    SCATTER_ADD,
    VALIDATION_DATA_DEPENDENT,
    VMAP_VALIDATE,
)

# Categorical and OneHotCategorical share torch's clamping of probs.
PROBS_CLAMPED = Known('enumerate_support',
          'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
          'below 1.2e-7 is -15.9',
          Severity.FLOAT32, dtype='float32', region=G.component_below("probs", 1e-6),
          where="a category's probability below 1e-6",
          points={"probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]})

# OneHotCategoricalStraightThrough is OneHotCategorical with a straight-through rsample: the same findings.
_ONE_HOT_KNOWN = (
    PROBS_CLAMPED,
    Known('edge.outside', 'with validate_args=False, log_prob outside the support is -0.867632, not -inf '
               '(outside_set 0, probs.max 0.419945, probs.min 0.0730124); torch documents no '
               'value there with validation off (validate_args=True raises ValueError, the '
               'documented contract, and does here)',
          Severity.CONVENTION, dtype='*',
          region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
          where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
          upstream='pytorch#14672'),
    Known('edge.boundary_params', 'log_prob -36.0437 where the true value is -inf at a legal boundary '
                       'parameter (boundary 0, probs.max 0.324547, probs.min 0); float32: '
                       '-15.9424 vs -inf',
          Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 0.0, 1.0)),
          where='log_prob; at probs = zero_category, probs = one_hot',
          upstream='pytorch#186825 (the same clamp_probs)'),
    EMPTY_BATCH_RESHAPE,
)

ENTRIES: list[Family] = [
    Family("Bernoulli", D.Bernoulli,
           M.params(probs=P.probability),
           lambda p: R.FiniteDiscreteReference(
               stats.bernoulli(p["probs"]), 1,
               mode=lambda: np.where(p["probs"] == 0.5, NAN, (p["probs"] > 0.5).astype(float))),
           "scipy.stats.bernoulli(probs)", invalid=({"probs": 1.5}, {"probs": -0.1}),
           score=scores.bernoulli,
           known=(
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -0.694194, not -inf '
                                     '(at -1, outside_set 0, probs 0.500174); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0, 2.0)),
                     where="log_prob; outside point sets [0.0, 1.0, 2.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.boundary_params', 'log_prob -36.0437 where the true value is -inf at a legal boundary '
                                             'parameter (at 1, boundary 0, probs 0); float32: -15.9424 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 0.0, 1.0)),
                     where='log_prob; at probs = 0.0, probs = 1.0', upstream='pytorch#186825'),
               Known('edge.logits', 'entropy through logits is NaN where it is finite (logit -inf, logits -inf)',
                     Severity.NONFINITE, dtype='*',
                     region=both(method_is('entropy'), coord_between('logit', np.inf, magnitude=True)),
                     where='entropy; infinite logits',
                     upstream='pytorch#135359 (binary_cross_entropy_with_logits is NaN at infinite logits)'),
               Known('edge.logits', 'log_prob through logits is NaN where the exact value is 0 (at 0, logit -inf, '
                                    'logits -inf); float32: NaN vs 0',
                     Severity.NONFINITE, dtype='*',
                     region=both(method_is('log_prob'), coord_between('logit', np.inf, magnitude=True)),
                     where='log_prob; infinite logits',
                     upstream='pytorch#135359 (binary_cross_entropy_with_logits is NaN at infinite logits)'),
               INVALID_INPUT_ITEM,
           ),
           edges=Edges(logits_log_prob=L.bernoulli)),
    Family("Binomial", D.Binomial,
           M.params(total_count=lambda rng, n: P.counts(rng, n, 1, 10_000), probs=P.probability),
           M.scipy(lambda p: stats.binom(p["total_count"], p["probs"]), discrete=True,
                  mode=lambda p: np.minimum(np.floor((p["total_count"] + 1) * p["probs"]), p["total_count"])),
           "scipy.stats.binom(total_count, probs)", invalid=({"probs": 1.5}, {"total_count": -1.0}),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at total_count 1e4: log_prob off by up to 0.015',
                     Severity.FLOAT32, dtype='float32', region=G.above("total_count", 1000.0),
                     where="total_count > 1000", points={"total_count": [10000.0], "probs": [0.5]}),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -2.74274, not -inf '
                                     '(at 310.5, outside_set 2, probs 0.876996, total_count 353); torch documents no'
                                     ' value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 2.0)),
                     where="log_prob; outside point sets [2.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.boundary_params', 'log_prob -30.1772 where the true value is -inf at a legal boundary '
                                             'parameter (at 1, boundary 1, probs 0, total_count 353); float32: '
                                             '-10.0759 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 1.0, 2.0)),
                     where='log_prob; at probs = 0.0, probs = 1.0', upstream='pytorch#186825 (the same clamp_probs)'),
               Known('edge.empty', 'on a zero-size batch, entropy fails: entropy raises RuntimeError: max(): '
                                   'Expected reduction dim to be specified for input.numel() == 0. Specify th; '
                                   'enumerate_support raises RuntimeError: max(): Exp',
                     Severity.RAISES, dtype='*', region=method_is('entropy'),
                     where='entropy', upstream=''),
               Known('edge.empty', 'on a zero-size batch, enumerate_support fails: entropy raises RuntimeError: '
                                   'max(): Expected reduction dim to be specified for input.numel() == 0. Specify '
                                   'th; enumerate_support raises RuntimeError: max(): Exp',
                     Severity.RAISES, dtype='*', region=method_is('enumerate_support'),
                     where='enumerate_support', upstream=''),
               Known('edge.logits', 'log_prob through logits is NaN where the exact value is 0 (at 0, logit -inf, '
                                    'logits -inf, total_count 353); float32: NaN vs 0',
                     Severity.NONFINITE, dtype='*',
                     region=both(method_is('log_prob'), coord_between('logit', np.inf, magnitude=True)),
                     where='log_prob; infinite logits', upstream=''),
               INVALID_INPUT_ITEM,
           ),
           score=scores.binomial,
           edges=Edges(logits_log_prob=L.binomial)),
    Family("Geometric", D.Geometric,
           M.params(probs=P.probability),
           M.scipy(lambda p: stats.geom(p["probs"], loc=-1), discrete=True, mode=lambda p: 0 * p["probs"]),
           "scipy.stats.geom(probs, loc=-1)", invalid=({"probs": 0.0}, {"probs": 1.5}),
           score=scores.geometric,
           jacobian_unsupported={"vmap_grad": Unsupported(
               "index_put_", "log_prob does a masked in-place write probs[(probs == 1) & (value == 0)] = 0, "
               "and vmap cannot write a batched value into an unbatched tensor")},
           known=(
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 0.000698, not -inf '
                                     '(at -1, outside_set 0, probs 0.500174); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.boundary_params', 'probs = 0 is rejected with validate_args=True (ValueError) though '
                                             'arg_constraints declares probs unit_interval, which includes 0; a '
                                             'Geometric with probs 0 never succeeds, so rejecting it is right and the '
                                             'declared constraint is loose',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob.validated'), coord_in('boundary', 0.0)),
                     where='log_prob.validated; at probs = 0.0', upstream=''),
               Known('edge.logits', 'entropy through logits is NaN where it is finite (logit -inf, logits -inf)',
                     Severity.NONFINITE, dtype='float64',
                     region=both(method_is('entropy'), coord_between('logit', np.inf, magnitude=True)),
                     where='entropy; infinite logits', upstream=''),
               Known('edge.logits', 'log_prob through logits is -inf where the exact value is -40 (at 1, logit 40, '
                                    'logits 40); float32: -inf vs -700',
                     Severity.NONFINITE, dtype='*',
                     region=both(method_is('log_prob'), coord_between('logit', 40.0, magnitude=True)),
                     where='log_prob; |logits| >= 40', upstream=''),
               Known('edge.logits', 'entropy through logits is NaN where it is finite (logit -inf, logits -inf)',
                     Severity.NONFINITE, dtype='float32',
                     region=both(method_is('entropy'), coord_between('logit', 100.0, magnitude=True)),
                     where='entropy; |logits| >= 100', upstream=''),
               INPLACE_RANDOMNESS("sample", "vmap"),
               DYNAMIC_SHAPE("log_prob", "vmap"),
               *(VALIDATION_DATA_DEPENDENT(check, VMAP_VALIDATE) for check in ("log_prob", "entropy", "sample")),
               INVALID_INPUT_DATA_DEPENDENT,
           ),
           edges=Edges(logits_log_prob=L.geometric)),
    Family("NegativeBinomial", D.NegativeBinomial,
           M.params(total_count=M.positive(0.1, 1e3), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           M.scipy(lambda p: stats.nbinom(p["total_count"], 1 - p["probs"]), discrete=True,
                  mode=lambda p: np.floor(np.maximum(p["total_count"] - 1, 0) * p["probs"] / (1 - p["probs"]))),
           "scipy.stats.nbinom(total_count, 1 - probs)", invalid=({"total_count": -1.0}, {"probs": 1.5}),
           known=(
               Known('log_prob',
                     'float32 log_prob sums lgamma terms of size (k + total_count) ln(k + total_count) that cancel: '
                     'off by up to 1.3 at total_count ~1e3 and probs near 1, 0.9 at probs 0.894 and k = 8250',
                     Severity.FLOAT32, dtype='float32',
                     region=G.lgamma_terms_above("total_count", 5e4),
                     where="(k + total_count) ln(k + total_count) > 5e4, where float32 rounding of the terms "
                           "reaches the 1e-3 tolerance (the smallest failing in 30,000 parameter sets: 7.4e4)",
                     points={"total_count": [1000.0], "probs": [0.999]}),
               Known('mode',
                     'float32 floor((r - 1) p / (1 - p)) flips at integer ties: mode 0 where it is 1',
                     Severity.FLOAT32, dtype='float32',
                     region=lambda c: np.abs((m := (c["total_count"] - 1) * c["probs"] / (1 - c["probs"]))
                                             - np.round(m)) < 1e-4 * np.maximum(m, 1.0),
                     where="(total_count - 1) probs / (1 - probs) within 1e-4 of an integer",
                     points={"total_count": [1000.0], "probs": [0.001]}),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -4.27207, not -inf '
                                     '(at 152.5, outside_set 1, probs 0.813515, total_count 35.3059); torch '
                                     'documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 1.0)),
                     where="log_prob; outside point sets [1.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.boundary_params', 'log_prob -32.4796 where the true value is -inf at a legal boundary '
                                             'parameter (at 1, boundary 1, probs 0, total_count 35.3059); float32: '
                                             '-12.3783 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 1.0)),
                     where='log_prob; at probs = 0.0', upstream='pytorch#186825 (the same clamp_probs)'),
               Known('edge.logits', 'log_prob through logits is NaN where the exact value is 0 (at 0, logit -inf, '
                                    'logits -inf, total_count 35.3059); float32: NaN vs 0',
                     Severity.NONFINITE, dtype='*',
                     region=both(method_is('log_prob'), coord_between('logit', np.inf, magnitude=True)),
                     where='log_prob; infinite logits', upstream=''),
               INVALID_INPUT_ITEM,
           ),
           score=scores.negative_binomial,
           edges=Edges(logits_log_prob=L.negative_binomial)),
    Family("Poisson", D.Poisson,
           M.params(rate=M.positive(1e-3, 1e4)),
           M.scipy(lambda p: stats.poisson(p["rate"]), discrete=True, mode=lambda p: np.floor(p["rate"])),
           "scipy.stats.poisson(rate)", invalid=({"rate": -1.0},),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at rate ~1e4: log_prob off by up to 0.01',
                     Severity.FLOAT32, dtype='float32', region=G.above("rate", 1000.0), where="rate > 1000",
                     points={"rate": [9918.20137147]}),
               Known("exp_family.entropy", "Poisson inherits ExponentialFamily.entropy but defines no "
                     "_mean_carrier_measure: entropy() raises NotImplementedError with no message", Severity.RAISES),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -2.6235, not -inf '
                                     '(at 29.5, outside_set 1, rate 28.7562); torch documents no value there with '
                                     'validation off (validate_args=True raises ValueError, the documented contract,'
                                     ' and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 1.0)),
                     where="log_prob; outside point sets [1.0] of the reference's outside()", upstream='pytorch#14672'),
               INVALID_INPUT_ITEM,
           ),
           score=scores.poisson),
    Family("Categorical", D.Categorical,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"]),
           "scipy.stats.multinomial(1, probs) on one-hot values",
           invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               PROBS_CLAMPED,
               Known('edge.outside', 'with validate_args=False, log_prob of -1 or k (k categories) raises RuntimeError '
                                     '(index out of bounds) and of 0.5 is log probs[0], not -inf; torch documents no '
                                     'value there with validation off (validate_args=True raises ValueError, the '
                                     'documented contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0, 2.0)),
                     where="log_prob; outside point sets [0.0, 1.0, 2.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.boundary_params', 'log_prob -36.0437 where the true value is -inf at a legal boundary '
                                             'parameter (at 0, boundary 0, probs.max 0.324547, probs.min 0); '
                                             'float32: -15.9424 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 0.0, 1.0)),
                     where='log_prob; at probs = zero_category, probs = one_hot',
                     upstream='pytorch#186825 (the same clamp_probs)'),
               INVALID_VALUE_ITEM,
           ),
           score=scores.categorical,
           edges=Edges(logits_log_prob=L.categorical)),
    Family("OneHotCategorical", D.OneHotCategorical,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=_ONE_HOT_KNOWN,
           score=scores.one_hot,
           edges=Edges(logits_log_prob=L.one_hot_categorical)),
    Family("OneHotCategoricalStraightThrough", D.OneHotCategoricalStraightThrough,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=_ONE_HOT_KNOWN,
           score=scores.one_hot,
           edges=Edges(logits_log_prob=L.one_hot_categorical)),
    Family("Multinomial", D.Multinomial,
           lambda rng, n: {"total_count": 20, "probs": P.simplex(rng, n, 4)},
           lambda p: R.MultinomialReference(p["total_count"], p["probs"]),
           "scipy.stats.multinomial(total_count, probs)", invalid=({"probs": [-0.1, 0.4, 0.4, 0.3]},),
           known=(
               Known('entropy',
                     'entropy computes lgamma(total_count + 1) from an int64 tensor, i.e. in float32: off by ~6e-7 '
                     'in float64',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known("entropy", "AttributeError: 'Multinomial' object has no attribute '_binomial': "
                 "Multinomial.expand does not copy _binomial", Severity.RAISES, mode="expanded",
                 upstream="pytorch#197898"),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is -21.0864, not -inf '
                                     '(outside_set 0, probs.max 0.486988, probs.min 0.0846687, total_count 20); '
                                     'torch documents no value there with validation off (validate_args=True raises '
                                     'ValueError, the documented contract, and does here)',
                     Severity.CONVENTION, dtype='*', region=both(method_is('log_prob'), coord_in('outside_set', 0.0)),
                     where="log_prob; outside point sets [0.0] of the reference's outside()", upstream='pytorch#14672'),
               Known('edge.boundary_params', 'log_prob -720.873 where the true value is -inf at a legal boundary '
                                             'parameter (boundary 0, probs.max 0.425546, probs.min 0, total_count '
                                             '20); float32: -318.848 vs -inf',
                     Severity.NONFINITE, dtype='*', region=both(method_is('log_prob'), coord_in('boundary', 0.0, 1.0)),
                     where='log_prob; at probs = zero_category, probs = one_hot',
                     upstream='pytorch#186825 (the same clamp_probs)'),
               EMPTY_BATCH_RESHAPE,
               Known('edge.mixed_dtype', 'entropy with float64 probs under default dtype float32 is 5.5343842 where '
                                         'under default dtype float64 it is 5.5343848: lgamma(total_count + 1) is '
                                         'taken of a tensor made in the default dtype',
                     Severity.WRONG_FLOAT64, dtype='float64', region=method_is('entropy'), where='entropy'),
               DYNAMIC_SHAPE("log_prob", BOTH_VMAP),
               SCATTER_ADD("sample", BOTH_VMAP),
           ),
           score=scores.one_hot,
           marginals=marginals.multinomial,
           jacobian_unsupported={"vmap_grad": Unsupported(
               "index_put_", "log_prob does a masked in-place write logits[(value == 0) & (logits == -inf)] = 0, "
               "and vmap cannot write a batched value into an unbatched tensor")},
           edges=Edges(logits_log_prob=L.multinomial)),
]

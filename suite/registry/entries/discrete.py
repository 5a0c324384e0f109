"""Discrete families."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import params as P
from suite.registry import references as R
from suite.registry import regions as G
from suite.registry.family import NAN, Family
from suite.registry.known import Known, Severity

ENTRIES: list[Family] = [
    Family("Bernoulli", D.Bernoulli,
           M.params(probs=P.probability),
           lambda p: R.FiniteDiscreteReference(
               stats.bernoulli(p["probs"]), 1,
               mode=lambda: np.where(p["probs"] == 0.5, NAN, (p["probs"] > 0.5).astype(float))),
           "scipy.stats.bernoulli(probs)", invalid=({"probs": 1.5}, {"probs": -0.1})),
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
           )),
    Family("Geometric", D.Geometric,
           M.params(probs=P.probability),
           M.scipy(lambda p: stats.geom(p["probs"], loc=-1), discrete=True, mode=lambda p: 0 * p["probs"]),
           "scipy.stats.geom(probs, loc=-1)", invalid=({"probs": 0.0}, {"probs": 1.5})),
    Family("NegativeBinomial", D.NegativeBinomial,
           M.params(total_count=M.positive(0.1, 1e3), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           M.scipy(lambda p: stats.nbinom(p["total_count"], 1 - p["probs"]), discrete=True,
                  mode=lambda p: np.floor(np.maximum(p["total_count"] - 1, 0) * p["probs"] / (1 - p["probs"]))),
           "scipy.stats.nbinom(total_count, 1 - probs)", invalid=({"total_count": -1.0}, {"probs": 1.5}),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at total_count ~1e3 and probs near 1: log_prob off by up to 1.3',
                     Severity.FLOAT32, dtype='float32', region=G.above("probs", 0.9), where="probs > 0.9",
                     points={"total_count": [1000.0], "probs": [0.999]}),
               Known('mode',
                     'float32 floor((r - 1) p / (1 - p)) flips at integer ties: mode 0 where it is 1',
                     Severity.FLOAT32, dtype='float32',
                     region=lambda c: np.abs((m := (c["total_count"] - 1) * c["probs"] / (1 - c["probs"]))
                                             - np.round(m)) < 1e-4 * np.maximum(m, 1.0),
                     where="(total_count - 1) probs / (1 - probs) within 1e-4 of an integer",
                     points={"total_count": [1000.0], "probs": [0.001]}),
           )),
    Family("Poisson", D.Poisson,
           M.params(rate=M.positive(1e-3, 1e4)),
           M.scipy(lambda p: stats.poisson(p["rate"]), discrete=True, mode=lambda p: np.floor(p["rate"])),
           "scipy.stats.poisson(rate)", invalid=({"rate": -1.0},),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at rate ~1e4: log_prob off by up to 0.01',
                     Severity.FLOAT32, dtype='float32', region=G.above("rate", 1000.0), where="rate > 1000",
                     points={"rate": [9918.20137147]}),
           )),
    Family("Categorical", D.Categorical,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"]),
           "scipy.stats.multinomial(1, probs) on one-hot values",
           invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32', region=G.component_below("probs", 1e-6),
                     where="a category's probability below 1e-6",
                     points={"probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]}),
           )),
    Family("OneHotCategorical", D.OneHotCategorical,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32', region=G.component_below("probs", 1e-6),
                     where="a category's probability below 1e-6",
                     points={"probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]}),
           )),
    Family("OneHotCategoricalStraightThrough", D.OneHotCategoricalStraightThrough,
           M.params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32', region=G.component_below("probs", 1e-6),
                     where="a category's probability below 1e-6",
                     points={"probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]}),
           )),
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
                 "Multinomial.expand does not copy _binomial (pytorch#197898)", Severity.RAISES, mode="expanded"),
           )),
]

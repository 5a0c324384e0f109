"""Multivariate families."""

from __future__ import annotations

import numpy as np
import torch.distributions as D
from scipy import stats

from suite.registry import makers as M
from suite.registry import marginals, scores
from suite.registry import params as P
from suite.registry import regions as G
from suite.registry.built_references import LKJ2Reference
from suite.registry.edges import EMPTY_BATCH_RESHAPE, both, coord_in, method_is
from suite.registry.family import CONDITIONAL, MARGINAL, NAN, REPLAY, Family, Unsupported
from suite.registry.known import Known, Severity
from suite.registry.modes import (
    AUTOGRAD_FUNCTION,
    BOTH_VMAP,
    DATA_DEPENDENT,
    INPLACE_RANDOMNESS,
    INVALID_INPUT_DATA_DEPENDENT,
    INVALID_VALUE_ITEM,
    VALIDATION_DATA_DEPENDENT,
    VMAP_VALIDATE,
)

_SYMMETRIC_SPLIT = ("forward mode splits d/d {p}[i,j] unevenly between entries (i,j) and (j,i) where reverse "
                    "mode symmetrises: raw entries differ by {err} normwise ({where}); symmetrised they agree")
_WISHART_BACKWARD = ("Wishart.rsample(sample_shape) with a non-empty sample_shape: backward raises 'modified by "
                     "an inplace operation' for any df (the singular-sample correction tests support.check(sample) "
                     "without negating it, so it redraws every sample and writes it in place)")


_NEAR_SINGULAR = {"df": [2.5] * 250}

# LowRankMultivariateNormal's score is off by up to about 14 float64 ulps and 20 float32 ulps times
# regions.woodbury_amplification (measured over 1000 draws in each dtype, float64 also against 40-digit values);
# its Knowns cover where _WOODBURY_ULPS such ulps exceed the tolerance.
_WOODBURY_ULPS = 64
_WOODBURY_WHERE = ("max_i S_ii / (cov_diag_i^2 (S^-1)_ii) above {bound}, S = cov_factor cov_factor^T + diag(cov_diag): "
                   "64 {dtype} ulps amplified by it exceed the {rtol} tolerance")

ENTRIES: list[Family] = [
    Family("Dirichlet", D.Dirichlet,
           M.params(concentration=M.vector(M.positive(0.1, 100.0), 4)),
           M.rowwise(lambda p: stats.dirichlet(p["concentration"]), 1, transpose_x=True,
                    prepare_x=lambda x: x / x.sum(-1, keepdims=True),
                    mode=lambda p: np.where(np.all(p["concentration"] > 1, -1, keepdims=True),
                                            (p["concentration"] - 1)
                                            / (p["concentration"].sum(-1, keepdims=True) - 4), NAN)),
           "scipy.stats.dirichlet(concentration), one parameter set at a time",
           invalid=({"concentration": -1.0},), implicit_reparam=True,
           score=scores.dirichlet,
           marginals=marginals.dirichlet,
           # x_i ~ Beta(a_i, sum a - a_i): along a_i, dx_i depends on x_i alone
           pathwise={"concentration": MARGINAL},
           known=(
               Known("exp_family.entropy", "no _mean_carrier_measure (Dirichlet overrides entropy)",
                     Severity.CONVENTION),
               EMPTY_BATCH_RESHAPE,
               Known("rsample.pathwise:concentration",
                     "torch's reparameterised gradient of Dirichlet draws (dirichlet_grad_one: a rational correction "
                     "or a saddle-point approximation away from x_i = 0 and 1) is off by up to 3e-3 relative, beyond "
                     "the 1e-3 its own tests demand", Severity.WRONG_FLOAT64,
                     region=G.dirichlet_gradient_approximated, where="sum(concentration) x_i (1 - x_i) >= 0.75",
                     # about 20% of the draws here exceed 1e-3: 200 per check reach it at any seed
                     points={"concentration": [[0.1, 5.604286, 0.354231, 92.495708]]}),
               AUTOGRAD_FUNCTION("*sample", BOTH_VMAP),
           )),
    Family("MultivariateNormal", D.MultivariateNormal,
           M.params(loc=M.vector(P.real, 3), covariance_matrix=M.spd_matrix(3)),
           M.rowwise(lambda p: stats.multivariate_normal(p["loc"], p["covariance_matrix"]), 1,
                    mean=lambda p: p["loc"], mode=lambda p: p["loc"],
                    variance=lambda p: np.diagonal(p["covariance_matrix"], axis1=-2, axis2=-1)),
           "scipy.stats.multivariate_normal(loc, covariance_matrix), one parameter set at a time",
           invalid=({"covariance_matrix": -1.0},),
           known=(
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.684", where="float64"), Severity.CONVENTION, dtype="float64"),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.991", where="float32"), Severity.CONVENTION, dtype="float32"),
               EMPTY_BATCH_RESHAPE,
               Known("parameter_shapes", "a loc of size 2 beside a 3 x 3 covariance_matrix is accepted with "
                     "validate_args=True (event_shape is taken from loc); sample and log_prob then raise RuntimeError "
                     "'Expected size for first two dimensions of batch2 tensor to be: [3, 3] but got: [3, 2]'",
                     Severity.RAISES),
               INPLACE_RANDOMNESS("*sample", "vmap"),
               *(VALIDATION_DATA_DEPENDENT(check, VMAP_VALIDATE) for check in ("log_prob", "entropy", "*sample")),
               INVALID_INPUT_DATA_DEPENDENT,
           ),
           heavy_fit=True,
           score=scores.mvn,
           marginals=marginals.mvn("MultivariateNormal"),
           sized_params=lambda rng, n, d: {"loc": P.real(rng, n * d).reshape(n, d),
                                           "covariance_matrix": P.spd_matrix(rng, n, d)}),
    Family("LowRankMultivariateNormal", D.LowRankMultivariateNormal,
           M.params(loc=M.vector(P.real, 3), cov_factor=lambda rng, n: rng.normal(size=(n, 3, 2)),
                   cov_diag=M.vector(M.positive(1e-2, 1e2), 3)),
           M.rowwise(lambda p: stats.multivariate_normal(
                        p["loc"], p["cov_factor"] @ p["cov_factor"].T + np.diag(p["cov_diag"])), 1,
                    mean=lambda p: p["loc"], mode=lambda p: p["loc"],
                    variance=lambda p: (p["cov_factor"] ** 2).sum(-1) + p["cov_diag"]),
           "scipy.stats.multivariate_normal(loc, W W^T + diag(D)), one parameter set at a time",
           invalid=({"cov_diag": -1.0},),
           known=(
               Known('invalid_params',
                     'a negative cov_diag raises LinAlgError from the Cholesky in __init__ before validation runs',
                     Severity.RAISES),
               Known("jacobian.score.*",
                 "float32 d/d cov_diag of log_prob 0.17090 vs 0.16676 (reverse 5.2e-3, forward 2.6e-3 normwise) "
                 "at cov_diag (3.62, 0.0100, 1.42): float32 through the Woodbury capacitance", Severity.FLOAT32,
                 dtype="float32", region=G.woodbury_cancels(_WOODBURY_ULPS, 1e-3, "float32"),
                 where=_WOODBURY_WHERE.format(bound="131", rtol="1e-3", dtype="float32") + "; 1-8% normwise in "
                 "both modes at cov_diag (3.62, 0.0100, 1.42), cov_factor ((3, 1), (1, 3), (2, 2))",
                 points={"loc": [[0.0, 0.0, 0.0]], "cov_factor": [[[3.0, 1.0], [1.0, 3.0], [2.0, 2.0]]],
                         "cov_diag": [[3.62, 0.01, 1.42]]}),
               Known("jacobian.score.*",
                 "float64 d/d cov_diag of log_prob off by 1.6e-10 normwise at cov_diag (0.01, 100, 39.1), condition "
                 "number 22.8, where the reference is within 1e-15 of 40-digit values: torch writes the Mahalanobis "
                 "term through the Woodbury identity, whose derivatives in cov_diag cancel; 2e-9 to 7e-8 at "
                 "cov_diag (0.01, 100, 100), cov_factor ((10, 0), (0, 10), (10, 10))", Severity.WRONG_FLOAT64,
                 dtype="float64", region=G.woodbury_cancels(_WOODBURY_ULPS, 1e-10, "float64"),
                 where=_WOODBURY_WHERE.format(bound="7.0e3", rtol="1e-10", dtype="float64"),
                 points={"loc": [[0.0, 0.0, 0.0]], "cov_factor": [[[10.0, 0.0], [0.0, 10.0], [10.0, 10.0]]],
                         "cov_diag": [[0.01, 100.0, 100.0]]}),
               EMPTY_BATCH_RESHAPE,
               INPLACE_RANDOMNESS("*sample", BOTH_VMAP),
           ),
           heavy_fit=True,
           score=scores.low_rank_mvn,
           marginals=marginals.mvn("LowRankMultivariateNormal")),
    Family("Wishart", D.Wishart,
           M.params(df=M.positive(2.5, 100.0), covariance_matrix=M.spd_matrix(3)),
           M.rowwise(lambda p: stats.wishart(p["df"], p["covariance_matrix"]), 2,
                    mode=lambda p: np.where((p["df"] > 4)[:, None, None],
                                            (p["df"] - 4)[:, None, None] * p["covariance_matrix"], NAN)),
           "scipy.stats.wishart(df, covariance_matrix), one parameter set at a time",
           invalid=({"df": 1.0},), implicit_reparam=True,
           known=(
               Known('log_prob',
                     'disagrees with scipy.stats.wishart by up to 2e-4 absolute on near-singular samples (df < 3, '
                     'condition number ~1e3)',
                     Severity.WRONG_FLOAT64, dtype='float64', region=G.below("df", 3.0), where="df < 3",
                     points=_NEAR_SINGULAR),
               Known('log_prob',
                     'float32 Cholesky of near-singular samples: log_prob +inf where the reference is finite',
                     Severity.NONFINITE, dtype='float32', region=G.below("df", 3.5), where="df < 3.5"),
               Known('support',
                     'float32 positive-definiteness check rejects near-singular samples the float64 reference accepts',
                     Severity.FLOAT32, dtype='float32', where="near-singular samples (df near 2.5)"),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.910", where="float64"), Severity.CONVENTION, dtype="float64"),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.972", where="float32"), Severity.CONVENTION, dtype="float32"),
               Known(("rsample.flow", "rsample.unbiasedness", "shapes.gradient", "strategy.kl"), _WISHART_BACKWARD,
                     Severity.RAISES),
               Known('edge.empty', 'on a zero-size batch, rsample fails: sample raises IndexError: amax(): Expected '
                                   'reduction dim -1 to have non-zero size.; rsample raises IndexError: amax(): '
                                   'Expected reduction dim -1 to have non-zer',
                     Severity.RAISES, dtype='*', region=method_is('rsample'),
                     where='rsample', upstream=''),
               Known('edge.empty', 'on a zero-size batch, sample fails: sample raises IndexError: amax(): Expected '
                                   'reduction dim -1 to have non-zero size.; rsample raises IndexError: amax(): '
                                   'Expected reduction dim -1 to have non-zer',
                     Severity.RAISES, dtype='*', region=method_is('sample'),
                     where='sample', upstream=''),
               *(DATA_DEPENDENT(check, BOTH_VMAP) for check in ("log_prob", "entropy", "*sample")),
               INVALID_INPUT_DATA_DEPENDENT,
           ),
           heavy_fit=True,
           marginals=marginals.wishart,
           # Bartlett: a chi2 diagonal (df) and normals below it (covariance_matrix by an affine map)
           pathwise={"df": CONDITIONAL, "covariance_matrix": REPLAY},
           jacobian_unsupported={"vmap_grad": Unsupported(
               "data-dependent control flow", "sample validation checks positive_definite, whose check() "
               "branches on `if not sym_check.all()`, which vmap cannot trace", validate_args=True)}),
    Family("LKJCholesky", D.LKJCholesky,
           # From 0.5: below it the tail quantiles of the correlation round to exactly +-1 in float64.
           lambda rng, n: {"dim": 2, "concentration": P.log_uniform(rng, n, 0.5, 100.0)},
           lambda p: LKJ2Reference(p["concentration"]),
           "scipy.stats.beta(eta, eta) for (L[1,0] + 1) / 2 at dim 2",
           invalid=({"concentration": -1.0},),
           known=(
               Known('log_prob',
                     'float32 log_prob off by up to 0.16 for concentration < 1 (log of a float32 diagonal near 0)',
                     Severity.FLOAT32, dtype='float32', region=G.below("concentration", 1.0),
                     where="concentration < 1", points={"concentration": [0.5]}),
               Known("sample.nan",
                     "float32 sample has a row of NaN wherever torch.randn draws exactly 0.0: the onion method "
                     "normalises u / |u|, 0 / 0 for a one-element row (2 draws in 10^6 at dim 2; "
                     "test_torch_behaviours reproduces one)", Severity.NONFINITE, dtype="float32",
                     where="a draw in about 10^6 (randn returning 0.0)"),
               Known('edge.outside', 'with validate_args=False, log_prob outside the support is 0.75992, not -inf '
                                     '(concentration 14.6096, dim 2, outside_set 0); torch documents no value there '
                                     'with validation off (validate_args=True raises ValueError, the documented '
                                     'contract, and does here)',
                     Severity.CONVENTION, dtype='*',
                     region=both(method_is('log_prob'), coord_in('outside_set', 0.0, 1.0)),
                     where="log_prob; outside point sets [0.0, 1.0] of the reference's outside()",
                     upstream='pytorch#14672'),
               Known('edge.empty', 'on a zero-size batch, construct fails: constructing an empty batch raises '
                                   'RuntimeError: cannot reshape tensor of 0 elements into shape [0, 2, -1] because '
                                   'the unspecified dimension size -1 can be any ',
                     Severity.RAISES, dtype='*', region=method_is('construct'),
                     where='construct', upstream='pytorch#194548'),
               AUTOGRAD_FUNCTION("sample", BOTH_VMAP),
               INVALID_VALUE_ITEM,
           ),
           marginals=marginals.lkj_cholesky),
]

"""The registry: one entry per torch.distributions family, everything else is generated from it.

An entry names the torch class, how to build an instance from batched parameters, a generator
of valid parameters over the whole parameter space, its float64 reference (scipy.stats or scipy
pieces), tolerances per dtype, invalid parameters and the known deviations (findings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributions as D
from scipy import stats

from suite.registry import params as P
from suite.registry import references as R
from suite.registry.known import Known, Severity, matching

ParamDict = dict[str, "np.ndarray | int"]
NAN = float("nan")


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


# float64: 8 significant digits. float32: 1e-3 relative and absolute, about 8000 float32 ulps at unit
# scale; what a float32 log-likelihood can be trusted to. Errors beyond these are findings.
DEFAULT_TOLERANCE = {torch.float64: Tolerance(1e-8, 1e-10), torch.float32: Tolerance(1e-3, 1e-3)}

# The dtypes and devices the suite runs on; a default run covers all of them.
DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32}
DEVICES = ("cpu", "cuda")


def dtype_name(dtype: torch.dtype | str) -> str:
    """'float64' for torch.float64 (and for 'float64')."""
    return str(dtype).removeprefix("torch.")


# Implicitly reparameterised families: rsample's derivative comes from the CDF, not a fixed transform.
IMPLICIT = "implicit"
EXPLICIT = "explicit"


@dataclass(frozen=True)
class Family:
    name: str
    torch_cls: type
    make_params: Callable[[np.random.Generator, int], ParamDict]
    reference: Callable[[ParamDict], R.Reference]
    reference_name: str
    build: Callable[..., D.Distribution] | None = None
    invalid: tuple[Mapping[str, float], ...] = ()
    tolerance: Mapping[torch.dtype, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCE)
    # Where torch disagrees with the reference: strict xfails scoped to their regions, and FINDINGS.md rows.
    known: tuple[Known, ...] = ()
    implicit_reparam: bool = False
    # Constraints of the tensors `build` takes, for composite families whose arg_constraints are empty.
    param_constraints: Mapping[str, D.constraints.Constraint] | None = None
    # Parameters a fit must hold fixed -> why (not identifiable, or an unbounded likelihood).
    held_when_fitting: Mapping[str, str] = field(default_factory=dict)
    # A maximum-likelihood fit too slow for the default tier (it runs in the slow tier).
    heavy_fit: bool = False

    @property
    def discrete(self) -> bool:
        return bool(self.example().support.is_discrete)

    @property
    def event_dim(self) -> int:
        return len(self.example().event_shape)

    def example(self, n: int = 4, seed: int = 0) -> D.Distribution:
        """A small float64 instance, for reading structural properties."""
        return self.instantiate(self.make_params(np.random.default_rng(seed), n))

    @property
    def has_rsample(self) -> bool:
        return bool(self.torch_cls.has_rsample)

    @property
    def reparam(self) -> str | None:
        if not self.has_rsample:
            return None
        return IMPLICIT if self.implicit_reparam else EXPLICIT

    @property
    def factory(self) -> Callable[..., D.Distribution]:
        """What builds an instance from keyword tensors and validate_args: `build`, else the torch class."""
        return self.build if self.build is not None else self.torch_cls

    def from_tensors(self, tensors: Mapping[str, torch.Tensor | int],
                     validate_args: bool | None = None) -> D.Distribution:
        """An instance from parameters that are already tensors (they keep their autograd history, and
        may be traced or batched by torch.func)."""
        return self.factory(**tensors, validate_args=validate_args)

    def instantiate(self, params: ParamDict, dtype: torch.dtype = torch.float64,
                    device: str | torch.device = "cpu", validate_args: bool | None = None) -> D.Distribution:
        return self.from_tensors({k: to_tensor(v, dtype, device) for k, v in params.items()}, validate_args)

    def known_for(self, check: str, dtype: torch.dtype | str = "float64", device: str | torch.device = "cpu",
                  mode: str = "eager") -> tuple[Known, ...]:
        """The known deviations that apply to one check of this family."""
        return matching(self.known, check, dtype_name(dtype), torch.device(device).type, mode)


def to_tensor(value, dtype: torch.dtype, device) -> torch.Tensor | int:
    """A parameter as a tensor of dtype on device; a tensor keeps its autograd history."""
    if isinstance(value, int):
        return value
    if isinstance(value, torch.Tensor):
        return value.to(dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


def round_to(params: ParamDict, dtype: torch.dtype) -> ParamDict:
    """Parameters as dtype would store them, back in float64, so the reference sees what torch sees."""
    numpy_dtype = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
    return {k: v if isinstance(v, int) else np.asarray(v).astype(numpy_dtype).astype(np.float64)
            for k, v in params.items()}


def _positive(lo: float = 1e-3, hi: float = 1e3):
    return lambda rng, n: P.log_uniform(rng, n, lo, hi)


def _params(**generators: Callable[[np.random.Generator, int], np.ndarray]):
    return lambda rng, n: {name: gen(rng, n) for name, gen in generators.items()}


def _scipy(make_frozen, discrete=False, mode=None):
    def reference(p):
        return R.ScipyReference(make_frozen(p), discrete=discrete, mode=(lambda: mode(p)) if mode else None)
    return reference


def _rowwise(make_row, event_dim, transpose_x=False, prepare_x=None, **moments):
    def reference(p):
        n = next(v.shape[0] for v in p.values() if not isinstance(v, int))
        rows = [make_row({k: v if isinstance(v, int) else v[i] for k, v in p.items()}) for i in range(n)]
        ref = R.RowwiseReference(rows, event_dim, transpose_x=transpose_x, prepare_x=prepare_x)
        for name, fn in moments.items():
            setattr(ref, name, (lambda fn=fn: fn(p)))
        return ref
    return reference


def _spd_matrix(d: int):
    return lambda rng, n: P.spd_matrix(rng, n, d)


def _vector(generator, k: int):
    return lambda rng, n: generator(rng, n * k).reshape(n, k)


_SYMMETRIC_SPLIT = ("forward mode splits d/d {p}[i,j] unevenly between entries (i,j) and (j,i) where reverse "
                    "mode symmetrises: raw entries differ by {err} normwise ({where}); symmetrised they agree")
_WISHART_BACKWARD = ("Wishart.rsample(sample_shape) with a non-empty sample_shape: backward raises 'modified by "
                     "an inplace operation' for any df (the singular-sample correction tests support.check(sample) "
                     "without negating it, so it redraws every sample and writes it in place)")


FAMILIES: list[Family] = [
    Family("Normal", D.Normal,
           _params(loc=P.real, scale=_positive()),
           _scipy(lambda p: stats.norm(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.norm(loc, scale)",
           invalid=({"scale": -1.0}, {"scale": 0.0}, {"loc": NAN}),
           known=(
               Known('icdf',
                     'float32 icdf via erfinv(2q - 1) loses relative precision in the lower tail (q = 1e-6)',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Cauchy", D.Cauchy,
           _params(loc=P.real, scale=_positive()),
           _scipy(lambda p: stats.cauchy(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.cauchy(loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf tan(pi (q - 1/2)) loses relative precision in both tails: 1% off at q = 1e-6',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Laplace", D.Laplace,
           _params(loc=P.real, scale=_positive()),
           _scipy(lambda p: stats.laplace(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.laplace(loc, scale)", invalid=({"scale": 0.0},),
           known=(
               Known('icdf',
                     'float32 icdf loses relative precision in the tails: 0.1% off at q = 1e-6',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Gumbel", D.Gumbel,
           _params(loc=P.real, scale=_positive()),
           _scipy(lambda p: stats.gumbel_r(p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.gumbel_r(loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf -log(-log q) loses the upper tail: 0.8% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("HalfNormal", D.HalfNormal,
           _params(scale=_positive()),
           _scipy(lambda p: stats.halfnorm(scale=p["scale"]), mode=lambda p: 0 * p["scale"]),
           "scipy.stats.halfnorm(scale=scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf via erfinv loses the upper tail: 0.25% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("HalfCauchy", D.HalfCauchy,
           _params(scale=_positive()),
           _scipy(lambda p: stats.halfcauchy(scale=p["scale"]), mode=lambda p: 0 * p["scale"]),
           "scipy.stats.halfcauchy(scale=scale)", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf loses the upper tail: 5.7% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Exponential", D.Exponential,
           _params(rate=_positive()),
           _scipy(lambda p: stats.expon(scale=1 / p["rate"]), mode=lambda p: 0 * p["rate"]),
           "scipy.stats.expon(scale=1/rate)", invalid=({"rate": -1.0}, {"rate": 0.0})),
    Family("Gamma", D.Gamma,
           _params(concentration=_positive(0.05, 1e3), rate=_positive()),
           _scipy(lambda p: stats.gamma(p["concentration"], scale=1 / p["rate"]),
                  mode=lambda p: np.maximum(p["concentration"] - 1, 0) / p["rate"]),
           "scipy.stats.gamma(concentration, scale=1/rate)",
           invalid=({"concentration": -1.0}, {"rate": 0.0}), implicit_reparam=True),
    Family("Chi2", D.Chi2,
           _params(df=_positive(0.1, 1e3)),
           _scipy(lambda p: stats.chi2(p["df"]), mode=lambda p: np.maximum(p["df"] - 2, 0)),
           "scipy.stats.chi2(df)", invalid=({"df": -1.0},), implicit_reparam=True),
    Family("Beta", D.Beta,
           _params(concentration1=_positive(0.1, 1e3), concentration0=_positive(0.1, 1e3)),
           _scipy(lambda p: stats.beta(p["concentration1"], p["concentration0"]),
                  mode=lambda p: np.where((p["concentration1"] > 1) & (p["concentration0"] > 1),
                                          (p["concentration1"] - 1)
                                          / (p["concentration1"] + p["concentration0"] - 2), NAN)),
           "scipy.stats.beta(concentration1, concentration0)",
           invalid=({"concentration1": -1.0}, {"concentration0": 0.0}), implicit_reparam=True),
    Family("StudentT", D.StudentT,
           _params(df=_positive(0.1, 1e3), loc=P.real, scale=_positive()),
           _scipy(lambda p: stats.t(p["df"], p["loc"], p["scale"]), mode=lambda p: p["loc"]),
           "scipy.stats.t(df, loc, scale)", invalid=({"df": -1.0}, {"scale": -1.0}),
           implicit_reparam=True,
           known=(
               Known('log_prob',
                     'float32 log_prob underflows to -inf in the far tails where the log density is about -100 (df '
                     '< 1)',
                     Severity.NONFINITE, dtype='float32'),
               Known("jacobian.score.reverse",
                 "float32 d/d df of log_prob 6.08e-7 vs 8.39e-7 (1.02e-3 normwise) at df 712.2, scale 0.01154, "
                 "z -0.675: digamma((df+1)/2) - digamma(df/2) cancels in float32; forward mode stays at 7.1e-5",
                 Severity.FLOAT32, dtype="float32"),
           )),
    Family("FisherSnedecor", D.FisherSnedecor,
           _params(df1=_positive(0.5, 1e3), df2=_positive(0.5, 1e3)),
           _scipy(lambda p: stats.f(p["df1"], p["df2"]),
                  mode=lambda p: np.where(p["df1"] > 2, (p["df1"] - 2) / p["df1"] * p["df2"] / (p["df2"] + 2),
                                          NAN)),
           "scipy.stats.f(df1, df2)", invalid=({"df1": -1.0},), implicit_reparam=True),
    Family("InverseGamma", D.InverseGamma,
           _params(concentration=_positive(0.5, 1e3), rate=_positive()),
           _scipy(lambda p: stats.invgamma(p["concentration"], scale=p["rate"]),
                  mode=lambda p: p["rate"] / (p["concentration"] + 1)),
           "scipy.stats.invgamma(concentration, scale=rate)", invalid=({"rate": -1.0},),
           implicit_reparam=True),
    Family("Pareto", D.Pareto,
           _params(scale=_positive(), alpha=_positive(0.1, 1e2)),
           _scipy(lambda p: stats.pareto(p["alpha"], scale=p["scale"]), mode=lambda p: p["scale"]),
           "scipy.stats.pareto(alpha, scale=scale)", invalid=({"alpha": -1.0},),
           known=(
               Known('log_prob',
                     'float32 log_prob is -inf in the far tail (alpha < 0.2) where the log density is about -100',
                     Severity.NONFINITE, dtype='float32'),
               Known('icdf',
                     'float32 icdf overflows to inf where the quantile (about 1e38) is still representable',
                     Severity.NONFINITE, dtype='float32'),
           )),
    Family("Weibull", D.Weibull,
           _params(scale=_positive(), concentration=_positive(0.1, 1e2)),
           _scipy(lambda p: stats.weibull_min(p["concentration"], scale=p["scale"]),
                  mode=lambda p: p["scale"] * np.where(p["concentration"] > 1,
                                                       ((p["concentration"] - 1) / p["concentration"])
                                                       ** (1 / p["concentration"]), 0.0)),
           "scipy.stats.weibull_min(concentration, scale=scale)", invalid=({"concentration": -1.0},),
           known=(
               Known('mode',
                     'mode is NaN for concentration < 1, where the mode is 0',
                     Severity.NONFINITE),
               Known('icdf',
                     'float32 icdf loses relative precision in the upper tail for concentration < 0.2',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Uniform", D.Uniform,
           lambda rng, n: (lambda low: {"low": low, "high": low + P.log_uniform(rng, n, 1e-3, 1e3)})(
               P.real(rng, n)),
           _scipy(lambda p: stats.uniform(p["low"], p["high"] - p["low"])),
           "scipy.stats.uniform(low, high - low)", invalid=({"low": 2.0, "high": 1.0},),
           known=(
               Known('log_prob',
                     "log_prob(high) is -inf: torch's support is [low, high), "
                     "scipy's density at high is 1/(high - low)",
                     Severity.CONVENTION, dtype='float32'),
           )),
    Family("LogNormal", D.LogNormal,
           _params(loc=lambda rng, n: P.real(rng, n, 20.0), scale=_positive(1e-3, 10.0)),
           _scipy(lambda p: stats.lognorm(p["scale"], scale=np.exp(p["loc"])),
                  mode=lambda p: np.exp(p["loc"] - p["scale"] ** 2)),
           "scipy.stats.lognorm(scale, scale=exp(loc))", invalid=({"scale": -1.0},),
           known=(
               Known('icdf',
                     'float32 icdf exp(loc + scale * erfinv(...)) amplifies the tail error: 3% off at q = 1 - 1e-6',
                     Severity.FLOAT32, dtype='float32'),
               Known('stddev',
                     'float32 stddev overflows to inf where it is representable (sqrt of an overflowed variance)',
                     Severity.NONFINITE, dtype='float32'),
           )),
    Family("GeneralizedPareto", getattr(D, "GeneralizedPareto", None),
           _params(loc=P.real, scale=_positive(), concentration=lambda rng, n: rng.uniform(-0.9, 0.9, n)),
           _scipy(lambda p: stats.genpareto(p["concentration"], p["loc"], p["scale"]),
                  mode=lambda p: p["loc"]),
           "scipy.stats.genpareto(concentration, loc, scale)", invalid=({"scale": -1.0},),
           known=(
               Known('log_prob',
                     "raises RuntimeError 'Double did not match Float' in float64 (isclose against a float32 zero)",
                     Severity.RAISES, dtype='float64'),
               Known('cdf',
                     "raises RuntimeError 'Double did not match Float' in float64 (isclose against a float32 zero)",
                     Severity.RAISES, dtype='float64'),
               Known('log_prob',
                     'float32 log_prob off by about 2e-3 for concentration near -0.9',
                     Severity.FLOAT32, dtype='float32'),
               Known('cdf',
                     'float32 cdf is NaN at the upper end of the support (concentration < 0)',
                     Severity.NONFINITE, dtype='float32'),
               Known('support',
                     'float32 support rejects the upper end loc + scale/|concentration| (concentration < 0)',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("VonMises", D.VonMises,
           _params(loc=lambda rng, n: rng.uniform(-np.pi, np.pi, n), concentration=_positive(1e-3, 1e3)),
           lambda p: R.VonMisesReference(p["loc"], p["concentration"]),
           "scipy.stats.vonmises(concentration, loc); circular variance from scipy.special",
           invalid=({"concentration": -1.0},),
           known=(
               Known('log_prob',
                     'log normaliser from a polynomial approximation of log I0: relative error up to 3e-6 in float64',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('variance',
                     'circular variance from the same approximation of I1/I0: relative error up to 5e-4 in float64',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known("jacobian.score.*",
                 "d/d concentration of log_prob -1.0666563051538 vs -1.0666563586228 (5.0e-8 normwise) at "
                 "concentration 0.5334, x - loc 3.770: log I0 is a float32-grade polynomial "
                 "(_log_modified_bessel_fn)", Severity.WRONG_FLOAT64, dtype="float64"),
           )),
    Family("Bernoulli", D.Bernoulli,
           _params(probs=P.probability),
           lambda p: R.FiniteDiscreteReference(
               stats.bernoulli(p["probs"]), 1,
               mode=lambda: np.where(p["probs"] == 0.5, NAN, (p["probs"] > 0.5).astype(float))),
           "scipy.stats.bernoulli(probs)", invalid=({"probs": 1.5}, {"probs": -0.1})),
    Family("Binomial", D.Binomial,
           _params(total_count=lambda rng, n: P.counts(rng, n, 1, 10_000), probs=P.probability),
           _scipy(lambda p: stats.binom(p["total_count"], p["probs"]), discrete=True,
                  mode=lambda p: np.minimum(np.floor((p["total_count"] + 1) * p["probs"]), p["total_count"])),
           "scipy.stats.binom(total_count, probs)", invalid=({"probs": 1.5}, {"total_count": -1.0}),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at total_count 1e4: log_prob off by up to 0.015',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Geometric", D.Geometric,
           _params(probs=P.probability),
           _scipy(lambda p: stats.geom(p["probs"], loc=-1), discrete=True, mode=lambda p: 0 * p["probs"]),
           "scipy.stats.geom(probs, loc=-1)", invalid=({"probs": 0.0}, {"probs": 1.5})),
    Family("NegativeBinomial", D.NegativeBinomial,
           _params(total_count=_positive(0.1, 1e3), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
           _scipy(lambda p: stats.nbinom(p["total_count"], 1 - p["probs"]), discrete=True,
                  mode=lambda p: np.floor(np.maximum(p["total_count"] - 1, 0) * p["probs"] / (1 - p["probs"]))),
           "scipy.stats.nbinom(total_count, 1 - probs)", invalid=({"total_count": -1.0}, {"probs": 1.5}),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at total_count ~1e3 and probs near 1: log_prob off by up to 1.3',
                     Severity.FLOAT32, dtype='float32'),
               Known('mode',
                     'float32 floor((r - 1) p / (1 - p)) flips at integer ties: mode 0 where it is 1',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Poisson", D.Poisson,
           _params(rate=_positive(1e-3, 1e4)),
           _scipy(lambda p: stats.poisson(p["rate"]), discrete=True, mode=lambda p: np.floor(p["rate"])),
           "scipy.stats.poisson(rate)", invalid=({"rate": -1.0},),
           known=(
               Known('log_prob',
                     'float32 lgamma cancellation at rate ~1e4: log_prob off by up to 0.01',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Categorical", D.Categorical,
           _params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"]),
           "scipy.stats.multinomial(1, probs) on one-hot values",
           invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("OneHotCategorical", D.OneHotCategorical,
           _params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("OneHotCategoricalStraightThrough", D.OneHotCategoricalStraightThrough,
           _params(probs=lambda rng, n: P.simplex(rng, n, 5)),
           lambda p: R.CategoricalReference(p["probs"], one_hot=True),
           "scipy.stats.multinomial(1, probs)", invalid=({"probs": [-0.1, 0.4, 0.3, 0.2, 0.2]},),
           known=(
               Known('enumerate_support',
                     'probs are clamped to [eps, 1 - eps] (eps = 1.2e-7 in float32): log-probability of a category '
                     'below 1.2e-7 is -15.9',
                     Severity.FLOAT32, dtype='float32'),
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
    Family("Dirichlet", D.Dirichlet,
           _params(concentration=_vector(_positive(0.1, 100.0), 4)),
           _rowwise(lambda p: stats.dirichlet(p["concentration"]), 1, transpose_x=True,
                    prepare_x=lambda x: x / x.sum(-1, keepdims=True),
                    mode=lambda p: np.where(np.all(p["concentration"] > 1, -1, keepdims=True),
                                            (p["concentration"] - 1)
                                            / (p["concentration"].sum(-1, keepdims=True) - 4), NAN)),
           "scipy.stats.dirichlet(concentration), one parameter set at a time",
           invalid=({"concentration": -1.0},), implicit_reparam=True),
    Family("MultivariateNormal", D.MultivariateNormal,
           _params(loc=_vector(P.real, 3), covariance_matrix=_spd_matrix(3)),
           _rowwise(lambda p: stats.multivariate_normal(p["loc"], p["covariance_matrix"]), 1,
                    mean=lambda p: p["loc"], mode=lambda p: p["loc"],
                    variance=lambda p: np.diagonal(p["covariance_matrix"], axis1=-2, axis2=-1)),
           "scipy.stats.multivariate_normal(loc, covariance_matrix), one parameter set at a time",
           invalid=({"covariance_matrix": -1.0},),
           known=(
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.684", where="float64"), Severity.CONVENTION, dtype="float64"),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.991", where="float32"), Severity.CONVENTION, dtype="float32"),
           ),
           heavy_fit=True),
    Family("LowRankMultivariateNormal", D.LowRankMultivariateNormal,
           _params(loc=_vector(P.real, 3), cov_factor=lambda rng, n: rng.normal(size=(n, 3, 2)),
                   cov_diag=_vector(_positive(1e-2, 1e2), 3)),
           _rowwise(lambda p: stats.multivariate_normal(
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
                 dtype="float32"),
           ),
           heavy_fit=True),
    Family("Wishart", D.Wishart,
           _params(df=_positive(2.5, 100.0), covariance_matrix=_spd_matrix(3)),
           _rowwise(lambda p: stats.wishart(p["df"], p["covariance_matrix"]), 2,
                    mode=lambda p: np.where((p["df"] > 4)[:, None, None],
                                            (p["df"] - 4)[:, None, None] * p["covariance_matrix"], NAN)),
           "scipy.stats.wishart(df, covariance_matrix), one parameter set at a time",
           invalid=({"df": 1.0},), implicit_reparam=True,
           known=(
               Known('log_prob',
                     'disagrees with scipy.stats.wishart by up to 2e-4 absolute on near-singular samples (df < 3, '
                     'condition number ~1e3)',
                     Severity.WRONG_FLOAT64, dtype='float64'),
               Known('log_prob',
                     'float32 Cholesky of near-singular samples: log_prob +inf where the reference is finite',
                     Severity.NONFINITE, dtype='float32'),
               Known('support',
                     'float32 positive-definiteness check rejects near-singular samples the float64 reference accepts',
                     Severity.FLOAT32, dtype='float32'),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.910", where="float64"), Severity.CONVENTION, dtype="float64"),
               Known("jacobian.raw_entries.forward", _SYMMETRIC_SPLIT.format(
                 p="covariance_matrix", err="0.972", where="float32"), Severity.CONVENTION, dtype="float32"),
               Known("rsample.flow", _WISHART_BACKWARD, Severity.RAISES),
               Known("rsample.unbiasedness", _WISHART_BACKWARD, Severity.RAISES),
               Known("shapes.gradient", _WISHART_BACKWARD, Severity.RAISES),
               Known("strategy.kl", _WISHART_BACKWARD, Severity.RAISES),
           ),
           heavy_fit=True),
    Family("LKJCholesky", D.LKJCholesky,
           # From 0.5: below it the tail quantiles of the correlation round to exactly +-1 in float64.
           lambda rng, n: {"dim": 2, "concentration": P.log_uniform(rng, n, 0.5, 100.0)},
           lambda p: R.LKJ2Reference(p["concentration"]),
           "scipy.stats.beta(eta, eta) for (L[1,0] + 1) / 2 at dim 2",
           invalid=({"concentration": -1.0},),
           known=(
               Known('log_prob',
                     'float32 log_prob off by up to 0.16 for concentration < 1 (log of a float32 diagonal near 0)',
                     Severity.FLOAT32, dtype='float32'),
           )),
    Family("Independent", D.Independent,
           _params(loc=_vector(P.real, 3), scale=_vector(_positive(), 3)),
           lambda p: R.SumOfIndependentReference(R.ScipyReference(stats.norm(p["loc"], p["scale"]),
                                                                  mode=lambda: p["loc"])),
           "sum over the event of scipy.stats.norm(loc, scale)",
           build=lambda loc, scale, validate_args=None: D.Independent(
               D.Normal(loc, scale, validate_args=validate_args), 1, validate_args=validate_args),
           param_constraints={"loc": D.constraints.real, "scale": D.constraints.positive},
           invalid=({"scale": -1.0},)),
    Family("MixtureSameFamily", D.MixtureSameFamily,
           _params(weights=lambda rng, n: P.simplex(rng, n, 3), loc=_vector(lambda r, m: P.real(r, m, 100.0), 3),
                   scale=_vector(_positive(1e-2, 1e2), 3)),
           lambda p: R.NormalMixtureReference(p["weights"], p["loc"], p["scale"]),
           "logsumexp of log(weights) + scipy.stats.norm(loc, scale).logpdf",
           build=lambda weights, loc, scale, validate_args=None: D.MixtureSameFamily(
               D.Categorical(probs=weights, validate_args=validate_args),
               D.Normal(loc, scale, validate_args=validate_args), validate_args=validate_args),
           param_constraints={"weights": D.constraints.simplex, "loc": D.constraints.real,
                              "scale": D.constraints.positive},
           invalid=({"scale": -1.0}, {"weights": [-0.5, 1.0, 0.5]}),
           heavy_fit=True),
    Family("TransformedDistribution", D.TransformedDistribution,
           _params(loc=lambda rng, n: P.real(rng, n, 5.0), scale=_positive(1e-2, 3.0),
                   shift=lambda rng, n: P.real(rng, n, 10.0), factor=_positive(1e-2, 1e2)),
           _scipy(lambda p: stats.lognorm(p["scale"], loc=p["shift"], scale=p["factor"] * np.exp(p["loc"]))),
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
           )),
    Family("Kumaraswamy", D.Kumaraswamy,
           _params(concentration1=_positive(0.2, 50.0), concentration0=_positive(0.2, 50.0)),
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
           )),
    Family("ContinuousBernoulli", D.ContinuousBernoulli,
           _params(probs=lambda rng, n: P.probability(rng, n, 1e-3)),
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
           )),
    Family("LogisticNormal", D.LogisticNormal,
           _params(loc=_vector(lambda r, m: P.real(r, m, 3.0), 3), scale=_vector(_positive(0.1, 3.0), 3)),
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
           )),
    Family("RelaxedBernoulli", D.RelaxedBernoulli,
           _params(temperature=_positive(0.1, 10.0), probs=lambda rng, n: P.probability(rng, n, 1e-3)),
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
           )),
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
                 "log_prob returns (n, n) for a batch of n (pytorch#37162)", Severity.RAISES),
           )),
]

FAMILIES = [family for family in FAMILIES if family.torch_cls is not None]  # older torch lacks some
REGISTRY: dict[str, Family] = {family.name: family for family in FAMILIES}

ABSTRACT_CLASSES = frozenset({"Distribution", "ExponentialFamily"})


def public_distribution_classes() -> list[str]:
    """Every concrete public class in torch.distributions."""
    names = []
    for name in D.__all__:
        obj = getattr(D, name)
        if isinstance(obj, type) and issubclass(obj, D.Distribution) and name not in ABSTRACT_CLASSES:
            names.append(name)
    return sorted(names)


def unregistered_classes(registry: Mapping[str, Family] | None = None) -> list[str]:
    """Public torch.distributions classes that have no registry entry."""
    registry = REGISTRY if registry is None else registry
    return sorted(set(public_distribution_classes()) - set(registry))


def invalid_params(family: Family, rng: np.random.Generator) -> list[tuple[str, ParamDict]]:
    """Valid parameter sets with one parameter replaced by an invalid value (description, params)."""
    cases = []
    for overrides in family.invalid:
        params = family.make_params(rng, 4)
        for name, value in overrides.items():
            params[name] = np.broadcast_to(np.asarray(value, dtype=float), np.shape(params[name])).copy()
        cases.append((", ".join(f"{k}={v}" for k, v in overrides.items()), params))
    return cases

"""Goodness of fit of `sample` and `rsample` against the registry's float64 references.

Every sampler check reduces a family's samples to one or more scalar projections whose law is known
in closed form (scipy.stats), then tests each parameter set:

* continuous projections with a cdf: Kolmogorov-Smirnov on the draws (`scipy.stats.kstest`);
* discrete projections, and continuous ones known only through their quantile function: Pearson
  chi-square (`scipy.stats.chisquare`) over cells of at least MIN_EXPECTED expected draws, the
  tails lumped into the outer cells;
* finite supports (Bernoulli, Categorical, one-hot): chi-square over the enumerated support.

Univariate families use the identity projection and the registry reference itself. Multivariate
and circular families use the projections their registry entry names (`Family.marginals`).

p-values of the projections of one parameter set are combined by Bonferroni (the projections are
dependent); the parameter sets are independent, and their p-values are combined by Fisher (power
against a fault shared by all sets) and by Tippett (power against a fault in one region), the check's
p-value being twice the smaller of the two (Bonferroni again). A check fails when its p-value is
below ALPHA.

False-positive budget: FALSE_POSITIVE_BUDGET = 1e-3 expected false alarms per full default run
(``pytest``: --dtype all --device all), split evenly by Bonferroni over every statistical check
the run can generate (sampler checks of `sample` and `rsample`, and the rsample unbiasedness checks
of `suite.checks.rsample_grad`), CUDA cases included even where they skip:

    ALPHA = 1e-3 / STATISTICAL_CHECKS  (STATISTICAL_CHECKS and ALPHA are computed below from the registry)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from suite.checks.result import CheckResult
from suite.registry import families as F
from suite.registry.families import DEVICES, DTYPES, Family, ParamDict, dtype_name
from suite.registry.marginals import Law, Projection, identity

FALSE_POSITIVE_BUDGET = 1e-3
RUN_DTYPES = tuple(DTYPES.values())  # the default run's --dtype all
RUN_DEVICES = DEVICES  # the default run's --device all
SAMPLER_METHODS = ("sample", "rsample")

PARAMETER_SETS = 5  # parameter sets per check, from family.make_params(rng, PARAMETER_SETS)
SAMPLE_SIZE = 20_000  # draws per parameter set
MIN_EXPECTED = 5.0  # smallest expected count of a chi-square cell
QUANTILE_CELLS = 100  # equiprobable target cells for quantile-binned chi-square


def sampler_checks() -> list[tuple[Family, str]]:
    """Every (family, method) the sampler cases generate."""
    return [(family, method) for family in F.FAMILIES for method in SAMPLER_METHODS
            if method == "sample" or family.has_rsample]


def unbiasedness_families() -> list[Family]:
    """Families whose rsample gradient is a pathwise derivative (straight-through estimators excluded)."""
    return [family for family in F.FAMILIES if family.has_rsample and not family.discrete]


STATISTICAL_CHECKS = (len(sampler_checks()) + len(unbiasedness_families())) * len(RUN_DTYPES) * len(RUN_DEVICES)
ALPHA = FALSE_POSITIVE_BUDGET / STATISTICAL_CHECKS


def projections(family: Family, params: ParamDict, rng: np.random.Generator) -> list[Projection]:
    """The scalar projections of `family` with known laws; params are the float64 parameters torch sees."""
    if family.marginals is not None:
        return family.marginals(params, rng)
    return [Projection("x", identity, lambda q: Law.reference(family.reference(q), family.discrete), coordinate=True)]


# ---- the tests ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Test:
    pvalues: np.ndarray  # (n,)
    statistics: np.ndarray  # (n,)
    name: str


def _support_ends(law: Law, n: int) -> tuple[np.ndarray, np.ndarray]:
    if law.ppf is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    return law.ppf(np.zeros((1, n)))[0], law.ppf(np.ones((1, n)))[0]


def _cells(y: torch.Tensor, law: Law) -> tuple[np.ndarray, np.ndarray]:
    """The interval of reals each draw stands for in its dtype: its rounding cell, and, on a support ending
    at 0 or 1, everything beyond the points torch clamps to (finfo.tiny, 1 - finfo.eps)."""
    finfo = torch.finfo(y.dtype)
    lo = ((y.double() + torch.nextafter(y, y.new_tensor(-torch.inf)).double()) / 2).cpu().numpy()
    hi = ((y.double() + torch.nextafter(y, y.new_tensor(torch.inf)).double()) / 2).cpu().numpy()
    values = y.double().cpu().numpy()
    lower, upper = _support_ends(law, values.shape[1])
    tiny_cell = (finfo.tiny + float(np.nextafter(np.asarray(finfo.tiny, dtype=_NUMPY[y.dtype]),
                                                 np.inf).astype(float))) / 2
    low_zone = (lower == 0) & (values <= finfo.tiny)
    lo, hi = np.where(low_zone, 0.0, lo), np.where(low_zone, tiny_cell, hi)
    high_zone = (upper == 1) & (values >= 1 - finfo.eps)
    lo, hi = np.where(high_zone, 1 - 1.5 * finfo.eps, lo), np.where(high_zone, 1.0, hi)
    return lo, hi


_NUMPY = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16,
          torch.bfloat16: np.float32}


def _pit(y: torch.Tensor, law: Law, coordinate: bool, rng: np.random.Generator) -> np.ndarray:
    """Probability integral transform; a draw held in a dtype gets a uniform point of its cell's mass."""
    if not coordinate:
        return law.cdf(y.double().cpu().numpy())
    lo, hi = _cells(y, law)
    lower, upper = law.cdf(lo), law.cdf(hi)
    return lower + rng.uniform(size=lower.shape) * (upper - lower)


def _ks(u: np.ndarray) -> _Test:
    result = stats.kstest(u, "uniform", axis=0)
    return _Test(np.atleast_1d(result.pvalue), np.atleast_1d(result.statistic), "Kolmogorov-Smirnov")


def _lumped(observed: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring cells until each expects MIN_EXPECTED draws (the tails lump into their neighbours)."""
    starts, total = [0], 0.0
    for i, e in enumerate(expected):
        total += e
        if total >= MIN_EXPECTED and i + 1 < len(expected):
            starts.append(i + 1)
            total = 0.0
    if len(starts) > 1 and expected[starts[-1]:].sum() < MIN_EXPECTED:
        starts.pop()
    return np.add.reduceat(observed, starts), np.add.reduceat(expected, starts)


def _chisquare(observed: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    size = observed.sum()
    f_obs, f_exp = _lumped(observed.astype(float), probabilities * size)
    if len(f_obs) < 2:
        return 1.0, 0.0
    result = stats.chisquare(f_obs, f_exp * size / f_exp.sum())
    return float(result.pvalue), float(result.statistic)


def _cell_counts(y: np.ndarray, edges: np.ndarray, cdf_at_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and probabilities of the cells (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    counts = np.bincount(np.searchsorted(edges, y, side="left"), minlength=len(edges) + 1)
    probabilities = np.diff(np.concatenate([[0.0], cdf_at_edges, [1.0]]))
    return counts, np.clip(probabilities, 0.0, None)


def _binned(y: np.ndarray, law: Law) -> _Test:
    grid = np.arange(1, QUANTILE_CELLS) / QUANTILE_CELLS
    n = y.shape[1]
    quantiles = law.ppf(grid[:, None] * np.ones((1, n)))
    at_edges = law.cdf(quantiles) if law.discrete else grid[:, None] * np.ones((1, n))
    pvalues, statistics = np.ones(n), np.zeros(n)
    for i in range(n):
        edges, first = np.unique(quantiles[:, i], return_index=True)
        counts, probabilities = _cell_counts(y[:, i], edges, at_edges[first, i])
        pvalues[i], statistics[i] = _chisquare(counts, probabilities)
    return _Test(pvalues, statistics, "chi-square")


def _enumerated(x: np.ndarray, support: np.ndarray, probabilities: np.ndarray, event_dim: int) -> _Test:
    """Chi-square over a finite support: x (m, n, *event), support (k, n, *event), probabilities (k, n)."""
    equal = x[:, None] == support[None]
    match = equal.reshape(*equal.shape[:3], -1).all(-1) if event_dim else equal
    counts = match.sum(0)  # (k, n)
    outside = x.shape[0] - counts.sum(0)
    pvalues, statistics = np.ones(x.shape[1]), np.zeros(x.shape[1])
    for i in range(x.shape[1]):
        observed = np.append(counts[:, i], outside[i])
        expected = np.append(probabilities[:, i], 0.0)
        if outside[i]:
            pvalues[i], statistics[i] = 0.0, np.inf
        else:
            pvalues[i], statistics[i] = _chisquare(observed[:-1], expected[:-1])
    return _Test(pvalues, statistics, "chi-square (enumerated support)")


def _finite_support(family: Family, params: ParamDict) -> tuple[np.ndarray, np.ndarray] | None:
    if not family.discrete or family.marginals is not None:
        return None
    ref = family.reference(params)
    try:
        support = ref.enumerate_support()
    except NotImplementedError:
        return None
    return support, np.exp(ref.log_prob(support))


def _combine(per_set: np.ndarray) -> float:
    """Independent per-set p-values -> one: twice the smaller of Fisher's and Tippett's combination."""
    if per_set.size == 1:
        return float(per_set[0])
    clipped = np.clip(per_set, 1e-300, 1.0)
    fisher = stats.combine_pvalues(clipped, method="fisher").pvalue
    tippett = stats.combine_pvalues(clipped, method="tippett").pvalue
    return float(min(1.0, 2 * min(fisher, tippett)))


Instantiate = Callable[[ParamDict, torch.dtype, "str | torch.device"], torch.distributions.Distribution]


def draw(family: Family, method: str, params: ParamDict, dtype: torch.dtype, device: str | torch.device,
         size: int, instantiate: Instantiate | None = None) -> torch.Tensor:
    """`size` draws by `method` for every parameter set, shaped (size, n, *event_shape)."""
    build = instantiate or (lambda p, d, dev: family.instantiate(p, d, dev))
    dist = build(params, dtype, device)
    with torch.no_grad():
        return getattr(dist, method)((size,))


def goodness_of_fit(family: Family, method: str, dtype: torch.dtype, device: str | torch.device,
                    rng: np.random.Generator, *, sets: int = PARAMETER_SETS, size: int = SAMPLE_SIZE,
                    alpha: float = ALPHA, instantiate: Instantiate | None = None,
                    params: ParamDict | None = None) -> CheckResult:
    """Test `method` ("sample" or "rsample") of `family` in dtype on device against its reference.

    `instantiate(params, dtype, device)` replaces the registry's constructor (to test a planted fault);
    `params` replaces the random draw of `sets` parameter sets (a planted fault's stated parameters).
    """
    params = family.make_params(rng, sets) if params is None else params
    x = draw(family, method, params, dtype, device, size, instantiate)
    # A NaN draw has no place in a fit: it is left out (with the draws of the other sets beside it) and counted,
    # for `nan_draws` to judge. An infinite one stays: it is how the dtype holds a draw beyond its range.
    nan = torch.isnan(x.reshape(x.shape[0], x.shape[1], -1)).any(-1)
    x = x[~nan.any(1)]
    seen = F.round_to(params, dtype)
    tests: list[tuple[str, _Test]] = []
    finite = _finite_support(family, seen)
    if finite is not None:
        tests.append(("x", _enumerated(x.double().cpu().numpy(), *finite, family.event_dim)))
    else:
        for projection in projections(family, seen, rng):
            law = projection.law(seen)
            if projection.quantile_bins or law.discrete or law.cdf is None:
                test = _binned(projection.apply(x.double(), seen).cpu().numpy(), law)
            else:
                y = projection.apply(x if projection.coordinate else x.double(), seen)
                test = _ks(_pit(y, law, projection.coordinate, rng))
            tests.append((projection.name, test))
    pvalues = np.nan_to_num(np.stack([t.pvalues for _, t in tests]), nan=0.0)  # (projections, sets)
    per_set = np.minimum(1.0, len(tests) * pvalues.min(0))
    j, i = np.unravel_index(np.argmin(pvalues), pvalues.shape)
    name, worst = tests[j]
    pvalue = _combine(per_set)
    passed = bool(pvalue >= alpha)
    return CheckResult(
        f"sampler.{method}", family.name, dtype_name(dtype), passed=passed, compared=1, failures=int(not passed),
        worst={"set": int(i), "projection": name, "test": worst.name, "statistic": float(worst.statistics[i]),
               "nan_draws": int(nan.sum())},
        message=(f"{'fits' if passed else 'does NOT fit'} its reference: p={pvalue:.3g} (alpha={alpha:.3g}); "
                 f"per-set p: {', '.join(f'{p:.3g}' for p in per_set)}"),
        pvalue=pvalue)


def nan_draws(fit: CheckResult) -> CheckResult:
    """The draws a goodness-of-fit result left out for being NaN: any is a failure."""
    count = int(fit.worst.get("nan_draws", 0))
    method = fit.check.removeprefix("sampler.")
    return CheckResult(f"{method}.nan", fit.family, fit.dtype, passed=count == 0, compared=1,
                       failures=int(count > 0), message=f"{count} draws NaN")


def detection_rate(family: Family, method: str, instantiate: Instantiate, seeds: Sequence[int],
                   dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
                   params: ParamDict | None = None) -> float:
    """Share of seeds at which the check rejects the sampler built by `instantiate` (its power)."""
    rejected = 0
    for seed in seeds:
        torch.manual_seed(seed)
        rejected += not goodness_of_fit(family, method, dtype, device, np.random.default_rng(seed),
                                        instantiate=instantiate, params=params).passed
    return rejected / len(seeds)


def false_alarm_sweep(seeds: Sequence[int], dtypes: Sequence[torch.dtype], device: str | torch.device,
                      skip: Callable[[Family, str, torch.dtype], bool] = lambda f, m, d: False
                      ) -> tuple[int, list[CheckResult]]:
    """Run every sampler check at every seed; returns (checks run, the failing results)."""
    from suite.state import derive_seed, preserved_state

    failures, runs = [], 0
    for seed in seeds:
        for family, method in sampler_checks():
            for dtype in dtypes:
                if skip(family, method, dtype):
                    continue
                case_seed = derive_seed("sampler sweep", family.name, method, str(dtype), seed)
                with preserved_state(case_seed):
                    result = goodness_of_fit(family, method, dtype, device, np.random.default_rng(case_seed))
                runs += 1
                if not result.passed:
                    failures.append(result)
    return runs, failures

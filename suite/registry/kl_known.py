"""Known deviations of torch's KL divergences from the float64 references, one per pair deviation, keyed by
pair name ("P-Q", registry family names). A region receives the pair's coordinates: p's scalar parameters
as "p_<name>", q's as "q_<name>", and the smallest element of a vector parameter as "p_min_<name>".
`points` are parameter sets inside the region, put into every draw (see suite.registry.kl.draw_pinned).

Checks: "kl.values" (every pair), "kl.values.infinite" (the pairs whose KL is +inf), "kl.self", the
float64 shape checks "kl.broadcast", "kl.expand", "kl.independent" (torch against itself on a flat batch)
and "kl.grad" (outside the regions of the known deviations of the float64 values).
"""

from __future__ import annotations

import numpy as np

from suite.registry.kl_moments import kl_from_moments
from suite.registry.known import Known, Region, Severity

F32_EPS = float(np.finfo(np.float32).eps)
F64_EPS = float(np.finfo(np.float64).eps)


_LOW_RANK_CANCELLING = {
    "loc": [-0.00887262, 0.92672872, 0.00926342],
    "cov_factor": [[-0.56077829, 0.99733505], [0.36652346, -1.06090225], [-2.18680723, -0.93346578]],
    "cov_diag": [5.06017054, 7.32022274, 0.01]}


def _x_log_x_cancellation(c: dict, factor: str = "q_alpha", offset: float = 1.0) -> np.ndarray:
    """How much (h log h - l log l - (h - l)) / (h - l), times (c[factor] + offset), amplifies rounding errors."""
    high, low = c["p_high"], c["p_low"]
    with np.errstate(all="ignore"):
        return np.abs(c[factor] + offset) * (np.abs(high * np.log(high)) + np.abs(low * np.log(low))) / (high - low)


def _expanded_square_cancels(eps: float, rtol: float) -> Region:
    """Where torch's KL(Laplace || Normal) may be off by more than rtol relative: it expands (p.loc - q.loc)^2
    as p.loc^2 / 2 - p.loc q.loc + q.loc^2 / 2, terms adding up to (|p.loc| + |q.loc|)^2 / 2 that are each
    rounded by eps / 2 and summed with another eps / 2 of them, before the division by q.scale^2. rtol is
    the values check's; its term tolerance is left out, so the region holds every element this can fail (on
    2e6 sets scanned in each dtype the error stayed below 0.47 of the bound, and every failure was inside)."""
    def region(c) -> np.ndarray:
        rounding = eps * (np.abs(c["p_loc"]) + np.abs(c["q_loc"])) ** 2 / (2 * c["q_scale"] ** 2)
        kl, _ = kl_from_moments("Laplace", {"loc": c["p_loc"], "scale": c["p_scale"]},
                                "Normal", {"loc": c["q_loc"], "scale": c["q_scale"]})
        return rounding > rtol * np.abs(kl)
    return region


_VALUES: dict[str, tuple[Known, ...]] = {
    "Wishart-Wishart": (
        Known("kl.values", "KL(Wishart || Wishart) of a batch adds the sum over the whole batch of the df "
              "term to every element (the generic ExponentialFamily KL sums the df natural parameter's term "
              "over its event dims, which a batch-shaped df does not have): off by up to 7e4 at batch 1000; "
              "correct for a batch of one", Severity.WRONG_FLOAT64,
              where="any batch of more than one parameter set"),
        Known("kl.[eg]*", "KL(Wishart || Wishart) of a batch: the df term summed over the batch (as above), "
              "so an expanded batch differs from the unexpanded one, and the gradient is wrong too",
              Severity.WRONG_FLOAT64, dtype="float64", where="any batch of more than one parameter set"),
    ),
    "Binomial-Binomial": (
        Known("kl.values", "KL(Binomial || Binomial) is -inf where p.probs = 1 (the true KL is finite, "
              "n log(1 / q.probs), e.g. 14.5 at n = 2, q.probs = 7e-4): log1p(-p.probs) = -inf",
              Severity.NONFINITE, region=lambda c: c["p_probs"] == 1, where="p.probs = 1",
              points={"p_total_count": [5.0], "q_total_count": [5.0], "p_probs": [1.0], "q_probs": [0.5]}),
        Known("kl.self", "KL(p || p) is NaN for Binomial with probs = 1 (-inf + inf in the log1p(-probs) terms)",
              Severity.NONFINITE,
              region=lambda c: c["p_probs"] == 1, where="p.probs = 1"),
        Known("kl.values.larger_q_total_count", "KL(Binomial || Binomial) raises NotImplementedError where "
              "q.total_count > p.total_count, where the KL is finite (p's support lies inside q's)",
              Severity.RAISES, where="q.total_count > p.total_count"),
    ),
    "Bernoulli-Bernoulli": (
        Known("kl.values", "float32 KL(Bernoulli || Bernoulli) at p.probs = 0 or 1 loses 0.12% relative "
              "where q.probs is near the same end (9.989e-5 for 1.0000e-4 at p = 0, q = 1e-4)",
              Severity.FLOAT32, dtype="float32", region=lambda c: (c["p_probs"] == 0) | (c["p_probs"] == 1),
              where="p.probs = 0 or 1", points={"p_probs": [0.0, 1.0], "q_probs": [1e-4, 1 - 1e-4]}),
    ),
    "Categorical-Categorical": (
        Known("kl.values", "float32 KL(Categorical || Categorical) clamps q's probabilities to [eps, 1 - eps]: "
              "a category of q below 1.2e-7 gives a KL too small by up to 3.2 (4.6 for 7.8)",
              Severity.FLOAT32, dtype="float32", region=lambda c: c["q_min_probs"] < F32_EPS,
              where="a category of q with probability below 1.2e-7",
              points={"p_probs": [[0.2] * 5], "q_probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]}),
    ),
    "OneHotCategorical-OneHotCategorical": (
        Known("kl.values", "float32 KL(OneHotCategorical || OneHotCategorical): as for Categorical, q's "
              "probabilities below 1.2e-7 are clamped: the KL is too small by up to 3.2",
              Severity.FLOAT32, dtype="float32", region=lambda c: c["q_min_probs"] < F32_EPS,
              where="a category of q with probability below 1.2e-7",
              points={"p_probs": [[0.2] * 5], "q_probs": [[1e-9, 0.25, 0.25, 0.25, 0.25 - 1e-9]]}),
    ),
    "ContinuousBernoulli-Uniform": (
        Known("kl.values", "KL(ContinuousBernoulli || Uniform) is +inf where q's support touches [0, 1] "
              "(q.low = 0 or q.high = 1) although [0, 1] lies inside it (it tests q.low >= 0 or q.high <= 1 "
              "for outside): +inf for a finite KL, e.g. 0.273 at probs 0.87, q = Uniform(0, 1.15)",
              Severity.NONFINITE, region=lambda c: (c["q_low"] == 0) | (c["q_high"] == 1),
              where="q.low = 0 or q.high = 1",
              points={"p_probs": [0.3, 0.7], "q_low": [0.0, -0.5], "q_high": [1.5, 1.0]}),
    ),
    "Uniform-ContinuousBernoulli": (
        Known("kl.values", "KL(Uniform || ContinuousBernoulli) is +inf where p's support touches 0 or 1 "
              "(p.low = 0 or p.high = 1) although it lies inside [0, 1] (it tests p.high >= 1 or p.low <= 0 "
              "for outside): +inf for a finite KL, e.g. 0.958 at p = Uniform(0.17, 1), probs 0.028",
              Severity.NONFINITE, region=lambda c: (c["p_low"] == 0) | (c["p_high"] == 1),
              where="p.low = 0 or p.high = 1",
              points={"p_low": [0.0, 0.25], "p_high": [0.5, 1.0], "q_probs": [0.3, 0.7]}),
    ),
    "Gamma-Gumbel": (
        Known("kl.values*", "KL(Gamma || Gumbel) is NaN where exp(q.loc / q.scale) overflows (inf * 0); "
              "the KL there is beyond the largest float (+inf)", Severity.NONFINITE, dtype="float64",
              region=lambda c: c["q_loc"] / c["q_scale"] > 700, where="q.loc / q.scale > 700",
              points={"p_concentration": [160.0], "p_rate": [0.01], "q_loc": [200.0], "q_scale": [0.025]}),
        Known("kl.values*", "float32 KL(Gamma || Gumbel) is NaN where exp(q.loc / q.scale) overflows float32; "
              "the KL there is beyond float32's largest (+inf)", Severity.NONFINITE, dtype="float32",
              region=lambda c: c["q_loc"] / c["q_scale"] > 80, where="q.loc / q.scale > 80",
              points={"p_concentration": [160.0], "p_rate": [0.01], "q_loc": [200.0], "q_scale": [0.025]}),
    ),
    "Uniform-Gumbel": (
        Known("kl.values*", "KL(Uniform || Gumbel) is NaN (inf - inf) where exp((q.loc - p.low) / q.scale) "
              "overflows; the KL there is beyond the largest float (+inf)", Severity.NONFINITE, dtype="float64",
              region=lambda c: (c["q_loc"] - c["p_low"]) / c["q_scale"] > 700,
              where="(q.loc - p.low) / q.scale > 700",
              points={"p_low": [-92.6], "p_high": [-92.59], "q_loc": [0.0], "q_scale": [0.0176]}),
        Known("kl.values*", "float32 KL(Uniform || Gumbel): NaN where exp((q.loc - p.low) / q.scale) overflows "
              "float32, and exp(-a) - exp(-b) cancels for intervals narrow against q.scale: 0.5% off "
              "(1.9005e11 for 1.8921e11)", Severity.FLOAT32, dtype="float32",
              region=lambda c: ((c["q_loc"] - c["p_low"]) / c["q_scale"] > 80)
              | ((c["p_high"] - c["p_low"]) / c["q_scale"] < 1e-2),
              where="(q.loc - p.low) / q.scale > 80, or p.high - p.low < q.scale / 100",
              points={"p_low": [-92.6], "p_high": [-92.59], "q_loc": [0.0], "q_scale": [0.0176]}),
    ),
    "Uniform-Gamma": (
        Known("kl.values", "float32 KL(Uniform || Gamma): (x log x at high - at low) / width cancels for "
              "narrow intervals, times (concentration - 1): 6.347 for 6.215 at Uniform(4.0827, 4.0847), "
              "concentration 1000", Severity.FLOAT32, dtype="float32",
              region=lambda c: _x_log_x_cancellation(c, "q_concentration", -1.0) * F32_EPS > 1e-3,
              where="eps |concentration - 1| (|h log h| + |l log l|) / (h - l) > 1e-3",
              points={"p_low": [4.0827], "p_high": [4.0847], "q_concentration": [1000.0], "q_rate": [256.6]}),
    ),
    "Uniform-Pareto": (
        Known("kl.values", "float32 KL(Uniform || Pareto): log(q.alpha * q.scale ** q.alpha * (p.high - p.low)) "
              "over- or underflows float32 (+-inf for a finite KL, e.g. 89.0 at scale 0.029, alpha 52, and -inf "
              "for 279.5 at Uniform(7.6, 1007.6), scale 3.59, alpha 60.9), and x log x cancels for narrow "
              "intervals: 8.650 for 8.725", Severity.FLOAT32, dtype="float32",
              region=lambda c: (np.abs(c["q_alpha"] * np.log(c["q_scale"])) > 80)
              | (c["q_alpha"] * np.log(c["q_scale"]) + np.log(c["q_alpha"] * (c["p_high"] - c["p_low"])) > 80)
              | (_x_log_x_cancellation(c) * F32_EPS > 1e-3),
              where="|q.alpha log q.scale| > 80, or the log's argument above 1e35, or x log x cancelling: "
                    "eps (q.alpha + 1) (|h log h| + |l log l|) / (h - l) > 1e-3",
              points={"p_low": [0.1611, 37.2141, 7.6156], "p_high": [0.1664, 37.2151, 1007.6156],
                      "q_scale": [0.0292, 37.2141, 3.5947], "q_alpha": [51.9, 6.0, 60.89]}),
        Known("kl.values", "float64 KL(Uniform || Pareto): x log x cancels for narrow intervals as in float32, "
              "times q.alpha + 1: 9.006171819 for 9.006171715 at Uniform(799.2286, 799.2296), alpha 100",
              Severity.WRONG_FLOAT64, dtype="float64",
              region=lambda c: _x_log_x_cancellation(c) * F64_EPS > 1e-8,
              where="eps (q.alpha + 1) (|h log h| + |l log l|) / (h - l) > 1e-8 (float64 eps)",
              points={"p_low": [799.2286169041708], "p_high": [799.2296169041708], "q_scale": [799.06977479738],
                      "q_alpha": [100.0]}),
    ),
    "LowRankMultivariateNormal-LowRankMultivariateNormal": (
        Known(("kl.values", "kl.self"), "float32 KL of LowRankMultivariateNormal goes through the Woodbury "
              "form, whose terms are of size |cov_factor|^2 / cov_diag and cancel: KL(p || p) = -6.1e-5 (one "
              "float32 ulp of 500) at a cov_diag element of 0.01", Severity.FLOAT32, dtype="float32",
              region=lambda c: c["q_min_cov_diag"] < 0.02, where="the smallest cov_diag element below 0.02",
              points={f"{side}_{name}": [value] for side in "pq"
                      for name, value in _LOW_RANK_CANCELLING.items()}),
    ),
    "Geometric-Geometric": (
        Known("kl.*", "float32 KL(Geometric || Geometric) for p.probs < 5e-3: terms of size 1/p.probs "
              "cancel: 0.2598 for 0.2609, and -0.0036 for KL(p || p) at probs 1e-4",
              Severity.FLOAT32, dtype="float32", region=lambda c: c["p_probs"] < 5e-3, where="p.probs < 5e-3",
              points={"p_probs": [1e-4], "q_probs": [1e-4]}),
    ),
    "Exponential-Gumbel": (
        Known("kl.values", "float32 KL(Exponential || Gumbel) is +inf where exp(q.loc / q.scale) overflows "
              "float32 but the KL does not (9.9e37 at q.loc / q.scale = 87.5)", Severity.FLOAT32, dtype="float32",
              region=lambda c: c["q_loc"] / c["q_scale"] > 80, where="q.loc / q.scale > 80",
              points={"p_rate": [15.96], "q_loc": [898.4], "q_scale": [10.268]}),
        Known("kl.values", "float64 KL(Exponential || Gumbel) is +inf where exp(q.loc / q.scale) overflows "
              "float64 but the KL does not (9.7e306 at q.loc / q.scale = 712.7)", Severity.NONFINITE,
              dtype="float64", region=lambda c: c["q_loc"] / c["q_scale"] > 700, where="q.loc / q.scale > 700",
              points={"p_rate": [0.5189378], "q_loc": [4.2324609], "q_scale": [0.0059390235]}),
    ),
    "Laplace-Normal": (
        Known("kl.values", "float32 KL(Laplace || Normal) expands (p.loc - q.loc)^2 into terms of size "
              "(|p.loc| + |q.loc|)^2 / 2 that cancel when the locs are close against q.scale: 5.109 for 0.726 at "
              "Laplace(100, 0.01) || Normal(100.01, 0.01), -31250 for 0.703 at locs 1000 and 1000.001, scales "
              "1e-3, 4.5012 for 4.4966 at locs -282.05 and -282.87, q.scale 1.0", Severity.FLOAT32,
              dtype="float32", region=_expanded_square_cancels(F32_EPS, 1e-3),
              where="eps (|p.loc| + |q.loc|)^2 / (2 q.scale^2) above 1e-3 of the KL",
              points={"p_loc": [100.0], "p_scale": [0.01], "q_loc": [100.01], "q_scale": [0.01]}),
        Known("kl.values", "float64 KL(Laplace || Normal): the expanded square cancels as in float32: "
              "0.72579516 for 0.72579135 at Laplace(1000, 1e-3) || Normal(1000.001, 1e-3)",
              Severity.WRONG_FLOAT64, dtype="float64", region=_expanded_square_cancels(F64_EPS, 1e-8),
              where="eps (|p.loc| + |q.loc|)^2 / (2 q.scale^2) above 1e-8 of the KL (float64 eps)",
              points={"p_loc": [1000.0], "p_scale": [1e-3], "q_loc": [1000.001], "q_scale": [1e-3]}),
    ),
    "Uniform-Beta": (
        Known("kl.values", "float32 KL(Uniform || Beta): x log x differences cancel over a narrow interval, "
              "times (concentration - 1): 10.023 for 9.987 at Uniform(0.0068, 0.0079), Beta(0.26, 1000)",
              Severity.FLOAT32, dtype="float32",
              region=lambda c: (c["p_high"] - c["p_low"] < 0.05)
              & (np.maximum(c["q_concentration1"], c["q_concentration0"]) > 100),
              where="p.high - p.low < 0.05 and a concentration of q above 100",
              points={"p_low": [0.0067796], "p_high": [0.0078663], "q_concentration1": [0.25864],
                      "q_concentration0": [1000.0]}),
    ),
}

_VALUES["ContinuousBernoulli-Normal"] = (
    Known("kl.values", "KL(ContinuousBernoulli || Normal) in float64 near probs = 1/2 inherits "
          "ContinuousBernoulli's float64 variance error there, times 1 / q.scale^2: 1.1e-8 relative "
          "(613.74739127 for 613.74739753 at probs 0.50115, q = Normal(0.3, 0.01))", Severity.WRONG_FLOAT64,
          dtype="float64", region=lambda c: np.abs(c["p_probs"] - 0.5) < 0.02, where="|p.probs - 1/2| < 0.02",
          points={"p_probs": [0.50115, 0.4987, 0.4983], "q_loc": [0.3, 0.3, -0.0018486],
                  "q_scale": [0.01, 0.01, 0.0072344]}),
)

_BROADCAST_SHAPE: dict[str, tuple[Known, ...]] = {
    **{pair: (Known("kl.broadcast", f"KL({pair.replace('-', ' || ')}) returns p's batch shape, not the batch "
                    "shape p and q broadcast to (a (3, 1) p against a (1, 4) q gives (3, 1) +inf, not (3, 4))",
                    Severity.RAISES, dtype="float64", where="p and q of different batch shapes"),)
       for pair in ("Beta-Pareto", "ContinuousBernoulli-Pareto", "Exponential-Beta", "Exponential-ContinuousBernoulli",
                    "Exponential-Pareto", "Exponential-Uniform", "Gamma-Beta", "Gamma-ContinuousBernoulli",
                    "Gamma-Pareto", "Gamma-Uniform", "Gumbel-Beta", "Gumbel-ContinuousBernoulli",
                    "Gumbel-Exponential", "Gumbel-Gamma", "Gumbel-Pareto", "Gumbel-Uniform", "Laplace-Beta",
                    "Laplace-ContinuousBernoulli", "Laplace-Exponential", "Laplace-Gamma", "Laplace-Pareto",
                    "Laplace-Uniform", "Normal-Beta", "Normal-ContinuousBernoulli", "Normal-Exponential",
                    "Normal-Gamma", "Normal-Pareto", "Normal-Uniform", "Pareto-Beta", "Pareto-ContinuousBernoulli",
                    "Pareto-Uniform", "Poisson-Bernoulli", "Poisson-Binomial")},
}

_BROADCAST_INDEX: dict[str, tuple[Known, ...]] = {
    **{pair: (Known("kl.broadcast", f"KL({pair.replace('-', ' || ')}) raises IndexError when p and q have "
                    "different batch shapes: it sets +inf through a mask of one argument's batch shape "
                    "(result[mask] = inf)", Severity.RAISES, dtype="float64",
                    where="p and q of different batch shapes"),)
       for pair in ("Bernoulli-Bernoulli", "Beta-Uniform", "Pareto-Exponential", "Pareto-Gamma", "Pareto-Normal",
                    "Uniform-Beta", "Uniform-Exponential", "Uniform-Gamma")},
}

_CONTINUOUS_BERNOULLI_FLOAT32: dict[str, tuple[Known, ...]] = {
    **{pair: (Known("kl.values", f"float32 KL({pair.replace('-', ' || ')}) inherits ContinuousBernoulli's "
                    f"float32 mean and variance near probs = 1/2 (outside torch's Taylor window 0.499-0.501, "
                    f"where (2p - 1) cancels): {size}", Severity.FLOAT32, dtype="float32",
                    region=lambda c: np.abs(c["p_probs"] - 0.5) < 0.03, where="|p.probs - 1/2| < 0.03",
                    points={"p_probs": [0.4983, 0.5016]}),)
       for pair, size in (("ContinuousBernoulli-ContinuousBernoulli", "0.1473 for 0.1464"),
                          ("ContinuousBernoulli-Exponential", "1.4229 for 1.4259"),
                          ("ContinuousBernoulli-Normal", "6.44 for 4.22, up to 7e5 off at q.scale 1e-3"))},
}


def _merged(*tables: dict[str, tuple[Known, ...]]) -> dict[str, tuple[Known, ...]]:
    merged: dict[str, tuple[Known, ...]] = {}
    for table in tables:
        for pair, known in table.items():
            merged[pair] = merged.get(pair, ()) + known
    return merged


KNOWN = _merged(_VALUES, _BROADCAST_SHAPE, _BROADCAST_INDEX, _CONTINUOUS_BERNOULLI_FLOAT32)

"""KL divergence: one entry per pair type registered in torch.distributions.kl, with its float64 reference,
how its parameter pairs are drawn, and the known deviations of torch's KL for that pair.

Parameters come from the family registry's generators, adjusted per pair so that a share of the pairs has
p's support inside q's (a finite KL, with supports that touch exactly) and a share does not (+inf).
Registered pair types that are abstract or generic are checked on the registry family that dispatches to
them: (ExponentialFamily, ExponentialFamily) on Wishart (the one family without a KL of its own that is an
exponential family), (TransformedDistribution, TransformedDistribution) on the registry's
shift + factor * exp(Normal) with p and q sharing the transforms, (Independent, Independent) on the
registry's Independent(Normal, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch.distributions as D
from torch.distributions.kl import _KL_REGISTRY

from suite.registry import kl_closed as C
from suite.registry import params as P
from suite.registry.families import REGISTRY
from suite.registry.kl_known import KNOWN
from suite.registry.kl_moments import kl_from_moments
from suite.registry.known import Known, pin_rows

Params = dict
Draw = Callable[[np.random.Generator, int], tuple[Params, Params]]
Reference = Callable[[Params, Params], tuple[np.ndarray, np.ndarray]]

# The registry family a registered pair type is checked on, where its class name is not a family's.
FAMILY_OF_TYPE = {"ExponentialFamily": "Wishart"}
# Binomial pairs are summed exactly over k = 0..total_count; counts stay below this to keep the sum small.
MAX_BINOMIAL_COUNT = 200
# The check of Binomial pairs whose q.total_count exceeds p's (torch raises there).
BINOMIAL_LARGER_Q_COUNT = "kl.values.larger_q_total_count"


@dataclass(frozen=True)
class KlPair:
    p: str
    q: str
    reference: Reference
    method: str
    draw: Draw
    known: tuple[Known, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.p}-{self.q}"

    @property
    def p_family(self):
        return REGISTRY[self.p]

    @property
    def q_family(self):
        return REGISTRY[self.q]


def _rows(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return rng.permutation(n)[: int(share * n)]


def _independent(p: str, q: str, adjust: Callable | None = None) -> Draw:
    def draw(rng: np.random.Generator, n: int) -> tuple[Params, Params]:
        pp, qp = REGISTRY[p].make_params(rng, n), REGISTRY[q].make_params(rng, n)
        if adjust is not None:
            adjust(rng, pp, qp)
        return pp, qp
    return draw


def _quarters(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    idx = rng.permutation(n)
    k = n // 4
    return [idx[:k], idx[k:2 * k], idx[2 * k:3 * k]]


def _unit_uniform_q(rng, pp, qp):
    """q = Uniform around [0, 1]: exactly [0, 1], strictly wider, touching at 0; the rest as drawn."""
    exact, wider, touching = _quarters(rng, len(qp["low"]))
    qp["low"][exact], qp["high"][exact] = 0.0, 1.0
    qp["low"][wider], qp["high"][wider] = -rng.uniform(0, 2, wider.size), 1 + rng.uniform(0, 2, wider.size)
    qp["low"][touching], qp["high"][touching] = 0.0, 1 + rng.uniform(0, 2, touching.size)


def _uniform_p_inside(lo_q: Callable[[Params], np.ndarray], hi_q: Callable[[Params], np.ndarray] | None):
    """p = Uniform inside q's support [lo, hi] (hi None: a half-line): touching lo, inside, touching hi."""
    def adjust(rng, pp, qp):
        n = len(pp["low"])
        lo = np.broadcast_to(lo_q(qp), (n,))
        touching_lo, inside, touching_hi = _quarters(rng, n)
        if hi_q is None:
            width = pp["high"] - pp["low"]
            for rows, start in ((touching_lo, lo), (inside, lo * (1 + rng.uniform(0, 1, n)) + rng.uniform(0, 1, n)),
                                (touching_hi, lo + np.abs(pp["low"]))):
                pp["low"][rows] = start[rows]
                pp["high"][rows] = start[rows] + width[rows]
            return
        hi = np.broadcast_to(hi_q(qp), (n,))
        u = np.sort(rng.uniform(0, 1, (2, n)), axis=0)
        span = hi - lo
        pp["low"][touching_lo], pp["high"][touching_lo] = lo[touching_lo], (lo + u[1] * span)[touching_lo]
        pp["low"][inside], pp["high"][inside] = (lo + u[0] * span)[inside], (lo + u[1] * span)[inside]
        pp["low"][touching_hi], pp["high"][touching_hi] = (lo + u[0] * span)[touching_hi], hi[touching_hi]
    return adjust


def _uniform_uniform(rng, pp, qp):
    same, inside, _ = _quarters(rng, len(pp["low"]))
    pp["low"][same], pp["high"][same] = qp["low"][same], qp["high"][same]
    u = np.sort(rng.uniform(0, 1, (2, len(pp["low"]))), axis=0)
    width = qp["high"] - qp["low"]
    pp["low"][inside] = (qp["low"] + u[0] * width)[inside]
    pp["high"][inside] = (qp["low"] + u[1] * width)[inside]


def _pareto_pareto(rng, pp, qp):
    equal, above, _ = _quarters(rng, len(pp["scale"]))
    pp["scale"][equal] = qp["scale"][equal]
    pp["scale"][above] = qp["scale"][above] * (1 + rng.uniform(0, 3, above.size))


def _with_certain_probs(rng, pp, qp=None):
    """Probabilities exactly 0 and 1 in some rows of p (and of q, where q is Bernoulli too)."""
    for params in (pp, qp):
        if params is not None and "probs" in params:
            rows = _rows(rng, len(params["probs"]), 0.1)
            params["probs"][rows] = rng.integers(0, 2, rows.size).astype(float)


def _with_zero_categories(rng, pp, qp):
    """A category of probability 0: in p only, in q only (KL +inf), and in both."""
    n, k = pp["probs"].shape
    p_only, q_only, both = _quarters(rng, n)
    for rows, targets in ((p_only, (pp,)), (q_only, (qp,)), (both[: both.size // 2], (pp, qp))):
        column = rng.integers(0, k, rows.size)
        for params in targets:
            params["probs"][rows, column] = 0.0
            params["probs"][rows] /= params["probs"][rows].sum(-1, keepdims=True)


def _binomials(rng: np.random.Generator, n: int) -> tuple[Params, Params]:
    count_p = P.counts(rng, n, 1, MAX_BINOMIAL_COUNT)
    count_q = count_p.copy()
    fewer = _rows(rng, n, 0.1)  # q.total_count < p.total_count: +inf (q.total_count > p's raises, see KNOWN)
    count_q[fewer] = np.maximum(count_p[fewer] - rng.integers(1, 5, fewer.size), 0)
    pp = {"total_count": count_p, "probs": P.probability(rng, n)}
    qp = {"total_count": count_q, "probs": P.probability(rng, n)}
    _with_certain_probs(rng, pp)
    return pp, qp


def _shared_transforms(rng, pp, qp):
    qp["shift"], qp["factor"] = pp["shift"], pp["factor"]


def _transformed_base(p: Params, q: Params):
    return C.normal_normal({"loc": p["loc"], "scale": p["scale"]}, {"loc": q["loc"], "scale": q["scale"]})


def _independent_sum(p: Params, q: Params):
    value, scale = C.normal_normal(p, q)
    return value.sum(-1), scale.sum(-1)


CONTINUOUS = ("Normal", "Laplace", "Gumbel", "Exponential", "Gamma", "Beta", "Pareto", "Uniform",
              "ContinuousBernoulli")
SAME_FAMILY_CLOSED: dict[str, Reference] = {
    "Normal": C.normal_normal, "HalfNormal": C.halfnormal_halfnormal, "Exponential": C.exponential_exponential,
    "Gamma": C.gamma_gamma, "Beta": C.beta_beta, "Laplace": C.laplace_laplace, "Cauchy": C.cauchy_cauchy,
    "Uniform": C.uniform_uniform, "Bernoulli": C.bernoulli_bernoulli, "Categorical": C.categorical_categorical,
    "OneHotCategorical": C.categorical_categorical, "Geometric": C.geometric_geometric,
    "Poisson": C.poisson_poisson, "Dirichlet": C.dirichlet_dirichlet, "Wishart": C.wishart_wishart,
}
GAUSSIANS = ("MultivariateNormal", "LowRankMultivariateNormal")
ADJUST: dict[tuple[str, str], Callable] = {
    ("Beta", "Uniform"): _unit_uniform_q, ("ContinuousBernoulli", "Uniform"): _unit_uniform_q,
    ("Uniform", "Beta"): _uniform_p_inside(lambda q: 0.0, lambda q: 1.0),
    ("Uniform", "ContinuousBernoulli"): _uniform_p_inside(lambda q: 0.0, lambda q: 1.0),
    ("Uniform", "Exponential"): _uniform_p_inside(lambda q: 0.0, None),
    ("Uniform", "Gamma"): _uniform_p_inside(lambda q: 0.0, None),
    ("Uniform", "Pareto"): _uniform_p_inside(lambda q: q["scale"], None),
    ("Uniform", "Uniform"): _uniform_uniform, ("Pareto", "Pareto"): _pareto_pareto,
    ("Bernoulli", "Bernoulli"): _with_certain_probs, ("Bernoulli", "Poisson"): _with_certain_probs,
    ("Categorical", "Categorical"): _with_zero_categories,
    ("OneHotCategorical", "OneHotCategorical"): _with_zero_categories,
    ("TransformedDistribution", "TransformedDistribution"): _shared_transforms,
}
# Pairs whose supports never nest whatever the parameters: p unbounded above or below against a bounded q.
NEVER_INSIDE = {("Poisson", "Bernoulli"), ("Poisson", "Binomial")}


def _entry(p_type: str, q_type: str) -> KlPair:
    p, q = FAMILY_OF_TYPE.get(p_type, p_type), FAMILY_OF_TYPE.get(q_type, q_type)
    draw = _independent(p, q, ADJUST.get((p, q)))
    if (p, q) in NEVER_INSIDE:
        reference, method = C.always_infinite, "+inf: p's support is never inside q's"
    elif p == q and p in SAME_FAMILY_CLOSED:
        reference, method = SAME_FAMILY_CLOSED[p], "closed form"
    elif p in CONTINUOUS and q in CONTINUOUS:
        reference, method = _moments_reference(p, q), "-H(p) + E_p[-log q] from p's moments"
    elif p in GAUSSIANS and q in GAUSSIANS:
        reference, method = C.gaussian_gaussian, "closed form (dense covariances)"
    elif (p, q) == ("Binomial", "Binomial"):
        reference, method, draw = C.binomial_binomial, "exact sum over the support", _binomials
    elif (p, q) == ("Bernoulli", "Poisson"):
        reference, method = C.bernoulli_poisson, "exact sum over the support"
    elif p == q == "Independent":
        reference, method = _independent_sum, "sum over the event of the Normal closed form"
    elif p == q == "TransformedDistribution":
        reference, method = _transformed_base, "KL of the base Normals (invariant under shared bijections)"
    else:
        raise KeyError(f"no KL reference for ({p_type}, {q_type})")
    return KlPair(p, q, reference, method, draw, KNOWN.get(f"{p}-{q}", ()))


def _moments_reference(p: str, q: str) -> Reference:
    def reference(pp: Params, qp: Params):
        return kl_from_moments(p, pp, q, qp)
    return reference


def draw_pinned(pair: KlPair, rng: np.random.Generator, n: int) -> tuple[Params, Params]:
    """The pair's draw with its leading rows replaced by the parameter sets of its known deviations' regions,
    so that every seed reaches every region."""
    pp, qp = pair.draw(rng, n)
    flat = {**{f"p_{k}": v for k, v in pp.items()}, **{f"q_{k}": v for k, v in qp.items()}}
    flat = pin_rows(flat, pair.known)
    return ({k: flat[f"p_{k}"] for k in pp}, {k: flat[f"q_{k}"] for k in qp})


def registered_pair_types() -> list[tuple[str, str]]:
    """Every (p, q) class-name pair torch registers a KL for, read at run time."""
    return sorted((p.__name__, q.__name__) for p, q in _KL_REGISTRY)


def pair_for(p_type: str, q_type: str) -> KlPair:
    return _entry(p_type, q_type)


def missing_references() -> list[tuple[str, str]]:
    missing = []
    for p_type, q_type in registered_pair_types():
        try:
            _entry(p_type, q_type)
        except KeyError:
            missing.append((p_type, q_type))
    return missing


PAIRS: dict[str, KlPair] = {}
for _p, _q in registered_pair_types():
    try:
        _pair = _entry(_p, _q)
    except KeyError:
        continue
    PAIRS[_pair.name] = _pair


def family_pairs_without_kl(families=None) -> list[tuple[str, str]]:
    """Pairs of registry families for which torch dispatches to no KL function at all."""
    from suite.registry.families import FAMILIES
    families = FAMILIES if families is None else families
    classes = {f.name: type(f.example(2)) for f in families}
    return [(f, g) for f in classes for g in classes
            if D.kl._dispatch_kl(classes[f], classes[g]) is NotImplemented]

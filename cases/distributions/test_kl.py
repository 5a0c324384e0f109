"""KL divergence of every pair type registered in torch.distributions.kl against its float64 reference,
on >= 1000 parameter pairs per pair in one batched call; +inf outside the support, self-divergence,
batch shapes and gradients. A case runs the checks of one pair and judges each; it fails if one fails."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as D

from suite.checks.kl import (
    check_kl_broadcast,
    check_kl_expand,
    check_kl_independent,
    check_kl_infinite_outside_support,
    check_kl_self_zero,
    check_kl_values,
    coordinates,
)
from suite.checks.kl_grad import check_kl_grad
from suite.checks.result import CheckResult
from suite.conformance import expect
from suite.registry.families import REGISTRY, dtype_name
from suite.registry.kl import (
    BINOMIAL_LARGER_Q_COUNT,
    PAIRS,
    KlPair,
    draw_pinned,
    family_pairs_without_kl,
    missing_references,
)
from suite.registry.known import matching
from suite.verdict import FAIL, PASS, XFAIL, Verdict, judge

N_PARAMETER_PAIRS = 1000
PAIR_CASES = [pytest.param(pair, id=name) for name, pair in PAIRS.items()]


def verdict_of(pair: KlPair, results: list[CheckResult]) -> Verdict:
    """Each result judged against the pair's known deviations for its check and dtype; fail if one fails,
    xfail if one is a known deviation, else pass."""
    verdicts = [judge(r, matching(pair.known, r.check, r.dtype)) for r in results]
    for status in (FAIL, XFAIL):
        chosen = [v.message for v in verdicts if v.status == status]
        if chosen:
            return Verdict(status, " || ".join(chosen))
    return Verdict(PASS, " || ".join(v.message for v in verdicts))


def test_every_registered_pair_has_a_reference():
    assert not missing_references(), f"KL pairs registered in torch without a reference: {missing_references()}"


def test_pairs_without_a_registered_kl_raise_not_implemented():
    """Every pair of registry families either has a KL or raises NotImplementedError: those torch dispatches
    to no function at all, and those whose generic function (ExponentialFamily, TransformedDistribution,
    Independent) does not apply (different families, different transforms or reinterpreted dims)."""
    without = set(family_pairs_without_kl())
    examples = {name: REGISTRY[name].example(2) for name in REGISTRY}
    examples["Independent (2 dims)"] = D.Independent(D.Normal(torch.zeros(2, 3), torch.ones(2, 3)), 2)
    raised, wrong = set(), []
    for p in examples:
        for q in examples:
            try:
                D.kl_divergence(examples[p], examples[q])
            except NotImplementedError:
                raised.add((p, q))
            except Exception as error:  # noqa: BLE001 - anything but NotImplementedError is wrong here
                wrong.append((p, q, type(error).__name__))
    assert not wrong, f"pairs raising something other than NotImplementedError: {wrong[:10]}"
    assert without and without <= raised, f"pairs without a KL that returned a value: {sorted(without - raised)}"
    assert ("Independent", "Independent (2 dims)") in raised and ("Normal", "Bernoulli") in raised


@pytest.mark.parametrize("pair", PAIR_CASES)
def test_kl_values_infinities_and_self_divergence(pair, dtype, device, rng):
    """Values against the reference; +inf exactly where p's support is not inside q's; KL(p || p) = 0."""
    pp, qp = draw_pinned(pair, rng, N_PARAMETER_PAIRS)
    results = [check_kl_values(pair, pp, qp, dtype, device)]
    if results[0].ok is not None:
        infinite = check_kl_infinite_outside_support(pair, pp, qp, dtype, device)
        if infinite.compared:  # the draw holds pairs with KL = +inf
            results.append(infinite)
    if pair.p == pair.q:
        results.append(check_kl_self_zero(pair, pp, dtype, device))
    expect(verdict_of(pair, results))


@pytest.mark.parametrize("pair", PAIR_CASES)
def test_kl_batch_shapes(pair, device, rng):
    """Broadcast batches of p and q, expanded batches, and Independent over the last batch dim."""
    pp, qp = draw_pinned(pair, rng, N_PARAMETER_PAIRS)
    expect(verdict_of(pair, [check(pair, pp, qp, torch.float64, device)
                             for check in (check_kl_broadcast, check_kl_expand, check_kl_independent)]))


@pytest.mark.parametrize("pair", PAIR_CASES)
def test_kl_gradient_matches_finite_differences_of_the_reference(pair, rng):
    """At parameter sets outside the regions of the known deviations of the float64 values."""
    pp, qp = draw_pinned(pair, rng, N_PARAMETER_PAIRS)
    outside = ~known_value_regions(pair, pp, qp)
    pp, qp = ({k: v if isinstance(v, int) else v[outside] for k, v in params.items()} for params in (pp, qp))
    with np.errstate(all="ignore"):
        if not np.isfinite(pair.reference(pp, qp)[0]).any():
            pytest.skip("the KL is +inf for every parameter pair: p's support is never inside q's")
    expect(verdict_of(pair, [check_kl_grad(pair, pp, qp, rng)]))


def known_value_regions(pair: KlPair, pp: dict, qp: dict) -> np.ndarray:
    coords = coordinates(pp, qp)
    n = len(next(iter(coords.values())))
    inside = np.zeros(n, dtype=bool)
    for known in matching(pair.known, "kl.values", "float64"):
        if known.region is not None:
            inside |= known.inside(coords, (n,))
    return inside


def test_binomial_kl_with_a_larger_q_total_count(device, rng):
    """Finite (p's support {0..n_p} lies inside q's), but torch raises NotImplementedError: a known deviation."""
    pair = PAIRS["Binomial-Binomial"]
    pp, qp = pair.draw(rng, N_PARAMETER_PAIRS)
    qp["total_count"] = pp["total_count"] + 1
    result = check_kl_values(pair, pp, qp, torch.float64, device, check=BINOMIAL_LARGER_Q_COUNT)
    expect(judge(result, matching(pair.known, result.check, dtype_name(torch.float64))))

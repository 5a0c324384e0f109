"""The float64 KL references of the univariate continuous pairs (closed forms from p's moments, and the
same-family closed forms) agree with numerical integration of the densities (scipy.integrate.tanhsinh),
on 24 parameter sets per pair where the KL is finite; and a reference that is off fails this check."""

from __future__ import annotations

import numpy as np
import pytest

from suite.registry.kl import PAIRS, KlPair, draw_pinned
from suite.registry.kl_quadrature import FROZEN, kl_by_quadrature

N_SETS = 24
UNIVARIATE = [pytest.param(pair, id=name) for name, pair in PAIRS.items()
              if pair.p in FROZEN and pair.q in FROZEN and "inf" not in pair.method]


def disagreement(pair: KlPair, pp: dict, qp: dict, reference=None) -> tuple[np.ndarray, int]:
    """Sets where the reference and the quadrature disagree beyond 1e-7 relative or 1e-10 of the terms'
    magnitude (the quadrature's own accuracy), among the finite sets where tanh-sinh converged."""
    value, magnitude = (reference or pair.reference)(pp, qp)
    finite = np.flatnonzero(np.isfinite(value) & (np.abs(value) < 1e12))[:N_SETS]
    pick = {k: np.asarray(v)[finite] for k, v in pp.items()}, {k: np.asarray(v)[finite] for k, v in qp.items()}
    integral, converged = kl_by_quadrature(pair.p, pick[0], pair.q, pick[1])
    with np.errstate(all="ignore"):
        bad = converged & (np.abs(integral - value[finite]) > 1e-7 * np.abs(value[finite]) + 1e-10 * magnitude[finite])
    return bad, int(converged.sum())


@pytest.mark.parametrize("pair", UNIVARIATE)
def test_reference_agrees_with_numerical_integration(pair, rng):
    pp, qp = draw_pinned(pair, rng, 1000)
    bad, converged = disagreement(pair, pp, qp)
    # tanh-sinh does not converge where the integrand is singular at an end (concentrations near 0.1)
    assert converged >= bad.size / 3, f"tanh-sinh converged on only {converged} of {bad.size} sets"
    assert not bad.any(), f"{int(bad.sum())} of {converged} sets disagree with the quadrature"


def test_a_reference_off_by_a_factor_disagrees_with_numerical_integration(rng):
    pair = PAIRS["Gamma-Normal"]
    pp, qp = draw_pinned(pair, rng, 1000)

    def wrong(p, q):
        value, magnitude = pair.reference(p, q)
        return value * (1 + 1e-5), magnitude
    bad, converged = disagreement(pair, pp, qp, wrong)
    assert bad.sum() > converged // 2

"""Parameter generators that cover the whole parameter space: bulk, tiny and huge values, edges."""

from __future__ import annotations

import numpy as np

EDGE_FRACTION = 0.1  # share of parameter sets placed exactly at each end of a range


def _with_edges(rng: np.random.Generator, values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Put EDGE_FRACTION of the sets at `lo` and as many at `hi`, in shuffled positions."""
    n = values.shape[0]
    k = max(1, int(EDGE_FRACTION * n)) if n >= 10 else 0
    idx = rng.permutation(n)
    values[idx[:k]] = lo
    values[idx[k : 2 * k]] = hi
    return values


def log_uniform(rng: np.random.Generator, n: int, lo: float, hi: float, edges: bool = True) -> np.ndarray:
    """Positive values spread evenly in log scale over [lo, hi]."""
    values = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
    return _with_edges(rng, values, lo, hi) if edges else values


def real(rng: np.random.Generator, n: int, magnitude: float = 1e3) -> np.ndarray:
    """Real values of both signs, magnitudes from 1e-3 up to `magnitude`, plus zeros."""
    values = np.sign(rng.uniform(-1, 1, size=n)) * log_uniform(rng, n, 1e-3, magnitude, edges=False)
    values[rng.permutation(n)[: max(1, n // 20)]] = 0.0
    return values


def probability(rng: np.random.Generator, n: int, min_prob: float = 1e-4) -> np.ndarray:
    """Probabilities from min_prob to 1 - min_prob, even in logit scale, edges included."""
    bound = np.log((1 - min_prob) / min_prob)
    values = _with_edges(rng, 1.0 / (1.0 + np.exp(-rng.uniform(-bound, bound, size=n))), min_prob, 1 - min_prob)
    # Closed forms that divide by 2p - 1 (ContinuousBernoulli) need points close to p = 1/2.
    near_half = rng.permutation(n)[: max(1, n // 20)]
    values[near_half] = 0.5 + rng.uniform(-2e-3, 2e-3, size=near_half.size)
    return values


def counts(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Integer counts spread evenly in log scale over [lo, hi], returned as floats."""
    return np.round(log_uniform(rng, n, lo, hi)).astype(np.float64)


def simplex(rng: np.random.Generator, n: int, k: int, min_concentration: float = 0.3) -> np.ndarray:
    """Probability vectors from flat to nearly one-hot (Dirichlet with varied concentration)."""
    conc = log_uniform(rng, n, min_concentration, 30.0)[:, None] * np.ones((1, k))
    probs = rng.gamma(conc) + 1e-12
    return probs / probs.sum(-1, keepdims=True)


def spd_matrix(rng: np.random.Generator, n: int, d: int, max_condition: float = 1e3) -> np.ndarray:
    """Symmetric positive-definite matrices with condition numbers up to max_condition."""
    q, _ = np.linalg.qr(rng.normal(size=(n, d, d)))
    log_cond = np.log(log_uniform(rng, n, 1.0, max_condition))
    eig = np.exp(rng.uniform(0, 1, size=(n, d)) * log_cond[:, None])
    eig *= log_uniform(rng, n, 1e-2, 1e2)[:, None]
    cov = q @ (eig[..., None] * np.swapaxes(q, -1, -2))
    return 0.5 * (cov + np.swapaxes(cov, -1, -2))

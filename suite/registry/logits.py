"""Exact log-probabilities in terms of logits, for the logits parameterisation at any magnitude.

Each takes the parameters (with "logits" in place of "probs", a leading axis of n sets) and points x shaped
(m, n, *event), and works in log space throughout (log_expit, log_softmax), so logits of hundreds lose
nothing. The conventions are torch's (Geometric counts failures, NegativeBinomial's logits are those of
the counted event).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special, stats


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    return special.log_softmax(logits, axis=-1)


def _times(count: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """count * log_p with 0 * -inf = 0: an impossible event that does not occur costs nothing."""
    with np.errstate(invalid="ignore"):
        return np.where(count == 0, 0.0, count * log_p)


def bernoulli(p: Mapping, x: np.ndarray) -> np.ndarray:
    l = p["logits"]  # noqa: E741
    return _times(x, special.log_expit(l)) + _times(1 - x, special.log_expit(-l))


def binomial(p: Mapping, x: np.ndarray) -> np.ndarray:
    n, l = p["total_count"], p["logits"]  # noqa: E741
    return (special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
            + _times(x, special.log_expit(l)) + _times(n - x, special.log_expit(-l)))


def geometric(p: Mapping, x: np.ndarray) -> np.ndarray:
    l = p["logits"]  # noqa: E741
    return _times(x, special.log_expit(-l)) + special.log_expit(l)


def negative_binomial(p: Mapping, x: np.ndarray) -> np.ndarray:
    r, l = p["total_count"], p["logits"]  # noqa: E741
    return (special.gammaln(r + x) - special.gammaln(1 + x) - special.gammaln(r)
            + _times(r, special.log_expit(-l)) + _times(x, special.log_expit(l)))


def categorical(p: Mapping, x: np.ndarray) -> np.ndarray:
    log_probs = np.broadcast_to(_log_softmax(p["logits"]), (*x.shape, p["logits"].shape[-1]))
    return np.take_along_axis(log_probs, x[..., None].astype(int), -1)[..., 0]


def one_hot_categorical(p: Mapping, x: np.ndarray) -> np.ndarray:
    return _times(x, _log_softmax(p["logits"])).sum(-1)


def multinomial(p: Mapping, x: np.ndarray) -> np.ndarray:
    n = p["total_count"]
    return special.gammaln(n + 1) - special.gammaln(x + 1).sum(-1) + _times(x, _log_softmax(p["logits"])).sum(-1)


def continuous_bernoulli(p: Mapping, x: np.ndarray) -> np.ndarray:
    l = p["logits"]  # noqa: E741
    with np.errstate(invalid="ignore", divide="ignore"):
        log_norm = np.where(l == 0, np.log(2.0), np.log(l / np.tanh(l / 2)))
    return bernoulli(p, x) + log_norm


def relaxed_bernoulli(p: Mapping, x: np.ndarray) -> np.ndarray:
    t, l = p["temperature"], p["logits"]  # noqa: E741
    return stats.logistic(loc=l / t, scale=1 / t).logpdf(special.logit(x)) - np.log(x) - np.log1p(-x)


def relaxed_one_hot_categorical(p: Mapping, x: np.ndarray) -> np.ndarray:
    """The Concrete density (Maddison et al. 2017) with log-probabilities log_softmax(logits)."""
    t, log_probs = np.asarray(p["temperature"])[..., None], _log_softmax(p["logits"])
    k = log_probs.shape[-1]
    return (special.gammaln(k) + (k - 1) * np.log(t[..., 0]) + (log_probs - (t + 1) * np.log(x)).sum(-1)
            - k * special.logsumexp(log_probs - t * np.log(x), axis=-1))

"""Shorthands for writing registry entries: parameter generators and references from scipy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from suite.registry import params as P
from suite.registry import references as R


def positive(lo: float = 1e-3, hi: float = 1e3):
    return lambda rng, n: P.log_uniform(rng, n, lo, hi)


def params(**generators: Callable[[np.random.Generator, int], np.ndarray]):
    return lambda rng, n: {name: gen(rng, n) for name, gen in generators.items()}


def scipy(make_frozen, discrete=False, mode=None):
    def reference(p):
        return R.ScipyReference(make_frozen(p), discrete=discrete, mode=(lambda: mode(p)) if mode else None)
    return reference


def rowwise(make_row, event_dim, transpose_x=False, prepare_x=None, **moments):
    def reference(p):
        n = next(v.shape[0] for v in p.values() if not isinstance(v, int))
        rows = [make_row({k: v if isinstance(v, int) else v[i] for k, v in p.items()}) for i in range(n)]
        ref = R.RowwiseReference(rows, event_dim, transpose_x=transpose_x, prepare_x=prepare_x)
        for name, fn in moments.items():
            setattr(ref, name, (lambda fn=fn: fn(p)))
        return ref
    return reference


def spd_matrix(d: int):
    return lambda rng, n: P.spd_matrix(rng, n, d)


def vector(generator, k: int):
    return lambda rng, n: generator(rng, n * k).reshape(n, k)


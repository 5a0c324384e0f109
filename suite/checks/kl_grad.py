"""The gradient of torch's KL with respect to every parameter of p and q, against central finite
differences of the float64 reference.

For each parameter a random direction v (symmetric for covariance matrices) is drawn; torch's directional
derivative grad . v (autograd, float64) is compared per parameter set with
(ref(theta + h v) - ref(theta - h v)) / 2h at two steps h and h/2. The difference of the two estimates
measures the finite difference's own error, and rounding contributes eps * magnitude / h; the tolerance is
1e-6 relative plus both. Only parameter sets where the reference is finite at every step are compared:
at a boundary of the parameter space (Bernoulli probs = 0 or 1) the derivative is one-sided, infinite or
undefined, and those left out are counted in the message.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributions as D

from suite.checks.kl import KlFunction, coordinates
from suite.checks.result import CheckResult, failed
from suite.registry.families import to_tensor
from suite.registry.kl import KlPair

# Parameters that are counts: not differentiable.
NOT_DIFFERENTIABLE = frozenset({"total_count"})
STEP = 1e-5
EPS = float(np.finfo(np.float64).eps)


def _direction(rng: np.random.Generator, name: str, value: np.ndarray) -> np.ndarray:
    """A perturbation of the size of the parameter itself (so that h is relative)."""
    v = rng.normal(size=value.shape)
    if value.ndim == 3 and value.shape[-1] == value.shape[-2]:  # a covariance matrix: stay symmetric
        v = 0.5 * (v + np.swapaxes(v, -1, -2)) * np.abs(value).mean((-2, -1), keepdims=True) * 0.1
        return v
    return v * np.maximum(np.abs(value), 1e-3) * 0.1


def _shifted(params: dict, name: str, delta: np.ndarray) -> dict:
    out = dict(params)
    out[name] = params[name] + delta
    return out


def check_kl_grad(pair: KlPair, pp: dict, qp: dict, rng: np.random.Generator, rows: int = 8,
                  kl: KlFunction = D.kl_divergence) -> CheckResult:
    """Directional derivatives of KL along each parameter of p and q at up to `rows` finite parameter sets."""
    expected, _ = pair.reference(pp, qp)
    finite = np.flatnonzero(np.isfinite(expected) & (np.abs(expected) < 1e12))
    if finite.size == 0:
        return failed("kl.grad", pair.name, "float64", "no parameter pair with a finite KL was drawn")
    chosen = finite[:rows]
    pp = {k: v if isinstance(v, int) else np.asarray(v)[chosen] for k, v in pp.items()}
    qp = {k: v if isinstance(v, int) else np.asarray(v)[chosen] for k, v in qp.items()}
    tensors = {side: {k: to_tensor(v, torch.float64, "cpu") for k, v in params.items()}
               for side, params in (("p", pp), ("q", qp))}
    leaves = [(side, name) for side in ("p", "q") for name, t in tensors[side].items()
              if isinstance(t, torch.Tensor) and name not in NOT_DIFFERENTIABLE]
    for side, name in leaves:
        tensors[side][name].requires_grad_(True)
    try:
        value = kl(pair.p_family.from_tensors(tensors["p"], False), pair.q_family.from_tensors(tensors["q"], False))
        grads = torch.autograd.grad(value.sum(), [tensors[s][n] for s, n in leaves], allow_unused=True)
    except Exception as error:  # noqa: BLE001 - torch raising is what the check reports
        return failed("kl.grad", pair.name, "float64", f"{type(error).__name__}: {error}")

    oks, errors, coords = [], [], {k: [] for k in coordinates(pp, qp)}
    left_out = 0
    for (side, name), grad in zip(leaves, grads):
        params = pp if side == "p" else qp
        theta = np.asarray(params[name], dtype=np.float64)
        v = _direction(rng, name, theta)
        analytic = np.zeros(len(chosen)) if grad is None else (grad.numpy() * v).reshape(len(chosen), -1).sum(-1)
        estimates = []
        for h in (STEP, STEP / 2):
            plus = {**{"p": pp, "q": qp}, side: _shifted(params, name, h * v)}
            minus = {**{"p": pp, "q": qp}, side: _shifted(params, name, -h * v)}
            with np.errstate(all="ignore"):
                f_plus, magnitude = pair.reference(plus["p"], plus["q"])
                f_minus, _ = pair.reference(minus["p"], minus["q"])
            estimates.append((f_plus - f_minus) / (2 * h))
        usable = np.isfinite(estimates[0]) & np.isfinite(estimates[1])
        left_out += int((~usable).sum())
        with np.errstate(all="ignore"):
            tol = 1e-6 * np.abs(estimates[1]) + 4 * np.abs(estimates[0] - estimates[1]) + 100 * EPS * magnitude / STEP
            ok = np.where(usable, np.abs(analytic - estimates[1]) <= tol, True)
        oks.append(ok)
        errors.append(np.where(usable, np.abs(analytic - estimates[1]), 0.0))
        for k, c in coordinates(pp, qp).items():
            coords[k].append(c)
        coords.setdefault("parameter", []).append(np.full(len(chosen), leaves.index((side, name)), float))
    ok = np.concatenate(oks)
    error = np.concatenate(errors)
    coords = {k: np.concatenate(v) for k, v in coords.items()}
    bad = ~ok
    worst = {}
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        worst = {k: float(v[i]) for k, v in coords.items()}
        worst["parameter"] = "_".join(leaves[int(coords["parameter"][i])])
    return CheckResult("kl.grad", pair.name, "float64", passed=bool(ok.all()), compared=int(ok.size) - left_out,
                       failures=int(bad.sum()), max_abs_error=float(error[bad].max()) if bad.any() else 0.0,
                       worst=worst, message=f"{len(chosen)} parameter sets x {len(leaves)} parameters, "
                                        f"{left_out} left out where the reference is not finite a step away",
                       ok=ok, coords=coords)

"""Maximum-likelihood fits by a training strategy, compared with scipy's MLE through the registry.

The torch fit runs L-BFGS (strong Wolfe line search) on the mean negative log-likelihood of
draws from the family's true parameters. The comparison goes through the family's reference:

- ``scipy.stats.<dist>.fit`` when the reference is a continuous scipy distribution: scipy's
  arguments that do not move with the trained parameters (e.g. loc=0 for Gamma) are fixed
  (f0.., floc, fscale); parameters are compared in scipy's parametrisation.
- ``scipy.stats.fit`` (bounded L-BFGS-B) for discrete scipy distributions.
- ``<multivariate dist>.fit`` where a row-wise reference's scipy distribution has one
  (multivariate_normal: sample mean and biased covariance).
- otherwise ``scipy.optimize.minimize`` of the reference's negative log-likelihood, started at the
  torch optimum in the same unconstrained coordinates: the torch optimum must not be improvable.

In every route the two optima are also compared by their mean log-likelihood under the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import optimize, stats

from suite.registry.families import Family
from suite.registry.references import RowwiseReference, ScipyReference
from suite.training import STRATEGY_CLASSES, FitSpec, TrainingState, fit_spec, training_state

# Parameters agree with scipy's when |torch - scipy| <= PARAM_RTOL * max(|scipy|, 1): scipy's own
# default fits stop at a relative xtol of 1e-4 (Nelder-Mead), so 2e-3 leaves a margin of 20.
PARAM_RTOL = 2e-3
# The torch optimum may fall short of scipy's mean log-likelihood by at most this much per sample.
LOGLIK_ATOL = 1e-6


@dataclass
class MLEComparison:
    family: str
    strategy: str
    transform: str
    route: str
    steps: int
    torch_params: dict[str, list]
    torch_loglik: float
    scipy_loglik: float
    param_error: float  # largest scaled difference in the route's parametrisation
    error: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.error is None and np.isfinite(self.torch_loglik)
                and self.torch_loglik >= self.scipy_loglik - LOGLIK_ATOL and self.param_error <= PARAM_RTOL)


def fit_torch(state: TrainingState, max_iter: int = 500) -> int:
    """Run L-BFGS to convergence on a training state; returns the number of function evaluations."""
    params = state.strategy.parameters()
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, max_eval=2 * max_iter, tolerance_grad=1e-11,
                            tolerance_change=1e-15, history_size=20, line_search_fn="strong_wolfe")
    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        opt.zero_grad()
        loss = state.loss(state.construct())
        state.backward(loss)
        return loss

    opt.step(closure)
    return evaluations


def _numpy_params(spec: FitSpec, values: dict) -> dict:
    out = {}
    for name, value in {**spec.true_params, **values}.items():
        out[name] = value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor) else value
    return out


def _perturbed(spec: FitSpec, params: dict, name: str, step: float = 0.3) -> dict:
    t = spec.transforms("exp")[name]
    value = torch.as_tensor(params[name], dtype=torch.float64)
    return dict(params, **{name: t(t.inv(value) + step).numpy()})


def _scipy_args(frozen) -> list[np.ndarray]:
    shapes, loc, scale = frozen.dist._parse_args(*frozen.args, **frozen.kwds)
    return [np.ravel(np.asarray(a, dtype=float)) for a in (*shapes, loc, scale)]


def _scipy_arg_names(dist) -> list[str]:
    return [*(dist.shapes.replace(",", " ").split() if dist.shapes else []), "loc", "scale"]


def _free_args(family: Family, spec: FitSpec, params: dict) -> tuple[list[bool], list[np.ndarray]]:
    """Which of scipy's (shapes, loc, scale) move with the trained parameters."""
    base = _scipy_args(family.reference(params).frozen)
    free = [False] * len(base)
    for name in spec.trainable:
        moved = _scipy_args(family.reference(_perturbed(spec, params, name)).frozen)
        free = [f or not np.allclose(a, b, rtol=0, atol=0) for f, a, b in zip(free, base, moved)]
    return free, base


def _scaled_error(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def _route_continuous(family, spec, params, x, torch_ll):
    """scipy's fit from its default start; where that ends below the torch optimum's likelihood,
    again from the torch optimum (scipy must then stay there)."""
    ref = family.reference(params)
    dist = ref.frozen.dist
    free, base = _free_args(family, spec, params)
    names = _scipy_arg_names(dist)
    fixed = {}
    for i, (is_free, value) in enumerate(zip(free, base)):
        if not is_free:
            key = "floc" if names[i] == "loc" else "fscale" if names[i] == "scale" else f"f{i}"
            fixed[key] = float(value[0])
    fitted = dist.fit(x.ravel(), method="MLE", **fixed)
    scipy_ll = float(np.mean(dist.logpdf(x.ravel(), *fitted)))
    restarted = scipy_ll < torch_ll - LOGLIK_ATOL
    if restarted:
        start = [float(b[0]) for b in base]
        fitted = dist.fit(x.ravel(), *start[:-2], loc=start[-2], scale=start[-1], method="MLE", **fixed)
        scipy_ll = float(np.mean(dist.logpdf(x.ravel(), *fitted)))
    err = max((_scaled_error(base[i], fitted[i]) for i in range(len(base)) if free[i]), default=0.0)
    return f"scipy.stats.{dist.name}.fit({', '.join(f'{k}={v:.4g}' for k, v in fixed.items())})", \
        scipy_ll, err, {"scipy_fit": [float(v) for v in fitted], "torch_in_scipy_terms": [float(b[0]) for b in base],
         "scipy_restarted_from_torch_optimum": restarted}


def _route_discrete(family, spec, true_params, params, x):
    ref = family.reference(params)
    dist = ref.frozen.dist
    free, base = _free_args(family, spec, params)
    true = _scipy_args(family.reference(true_params).frozen)
    names = [info.name for info in dist._param_info()]
    bounds, guess = {}, {}
    for info, is_free, value in zip(dist._param_info(), free, true):
        v = float(value[0])
        if not is_free:
            bounds[info.name] = (v, v)
            continue
        lo, hi = info.domain
        bounds[info.name] = (max(lo, v / 50) if np.isfinite(lo) and lo >= 0 else v - 50 * abs(v) - 1,
                             min(hi, v * 50) if np.isfinite(hi) else v * 50 + 1)
        guess[info.name] = v

    def local(fun, bounds, *, x0=None, integrality=None):
        return optimize.minimize(fun, x0, bounds=bounds, method="L-BFGS-B",
                                 options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})

    result = stats.fit(dist, x.ravel(), bounds={k: v for k, v in bounds.items() if k in names},
                       guess=guess, optimizer=local)
    fitted = [getattr(result.params, n) for n in names]
    scipy_ll = float(np.mean(dist.logpmf(x.ravel(), *fitted)))
    err = max((_scaled_error(base[i], fitted[i]) for i in range(len(base)) if free[i]), default=0.0)
    return f"scipy.stats.fit({dist.name}, L-BFGS-B)", scipy_ll, err, \
        {"scipy_fit": [float(v) for v in fitted], "torch_in_scipy_terms": [float(b[0]) for b in base]}


def _route_multivariate(ref, x):
    row = ref.rows[0]
    fitted = row._dist.fit(x[:, 0])
    scipy_ll = float(np.mean(row._dist(*fitted).logpdf(x[:, 0])))
    err = max(_scaled_error(row.mean, fitted[0]), _scaled_error(row.cov, fitted[1]))
    return f"scipy.stats.{type(row._dist).__name__.removesuffix('_gen')}.fit", scipy_ll, err, \
        {"scipy_fit": [np.asarray(f).tolist() for f in fitted]}


def _route_reference(family, spec, params, x):
    """Minimise the reference's negative log-likelihood from the torch optimum."""
    transforms = spec.transforms("exp")
    shapes = {n: np.shape(params[n]) for n in spec.trainable}
    raw0 = {n: transforms[n].inv(torch.as_tensor(params[n], dtype=torch.float64)) for n in spec.trainable}
    sizes = {n: raw0[n].numel() for n in spec.trainable}
    u0 = np.concatenate([raw0[n].numpy().ravel() for n in spec.trainable])

    def unpack(u):
        out, i = dict(params), 0
        for n in spec.trainable:
            raw = torch.as_tensor(u[i:i + sizes[n]].reshape(raw0[n].shape))
            out[n] = transforms[n](raw).numpy().reshape(shapes[n])
            i += sizes[n]
        return out

    def nll(u):
        value = -float(np.mean(family.reference(unpack(u)).log_prob(x)))
        return value if np.isfinite(value) else 1e300

    result = optimize.minimize(nll, u0, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 200})
    best = unpack(result.x) if result.fun < nll(u0) else params
    err = max(_scaled_error(params[n], best[n]) for n in spec.trainable)
    return "scipy.optimize.minimize(L-BFGS-B) of the reference log-likelihood from the torch optimum", \
        -min(result.fun, nll(u0)), err, {"reference_optimum": {n: np.asarray(best[n]).tolist() for n in spec.trainable}}


def compare_mle(family: Family, strategy: str = "constraint_module", transform: str = "exp", device="cpu",
                n_samples: int = 2000, seed: int = 0, spec: FitSpec | None = None, max_iter: int = 500,
                strategy_cls=None) -> MLEComparison:
    """Fit by MLE with a strategy (float64) and compare the optimum with scipy's."""
    spec = spec or fit_spec(family)
    cls = strategy_cls or STRATEGY_CLASSES[strategy]
    state = training_state(cls, spec, n_samples, device, torch.float64, False, transform=transform, loss="mle",
                           seed=seed)
    x = state.data.detach().cpu().double().numpy()
    try:
        steps = fit_torch(state, max_iter)
    except RuntimeError as exc:
        return MLEComparison(family.name, cls.name, transform, "", 0, {}, float("nan"), float("nan"),
                             float("inf"), error=str(exc).splitlines()[0])
    with torch.no_grad():
        values = state.construct()
        used = {n: getattr(values, n) for n in spec.trainable if isinstance(getattr(values, n, None), torch.Tensor)}
    derived = state.strategy.constrained()
    if used.keys() != derived.keys():
        used = derived
    params = _numpy_params(spec, used)
    true = _numpy_params(spec, {})
    torch_ll = float(np.mean(family.reference(params).log_prob(x)))
    ref = family.reference(params)
    if isinstance(ref, ScipyReference) and not ref.discrete and hasattr(ref.frozen.dist, "fit"):
        route, scipy_ll, err, details = _route_continuous(family, spec, params, x, torch_ll)
    elif isinstance(ref, ScipyReference) and ref.discrete:
        route, scipy_ll, err, details = _route_discrete(family, spec, true, params, x)
    elif isinstance(ref, RowwiseReference) and hasattr(getattr(ref.rows[0], "_dist", None), "fit"):
        route, scipy_ll, err, details = _route_multivariate(ref, x)
    else:
        route, scipy_ll, err, details = _route_reference(family, spec, params, x)
    return MLEComparison(family.name, cls.name, transform, route, steps,
                         {n: np.asarray(v).ravel().tolist() for n, v in params.items() if n in spec.trainable},
                         torch_ll, scipy_ll, err, details=details)

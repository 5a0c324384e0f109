"""rsample gradients: the pathwise derivative against a float64 reference, unbiasedness, and flow.

* pathwise: every draw's derivative along a random parameter direction V, compared draw by draw with
  - REPLAY (explicit transforms): central differences of the same draws, the noise replayed from
    the same seed at theta +- hV;
  - IMPLICIT (implicit reparameterisation): dx/dtheta = -(dF/dtheta)(x) / p(x), F the scipy reference
    cdf (its sf above the median), dF/dtheta by central differences in float64;
  - MARGINAL: the implicit rule on a coordinate whose law is known and whose derivative along one
    parameter component depends on that coordinate alone (the entry's `pathwise`);
  - STRAIGHT_THROUGH (discrete families with rsample): the derivative of the mean, by central differences.
  It runs in float64, where the references are exact to far below PATHWISE_TOLERANCE.
* unbiasedness: the Monte Carlo gradient of E[f(y)], f(y) = atan((y - c) / s) bounded (so heavy tails
  give a finite variance), y each projection of `suite.checks.sampling.projections`, against the derivative of
  E[f(y)] = int_0^1 f(ppf_theta(q)) dq (Gauss-Legendre, central differences in theta). Independent batches
  give a one-sample t-test (scipy.stats.ttest_1samp); the check shares the run's false-positive budget
  (suite.checks.sampling.ALPHA).
* flow: every floating parameter gets a finite, not identically zero gradient through rsample();
  sample() is detached and rsample() is not.
A NaN gradient from a rare draw (one draw's NaN makes its batch's gradient NaN) is left out of unbiasedness
and flow, counted in worst["nan_gradients"] and judged on its own by `nan_gradients`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import stats
from torch.distributions import constraints as C

from suite.checks import sampling as S
from suite.checks.result import CheckResult
from suite.checks.values import element_coords
from suite.registry.families import Family, ParamDict, Tolerance, dtype_name, round_to
from suite.registry.family import CONDITIONAL, IMPLICIT, MARGINAL, REPLAY, STRAIGHT_THROUGH

PATHWISE_SETS = 4
PATHWISE_DRAWS = 50  # per parameter set
FD_STEP = 1e-6  # central-difference step, relative to the parameter (or to its distance to a bound: `room`)
SMOOTH_STEPS = (1e-4, 1e-5)  # REPLAY's Richardson-extrapolated steps, used where the draw is smooth within them
# |torch - reference| <= atol * mean|reference| + rtol * |reference| + (rounding in the central difference),
# per draw. IMPLICIT/MARGINAL: the accuracy PyTorch's own tests demand of its implicit-gradient approximations
# (5e-4 Gamma, 1e-3 Beta and Dirichlet, test_distributions.py); REPLAY: the central difference's own accuracy.
FD_ROUNDING = 100 * np.finfo(np.float64).eps  # relative error of a float64 draw or reference cdf value
PATHWISE_TOLERANCE = {REPLAY: Tolerance(rtol=1e-6, atol=1e-7), STRAIGHT_THROUGH: Tolerance(rtol=1e-6, atol=1e-7),
                      IMPLICIT: Tolerance(rtol=1e-3, atol=1e-4), MARGINAL: Tolerance(rtol=1e-3, atol=1e-4)}

UNBIASED_SETS = 3
BATCHES = 100
DRAWS_PER_BATCH = 500
QUADRATURE_NODES = 200
RESOLUTION = 1e3  # f's spread is at least this many ulps of its centre
MOMENT_CHANGE = 1e-6  # central-difference step: moves E[f] (f within +-pi/2) by about this much

Build = Callable[[dict], torch.distributions.Distribution]


def _floating(params: ParamDict) -> list[str]:
    return [name for name, value in params.items() if not isinstance(value, int)]


def default_build(family: Family, validate_args: bool = False) -> Build:
    """Build from tensors that may require grad."""
    return lambda tensors: family.from_tensors(tensors, validate_args)


def _tile(params: ParamDict, times: int) -> ParamDict:
    """Parameter sets repeated `times` over the leading axis; 0-d (shared) parameters stay shared."""
    return {k: v if isinstance(v, int) or np.ndim(v) == 0 else np.tile(v, (times,) + (1,) * (np.ndim(v) - 1))
            for k, v in params.items()}


def _tensors(params: ParamDict, dtype: torch.dtype, device, grad: bool = False) -> dict:
    out = {}
    for name, value in params.items():
        if isinstance(value, int):
            out[name] = value
        else:
            out[name] = torch.tensor(np.asarray(value), dtype=dtype, device=device, requires_grad=grad)
    return out


def direction(rng: np.random.Generator, value: np.ndarray, room: np.ndarray | None = None) -> np.ndarray:
    """A random perturbation direction scaled like the parameter, or by `room` (how far it may move); symmetric
    for symmetric matrices."""
    value = np.asarray(value, dtype=float)
    v = rng.normal(size=value.shape)
    if value.ndim >= 2 and value.shape[-1] == value.shape[-2] and np.allclose(value, np.swapaxes(value, -1, -2)):
        v = (v + np.swapaxes(v, -1, -2)) / 2
        diag = np.sqrt(np.abs(np.diagonal(value, axis1=-2, axis2=-1)))
        return v * diag[..., :, None] * diag[..., None, :]
    return v * np.maximum(np.abs(value) if room is None else room, 1e-3 if room is None else 0.0)


def room(family: Family, name: str, value: np.ndarray) -> np.ndarray | None:
    """How far a parameter on an interval or the simplex may move: its distance to the nearer bound (a finite
    difference that steps by a share of it stays inside and as accurate near the bound); None for others."""
    constraint = family.constraints().get(name)
    value = np.asarray(value, dtype=float)
    if isinstance(constraint, type(C.simplex)):
        return value
    lower, upper = getattr(constraint, "lower_bound", None), getattr(constraint, "upper_bound", None)
    if lower is None or upper is None:
        return None
    return np.minimum(value - float(lower), float(upper) - value)


def _shift(params: ParamDict, name: str, step: np.ndarray) -> ParamDict:
    return {**params, name: params[name] + step}


def pathwise_method(family: Family, name: str) -> str:
    if name in family.pathwise:
        return family.pathwise[name]
    if family.discrete:
        return STRAIGHT_THROUGH
    return REPLAY if family.reparam == "explicit" else IMPLICIT


def pathwise_parameters(family: Family) -> list[str]:
    """The floating parameters whose rsample derivative has a draw-by-draw reference."""
    params = family.make_params(np.random.default_rng(0), 1)
    return [name for name in _floating(params) if pathwise_method(family, name) != CONDITIONAL]


def _event_sum(t: torch.Tensor, event_dim: int) -> torch.Tensor:
    return t.sum(tuple(range(-event_dim, 0))) if event_dim else t


def _directional(grad: torch.Tensor | None, v: np.ndarray, rows: int) -> np.ndarray:
    """<grad_row, v_row> for each row; a shared (0-d) parameter gives one total."""
    if grad is None:
        return np.zeros(rows if np.ndim(v) else 1)
    product = grad.detach().double().cpu().numpy() * v
    return product.reshape(rows, -1).sum(-1) if np.ndim(v) else np.atleast_1d(product)


def _draw_ok(ours: np.ndarray, reference: np.ndarray, tolerance: Tolerance,
             rounding: np.ndarray | float = 0.0) -> np.ndarray:
    """Per draw: finite and within the tolerance (as `_compare` judges the whole)."""
    allowed = tolerance.atol * np.mean(np.abs(reference)) + tolerance.rtol * np.abs(reference) + rounding
    with np.errstate(invalid="ignore"):
        return np.isfinite(ours) & np.isfinite(reference) & (np.abs(ours - reference) <= allowed)


def _compare(ours: np.ndarray, reference: np.ndarray, tolerance: Tolerance,
             rounding: np.ndarray | float = 0.0) -> tuple[bool, str]:
    scale = np.mean(np.abs(reference))
    error = np.abs(ours - reference)
    allowed = tolerance.atol * scale + tolerance.rtol * np.abs(reference) + rounding
    finite = np.isfinite(ours) & np.isfinite(reference)
    worst = int(np.argmax(np.where(finite, error / np.maximum(allowed, 1e-300), np.inf)))
    ok = bool(np.all(finite) and np.all(error <= allowed))
    relative = error[worst] / max(abs(reference[worst]), 1e-300)
    return ok, (f"worst draw {worst}: torch {ours[worst]:.10g}, reference {reference[worst]:.10g} "
                f"(relative error {relative:.3g}; {tolerance}, scale {scale:.3g})")


def pathwise(family: Family, name: str, device: str | torch.device, rng: np.random.Generator,
             build: Build | None = None) -> CheckResult:
    """Every draw's rsample derivative along a random direction of `name`, against the reference (float64)."""
    method = pathwise_method(family, name)
    build = build or default_build(family)
    dtype = torch.float64
    params = _tile(family.draw(rng, PATHWISE_SETS, check=f"rsample.pathwise:{name}", corners=False),
                   PATHWISE_DRAWS)
    rows = PATHWISE_SETS * PATHWISE_DRAWS
    v = direction(rng, params[name], room(family, name, params[name]))
    seed = int(rng.integers(2**31))

    def draw(p: ParamDict, grad: bool) -> tuple[dict, torch.Tensor]:
        tensors = _tensors(p, dtype, device, grad)
        torch.manual_seed(seed)
        return tensors, build(tensors).rsample()

    tensors, x = draw(params, True)
    leaf = tensors[name]
    weights = torch.as_tensor(rng.normal(size=tuple(x.shape)), dtype=dtype, device=x.device)
    h = FD_STEP
    rounding = 0.0
    if method == MARGINAL:
        ours, reference = _marginal(family, params, name, leaf, x, rng)
    else:
        (grad,) = torch.autograd.grad(_event_sum(weights * x, family.event_dim).sum(), leaf, allow_unused=True)
        ours = _directional(grad, v, rows)
        w = weights.cpu().numpy()
        if method == REPLAY:
            def central(step: float) -> tuple[np.ndarray, np.ndarray]:
                """The central difference of the replayed draws at `step`, and the bound on its rounding."""
                plus = draw(_shift(params, name, step * v), False)[1].detach().double().cpu().numpy()
                minus = draw(_shift(params, name, -step * v), False)[1].detach().double().cpu().numpy()
                return (_event_sum_np(w * (plus - minus) / (2 * step), family.event_dim),
                        FD_ROUNDING * _event_sum_np(np.abs(w) * (np.abs(plus) + np.abs(minus)), family.event_dim)
                        / (2 * step))
            reference, rounding = _replay_reference(central)
            if not np.ndim(v):
                reference, rounding = np.atleast_1d(reference.sum()), rounding.sum()
        elif method == STRAIGHT_THROUGH:
            mean = lambda p: family.reference(p).mean()  # noqa: E731
            reference = _event_sum_np(w * (mean(_shift(params, name, h * v)) - mean(_shift(params, name, -h * v)))
                                      / (2 * h), family.event_dim)
        else:
            law_at = lambda p: S.Law.reference(family.reference(p))  # noqa: E731
            reference = w * _implicit_derivative(law_at, params, name, h * v, x.detach().double().cpu().numpy()) / h
    ok, detail = _compare(ours, reference, PATHWISE_TOLERANCE[method], rounding)
    per_draw = _draw_ok(ours, reference, PATHWISE_TOLERANCE[method], rounding)
    return CheckResult(f"rsample.pathwise:{name}", family.name, dtype_name(dtype), passed=ok,
                       compared=int(per_draw.size), failures=int((~per_draw).sum()),
                       message=f"d rsample / d {name} ({method}): {detail}", ok=per_draw,
                       coords=_draw_coords(params, x.detach().double().cpu().numpy(), per_draw.shape[0], rows))


def _replay_reference(central: Callable[[float], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, the most accurate of a ladder of central differences, with its rounding bound. At a large step,
    made exact to step^2 by Richardson extrapolation, the draws' own rounding error (up to 1e3 ulps where torch
    computes a draw by a cancelling formula) matters least; a step is used where its two estimates agree to
    1e-3, that is, where no kink of a piecewise draw lies within it. Where none does: FD_STEP."""
    reference, rounding = central(FD_STEP)
    chosen = np.zeros(reference.shape, dtype=bool)
    for step in SMOOTH_STEPS:
        coarse, coarse_rounding = central(step)
        fine, fine_rounding = central(step / 2)
        smooth = ~chosen & (np.abs(fine - coarse) <= 1e-3 * np.abs(fine) + fine_rounding + coarse_rounding)
        reference = np.where(smooth, (4 * fine - coarse) / 3, reference)
        rounding = np.where(smooth, (4 * fine_rounding + coarse_rounding) / 3, rounding)
        chosen |= smooth
    return reference, rounding


def _draw_coords(params: ParamDict, x: np.ndarray, size: int, rows: int) -> dict[str, np.ndarray]:
    """Coordinates of the per-draw results: the draw's parameters and the draw itself ("at"); where the
    results are per coordinate of the draw (MARGINAL), also which one ("component")."""
    coords = element_coords(params, (rows,), 0)
    if size == rows:
        if x.ndim == 1:
            coords["at"] = x
        return coords
    parts = size // rows
    coords = {name: np.tile(np.broadcast_to(value, (rows,)), parts) for name, value in coords.items()}
    coords["component"] = np.repeat(np.arange(parts, dtype=np.float64), rows)
    coords["at"] = x.reshape(rows, -1)[:, :parts].T.reshape(-1)
    return coords


def _event_sum_np(a: np.ndarray, event_dim: int) -> np.ndarray:
    return a.sum(tuple(range(-event_dim, 0))) if event_dim else a


def _implicit_derivative(law_at: Callable[[ParamDict], S.Law], params: ParamDict, name: str,
                         step: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-(F(theta + step) - F(theta - step))(y) / (2 p(y)): |step| times the implicit derivative, the cdf or
    sf (whichever is smaller) differenced in float64."""
    base = law_at(params)
    upper = base.cdf(y[None])[0] > 0.5
    plus, minus = law_at(_shift(params, name, step)), law_at(_shift(params, name, -step))
    d_cdf = np.where(upper, -(plus.sf(y[None])[0] - minus.sf(y[None])[0]),
                     plus.cdf(y[None])[0] - minus.cdf(y[None])[0]) / 2
    return -d_cdf / base.pdf(y[None])[0]


def _marginal(family: Family, params: ParamDict, name: str, leaf: torch.Tensor, x: torch.Tensor,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each coordinate i with a known law: d x_i / d theta_i (times |theta_i|) against the implicit rule."""
    ours, reference = [], []
    y = x.detach().double().cpu().numpy()
    for i, projection in enumerate(S.projections(family, params, rng)):
        (grad,) = torch.autograd.grad(x[..., i].sum(), leaf, retain_graph=True)
        size = np.abs(params[name][..., i])
        ours.append(grad[..., i].detach().double().cpu().numpy() * size)
        unit = np.zeros_like(params[name])
        unit[..., i] = size
        reference.append(_implicit_derivative(projection.law, params, name, FD_STEP * unit, y[..., i]) / FD_STEP)
    return np.concatenate(ours), np.concatenate(reference)


# ---- unbiasedness ------------------------------------------------------------------------------------

def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1) / 2, weights / 2


def _bounded(y, centre, spread):
    return torch.atan((y - centre) / spread) if isinstance(y, torch.Tensor) else np.arctan((y - centre) / spread)


def expected_bounded(law: S.Law, centre: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """E[atan((y - c) / s)] = int_0^1 atan((ppf(q) - c) / s) dq, per parameter set."""
    q, w = _gauss_legendre(QUADRATURE_NODES)
    y = law.ppf(q[:, None] * np.ones((1, centre.shape[0])))
    return (w[:, None] * _bounded(y, centre, spread)).sum(0)


def unbiasedness(family: Family, dtype: torch.dtype, device: str | torch.device, rng: np.random.Generator,
                 build: Build | None = None, alpha: float = S.ALPHA, batches: int = BATCHES,
                 draws: int = DRAWS_PER_BATCH, params: ParamDict | None = None) -> CheckResult:
    """Monte Carlo gradients of E[sum_j atan((y_j - c_j) / s_j)] over independent batches, each parameter
    along a random direction, against the reference derivative (one-sample t-test per parameter and set).
    `params` replaces the random draw of UNBIASED_SETS parameter sets (a planted fault's stated parameters)."""
    build = build or default_build(family)
    if params is None:
        params = family.draw(rng, UNBIASED_SETS, check="rsample.unbiasedness", corners=False)
    n = len(next(v for v in params.values() if np.ndim(v) > 0))
    seen = round_to(params, dtype)
    names = _floating(params)
    directions = {name: direction(rng, seen[name]) for name in names}
    terms = []
    # A set whose draws may exceed the dtype's range has no pathwise gradient there (an infinite draw):
    # it is left out and counted. "May": more than 1e-9 chance of one such draw in the whole check.
    tail = 1e-9 / (batches * draws)
    unrepresentable = np.zeros(n, dtype=bool)
    for projection in S.projections(family, seen, rng):
        law = projection.law(seen)
        with np.errstate(all="ignore"):
            ends = law.ppf(np.array([[tail], [1 - tail]]) * np.ones((1, n)))
        unrepresentable |= (np.abs(ends) > torch.finfo(dtype).max).any(0)
        quartiles = law.ppf(np.array([[0.25], [0.5], [0.75]]) * np.ones((1, n)))
        # f must be smooth at the dtype's resolution, or quantised draws bias E[f'] by themselves.
        spread = np.maximum((quartiles[2] - quartiles[0]) / 2,
                            RESOLUTION * torch.finfo(dtype).eps * np.abs(quartiles[1]))
        terms.append((projection, quartiles[1], spread))

    def moment(p: ParamDict) -> np.ndarray:
        return sum(expected_bounded(projection.law(p), centre, spread) for projection, centre, spread in terms)

    def loss(x: torch.Tensor, repeat: int) -> torch.Tensor:
        total = 0
        for projection, centre, spread in terms:
            y = projection.apply(x, seen).double()
            total = total + _bounded(y, _like(y, np.tile(centre, repeat)), _like(y, np.tile(spread, repeat))).mean(0)
        return total

    if any(np.ndim(seen[name]) == 0 for name in names):
        leaves = [_tensors(seen, dtype, device, grad=True) for _ in range(batches)]
        per_batch = [loss(build(t).rsample((draws,)), 1) for t in leaves]
        grads = torch.autograd.grad(sum(batch_loss.sum() for batch_loss in per_batch),
                                    [t[k] for t in leaves for k in names], allow_unused=True)
        mc = {k: np.stack([_directional(grads[b * len(names) + j], directions[k], n) for b in range(batches)])
              for j, k in enumerate(names)}
    else:
        tensors = _tensors(_tile(seen, batches), dtype, device, grad=True)
        total = loss(build(tensors).rsample((draws,)), batches)
        grads = torch.autograd.grad(total.sum(), [tensors[k] for k in names], allow_unused=True)
        mc = {k: _directional(g, np.tile(directions[k], (batches,) + (1,) * (np.ndim(directions[k]) - 1)),
                              batches * n).reshape(batches, n) for k, g in zip(names, grads)}
    pvalues, details = [], []
    nan_batches = 0
    for name in names:
        v = directions[name]
        with np.errstate(invalid="ignore"):
            h = np.minimum(MOMENT_CHANGE / np.maximum(np.nan_to_num(np.abs(np.nanmean(mc[name], 0)), nan=0.0),
                                                      1e-300), 1e-3)
        if np.ndim(v) == 0:
            h = float(h[0])
            reference = np.atleast_1d(((moment(_shift(seen, name, h * v)) - moment(_shift(seen, name, -h * v)))
                                       / (2 * h)).sum())
        else:
            hs = h.reshape((-1,) + (1,) * (np.ndim(v) - 1))
            reference = (moment(_shift(seen, name, hs * v)) - moment(_shift(seen, name, -hs * v))) / (2 * h)
        for i in range(len(reference)):
            if unrepresentable[i] and np.ndim(v) != 0:
                pvalues.append(np.inf)  # left out
                details.append(f"d/d{name}, set {i}: left out")
                continue
            sample = mc[name][:, i]
            nan_batches += int(np.isnan(sample).sum())
            sample = sample[~np.isnan(sample)]
            p = stats.ttest_1samp(sample, reference[i]).pvalue if np.ptp(sample) > 0 else float(
                np.isclose(sample[0], reference[i], rtol=1e-6, atol=0))
            pvalues.append(p)
            details.append(f"d/d{name}, set {i}: Monte Carlo {sample.mean():.6g} +- "
                           f"{sample.std(ddof=1) / np.sqrt(batches):.2g}, reference {reference[i]:.6g}")
    pvalues = np.nan_to_num(np.asarray(pvalues, dtype=float), nan=0.0)
    compared = int(np.isfinite(pvalues).sum())
    adjusted = np.minimum(1.0, max(compared, 1) * pvalues)  # Bonferroni over every compared (parameter, set)
    pvalue = float(adjusted.min())
    detail = f"p={pvalue:.3g} (alpha={alpha:.3g}); most significant: {details[int(np.argmin(pvalues))]}"
    if unrepresentable.any():
        detail += (f"; {int(unrepresentable.sum())} of {n} parameter sets left out: their draws may exceed "
                   f"{dtype_name(dtype)}'s range")
    ok = None
    if len(pvalues) == len(names) * n:
        ok = (adjusted >= alpha).reshape(len(names), n)
    return CheckResult("rsample.unbiasedness", family.name, dtype_name(dtype), passed=bool(pvalue >= alpha),
                       compared=compared, failures=int((adjusted < alpha).sum()), message=detail, ok=ok,
                       worst={"nan_gradients": nan_batches} if nan_batches else {},
                       coords=element_coords(seen, (len(names), n), 1) if ok is not None else {}, pvalue=pvalue)


def _like(y: torch.Tensor, value: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(value, dtype=y.dtype, device=y.device)


# ---- flow --------------------------------------------------------------------------------------------

def flow(family: Family, dtype: torch.dtype, device: str | torch.device, rng: np.random.Generator,
         build: Build | None = None) -> CheckResult:
    """sample() is detached, rsample() is not, and every floating parameter gets a finite gradient."""
    build = build or default_build(family)
    params = family.make_params(rng, 4)
    tensors = _tensors(round_to(params, dtype), dtype, device, grad=True)
    dist = build(tensors)
    problems = []
    nan_gradients = 0
    names = _floating(params)
    if dist.sample((8,)).requires_grad:
        problems.append("sample() is attached to the graph")
    x = dist.rsample((8,))
    if not x.requires_grad:
        problems.append("rsample() is detached")
    else:
        weights = torch.as_tensor(rng.normal(size=tuple(x.shape)), dtype=x.dtype, device=x.device)
        try:
            grads = torch.autograd.grad((weights * x).sum(), [tensors[k] for k in names], allow_unused=True)
        except RuntimeError as error:
            problems.append(f"backward through rsample() raises: {str(error).splitlines()[0]}")
            grads = ()
        for name, grad in zip(names, grads):
            if grad is not None and torch.isnan(grad).any():
                nan_gradients += int(torch.isnan(grad).sum())
                grad = grad[~torch.isnan(grad)]
                if not grad.numel():
                    continue
            if grad is None:
                problems.append(f"{name} gets no gradient")
            elif not torch.isfinite(grad).all():
                problems.append(f"{name} gets a non-finite gradient: {grad.flatten()[:6].tolist()}")
            elif not grad.any():
                problems.append(f"{name} gets an identically zero gradient")
    # compared: sample() detached, rsample() attached, and each floating parameter's gradient
    return CheckResult("rsample.flow", family.name, dtype_name(dtype), passed=not problems,
                       compared=2 + len(names), failures=len(problems),
                       message="; ".join(problems) or "all parameters reached", details=problems,
                       worst={"nan_gradients": nan_gradients} if nan_gradients else {})


def nan_gradients(result: CheckResult) -> CheckResult:
    """The gradients an unbiasedness or flow result left out for being NaN: any is a failure."""
    count = int(result.worst.get("nan_gradients", 0))
    return CheckResult("rsample.nan_gradient", result.family, result.dtype, passed=count == 0, compared=1,
                       failures=int(count > 0), message=f"{count} gradients NaN")

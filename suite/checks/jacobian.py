"""Per-sample Jacobians of log_prob with respect to a distribution's parameters, by every method.

A `Problem` holds a family, its parameters as tensors (batch shape (n,) or ()), the names of the
parameters to differentiate and N points x shaped (N, *batch_shape, *event_shape). Its Jacobian is

    J[name][i, j, ...] = d log_prob(x_i)[j] / d params[name][j, ...]

shaped (N, *params[name].shape). Batch elements are independent, so every method differentiates
f(params) = log_prob(x).sum(over batch) -> (N,), which is how the per-sample Jacobian is written
in practice. Each method either returns the Jacobian or is recorded as `unsupported` with the
error it raised; the analytic score (float64, numpy/scipy) is the reference where it is known.
Whether a method agrees with the reference, and fails only where recorded, is judged in
`suite.checks.jacobian_agreement`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.distributions import Distribution
from torch.distributions.constraints import Constraint

from suite.registry.families import FAMILIES, REGISTRY, Family, ParamDict, Unsupported, dtype_name, round_to, to_tensor
from suite.state import derive_seed, preserved_state

OK = "ok"
UNSUPPORTED = "unsupported"

Jacobian = dict[str, torch.Tensor]
JacobianFn = Callable[..., tuple[torch.Tensor, ...]]



# --------------------------------------------------------------------------- problems


@functools.lru_cache(maxsize=None)
def _registry_arg_constraints(name: str) -> Mapping[str, Constraint]:
    return REGISTRY[name].example().arg_constraints


def arg_constraints(family: Family) -> Mapping[str, Constraint]:
    """The arg_constraints of an instance (some classes define them as a property)."""
    if REGISTRY.get(family.name) is family:
        return _registry_arg_constraints(family.name)
    return family.example().arg_constraints


def differentiable_params(family: Family, params: ParamDict) -> tuple[str, ...]:
    """Floating parameters whose constraint (from the instance's arg_constraints) is not discrete.

    Python ints (Multinomial total_count, LKJCholesky dim) and integer-constrained arrays (Binomial
    total_count) are left out; parameters the class does not declare (built families, temperature)
    are kept.
    """
    constraints = arg_constraints(family)
    names = []
    for name, value in params.items():
        if isinstance(value, int) or not np.issubdtype(np.asarray(value).dtype, np.floating):
            continue
        constraint = constraints.get(name)
        try:
            discrete = bool(constraint.is_discrete) if constraint is not None else False
        except NotImplementedError:
            discrete = False
        if not discrete:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class Problem:
    family: Family
    params: Mapping[str, torch.Tensor | int]
    wrt: tuple[str, ...]
    x: torch.Tensor
    validate_args: bool | None = False

    @property
    def inputs(self) -> tuple[torch.Tensor, ...]:
        return tuple(self.params[name] for name in self.wrt)

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def batch_ndim(self) -> int:
        return len(self.distribution(*self.inputs).batch_shape)

    def distribution(self, *values: torch.Tensor) -> Distribution:
        return self.family.from_tensors({**self.params, **dict(zip(self.wrt, values))}, self.validate_args)

    def log_prob(self, *values: torch.Tensor) -> torch.Tensor:
        """(N,): log_prob of each x_i summed over the batch."""
        lp = self.distribution(*values).log_prob(self.x)
        return lp.reshape(self.n_samples, -1).sum(-1)

    def log_prob_at(self, x_i: torch.Tensor, *values: torch.Tensor) -> torch.Tensor:
        """Scalar: log_prob of one point (batch_shape + event_shape) summed over the batch."""
        return self.distribution(*values).log_prob(x_i).sum()

    def numpy_params(self) -> dict[str, np.ndarray | int]:
        return {k: v if isinstance(v, int) else v.detach().cpu().to(torch.float64).numpy()
                for k, v in self.params.items()}

    def numpy_x(self) -> np.ndarray:
        return self.x.detach().cpu().to(torch.float64).numpy()


def registry_problem(family: Family, rng: np.random.Generator, n: int, dtype: torch.dtype,
                     device: str | torch.device, validate_args: bool | None = False) -> Problem:
    """n parameter sets from the registry; x = the reference's points of the support, rounded to dtype.

    A point where the reference or torch gives a non-finite log_prob (a boundary point with density 0
    or infinite, or one the dtype cannot hold) has no finite score, and in the batched methods one
    such point turns every sample's row to nan through 0 * inf; it is replaced by the first point of
    the same parameter set that has a finite log_prob. So is a point with a subnormal component, which
    the dtype holds only to a few bits (as the value checks leave such points out: values.unrepresentable).
    All floating parameters are differentiated.
    """
    params = round_to(family.draw(rng, n, check="jacobian.*", corners=False, dtype=dtype_name(dtype)), dtype)
    reference = family.reference(params)
    x = torch.as_tensor(np.asarray(reference.values(rng)), dtype=dtype, device=device)
    tensors = {k: to_tensor(v, dtype, device) for k, v in params.items()}
    with np.errstate(all="ignore"):
        lp_ref = np.asarray(reference.log_prob(x.to(torch.float64).cpu().numpy()))
    finite = torch.isfinite(torch.as_tensor(lp_ref))
    finite = finite.reshape(x.shape[0], -1).to(device)
    subnormal = (x != 0) & (x.abs() < torch.finfo(dtype).tiny)
    finite &= ~subnormal.reshape(*finite.shape, -1).any(-1)
    try:
        with torch.no_grad():
            finite &= torch.isfinite(family.from_tensors(tensors, False).log_prob(x).reshape(finite.shape))
    except Exception:  # noqa: BLE001 - a log_prob that raises is recorded by every method instead
        pass
    if not finite.any(0).all():
        raise ValueError(f"{family.name}: a parameter set has no point with a finite log_prob")
    first = finite.to(torch.int8).argmax(0)
    flat = x.reshape(*finite.shape, -1)
    replacement = flat[first, torch.arange(finite.shape[1], device=device)].expand_as(flat)
    x = torch.where(finite[..., None], flat, replacement).reshape(x.shape)
    return Problem(family, tensors, differentiable_params(family, params), x, validate_args)


N_SETS = 4


def case_problem(family: Family, dtype: torch.dtype, device: str | torch.device, validate_args: bool | None,
                 run_seed: int = 0) -> Problem:
    """The registry problem of the generated cases: N_SETS parameter sets drawn from a seed derived
    from the family, the dtype and the run's seed (not the device, so devices see the same problem)."""
    rng = np.random.default_rng(derive_seed("jacobian", family.name, dtype, run_seed))
    return registry_problem(family, rng, N_SETS, dtype, device, validate_args)


def sampled_problem(family: Family, params: ParamDict, n_samples: int, dtype: torch.dtype,
                    device: str | torch.device, seed: int, wrt: tuple[str, ...] | None = None,
                    validate_args: bool | None = False) -> Problem:
    """x = n_samples draws from the distribution itself (drawn under `seed`), as in the seed report."""
    tensors = {k: to_tensor(v, dtype, device) for k, v in params.items()}
    with preserved_state(seed):
        x = family.from_tensors(tensors, validate_args).sample((n_samples,))
    return Problem(family, tensors, wrt or differentiable_params(family, params), x, validate_args)




# --------------------------------------------------------------------------- methods


REVERSE, FORWARD, CLOSED_FORM = "reverse", "forward", "closed form"


@dataclass(frozen=True)
class Method:
    name: str
    prepare: Callable[[Problem], JacobianFn]
    description: str
    mode: str = REVERSE
    unsupported: Unsupported | None = None  # raises for every family


def _loop(problem: Problem) -> JacobianFn:
    def fn(*inputs):
        leaves = [t.detach().requires_grad_() for t in inputs]
        lp = problem.log_prob(*leaves)
        rows = [torch.autograd.grad(lp[i], leaves, retain_graph=True) for i in range(problem.n_samples)]
        return tuple(torch.stack(per_param) for per_param in zip(*rows))
    return fn


def _functional(vectorize: bool, strategy: str) -> Callable[[Problem], JacobianFn]:
    def prepare(problem: Problem) -> JacobianFn:
        def fn(*inputs):
            return torch.autograd.functional.jacobian(problem.log_prob, inputs, vectorize=vectorize,
                                                      strategy=strategy)
        return fn
    return prepare


def _func(transform) -> Callable[[Problem], JacobianFn]:
    def prepare(problem: Problem) -> JacobianFn:
        def fn(*inputs):
            return transform(problem.log_prob, argnums=tuple(range(len(inputs))))(*inputs)
        return fn
    return prepare


def _vmap_grad(problem: Problem) -> JacobianFn:
    def fn(*inputs):
        k = len(inputs)
        per_sample = torch.func.grad(lambda *a: problem.log_prob_at(a[k], *a[:k]), argnums=tuple(range(k)))
        return torch.func.vmap(per_sample, in_dims=(None,) * k + (0,))(*inputs, problem.x)
    return fn


def _analytic(problem: Problem) -> JacobianFn:
    score = problem.family.score
    if score is None:
        raise NotImplementedError(f"no analytic score for {problem.family.name}")

    def fn(*inputs):
        p = problem.numpy_params()
        p.update({k: v.detach().cpu().to(torch.float64).numpy() for k, v in zip(problem.wrt, inputs)})
        values = score(p, problem.numpy_x())
        missing = [name for name in problem.wrt if name not in values]
        if missing:
            raise NotImplementedError(f"no analytic score for {problem.family.name} wrt {', '.join(missing)}")
        like = problem.x
        return tuple(torch.as_tensor(np.broadcast_to(values[name], (problem.n_samples, *inputs[i].shape)).copy(),
                                     dtype=like.dtype, device=like.device)
                     for i, name in enumerate(problem.wrt))
    return fn


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("loop", _loop, "Python loop of torch.autograd.grad over the N log-probs (retain_graph)"),
    Method("functional.reverse", _functional(False, "reverse-mode"),
           "torch.autograd.functional.jacobian(vectorize=False, strategy='reverse-mode')"),
    Method("functional.reverse.vectorize", _functional(True, "reverse-mode"),
           "torch.autograd.functional.jacobian(vectorize=True, strategy='reverse-mode')"),
    Method("functional.forward", _functional(False, "forward-mode"),
           "torch.autograd.functional.jacobian(vectorize=False, strategy='forward-mode')", FORWARD,
           Unsupported("only implemented for `vectorize=True`",
                       "torch.autograd.functional.jacobian implements forward-mode only with vectorize=True")),
    Method("functional.forward.vectorize", _functional(True, "forward-mode"),
           "torch.autograd.functional.jacobian(vectorize=True, strategy='forward-mode')", FORWARD),
    Method("jacrev", _func(torch.func.jacrev), "torch.func.jacrev over all parameters"),
    Method("jacfwd", _func(torch.func.jacfwd), "torch.func.jacfwd over all parameters", FORWARD),
    Method("vmap_grad", _vmap_grad, "torch.func.vmap over the samples of torch.func.grad of one log-prob"),
    Method("analytic", _analytic, "closed-form score in float64 numpy/scipy (the entry's score)", CLOSED_FORM),
]}

REFERENCE_METHOD = "analytic"
BASELINE_METHOD = "loop"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ComputedJacobian:
    """One method's Jacobian of one problem, or the error it raised (status UNSUPPORTED)."""

    method: str
    family: str
    status: str
    jacobian: Jacobian | None = None
    error: str | None = None
    dtype: str = "float64"

    @property
    def ok(self) -> bool:
        return self.status == OK


def _error_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}"


def compute(method: Method | str, problem: Problem) -> ComputedJacobian:
    """The method's Jacobian, or `unsupported` with the error it raised (never an exception)."""
    method = METHODS[method] if isinstance(method, str) else method
    dtype = dtype_name(problem.x.dtype)
    try:
        values = method.prepare(problem)(*problem.inputs)
    except Exception as exc:  # noqa: BLE001 - every failure of a method is a recorded result
        return ComputedJacobian(method.name, problem.family.name, UNSUPPORTED, error=_error_line(exc), dtype=dtype)
    return ComputedJacobian(method.name, problem.family.name, OK,
                            {name: v.detach() for name, v in zip(problem.wrt, values)}, dtype=dtype)


# --------------------------------------------------------------------------- benchmark entry point


def benchmark_case(method: str, family: str, n_samples: int, dim: int | None, device: str | torch.device,
                   dtype: torch.dtype, *, wrt: tuple[str, ...] | None = None, n_sets: int | None = None,
                   seed: int = 0, validate_args: bool | None = False) -> tuple[JacobianFn, tuple[torch.Tensor, ...]]:
    """(fn, inputs) such that fn(*inputs) returns the method's per-sample Jacobians; call it repeatedly.

    `dim` sets the event size for families whose entry has sized_params (None keeps the registry's). `n_sets` None
    gives one unbatched parameter set, as in the seed report (MVN mean, N samples, wrt=("loc",));
    wrt None differentiates every floating parameter. x are n_samples draws under `seed`.
    """
    fam = REGISTRY[family]
    rng = np.random.default_rng(seed)
    count = 1 if n_sets is None else n_sets
    if dim is None:
        params = fam.make_params(rng, count)
    elif fam.sized_params is not None:
        params = fam.sized_params(rng, count, dim)
    else:
        sized = ", ".join(f.name for f in FAMILIES if f.sized_params is not None)
        raise ValueError(f"{family} has no sized parameter generator (families with one: {sized})")
    if n_sets is None:
        params = {k: v if isinstance(v, int) else np.asarray(v)[0] for k, v in params.items()}
    problem = sampled_problem(fam, round_to(params, dtype), n_samples, dtype, device, seed, wrt, validate_args)
    return METHODS[method].prepare(problem), problem.inputs



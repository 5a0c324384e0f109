"""Parity of execution modes with eager: torch.compile, torch.func.vmap and validation on or off.

Every function here is pure (no pytest). One batch of parameter sets per family; every method of
MODE_METHODS the family implements is called by one function (`call_methods`) that also builds the
distribution, so that construction is compiled or vmapped together with the methods. Each mode's
outputs are compared with eager's: the same values within the family's tolerance for the dtype
(random methods drawn from the same seed), the same shapes, and the same errors for invalid input.
A vmapped draw cannot share eager's random stream, so there its shape, dtype and support are compared.
The results are CheckResults (check = the method, or "invalid_params" / "invalid_value"), element-wise
over the parameter sets, so a difference can be pinned as a Known deviation with mode "compile",
"vmap" or "validation".
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from suite.checks.result import CheckResult, failed
from suite.registry.families import Family, ParamDict, dtype_name, invalid_params, to_tensor

MODE_METHODS = ("log_prob", "cdf", "icdf", "entropy", "rsample", "sample")
RANDOM_METHODS = ("rsample", "sample")
COMPILE, VMAP, VALIDATION = "compile", "vmap", "validation"
MODES = (COMPILE, VMAP, VALIDATION)
INVALID_CHECKS = ("invalid_params", "invalid_value")
N_SETS = 6
FAST_BACKEND = "aot_eager"

Outputs = dict[str, "torch.Tensor | BaseException"]
Runner = Callable[["Inputs", Sequence[str], bool], Outputs]


@dataclass(frozen=True)
class Inputs:
    """One batch of parameter sets as tensors, a point per set for log_prob and cdf (x) and a quantile
    per set for icdf (q)."""

    family: Family
    params: ParamDict
    tensors: dict
    x: torch.Tensor
    q: torch.Tensor
    dtype: torch.dtype

    @property
    def size(self) -> int:
        return int(self.x.shape[0])


def make_inputs(family: Family, n: int = N_SETS, dtype: torch.dtype = torch.float64, seed: int = 0,
                device: str | torch.device = "cpu", params: ParamDict | None = None) -> Inputs:
    params = family.make_params(np.random.default_rng(seed), n) if params is None else params
    tensors = {k: to_tensor(v, dtype, device) for k, v in params.items()}
    dist = family.from_tensors(tensors, validate_args=False)
    with torch.random.fork_rng(devices=[]), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(seed)
        x = dist.sample()
    q = torch.linspace(0.05, 0.95, n, dtype=dtype, device=device).reshape(n, *[1] * (len(dist.batch_shape) - 1))
    q = q.expand(dist.batch_shape).contiguous()
    return Inputs(family, params, tensors, x, q, dtype)


def call_methods(family: Family, tensors: Mapping, x: torch.Tensor, q: torch.Tensor, methods: Sequence[str],
                 validate_args: bool) -> dict[str, torch.Tensor]:
    """Build the distribution and call each method: the function every mode runs."""
    dist = family.from_tensors(dict(tensors), validate_args=validate_args)
    out = {}
    for method in methods:
        if method in ("log_prob", "cdf"):
            out[method] = getattr(dist, method)(x)
        elif method == "icdf":
            out[method] = dist.icdf(q)
        else:
            out[method] = getattr(dist, method)()
    return out


def methods_of(family: Family, dtype: torch.dtype = torch.float64) -> tuple[str, ...]:
    """The methods of MODE_METHODS the family implements (eager does not raise NotImplementedError)."""
    inputs = make_inputs(family, 2, dtype)
    found = []
    for method in MODE_METHODS:
        if method == "rsample" and not family.has_rsample:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call_methods(family, inputs.tensors, inputs.x, inputs.q, (method,), False)
        except NotImplementedError:
            continue
        except Exception:  # noqa: BLE001 - a method that raises in eager is still checked for the same error
            pass
        found.append(method)
    return tuple(found)


def _each(run: Callable[[Sequence[str]], dict], methods: Sequence[str]) -> Outputs:
    """All methods in one call; if that raises, each method alone, so an error is attributed to its method."""
    try:
        return dict(run(methods))
    except Exception:  # noqa: BLE001 - every failure becomes data
        pass
    out: Outputs = {}
    for method in methods:
        try:
            out[method] = run((method,))[method]
        except Exception as exc:  # noqa: BLE001
            out[method] = exc
    return out


def run_eager(inputs: Inputs, methods: Sequence[str], validate_args: bool, seed: int = 0) -> Outputs:
    def run(chosen):
        torch.manual_seed(seed)
        return call_methods(inputs.family, inputs.tensors, inputs.x, inputs.q, chosen, validate_args)
    return _each(run, methods)


def compiled_runner(backend: str = FAST_BACKEND, seed: int = 0, compiler: Callable | None = None) -> Runner:
    """A Runner that calls `call_methods` under torch.compile (static shapes) with a fresh Dynamo cache."""
    def runner(inputs: Inputs, methods: Sequence[str], validate_args: bool) -> Outputs:
        def run(chosen):
            torch._dynamo.reset()
            fn = (compiler or (lambda f: torch.compile(f, backend=backend, dynamic=False)))(call_methods)
            torch.manual_seed(seed)
            return fn(inputs.family, inputs.tensors, inputs.x, inputs.q, tuple(chosen), validate_args)
        try:
            with _eager_random_stream(backend), kept_validation_default():
                return _each(run, methods)
        finally:
            torch._dynamo.reset()
    return runner


@contextlib.contextmanager
def kept_validation_default() -> Iterator[None]:
    """Restore Distribution's global validation default after a block that compiles: Dynamo's first
    compilation in a process sets it to False for good (TorchPatcher.patch), which would change every
    later eager check that leaves validate_args unset (LKJCholesky's inner Beta, for one)."""
    previous = torch.distributions.Distribution._validate_args
    try:
        yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(previous)


def validation_default_after_compile(family: Family, timeout_s: float = 300.0, after_compile: str = "") -> CheckResult:
    """Whether compiling a family's log_prob (validate_args given explicitly) leaves the global validation
    default as it was, measured in a fresh interpreter: Dynamo changes it once per process, on its first
    compilation, so only a fresh process shows it. `after_compile` is Python run after compiling (a repair,
    to show the check passes where the default is kept)."""
    import subprocess
    import sys
    code = ("import torch, numpy as np; from torch.distributions import Distribution as D; "
            "from suite.checks.modes import make_inputs, call_methods; "
            "from suite.registry.families import REGISTRY; "
            f"f = REGISTRY[{family.name!r}]; i = make_inputs(f); D.set_default_validate_args(True); "
            "torch.compile(call_methods, backend='aot_eager')(f, i.tensors, i.x, i.q, ('log_prob',), False); "
            + (f"{after_compile}; " if after_compile else "") + "print(D._validate_args)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s)
    if run.returncode != 0:
        return failed("global_validation", family.name, "float64", f"could not compile: {run.stderr[-300:]}")
    after = run.stdout.strip().splitlines()[-1]
    if after != "True":
        return failed("global_validation", family.name, "float64",
                      f"after the first torch.compile the global validation default is {after} (was True): eager "
                      "distributions built later without validate_args accept invalid parameters")
    return CheckResult("global_validation", family.name, "float64", compared=1)


@contextlib.contextmanager
def _eager_random_stream(backend: str) -> Iterator[None]:
    """Inductor draws random numbers its own way unless told to fall back to eager's generator; with it,
    a compiled draw is eager's draw for the same seed."""
    if backend != "inductor":
        yield
        return
    import torch._inductor.config as inductor_config
    with inductor_config.patch(fallback_random=True):
        yield


def in_dims_of(tensors: Mapping) -> dict:
    """vmap's in_dims for the parameters: the leading (parameter set) dimension of every batched tensor;
    integers and 0-d tensors (one value for the whole batch) are shared."""
    return {k: 0 if isinstance(v, torch.Tensor) and v.ndim > 0 else None for k, v in tensors.items()}


def vmap_runner(vmap: Callable = torch.func.vmap) -> Runner:
    """A Runner that vmaps `call_methods` over the parameter sets: each call builds one parameter set's
    distribution and evaluates its point; draws are independent across sets (randomness="different")."""
    def runner(inputs: Inputs, methods: Sequence[str], validate_args: bool) -> Outputs:
        def run(chosen):
            def one(tensors, x, q):
                return call_methods(inputs.family, tensors, x, q, tuple(chosen), validate_args)
            batched = vmap(one, in_dims=(in_dims_of(inputs.tensors), 0, 0), randomness="different")
            return batched(inputs.tensors, inputs.x, inputs.q)
        return _each(run, methods)
    return runner


def describe(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _row_coords(params: ParamDict, n: int) -> dict:
    """The parameters that hold one number per parameter set, as coordinates of a per-set grid."""
    coords = {}
    for name, value in params.items():
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.shape[0] == n:
            coords[name] = arr.astype(np.float64)
    return coords


def _per_set(mask: torch.Tensor, n: int) -> np.ndarray:
    return mask.reshape(n, -1).all(-1).cpu().numpy() if mask.numel() else np.ones(n, dtype=bool)


def compare_outputs(family: Family, method: str, eager, other, inputs: Inputs, *,
                    values: bool = True) -> CheckResult:
    """Whether `other` (a mode's result) is eager's: the same error type (or a subclass of it: Dynamo wraps
    errors raised while tracing in TorchRuntimeError, a RuntimeError), or the same shape and dtype and,
    with `values`, the same values within the family's tolerance (NaN where NaN); without `values`, draws
    inside the support."""
    dtype = dtype_name(inputs.dtype)
    if isinstance(eager, BaseException) or isinstance(other, BaseException):
        if isinstance(eager, BaseException) and isinstance(other, type(eager)):
            return CheckResult(method, family.name, dtype, compared=1, message=f"same error: {describe(other)}")
        seen = describe(other) if isinstance(other, BaseException) else "no error"
        expected = describe(eager) if isinstance(eager, BaseException) else "a value"
        return failed(method, family.name, dtype, f"{seen}; eager gives {expected}")
    if tuple(other.shape) != tuple(eager.shape) or other.dtype != eager.dtype:
        return failed(method, family.name, dtype, f"shape {tuple(other.shape)} {other.dtype}; "
                                                  f"eager gives {tuple(eager.shape)} {eager.dtype}")
    n = inputs.size
    if values:
        tol = family.tolerance[inputs.dtype]
        a, b = eager.detach(), other.detach()
        if not a.is_floating_point():
            a, b = a.double(), b.double()
        close = torch.isclose(b, a, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
        ok = _per_set(close, n)
        diff = (b - a).abs().nan_to_num(0.0)
        diff = torch.where(close, torch.zeros_like(diff), diff.nan_to_num(float("inf")))
        max_abs = float(diff.max()) if diff.numel() else 0.0
        what = "values differ"
    else:
        dist = family.from_tensors(inputs.tensors, validate_args=False)
        inside = dist.support.check(other.detach())
        ok = _per_set(inside, n)
        max_abs = 0.0
        what = "draws outside the support"
    failures = int((~ok).sum())
    result = CheckResult(method, family.name, dtype, passed=failures == 0, compared=n, failures=failures,
                         max_abs_error=max_abs, ok=ok, coords=_row_coords(inputs.params, n))
    if failures:
        result.worst = {k: float(v[np.argmin(ok)]) for k, v in result.coords.items()}
        result.message = f"{what} in {failures} of {n} parameter sets"
    return result


def check_mode(inputs: Inputs, mode: str, methods: Sequence[str] | None = None, runner: Runner | None = None,
               validate_args: bool = False, seed: int = 0) -> dict[str, CheckResult]:
    """One CheckResult per method: the mode's outputs against eager's. `mode` "validation" runs eager with
    validation on against eager with it off; `runner` replaces the mode's default (a compile backend,
    a planted fault)."""
    family = inputs.family
    methods = methods_of(family, inputs.dtype) if methods is None else tuple(methods)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = run_eager(inputs, methods, validate_args, seed)
        if mode == VALIDATION:
            other = (runner or (lambda i, m, v: run_eager(i, m, v, seed)))(inputs, methods, True)
        elif mode == COMPILE:
            other = (runner or compiled_runner(seed=seed))(inputs, methods, validate_args)
        elif mode == VMAP:
            other = (runner or vmap_runner())(inputs, methods, validate_args)
        else:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    values_comparable = mode != VMAP
    return {m: compare_outputs(family, m, eager[m], other[m], inputs,
                               values=values_comparable or m not in RANDOM_METHODS)
            for m in methods}


def invalid_inputs(family: Family, dtype: torch.dtype = torch.float64, seed: int = 0) -> dict[str, Inputs]:
    """Inputs that validation must reject: the family's first invalid parameter set (invalid_params),
    and valid parameters with NaN points (outside every support)."""
    out = {}
    if family.invalid:
        _, params = invalid_params(family, np.random.default_rng(seed))[0]
        valid = make_inputs(family, 4, dtype, seed)
        tensors = {k: to_tensor(v, dtype, "cpu") for k, v in params.items()}
        out["invalid_params"] = Inputs(family, params, tensors, valid.x, valid.q, dtype)
    valid = make_inputs(family, 4, dtype, seed)
    nan_x = torch.full(valid.x.shape, float("nan"), dtype=dtype)
    out["invalid_value"] = Inputs(family, valid.params, valid.tensors, nan_x, valid.q, dtype)
    return out


def check_invalid(family: Family, mode: str, runner: Runner | None = None, dtype: torch.dtype = torch.float64,
                  seed: int = 0) -> dict[str, CheckResult]:
    """With validation on, the mode raises what eager raises for invalid parameters (building the
    distribution and calling log_prob, or its first method) and for a NaN point given to log_prob."""
    if mode == VALIDATION:
        raise ValueError("invalid input is checked in the compile and vmap modes; validation's own "
                         "rejection of it is suite.checks.values.check_invalid_params")
    methods = methods_of(family, dtype)
    results = {}
    for check, inputs in invalid_inputs(family, dtype, seed).items():
        if check == "invalid_value" and "log_prob" not in methods:
            continue
        chosen = ("log_prob",) if "log_prob" in methods else methods[:1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eager = run_eager(inputs, chosen, True, seed)[chosen[0]]
            run = runner or (compiled_runner(seed=seed) if mode == COMPILE else vmap_runner())
            other = run(inputs, chosen, True)[chosen[0]]
        results[check] = compare_outputs(family, check, eager, other, inputs)
    return results

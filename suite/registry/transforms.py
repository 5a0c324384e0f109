"""Every public Transform of torch.distributions.transforms, as cases: how to build it in a dtype, where its
domain's points lie (the bulk and pinned points near the boundary). Their known deviations are in
suite.registry.transforms_known.

A case's points are float64 numpy arrays of shape batch + event; pinned points come first, so every seed
reaches them. `covers` names the classes a case exercises; `uncovered_transforms()` lists public Transform
classes that no case exercises, and a test fails on any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributions as D
import torch.distributions.transforms as T

Points = Callable[[np.random.Generator, int, np.finfo], np.ndarray]


@dataclass(frozen=True)
class TransformCase:
    name: str
    build: Callable[[torch.dtype], T.Transform]
    points: Points
    covers: tuple[str, ...]
    # A float64 forward map with accurate derivatives, where autograd through the transform's own forward
    # loses them (sigmoid, tanh near saturation); jacrev of it is the log-det reference.
    reference_forward: Callable[[torch.Tensor], torch.Tensor] | None = None
    # Output coordinates the log-det refers to, when the codomain has more coordinates than the domain.
    project: Callable[[torch.Tensor], torch.Tensor] | None = None
    # Input coordinates it refers to, when the domain has more coordinates than the codomain.
    project_in: Callable[[torch.Tensor], torch.Tensor] | None = None
    bulk_size: int = 100
    # The transform treats batch elements differently (batched parameters, Cat/Stack along a batch dim):
    # its Jacobian is taken over the whole tensor, and its off-block entries must be 0.
    batch_dependent: bool = False


def _scalars(edges: Callable[[np.finfo], list[float]], bulk: Callable[[np.random.Generator, int], np.ndarray]):
    def points(rng: np.random.Generator, n: int, finfo: np.finfo) -> np.ndarray:
        pinned = np.asarray(edges(finfo), dtype=np.float64)
        return np.concatenate([pinned, bulk(rng, n)])
    return points


def _real_bulk(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(-4, 1.3, n)


def _positive_bulk(rng: np.random.Generator, n: int) -> np.ndarray:
    return 10 ** rng.uniform(-6, 6, n)


def _unit_bulk(rng: np.random.Generator, n: int) -> np.ndarray:
    return 1 / (1 + np.exp(-rng.uniform(-25, 25, n)))


def _log_max(f: np.finfo) -> float:
    return float(np.log(f.max))


def _log_tiny(f: np.finfo) -> float:
    return float(np.log(f.tiny))


def _next_below_one(f: np.finfo) -> float:
    return float(1 - f.epsneg)


REAL_EDGES = lambda f: [0.0, f.tiny, -f.tiny, 1e-8, -1e-8, 30.0, -30.0]  # noqa: E731


def _vectors(k: int, scale_edges: Callable[[np.finfo], list[float]], bulk_scale: float = 3.0):
    """Real vectors of length k: the bulk, and pinned vectors with one or every coordinate large."""
    def points(rng: np.random.Generator, n: int, finfo: np.finfo) -> np.ndarray:
        pinned = []
        for s in scale_edges(finfo):
            pinned.append(np.full(k, s))
            for i in range(k):
                v = np.zeros(k)
                v[i] = s
                pinned.append(v)
        return np.concatenate([np.array(pinned).reshape(-1, k), rng.normal(0, bulk_scale, (n, k))])
    return points


def _matrices(d: int):
    def points(rng: np.random.Generator, n: int, finfo: np.finfo) -> np.ndarray:
        pinned = np.stack([np.eye(d) * -20, np.eye(d) * 20, np.zeros((d, d))])
        # float32 keeps x x^T positive definite only for moderate diagonals (condition number < 1/eps)
        return np.concatenate([pinned, rng.normal(0, 2 if finfo.bits == 64 else 0.5, (n, d, d))])
    return points


_TINY_LAST = (0.10919555318894836, 0.6180518682661136, 1.8912634704672007e-05, 0.2727336344530308,
              3.145720260097775e-08)


def _simplex(k: int):
    def points(rng: np.random.Generator, n: int, finfo: np.finfo) -> np.ndarray:
        tiny = 1e-12 if finfo.bits == 64 else 1e-5
        pinned = []
        for i in range(k):
            v = np.full(k, tiny)
            v[i] = 1 - (k - 1) * tiny
            pinned.append(v)
        pinned.append(np.full(k, 1 / k))
        if k == len(_TINY_LAST):  # a random draw's tiny last coordinate, where float32's inverse log-det fails
            pinned.append(np.array(_TINY_LAST))
        return np.concatenate([np.array(pinned), rng.dirichlet(np.full(k, 0.5), n)])
    return points


def _corr_cholesky(d: int):
    """Cholesky factors of correlation matrices: the identity, a nearly singular one, and random ones."""
    def points(rng: np.random.Generator, n: int, finfo: np.finfo) -> np.ndarray:
        near = 1 - (1e-6 if finfo.bits == 64 else 1e-3)
        corr = np.full((d, d), near) + np.eye(d) * (1 - near)
        pinned = np.stack([np.eye(d), np.linalg.cholesky(corr)])
        a = rng.normal(0, 1, (n, d, d + 2))
        cov = a @ np.swapaxes(a, -1, -2)
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        return np.concatenate([pinned, np.linalg.cholesky(cov / sd[..., :, None] / sd[..., None, :])])
    return points


def _tensor(values, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=dtype)


def _sigmoid_reference(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-torch.nn.functional.softplus(-x))


def _tanh_reference(x: torch.Tensor) -> torch.Tensor:
    # tanh(x) = 2 sigmoid(2x) - 1, written so both ends keep their relative precision under autograd.
    return torch.exp(-torch.nn.functional.softplus(-2 * x)) - torch.exp(-torch.nn.functional.softplus(2 * x))


def _softplus_reference(x: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(x, torch.zeros_like(x))


def _stick_breaking_reference(x: torch.Tensor) -> torch.Tensor:
    # 1 - sigmoid(u) as sigmoid(-u), so the small coordinates keep their relative precision.
    u = x - torch.arange(x.shape[-1], 0, -1, dtype=x.dtype).log()
    z, rest = torch.sigmoid(u), torch.sigmoid(-u).cumprod(-1)
    return torch.nn.functional.pad(z, [0, 1], value=1) * torch.nn.functional.pad(rest, [1, 0], value=1)


def _drop_last(y: torch.Tensor) -> torch.Tensor:
    return y[..., :-1]


def _strict_lower(y: torch.Tensor) -> torch.Tensor:
    d = y.shape[-1]
    rows, cols = torch.tril_indices(d, d, -1)
    return y[..., rows, cols]


def _scalar_cases() -> list[TransformCase]:
    exp_edges = lambda f: [0.0, 0.98 * _log_max(f), 0.98 * _log_tiny(f), 1e-300 if f.bits == 64 else 1e-30]  # noqa: E731
    positive_edges = lambda f: [f.tiny ** 0.35, 1e-8, 1.0, 1e8, f.max ** 0.35]  # noqa: E731
    unit_edges = lambda f: [f.tiny, 1e-12 if f.bits == 64 else 1e-6, 0.5, _next_below_one(f)]  # noqa: E731
    sym_edges = lambda f: [0.0, f.tiny, -f.tiny, _next_below_one(f), -_next_below_one(f), 1.0, -1.0]  # noqa: E731
    sat = lambda f: 0.45 * -_log_tiny(f)  # noqa: E731  (where exp(-2x) is still a normal number)
    cases = [
        TransformCase("Exp", lambda dt: T.ExpTransform(), _scalars(exp_edges, _real_bulk), ("ExpTransform",)),
        TransformCase("Exp.inv", lambda dt: T.ExpTransform().inv,
                      _scalars(lambda f: [f.tiny, 1e-10, 1.0, 1e10, f.max / 2], _positive_bulk),
                      ("ExpTransform",)),
        TransformCase("Power(2.5)", lambda dt: T.PowerTransform(_tensor(2.5, dt)),
                      _scalars(positive_edges, _positive_bulk), ("PowerTransform",)),
        TransformCase("Power(batch).inv",
                      lambda dt: T.PowerTransform(_tensor([-1.5, 0.5, 3.0, -0.25], dt)).inv,
                      lambda rng, n, f: 10 ** rng.uniform(-4, 4, (n, 4)), ("PowerTransform",),
                      batch_dependent=True, bulk_size=50),
        TransformCase("Sigmoid", lambda dt: T.SigmoidTransform(),
                      _scalars(lambda f: [*REAL_EDGES(f), -0.98 * -_log_tiny(f), 35.0], _real_bulk),
                      ("SigmoidTransform",), reference_forward=_sigmoid_reference),
        TransformCase("Sigmoid.inv", lambda dt: T.SigmoidTransform().inv, _scalars(unit_edges, _unit_bulk),
                      ("SigmoidTransform",), reference_forward=lambda y: y.log() - (-y).log1p()),
        TransformCase("Softplus", lambda dt: T.SoftplusTransform(),
                      _scalars(lambda f: [*REAL_EDGES(f), 0.9 * _log_tiny(f), 22.0, 1e4], _real_bulk),
                      ("SoftplusTransform",), reference_forward=_softplus_reference),
        TransformCase("Softplus.inv", lambda dt: T.SoftplusTransform().inv,
                      _scalars(lambda f: [f.tiny, 1e-8, 1.0, 22.0, 40.0, 1e6], _positive_bulk),
                      ("SoftplusTransform",)),
        TransformCase("Tanh", lambda dt: T.TanhTransform(),
                      _scalars(lambda f: [*REAL_EDGES(f)[:5], 15.0, -15.0, sat(f), -sat(f)], _real_bulk),
                      ("TanhTransform",), reference_forward=_tanh_reference),
        TransformCase("Tanh.inv", lambda dt: T.TanhTransform().inv,
                      _scalars(sym_edges, lambda rng, n: 2 * _unit_bulk(rng, n) - 1), ("TanhTransform",)),
        TransformCase("Abs", lambda dt: T.AbsTransform(), _scalars(REAL_EDGES, _real_bulk), ("AbsTransform",)),
        TransformCase("Affine(batch)",
                      lambda dt: T.AffineTransform(_tensor([0.0, -3.0, 1e3, 2.0], dt),
                                                   _tensor([1e-3, -2.0, 1e2, -1.0], dt)),
                      lambda rng, n, f: rng.normal(0, 10, (n, 4)), ("AffineTransform",),
                      batch_dependent=True, bulk_size=50),
        TransformCase("Affine(float)", lambda dt: T.AffineTransform(1.5, -0.5),
                      _scalars(REAL_EDGES, _real_bulk), ("AffineTransform",)),
        TransformCase("Affine(event_dim=1).inv",
                      lambda dt: T.AffineTransform(_tensor([1.0, 2.0, 3.0], dt), _tensor([0.5, -4.0, 2.0], dt),
                                                   event_dim=1).inv,
                      lambda rng, n, f: rng.normal(0, 10, (n, 3)), ("AffineTransform",)),
        TransformCase("CDF(Normal)",
                      lambda dt: T.CumulativeDistributionTransform(D.Normal(_tensor(1.0, dt), _tensor(2.0, dt))),
                      _scalars(lambda f: [1.0, -9.0, -5.0, 11.0, 13.0], lambda rng, n: rng.normal(1, 6, n)),
                      ("CumulativeDistributionTransform",)),
        TransformCase("CDF(Normal).inv",
                      lambda dt: T.CumulativeDistributionTransform(D.Normal(_tensor(1.0, dt),
                                                                            _tensor(2.0, dt))).inv,
                      _scalars(unit_edges, _unit_bulk), ("CumulativeDistributionTransform",)),
        TransformCase("identity", lambda dt: T.identity_transform, _scalars(REAL_EDGES, _real_bulk),
                      ("ComposeTransform",)),
    ]
    return cases


def _event_cases() -> list[TransformCase]:
    big = lambda f: [30.0, -30.0]  # noqa: E731
    return [
        TransformCase("StickBreaking", lambda dt: T.StickBreakingTransform(), _vectors(4, big),
                      ("StickBreakingTransform",), reference_forward=_stick_breaking_reference,
                      project=_drop_last),
        TransformCase("StickBreaking.inv", lambda dt: T.StickBreakingTransform().inv, _simplex(5),
                      ("StickBreakingTransform",), project_in=_drop_last),
        TransformCase("Softmax", lambda dt: T.SoftmaxTransform(), _vectors(4, big), ("SoftmaxTransform",)),
        TransformCase("CorrCholesky", lambda dt: T.CorrCholeskyTransform(),
                      _vectors(6, lambda f: [8.0, -8.0, 4.0]),
                      ("CorrCholeskyTransform",), project=_strict_lower),
        TransformCase("CorrCholesky.inv", lambda dt: T.CorrCholeskyTransform().inv, _corr_cholesky(4),
                      ("CorrCholeskyTransform",), project_in=_strict_lower),
        TransformCase("LowerCholesky", lambda dt: T.LowerCholeskyTransform(), _matrices(3),
                      ("LowerCholeskyTransform",)),
        TransformCase("PositiveDefinite", lambda dt: T.PositiveDefiniteTransform(), _matrices(3),
                      ("PositiveDefiniteTransform",)),
        TransformCase("Reshape(6->2x3)", lambda dt: T.ReshapeTransform((6,), (2, 3)),
                      lambda rng, n, f: rng.normal(0, 3, (n, 6)), ("ReshapeTransform",)),
        TransformCase("Reshape(6->2x3).inv", lambda dt: T.ReshapeTransform((6,), (2, 3)).inv,
                      lambda rng, n, f: rng.normal(0, 3, (n, 2, 3)), ("ReshapeTransform",)),
        TransformCase("Independent(Sigmoid,1)", lambda dt: T.IndependentTransform(T.SigmoidTransform(), 1),
                      lambda rng, n, f: rng.normal(0, 5, (n, 3)), ("IndependentTransform",),
                      reference_forward=_sigmoid_reference),
        TransformCase("Independent(Exp,2).inv", lambda dt: T.IndependentTransform(T.ExpTransform(), 2).inv,
                      lambda rng, n, f: 10 ** rng.uniform(-5, 5, (n, 2, 3)), ("IndependentTransform",)),
        TransformCase("Compose(Affine,Exp,Power)",
                      lambda dt: T.ComposeTransform([T.AffineTransform(0.5, -2.0), T.ExpTransform(),
                                                     T.PowerTransform(_tensor(0.5, dt))]),
                      _scalars(REAL_EDGES, _real_bulk), ("ComposeTransform",)),
        TransformCase("Compose(Affine,Exp,Power).inv",
                      lambda dt: T.ComposeTransform([T.AffineTransform(0.5, -2.0), T.ExpTransform(),
                                                     T.PowerTransform(_tensor(0.5, dt))]).inv,
                      _scalars(lambda f: [f.tiny ** 0.4, 1e-8, 1.0, 1e8], _positive_bulk), ("ComposeTransform",)),
        TransformCase("Compose(Exp,StickBreaking)",
                      lambda dt: T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()]),
                      _vectors(3, lambda f: [3.5, -3.5], bulk_scale=1.0), ("ComposeTransform",),
                      reference_forward=lambda x: _stick_breaking_reference(x.exp()), project=_drop_last),
    ]


def _cat_parts(dt: torch.dtype) -> list[T.Transform]:
    return [T.ExpTransform(), T.AffineTransform(1.0, -3.0)]


# Every legal dim of the points' shape (4, 5, 6), for Cat (split 1 + rest) and Stack (size 3 along dim).
CAT_SHAPE = (4, 5, 6)


def _cat_case(dim: int) -> TransformCase:
    size = CAT_SHAPE[dim]
    return TransformCase(f"Cat(dim={dim})",
                         lambda dt: T.CatTransform(_cat_parts(dt), dim=dim, lengths=[1, size - 1]),
                         lambda rng, n, f: rng.normal(0, 3, CAT_SHAPE), ("CatTransform",),
                         batch_dependent=True)


def _stack_case(dim: int) -> TransformCase:
    shape = [4, 5, 6]
    shape[dim] = 3
    parts = lambda dt: [T.ExpTransform(), T.SigmoidTransform(), T.AffineTransform(0.0, 2.0)]  # noqa: E731
    return TransformCase(f"Stack(dim={dim})", lambda dt: T.StackTransform(parts(dt), dim=dim),
                         lambda rng, n, f: rng.normal(0, 3, shape), ("StackTransform",),
                         batch_dependent=True)


def _composition_cases() -> list[TransformCase]:
    dims = [d for d in range(-3, 3)]
    indep = lambda t: T.IndependentTransform(t, 1)  # noqa: E731
    return [
        *[_cat_case(d) for d in dims],
        *[_stack_case(d) for d in dims],
        TransformCase("Cat(event,dim=-1)",
                      lambda dt: T.CatTransform([indep(T.ExpTransform()), indep(T.SigmoidTransform())],
                                                dim=-1, lengths=[2, 3]),
                      lambda rng, n, f: rng.normal(0, 3, (n, 5)), ("CatTransform",)),
        TransformCase("Cat(event,dim=0).inv",
                      lambda dt: T.CatTransform([indep(T.ExpTransform()), indep(T.ExpTransform())],
                                                dim=0, lengths=[2, 3]).inv,
                      lambda rng, n, f: 10 ** rng.uniform(-3, 3, (5, 4)), ("CatTransform",), batch_dependent=True),
        TransformCase("Stack(dim=1).inv",
                      lambda dt: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1).inv,
                      lambda rng, n, f: np.concatenate([[[1.0, 1 - 2.0 ** -24]], np.stack(
                          [10 ** rng.uniform(-3, 3, n), _unit_bulk(rng, n)], axis=1)]),
                      ("StackTransform",), batch_dependent=True, bulk_size=50),
    ]


TRANSFORM_CASES: list[TransformCase] = [*_scalar_cases(), *_event_cases(), *_composition_cases()]


def public_transform_classes() -> list[str]:
    """The public Transform classes of torch.distributions.transforms, read from the module."""
    return [name for name in T.__all__
            if isinstance(getattr(T, name), type) and issubclass(getattr(T, name), T.Transform)
            and name != "Transform"]


def uncovered_transforms(cases: list[TransformCase] = TRANSFORM_CASES) -> list[str]:
    covered = {name for case in cases for name in case.covers}
    return [name for name in public_transform_classes() if name not in covered]


"""Ways to train a torch distribution's parameters, and a check that they train the right thing.

A distribution whose parameters must satisfy constraints (a positive scale, a simplex, a
Cholesky factor) is trained through unconstrained tensors mapped by a transform. Four strategies:

- ``retain_graph``: build the distribution once from transformed tensors and call
  ``backward(retain_graph=True)`` every step. The raw tensors move, but the distribution keeps
  the values derived at construction (``stale``), or backward raises an in-place modification
  error when the transform saved its input (``error``, e.g. softplus).
- ``rebuild_per_step``: apply the transforms and construct the distribution inside the loop.
- ``parametrize_module``: an ``nn.Module`` whose attributes are ``torch.nn.utils.parametrize``
  parametrisations with the constraint's transform; the distribution is built from them per step.
- ``constraint_module``: :class:`ConstraintModule`, which derives everything from the class's
  ``arg_constraints`` and ``torch.distributions.transform_to``.

Example (a Normal and a Gamma matched to a target by a sample KL loss)::

    model = ConstraintModule(D.Normal, loc=torch.tensor([1.0]), scale=torch.tensor([2.718]))
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    target = D.Normal(5.0, 5.0)
    for _ in range(50):
        optim.zero_grad()
        dist = model()
        samples = dist.rsample((1000,))
        cost = (dist.log_prob(samples) - target.log_prob(samples)).sum()
        cost.backward()
        optim.step()

    model = ConstraintModule(D.Gamma, concentration=torch.tensor([1.0]), rate=torch.tensor([2.718]))
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributions as D
from torch import nn
from torch.distributions.transforms import (
    Transform,
)
from torch.nn.utils import parametrize

from suite.registry.families import Family
from suite.training.constraint_module import ConstraintModule
from suite.training.fitspec import FitSpec, fit_spec

STRATEGIES = ("retain_graph", "rebuild_per_step", "parametrize_module", "constraint_module")
LOSSES = ("mle", "kl")


# ------------------------------------------------------------------------------------------------
# Strategies


class Strategy:
    """Raw (unconstrained) tensors, a way to get the distribution each step, and backward."""

    name = "abstract"
    retain_graph = False

    def __init__(self, spec: FitSpec, transform: str, device, dtype: torch.dtype,
                 validate_args: bool | None = None):
        self.spec = spec
        self.kind = transform
        self.device = torch.device(device)
        self.dtype = dtype
        self.validate_args = validate_args
        self.transforms = spec.transforms(transform)
        init = spec.tensors(spec.init_params, dtype, device)
        self.fixed = {k: v for k, v in init.items() if k not in spec.trainable}
        self.init = {k: init[k] for k in spec.trainable}

    def parameters(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def construct(self) -> D.Distribution:
        raise NotImplementedError

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward(retain_graph=self.retain_graph)

    def raw(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.spec.trainable, (p.detach() for p in self.parameters())))

    def constrained(self) -> dict[str, torch.Tensor]:
        """Values freshly derived from the raw tensors (what the distribution should use)."""
        with torch.no_grad():
            return {n: self.transforms[n](r) for n, r in self.raw().items()}

    def fresh(self) -> D.Distribution:
        with torch.no_grad():
            return self.spec.factory(**self.fixed, **self.constrained(), validate_args=False)

    def _build(self, values: Mapping[str, torch.Tensor]) -> D.Distribution:
        return self.spec.factory(**self.fixed, **values, validate_args=self.validate_args)


class RebuildPerStep(Strategy):
    name = "rebuild_per_step"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._raw = [self.transforms[n].inv(v).detach().clone().requires_grad_(True)
                     for n, v in self.init.items()]

    def parameters(self):
        return self._raw

    def construct(self):
        return self._build({n: self.transforms[n](r) for n, r in zip(self.spec.trainable, self._raw)})


class RetainGraph(RebuildPerStep):
    """The distribution is built once; every backward keeps the graph from raw to derived values."""

    name = "retain_graph"
    retain_graph = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dist = super().construct()

    def construct(self):
        return self._dist


class _ConstraintParametrization(nn.Module):
    def __init__(self, transform: Transform):
        super().__init__()
        self.transform = transform

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return self.transform(raw)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return self.transform.inv(value)


class ParametrizeModule(Strategy):
    name = "parametrize_module"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.module = nn.Module()
        for n, value in self.init.items():
            self.module.register_parameter(n, nn.Parameter(value.detach().clone()))
            parametrize.register_parametrization(self.module, n, _ConstraintParametrization(self.transforms[n]))

    def parameters(self):
        return [self.module.parametrizations[n].original for n in self.spec.trainable]

    def construct(self):
        return self._build({n: getattr(self.module, n) for n in self.spec.trainable})


class ConstraintModuleStrategy(Strategy):
    name = "constraint_module"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.module = ConstraintModule(self.spec.factory, constraints=self.spec.constraints,
                                       transforms=self.transforms, validate_args=self.validate_args,
                                       **self.fixed, **self.init)

    def parameters(self):
        return [self.module.unconstrained[n] for n in self.spec.trainable]

    def construct(self):
        return self.module()


STRATEGY_CLASSES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (RetainGraph, RebuildPerStep, ParametrizeModule, ConstraintModuleStrategy)
}


# ------------------------------------------------------------------------------------------------
# Training state: one step split into phases


@contextlib.contextmanager
def counting_syncs(device: torch.device) -> Iterator[list]:
    """Collect CUDA host-device synchronisation warnings into the yielded list (CUDA only)."""
    caught: list = []
    if device.type != "cuda":
        yield caught
        return
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield caught
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    caught.extend(w for w in record if "synchroniz" in str(w.message))


@dataclass
class TrainingState:
    """A ready-to-step training problem. `step()` = construct, loss (log_prob), backward, optimiser."""

    strategy: Strategy
    loss_kind: str
    data: torch.Tensor | None
    target: D.Distribution | None
    n_samples: int
    optimizer: torch.optim.Optimizer
    seed: int | None = None
    steps_taken: int = 0

    def construct(self) -> D.Distribution:
        return self.strategy.construct()

    def loss(self, dist: D.Distribution) -> torch.Tensor:
        if self.loss_kind == "mle":
            return -dist.log_prob(self.data).mean(0).sum()
        samples = dist.rsample((self.n_samples,))
        return (dist.log_prob(samples) - self.target.log_prob(samples)).mean(0).sum()

    def backward(self, loss: torch.Tensor) -> None:
        self.strategy.backward(loss)

    def optimizer_step(self) -> None:
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def step(self) -> torch.Tensor:
        if self.seed is not None:
            torch.manual_seed(self.seed + self.steps_taken)
        self.zero_grad()
        loss = self.loss(self.construct())
        self.backward(loss)
        self.optimizer_step()
        self.steps_taken += 1
        return loss.detach()


def make_data(spec: FitSpec, n_samples: int, dtype: torch.dtype, device, seed: int) -> torch.Tensor:
    """n_samples draws from the true distribution (torch's own sampler, seeded, float64 then cast)."""
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        true = spec.factory(**spec.tensors(spec.true_params, torch.float64, "cpu"), validate_args=False)
        return true.sample((n_samples,)).to(dtype=dtype, device=device)
    finally:
        torch.random.set_rng_state(gen_state)


def make_optimizer(kind: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be sgd or adam; got {kind!r}")


def training_state(strategy: str | type[Strategy], family: Family | FitSpec, n_samples: int, device,
                   dtype: torch.dtype = torch.float64, validate: bool | None = False, *, transform: str = "exp",
                   loss: str = "mle", optimizer: str = "adam", lr: float = 0.05, seed: int | None = 0
                   ) -> TrainingState:
    """A training state for (strategy, family, n_samples, device, dtype, validate), ready to step.

    loss="mle": mean negative log-likelihood of n_samples fixed draws from the true parameters;
    loss="kl": a sample estimate of KL(model || true) from n_samples rsample draws per step.
    With a seed, every step reseeds the global generator with seed + step, so strategies see the
    same random numbers.
    """
    spec = family if isinstance(family, FitSpec) else fit_spec(family)
    cls = STRATEGY_CLASSES[strategy] if isinstance(strategy, str) else strategy
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if loss == "kl" and not spec.has_rsample:
        raise ValueError(f"{spec.family} has no rsample; a sample KL loss cannot be trained")
    if seed is not None:
        torch.manual_seed(seed)
    strat = cls(spec, transform, device, dtype, validate)
    data = make_data(spec, n_samples, dtype, device, seed or 0) if loss == "mle" else None
    target = (spec.factory(**spec.tensors(spec.true_params, dtype, device), validate_args=False)
              if loss == "kl" else None)
    return TrainingState(strat, loss, data, target, n_samples, make_optimizer(optimizer, strat.parameters(), lr),
                         seed)

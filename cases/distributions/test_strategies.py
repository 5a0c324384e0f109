"""Training strategies: trajectories against rebuild_per_step, MLE against scipy, retain_graph's verdict."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.distributions as D

from suite.checks.result import CheckResult
from suite.conformance import expect
from suite.registry.families import FAMILIES
from suite.training import (
    ConstraintModule,
    RebuildPerStep,
    compare_strategies,
    fit_spec,
    invalid_initial_value_error,
    run_strategy,
    spec_from_values,
    training_state,
    trajectory_error,
    validation_default_preserved,
)
from suite.training.fitting import compare_mle, fit_torch
from suite.verdict import judge

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPECS = {f.name: fit_spec(f) for f in FAMILIES}
FITTABLE = [f for f in FAMILIES if SPECS[f.name].trainable]
NOT_FITTABLE = [f for f in FAMILIES if not SPECS[f.name].trainable]


def _cases(loss):
    out = []
    for f in FITTABLE:
        spec = SPECS[f.name]
        if loss == "kl" and not spec.has_rsample:
            continue
        for kind in spec.transform_kinds():
            out.append(pytest.param(f, kind, id=f"{f.name}-{kind}"))
    return out


class StalePlant(RebuildPerStep):
    """Planted fault: builds the distribution once and reuses it (no retain_graph error to give it away)."""

    name = "stale_plant"

    def construct(self):
        if not hasattr(self, "_cached"):
            self._cached = super().construct()
        return self._cached

    def backward(self, loss):
        loss.backward(retain_graph=True)


class ValidationPlant(RebuildPerStep):
    """Planted fault: flips the global validation default while constructing."""

    name = "validation_plant"

    def construct(self):
        D.Distribution.set_default_validate_args(not D.Distribution._validate_args)
        return super().construct()


class UncheckedModule(ConstraintModule):
    """Planted fault: accepts initial values without checking their constraints."""

    @staticmethod
    def _check(name, arg, value, constraint):
        return None


class ShiftedNormal(D.Normal):
    """Planted fault: log_prob with a wrong scale term, so its MLE of scale is off by a factor."""

    def log_prob(self, value):
        return super().log_prob(value) - 0.2 * torch.log(self.scale)


# --- trajectories: parametrize_module and constraint_module follow rebuild_per_step -----------------


@pytest.mark.parametrize("family, transform", _cases("mle"))
def test_trajectories_mle(family, transform, dtype):
    """Also retain_graph's verdict: every fittable family trains a constrained value, so it is never a pass."""
    verdicts = compare_strategies(SPECS[family.name], "cpu", dtype, transform=transform, loss="mle", steps=3,
                                  n_samples=64, seed=3)
    by = {v.strategy: v for v in verdicts}
    for name in ("parametrize_module", "constraint_module"):
        assert by[name].verdict == "pass", by[name]
    assert by["retain_graph"].verdict in ("stale", "error") and by["retain_graph"].cause, by["retain_graph"]


@pytest.mark.parametrize("family, transform", _cases("kl"))
def test_trajectories_kl(family, transform, device):
    verdicts = compare_strategies(SPECS[family.name], device, torch.float64, transform=transform, loss="kl",
                                  steps=3, n_samples=64, seed=5)
    wrong = [v for v in verdicts if v.strategy != "retain_graph" and v.verdict != "pass"]
    result = CheckResult("strategy.kl", family.name, passed=not wrong, compared=len(verdicts) - 1,
                         failures=len(wrong), message="; ".join(map(str, wrong)))
    expect(judge(result, family.known_for("strategy.kl")))


def test_planted_stale_parameter_is_caught():
    verdicts = compare_strategies(SPECS["Gamma"], "cpu", torch.float64, loss="mle", steps=4,
                                  strategies={"stale_plant": StalePlant})
    assert verdicts[0].verdict == "stale", verdicts[0]
    assert "concentration" in verdicts[0].cause and "rate" in verdicts[0].cause


def test_planted_stale_parameter_without_named_attribute_is_caught():
    verdicts = compare_strategies(SPECS["Independent"], "cpu", torch.float64, loss="mle", steps=4,
                                  strategies={"stale_plant": StalePlant})
    assert verdicts[0].verdict == "stale", verdicts[0]


def test_not_fittable_families_say_why():
    for family in NOT_FITTABLE:
        assert SPECS[family.name].held, family.name


# --- maximum likelihood against scipy --------------------------------------------------------------


def _mle_cases():
    return [pytest.param(f, marks=[pytest.mark.slow] if f.heavy_fit else [], id=f.name) for f in FITTABLE]


@pytest.mark.parametrize("family", _mle_cases())
def test_mle_matches_scipy(family):
    result = compare_mle(family, "constraint_module", "exp", spec=SPECS[family.name], n_samples=1000)
    assert result.ok, result


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["rebuild_per_step", "parametrize_module", "constraint_module"])
@pytest.mark.parametrize("family", FITTABLE, ids=lambda f: f.name)
def test_mle_matches_scipy_every_strategy(family, strategy):
    spec = SPECS[family.name]
    for transform in spec.transform_kinds():
        assert compare_mle(family, strategy, transform, spec=spec).ok


def test_planted_wrong_log_prob_fails_mle_check():
    spec = dataclasses.replace(SPECS["Normal"], factory=ShiftedNormal)
    result = compare_mle(FAMILIES[0], "constraint_module", "exp", spec=spec, n_samples=1000)
    assert FAMILIES[0].name == "Normal"
    assert not result.ok and result.param_error > 0.05, result


def test_planted_stale_strategy_fails_mle_check():
    result = compare_mle(FAMILIES[0], spec=SPECS["Normal"], strategy_cls=StalePlant, n_samples=1000)
    assert not result.ok, result


# --- ConstraintModule: generic, validated ------------------------------------------------------------


@pytest.mark.parametrize("family", FITTABLE, ids=lambda f: f.name)
def test_constraint_module_round_trip(family, rng):
    spec = SPECS[family.name]
    values = spec.tensors(spec.true_params, torch.float64, "cpu")
    module = ConstraintModule(spec.factory, constraints=spec.constraints, **values)
    rebuilt = module.values()
    for name in spec.trainable:
        torch.testing.assert_close(rebuilt[name], values[name], rtol=1e-9, atol=1e-12)
    assert set(spec.trainable) <= set(module.unconstrained)


INVALID = [
    pytest.param(D.Normal, {"loc": [0.0], "scale": [-1.0]}, "scale", "GreaterThan", id="negative-scale"),
    pytest.param(D.Categorical, {"probs": [0.5, 0.6]}, "probs", "Simplex", id="probs-not-summing-to-1"),
    pytest.param(D.Gamma, {"concentration": [2.0], "rate": [0.0]}, "rate", "GreaterThan", id="zero-rate"),
    pytest.param(D.MultivariateNormal, {"loc": [0.0, 0.0], "scale_tril": [[1.0, 0.0], [0.5, -1.0]]},
                 "scale_tril", "LowerCholesky", id="negative-cholesky-diagonal"),
    pytest.param(D.Beta, {"concentration1": [1.0], "concentration0": [float("nan")]}, "concentration0",
                 "GreaterThan", id="nan-concentration"),
]


@pytest.mark.parametrize("factory, values, arg, constraint", INVALID)
def test_constraint_module_rejects_invalid_initial_value(factory, values, arg, constraint):
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()}
    message = invalid_initial_value_error(ConstraintModule, factory, **tensors)
    assert message is not None and f"'{arg}'" in message and constraint in message, message
    assert invalid_initial_value_error(UncheckedModule, factory, **tensors) is None


def test_constraint_module_rejects_parameter_dependent_constraint():
    message = invalid_initial_value_error(ConstraintModule, D.Uniform, low=torch.zeros(1), high=torch.ones(1))
    assert message is not None and "'low'" in message


# --- state hygiene and host-device syncs --------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["retain_graph", "rebuild_per_step", "parametrize_module",
                                      "constraint_module"])
def test_validation_default_preserved(strategy, device):
    state = training_state(strategy, SPECS["Normal"], 64, device, torch.float64, validate=True)
    assert validation_default_preserved(state)
    planted = training_state(ValidationPlant, SPECS["Normal"], 64, device, torch.float64, validate=True)
    assert not validation_default_preserved(planted)


@pytest.mark.parametrize("strategy", ["rebuild_per_step", "constraint_module"])
def test_syncs_recorded(strategy, device):
    state = training_state(strategy, SPECS["Normal"], 64, device, torch.float64, validate=False)
    run = run_strategy(state, 2)
    if device == "cpu":
        assert run.syncs_per_step is None
    else:
        assert run.syncs_per_step is not None and run.syncs_per_step >= 0


def test_training_state_phases_are_separable():
    state = training_state("constraint_module", SPECS["Gamma"], 32, "cpu", torch.float32, validate=False)
    before = [p.detach().clone() for p in state.strategy.parameters()]
    state.zero_grad()
    dist = state.construct()
    loss = state.loss(dist)
    state.backward(loss)
    assert all(p.grad is not None for p in state.strategy.parameters())
    state.optimizer_step()
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, state.strategy.parameters()))


# --- the seed examples --------------------------------------------------------------------------------

E = math.e


def _seed000(factory, init, true, strategy, transform="exp", steps=50, lr=10.0):
    """Seed 000's loop: SGD on a 1000-draw sample KL estimate (the seed's summed cost at lr 0.01 is
    this mean cost at lr 10)."""
    spec = spec_from_values(factory, true, init)
    spec = dataclasses.replace(spec, has_rsample=True)
    state = training_state(strategy, spec, 1000, "cpu", torch.float32, None, transform=transform, loss="kl",
                           optimizer="sgd", lr=lr, seed=0)
    return state, run_strategy(state, steps)


def test_seed000_first_script_fails_without_retain_graph():
    log_std = torch.nn.Parameter(torch.tensor([1.0]))
    mean = torch.nn.Parameter(torch.tensor([1.0]))
    dist = D.Normal(loc=mean, scale=torch.exp(log_std))
    optim = torch.optim.SGD([log_std, mean], lr=0.01)
    target = D.Normal(5.0, 5.0)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        for _ in range(2):
            optim.zero_grad()
            samples = dist.rsample((1000,))
            (-(target.log_prob(samples) - dist.log_prob(samples)).sum()).backward()
            optim.step()


def test_seed000_accepted_answer_is_stale():
    state, run = _seed000(D.Normal, {"loc": [1.0], "scale": [E]}, {"loc": [5.0], "scale": [5.0]}, "retain_graph")
    assert run.error is None
    raw_log_std = state.strategy.raw()["scale"]
    assert float(state.construct().scale) == pytest.approx(E, rel=1e-6)
    assert abs(float(raw_log_std) - 1.0) > 0.1
    _, reference = _seed000(D.Normal, {"loc": [1.0], "scale": [E]}, {"loc": [5.0], "scale": [5.0]},
                            "rebuild_per_step", lr=1.0)
    assert reference.trajectory[-1]["scale"][0] == pytest.approx(5.0, rel=0.2)


def test_seed000_softplus_variant_raises():
    _, run = _seed000(D.Normal, {"loc": [1.0], "scale": [E]}, {"loc": [5.0], "scale": [5.0]}, "retain_graph",
                      transform="softplus")
    assert run.error is not None and "inplace" in run.error.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("factory, init, true, lr", [
    (D.Normal, {"loc": [1.0], "scale": [E]}, {"loc": [5.0], "scale": [5.0]}, 1.0),
    (D.Gamma, {"concentration": [1.0], "rate": [E]}, {"concentration": [5.0], "rate": [5.0]}, 0.1),
], ids=["Normal", "Gamma"])
def test_seed000_second_script_and_constraint_module(factory, init, true, lr):
    _, rebuilt = _seed000(factory, init, true, "rebuild_per_step", lr=lr)
    _, module = _seed000(factory, init, true, "constraint_module", lr=lr)
    _, retained = _seed000(factory, init, true, "retain_graph", lr=lr)
    assert rebuilt.error is None and trajectory_error(module, rebuilt) == 0.0
    assert rebuilt.losses[-1] < rebuilt.losses[0]
    first = retained.distribution_values[0]
    assert all(np.array_equal(d[k], first[k]) for d in retained.distribution_values for k in first if k != "loc")


def _seed002(true, init, trainable, transform, factory, n=2000, seed=0):
    spec = spec_from_values(factory, true, init, trainable=trainable)
    state = training_state("constraint_module", spec, n, "cpu", torch.float64, None, transform=transform,
                           seed=seed)
    fit_torch(state)
    return state.strategy.constrained(), state.data.numpy()


def test_seed002_normal_loc():
    fitted, x = _seed002({"loc": [0.0], "scale": [1.0]}, {"loc": [-10.0]}, ["loc"], "exp", D.Normal)
    assert float(fitted["loc"]) == pytest.approx(float(x.mean()), abs=1e-8)


def test_seed002_normal_loc_and_softplus_scale():
    fitted, x = _seed002({"loc": [0.0], "scale": [1.0]}, {"loc": [-10.0], "scale": [2.13]}, ["loc", "scale"],
                         "softplus", D.Normal)
    assert float(fitted["loc"]) == pytest.approx(float(x.mean()), abs=1e-8)
    assert float(fitted["scale"]) == pytest.approx(float(x.std()), rel=1e-8)


def test_seed002_mvn_loc():
    cov = [[1.0, 0.5], [0.5, 2.0]]
    fitted, x = _seed002({"loc": [0.0, 0.0], "covariance_matrix": cov}, {"loc": [-10.0, 5.0]}, ["loc"], "exp",
                         D.MultivariateNormal)
    np.testing.assert_allclose(fitted["loc"].numpy(), x.mean(0), atol=1e-7)


def test_seed002_mvn_cholesky():
    true_cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    fitted, x = _seed002({"loc": [0.0, 0.0], "scale_tril": np.linalg.cholesky(true_cov)},
                         {"loc": [-10.0, 5.0], "scale_tril": np.eye(2)}, ["loc", "scale_tril"], "exp",
                         D.MultivariateNormal)
    tril = fitted["scale_tril"].numpy()
    np.testing.assert_allclose(fitted["loc"].numpy(), x.mean(0), atol=1e-7)
    np.testing.assert_allclose(tril @ tril.T, np.cov(x.T, bias=True), rtol=1e-6)

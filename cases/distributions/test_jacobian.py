"""Per-sample Jacobians of log_prob by every method, against the analytic score and each other.

Generated from the registry: every family with floating parameters, every method of
suite.checks.jacobian.METHODS, validation off in every dtype and on (torch's default) in float64. A method
either matches the reference (analytic score, or the Python loop where no closed form is tabled) or
fails with the error recorded for it (suite.checks.jacobian_agreement.expected_unsupported); anything else fails
the case. Known deviations (suite.checks.jacobian_agreement.known_for) are strict xfails.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pytest
import torch
import torch.distributions as D

from suite.checks import jacobian as J
from suite.checks import jacobian_agreement as JA
from suite.checks.result import CheckResult
from suite.conformance import expect
from suite.registry.families import FAMILIES, REGISTRY
from suite.registry.known import Known, Severity
from suite.verdict import FAIL, XFAIL, judge

N_SETS = J.N_SETS
FAMILY_NAMES = [f.name for f in FAMILIES if J.differentiable_params(f, f.make_params(np.random.default_rng(0), 2))]
SYMMETRIC_FAMILIES = [f.name for f in FAMILIES if JA.symmetric_param_names(f)]
AUTOGRAD_METHODS = [m.name for m in J.METHODS.values() if m.mode != J.CLOSED_FORM]
RAW_ENTRY_METHODS = [m.name for m in J.METHODS.values() if m.mode != J.CLOSED_FORM and m.unsupported is None]


@pytest.fixture(autouse=True)
def _single_thread():
    """The tensors here are tiny; intra-op threads only add start-up cost (restored after each case)."""
    torch.set_num_threads(1)


@pytest.fixture
def run_seed(request: pytest.FixtureRequest) -> int:
    return request.config.getoption("--seed")


@functools.lru_cache(maxsize=None)
def registry_problem(family: str, dtype: torch.dtype, device: str, validate_args: bool, run_seed: int) -> J.Problem:
    return J.case_problem(REGISTRY[family], dtype, device, validate_args, run_seed)


@functools.lru_cache(maxsize=None)
def result(method: str, family: str, dtype: torch.dtype, device: str, validate_args: bool,
           run_seed: int) -> J.ComputedJacobian:
    return J.compute(method, registry_problem(family, dtype, device, validate_args, run_seed))


def expect_comparison(comparison: CheckResult, check: str, method: str, family: str, dtype: torch.dtype) -> None:
    expect(judge(comparison, JA.known_for(check, method, REGISTRY[family], dtype)))


def check_case(request, family: str, method: str, dtype: torch.dtype, device: str, validate_args: bool,
               run_seed: int) -> None:
    """Supported exactly where recorded; where supported, equal to the reference Jacobian."""
    fam = REGISTRY[family]
    got = result(method, family, dtype, device, validate_args, run_seed)
    expected = JA.expected_unsupported(method, fam, dtype, validate_args)
    status = JA.check_status(got, expected)
    assert status.passed, status.summary()
    reference = JA.reference_method(fam)
    if expected is not None or method == reference:
        return
    problem = registry_problem(family, dtype, device, validate_args, run_seed)
    comparison = JA.check(problem, got, result(reference, family, dtype, device, validate_args, run_seed))
    expect_comparison(comparison, JA.SCORE, method, family, dtype)


@pytest.mark.parametrize("method", list(J.METHODS))
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_jacobian(request, family, method, dtype, device, run_seed):
    """Every method and family, validation off."""
    check_case(request, family, method, dtype, device, False, run_seed)


@pytest.mark.parametrize("method", list(J.METHODS))
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_jacobian_validated(request, family, method, device, run_seed):
    """Every method and family in float64 with validate_args=True, torch's default: argument and sample
    validation run inside the transforms (vmap, jacrev, jacfwd)."""
    if request.config.getoption("--dtype") not in ("float64", "all"):
        pytest.skip("the validated sweep runs in float64, not selected by --dtype")
    check_case(request, family, method, torch.float64, device, True, run_seed)


@pytest.mark.parametrize("method", RAW_ENTRY_METHODS)
@pytest.mark.parametrize("family", SYMMETRIC_FAMILIES)
def test_symmetric_parameter_entries(request, family, method, dtype, device, run_seed):
    """Entry by entry (not symmetrised), the Jacobian w.r.t. a symmetric-matrix parameter matches."""
    problem = registry_problem(family, dtype, device, False, run_seed)
    reference = result(JA.reference_method(REGISTRY[family]), family, dtype, device, False, run_seed)
    comparison = JA.check(problem, result(method, family, dtype, device, False, run_seed), reference,
                         symmetric=False)
    expect_comparison(comparison, JA.RAW_ENTRIES, method, family, dtype)


# --------------------------------------------------------------------------- the seed report

SEED_POSTED = torch.tensor([[-1.1258, -1.1524], [-0.2506, -0.4339], [0.5988, -1.5551], [-0.3414, 1.8530],
                            [0.4681, -0.1577], [1.4437, 0.2660], [1.3894, 1.5863], [0.9463, -0.8437],
                            [0.9318, 1.2590], [2.0050, 0.0537]])


def test_seed_as_posted():
    """The posted answer, run as posted: functional.jacobian of a function that samples inside."""
    torch.manual_seed(0)
    mu = torch.ones((2,), requires_grad=True)
    sigma = torch.eye(2)

    def f(mu):
        dist = D.MultivariateNormal(mu, sigma)
        return dist.log_prob(dist.sample((10,)))

    grads = torch.autograd.functional.jacobian(f, mu)
    torch.testing.assert_close(grads, SEED_POSTED, rtol=0, atol=5e-5)  # printed to 4 decimals


def seed_problem(dtype: torch.dtype, device: str) -> J.Problem:
    """Seed report: MVN(mu=ones(2), Sigma=I), 10 samples drawn after torch.manual_seed(0), d/d mu."""
    params = {"loc": np.ones(2), "covariance_matrix": np.eye(2)}
    return J.sampled_problem(REGISTRY["MultivariateNormal"], params, 10, dtype, device, seed=0,
                             wrt=("loc",), validate_args=None)


@pytest.mark.parametrize("method", list(J.METHODS))
def test_seed_methods(method, dtype, device):
    """Every method on the seed problem, against Sigma^-1 (x - mu)."""
    problem = seed_problem(dtype, device)
    got = J.compute(method, problem)
    expected = JA.expected_unsupported(method, problem.family, dtype, None)
    status = JA.check_status(got, expected)
    assert status.passed, status.summary()
    if expected is None:
        comparison = JA.check(problem, got, J.compute(J.REFERENCE_METHOD, problem))
        assert comparison.passed, comparison.summary()


def test_seed_posted_values_are_the_score(device):
    """The posted numbers are x - mu for the drawn x (Sigma = I): the analytic score reproduces them."""
    problem = seed_problem(torch.float32, device)
    score = J.compute(J.REFERENCE_METHOD, problem).jacobian["loc"].cpu()
    if problem.x.device.type == "cpu":
        torch.testing.assert_close(score, SEED_POSTED, rtol=0, atol=5e-5)
    torch.testing.assert_close(score, (problem.x - 1).cpu(), rtol=0, atol=0)


@pytest.mark.parametrize("method", list(J.METHODS))
def test_benchmark_case(method, dtype, device):
    """The benchmark entry point: fn(*inputs) is the method's Jacobian of a d=16 MVN wrt its mean."""
    fn, inputs = J.benchmark_case(method, "MultivariateNormal", 20, 16, device, dtype, wrt=("loc",))
    expected = JA.expected_unsupported(method, REGISTRY["MultivariateNormal"], dtype, False)
    if expected is not None:
        with pytest.raises(Exception, match=re.escape(expected.pattern)):
            fn(*inputs)
        return
    ref_fn, ref_inputs = J.benchmark_case(J.REFERENCE_METHOD, "MultivariateNormal", 20, 16, device, dtype,
                                          wrt=("loc",))
    (got,), (ref,) = fn(*inputs), ref_fn(*ref_inputs)
    assert got.shape == (20, 16)
    comparison = JA.compare(J.ComputedJacobian(method, "MultivariateNormal", J.OK, {"loc": got}),
                           J.ComputedJacobian(J.REFERENCE_METHOD, "MultivariateNormal", J.OK, {"loc": ref}),
                           JA.rtol_for(REGISTRY["MultivariateNormal"], dtype), batch_ndim=0)
    assert comparison.passed, comparison.summary()


# --------------------------------------------------------------------------- planted faults


class _OffScoreNormal(D.Normal):
    """Normal whose log_prob has the right value but d/d loc off by a relative 1e-8."""

    def log_prob(self, value):
        nudge = (self.loc - self.loc.detach()) * ((value - self.loc) / self.scale**2).detach()
        return super().log_prob(value) + 1e-8 * nudge


class _OneSetOffNormal(D.Normal):
    """Normal whose d/d scale is wrong (doubled) for parameter set 2 only."""

    def log_prob(self, value):
        lp = super().log_prob(value)
        extra = lp - lp.detach()
        mask = torch.zeros_like(self.scale)
        mask[2] = 1.0
        return lp + extra * mask


def planted_problem(dist_cls: type, dtype: torch.dtype, device: str) -> J.Problem:
    normal = REGISTRY["Normal"]
    fam = dataclasses.replace(normal, build=lambda loc, scale, validate_args=None: dist_cls(
        loc, scale, validate_args=validate_args))
    return J.registry_problem(fam, np.random.default_rng(0), N_SETS, dtype, device)


@pytest.mark.parametrize("method", AUTOGRAD_METHODS)
def test_planted_off_score_is_caught(method, device):
    """A 1e-8 relative error in d/d loc (value unchanged) fails the float64 check at 1e-10."""
    problem = planted_problem(_OffScoreNormal, torch.float64, device)
    got = J.compute(method, problem)
    if JA.expected_unsupported(method, problem.family, torch.float64, False) is not None:
        assert not got.ok
        return
    comparison = JA.check(problem, got, J.compute(J.REFERENCE_METHOD, problem))
    assert not comparison.passed and comparison.worst["where"].startswith("loc"), comparison.summary()


def test_planted_fault_in_one_parameter_set_is_located(device):
    problem = planted_problem(_OneSetOffNormal, torch.float64, device)
    comparison = JA.check(problem, J.compute("jacrev", problem), J.compute(J.REFERENCE_METHOD, problem))
    assert not comparison.passed and comparison.worst["where"].endswith("[batch 2]"), comparison.summary()


def test_planted_fault_in_one_parameter_set_is_scoped_by_a_region(device):
    """The comparison is element-wise over (parameter, parameter set): a Known whose region holds the faulty set
    turns the failure into an xfail; one whose region holds only the other sets leaves it failing."""
    problem = planted_problem(_OneSetOffNormal, torch.float64, device)
    comparison = JA.check(problem, J.compute("jacrev", problem), J.compute(J.REFERENCE_METHOD, problem))
    assert comparison.ok.shape == (len(problem.wrt), N_SETS)
    assert (~comparison.ok).any(0).tolist() == [i == 2 for i in range(N_SETS)]
    faulty = float(problem.numpy_params()["scale"][2])
    inside = Known("jacobian.score.*", "planted", Severity.WRONG_FLOAT64, region=lambda c: c["scale"] == faulty)
    beside = Known("jacobian.score.*", "planted", Severity.WRONG_FLOAT64, region=lambda c: c["scale"] != faulty)
    assert judge(comparison, [inside]).status == XFAIL
    verdict = judge(comparison, [beside])
    assert verdict.status == FAIL and "outside every known deviation's region" in verdict.message


def _planted_method(name: str, transform) -> J.Method:
    """A method that post-processes the loop's Jacobian (a wrong method in disguise)."""
    loop = J.METHODS[J.BASELINE_METHOD]

    def prepare(problem):
        fn = loop.prepare(problem)
        return lambda *inputs: tuple(transform(j) for j in fn(*inputs))
    return J.Method(name, prepare, "planted")


def _stale_jacrev(problem: J.Problem) -> J.JacobianFn:
    """jacrev of a log_prob whose distribution was built once, outside the function: all zeros."""
    dist = problem.distribution(*problem.inputs)

    def fn(*inputs):
        return torch.func.jacrev(lambda *a: dist.log_prob(problem.x).reshape(problem.n_samples, -1).sum(-1),
                                 argnums=tuple(range(len(inputs))))(*inputs)
    return fn


@pytest.mark.parametrize("planted", [
    _planted_method("rolled samples", lambda j: j.roll(1, 0)),
    _planted_method("nan entry", lambda j: torch.where(torch.arange(j.numel(), device=j.device).reshape(j.shape)
                                                       == 0, torch.nan, j)),
    _planted_method("float32 rounding", lambda j: j.to(torch.float32).to(j.dtype)),
    J.Method("stale parameters", _stale_jacrev, "planted"),
], ids=lambda m: m.name)
def test_planted_wrong_method_is_caught(planted, device):
    problem = J.registry_problem(REGISTRY["Gamma"], np.random.default_rng(0), N_SETS, torch.float64, device)
    got = J.compute(planted, problem)
    assert got.ok, got.error
    comparison = JA.check(problem, got, J.compute(J.REFERENCE_METHOD, problem))
    assert not comparison.passed, comparison.summary()


def test_planted_symmetric_error_is_caught_after_symmetrising(device):
    """Symmetrising forgives only the split between (i,j) and (j,i), not a wrong symmetric part."""
    problem = J.registry_problem(REGISTRY["MultivariateNormal"], np.random.default_rng(0), N_SETS,
                                 torch.float64, device)
    reference = J.compute(J.REFERENCE_METHOD, problem)
    cov = reference.jacobian["covariance_matrix"]
    skew = torch.zeros_like(cov)
    skew[..., 0, 1], skew[..., 1, 0] = 1e-3, -1e-3
    split = dataclasses.replace(reference, method="split", jacobian={**reference.jacobian,
                                                                     "covariance_matrix": cov + skew})
    wrong = dataclasses.replace(reference, method="wrong", jacobian={**reference.jacobian,
                                                                     "covariance_matrix": cov + skew.abs()})
    assert JA.check(problem, split, reference).passed
    assert not JA.check(problem, split, reference, symmetric=False).passed
    assert not JA.check(problem, wrong, reference).passed


def test_planted_status_faults_are_caught(device):
    problem = J.registry_problem(REGISTRY["Normal"], np.random.default_rng(0), N_SETS, torch.float64, device)

    def raising(problem):
        raise RuntimeError("planted: no batching rule")

    broken = J.compute(J.Method("broken", raising, "planted"), problem)
    assert broken.status == J.UNSUPPORTED and "planted" in broken.error
    assert not JA.check_status(broken, None).passed
    recorded = J.Unsupported("index_put_", "planted expectation")
    assert not JA.check_status(J.compute("jacrev", problem), recorded).passed
    assert not JA.check_status(broken, recorded).passed
    assert JA.check_status(broken, J.Unsupported("no batching rule", "planted expectation")).passed

"""Contracts every family promises beyond its values: log_prob rejects malformed values with ValueError when
validation is on, and every parameterisation it exposes (probs and logits, covariance, precision and scale_tril)
describes the same distribution, before and after expand."""

from __future__ import annotations

import numpy as np
import torch

from suite.checks.result import CheckResult
from suite.registry.family import Family

SETS = 3
EXPANDED = (2, SETS)


def _malformed_values(dist: torch.distributions.Distribution) -> dict[str, object]:
    x = dist.sample()
    wrong_event = torch.zeros(*dist.batch_shape, *[n + 1 for n in dist.event_shape], 1, dtype=x.dtype)
    return {"a list instead of a tensor": x.tolist(),
            "a value with the wrong event shape": wrong_event if dist.event_shape else x.unsqueeze(-1)[..., :0],
            "a batch that does not broadcast": torch.cat([x, x], 0)}


def _not_a_value_error(call) -> str | None:
    """None where `call` raises ValueError, the answer to bad input; otherwise what it did instead."""
    try:
        call()
    except ValueError:
        return None
    except Exception as error:  # noqa: BLE001 - any other exception is the wrong answer to bad input
        return f"{type(error).__name__}: {str(error)[:80]}"
    return "accepted"


def check_value_contract(family: Family, rng: np.random.Generator) -> CheckResult:
    """With validate_args=True, log_prob of a malformed value raises ValueError (and nothing else)."""
    dist = family.instantiate(family.make_params(rng, SETS), validate_args=True)
    wrong = []
    cases = _malformed_values(dist)
    for label, value in cases.items():
        answer = _not_a_value_error(lambda: dist.log_prob(value))
        if answer:
            wrong.append(f"{label}: {answer}")
    return CheckResult("value_contract", family.name, passed=not wrong, compared=len(cases), failures=len(wrong),
                       message="; ".join(wrong), details=wrong)


# Attributes a family may expose for its covariance, read lazily; related by cov = L L^T, cov @ precision = I.
COVARIANCES = ("covariance_matrix", "precision_matrix", "scale_tril")


def _alternatives(dist: torch.distributions.Distribution, given: set[str]) -> dict[str, torch.Tensor]:
    """The parameters `dist` exposes beyond those it was built from (its arg_constraints, its covariances)."""
    found = {}
    for name in dict.fromkeys([*dist.arg_constraints, *COVARIANCES]):
        try:
            value = getattr(dist, name)
        except (AttributeError, NotImplementedError):
            continue
        if name not in given and isinstance(value, torch.Tensor):
            found[name] = value
    return found


def check_parameterisations(family: Family, rng: np.random.Generator) -> CheckResult:
    """Each exposed parameterisation rebuilds the same distribution (same log_prob of the same draws), and
    expand keeps every parameter computed so far."""
    params = family.make_params(rng, SETS)
    dist = family.instantiate(params, validate_args=False)
    given = {name for name in params}
    tensors = {name: value for name, value in dist.__dict__.items() if isinstance(value, torch.Tensor)}
    x = dist.sample((4,))
    reference = dist.log_prob(x)
    problems, compared = [], 0
    for name, value in _alternatives(dist, given).items():
        for dropped in given:
            others = {k: v for k, v in tensors.items() if k in given and k != dropped}
            try:
                rebuilt = family.torch_cls(**others, **{name: value}, validate_args=False)
            except (TypeError, ValueError):
                continue
            compared += 1
            if not torch.allclose(rebuilt.log_prob(x), reference, rtol=1e-7, atol=1e-9, equal_nan=True):
                problems.append(f"built from {name} instead of {dropped}: a different log_prob")
            break
    problems += _covariance_relations(_alternatives(dist, set()))
    compared += 1
    expanded = dist.expand(torch.Size(EXPANDED))
    for name in dist.arg_constraints:
        value = dist.__dict__.get(name)
        if isinstance(value, torch.Tensor) and value.shape[:1] == (SETS,):
            compared += 1
            got = getattr(expanded, name)
            if got.shape[:len(EXPANDED)] != EXPANDED or not torch.equal(got[1], value):
                problems.append(f"expand changes {name}")
    return CheckResult("parameterisations", family.name, passed=not problems, compared=compared,
                       failures=len(problems), message="; ".join(problems), details=problems)


def _covariance_relations(found: dict[str, torch.Tensor]) -> list[str]:
    """cov = scale_tril scale_tril^T and cov @ precision = I, where the family exposes them."""
    problems = []
    cov, precision, tril = (found.get(name) for name in COVARIANCES)
    if cov is not None and tril is not None and not torch.allclose(tril @ tril.mT, cov, rtol=1e-8, atol=1e-10):
        problems.append("covariance_matrix != scale_tril scale_tril^T")
    if cov is not None and precision is not None:
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype).expand_as(cov)
        if not torch.allclose(cov @ precision, eye, atol=1e-8):
            problems.append("covariance_matrix @ precision_matrix != I")
    return problems


def check_parameter_shapes(family: Family, rng: np.random.Generator) -> CheckResult:
    """Parameters whose event sizes disagree (one parameter one element short along its event-sized axis) raise
    ValueError on construction, not another error and not a distribution."""
    params = family.make_params(rng, SETS)
    event = family.instantiate(params).event_shape
    axes = {name: max((axis for axis in range(1, np.ndim(value)) if np.shape(value)[axis] == event[-1]), default=None)
            for name, value in params.items() if event and not isinstance(value, int)}
    shaped = [name for name, axis in axes.items() if axis is not None]
    if len(shaped) < 2:
        return CheckResult("parameter_shapes", family.name, passed=True, message="fewer than two parameters sized "
                           "by the event: nothing can disagree")
    wrong = []
    for name in shaped:
        short = dict(params, **{name: np.delete(np.asarray(params[name]), -1, axis=axes[name])})
        answer = _not_a_value_error(lambda: family.instantiate(short, validate_args=True))
        if answer:
            wrong.append(f"{name} one element short: {answer}")
    return CheckResult("parameter_shapes", family.name, passed=not wrong, compared=len(shaped), failures=len(wrong),
                       message="; ".join(wrong), details=wrong)

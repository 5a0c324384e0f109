"""rsample gradients: draw-by-draw pathwise derivatives, unbiasedness and gradient flow, with planted faults."""

from __future__ import annotations

import pytest
import torch
import torch.distributions as D
from torch.distributions.utils import _standard_normal

from suite.checks import rsample_grad as G
from suite.checks import sampling as S
from suite.registry.families import DEVIATIONS_STRICT, FAMILIES, REGISTRY


def _param(family, check, *values, id):
    reason = G.known_deviation(family, check)
    marks = [pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason=reason)] if reason else []
    return pytest.param(family.name, *values, marks=marks, id=id)


def _mark_dtype_deviation(request, name, check, dtype):
    reason = G.known_deviation(REGISTRY[name], check, dtype)
    if reason and not G.known_deviation(REGISTRY[name], check):
        request.applymarker(pytest.mark.xfail(strict=DEVIATIONS_STRICT, reason=reason))


PATHWISE = [_param(f, f"pathwise:{name}", name, id=f"{f.name}-{name}")
            for f in FAMILIES if f.has_rsample for name in G.pathwise_parameters(f)]
UNBIASED = [_param(f, "unbiasedness", id=f.name) for f in S.unbiasedness_families()]
FLOW = [_param(f, "flow", id=f.name) for f in FAMILIES if f.has_rsample]


@pytest.mark.parametrize("name, parameter", PATHWISE)
def test_pathwise_derivative_matches_reference(name, parameter, device, rng):
    result = G.pathwise(REGISTRY[name], parameter, device, rng)
    assert result.passed, str(result)


@pytest.mark.parametrize("name", UNBIASED)
def test_rsample_gradient_is_unbiased(name, dtype, device, rng, request):
    _mark_dtype_deviation(request, name, "unbiasedness", dtype)
    result = G.unbiasedness(REGISTRY[name], dtype, device, rng)
    assert result.passed, str(result)


@pytest.mark.parametrize("name", FLOW)
def test_gradient_flows_through_rsample_only(name, dtype, device, rng):
    result = G.flow(REGISTRY[name], dtype, device, rng)
    assert result.passed, str(result)


class LocDetachedNormal(D.Normal):
    def rsample(self, sample_shape=torch.Size()):
        eps = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc.detach() + eps * self.scale


class SteeperGamma(D.Gamma):
    """Same draws, rsample gradient scaled by 1.02."""

    def rsample(self, sample_shape=torch.Size()):
        x = super().rsample(sample_shape)
        return x + 0.02 * (x - x.detach())


class AttachedSampleNormal(D.Normal):
    def sample(self, sample_shape=torch.Size()):
        return self.rsample(sample_shape)


def _build(cls):
    return lambda tensors: cls(**tensors)


FAULTS = [pytest.param("Gamma", SteeperGamma, id="gamma-gradient-x1.02"),
          pytest.param("Normal", LocDetachedNormal, id="normal-loc-detached")]


@pytest.mark.parametrize("name, cls", FAULTS)
def test_pathwise_detects_planted_fault(name, cls, device, rng):
    family = REGISTRY[name]
    results = [G.pathwise(family, p, device, rng, build=_build(cls)) for p in G.pathwise_parameters(family)]
    assert not all(r.passed for r in results), "\n".join(map(str, results))


@pytest.mark.parametrize("name, cls", FAULTS)
def test_unbiasedness_detects_planted_fault(name, cls, dtype, device, rng):
    result = G.unbiasedness(REGISTRY[name], dtype, device, rng, build=_build(cls))
    assert not result.passed, str(result)


@pytest.mark.parametrize("cls", [LocDetachedNormal, AttachedSampleNormal], ids=["loc-detached", "sample-attached"])
def test_flow_detects_planted_fault(cls, dtype, device, rng):
    result = G.flow(REGISTRY["Normal"], dtype, device, rng, build=_build(cls))
    assert not result.passed, str(result)

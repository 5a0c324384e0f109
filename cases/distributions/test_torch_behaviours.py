"""Behaviours of torch.distributions found by the suite, asserted so a change in torch is noticed."""

from __future__ import annotations

import pytest
import torch
import torch.distributions as D
from torch.distributions.utils import _standard_normal


def test_logistic_normal_documented_identity_is_off_by_the_stick_breaking_offset():
    """Docs: log(X / (1 - X.cumsum(-1)))[..., :-1] ~ Normal(loc, scale). torch adds log(K - 1 - i)."""
    loc, scale = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    x = D.LogisticNormal(loc, scale).sample((200_000,))
    y = (x / (1 - x.cumsum(-1)))[..., :-1].log()
    offset = torch.log(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64))
    standard_error = 1 / 200_000**0.5
    assert torch.allclose(y.mean(0), loc - offset, atol=6 * standard_error)
    assert not torch.allclose(y.mean(0), loc, atol=6 * standard_error)


@pytest.mark.parametrize("temperature_shape", [(5,), (5, 1)])
def test_relaxed_one_hot_categorical_fails_on_a_batch_of_temperatures(temperature_shape):
    probs = torch.full((5, 4), 0.25)
    dist = D.RelaxedOneHotCategorical(torch.full(temperature_shape, 0.5), probs=probs)
    with pytest.raises(RuntimeError, match="must match the size"):
        dist.log_prob(dist.sample((3,)))
    shared = D.RelaxedOneHotCategorical(torch.tensor(0.5), probs=probs)
    assert shared.log_prob(shared.sample((3,))).shape == (3, 5)


def test_lkj_cholesky_float32_sample_is_nan_where_randn_draws_zero():
    """The onion method's u / |u| is 0 / 0 for the one-element second row when torch.randn returns 0.0."""
    torch.manual_seed(124)
    draws = D.LKJCholesky(2, torch.tensor(1.0)).sample((100_000,))
    assert torch.isnan(draws).any(-1).any(-1).nonzero().flatten().tolist() == [23377, 23379]


def test_student_t_float32_rsample_gradient_is_nan_where_the_chi_square_draw_is_tiny():
    """d/d df of X * rsqrt(Z / df) is NaN exactly where (Z / df)^(-3/2) overflows float32."""
    n, df = 200_000, 0.3
    torch.manual_seed(0)
    dfs = torch.full((n,), df, requires_grad=True)
    (grad,) = torch.autograd.grad(D.StudentT(dfs).rsample().atan().sum(), dfs)
    torch.manual_seed(0)  # replay the same draws: the normal first, then the chi-square
    _standard_normal((n,), dtype=torch.float32, device="cpu")
    z = D.Chi2(torch.full((n,), df)).rsample() / df
    tiny = z < torch.finfo(torch.float32).max ** (-2 / 3)
    assert tiny.sum() > 10
    assert torch.equal(torch.isnan(grad), tiny)

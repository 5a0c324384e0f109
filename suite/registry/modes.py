"""Known differences between eager and the execution modes (torch.compile, torch.func.vmap, validation),
per family: findings, measured on torch 2.13 CPU in float64 and float32 (`python -m suite modes`).

Modes: "compile" (aot_eager, validation off), "compile+validate" (validation on: invalid input),
"vmap" (validation off), "vmap+validate" (validation on), "validation" (eager, validation on against off).
Checks: a method's name, or "invalid_params" / "invalid_value" (NaN points to log_prob).
"""

from __future__ import annotations

from suite.registry.known import Known, Severity, matching

VMAP_VALIDATE_UPSTREAM = "pytorch#92033"


KNOWN: dict[str, tuple[Known, ...]] = {}


def known_for(family: str, check: str, mode: str, dtype: str = "float64", device: str = "cpu") -> tuple[Known, ...]:
    """The known differences of `family` that apply to this check, mode, dtype and device."""
    return matching(KNOWN.get(family, ()), check, dtype, device, mode)


def _known(what: str, severity: Severity = Severity.RAISES, upstream: str = ""):
    def make(check: str, mode: str) -> Known:
        return Known(check=check, mode=mode, severity=severity, what=what, upstream=upstream)
    return make


INPLACE_RANDOMNESS = _known(
    "raises under vmap(randomness='different'): 'Cannot ask for different inplace randomness on an unbatched "
    "tensor' (the draw fills a fresh, unbatched buffer in place: _standard_normal, uniform_, exponential_, ...)",
    upstream="functorch#593 (documented vmap limitation)")
AUTOGRAD_FUNCTION = _known(
    "raises under vmap: the Dirichlet sampler's autograd.Function (_Dirichlet) has no setup_context, which "
    "functorch transforms require")
DATA_DEPENDENT = _known(
    "raises under vmap: data-dependent Python control flow on a tensor (a rejection loop, or an `if` on a "
    "parameter check inside the method)")
VALIDATION_DATA_DEPENDENT = _known(
    "raises under vmap with validation on: the constraint check branches on a tensor (data-dependent control "
    "flow) where eager validates and returns a value", upstream=VMAP_VALIDATE_UPSTREAM)
DYNAMIC_SHAPE = _known("raises under vmap: an operator whose output shape depends on the data cannot be batched")
SCATTER_ADD = _known("raises under vmap: scatter_add_ into an unbatched tensor from a batched one")
INVALID_ITEM = _known(
    "invalid input under vmap with validation on raises RuntimeError 'vmap over .item()' instead of eager's "
    "ValueError: formatting the ValueError's message calls Distribution.__repr__, which formats a one-element "
    "parameter with .item() (distribution.py:344)", upstream=VMAP_VALIDATE_UPSTREAM)
INVALID_DATA_DEPENDENT = _known(
    "invalid input under vmap with validation on raises RuntimeError (data-dependent control flow in the "
    "constraint check) instead of eager's ValueError", upstream=VMAP_VALIDATE_UPSTREAM)

BOTH_VMAP = "vmap*"
# family -> (maker, check pattern, mode pattern); measured by `python -m suite modes` on torch 2.13 CPU.
_TABLE: dict[str, list[tuple]] = {
    "Normal": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "Cauchy": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "Laplace": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "HalfNormal": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "HalfCauchy": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "Exponential": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "StudentT": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "Pareto": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "Weibull": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "LogNormal": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "LowRankMultivariateNormal": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],
    "Independent": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "TransformedDistribution": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "LogisticNormal": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],
    "Geometric": [(INPLACE_RANDOMNESS, "sample", "vmap"), (DYNAMIC_SHAPE, "log_prob", "vmap"),
                  (VALIDATION_DATA_DEPENDENT, "log_prob", "vmap+validate"),
                  (VALIDATION_DATA_DEPENDENT, "entropy", "vmap+validate"),
                  (VALIDATION_DATA_DEPENDENT, "sample", "vmap+validate")],
    "MultivariateNormal": [(INPLACE_RANDOMNESS, "*sample", "vmap"),
                           (VALIDATION_DATA_DEPENDENT, "log_prob", "vmap+validate"),
                           (VALIDATION_DATA_DEPENDENT, "entropy", "vmap+validate"),
                           (VALIDATION_DATA_DEPENDENT, "*sample", "vmap+validate")],
    "Beta": [(AUTOGRAD_FUNCTION, "*sample", BOTH_VMAP)],
    "Dirichlet": [(AUTOGRAD_FUNCTION, "*sample", BOTH_VMAP)],
    "LKJCholesky": [(AUTOGRAD_FUNCTION, "sample", BOTH_VMAP)],
    "VonMises": [(DATA_DEPENDENT, "sample", BOTH_VMAP)],
    "Wishart": [(DATA_DEPENDENT, "log_prob", BOTH_VMAP), (DATA_DEPENDENT, "entropy", BOTH_VMAP),
                (DATA_DEPENDENT, "*sample", BOTH_VMAP)],
    "ContinuousBernoulli": [(DATA_DEPENDENT, check, BOTH_VMAP)
                            for check in ("log_prob", "cdf", "icdf", "entropy", "rsample", "sample")],
    "Multinomial": [(DYNAMIC_SHAPE, "log_prob", BOTH_VMAP), (SCATTER_ADD, "sample", BOTH_VMAP)],
}
_INVALID_ITEM = {
    "invalid_*": ("Normal", "Cauchy", "Laplace", "Gumbel", "HalfNormal", "HalfCauchy", "Exponential", "Gamma",
                  "Chi2", "StudentT", "FisherSnedecor", "InverseGamma", "Pareto", "Weibull", "Uniform",
                  "LogNormal", "GeneralizedPareto", "VonMises", "Bernoulli", "Binomial", "NegativeBinomial",
                  "Poisson", "TransformedDistribution", "Kumaraswamy", "RelaxedBernoulli"),
    "invalid_value": ("Beta", "Categorical", "MixtureSameFamily", "LKJCholesky"),
}
for _check, _families in _INVALID_ITEM.items():
    for _family in _families:
        _TABLE.setdefault(_family, []).append((INVALID_ITEM, _check, "vmap+validate"))
for _family in ("Geometric", "MultivariateNormal", "Wishart", "ContinuousBernoulli"):
    _TABLE[_family].append((INVALID_DATA_DEPENDENT, "invalid_*", "vmap+validate"))

GLOBAL_VALIDATION_OFF = Known(
    check="global_validation", mode="compile", severity=Severity.WRONG_FLOAT64, upstream="pytorch#194548",
    what="the first torch.compile in a process sets Distribution's global validation default to False for good "
         "(torch/_dynamo/eval_frame.py TorchPatcher.patch): eager distributions built afterwards without "
         "validate_args accept invalid parameters silently")
_TABLE.setdefault("Normal", []).append((lambda check, mode: GLOBAL_VALIDATION_OFF, "global_validation", "compile"))

KNOWN.update({family: tuple(make(check, mode) for make, check, mode in rows) for family, rows in _TABLE.items()})

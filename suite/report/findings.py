"""reports/FINDINGS.md: every known deviation of the registry, re-measured when the file is written."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from suite.checks.result import CheckResult
from suite.checks.values import VALUE_METHODS, check_invalid_params, check_method, check_support
from suite.registry.families import DTYPES, FAMILIES, Family
from suite.state import derive_seed

N_PARAMETER_SETS = 1000

HEADER = """# Findings

Where `torch.distributions` (torch {torch}) disagrees with its float64 reference. Each row is a
strict `xfail` in the default `pytest` run (it fails the run if torch is ever fixed) and was
re-measured when this file was written with:

    python -m suite findings --out reports/FINDINGS.md

Errors are over {n} parameter sets x the quantile grid (1e-6 ... 1 - 1e-6), seed 0. Tolerances:
float64 rtol 1e-8 / atol 1e-10, float32 rtol 1e-3 / atol 1e-3 (see README).

| family | check | dtype | failing / compared | max abs err | max rel err | worst parameters | torch | reference | why |
|---|---|---|---|---|---|---|---|---|---|
"""


def measure(family: Family, check: str, dtype: torch.dtype, seed: int = 0) -> CheckResult:
    """Run one check as the default case does, on the CPU, with a seed derived from the labels."""
    rng = np.random.default_rng(derive_seed(family.name, check, dtype, seed))
    if check == "invalid_params":
        return check_invalid_params(family, rng)
    params = family.draw(rng, N_PARAMETER_SETS)
    if check == "support":
        return check_support(family, params, dtype, rng=rng)
    try:
        return check_method(family, check, params, dtype, rng=rng)
    except Exception as error:  # noqa: BLE001 - a crash is the finding
        return CheckResult(check, family.name, str(dtype), False, message=f"raises {type(error).__name__}: {error}")


def deviations() -> list[tuple[Family, str, str, str]]:
    rows = []
    for family in FAMILIES:
        for known in family.known:
            if known.check not in ("invalid_params", "support", *VALUE_METHODS):
                continue
            for name in (DTYPES if known.dtype == "*" else [known.dtype]):
                if known.check == "invalid_params" and name == "float32":
                    continue
                where = f" (where: {known.where})" if known.region is not None or known.points else ""
                rows.append((family, known.check, name, known.what + where))
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value).replace("|", "\\|") if value not in (None, "") else ""


def render() -> str:
    lines = [HEADER.format(torch=torch.__version__, n=N_PARAMETER_SETS)]
    for family, check, dtype, reason in deviations():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the out-of-range points are the subject, not noise to report
            result = measure(family, check, DTYPES[dtype])
        worst = result.worst or {}
        failing = f"{result.failures} / {result.compared}" if result.compared else result.message
        lines.append("| " + " | ".join([
            family.name, check, dtype, failing, _cell(result.max_abs_error) if result.compared else "",
            _cell(result.max_rel_error) if result.compared else "", _cell(worst.get("params")),
            _cell(worst.get("torch")), _cell(worst.get("reference")), reason.replace("|", "\\|"),
        ]) + " |\n")
    lines.append(BEHAVIOURS)
    return "".join(lines)


BEHAVIOURS = """
## Behaviours found outside the value checks

Each of these is asserted by a case (named in brackets), so the suite notices when torch changes.

- **The popular `retain_graph=True` answer trains a stale copy.** A distribution built once from
  `std = exp(log_std)` keeps the `scale` computed at construction: `log_std` moves, `dist.scale`
  never does, and the fit is wrong without any error; with softplus instead of exp, backward raises
  an in-place modification error. Every fittable family gets the verdict `stale` or `error`
  (`cases/distributions/test_strategies.py::test_seed000_accepted_answer_is_stale`, `test_trajectories_mle`;
  table: `python -m suite strategies`).
- **`Wishart.rsample` cannot be differentiated.** `rsample` sets `is_singular = self.support.check(sample)`
  without the `~` its retry loop uses elsewhere, so every valid sample is flagged as singular,
  redrawn and written in place; backward then raises "modified by an inplace operation" for any
  non-empty `sample_shape` (and every call warns "Singular sample detected")
  (`test_trajectories_kl[...Wishart...]`, `cases/distributions/test_shapes.py` gradient cases).
- **`Multinomial.expand(...).entropy()` raises** `AttributeError: no attribute '_binomial'`:
  `expand` does not copy the helper Binomial (`cases/distributions/test_shapes.py`).
- **Broadcasting pitfall (pytorch#43878).** Values shaped `(k, 1, *event)` against `batch_shape (k,)`
  make `log_prob` return a `(k, k)` table (entry `[i, j]`: value i under parameter set j) where a user
  wants the diagonal; a `.sum()` then adds k^2 terms. True for all 41 families; `validate_args=True`
  does not catch it (36 families accept it silently, 5 sometimes raise a misleading support error)
  (`cases/distributions/test_shapes_documented.py::test_broadcast_pitfall`).
- **LogisticNormal's docstring omits an offset.** torch builds it with `StickBreakingTransform`,
  whose stick fractions are `sigmoid(y_i - log(K - 1 - i))`; so `log(X / (1 - X.cumsum(-1)))[..., :-1]`
  is distributed as `Normal(loc - log(K - 1 - i), scale)`, not `Normal(loc, scale)` as documented
  (`cases/distributions/test_torch_behaviours.py::test_logistic_normal_documented_identity_is_off_by_the_stick_breaking_offset`).
- **RelaxedOneHotCategorical rejects a batch of temperatures.** A temperature of shape `(n,)` or
  `(n, 1)` beside probs of shape `(n, k)` makes `log_prob` raise a shape error; only one shared
  temperature works (`test_relaxed_one_hot_categorical_fails_on_a_batch_of_temperatures`).
- **Per-sample Jacobians.** `torch.autograd.functional.jacobian(..., vectorize=False)` has no forward
  mode; `vmap(grad(...))` fails for Geometric and Multinomial (a masked in-place write in `log_prob`)
  and for Wishart with validation on (data-dependent control flow in the positive-definite check);
  forward mode splits d/dSigma[i, j] unevenly between (i, j) and (j, i) for MultivariateNormal and
  Wishart (symmetrised, all methods agree to 1e-10); VonMises d/dconcentration is off by 5e-8
  relative in float64 (the float32-grade log I0 polynomial) (`cases/distributions/test_jacobian.py`).
"""


def write(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render())
    tmp.replace(out)
    return out

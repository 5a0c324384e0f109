"""reports/FINDINGS.md: every known deviation of the registry, re-measured when the file is written."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from suite.checks.result import CheckResult
from suite.checks.values import VALUE_METHODS, check_invalid_params, check_method, check_support
from suite.registry.families import DTYPES, FAMILIES, REGISTRY, Family
from suite.registry.known import EAGER, Known
from suite.state import derive_seed

N_PARAMETER_SETS = 1000
MEASURED = ("invalid_params", "support", *VALUE_METHODS)

HEADER = """# Findings

Where `torch.distributions` (torch {torch}) disagrees with its float64 reference, grouped by severity,
most severe first. Each row is a known deviation declared once in the registry (`Known` in its entry) and a
strict `xfail` in the default `pytest` run, scoped to the region where it occurs, so a new error beside it
still fails the run (and the run fails if torch is ever fixed there). Written by:

    python -m suite findings --out reports/FINDINGS.md

For the value checks (log_prob, cdf, icdf, moments, support) the torch and reference columns are re-measured
when this file is written: the worst element over {n} parameter sets x the quantile grid, seed 0.

{counts}
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


def all_known() -> list[tuple[str, Known]]:
    """(subject, Known) for every known deviation the registry declares: the families' (in their entries, the
    execution modes' included) and those of the transforms, constraints and KL pairs."""
    from suite.registry import constraints, kl_known, transforms_known

    found = [(family.name, known) for family in FAMILIES for known in family.known]
    for module, kind in ((transforms_known, "transform"), (constraints, "constraint"), (kl_known, "KL")):
        found += [(f"{kind} {name}", known) for name, entries in module.KNOWN.items() for known in entries]
    return found


def count_by_severity() -> dict[str, int]:
    """Severity title -> how many findings, most severe first (titles with none left out)."""
    counts = Counter(known.severity for _, known in all_known())
    return {severity.title: counts[severity] for severity in sorted(counts)}


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value).replace("|", "\\|") if value not in (None, "") else ""


def _measured(subject: str, known: Known) -> tuple[str, str]:
    """(torch, reference) at the worst element, for the value checks; blanks for the others."""
    if known.checks[0] not in MEASURED or subject not in REGISTRY or known.mode != EAGER:
        return "", ""
    dtype = "float64" if known.dtype in ("*", "float64") else known.dtype
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the out-of-range points are the subject, not noise to report
        result = measure(REGISTRY[subject], known.checks[0], DTYPES[dtype])
    worst = result.worst or {}
    if not worst:
        return (result.message[:80].replace("|", "\\|"), "")
    return _cell(worst.get("torch")), _cell(worst.get("reference"))


def render(measured: bool = True) -> str:
    """FINDINGS.md; without `measured`, the torch and reference columns stay blank (a cheap structural copy)."""
    counts = count_by_severity()
    summary = " · ".join(f"{title}: {n}" for title, n in counts.items())
    lines = [HEADER.format(torch=torch.__version__, n=N_PARAMETER_SETS, counts=summary)]
    by_severity = sorted(all_known(), key=lambda row: row[1].severity)
    for severity in sorted({known.severity for _, known in by_severity}):
        lines.append(f"\n## {severity.title}\n\n| subject | check | dtype | where | what a user sees | torch | "
                     "reference | upstream |\n|---|---|---|---|---|---|---|---|\n")
        for subject, known in by_severity:
            if known.severity is not severity:
                continue
            got, want = _measured(subject, known) if measured else ("", "")
            dtype = known.dtype if known.mode == EAGER else f"{known.dtype} ({known.mode})"
            cells = [subject, ", ".join(known.checks), dtype, known.where, known.what.replace("|", "\\|"), got, want,
                     known.upstream]
            lines.append("| " + " | ".join(cells) + " |\n")
    lines.append(BEHAVIOURS)
    return "".join(lines)


BEHAVIOURS = """
## Documented behaviours worth knowing

Each of these is asserted by a case (named in brackets), so the suite notices when torch changes.

- **The popular `retain_graph=True` answer trains a stale copy.** A distribution built once from
  `std = exp(log_std)` keeps the `scale` computed at construction: `log_std` moves, `dist.scale`
  never does, and the fit is wrong without any error; with softplus instead of exp, backward raises
  an in-place modification error. Every fittable family gets the verdict `stale` or `error`
  (`cases/distributions/test_strategies.py::test_seed000_accepted_answer_is_stale`, `test_trajectories_mle`;
  table: `python -m suite strategies`).
- **Broadcasting pitfall (pytorch#43878).** Values shaped `(k, 1, *event)` against `batch_shape (k,)`
  make `log_prob` return a `(k, k)` table (entry `[i, j]`: value i under parameter set j) where a user
  wants the diagonal; a `.sum()` then adds k^2 terms. True for all 41 families; `validate_args=True`
  does not catch it (36 families accept it silently, 5 sometimes raise a misleading support error)
  (`cases/distributions/test_shapes_documented.py::test_broadcast_pitfall`).
- **LogisticNormal's docstring omits an offset.** torch builds it with `StickBreakingTransform`,
  whose stick fractions are `sigmoid(y_i - log(K - 1 - i))`; so `log(X / (1 - X.cumsum(-1)))[..., :-1]`
  is distributed as `Normal(loc - log(K - 1 - i), scale)`, not `Normal(loc, scale)` as documented
  (`cases/distributions/test_torch_behaviours.py::test_logistic_normal_documented_identity_is_off_by_the_stick_breaking_offset`).
"""


def write(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render())
    tmp.replace(out)
    return out

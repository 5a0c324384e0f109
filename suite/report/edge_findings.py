"""The edge findings section of reports/FINDINGS.md: every Known of an "edge.*" check, re-measured.

Each row names the family, check, dtype, severity, region (in words), how many elements of the check fail
inside that region when the file is written, what a user sees (torch value vs the true value) and the
upstream issue.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from suite.checks import edge_batches, edge_tails, edges
from suite.checks.result import CheckResult, guarded
from suite.registry.families import DTYPES, FAMILIES, Family

HEADER = """
## Edges

Support ends, points outside the support, legal boundary parameters, logits, deep tails, mixed dtypes
and empty batches (`cases/distributions/test_edges.py`). Each row is a strict `xfail` scoped to its region;
"failing" counts the check's failing elements inside that region when this file was written.

| family | check | dtype | severity | where | failing | what | upstream |
|---|---|---|---|---|---|---|---|
"""


def run_edge_check(family: Family, check: str, dtype: torch.dtype) -> CheckResult:
    kind = check.removeprefix("edge.")
    runs = {"icdf_ends": lambda: edges.check_ends(family, "icdf", dtype),
            "cdf_ends": lambda: edges.check_ends(family, "cdf", dtype),
            "outside": lambda: edges.check_outside(family, dtype),
            "boundary_params": lambda: edges.check_boundary_params(family, dtype),
            "logits": lambda: edges.check_logits(family, dtype),
            "parameterisation": lambda: edges.check_parameterisations(family, dtype),
            "tail": lambda: edge_tails.check_tails(family, dtype),
            "empty": lambda: edge_batches.check_empty_batch(family, dtype),
            "mixed_dtype": lambda: edge_batches.check_mixed_dtype(family)}
    return guarded(runs[kind], check, family.name, str(dtype))


def render_edges() -> str:
    lines = [HEADER]
    for family in FAMILIES:
        for known in family.known:
            if not known.check.startswith("edge."):
                continue
            for name in (DTYPES if known.dtype == "*" else [known.dtype]):
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = run_edge_check(family, known.check, DTYPES[name])
                if result.ok is None:
                    failing = result.message[:80]
                else:
                    inside = known.inside(result.coords, result.ok.shape)
                    failing = f"{int((~result.ok & inside).sum())} / {int(inside.sum())}"
                cells = [family.name, known.check, name, known.severity.name, known.where, failing, known.what,
                         known.upstream]
                lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |\n")
    return "".join(lines)

"""Every family at its edges: support ends, outside the support, legal boundary parameters, every
parameterisation, deep tails, mixed dtypes and empty batches. Generated from the registry; an edge kind that
does not apply to a family is skipped with the reason the registry (or its constraints) gives."""

from __future__ import annotations

import pytest
import torch

from suite.checks import edge_batches, edge_tails, edges
from suite.checks.result import guarded
from suite.conformance import expect
from suite.registry.edges import EDGE_KINDS
from suite.registry.families import FAMILIES, dtype_name
from suite.verdict import judge

CHECKS = {
    "icdf_ends": lambda family, dtype, device: edges.check_ends(family, "icdf", dtype, device),
    "cdf_ends": lambda family, dtype, device: edges.check_ends(family, "cdf", dtype, device),
    "outside": edges.check_outside,
    "boundary_params": edges.check_boundary_params,
    "logits": edges.check_logits,
    "parameterisation": edges.check_parameterisations,
    "tail": edge_tails.check_tails,
    "empty": edge_batches.check_empty_batch,
}


def _why_not(family, kind: str) -> str | None:
    if kind == "tail":
        return edge_tails.tail_not_applicable(family)
    if kind in ("empty", "mixed_dtype"):
        return edges.edges_of(family).not_applicable.get(kind)
    return edges.not_applicable(family, kind)


def _skip_unless_applies(family, kind: str) -> None:
    """Whether an edge kind applies is decided when the case runs: deciding it builds the family, which
    collection should not."""
    why = _why_not(family, kind)
    if why:
        pytest.skip(f"{family.name}: {kind} does not apply: {why}")


EDGE_CASES = [pytest.param(family, kind, id=f"{family.name}-{kind}") for family in FAMILIES for kind in CHECKS]
MIXED_CASES = [pytest.param(family, "mixed_dtype", id=f"{family.name}-mixed_dtype") for family in FAMILIES]


@pytest.mark.parametrize("family,kind", EDGE_CASES)
def test_edge(family, kind, dtype, device):
    _skip_unless_applies(family, kind)
    check = f"edge.{kind}"
    result = guarded(lambda: CHECKS[kind](family, dtype, device), check, family.name, dtype_name(dtype))
    expect(judge(result, family.known_for(check, dtype, device)))


@pytest.mark.parametrize("family,kind", MIXED_CASES)
def test_float64_parameters_under_default_float32(family, kind, device):
    _skip_unless_applies(family, kind)
    result = guarded(lambda: edge_batches.check_mixed_dtype(family, device), "edge.mixed_dtype", family.name,
                     "float64")
    expect(judge(result, family.known_for("edge.mixed_dtype", torch.float64, device)))


def test_declared_edge_exceptions_name_edge_kinds():
    """An entry's `edges.not_applicable` names only edge kinds the checks know, each with a reason."""
    for family in FAMILIES:
        declared = edges.edges_of(family).not_applicable
        assert set(declared) <= set(EDGE_KINDS), (family.name, set(declared) - set(EDGE_KINDS))
        assert all(reason.strip() for reason in declared.values()), family.name

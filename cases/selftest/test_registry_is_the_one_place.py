"""What the suite knows about a family lives in its registry entry: no module outside suite/registry/ holds a
module-level table keyed by (or listing) family names."""

from __future__ import annotations

import ast
from pathlib import Path

from suite.registry.families import FAMILIES

REPO = Path(__file__).resolve().parents[2]
NAMES = {family.name for family in FAMILIES}


def family_tables(source: str) -> list[str]:
    """Module-level names bound to a dict, set, list or tuple literal with family names as keys or items."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        value = node.value
        items = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        named = [item.value for item in items if isinstance(item, ast.Constant) and item.value in NAMES]
        if named:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [f"{ast.unparse(target)} ({', '.join(named[:3])})" for target in targets]
    return found


def test_no_family_table_outside_the_registry():
    offenders = {}
    for path in [*(REPO / "suite").rglob("*.py"), *(REPO / "cases").rglob("*.py")]:
        if "registry" in path.relative_to(REPO).parts:
            continue
        tables = family_tables(path.read_text())
        if tables:
            offenders[str(path.relative_to(REPO))] = tables
    assert not offenders, offenders


def test_the_scan_finds_a_planted_table():
    assert family_tables('PATHWISE = {"StudentT": {"df": "conditional"}}') == ['PATHWISE (StudentT)']
    assert family_tables('HEAVY = {"Wishart", "MultivariateNormal"}') == ['HEAVY (Wishart, MultivariateNormal)']
    assert family_tables('def f():\n    local = {"Normal": 1}') == []

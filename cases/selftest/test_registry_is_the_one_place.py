"""What the suite knows about a family lives in its registry entry: no module outside suite/registry/ holds a
module-level table keyed by (or listing) family names, and no module of suite/registry/ outside its entries
holds a module-level dict keyed by family names."""

from __future__ import annotations

import ast
from pathlib import Path

from suite.registry.families import FAMILIES

REPO = Path(__file__).resolve().parents[2]
REGISTRY_DIR = REPO / "suite" / "registry"
ENTRIES_DIR = REGISTRY_DIR / "entries"
NAMES = {family.name for family in FAMILIES}
# The KL references: closed forms, moments and scipy laws that the KL pairs combine two at a time, keyed by
# the family on each side of a pair.
KL_REFERENCE_TABLES = {"kl.py": {"SAME_FAMILY_CLOSED"}, "kl_moments.py": {"_MOMENTS"},
                       "kl_quadrature.py": {"FROZEN"}}


def family_tables(source: str, dicts_only: bool = False) -> list[str]:
    """Module-level names bound to a dict, set, list or tuple literal with family names as keys or items
    (with `dicts_only`, to a dict literal with family names as keys)."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        value = node.value
        if dicts_only and not isinstance(value, ast.Dict):
            continue
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


def test_no_dict_keyed_by_family_in_the_registry_outside_the_entries():
    offenders = {}
    for path in REGISTRY_DIR.rglob("*.py"):
        if path.is_relative_to(ENTRIES_DIR):
            continue
        allowed = KL_REFERENCE_TABLES.get(path.name, set())
        tables = [t for t in family_tables(path.read_text(), dicts_only=True) if t.split(" ")[0] not in allowed]
        if tables:
            offenders[str(path.relative_to(REPO))] = tables
    assert not offenders, offenders


def test_the_scan_finds_a_planted_table():
    assert family_tables('PATHWISE = {"StudentT": {"df": "conditional"}}') == ['PATHWISE (StudentT)']
    assert family_tables('HEAVY = {"Wishart", "MultivariateNormal"}') == ['HEAVY (Wishart, MultivariateNormal)']
    assert family_tables('def f():\n    local = {"Normal": 1}') == []


def test_the_registry_scan_finds_a_planted_table_of_known_deviations():
    planted = ('_TABLE: dict[str, list[tuple]] = {\n    "Normal": [(INPLACE_RANDOMNESS, "rsample", BOTH_VMAP)],\n'
               '    "Cauchy": [(INPLACE_RANDOMNESS, "*sample", BOTH_VMAP)],\n}')
    assert family_tables(planted, dicts_only=True) == ["_TABLE (Normal, Cauchy)"]
    assert family_tables('KNOWN = {"Normal-Normal": (), "*.inv": ()}', dicts_only=True) == []
    assert family_tables('CONTINUOUS = ("Normal", "Laplace")', dicts_only=True) == []


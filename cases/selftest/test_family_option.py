"""--family keeps exactly the named families' cases (where -k Normal would also keep MultivariateNormal)."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import select_families
from suite.registry.families import REGISTRY


def item(family) -> SimpleNamespace:
    return SimpleNamespace(callspec=SimpleNamespace(params={"family": family}))


def test_exact_family_names_are_kept_and_the_rest_deselected():
    deselected = []
    config = SimpleNamespace(getoption=lambda name: "Normal",
                             hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    normal, mvn, by_name, other = (item(REGISTRY["Normal"]), item(REGISTRY["MultivariateNormal"]), item("Normal"),
                                   SimpleNamespace())
    items = [normal, mvn, by_name, other]
    select_families(config, items)
    assert items == [normal, by_name] and deselected == [mvn, other]

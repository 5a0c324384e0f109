"""Execution modes against eager: torch.compile, torch.func.vmap and validation, per family and method.

Default tier: vmap (validation off and on, and invalid input) and validation on/off for every family
in float64 (cheap); torch.compile (aot_eager) parity for COMPILED_DEFAULT (Normal); and a cheap check
that reports/MODES.md covers every family and method and agrees with the vmap and validation cells
measured here. Slow tier (`pytest -m slow`): compile parity, invalid input under compile and batch-size
recompiles for every family, float32 for vmap and validation, inductor parity, and MODES.md regenerated
in full.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from suite.checks import capture as C
from suite.checks import modes as M
from suite.cli.modes import collect, collect_family, judged, recompile_result
from suite.conformance import expect
from suite.registry.families import FAMILIES, REGISTRY
from suite.report import modes as report
from suite.verdict import judge

MODES_MD = Path(__file__).resolve().parents[2] / "reports" / "MODES.md"
# Compile costs about a second per family on a small CPU (15 s for this file in the default tier): the
# default tier compiles Normal (captured in one graph); every other family is compiled in the slow tier.
CHEAP_MODES = (("vmap", M.VMAP, False), ("vmap+validate", M.VMAP, True), ("validation", M.VALIDATION, False))


@functools.lru_cache(maxsize=None)
def _results(family: str, mode: str, validate: bool, dtype: str, backend: str = M.FAST_BACKEND) -> dict:
    fam = REGISTRY[family]
    inputs = M.make_inputs(fam, M.N_SETS, getattr(torch, dtype))
    runner = M.compiled_runner(backend) if mode == M.COMPILE else None
    return M.check_mode(inputs, mode, M.methods_of(fam, inputs.dtype), runner, validate)


@functools.lru_cache(maxsize=None)
def _methods(family: str) -> tuple[str, ...]:
    return M.methods_of(REGISTRY[family])


def _method_cases(families, modes, marks=()):
    return [pytest.param(f.name, m, label, mode, validate, id=f"{f.name}-{m}-{label}", marks=marks)
            for f in families for m in _methods(f.name) for label, mode, validate in modes]


CHEAP_CASES = _method_cases(FAMILIES, CHEAP_MODES)
COMPILE_CASES = (_method_cases([f for f in FAMILIES if f.compile_representative], [("compile", M.COMPILE, False)])
                 + _method_cases([f for f in FAMILIES if not f.compile_representative],
                                 [("compile", M.COMPILE, False)], marks=pytest.mark.slow))


@pytest.mark.parametrize("family,method,label,mode,validate", CHEAP_CASES)
def test_vmap_and_validation_agree_with_eager(family, method, label, mode, validate):
    result = _results(family, mode, validate, "float64")[method]
    expect(judge(result, REGISTRY[family].known_for(method, "float64", mode=label)))


@pytest.mark.slow
@pytest.mark.parametrize("family,method,label,mode,validate", CHEAP_CASES)
def test_vmap_and_validation_agree_with_eager_float32(family, method, label, mode, validate):
    result = _results(family, mode, validate, "float32")[method]
    expect(judge(result, REGISTRY[family].known_for(method, "float32", mode=label)))


@pytest.mark.parametrize("family,method,label,mode,validate", COMPILE_CASES)
def test_compiled_methods_agree_with_eager(family, method, label, mode, validate):
    result = _results(family, mode, validate, "float64")[method]
    expect(judge(result, REGISTRY[family].known_for(method, "float64", mode=label)))


@pytest.mark.slow
@pytest.mark.parametrize("family", [f.name for f in FAMILIES])
def test_inductor_agrees_with_eager(family):
    for method, result in _results(family, M.COMPILE, False, "float64", "inductor").items():
        expect(judge(result, REGISTRY[family].known_for(method, "float64", mode="compile")))


EVERY_FAMILY = [pytest.param(f.name, id=f.name) for f in FAMILIES]
SLOW_FAMILIES = [pytest.param(f.name, id=f.name, marks=pytest.mark.slow) for f in FAMILIES]


@pytest.mark.parametrize("family", EVERY_FAMILY)
def test_invalid_input_under_vmap_raises_as_in_eager(family):
    for check, result in M.check_invalid(REGISTRY[family], M.VMAP).items():
        expect(judge(result, REGISTRY[family].known_for(check, "float64", mode="vmap+validate")))


@pytest.mark.parametrize("family", SLOW_FAMILIES)
def test_invalid_input_under_compile_raises_as_in_eager(family):
    for check, result in M.check_invalid(REGISTRY[family], M.COMPILE).items():
        expect(judge(result, REGISTRY[family].known_for(check, "float64", mode="compile+validate")))


@pytest.mark.parametrize("family", SLOW_FAMILIES)
def test_a_new_batch_size_compiles_once_more_and_agrees(family):
    fam = REGISTRY[family]
    batches = [M.make_inputs(fam, n) for n in (M.N_SETS, M.N_SETS + 1, M.N_SETS + 2)]
    rec = C.recompiles(batches, M.methods_of(fam))
    expect(judge(recompile_result(fam, rec, "float64"), fam.known_for("batch_size", "float64", mode="compile")))


@pytest.mark.slow
def test_compiling_leaves_the_global_validation_default_alone():
    result = M.validation_default_after_compile(REGISTRY["Normal"])
    expect(judge(result, REGISTRY["Normal"].known_for("global_validation", mode="compile")))


@pytest.mark.slow
def test_global_validation_check_passes_where_the_default_is_restored():
    repaired = M.validation_default_after_compile(REGISTRY["Normal"], after_compile="D.set_default_validate_args(True)")
    assert repaired.passed, repaired.message


def test_modes_report_covers_every_family_and_method():
    """Cheap currency check of reports/MODES.md: its rows are every family's methods, and its vmap and
    validation cells are what this run measures (the full regeneration is in the slow tier)."""
    assert MODES_MD.exists(), f"{MODES_MD} is missing: run `python -m suite modes`"
    table = report.parse(MODES_MD.read_text())
    expected_rows = {(f.name, m) for f in FAMILIES for m in _methods(f.name)}
    assert set(table) == expected_rows, (f"MODES.md rows differ: missing {sorted(expected_rows - set(table))[:5]}, "
                                         f"extra {sorted(set(table) - expected_rows)[:5]}")
    cells = [judged(f, result, label, "float64") for f, m, label, mode, validate in
             ((p.values[0], p.values[1], *p.values[2:]) for p in CHEAP_CASES)
             for result in [_results(f, mode, validate, "float64")[m]]]
    stale = report.stale(table, cells)
    assert not stale, "reports/MODES.md is out of date (run `python -m suite modes`): " + "; ".join(stale[:5])


@pytest.mark.slow
def test_modes_report_is_current():
    cells = collect(FAMILIES)
    written = MODES_MD.read_text()
    assert report.render(cells, "float64", M.FAST_BACKEND) == written, \
        "reports/MODES.md is out of date: run `python -m suite modes`"


def test_collect_family_runs_the_cheap_modes_without_compiling():
    cells = collect_family(REGISTRY["Exponential"], compile_modes=False)
    assert {c.mode for c in cells} == {"vmap", "vmap+validate", "validation"}
    assert all(c.family == "Exponential" for c in cells)

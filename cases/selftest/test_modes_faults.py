"""Every execution-mode check fails on a planted fault: a compiled path that returns a different value, a
vmap path that drops the batch dimension, validation skipped in one mode, validation that changes a
value, a graph break, and a stale MODES.md cell."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.distributions as D

from suite.checks import capture as C
from suite.checks import modes as M
from suite.cli.modes import Cell
from suite.registry.families import REGISTRY
from suite.report import modes as report

NORMAL = REGISTRY["Normal"]


def _family_of(cls: type[D.Normal]):
    def build(loc, scale, validate_args=None):
        return cls(loc, scale, validate_args=validate_args)
    return dataclasses.replace(NORMAL, name=cls.__name__, torch_cls=cls, build=build)


class CompiledOffNormal(D.Normal):
    """log_prob is off by 1e-6 when compiled only."""

    def log_prob(self, value):
        out = super().log_prob(value)
        return out + 1e-6 if torch.compiler.is_compiling() else out


class ValidatedOffNormal(D.Normal):
    """log_prob is off by 1e-6 when validation is on only."""

    def log_prob(self, value):
        out = super().log_prob(value)
        return out + 1e-6 if self._validate_args else out


class UncheckedWhenCompiledNormal(D.Normal):
    """Validation skipped under torch.compile only."""

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(loc, scale, validate_args=False if torch.compiler.is_compiling() else validate_args)


class BreakingNormal(D.Normal):
    def log_prob(self, value):
        torch._dynamo.graph_break()
        return super().log_prob(value)


def dropping_vmap(fn, **kwargs):
    """torch.func.vmap whose results keep only the first parameter set: the batch dimension is dropped."""
    batched = torch.func.vmap(fn, **kwargs)
    return lambda *args: {k: v[0] for k, v in batched(*args).items()}


def test_compiled_path_with_a_different_value_fails_the_compile_check():
    inputs = M.make_inputs(_family_of(CompiledOffNormal))
    results = M.check_mode(inputs, M.COMPILE, ("log_prob", "entropy"))
    assert results["entropy"].passed, results["entropy"].summary()
    assert not results["log_prob"].passed and results["log_prob"].failures == inputs.size
    assert results["log_prob"].ok is not None and not results["log_prob"].ok.any()


def test_vmap_path_dropping_the_batch_dimension_fails_the_vmap_check():
    inputs = M.make_inputs(NORMAL)
    assert all(r.passed for r in M.check_mode(inputs, M.VMAP, ("log_prob", "sample")).values())
    results = M.check_mode(inputs, M.VMAP, ("log_prob", "sample"), runner=M.vmap_runner(dropping_vmap))
    for method in ("log_prob", "sample"):
        assert not results[method].passed
        assert "shape ()" in results[method].message, results[method].message


def test_validation_skipped_under_compile_fails_the_invalid_input_check():
    results = M.check_invalid(_family_of(UncheckedWhenCompiledNormal), M.COMPILE)
    assert not results["invalid_params"].passed
    assert "no error" in results["invalid_params"].message and "ValueError" in results["invalid_params"].message


def test_validation_that_changes_a_value_fails_the_validation_check():
    inputs = M.make_inputs(_family_of(ValidatedOffNormal))
    results = M.check_mode(inputs, M.VALIDATION, ("log_prob", "cdf"))
    assert results["cdf"].passed and not results["log_prob"].passed


def test_a_planted_graph_break_is_captured_with_its_reason():
    inputs = M.make_inputs(_family_of(BreakingNormal))
    found = C.capture(inputs, "log_prob", validate_args=False)
    assert not found.one_graph and found.breaks >= 1, found
    assert any("graph_break" in r or "Call to `torch._dynamo.graph_break()`" in r for r in found.reasons), found.reasons


@pytest.mark.slow
def test_a_recompiled_path_with_a_different_value_is_reported():
    family = _family_of(CompiledOffNormal)
    rec = C.recompiles([M.make_inputs(family, n) for n in (6, 7)], ("log_prob",))
    assert rec.differ == ["log_prob"], rec


def test_a_stale_modes_report_cell_is_found():
    cells = [Cell("Normal", "log_prob", "vmap", "ok", "ok", "pass"),
             Cell("Normal", "log_prob", "validation", "ok", "ok", "pass")]
    text = report.render(cells, "float64", "aot_eager")
    assert report.stale(report.parse(text), cells) == []
    stale = report.stale(report.parse(text.replace("| ok |", "| error: x |", 1)), cells)
    assert len(stale) == 1 and "Normal.log_prob [vmap]" in stale[0], stale

"""Collecting the cases imports no heavy module: torch._dynamo, matplotlib and hypothesis are imported where a
case compiles, draws a figure or draws examples, so `pytest --collect-only` (and every xdist worker's
collection) stays quick. Which modules are imported is deterministic, unlike the time collection takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE_FILES = {str(path.relative_to(ROOT)) for path in (ROOT / "cases").rglob("*.py")
              if path.name.startswith(("test_", "bench_"))}


def test_collecting_every_case_imports_no_heavy_module(heavy_imported_by_collection):
    heavy, collected = heavy_imported_by_collection
    if not CASE_FILES <= collected:
        pytest.skip("judged on a run that collects every case file (this one collected a subset)")
    assert heavy == []


def test_planted_fault_a_module_level_heavy_import_is_seen(tmp_path):
    """The same record, in a run collecting a case file that imports matplotlib at module level."""
    (tmp_path / "test_planted.py").write_text("import matplotlib.figure  # noqa: F401\n\n\ndef test_nothing():\n"
                                              "    pass\n")
    (tmp_path / "test_report_heavy.py").write_text(
        "def test_report(heavy_imported_by_collection):\n"
        "    assert heavy_imported_by_collection[0] == []\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                          "-p", "no:hypothesispytest", "-p", "suite.collection_imports", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"assert {['matplotlib']!r} == []" in run.stdout, run.stdout[-2000:]

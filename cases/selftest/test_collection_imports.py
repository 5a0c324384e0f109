"""Collecting the cases imports no heavy module: torch._dynamo, matplotlib and hypothesis are imported where a
case compiles, draws a figure or draws examples, so `pytest --collect-only` (and every xdist worker's
collection) stays quick. Which modules are imported is deterministic, unlike the time collection takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch._dynamo", "matplotlib", "hypothesis")

# A plugin for the collecting process: it writes the names of the modules imported once collection is done.
MODULES_PLUGIN = """
import json, os, sys

def pytest_collection_finish(session):
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def heavy_imported_by_collection(tmp_path: Path, cwd: Path, *args: str) -> list[str]:
    """The HEAVY modules imported by `pytest --collect-only` run in `cwd` with `args`, in a fresh process."""
    (tmp_path / "modules_plugin.py").write_text(MODULES_PLUGIN)
    out = tmp_path / "modules.json"
    env = {**os.environ, "MODULES_OUT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider",
                          "-p", "modules_plugin", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    modules = set(json.loads(out.read_text()))
    return [name for name in HEAVY if name in modules]


def test_collecting_every_case_imports_no_heavy_module(tmp_path):
    assert heavy_imported_by_collection(tmp_path, ROOT) == []


def test_planted_fault_a_module_level_heavy_import_is_seen(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "test_planted.py").write_text("import matplotlib.figure  # noqa: F401\n\n\ndef test_nothing():\n"
                                           "    pass\n")
    (cases / "pytest.ini").write_text("[pytest]\n")
    assert heavy_imported_by_collection(tmp_path, cases, "test_planted.py") == ["matplotlib"]

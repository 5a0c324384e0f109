"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
# The training examples; the conformance example is a test file of its own (cases/selftest/test_conformance.py).
BLOCKS = [block for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
          if "parametrize_with_checks" not in block]


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source):
    namespace: dict = {}
    exec(compile(source, str(README), "exec"), namespace)
    model, target = namespace["model"], namespace["target"]
    assert abs(model().loc.item() - target.loc.item()) < abs(1.0 - target.loc.item())


def test_readme_has_examples():
    assert BLOCKS

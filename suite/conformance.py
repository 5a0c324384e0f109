"""pytest's side of the verdict: a case hands its verdict here and nowhere else."""

from __future__ import annotations

import pytest

from suite.verdict import FAIL, XFAIL, Verdict


def expect(verdict: Verdict) -> None:
    """Fail, xfail or return, as the verdict says."""
    if verdict.status == FAIL:
        pytest.fail(verdict.message, pytrace=False)
    if verdict.status == XFAIL:
        pytest.xfail(verdict.message)

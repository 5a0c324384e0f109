"""pytest plugin for `pytest --benchmark` (timed benchmark cases and results.json)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("distsuite").addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run only the timed benchmark cases and write reports/<environment-id>/",
    )

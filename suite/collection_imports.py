"""A pytest plugin recording which heavy modules the run's collection imported: torch._dynamo, matplotlib and
hypothesis belong where a case compiles, draws a figure or draws examples, not at collection (which every
xdist worker repeats). Recorded when collection ends, before any case runs and imports what it needs."""

from __future__ import annotations

import sys

import pytest

HEAVY = ("torch._dynamo", "matplotlib", "hypothesis")
_AT_COLLECTION = pytest.StashKey[tuple[list[str], set[str]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    collected = {item.nodeid.split("::")[0] for item in session.items}
    session.config.stash[_AT_COLLECTION] = ([name for name in HEAVY if name in sys.modules], collected)


@pytest.fixture
def heavy_imported_by_collection(request: pytest.FixtureRequest) -> tuple[list[str], set[str]]:
    """(the HEAVY modules imported when collection ended, the files it collected)."""
    return request.config.stash[_AT_COLLECTION]

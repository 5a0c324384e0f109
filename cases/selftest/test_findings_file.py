"""reports/FINDINGS.md is what `python -m suite findings` writes: every known deviation of the registry, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.report import findings

COMMITTED = Path(__file__).resolve().parents[2] / "reports" / "FINDINGS.md"
MEASURED_COLUMNS = (5, 6)  # torch and reference: re-measured when the file is written


def rows(text: str) -> list[list[str]]:
    """The table rows, without the measured cells."""
    out = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| subject"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            out.append([cell for i, cell in enumerate(cells) if i not in MEASURED_COLUMNS])
    return out


def test_every_known_deviation_is_a_row_of_the_committed_file():
    expected = rows(findings.render(measured=False))
    assert len(expected) == len(findings.all_known())
    assert rows(COMMITTED.read_text()) == expected, "FINDINGS.md is stale: run `python -m suite findings`"


def test_a_deviation_missing_from_the_file_is_caught():
    text = COMMITTED.read_text()
    first_row = next(line for line in text.splitlines() if line.startswith("| ") and "subject" not in line)
    assert rows(text.replace(first_row + "\n", "")) != rows(findings.render(measured=False))


@pytest.mark.slow
def test_the_committed_file_is_what_its_command_writes():
    assert COMMITTED.read_text() == findings.render(), "FINDINGS.md is stale: run `python -m suite findings`"

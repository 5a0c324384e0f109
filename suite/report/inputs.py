"""Reading results files for a report: every way a file can be unusable becomes one ReportInputError line."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from suite.bench.results import SCHEMA_VERSION, Results, SchemaError, from_dict


class ReportInputError(ValueError):
    """A results file that cannot be used; str() is one line naming the file and the reason."""


@dataclass(frozen=True)
class Source:
    """One loaded results file and the short label its column carries in a merged report."""

    path: Path
    label: str
    results: Results


def read_results(path: str | os.PathLike) -> Results:
    """Load and validate one results file, or raise ReportInputError with a one-line reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReportInputError(f"{path}: is a directory, not a results file") from None
    except UnicodeDecodeError:
        raise ReportInputError(f"{path}: not a UTF-8 text file, so not a results file") from None
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "; the file is truncated" if exc.pos >= len(text.rstrip()) else ""
        raise ReportInputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}"
                               f"{hint})") from None
    if not isinstance(document, dict) or "schema_version" not in document:
        raise ReportInputError(f"{path}: not a distsuite results file (no schema_version field)")
    version = document["schema_version"]
    if version != SCHEMA_VERSION:
        raise ReportInputError(f"{path}: results schema version {version!r} is not supported "
                               f"(this distsuite reads version {SCHEMA_VERSION})")
    try:
        return from_dict(document)
    except (SchemaError, TypeError) as exc:
        raise ReportInputError(f"{path}: not a valid results file: {exc}") from None


def read_sources(paths: Sequence[str | os.PathLike]) -> list[Source]:
    """Every file loaded, labelled E1, E2, ... in the order given (a single file is labelled by nothing)."""
    if not paths:
        raise ReportInputError("no results files given")
    loaded = [(Path(p), read_results(p)) for p in paths]
    if len(loaded) == 1:
        return [Source(loaded[0][0], "", loaded[0][1])]
    return [Source(path, f"E{i}", results) for i, (path, results) in enumerate(loaded, start=1)]

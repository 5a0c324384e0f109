"""results.json (schema version 1): records of benchmark measurements, written atomically and validated on load.

One file per environment, at ``reports/<environment id>/results.json``::

    {"schema_version": 1,
     "environment": {"id", "distsuite_commit", "torch", "python", "numpy", "scipy", "platform", "cpu",
                     "threads", "gpu", "cuda", "date", "allocator"},
     "records": [{"case_id", "group", "family", "method", "phase", "device", "dtype", "size", "dim",
                  "validate", "compiled", "median_s", "iqr_s", "rounds", "samples_s", "passes",
                  "set_aside_samples_s", "set_aside_passes", "peak_bytes", "status", "error", "verdict"}, ...]}

``passes`` (optional on reading; files written before it existed lack it) is the number of timing
passes whose samples ``samples_s`` holds, in order and in equal parts: the passes the median rests on.
``set_aside_samples_s`` and ``set_aside_passes`` (optional likewise)
hold the passes set aside as not quiet (suite.bench.passes), in order and in equal parts. ``allocator`` (optional on
reading likewise) is the C allocator setting the timings ran under (suite.bench.allocator).

A file holds the records of several runs: a run replaces the records of the cases it measured and keeps
the others (``merged_by_case``). So each record says when (``measured_at``, ISO 8601) and at which commit
(``commit``) it was measured, from which tier (``tier``: default or slow), whether its timing passes
never agreed (``unsettled``), and the smallest share of a core its run's process got over a timing pass
(``cpu_share``: CPU time over wall time; well below 1 when other work kept it waiting, suite.bench.load).
All five are optional on reading.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
FILENAME = "results.json"

GROUPS = ("strategy_step", "jacobian", "throughput", "memory_probe")
PHASES = ("total", "construct", "log_prob", "backward", "optimizer_step", None)
DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "float64")
STATUSES = ("ok", "oom", "error", "unsupported", "timeout")
TIERS = ("default", "slow")


class SchemaError(ValueError):
    """A results document that does not follow the schema; the message names the offending field."""


@dataclass(frozen=True)
class Environment:
    id: str
    distsuite_commit: str | None
    torch: str
    python: str
    numpy: str
    scipy: str
    platform: str
    cpu: str
    threads: int
    gpu: str | None
    cuda: str | None
    date: str
    allocator: str | None = None


@dataclass
class Record:
    """One measurement. Times are per call, in seconds; peak_bytes is tensor memory above the starting level."""

    case_id: str
    group: str
    method: str
    device: str
    dtype: str
    size: int
    family: str | None = None
    phase: str | None = None
    dim: int | None = None
    validate: bool | None = None
    compiled: bool | None = None
    median_s: float | None = None
    iqr_s: float | None = None
    rounds: int | None = None
    samples_s: list[float] = field(default_factory=list)
    passes: int | None = None
    set_aside_samples_s: list[float] | None = None
    set_aside_passes: int | None = None
    peak_bytes: int | None = None
    status: str = "ok"
    error: str | None = None
    verdict: str | None = None
    measured_at: str | None = None
    commit: str | None = None
    tier: str | None = None
    unsettled: bool | None = None
    cpu_share: float | None = None


@dataclass
class Results:
    environment: Environment
    records: list[Record] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "environment": asdict(self.environment),
                "records": [asdict(r) for r in self.records]}


_OPTIONAL_STR = (str, type(None))
_OPTIONAL_INT = (int, type(None))
_OPTIONAL_NUM = (int, float, type(None))
_OPTIONAL_BOOL = (bool, type(None))

_ENVIRONMENT_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "distsuite_commit": _OPTIONAL_STR, "torch": (str,), "python": (str,), "numpy": (str,),
    "scipy": (str,), "platform": (str,), "cpu": (str,), "threads": (int,), "gpu": _OPTIONAL_STR,
    "cuda": _OPTIONAL_STR, "date": (str,), "allocator": _OPTIONAL_STR,
}
_OPTIONAL_ENVIRONMENT_FIELDS = ("allocator",)
_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "case_id": (str,), "group": (str,), "family": _OPTIONAL_STR, "method": (str,), "phase": _OPTIONAL_STR,
    "device": (str,), "dtype": (str,), "size": (int,), "dim": _OPTIONAL_INT, "validate": _OPTIONAL_BOOL,
    "compiled": _OPTIONAL_BOOL, "median_s": _OPTIONAL_NUM, "iqr_s": _OPTIONAL_NUM, "rounds": _OPTIONAL_INT,
    "samples_s": (list,), "passes": _OPTIONAL_INT, "set_aside_samples_s": (list, type(None)),
    "set_aside_passes": _OPTIONAL_INT, "peak_bytes": _OPTIONAL_INT, "status": (str,),
    "error": _OPTIONAL_STR, "verdict": _OPTIONAL_STR, "measured_at": _OPTIONAL_STR, "commit": _OPTIONAL_STR,
    "tier": _OPTIONAL_STR, "unsettled": _OPTIONAL_BOOL, "cpu_share": _OPTIONAL_NUM,
}
_OPTIONAL_RECORD_FIELDS = ("passes", "set_aside_samples_s", "set_aside_passes", "measured_at", "commit", "tier",
                           "unsettled", "cpu_share")
_RECORD_CHOICES: dict[str, tuple] = {
    "group": GROUPS, "phase": PHASES, "device": DEVICES, "dtype": DTYPES, "status": STATUSES,
    "tier": (*TIERS, None),
}


def _check_fields(obj: Any, types: Mapping[str, tuple[type, ...]], where: str,
                  optional: tuple[str, ...] = ()) -> None:
    if not isinstance(obj, dict):
        raise SchemaError(f"{where}: expected an object, got {type(obj).__name__}")
    missing = sorted(set(types) - set(obj) - set(optional))
    if missing:
        raise SchemaError(f"{where}: missing field(s) {', '.join(missing)}")
    extra = sorted(set(obj) - set(types))
    if extra:
        raise SchemaError(f"{where}: unknown field(s) {', '.join(extra)}")
    for name, allowed in types.items():
        if name not in obj:
            continue
        value = obj[name]
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and bool not in allowed):
            names = "/".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise SchemaError(f"{where}.{name}: expected {names}, got {value!r}")


def validate(document: Any) -> None:
    """Raise SchemaError unless `document` (parsed JSON) is a valid schema-version-1 results document."""
    if not isinstance(document, dict):
        raise SchemaError(f"top level: expected an object, got {type(document).__name__}")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"schema_version: this reader knows {SCHEMA_VERSION}, the file says {version!r}")
    _check_fields(document, {"schema_version": (int,), "environment": (dict,), "records": (list,)}, "top level")
    _check_fields(document["environment"], _ENVIRONMENT_TYPES, "environment", _OPTIONAL_ENVIRONMENT_FIELDS)
    for i, record in enumerate(document["records"]):
        where = f"records[{i}]"
        _check_fields(record, _RECORD_TYPES, where, _OPTIONAL_RECORD_FIELDS)
        for name, choices in _RECORD_CHOICES.items():
            if record.get(name) not in choices:
                raise SchemaError(f"{where}.{name}: {record.get(name)!r} is not one of {choices}")
        if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in record["samples_s"]):
            raise SchemaError(f"{where}.samples_s: expected a list of numbers")
        passes = record.get("passes")
        if passes is not None and (passes < 1 or len(record["samples_s"]) % passes):
            raise SchemaError(f"{where}.passes: {passes} does not divide its {len(record['samples_s'])} samples")
        aside, aside_passes = record.get("set_aside_samples_s") or [], record.get("set_aside_passes") or 0
        if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in aside):
            raise SchemaError(f"{where}.set_aside_samples_s: expected a list of numbers")
        if bool(aside) != bool(aside_passes) or (aside_passes and (aside_passes < 1 or len(aside) % aside_passes)):
            raise SchemaError(f"{where}.set_aside_passes: {record.get('set_aside_passes')} does not divide its "
                              f"{len(aside)} set-aside samples")
        if record["status"] == "ok" and record["median_s"] is None and record["peak_bytes"] is None:
            raise SchemaError(f"{where}: status ok but neither median_s nor peak_bytes is set")


def from_dict(document: Any) -> Results:
    validate(document)
    return Results(environment=Environment(**document["environment"]),
                   records=[Record(**r) for r in document["records"]],
                   schema_version=document["schema_version"])


def load(path: str | os.PathLike) -> Results:
    """Read and validate a results file; OSError, json.JSONDecodeError or SchemaError on bad input."""
    with open(path, encoding="utf-8") as f:
        return from_dict(json.load(f))


def write_atomic(path: str | os.PathLike, results: Results) -> Path:
    """Write `results` to `path` through a temporary file in the same folder and os.replace.

    A reader sees either the previous file or the complete new one, never a partial write. Refuses
    to replace a file that belongs to a different environment id.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = _environment_id_of(path)
    if existing is not None and existing != results.environment.id:
        raise FileExistsError(f"{path} holds results of environment {existing!r}, "
                              f"not {results.environment.id!r}; refusing to overwrite it")
    document = results.to_dict()
    validate(document)
    return write_text_atomic(path, dumps(document))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder, synced, then os.replace:
    a reader sees the previous file or the complete new one, never a partial write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; a results file is as readable as any other
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps(document: Mapping[str, Any]) -> str:
    """The document as JSON with one record per line (small, and diffs line by line)."""
    def compact(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False)

    head = {k: v for k, v in document.items() if k != "records"}
    lines = ",\n".join(compact(r) for r in document["records"])
    return f"{compact(head)[:-1]},\n\"records\":[\n{lines}\n]}}\n"


def _environment_id_of(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["environment"]["id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


SAMPLE_DIGITS = 6


def rounded(samples_s: Iterable[float], digits: int = SAMPLE_DIGITS) -> list[float]:
    """Samples to `digits` significant digits (far finer than any timer's run-to-run spread)."""
    return [float(f"{s:.{digits}g}") for s in samples_s]


def results_path(root: str | os.PathLike, environment_id: str) -> Path:
    return Path(root) / environment_id / FILENAME


def case_key(case_id: str) -> str:
    """A case's id with its file named by file name alone: the same case after its file moved between
    folders (`cases/bench_x.py` to `cases/benchmarks/bench_x.py`) has the same key."""
    path, sep, rest = case_id.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


def merged_by_case(earlier: Iterable[Record], latest: Iterable[Record]) -> list[Record]:
    """The records of `earlier` whose case `latest` does not measure, then `latest`: a run replaces the
    records of the cases it ran (every phase, also under the id the case had before its file moved) and
    keeps all others."""
    latest = list(latest)
    ran = {case_key(r.case_id) for r in latest}
    return [r for r in earlier if case_key(r.case_id) not in ran] + latest


def merge_records(records: Iterable[Record]) -> list[Record]:
    """Records in order, a later record replacing an earlier one with the same (case_id, phase)."""
    by_key: dict[tuple[str, str | None], Record] = {}
    for record in records:
        by_key.pop((record.case_id, record.phase), None)
        by_key[(record.case_id, record.phase)] = record
    return list(by_key.values())

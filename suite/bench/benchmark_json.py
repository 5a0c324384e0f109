"""results.json's timings in the format ``pytest --benchmark-json`` writes, for the tools that read it
(``pytest-benchmark compare``, github-action-benchmark's ``pytest`` tool).

Every timed record becomes one benchmark whose data are all its pooled samples, one per round (times per
call, so ``iterations`` is 1); its statistics are computed by pytest-benchmark's own ``Stats``. A stage
record is named after its case with the stage appended (``test_x[...]::construct``). What that format
cannot hold (failed measurements, memory, verdicts, set-aside passes) stays in results.json; the
record's when, commit, tier, verdict and memory go to ``extra_info``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest_benchmark
from pytest_benchmark.stats import Metadata

from suite.bench import results as R

FILENAME = "pytest-benchmark.json"


def _name(record: R.Record) -> tuple[str, str]:
    suffix = f"::{record.phase}" if record.phase not in (None, "total") else ""
    return record.case_id.rsplit("::", 1)[-1] + suffix, record.case_id + suffix


def benchmark_entry(record: R.Record) -> dict:
    name, fullname = _name(record)
    extra = {k: getattr(record, k) for k in ("family", "method", "phase", "device", "dtype", "size", "dim",
                                             "verdict", "peak_bytes", "passes", "measured_at", "commit", "tier",
                                             "unsettled", "cpu_share") if getattr(record, k) is not None}
    fixture = SimpleNamespace(name=name, fullname=fullname, group=record.group, param=None, params=None,
                              extra_info=extra, cprofile_stats=None, has_error=False)
    metadata = Metadata(fixture, iterations=1, options={"rounds": len(record.samples_s)})
    for sample in record.samples_s:
        metadata.stats.update(sample)
    return metadata.as_dict(include_data=True)


def document(results: R.Results) -> dict:
    env = results.environment
    machine = {"node": env.id, "processor": env.cpu, "machine": env.platform.split()[-2] if env.platform else "",
               "python_implementation": "CPython", "python_version": env.python, "release": env.platform,
               "system": env.platform.split()[0] if env.platform else "", "cpu": {"brand_raw": env.cpu},
               "torch": env.torch, "threads": env.threads, "gpu": env.gpu}
    timed = [r for r in results.records if r.status == "ok" and r.samples_s]
    return {"machine_info": machine, "commit_info": {"id": env.distsuite_commit}, "datetime": env.date,
            "version": pytest_benchmark.__version__, "benchmarks": [benchmark_entry(r) for r in timed]}


def write(results: R.Results, folder: str | os.PathLike) -> Path:
    """Write the pytest-benchmark document of `results` to folder/FILENAME, atomically."""
    return R.write_text_atomic(Path(folder) / FILENAME, json.dumps(document(results), indent=1) + "\n")

"""Synthetic results files for the report and compare tests: every record kind, with known ratios."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from suite.bench.results import Environment, Record, Results, write_atomic

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 15
SPREAD = 0.03
STRATEGY_COST = {"rebuild_per_step": 1.0, "retain_graph": 0.4, "parametrize_module": 1.1, "constraint_module": 2.0}
STRATEGY_VERDICT = {"rebuild_per_step": "pass", "retain_graph": "stale", "parametrize_module": "pass",
                    "constraint_module": "pass"}
PHASE_SHARE = {"construct": 0.2, "log_prob": 0.3, "backward": 0.4, "optimizer_step": 0.1}
JACOBIAN_COST = {"loop": 1.0, "jacrev": 0.1, "vmap_grad": 0.05}


def environment(env_id: str, gpu: str | None = None) -> Environment:
    return Environment(id=env_id, distsuite_commit="0" * 40, torch="2.13.0", python="3.11.7", numpy="2.1.0",
                       scipy="1.17.1", platform="Linux-x86_64", cpu="Synthetic CPU", threads=2, gpu=gpu,
                       cuda="12.4" if gpu else None, date="2026-01-01T00:00:00+00:00")


def timed(rng: np.random.Generator, centre: float, **fields) -> Record:
    samples = centre * rng.lognormal(0.0, SPREAD, SAMPLES)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Record(median_s=float(median), iqr_s=float(q3 - q1), rounds=SAMPLES, samples_s=samples.tolist(),
                  **fields)


def synthetic_records(rng: np.random.Generator, device: str = "cpu") -> list[Record]:
    """Every record kind of results.json, with known ratios: retain_graph is fast and stale."""
    records = []
    for family, dim in (("Normal", None), ("MultivariateNormal", 2)):
        for strategy, cost in STRATEGY_COST.items():
            for validate in (False, True):
                for size in (100, 10_000):
                    base = 1e-4 * cost * (size / 100) ** 0.5 * (1.2 if validate else 1.0)
                    case = f"bench_strategy[{family}-{dim}-{strategy}-{validate}-{size}-{device}]"
                    common = {"case_id": case, "group": "strategy_step", "family": family, "method": strategy,
                              "device": device, "dtype": "float32", "size": size, "dim": dim,
                              "validate": validate, "verdict": STRATEGY_VERDICT[strategy]}
                    records.append(timed(rng, base, phase="total", **common))
                    records += [timed(rng, base * share, phase=phase, **common)
                                for phase, share in PHASE_SHARE.items()]
    for method, cost in JACOBIAN_COST.items():
        for dim in (2, 16):
            for size in (10, 1000):
                records.append(timed(rng, 1e-5 * cost * size * dim,
                                     case_id=f"bench_jacobian[{method}-{dim}-{size}-{device}]",
                                     group="jacobian", family="Normal", method=method, device=device,
                                     dtype="float64", size=size, dim=dim, verdict="pass"))
    for op in ("log_prob", "sample"):
        for compiled in (False, True):
            for size in (100, 1_000_000):
                case = f"bench_throughput[Normal-{op}-{compiled}-{size}-{device}]"
                if compiled and op == "sample":
                    records.append(Record(case_id=case, group="throughput", family="Normal", method=op,
                                          device=device, dtype="float32", size=size, compiled=True,
                                          status="error", error="BackendCompilerFailed: inductor | raised"))
                    continue
                records.append(timed(rng, 1e-8 * size * (0.5 if compiled else 1.0), case_id=case, group="throughput",
                                     family="Normal", method=op, device=device, dtype="float32", size=size,
                                     compiled=compiled))
    records.append(Record(case_id="bench_memory[known-8MB]", group="memory_probe", method="known_allocation",
                          device=device, dtype="float32", size=2_000_000, peak_bytes=8_000_000))
    records.append(Record(case_id="bench_throughput[Normal-rsample-False-1e9]", group="throughput", family="Normal",
                          method="rsample", device=device, dtype="float32", size=10 ** 9, compiled=False,
                          status="oom", error="RuntimeError: out of memory"))
    return records


def write_results(path: Path, env_id: str, seed: int, records: list[Record] | None = None,
                  gpu: str | None = None) -> Path:
    recs = records if records is not None else synthetic_records(np.random.default_rng(seed))
    return write_atomic(path, Results(environment(env_id, gpu), recs))


def slowed(records: list[Record], case_id: str, factor: float, rng: np.random.Generator) -> list[Record]:
    """A copy in which one case's samples are redrawn `factor` times slower."""
    out = []
    for r in records:
        if r.case_id == case_id and r.phase in ("total", None):
            r = timed(rng, factor * r.median_s, **{k: getattr(r, k) for k in (
                "case_id", "group", "family", "method", "phase", "device", "dtype", "size", "dim", "validate",
                "compiled", "verdict")})
        out.append(r)
    return out


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)

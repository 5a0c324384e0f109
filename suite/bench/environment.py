"""The environment block of results.json: what a number was measured on, and a stable id for it."""

from __future__ import annotations

import datetime
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy
import scipy
import torch

from suite.bench.results import Environment

REPO_ROOT = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one), else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_name() -> str | None:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def cuda_version() -> str | None:
    return torch.version.cuda if torch.cuda.is_available() else None


def git_commit(root: Path = REPO_ROOT) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-")


def environment_id(cpu: str, threads: int, gpu: str | None, torch_version: str = torch.__version__,
                   system: str | None = None, machine: str | None = None, allocator: str | None = None) -> str:
    """A folder-safe id: operating system, architecture, CPU, thread count, torch version and GPU,
    and `system-malloc` where the timings ran without the steady allocator setting.

    The same machine and software give the same id on every run; anything that changes the numbers
    (another CPU, GPU, torch, thread count or allocator setting) gives another.
    """
    parts = [system or platform.system(), machine or platform.machine(), cpu, f"{threads}t",
             f"torch{torch_version}", gpu or "nogpu"]
    if allocator is not None and allocator.startswith("system"):
        parts.append("system-malloc")
    return "_".join(_slug(p) for p in parts)


def capture(threads: int | None = None, date: datetime.datetime | None = None,
            allocator: str | None = None) -> Environment:
    """The environment of this process; `threads` defaults to torch's current intra-op thread count,
    `allocator` is the C allocator setting timings ran under (see suite.bench.allocator)."""
    threads = torch.get_num_threads() if threads is None else threads
    cpu, gpu = cpu_model(), gpu_name()
    when = (date or datetime.datetime.now(datetime.timezone.utc)).isoformat(timespec="seconds")
    return Environment(
        id=environment_id(cpu, threads, gpu, allocator=allocator),
        distsuite_commit=git_commit(),
        torch=torch.__version__,
        python=platform.python_version(),
        numpy=numpy.__version__,
        scipy=scipy.__version__,
        platform=f"{platform.system()} {platform.release()} {platform.machine()} ({sys.platform})",
        cpu=cpu,
        threads=threads,
        gpu=gpu,
        cuda=cuda_version(),
        date=when,
        allocator=allocator,
    )

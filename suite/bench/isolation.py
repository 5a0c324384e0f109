"""Running a command in a child process watched for resident memory and wall time.

A benchmark case whose memory cannot be bounded well in advance (the per-sample Jacobians at large
N and d reach tens of GB on the CPU) runs in a child: the parent polls the child's resident set and
stops it at a limit, so the machine's OOM killer never ends the whole run, and memory that one
case's allocator leaves behind does not carry into the next case. The child is also made the
kernel's first choice should memory run out before the parent notices.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

FINISHED, OVER_MEMORY, TIMED_OUT = "finished", "over_memory", "timed_out"
POLL_S = 0.05
OUTPUT_TAIL_CHARS = 4000


@dataclass(frozen=True)
class ChildRun:
    """How a watched child ended: `finished` (with its return code), `over_memory` or `timed_out`
    (stopped by the watcher), with its peak resident memory seen, seconds and the tail of its output."""

    outcome: str
    returncode: int | None
    peak_rss_bytes: int | None
    seconds: float
    output: str


def resident_bytes(pid: int) -> int | None:
    """Resident memory of a process from /proc (Linux); None where /proc does not tell."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _first_to_be_killed() -> None:
    """In the child, before exec: ask the kernel to pick this process first when memory runs out."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adj:
            adj.write("1000")
    except OSError:
        pass


def run_watched(argv: Sequence[str], *, rss_limit_bytes: int | None, timeout_s: float,
                cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
                poll_s: float = POLL_S) -> ChildRun:
    """Run argv to its end, or stop it (its whole process group) once its resident memory exceeds
    rss_limit_bytes (None: no limit; not watched where /proc is missing) or it runs past timeout_s."""
    posix = os.name == "posix"
    with tempfile.TemporaryFile(mode="w+b") as output:
        start = time.monotonic()
        child = subprocess.Popen(list(argv), cwd=cwd, env=None if env is None else dict(env), stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=posix,
                                 preexec_fn=_first_to_be_killed if posix else None)
        outcome, peak = FINISHED, None
        try:
            while child.poll() is None:
                rss = resident_bytes(child.pid)
                if rss is not None:
                    peak = rss if peak is None else max(peak, rss)
                    if rss_limit_bytes is not None and rss > rss_limit_bytes:
                        outcome = OVER_MEMORY
                        break
                if time.monotonic() - start > timeout_s:
                    outcome = TIMED_OUT
                    break
                time.sleep(poll_s)
        finally:
            if child.poll() is None:
                _stop(child, posix)
        seconds = time.monotonic() - start
        output.seek(0)
        text = output.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]
    return ChildRun(outcome, child.returncode if outcome == FINISHED else None, peak, seconds, text)


def _stop(child: subprocess.Popen, posix: bool) -> None:
    try:
        if posix:
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


def pytest_argv(targets: str | Sequence[str], options: Sequence[str]) -> list[str]:
    """The command that runs pytest on node ids or files in a child with this interpreter."""
    targets = [targets] if isinstance(targets, str) else list(targets)
    return [sys.executable, "-m", "pytest", *targets, *options]


def child_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="distsuite-case-"))

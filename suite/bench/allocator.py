"""The C allocator's behaviour during timing, set once per benchmark process and recorded.

torch's CPU tensors come from the C library's malloc. glibc adapts where a large block comes from
as a process runs (its mmap threshold moves with each freed block) and hands freed heap memory
back to the system (the trim threshold), so the same call may reuse memory in one process and
page-fault every fresh page in the next: the float64 MVN d=2, N=1000 jacrev benchmark took 9.6 to
19.3 ms per round (median 14.6 ms, IQR 3.3 ms) with the defaults and 9.3 to 16.0 ms (median 9.95 ms,
IQR 1.7 ms) with this setting (README: "Timing"). The steady setting fixes both thresholds, so blocks up to 32 MiB
are reused from the heap instead of being mapped and zeroed anew: the memory reuse that PyTorch's
CPU performance guidance gets from jemalloc or tcmalloc, with the allocator every user already has.

A child process gets the setting through glibc's standard mechanism, the ``GLIBC_TUNABLES``
environment variable (read when a process starts, inherited by its own children; a fixed threshold
set either way also stops glibc moving it). The process the run starts in is already running, so it
sets the same thresholds with mallopt.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

STEADY = "steady"
SYSTEM = "system"
CHOICES = (STEADY, SYSTEM)

# glibc's mallopt parameters (malloc.h) and the values of the steady setting.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
STEADY_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest on 64-bit systems
STEADY_TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: about 2 GiB of free heap is kept


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tunables() -> str:
    """The steady setting as a GLIBC_TUNABLES value."""
    return (f"glibc.malloc.mmap_threshold={STEADY_MMAP_THRESHOLD}:"
            f"glibc.malloc.trim_threshold={STEADY_TRIM_THRESHOLD}")


def child_environment(choice: str) -> dict[str, str]:
    """Environment variables that give a child process the setting `choice` from its start."""
    if choice != STEADY or _glibc() is None:
        return {}
    inherited = os.environ.get("GLIBC_TUNABLES")
    return {"GLIBC_TUNABLES": f"{inherited}:{tunables()}" if inherited else tunables()}


def configure(choice: str) -> str:
    """Set the allocator for this process (`steady` or `system`); returns what the environment block records."""
    if choice not in CHOICES:
        raise ValueError(f"allocator must be one of {CHOICES}; got {choice!r}")
    if choice == SYSTEM:
        return "system (the C library's defaults)"
    libc = _glibc()
    if libc is None:
        return f"system (steady needs glibc; this is {platform.system()})"
    if not (libc.mallopt(M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD,
                                                                                    STEADY_TRIM_THRESHOLD)):
        return "system (glibc refused the steady thresholds)"
    return (f"steady (glibc malloc, mmap threshold {STEADY_MMAP_THRESHOLD // 2**20} MiB, "
            f"trim threshold {STEADY_TRIM_THRESHOLD / 2**30:.0f} GiB)")

"""Measuring time and memory of a callable on a device, and classifying what went wrong.

Timing on CUDA synchronises only at round (or stage) boundaries, so queued kernels are counted
once and the launch pipeline between them is left alone. On a single-threaded CPU the clock is
the thread's CPU time (see timer_for). Memory is measured in its own pass:
on CUDA from the caching allocator's peak statistics, on the CPU from the profiler's allocation
events (every tensor allocation and free with its size, in order), so a peak is exact to the byte.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark.utils.timer import timer as synchronising_timer

Timer = Callable[[], float]
Stage = tuple[str, Callable[[Any], Any]]

OK, OOM, ERROR, UNSUPPORTED, TIMEOUT = "ok", "oom", "error", "unsupported", "timeout"
_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


def device_type(device: str | torch.device) -> str:
    return torch.device(device).type


def timer_for(device: str | torch.device, threads: int | None = None) -> Timer:
    """The clock read at round (and stage) boundaries.

    On an accelerator: synchronise, then read the wall clock. On the CPU with one torch thread
    (`threads`, default torch's current count): the calling thread's CPU time, which is where all
    the work runs; it equals wall-clock time on an idle machine and is not inflated while another
    process holds the core. With more threads the work spreads over threads, so the wall clock.
    """
    if device_type(device) != "cpu":
        return synchronising_timer
    threads = torch.get_num_threads() if threads is None else threads
    return time.thread_time if threads == 1 else time.perf_counter


def synchronize(device: str | torch.device) -> None:
    if device_type(device) == "cuda":
        torch.cuda.synchronize(device)


def is_oom(exc: BaseException) -> bool:
    """Whether an exception is an allocation failure (CUDA OOM, the CPU allocator's refusal, MemoryError)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MESSAGES)


def memory_budget(device: str | torch.device, fraction: float = 0.5) -> int:
    """Bytes a case may plan to use: `fraction` of the memory free now (CUDA: on the device; CPU: the
    machine's available memory). A case whose estimate exceeds it is recorded as `oom` without running:
    on the CPU an allocation beyond physical memory ends in the kernel's OOM killer (or a crash inside
    BLAS), which would end the whole run instead of one case."""
    if device_type(device) == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free * fraction)
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        available = physical_memory()
    return int(available * fraction)


def physical_memory() -> int:
    """Bytes of physical memory: sysconf on Unix; on Windows, which has no os.sysconf, GlobalMemoryStatusEx."""
    if hasattr(os, "sysconf"):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    *((name, ctypes.c_ulonglong) for name in (
                        "ullTotalPhys", "ullAvailPhys", "ullTotalPageFile", "ullAvailPageFile",
                        "ullTotalVirtual", "ullAvailVirtual", "ullAvailExtendedVirtual"))]

    status = MemoryStatus(dwLength=ctypes.sizeof(MemoryStatus))
    ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))
    return int(status.ullTotalPhys)


def describe(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Outcome:
    """What running a callable gave: status 'ok' with its value, or 'oom'/'error'/'unsupported' with a
    one-line message and the exception."""

    status: str
    value: Any = None
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == OK


def guarded(fn: Callable[[], Any], device: str | torch.device = "cpu") -> Outcome:
    """Run fn, turning an exception into an Outcome: 'oom' for an allocation failure, 'unsupported' for
    NotImplementedError, 'error' for anything else.

    After an OOM on CUDA the allocator's cached blocks are released, so the next case starts clean.
    """
    try:
        return Outcome(OK, value=fn())
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        return failure(exc, device)


def failure(exc: BaseException, device: str | torch.device = "cpu") -> Outcome:
    if is_oom(exc):
        if device_type(device) == "cuda":
            torch.cuda.empty_cache()
        return Outcome(OOM, error=describe(exc), exception=exc)
    status = UNSUPPORTED if isinstance(exc, NotImplementedError) else ERROR
    return Outcome(status, error=describe(exc), exception=exc)


@dataclass(frozen=True)
class Timing:
    median_s: float
    iqr_s: float
    samples_s: list[float] = field(default_factory=list)

    @property
    def rounds(self) -> int:
        return len(self.samples_s)


def summarize(samples_s: Sequence[float]) -> Timing:
    """Median and interquartile range (linear interpolation between order statistics)."""
    data = np.asarray(samples_s, dtype=float)
    if data.size == 0:
        raise ValueError("no samples to summarise")
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), [float(s) for s in data])


def time_stages(stages: Sequence[Stage], device: str | torch.device, rounds: int, warmup: int = 1,
                timer: Timer | None = None) -> dict[str, Timing]:
    """Time a pipeline stage by stage: each round feeds None to the first stage and each output to the next.

    Returns one Timing per stage plus 'total' (the per-round sum). The clock is read (on CUDA,
    after a synchronisation) only between stages, never inside one.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    clock = timer or timer_for(device)
    samples: dict[str, list[float]] = {name: [] for name, _ in stages}
    for i in range(warmup + rounds):
        value: Any = None
        start = clock()
        for name, stage in stages:
            value = stage(value)
            end = clock()
            if i >= warmup:
                samples[name].append(end - start)
            start = end
    timings = {name: summarize(s) for name, s in samples.items()}
    timings["total"] = summarize(np.sum([samples[name] for name, _ in stages], axis=0))
    return timings


def time_calls(fn: Callable[[], Any], device: str | torch.device, rounds: int, iterations: int = 1,
               timer: Timer | None = None) -> list[float]:
    """Seconds per call of fn in each of `rounds` rounds of `iterations` calls, as pytest-benchmark
    measures a round (the clock read, on CUDA after a synchronisation, only at round boundaries)."""
    if rounds < 1 or iterations < 1:
        raise ValueError("rounds and iterations must be at least 1")
    clock = timer or timer_for(device)
    samples = []
    for _ in range(rounds):
        start = clock()
        for _ in range(iterations):
            fn()
        samples.append((clock() - start) / iterations)
    return samples


def run_stages(stages: Sequence[Stage]) -> Any:
    value: Any = None
    for _, stage in stages:
        value = stage(value)
    return value


def rounds_within(estimate_s: float, budget_s: float, min_rounds: int = 5, max_rounds: int = 200) -> int:
    """How many rounds of about estimate_s fit in budget_s, clamped to [min_rounds, max_rounds]."""
    if estimate_s <= 0:
        return max_rounds
    return int(min(max_rounds, max(min_rounds, budget_s // estimate_s)))


@dataclass(frozen=True)
class Memory:
    """Peak tensor memory of one call, above what was allocated when it started.

    reserved_bytes is the caching allocator's peak reservation above its starting level (CUDA only).
    """

    peak_bytes: int
    reserved_bytes: int | None = None


def _walk(nodes) -> Iterator[Any]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def cpu_allocations(prof: profile) -> list[tuple[int, int]]:
    """(time_ns, signed bytes) of every CPU tensor allocation (+) and free (-) recorded by the profiler."""
    from torch._C._profiler import _EventType

    events = []
    for node in _walk(prof.profiler.kineto_results.experimental_event_tree()):
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            events.append((node.start_time_ns, int(node.extra_fields.alloc_size)))
    events.sort(key=lambda e: e[0])
    return events


def peak_of(allocations: Sequence[tuple[int, int]]) -> int:
    """Highest running total of a time-ordered allocation stream, starting from zero."""
    running = peak = 0
    for _, size in allocations:
        running += size
        peak = max(peak, running)
    return peak


def peak_memory(fn: Callable[[], Any], device: str | torch.device) -> Memory:
    """Peak tensor memory while fn runs once, above the level when it started.

    CUDA: torch.cuda.reset_peak_memory_stats, then max_memory_allocated / max_memory_reserved.
    CPU: the profiler's allocation events (profile_memory=True), replayed in time order.
    The result fn returns is dropped only after the measurement, so it counts toward the peak.
    """
    if device_type(device) == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        allocated = torch.cuda.memory_allocated(device)
        reserved = torch.cuda.memory_reserved(device)
        result = fn()
        torch.cuda.synchronize(device)
        memory = Memory(torch.cuda.max_memory_allocated(device) - allocated,
                        torch.cuda.max_memory_reserved(device) - reserved)
        del result
        return memory
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    del result
    return Memory(peak_of(cpu_allocations(prof)))


@contextlib.contextmanager
def pinned_threads(n: int) -> Iterator[int]:
    """torch's intra-op thread count set to n for a block, then restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(previous)

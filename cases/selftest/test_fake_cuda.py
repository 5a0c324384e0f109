"""The suite's CUDA-only code paths, run against a fake CUDA layer (torch.cuda functions monkeypatched), so
a mistake in them is caught on a machine without a GPU: synchronising timers, the peak-memory reset and
read, the memory budget, the OOM clean-up, the synchronisation counter and the device skips."""

from __future__ import annotations

import warnings

import pytest
import torch

import conftest
from suite.bench import measure, syncs


class FakeCuda:
    """A CUDA layer in Python: an allocator with current and peak counters, a synchronisation log, the
    sync debug mode, and an operation that warns as CUDA does in "warn" mode."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.allocated = 1000
        self.reserved = 4000
        self.peak_allocated = 5000   # a stale peak from before the measurement
        self.peak_reserved = 9000
        self.free = 8 << 30
        self.sync_mode = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
        patches = {
            "is_available": lambda: True, "device_count": lambda: 1,
            "synchronize": lambda device=None: self.log.append("synchronize"),
            "reset_peak_memory_stats": self.reset_peak,
            "memory_allocated": lambda device=None: self.allocated,
            "memory_reserved": lambda device=None: self.reserved,
            "max_memory_allocated": lambda device=None: self.peak_allocated,
            "max_memory_reserved": lambda device=None: self.peak_reserved,
            "mem_get_info": lambda device=None: (self.free, 16 << 30),
            "empty_cache": lambda: self.log.append("empty_cache"),
            "get_sync_debug_mode": lambda: self.sync_mode,
            "set_sync_debug_mode": self.set_sync_mode,
        }
        for name, fn in patches.items():
            monkeypatch.setattr(torch.cuda, name, fn)
        return self

    def reset_peak(self, device=None) -> None:
        self.log.append("reset_peak")
        self.peak_allocated, self.peak_reserved = self.allocated, self.reserved

    def set_sync_mode(self, mode) -> None:
        self.sync_mode = {"default": 0, "warn": 1, "error": 2}.get(mode, mode)

    def allocate(self, nbytes: int) -> None:
        self.log.append(f"allocate {nbytes}")
        self.allocated += nbytes
        self.reserved = max(self.reserved, self.allocated)
        self.peak_allocated = max(self.peak_allocated, self.allocated)
        self.peak_reserved = max(self.peak_reserved, self.reserved)

    def free_bytes(self, nbytes: int) -> None:
        self.allocated -= nbytes

    def synchronising_op(self) -> None:
        self.log.append("sync op")
        if self.sync_mode == 1:
            warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=2)


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    return FakeCuda().install(monkeypatch)


def test_synchronize_reaches_the_device(fake_cuda):
    measure.synchronize("cuda")
    measure.synchronize("cpu")
    assert fake_cuda.log == ["synchronize"]


def test_cuda_timer_is_the_synchronising_wall_clock(fake_cuda):
    from torch.utils.benchmark.utils.timer import timer as synchronising_timer
    assert measure.timer_for("cuda") is synchronising_timer
    assert measure.timer_for("cuda:0", threads=1) is synchronising_timer


def peak_problems(peak_memory, fake: FakeCuda) -> list[str]:
    """What is wrong with a peak-memory function, measured on a call that allocates 3000 + 2000 bytes and
    frees 3000 while a stale peak of 5000 is on record from before it."""
    def work():
        fake.allocate(3000)
        fake.allocate(2000)
        fake.free_bytes(3000)
        return "result"

    memory = peak_memory(work, "cuda")
    problems = []
    if memory.peak_bytes != 5000:
        problems.append(f"peak {memory.peak_bytes}, not 5000 above the starting level")
    if memory.reserved_bytes != 6000 - 4000:
        problems.append(f"reserved {memory.reserved_bytes}, not 2000")
    log = fake.log
    steps = ("synchronize", "reset_peak", "allocate 3000")
    if not all(step in log for step in steps) or not log.index(steps[0]) < log.index(steps[1]) < log.index(steps[2]):
        problems.append(f"no synchronised reset before the call: {log}")
    if log[-1] != "synchronize":
        problems.append(f"the peak is read before the queued work has finished: {log}")
    return problems


def test_peak_memory_resets_then_reads_above_the_starting_level(fake_cuda):
    assert peak_problems(measure.peak_memory, fake_cuda) == []


def test_a_peak_read_without_reset_or_synchronisation_is_caught(fake_cuda):
    def stale_peak(fn, device):
        allocated = torch.cuda.memory_allocated(device)
        fn()
        return measure.Memory(torch.cuda.max_memory_allocated(device) - allocated,
                              torch.cuda.max_memory_reserved(device) - torch.cuda.memory_reserved(device))

    problems = peak_problems(stale_peak, fake_cuda)
    assert len(problems) >= 3, problems


def test_memory_budget_is_a_fraction_of_free_device_memory(fake_cuda):
    assert measure.memory_budget("cuda", 0.5) == 4 << 30


def test_oom_on_cuda_releases_the_cached_blocks(fake_cuda):
    outcome = measure.guarded(lambda: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory")), "cuda")
    assert outcome.status == measure.OOM
    assert fake_cuda.log == ["empty_cache"]
    assert measure.failure(RuntimeError("CUDA out of memory. Tried"), "cpu").status == measure.OOM
    assert fake_cuda.log == ["empty_cache"], "no CUDA clean-up for a CPU failure"


def test_sync_counter_counts_each_synchronising_operation_and_restores_the_mode(fake_cuda):
    fake_cuda.sync_mode = 2
    assert syncs.count_syncs(lambda: [fake_cuda.synchronising_op() for _ in range(3)]) == 3
    assert fake_cuda.sync_mode == 2
    assert syncs.count_syncs(lambda: None) == 0
    with pytest.raises(ZeroDivisionError):
        syncs.count_syncs(lambda: 1 / 0)
    assert fake_cuda.sync_mode == 2, "the previous mode is restored when the call raises"


def test_sync_counter_ignores_other_warnings(fake_cuda):
    def call():
        warnings.warn("something else", UserWarning, stacklevel=2)
        fake_cuda.synchronising_op()

    assert syncs.count_syncs(call) == 1


def test_sync_counter_refuses_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "no CUDA device" in syncs.cuda_skip_reason("cuda")
    assert "CUDA only" in syncs.cuda_skip_reason("cpu")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        syncs.count_syncs(lambda: None, "cuda")


def test_device_skips_follow_cuda_availability(fake_cuda, monkeypatch, pytestconfig):
    assert conftest._cuda_skip_reason() is None
    marks = {p.id: [m.name for m in p.marks] for p in conftest.device_params(pytestconfig)}
    if "cuda" in marks:
        assert marks["cuda"] == ["cuda"], "with a device present the CUDA cases run"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "no CUDA device" in conftest._cuda_skip_reason()
    marks = {p.id: [m.name for m in p.marks] for p in conftest.device_params(pytestconfig)}
    if "cuda" in marks:
        assert "skip" in marks["cuda"]

"""Device synchronisations of a call on CUDA, counted with torch.cuda.set_sync_debug_mode("warn").

In "warn" mode CUDA emits one warning per synchronising operation (a device-to-host copy, .item(),
a data-dependent check such as validation's `torch._is_all_true`); those warnings are counted and the
previous mode restored, whatever the call does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from suite.bench.measure import device_type

SYNC_WARNING = "synchroniz"  # "called a synchronizing CUDA operation"


def cuda_skip_reason(device: str | torch.device = "cuda") -> str | None:
    """Why a CUDA-only measurement cannot run here, or None when it can."""
    if device_type(device) != "cuda":
        return f"synchronisations are counted on CUDA only; device is {device_type(device)}"
    if not torch.cuda.is_available():
        return (f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'none'})")
    return None


def count_syncs(fn: Callable[[], Any], device: str | torch.device = "cuda") -> int:
    """The number of synchronising CUDA operations one call of fn performs."""
    reason = cuda_skip_reason(device)
    if reason is not None:
        raise RuntimeError(reason)
    torch.cuda.synchronize(device)
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum(1 for w in caught if SYNC_WARNING in str(w.message).lower())

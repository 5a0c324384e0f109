"""The steady allocator setting: large tensor blocks come from the heap and stay there when freed, so
a call that allocates them again reuses memory instead of mapping and page-faulting fresh pages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from suite.bench import allocator

# A fresh process takes one 16 MiB tensor and frees it; glibc's mallinfo2 says where it came from
# (hblkhd: bytes in mapped blocks, arena: bytes of heap) and whether the heap kept it.
BLOCK_PROBE = """
import ctypes, json, sys
import torch
from suite.bench import allocator

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
setting = allocator.configure(sys.argv[1])
before = libc.mallinfo2()
block = torch.empty(2**22).fill_(1.0)
held = libc.mallinfo2()
del block
after = libc.mallinfo2()
print(json.dumps({"setting": setting, "mapped": held.hblkhd - before.hblkhd, "heap": held.arena - before.arena,
                  "heap_kept": after.arena - before.arena}))
"""
BLOCK_BYTES = 2**22 * 4


def probe(choice: str) -> dict:
    out = subprocess.run([sys.executable, "-c", BLOCK_PROBE, choice], capture_output=True, text=True, timeout=120,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _has_mallinfo2() -> bool:
    libc = allocator._glibc()
    return libc is not None and hasattr(libc, "mallinfo2")


@pytest.mark.skipif(not _has_mallinfo2(), reason="the steady setting applies to glibc's malloc (2.33 or later here)")
def test_steady_setting_serves_and_keeps_large_blocks_on_the_heap():
    steady, system = probe(allocator.STEADY), probe(allocator.SYSTEM)
    assert steady["setting"].startswith("steady (glibc malloc, mmap threshold 32 MiB"), steady
    assert steady["mapped"] == 0 and steady["heap"] >= BLOCK_BYTES and steady["heap_kept"] >= BLOCK_BYTES, steady
    # The planted fault: with the system default the block is mapped for this call and unmapped after it.
    assert system["setting"].startswith("system"), system
    assert system["mapped"] >= BLOCK_BYTES and system["heap_kept"] < BLOCK_BYTES, system


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="allocator must be one of"):
        allocator.configure("jemalloc")

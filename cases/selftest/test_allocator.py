"""The steady allocator setting: large tensor blocks come from the heap and stay there when freed, so
a call that allocates them again reuses memory instead of mapping and page-faulting fresh pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from suite.bench import allocator
from suite.bench.children import SUITE_PARENT

# A fresh process takes one 16 MiB block (a numpy array: the same malloc as torch's CPU tensors, without
# torch's start-up) and frees it; glibc's mallinfo2 says where it came from (hblkhd: bytes in mapped
# blocks, arena: bytes of heap) and whether the heap kept it.
BLOCK_PROBE = """
import ctypes, json, sys
import numpy
from suite.bench import allocator

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Mallinfo2
setting = allocator.configure(sys.argv[1])
before = libc.mallinfo2()
block = numpy.ones(2**22, dtype=numpy.float32)
held = libc.mallinfo2()
del block
after = libc.mallinfo2()
print(json.dumps({"setting": setting, "mapped": held.hblkhd - before.hblkhd, "heap": held.arena - before.arena,
                  "heap_kept": after.arena - before.arena}))
"""
BLOCK_BYTES = 2**22 * 4


def probe(choice: str, env: dict | None = None) -> dict:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [SUITE_PARENT,
                                                                            os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", BLOCK_PROBE, choice], capture_output=True, text=True, timeout=120,
                         check=True, env=dict(environment, **(env or {})))
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


@pytest.mark.skipif(not _has_mallinfo2(), reason="the steady setting applies to glibc's malloc (2.33 or later here)")
def test_glibc_tunables_give_a_child_the_steady_setting_from_its_start():
    """A child with only the environment a benchmark child gets (mallopt not called: `system`) serves and
    keeps the block on the heap exactly as the steady setting does; the probe above without it does not."""
    child = probe(allocator.SYSTEM, allocator.child_environment(allocator.STEADY))
    assert child["mapped"] == 0 and child["heap"] >= BLOCK_BYTES and child["heap_kept"] >= BLOCK_BYTES, child


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="allocator must be one of"):
        allocator.configure("jemalloc")

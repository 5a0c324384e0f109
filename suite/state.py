"""Global torch state that suite functions must leave as they found it."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.distributions import Distribution


@dataclass(frozen=True)
class GlobalState:
    validate_args: bool
    num_threads: int
    cpu_rng: bytes

    @classmethod
    def capture(cls) -> "GlobalState":
        return cls(
            validate_args=Distribution._validate_args,
            num_threads=torch.get_num_threads(),
            cpu_rng=bytes(torch.get_rng_state().tolist()),
        )


@contextlib.contextmanager
def preserved_state(seed: int | None = None) -> Iterator[None]:
    """Run a block with the global RNG forked (optionally seeded) and validation/threads restored."""
    validate = Distribution._validate_args
    threads = torch.get_num_threads()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        Distribution.set_default_validate_args(validate)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def validation(enabled: bool) -> Iterator[None]:
    """Set Distribution's global validation default for a block only."""
    previous = Distribution._validate_args
    Distribution.set_default_validate_args(enabled)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(previous)


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from any labels (a case id and the run's --seed); stable across processes."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF

"""Known differences between eager and the execution modes (torch.compile, torch.func.vmap, validation),
per family: findings, measured on torch 2.13 CPU in float64 and float32 (`python -m suite modes`).

Modes: "compile" (aot_eager, validation off), "compile+validate" (validation on: invalid input),
"vmap" (validation off), "vmap+validate" (validation on), "validation" (eager, validation on against off).
Checks: a method's name, or "invalid_params" / "invalid_value" (NaN points to log_prob).
"""

from __future__ import annotations

from suite.registry.known import Known, Severity, matching

VMAP_RANDOM_UPSTREAM = "pytorch#92033"
VMAP_VALIDATE_UPSTREAM = "pytorch#92033"


def _vmap_inplace_randomness(check: str) -> Known:
    return Known(check=check, mode="vmap*", severity=Severity.RAISES,
                 what=f"{check} under vmap(randomness='different') raises RuntimeError 'Cannot ask for different "
                      "inplace randomness on an unbatched tensor': the draw fills an unbatched buffer in place",
                 upstream=VMAP_RANDOM_UPSTREAM)


def _vmap_invalid_not_value_error(check: str) -> Known:
    what = ("invalid parameters under vmap with validation on raise RuntimeError (vmap over .item() or over "
            "data-dependent control flow) instead of eager's ValueError" if check == "invalid_params" else
            "a NaN point given to log_prob under vmap with validation on raises RuntimeError instead of "
            "eager's ValueError")
    return Known(check=check, mode="vmap+validate", severity=Severity.RAISES, what=what,
                 upstream=VMAP_VALIDATE_UPSTREAM)


KNOWN: dict[str, tuple[Known, ...]] = {}


def known_for(family: str, check: str, mode: str, dtype: str = "float64", device: str = "cpu") -> tuple[Known, ...]:
    """The known differences of `family` that apply to this check, mode, dtype and device."""
    return matching(KNOWN.get(family, ()), check, dtype, device, mode)

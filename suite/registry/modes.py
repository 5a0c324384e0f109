"""Known differences between eager and the execution modes (torch.compile, torch.func.vmap, validation): the
kinds of difference, as makers of the `Known` a family's entry lists. Measured on torch 2.13 CPU in float64
and float32 (`python -m suite modes`).

Modes: "compile" (aot_eager, validation off), "compile+validate" (validation on: invalid input),
"vmap" (validation off), "vmap+validate" (validation on), "validation" (eager, validation on against off).
Checks: a method's name, or "invalid_params" / "invalid_value" (NaN points to log_prob).
A Known's mode is an fnmatch pattern: BOTH_VMAP covers vmap with validation off and on.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from suite.registry.known import Known, Severity

EXECUTION_MODES = ("compile", "compile+validate", "vmap", "vmap+validate", "validation")
BOTH_VMAP = "vmap*"
VMAP_VALIDATE = "vmap+validate"
VMAP_VALIDATE_UPSTREAM = "pytorch#92033"

KnownMaker = Callable[[str, str], Known]


def in_execution_mode(known: Known) -> bool:
    """Whether `known` is a difference of an execution mode (not of eager, nor of an expanded instance)."""
    return any(fnmatchcase(mode, known.mode) for mode in EXECUTION_MODES)


def _known(what: str, severity: Severity = Severity.RAISES, upstream: str = "") -> KnownMaker:
    def make(check: str, mode: str) -> Known:
        return Known(check=check, mode=mode, severity=severity, what=what, upstream=upstream)
    return make


INPLACE_RANDOMNESS = _known(
    "raises under vmap(randomness='different'): 'Cannot ask for different inplace randomness on an unbatched "
    "tensor' (the draw fills a fresh, unbatched buffer in place: _standard_normal, uniform_, exponential_, ...)",
    upstream="functorch#593 (documented vmap limitation)")
AUTOGRAD_FUNCTION = _known(
    "raises under vmap: the Dirichlet sampler's autograd.Function (_Dirichlet) has no setup_context, which "
    "functorch transforms require")
DATA_DEPENDENT = _known(
    "raises under vmap: data-dependent Python control flow on a tensor (a rejection loop, or an `if` on a "
    "parameter check inside the method)")
VALIDATION_DATA_DEPENDENT = _known(
    "raises under vmap with validation on: the constraint check branches on a tensor (data-dependent control "
    "flow) where eager validates and returns a value", upstream=VMAP_VALIDATE_UPSTREAM)
DYNAMIC_SHAPE = _known("raises under vmap: an operator whose output shape depends on the data cannot be batched")
SCATTER_ADD = _known("raises under vmap: scatter_add_ into an unbatched tensor from a batched one")
INVALID_ITEM = _known(
    "invalid input under vmap with validation on raises RuntimeError 'vmap over .item()' instead of eager's "
    "ValueError: formatting the ValueError's message calls Distribution.__repr__, which formats a one-element "
    "parameter with .item() (distribution.py:344)", upstream=VMAP_VALIDATE_UPSTREAM)
INVALID_DATA_DEPENDENT = _known(
    "invalid input under vmap with validation on raises RuntimeError (data-dependent control flow in the "
    "constraint check) instead of eager's ValueError", upstream=VMAP_VALIDATE_UPSTREAM)

# The invalid-input differences most entries share: every invalid input, or only an invalid value.
INVALID_INPUT_ITEM = INVALID_ITEM("invalid_*", VMAP_VALIDATE)
INVALID_VALUE_ITEM = INVALID_ITEM("invalid_value", VMAP_VALIDATE)
INVALID_INPUT_DATA_DEPENDENT = INVALID_DATA_DEPENDENT("invalid_*", VMAP_VALIDATE)

GLOBAL_VALIDATION_OFF = Known(
    check="global_validation", mode="compile", severity=Severity.WRONG_FLOAT64, upstream="pytorch#194548",
    what="the first torch.compile in a process sets Distribution's global validation default to False for good "
         "(torch/_dynamo/eval_frame.py TorchPatcher.patch): eager distributions built afterwards without "
         "validate_args accept invalid parameters silently")

"""What torch.compile captures of a family's method: graphs, graph breaks with their reasons
(torch._dynamo.explain), and the graphs compiled again when the batch size changes.

Pure (no pytest). Dynamo's caches are reset before and after each measurement, so one family's
graphs neither count toward nor exhaust another's recompile limit. Dynamo is imported by the functions that
use it (about a second), not with this module, which collecting the cases imports.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from suite.checks.modes import FAST_BACKEND, Inputs, call_methods, describe, kept_validation_default, run_eager

_LOCATION = re.compile(r'File "[^"]*/([^/"]+)", line (\d+), in (\w+)')
_NAMED = re.compile(r"function `([\w.]+)`")


@dataclass(frozen=True)
class Capture:
    """Dynamo's view of one method (with construction): graphs compiled, graph breaks and why."""

    family: str
    method: str
    validate_args: bool
    graphs: int = 0
    breaks: int = 0
    reasons: tuple[str, ...] = ()
    error: str = ""

    @property
    def one_graph(self) -> bool:
        return not self.error and self.graphs == 1 and self.breaks == 0

    def cell(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if self.one_graph:
            return "one graph"
        text = f"breaks {self.breaks}, {self.graphs} graph{'s' if self.graphs != 1 else ''}"
        return text + (" (all eager)" if self.graphs == 0 else "")


def short_reason(text: str) -> str:
    """A graph-break reason in one line: its first line, the function it names and where it happened."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    head = lines[0] if lines else str(text)
    named = _NAMED.search(str(text))
    if named and named.group(1) not in head:
        head += f": {named.group(1)}"
    located = _LOCATION.findall(str(text))
    if located:
        file, line, function = located[-1]
        head += f" ({file}:{line} in {function})"
    return head[:200]


def _break_reasons(explained) -> list[str]:
    reasons = []
    for reason in getattr(explained, "break_reasons", []) or []:
        text = short_reason(getattr(reason, "reason", reason))
        stack = getattr(reason, "user_stack", None) or []
        if stack and "(" not in text:
            frame = stack[-1]
            text += f" ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name})"
        reasons.append(text)
    return reasons


def capture(inputs: Inputs, method: str, validate_args: bool) -> Capture:
    """torch._dynamo.explain of building the distribution and calling `method`. Breaks Dynamo takes in
    frames it then runs eagerly (torch.distributions is on its skip list once a frame breaks) are counted
    from Dynamo's graph-break counters, which explain's summary leaves out."""
    from torch._dynamo.utils import counters

    family = inputs.family

    def fn(tensors, x, q):
        return call_methods(family, tensors, x, q, (method,), validate_args)

    torch._dynamo.reset()
    counters.clear()
    try:
        with warnings.catch_warnings(), kept_validation_default():
            warnings.simplefilter("ignore")
            explained = torch._dynamo.explain(fn)(inputs.tensors, inputs.x, inputs.q)
    except Exception as exc:  # noqa: BLE001 - every failure becomes data
        return Capture(family.name, method, validate_args, error=describe(exc))
    finally:
        torch._dynamo.reset()
    counted = counters.get("graph_break", {})
    reasons = _break_reasons(explained)
    for text in counted:
        short = short_reason(text)
        if short not in reasons:
            reasons.append(short)
    breaks = max(sum(counted.values()), len(getattr(explained, "break_reasons", []) or []))
    counters.clear()
    return Capture(family.name, method, validate_args, graphs=int(explained.graph_count), breaks=breaks,
                   reasons=tuple(dict.fromkeys(reasons)))


@dataclass
class Recompiles:
    """Graphs compiled at each batch size in turn (automatic dynamic shapes: the second size usually
    compiles again with a dynamic batch dimension, the third none), and methods whose compiled values
    at a later size differ from eager's."""

    family: str
    sizes: list[int]
    graphs: list[int] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def recompiled(self) -> int:
        return sum(self.graphs[1:])

    def cell(self) -> str:
        text = " + ".join(str(g) for g in self.graphs)
        if self.error:
            return f"error at size {self.sizes[len(self.graphs)]}: {self.error}"
        text = f"graphs {text} at sizes {', '.join(map(str, self.sizes))}"
        return text + (f"; {', '.join(self.differ)} differ" if self.differ else "")


def recompiles(batches: Sequence[Inputs], methods: Sequence[str], backend: str = FAST_BACKEND,
               seed: int = 0) -> Recompiles:
    """Call the compiled methods on each batch in turn and count the graphs each call compiles (methods
    that raise in eager are left out: their errors are compared by suite.checks.modes)."""
    from torch._dynamo.testing import CompileCounterWithBackend

    family = batches[0].family
    result = Recompiles(family.name, [b.size for b in batches])
    eager = run_eager(batches[0], methods, False, seed)
    methods = tuple(m for m in methods if not isinstance(eager[m], BaseException))  # errors: compare_outputs
    torch._dynamo.reset()
    counter = CompileCounterWithBackend(backend)
    compiled = torch.compile(call_methods, backend=counter)
    try:
        with warnings.catch_warnings(), kept_validation_default():
            warnings.simplefilter("ignore")
            for batch in batches:
                before = counter.frame_count
                torch.manual_seed(seed)
                try:
                    out = compiled(family, batch.tensors, batch.x, batch.q, tuple(methods), False)
                except Exception as exc:  # noqa: BLE001
                    result.error = describe(exc)
                    return result
                result.graphs.append(counter.frame_count - before)
                eager = run_eager(batch, methods, False, seed)
                for method in methods:
                    want = eager[method]
                    if isinstance(want, BaseException) or not _close(family, batch, out[method], want):
                        if method not in result.differ:
                            result.differ.append(method)
    finally:
        torch._dynamo.reset()
    return result


def _close(family, batch: Inputs, got: torch.Tensor, want: torch.Tensor) -> bool:
    tol = family.tolerance[batch.dtype]
    if got.shape != want.shape:
        return False
    got, want = got.detach().double(), want.detach().double()
    return bool(torch.allclose(got, want, rtol=tol.rtol, atol=tol.atol, equal_nan=True))

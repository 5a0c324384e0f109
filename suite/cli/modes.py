"""`python -m suite modes [--json]`: every family x method x execution mode, against eager.

Modes: compile (torch.compile, aot_eager by default, validation off), capture and capture+validate
(torch._dynamo.explain: one graph, or the graph breaks and why), recompiles (graphs compiled at three
batch sizes in turn), vmap and vmap+validate (torch.func.vmap over the parameter sets, construction
inside), validation (eager with validation on against off), and invalid input under compile+validate
and vmap+validate (the error eager raises). Writes reports/MODES.md when run over every family.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from suite.checks import capture as C
from suite.checks import modes as M
from suite.checks.result import CheckResult, failed
from suite.cli import command_prog
from suite.registry.families import DTYPES, FAMILIES, REGISTRY, Family, dtype_name
from suite.verdict import FAIL, PASS, XFAIL, judge

DEFAULT_OUT = "reports/MODES.md"
RECOMPILE_SIZES = (M.N_SETS, M.N_SETS + 1, M.N_SETS + 2)
INFO = "info"
GLOBAL_PROBE = "Normal"  # the family compiled in a fresh process to see the global validation default


@dataclass
class Cell:
    """One family x method x mode: status ok / breaks / known / error, the text shown, the verdict
    (pass, fail, xfail; info for capture, which is measured, not judged)."""

    family: str
    method: str
    mode: str
    status: str
    text: str
    verdict: str
    reasons: list[str] = field(default_factory=list)


def judged(family: str, result: CheckResult, mode: str, dtype: str) -> Cell:
    verdict = judge(result, REGISTRY[family].known_for(result.check, dtype, mode=mode))
    if verdict.status == PASS:
        text = result.message if result.message.startswith("same error") else "ok"
        return Cell(family, result.check, mode, "ok", text, PASS)
    detail = result.message or result.summary()
    if verdict.status == XFAIL:
        return Cell(family, result.check, mode, "known", f"known: {detail}", XFAIL)
    status = "error" if result.ok is None else "differs"
    unexplained = "" if verdict.message.startswith(("FAIL", "PASS")) else f" ({verdict.message.split(';')[0]})"
    return Cell(family, result.check, mode, status, f"{status}: {detail}{unexplained}", FAIL)


def recompile_result(family: Family, rec: C.Recompiles, dtype: str) -> CheckResult:
    if rec.error:
        return failed("batch_size", family.name, dtype, f"error at a new batch size: {rec.error}")
    if rec.differ:
        return failed("batch_size", family.name, dtype, f"{', '.join(rec.differ)} differ from eager after "
                                                          "recompiling for a new batch size")
    return CheckResult("batch_size", family.name, dtype, compared=len(rec.sizes), message=rec.cell())


def collect_family(family: Family, dtype: torch.dtype = torch.float64, backend: str = M.FAST_BACKEND,
                   compile_modes: bool = True, seed: int = 0) -> list[Cell]:
    """Every cell of one family; without `compile_modes` only vmap and validation (cheap)."""
    name, dname = family.name, dtype_name(dtype)
    inputs = M.make_inputs(family, M.N_SETS, dtype, seed)
    methods = M.methods_of(family, dtype)
    cells: list[Cell] = []
    runs = [("vmap", M.VMAP, False), ("vmap+validate", M.VMAP, True), ("validation", M.VALIDATION, False)]
    if compile_modes:
        runs.insert(0, ("compile", M.COMPILE, False))
    for label, mode, validate in runs:
        runner = M.compiled_runner(backend, seed) if mode == M.COMPILE else None
        for result in M.check_mode(inputs, mode, methods, runner, validate, seed).values():
            cells.append(judged(name, result, label, dname))
    invalid_modes = [("vmap+validate", M.VMAP)]
    if compile_modes:
        invalid_modes.insert(0, ("compile+validate", M.COMPILE))
    for label, mode in invalid_modes:
        runner = M.compiled_runner(backend, seed) if mode == M.COMPILE else None
        for result in M.check_invalid(family, mode, runner, dtype, seed).values():
            cells.append(judged(name, result, label, dname))
    if not compile_modes:
        return cells
    for method in methods:
        for label, validate in (("capture", False), ("capture+validate", True)):
            cap = C.capture(inputs, method, validate)
            status = "error" if cap.error else "ok" if cap.one_graph else "breaks"
            cells.append(Cell(name, method, label, status, cap.cell(), INFO, list(cap.reasons)))
    batches = [M.make_inputs(family, n, dtype, seed) for n in RECOMPILE_SIZES]
    rec = C.recompiles(batches, methods, backend, seed)
    cell = judged(name, recompile_result(family, rec, dname), "compile", dname)
    if cell.verdict == PASS:
        cell.text = rec.cell()
    cells.append(cell)
    return cells


def collect(families: list[Family], dtype: torch.dtype = torch.float64, backend: str = M.FAST_BACKEND,
            compile_modes: bool = True, seed: int = 0, progress=None) -> list[Cell]:
    cells = []
    if compile_modes and any(f.name == GLOBAL_PROBE for f in families):
        result = M.validation_default_after_compile(REGISTRY[GLOBAL_PROBE])
        cells.append(judged(GLOBAL_PROBE, result, "compile", dtype_name(dtype)))
    for family in families:
        start = time.perf_counter()
        cells += collect_family(family, dtype, backend, compile_modes, seed)
        if progress is not None:
            progress(f"{family.name}: {time.perf_counter() - start:.1f} s")
    return cells


def format_table(cells: list[Cell]) -> str:
    """Plain text: one line per family x method, a column per mode."""
    from suite.report.modes import grid
    header, rows = grid(cells)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    widths = [min(w, 48) for w in widths]
    return "\n".join("  ".join(str(v)[:w].ljust(w) for v, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=command_prog("modes"), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the cells as JSON")
    parser.add_argument("--family", action="append", help="only these families (repeatable); then nothing is "
                                                          "written unless --out is given")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64")
    parser.add_argument("--backend", default=M.FAST_BACKEND, help="torch.compile backend (default: aot_eager)")
    parser.add_argument("--out", default=None, help=f"Markdown file to write (default: {DEFAULT_OUT} for a run "
                                                    "over every family)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cells", default=None, help="render the cells of an earlier --json run (nothing measured)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.family or ()) - set(REGISTRY))
    if unknown:
        parser.error(f"unknown family {', '.join(unknown)}; see `python -m suite families`")
    families = [f for f in FAMILIES if not args.family or f.name in args.family]
    if args.cells:
        cells = [Cell(**c) for c in json.loads(Path(args.cells).read_text())
                 if not args.family or c["family"] in args.family]
    else:
        cells = collect(families, DTYPES[args.dtype], args.backend, seed=args.seed,
                        progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps([asdict(c) for c in cells], indent=1) if args.json else format_table(cells))
    out = args.out or (None if args.family else DEFAULT_OUT)
    if out:
        from suite.report.modes import write
        print(f"wrote {write(Path(out), cells, args.dtype, args.backend)}", file=sys.stderr)
    failing = [c for c in cells if c.verdict == FAIL]
    for cell in failing:
        print(f"FAIL {cell.family}.{cell.method} [{cell.mode}]: {cell.text}", file=sys.stderr)
    return 1 if failing else 0


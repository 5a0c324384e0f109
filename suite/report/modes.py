"""reports/MODES.md: the execution-mode table (family x method x mode) with its summary, answers first."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from suite.checks.modes import MODE_METHODS
from suite.registry.families import FAMILIES
from suite.registry.modes import in_execution_mode

if TYPE_CHECKING:
    from suite.cli.modes import Cell

METHOD_MODES = ("compile", "capture", "capture+validate", "vmap", "vmap+validate", "validation")
FAMILY_CHECKS = (("batch_size", "compile", "recompiles (compile)"),
                 ("invalid_params", "compile+validate", "invalid params (compile)"),
                 ("invalid_params", "vmap+validate", "invalid params (vmap)"),
                 ("invalid_value", "compile+validate", "NaN point (compile)"),
                 ("invalid_value", "vmap+validate", "NaN point (vmap)"))
CELL_WIDTH = 90
TABLE_CELL_WIDTH = 72


def _short(text: str, width: int = CELL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _index(cells: list[Cell]) -> dict[tuple[str, str, str], Cell]:
    return {(c.family, c.method, c.mode): c for c in cells}


def _families(cells: list[Cell]) -> list[str]:
    return list(dict.fromkeys(c.family for c in cells))


def _methods(cells: list[Cell], family: str) -> list[str]:
    return list(dict.fromkeys(c.method for c in cells if c.family == family and c.mode in METHOD_MODES
                              and c.method in MODE_METHODS))


def grid(cells: list[Cell]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the method table: family, method, then one short cell per mode ('' where the
    mode was not run)."""
    index = _index(cells)
    header = ["family", "method", *METHOD_MODES]
    rows = []
    for family in _families(cells):
        for method in _methods(cells, family):
            row = [family, method]
            for mode in METHOD_MODES:
                cell = index.get((family, method, mode))
                row.append("" if cell is None else _short(cell.text, TABLE_CELL_WIDTH))
            rows.append(row)
    return header, rows


def family_grid(cells: list[Cell]) -> tuple[list[str], list[list[str]]]:
    index = _index(cells)
    header = ["family", *(title for _, _, title in FAMILY_CHECKS)]
    rows = []
    for family in _families(cells):
        row = [family]
        for check, mode, _ in FAMILY_CHECKS:
            cell = index.get((family, check, mode))
            row.append("" if cell is None else _short(cell.text, TABLE_CELL_WIDTH))
        rows.append(row)
    return header, rows


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(values):
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"
    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def summary(cells: list[Cell]) -> list[str]:
    """The answers: which families capture in one graph, which break and why, what vmap does."""
    families = _families(cells)
    captures = [c for c in cells if c.mode == "capture"]
    one_graph = [f for f in families if captures and all(c.status == "ok" for c in captures if c.family == f)]
    some = [f for f in families if f not in one_graph and any(c.family == f for c in captures)]
    reasons: dict[str, set[str]] = defaultdict(set)
    for c in captures:
        for reason in c.reasons:
            reasons[reason].add(f"{c.family}.{c.method}")
    validate_eager = [c for c in cells if c.mode == "capture+validate" and "all eager" in c.text]
    vmap_ok = [f for f in families if all(c.status == "ok" for c in cells if c.family == f and c.mode == "vmap")]
    vmap_fail = defaultdict(list)
    for c in cells:
        if c.mode == "vmap" and c.status != "ok":
            vmap_fail[c.family].append(c.method)
    lines = [f"- **One graph** for every method with validation off ({len(one_graph)} of {len(families)}): "
             + (", ".join(one_graph) or "none") + ".",
             f"- **Graph breaks** with validation off ({len(some)}): " + (", ".join(some) or "none") + "."]
    for reason, where in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"  - {_short(reason, 160)}: {len(where)} methods ({', '.join(sorted(where)[:6])}"
                     + (", ..." if len(where) > 6 else "") + ")")
    if any("is_dependent" in reason for reason in reasons):
        lines.append("  - `is_dependent` with validation off: composites build inner distributions without passing "
                     "validate_args on (StudentT's Chi2, FisherSnedecor's Gammas, LKJCholesky's Beta, ...), so the "
                     "inner ones still validate under the global default, and break the graph there.")
    lines.append(f"- **Validation on** (the default): {len(validate_eager)} family x method pairs compile to no "
                 "graph at all (everything runs eagerly): the constraint checks break the graph "
                 "(`constraints.is_dependent` is on Dynamo's skip list, `torch._is_all_true` is data-dependent) "
                 "and the resumed frames inside torch.distributions are skipped.")
    lines.append(f"- **vmap** (construction inside, validation off): every method works for {len(vmap_ok)} of "
                 f"{len(families)} families; it raises for "
                 + ("; ".join(f"{f} ({', '.join(m)})" for f, m in vmap_fail.items()) or "none") + ".")
    for c in cells:
        if c.method == "global_validation":
            lines.append("- **Global validation default after torch.compile** (a fresh process compiling "
                         f"{c.family}.log_prob with validate_args=False): {_short(c.text, 300)}")
    failing = [c for c in cells if c.verdict == "fail"]
    known = [c for c in cells if c.verdict == "xfail"]
    lines.append(f"- Verdicts: {len(failing)} unexplained differences, {len(known)} known (registry entries).")
    return lines


def _cells_of(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [part.strip().replace("\\|", "|") for part in parts]


def parse(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The method table of a MODES.md: (family, method) -> mode -> the cell as written."""
    lines = text.splitlines()
    header_line = "| " + " | ".join(["family", "method", *METHOD_MODES]) + " |"
    if header_line not in lines:
        raise ValueError("no family x method x mode table in this file")
    start = lines.index(header_line)
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        family, method, *values = _cells_of(line)
        table[(family, method)] = dict(zip(METHOD_MODES, values))
    return table


def stale(table: dict[tuple[str, str], dict[str, str]], cells: list[Cell]) -> list[str]:
    """The cells whose text differs from what `table` (parse of a MODES.md) holds, as one line each."""
    problems = []
    for cell in cells:
        if cell.mode not in METHOD_MODES or cell.method not in MODE_METHODS:
            continue
        written = table.get((cell.family, cell.method), {}).get(cell.mode)
        now = _short(cell.text, TABLE_CELL_WIDTH)
        if written != now:
            problems.append(f"{cell.family}.{cell.method} [{cell.mode}]: written {written!r}, now {now!r}")
    return problems


def findings() -> list[str]:
    """The pinned differences (the entries' Known of an execution mode), one bullet per kind with where it
    occurs."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for family in FAMILIES:
        for known in filter(in_execution_mode, family.known):
            grouped[(known.what, known.upstream)].append(f"{family.name}.{known.check} [{known.mode}]")
    lines = []
    for (what, upstream), where in grouped.items():
        ref = f" Upstream: {upstream}." if upstream else ""
        lines.append(f"- {what} ({len(where)}: {', '.join(where)}).{ref}")
    return lines


def render(cells: list[Cell], dtype: str, backend: str) -> str:
    lines = ["# Execution modes: torch.compile, vmap and validation against eager", "",
             f"torch {torch.__version__}, CPU, {dtype}, compile backend `{backend}`; "
             "regenerate with `python -m suite modes` (the slow tier checks this file is current).", "",
             "## Answers", "", *summary(cells), "",
             "## Family x method x mode", "",
             "compile: values, shapes and errors of the compiled methods against eager (validation off; draws from "
             "the same seed). capture: `torch._dynamo.explain` of construction plus the method. vmap: "
             "`torch.func.vmap` over the parameter sets, construction inside (draws: shape, dtype and support). "
             "validation: eager with validation on against off.", "",
             *_markdown(*grid(cells)), "",
             "## Per family: batch-size changes and invalid input", "",
             "recompiles: graphs compiled at batch sizes 6, 7, 8 in turn (automatic dynamic shapes). Invalid "
             "input with validation on: the error the mode raises against eager's.", "",
             *_markdown(*family_grid(cells)), "",
             "## Findings pinned in the registry entries", "",
             "Each is a strict xfail in the cases (cases/distributions/test_modes.py) on the torch release it was "
             "measured on; check names with `*` are patterns, modes `vmap*` cover validation off and on.", "",
             *findings(), ""]
    return "\n".join(lines)


def write(path: Path, cells: list[Cell], dtype: str, backend: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render(cells, dtype, backend))
    os.replace(partial, path)
    return path

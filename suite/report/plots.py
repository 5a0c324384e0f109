"""SVG figures for a report, drawn with matplotlib's object API (no pyplot, no display needed)."""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from suite.bench.results import Record

from .fmt import verdict_passes
from .model import STEP_PHASES, TOTAL_PHASES, sort_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STYLE = {
    "svg.hashsalt": "distsuite",
    "svg.fonttype": "none",
    "font.size": 8,
    "axes.titlesize": 9,
    "legend.fontsize": 7,
}
WRONG_COLOR = "#d62728"
SIZE_LABELS = {"strategy_step": "samples per step", "jacobian": "N (log-probs)", "throughput": "batch size"}


# matplotlib is imported where a figure is drawn, not with the package: collecting the cases stays cheap.
@functools.cache
def palette(name: str) -> tuple:
    """The colours of one of matplotlib's qualitative colormaps (e.g. "tab10")."""
    import matplotlib

    return matplotlib.colormaps[name].colors


def new_figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _timed(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if r.status == "ok" and r.median_s and r.median_s > 0 and r.size > 0]


def panel_title(family: str | None, dim: int | None) -> str:
    return " ".join(p for p in (family or "", f"d={dim}" if dim is not None else "") if p) or "all"


def line_label(record: Record) -> str:
    label = record.method
    if record.compiled:
        label += " compiled"
    if record.validate:
        label += " +validation"
    return label


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def _method_colors(records: Sequence[Record]) -> dict[str, tuple]:
    methods = list(dict.fromkeys(r.method for r in sorted(records, key=sort_key)))
    colors = palette("tab10")
    return {m: colors[i % len(colors)] for i, m in enumerate(methods)}


def scaling_figure(records: Sequence[Record], title: str) -> Figure | None:
    """Median time against size on log-log axes: a panel per family (and dim), a line per method."""
    timed = [r for r in _timed(records) if r.phase in TOTAL_PHASES]
    if not timed:
        return None
    colors = _method_colors(timed)
    panels: dict[tuple, list[Record]] = {}
    for r in sorted(timed, key=lambda r: (r.family or "", r.dim or 0)):
        panels.setdefault((r.family, r.dim), []).append(r)
    nrows, ncols = _grid(len(panels))
    fig = new_figure(figsize=(max(3.4 * ncols, 5.0), 2.6 * nrows + 1.0), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, ((family, dim), members) in zip(axes, panels.items()):
        lines: dict[tuple, list[Record]] = {}
        for r in sorted(members, key=sort_key):
            lines.setdefault((r.method, r.validate, r.compiled), []).append(r)
        for (method, validate, compiled), points in lines.items():
            points.sort(key=lambda r: r.size)
            wrong = sorted({r.verdict for r in points if verdict_passes(r.verdict) is False})
            label = line_label(points[0]) + (f" ✗ {', '.join(wrong)}" if wrong else "")
            ax.plot([r.size for r in points], [r.median_s for r in points], color=colors[method],
                    linestyle=":" if compiled else "--" if validate else "-", marker="X" if wrong else "o",
                    markersize=6 if wrong else 3.5, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()
        ax.set_title(panel_title(family, dim))
        ax.set_xlabel(SIZE_LABELS.get(members[0].group, "size"))
        ax.set_ylabel("median time [s]")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    legend: dict[str, object] = {}
    for ax in axes[:len(panels)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    width = fig.get_figwidth()
    fig.legend(list(legend.values()), list(legend), loc="outside lower center", frameon=False,
               ncols=max(1, min(len(legend), int(width / 2.4))))
    fig.suptitle(title)
    return fig


def phase_bars_figure(records: Sequence[Record], title: str) -> Figure | None:
    """Per method (validation off and on), the time of one call split into phases, at the largest size."""
    timed = _timed(records)
    if not timed:
        return None
    size = max(r.size for r in timed)
    at_size = [r for r in timed if r.size == size]
    has_phases = any(r.phase in STEP_PHASES for r in at_size)
    bars: dict[tuple, dict[str | None, Record]] = {}
    for r in sorted(at_size, key=sort_key):
        if has_phases == (r.phase in STEP_PHASES):
            bars.setdefault((r.method, r.validate, r.compiled), {})[r.phase] = r
    verdicts = {k: next((r.verdict for r in timed if (r.method, r.validate, r.compiled) == k and r.verdict), None)
                for k in bars}
    fig = new_figure(figsize=(max(4.0, 0.75 * len(bars) + 2.8), 3.2), layout="constrained")
    ax = fig.subplots()
    phase_colors = dict(zip(STEP_PHASES, palette("Set2")))
    scale, unit = time_unit(max(sum(r.median_s for r in parts.values()) for parts in bars.values()))
    phases = STEP_PHASES if has_phases else TOTAL_PHASES
    labels, labelled = [], set()
    for x, (key, parts) in enumerate(bars.items()):
        wrong = verdict_passes(verdicts[key]) is False
        bottom = 0.0
        for phase in phases:
            r = parts.get(phase)
            if r is None:
                continue
            ax.bar(x, r.median_s / scale, bottom=bottom, color=phase_colors.get(phase, palette("tab10")[0]),
                   edgecolor=WRONG_COLOR if wrong else "black", linewidth=1.5 if wrong else 0.4,
                   hatch="//" if wrong else None, label=None if phase in labelled else phase)
            labelled.add(phase)
            bottom += r.median_s / scale
        labels.append(line_label(next(iter(parts.values()))) + (f"\n✗ {verdicts[key]}" if wrong else ""))
        ax.annotate(f"{bottom:.3g}", (x, bottom), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    for tick, key in zip(ax.get_xticklabels(), bars):
        if verdict_passes(verdicts[key]) is False:
            tick.set_color(WRONG_COLOR)
    ax.set_ylabel(f"median time per call [{unit}]")
    ax.set_title(f"{title} (size {size})")
    if has_phases:
        fig.legend(loc="outside right upper", frameon=False, reverse=True)
    ax.margins(y=0.15)
    return fig


def time_unit(seconds: float) -> tuple[float, str]:
    """The scale and name of the unit that shows `seconds` with 1-3 digits before the point."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return scale, unit
    return 1e-9, "ns"


def style() -> contextlib.AbstractContextManager:
    """The settings under which figures are both built and saved (stable ids, text kept as text)."""
    import matplotlib

    return matplotlib.rc_context(_STYLE)


def write_svg(fig: Figure, path: str | os.PathLike) -> None:
    fig.savefig(path, format="svg", metadata={"Date": None})

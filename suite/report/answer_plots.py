"""One figure per question: strategy cost relative to rebuilding, Jacobian time relative to the loop, throughput per
element. Ratios on a log axis with 1× drawn; failures (out of memory, time-outs, errors) drawn as labelled markers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from suite.bench.results import Record

from .answers import BASELINE_JACOBIAN, BASELINE_STRATEGY, REFERENCE_JACOBIAN
from .fmt import verdict_passes
from .model import TOTAL_PHASES
from .plots import new_figure, palette

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WRONG_COLOR = "#d62728"
FAILED_MARKERS = {"oom": ("v", "out of memory"), "timeout": ("s", "timed out"), "error": ("D", "error"),
                  "unsupported": ("X", "unsupported")}


def _color(i: int) -> tuple:
    colors = palette("tab10")
    return colors[i % len(colors)]


def _whole(records: Sequence[Record], group: str) -> list[Record]:
    return [r for r in records if r.group == group and r.phase in TOTAL_PHASES]


def _key(r: Record, *without: str) -> tuple:
    fields = ("family", "device", "dtype", "size", "dim", "validate", "compiled", "method")
    return tuple(getattr(r, f) for f in fields if f not in without)


def _unit_line(ax, label: str) -> None:
    ax.axhline(1.0, color="black", linewidth=1.0, zorder=1)
    ax.annotate(label, (0, 1.0), xycoords=("axes fraction", "data"), xytext=(3, 3), textcoords="offset points",
                fontsize=7)


def strategy_cost_figure(records: Sequence[Record], title: str) -> Figure | None:
    """Per family (and d): each strategy's step time over rebuild_per_step's, at every size, validation off
    (filled) and on (open); a wrong strategy in red crosses."""
    steps = [r for r in _whole(records, "strategy_step") if r.status == "ok" and r.median_s]
    base = {_key(r, "method"): r.median_s for r in steps if r.method == BASELINE_STRATEGY}
    others = [r for r in steps if r.method != BASELINE_STRATEGY and _key(r, "method") in base]
    if not others:
        return None
    configs = list(dict.fromkeys((r.family, r.dim) for r in sorted(others, key=lambda r: (r.family, r.dim or 0))))
    methods = list(dict.fromkeys(r.method for r in sorted(others, key=lambda r: r.method)))
    fig = new_figure(figsize=(max(6.0, 0.75 * len(configs) + 2.5), 3.6), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        wrong = any(verdict_passes(r.verdict) is False for r in others if r.method == method)
        for validate in (False, True):
            xs, ys = [], []
            for r in others:
                if r.method == method and bool(r.validate) == validate:
                    xs.append(configs.index((r.family, r.dim)) - 0.4 + width * (j + 0.5))
                    ys.append(r.median_s / base[_key(r, "method")])
            if not xs:
                continue
            color = WRONG_COLOR if wrong else _color(j)
            label = f"{method}{' ✗ wrong' if wrong else ''}, validation {'on' if validate else 'off'}"
            style = ({"marker": "x", "color": color} if wrong else
                     {"marker": "o", "facecolors": color if not validate else "none", "edgecolors": color})
            ax.scatter(xs, ys, s=18, label=label, zorder=3, **style)
    _unit_line(ax, f"{BASELINE_STRATEGY} = 1×")
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)), [f"{f}" + (f" d={d}" if d else "") for f, d in configs],
                  rotation=30, ha="right")
    ax.set_ylabel(f"time per step / {BASELINE_STRATEGY}")
    ax.set_title(f"{title}: each point one size and dtype; below 1× is faster")
    ax.grid(True, axis="y", alpha=0.3)
    fig.legend(loc="outside right upper", frameon=False)
    return fig


def jacobian_figure(records: Sequence[Record], title: str) -> Figure | None:
    """A panel per d: each method's time over the fastest method's at that N (so the fastest is at 1×), the loop
    drawn bold; methods that failed (out of memory, timed out, error, unsupported) as markers along the top."""
    rows = [r for r in _whole(records, "jacobian") if r.method != REFERENCE_JACOBIAN]
    done = [r for r in rows if r.status == "ok" and r.median_s]
    if not done:
        return None
    fastest: dict[tuple, float] = {}
    for r in done:
        key = _key(r, "method")
        fastest[key] = min(fastest.get(key, math.inf), r.median_s)
    dims = sorted({r.dim or 0 for r in rows})
    methods = list(dict.fromkeys(r.method for r in sorted(rows, key=lambda r: (r.method != BASELINE_JACOBIAN,
                                                                                  r.method))))
    colors = {m: ("black" if m == BASELINE_JACOBIAN else _color(i)) for i, m in enumerate(methods)}
    fig = new_figure(figsize=(3.2 * len(dims) + 2.6, 3.4), layout="constrained")
    axes = fig.subplots(1, len(dims), squeeze=False, sharey=True).ravel()
    top = max(r.median_s / fastest[_key(r, "method")] for r in done) * 4
    handles: dict[str, object] = {}
    for ax, dim in zip(axes, dims):
        here = [r for r in rows if (r.dim or 0) == dim]
        for k, method in enumerate(methods):
            points = sorted((r for r in here if r.method == method and r in done), key=lambda r: r.size)
            if points:
                style = dict(linewidth=2.4, linestyle="--", zorder=4) if method == BASELINE_JACOBIAN else {}
                (line,) = ax.plot([r.size for r in points], [r.median_s / fastest[_key(r, "method")] for r in points],
                                  marker="o", markersize=3, color=colors[method], label=method, **style)
                handles.setdefault(method, line)
            for r in here:
                if r.method == method and r.status in FAILED_MARKERS:
                    marker, word = FAILED_MARKERS[r.status]
                    # spread the markers of several methods failing at one N sideways so none hides another
                    ax.scatter([r.size * 1.18 ** (k - len(methods) / 2)], [top], marker=marker, color=colors[method],
                               edgecolors="black", linewidths=0.5, s=28, zorder=5, clip_on=False)
                    handles.setdefault(word, ax.scatter([], [], marker=marker, color="white", edgecolors="black",
                                                        s=28))
        ax.axhline(1.0, color="grey", linewidth=0.8, zorder=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"d = {dim}")
        ax.set_xlabel("N (samples)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("time / fastest method's time at that N")
    fig.suptitle(f"{title}: 1× is the fastest; markers along the top: did not finish (colour = method)")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", frameon=False)
    return fig


def throughput_figure(records: Sequence[Record], title: str) -> Figure | None:
    """Time per element of log_prob, rsample and sample for every family, at the largest size measured for all."""
    rows = [r for r in _whole(records, "throughput") if not r.compiled]
    if not rows:
        return None
    sizes = sorted({r.size for r in rows if r.status == "ok"})
    families = sorted({r.family for r in rows if r.family})
    size = max((s for s in sizes if sum(1 for r in rows if r.size == s and r.status == "ok") >= len(families)),
               default=sizes[-1] if sizes else None)
    if size is None:
        return None
    ops = list(dict.fromkeys(r.method for r in sorted(rows, key=lambda r: r.method)))
    fig = new_figure(figsize=(6.5, 0.17 * len(families) * len(ops) / 2 + 1.6), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / len(ops)
    for j, op in enumerate(ops):
        ys, xs, fails = [], [], []
        for i, family in enumerate(families):
            r = next((r for r in rows if r.family == family and r.method == op and r.size == size), None)
            y = i - 0.4 + height * (j + 0.5)
            if r is None:
                continue
            if r.status == "ok" and r.median_s:
                ys.append(y)
                xs.append(r.median_s / size * 1e9)
            elif r.status in FAILED_MARKERS:
                fails.append(y)
        ax.barh(ys, xs, height=height, color=_color(j), label=op)
        if fails:
            ax.scatter([min(xs or [1.0])] * len(fails), fails, marker="D", color=_color(j), edgecolors="black")
    ax.set_yticks(range(len(families)), families)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"time per element [ns] at batch size {size:.0e}".replace("e+0", "e"))
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(loc="outside upper center", ncols=len(ops), frameon=False)
    return fig


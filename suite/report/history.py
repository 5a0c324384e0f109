"""History of published runs: a JSON file that grows by one entry per environment and run, and a page showing each
headline ratio across runs (commit, torch version, date)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .fmt import fmt_ratio, md_escape
from .inputs import ReportInputError, read_sources
from .model import headlines
from .plots import new_figure, style, write_svg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HISTORY_VERSION = 1
LAST_RUNS_SHOWN = 12


def load(path: str | os.PathLike) -> list[dict]:
    """The runs of a history file; an absent file is an empty history."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportInputError(f"{path}: not a readable history file ({exc})") from None
    if not isinstance(document, dict) or document.get("history_version") != HISTORY_VERSION:
        raise ReportInputError(f"{path}: not a distsuite history file (history_version {HISTORY_VERSION})")
    return list(document["runs"])


def add(path: str | os.PathLike, results: Sequence[str | os.PathLike]) -> list[dict]:
    """Append one entry per results file (an entry already present, same environment and date, is replaced)."""
    runs = load(path)
    for source in read_sources(results):
        env = source.results.environment
        entry = {"environment": env.id, "commit": env.distsuite_commit, "torch": env.torch, "date": env.date,
                 "headlines": {label: h.mean for label, h in sorted(headlines(source).items())}}
        runs = [r for r in runs if (r["environment"], r["date"]) != (env.id, env.date)] + [entry]
    runs.sort(key=lambda r: (r["environment"], r["date"]))
    Path(path).write_text(json.dumps({"history_version": HISTORY_VERSION, "runs": runs}, indent=1) + "\n",
                          encoding="utf-8")
    return runs


def _run_label(run: dict) -> str:
    return f"{run['date'][:10]} {(run['commit'] or '?')[:7]} torch {run['torch']}"


def figure(runs: list[dict], environment: str) -> Figure | None:
    """Each headline ratio across runs, a panel per kind of comparison."""
    labels = sorted({label for run in runs for label in run["headlines"]})
    kinds = {"vs rebuild_per_step": "strategy vs rebuild_per_step", "vs loop": "Jacobian method vs loop",
             "vs eager": "compiled vs eager", "validation on vs off": "validation on vs off"}
    panels = {title: [lab for lab in labels if key in lab] for key, title in kinds.items()}
    panels = {title: labs for title, labs in panels.items() if labs}
    if not panels or len(runs) < 1:
        return None
    fig = new_figure(figsize=(4.2 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False).ravel()
    for ax, (title, labs) in zip(axes, panels.items()):
        for lab in labs:
            points = [(i, run["headlines"][lab]) for i, run in enumerate(runs) if lab in run["headlines"]]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3,
                    label=lab.split(" vs ")[0])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xticks(range(len(runs)), [_run_label(r).replace(" ", "\n", 2) for r in runs], fontsize=6)
        ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[0].set_ylabel("time ratio (geometric mean)")
    fig.suptitle(f"Headline ratios across runs: {environment}")
    return fig


def render(path: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write out_dir/history.md (and its plots) from a history file; returns the page."""
    runs = load(path)
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    parts = ["# Headline ratios across published runs",
             f"One entry per environment and run, from `{Path(path).name}` (`python -m suite history add`). "
             "Each ratio is a geometric mean of a configuration's time over its baseline's in the same run; "
             "below 1× is faster."]
    for environment in dict.fromkeys(r["environment"] for r in runs):
        mine = [r for r in runs if r["environment"] == environment][-LAST_RUNS_SHOWN:]
        parts.append(f"## {md_escape(environment)}")
        with style():
            fig = figure(mine, environment)
            if fig is not None:
                name = f"history-{environment}.svg".replace("+", "-")
                write_svg(fig, out_dir / "plots" / name)
                parts.append(f"![headline ratios across runs](plots/{name})")
        labels = sorted({label for run in mine for label in run["headlines"]})
        header = ["ratio", *(_run_label(r) for r in mine)]
        rows = [[md_escape(lab), *(fmt_ratio(r["headlines"].get(lab)) for r in mine)] for lab in labels]
        parts.append("\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                               + ["| " + " | ".join(row) + " |" for row in rows]))
    if not runs:
        parts.append("No runs recorded yet.")
    page = out_dir / "history.md"
    page.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return page

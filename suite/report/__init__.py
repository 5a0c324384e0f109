"""Benchmark reports: results.json files rendered to Markdown with SVG plots, merged across environments,
and runs compared with a significance test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import replaced_directory
from .compare import Comparison, compare
from .inputs import ReportInputError, Source, read_results, read_sources
from .markdown import render_markdown
from .plots import style, write_svg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Comparison", "ReportInputError", "Source", "compare", "read_results", "read_sources", "render"]

REPO_ROOT = Path(__file__).resolve().parents[2]
FINDINGS = REPO_ROOT / "reports" / "FINDINGS.md"
README = "README.md"
PLOTS = "plots"
# Every page a report may write, so a re-render replaces the ones a smaller run no longer has.
PAGES = ("strategy-step.md", "jacobian.md", "throughput.md", "memory-probe.md", "status.md")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def render(results_paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
           findings: str | os.PathLike | None = FINDINGS) -> Path:
    """Write `out_dir/README.md` and `out_dir/plots/*.svg` from one or more results files; return the README.

    Several files are merged into one report with a column per environment. The report's own entries
    in `out_dir` are replaced as a whole (see `replaced_directory`); other files there are kept.
    Raises ReportInputError (one line) for a file that is missing, not JSON, or not a results file.
    """
    sources = read_sources(results_paths)
    out_dir = Path(out_dir)
    owned = {README, PLOTS, *PAGES}
    findings_link = None
    copy_findings = False
    if findings is not None:
        findings = Path(findings)
        if _inside(out_dir, findings.parent):
            findings_link = Path(os.path.relpath(findings.resolve(), out_dir.resolve())).as_posix()
        elif findings.is_file():
            findings_link, copy_findings = findings.name, True
            owned.add(findings.name)
    with replaced_directory(out_dir, owned) as stage, style():
        (stage / PLOTS).mkdir()

        def save(name: str, fig: Figure | None) -> str | None:
            if fig is None:
                return None
            write_svg(fig, stage / PLOTS / name)
            return f"{PLOTS}/{name}"

        for name, text in render_markdown(sources, save, findings_link).items():
            (stage / name).write_text(text, encoding="utf-8")
        if copy_findings:
            shutil.copy2(findings, stage / findings.name)
    return out_dir / README

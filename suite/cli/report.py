"""`python -m suite report` and `python -m suite compare`: argument parsing, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.cli import command_prog
from suite.report import ReportInputError, read_results, render
from suite.report.compare import ALPHA, THRESHOLD, compare, to_markdown

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def default_out(paths: Sequence[Path]) -> Path:
    """Beside a single results file; for several, a `merged` folder beside their folders."""
    if len(paths) == 1:
        return paths[0].parent
    return paths[0].parent.parent / "merged"


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command_prog("report"),
        description="Render results.json files to DIR/README.md with SVG plots; several files are merged "
                    "into one report with a column per environment.")
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: the results file's folder; for several files, "
                             "'merged' beside their folders)")
    return parser


def report_main(argv: Sequence[str] | None = None) -> int:
    parser = report_parser()
    args = parser.parse_args(argv)
    out = args.out or default_out(args.results)
    try:
        readme = render(args.results, out)
    except ReportInputError as exc:
        return _fail(parser.prog, str(exc))
    except OSError as exc:
        return _fail(parser.prog, f"cannot write the report to {out}: {exc.strerror or exc}")
    print(readme)
    return EXIT_OK


def compare_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command_prog("compare"),
        description="Compare two runs case by case. A change is flagged only when a two-sided Mann-Whitney U "
                    "test on the stored samples is significant after Benjamini-Hochberg adjustment. Exit "
                    f"status {EXIT_REGRESSION} when a significant regression beyond the threshold, a case "
                    "that stopped running, a verdict that broke or a case of BASE missing from NEW is found; "
                    f"{EXIT_BAD_INPUT} on bad input, including a file without records.")
    parser.add_argument("base", type=Path, metavar="BASE.json")
    parser.add_argument("new", type=Path, metavar="NEW.json")
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help=f"significance level after adjustment (default {ALPHA})")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"slowdown that counts as a regression, as a fraction (default {THRESHOLD})")
    parser.add_argument("--no-normalise", dest="normalise", action="store_false",
                        help="test raw times instead of times relative to the host speed factor (the median "
                             "new/base ratio over all cases)")
    parser.add_argument("--allow-subset", action="store_true",
                        help="NEW may measure only some of BASE's cases (a deliberate narrower run)")
    parser.add_argument("--all", dest="show_all", action="store_true",
                        help="list every case in the table, not only those that changed")
    parser.add_argument("--changed-only", action="store_true", help=argparse.SUPPRESS)  # the default now
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table to FILE")
    return parser


def compare_main(argv: Sequence[str] | None = None) -> int:
    parser = compare_parser()
    args = parser.parse_args(argv)
    if not 0 < args.alpha < 1:
        parser.error(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.threshold < 0:
        parser.error(f"--threshold must not be negative, got {args.threshold}")
    try:
        base, new = read_results(args.base), read_results(args.new)
    except ReportInputError as exc:
        return _fail(parser.prog, str(exc))
    for path, results in ((args.base, base), (args.new, new)):
        if not results.records:
            return _fail(parser.prog, f"{path}: holds no records; nothing to compare")
    comparison = compare(base, new, alpha=args.alpha, threshold=args.threshold, normalise=args.normalise,
                         allow_subset=args.allow_subset)
    text = to_markdown(comparison, show_all=args.show_all)
    if args.markdown is not None:
        try:
            args.markdown.write_text(text, encoding="utf-8")
        except OSError as exc:
            return _fail(parser.prog, f"cannot write {args.markdown}: {exc.strerror or exc}")
    sys.stdout.write(text)
    return EXIT_REGRESSION if comparison.failed else EXIT_OK

"""`python -m suite history add HISTORY.json RESULTS.json...` and `python -m suite history render HISTORY.json`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from suite.cli import command_prog, fail
from suite.report.inputs import ReportInputError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=command_prog("history"),
                                description="Keep every published run: add runs to a history file that only grows, "
                                            "and render history.md, each headline ratio across runs.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="append the runs of results files to the history file")
    add.add_argument("history", type=Path, metavar="HISTORY.json")
    add.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    render = sub.add_parser("render", help="write history.md with its plots")
    render.add_argument("history", type=Path, metavar="HISTORY.json")
    render.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: the history file's)")
    return p


def main(argv: Sequence[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    from suite.report import history
    try:
        if args.action == "add":
            runs = history.add(args.history, args.results)
            print(f"{args.history}: {len(runs)} runs")
        else:
            print(history.render(args.history, args.out or args.history.parent))
    except ReportInputError as exc:
        return fail(p.prog, str(exc))
    except OSError as exc:
        return fail(p.prog, f"cannot write: {exc.strerror or exc}")
    return 0

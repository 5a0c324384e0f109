"""`python -m suite COMMAND ...`: dispatch to the command's own parser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _report(argv: Sequence[str]) -> int:
    from .cli.report import report_main
    return report_main(argv)


def _compare(argv: Sequence[str]) -> int:
    from .cli.report import compare_main
    return compare_main(argv)


def _strategies(argv: Sequence[str]) -> int:
    from .cli.strategies import main as strategies_main
    return strategies_main(list(argv))


def _modes(argv: Sequence[str]) -> int:
    from .cli.modes import main as modes_main
    return modes_main(list(argv))


def _families(argv: Sequence[str]) -> int:
    argparse.ArgumentParser(prog="python -m suite families",
                            description="List the registered families with their reference.").parse_args(argv)
    from .registry.families import FAMILIES
    width = max(len(family.name) for family in FAMILIES)
    for family in FAMILIES:
        print(f"{family.name:<{width}}  {family.reference_name}")
    return 0


def _findings(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite findings",
                                     description="Re-measure every known deviation and write FINDINGS.md.")
    parser.add_argument("--out", default="reports/FINDINGS.md", help="output Markdown file")
    args = parser.parse_args(argv)
    from pathlib import Path

    from .report.findings import write
    print(write(Path(args.out)))
    return 0


COMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "families": (_families, "list the registered families with their reference"),
    "findings": (_findings, "re-measure the known deviations and write reports/FINDINGS.md"),
    "report": (_report, "render results.json files to a Markdown report with plots"),
    "compare": (_compare, "compare two results.json files with a significance test"),
    "strategies": (_strategies, "training strategies verdict table (family x strategy x transform)"),
    "modes": (_modes, "torch.compile, vmap and validation against eager (family x method x mode); reports/MODES.md"),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m suite", usage="%(prog)s COMMAND [ARGS...]",
                                     description="distsuite command line; `python -m suite COMMAND -h` "
                                                 "lists a command's own arguments.")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {help_}" for name, (_, help_) in COMMANDS.items()))
    args = parser.parse_args(argv[:1])
    return COMMANDS[args.command][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main())

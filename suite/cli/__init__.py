"""The command line: `python -m suite COMMAND` / `distsuite COMMAND`, dispatched through COMMANDS.

Each command is `(argv) -> exit status` with a one-line help; a command builds its own parser with
`prog=command_prog(NAME)`, so help names the program the way it was called.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path


def program_name() -> str:
    """`distsuite` when run as the installed script, otherwise `python -m suite`."""
    argv0 = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return "distsuite" if argv0 == "distsuite" else "python -m suite"


def command_prog(command: str) -> str:
    return f"{program_name()} {command}"


def fail(prog: str, message: str, status: int = 2) -> int:
    """One line on stderr, as argparse words its own errors."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status


def _report(argv: Sequence[str]) -> int:
    from .report import report_main
    return report_main(argv)


def _compare(argv: Sequence[str]) -> int:
    from .report import compare_main
    return compare_main(argv)


def _history(argv: Sequence[str]) -> int:
    from .history import main as history_main
    return history_main(argv)


def _strategies(argv: Sequence[str]) -> int:
    from .strategies import main as strategies_main
    return strategies_main(list(argv))


def _modes(argv: Sequence[str]) -> int:
    from .modes import main as modes_main
    return modes_main(list(argv))


def _families(argv: Sequence[str]) -> int:
    argparse.ArgumentParser(prog=command_prog("families"),
                            description="List the registered families with their reference.").parse_args(argv)
    from suite.registry.families import FAMILIES
    width = max(len(family.name) for family in FAMILIES)
    for family in FAMILIES:
        print(f"{family.name:<{width}}  {family.reference_name}")
    return 0


def _findings(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=command_prog("findings"),
                                     description="Re-measure every known deviation and write FINDINGS.md.")
    parser.add_argument("--out", default="reports/FINDINGS.md", help="output Markdown file")
    args = parser.parse_args(argv)
    from suite.report.findings import write
    print(write(Path(args.out)))
    return 0


COMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "families": (_families, "list the registered families with their reference"),
    "findings": (_findings, "re-measure the known deviations and write reports/FINDINGS.md"),
    "report": (_report, "render results.json files to a Markdown report with plots"),
    "compare": (_compare, "compare two results.json files with a significance test"),
    "history": (_history, "add a run to a history file and render its page of headline ratios across runs"),
    "strategies": (_strategies, "training strategies verdict table (family x strategy x transform)"),
    "modes": (_modes, "compile / vmap / validation parity and graph capture table (family x method x mode)"),
}


def version_text() -> str:
    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    from suite import __version__
    return f"distsuite {__version__} (torch {installed('torch')}, Python {sys.version.split()[0]})"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=program_name(), usage="%(prog)s COMMAND [ARGS...]",
                                     description=f"distsuite command line; `{program_name()} COMMAND -h` "
                                                 "lists a command's own arguments.")
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {help_}" for name, (_, help_) in COMMANDS.items()))
    split = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))
    args = parser.parse_args(argv[:split + 1])
    return COMMANDS[args.command][0](argv[split + 1:])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = _run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe (`... | head`): stop quietly. Point stdout at devnull so the
        # interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{program_name()}: interrupted", file=sys.stderr)
        return 130
    return status

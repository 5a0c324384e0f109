"""`python -m suite COMMAND ...` and the `distsuite` script: see suite.cli."""

from __future__ import annotations

import sys

from suite.cli import COMMANDS, main

__all__ = ["COMMANDS", "main"]

if __name__ == "__main__":
    sys.exit(main())

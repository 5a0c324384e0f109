"""distsuite: batched correctness and performance checks for torch.distributions.

`from suite import Family, parametrize_with_checks` checks a distribution of your own with the suite's checks;
the names load torch when first used, so `suite.report` stays importable without it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {"Family": "suite.registry.family", "Known": "suite.registry.known", "Severity": "suite.registry.known",
           "parametrize_with_checks": "suite.conformance", "CHECKS": "suite.conformance"}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'suite' has no attribute {name!r}")

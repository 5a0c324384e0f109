"""The benchmark plugin's child pytest processes, run in this process instead (for the pytester tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


def in_process_children(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                        outcomes: dict[str, str] | None = None) -> list[list[str]]:
    """Run each child pytest process in this process instead (pytest reads the @FILE of node ids itself);
    `outcomes` maps a node id's test name to the ChildRun outcome a watcher would have given it."""
    from suite.bench import children, isolation

    ran = []

    def run(argv, *, rss_limit_bytes, timeout_s, cwd=None, env=None):
        args = list(argv[3:])  # [python, -m, pytest, ...]
        ids = Path(args[0][1:]).read_text().split()
        ran.append(ids)
        for name, outcome in (outcomes or {}).items():
            if any(i.endswith(name) for i in ids):
                return isolation.ChildRun(outcome, None, 2**31, timeout_s, "")
        result = pytester.runpytest_inprocess(*args)
        return isolation.ChildRun(isolation.FINISHED, int(result.ret), None, 0.0, str(result.stdout))

    monkeypatch.setattr(children, "run_child", run)
    return ran

"""Drawn shapes: hypothesis picks the batch shape, the sample shape and the Independent/expand steps.

Derandomised (the same examples every run) and small, so the default run stays fast and reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.checks import shape_plans as P
from suite.checks import shapes as S
from suite.registry.families import FAMILIES
from suite.state import derive_seed, preserved_state

MAX_EXAMPLES = 6

# hypothesis is imported when a case runs, not at collection: as a pytest plugin's distribution, every one of
# its modules imported after start-up would be assertion-rewritten, which costs about a second per collection.


def plans():
    """(batch_shape, view, sample_shape): Independent over a drawn k, an expand to a drawn target
    (new leading dimensions, size-1 dimensions widened), in either order, or neither."""
    from hypothesis import strategies as st

    sizes = st.integers(min_value=1, max_value=3)

    @st.composite
    def plan(draw) -> tuple[P.Shape, P.View, P.Shape]:
        batch = tuple(draw(st.lists(sizes, max_size=3)))
        sample = tuple(draw(st.lists(sizes, max_size=2)))

        def target(shape):
            prefix = tuple(draw(st.lists(sizes, max_size=2)))
            return prefix + tuple(draw(sizes) if size == 1 else size for size in shape)

        order = draw(st.sampled_from(["plain", "independent", "expand", "expand-independent", "independent-expand"]))
        steps: list = []
        if order == "independent":
            steps = [P.Reinterpret(draw(st.integers(0, len(batch))))]
        elif order == "expand":
            steps = [P.Expand(target(batch))]
        elif order == "expand-independent":
            expanded = target(batch)
            steps = [P.Expand(expanded), P.Reinterpret(draw(st.integers(0, len(expanded))))]
        elif order == "independent-expand":
            k = draw(st.integers(0, len(batch)))
            steps = [P.Reinterpret(k), P.Expand(target(batch[: len(batch) - k]))]
        return batch, P.View(tuple(steps)), sample

    return plan()


def check_plan(family, plan, device) -> None:
    """One drawn plan in shape (float32 and float64) and in value (float64 against the reference)."""
    batch, view, sample = plan
    seed = derive_seed("drawn", family.name, plan)
    with preserved_state(seed):
        for dtype in (torch.float32, torch.float64):
            result = S.check_shapes(family, batch, dtype, device, np.random.default_rng(seed),
                                    plan=[view], sample_shapes=(sample,))
            assert result.passed, result.summary()
        result = S.check_values(family, batch, device, np.random.default_rng(seed), plan=[view])
        assert result.passed, result.summary()


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_drawn_shapes(family, device):
    from hypothesis import given, settings

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None)
    @given(plan=plans())
    def drawn(plan):
        check_plan(family, plan, device)

    drawn()

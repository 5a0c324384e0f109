"""Command-line options, device/dtype fan-out and per-case seeds for the distsuite cases."""

from __future__ import annotations

import gc
import importlib

import numpy as np
import pytest
import torch

from suite.registry.families import DEVICES, DTYPES
from suite.registry.known import DEVIATIONS_MEASURED_ON, DEVIATIONS_STRICT
from suite.state import derive_seed, preserved_state

pytest_plugins = ["suite.bench.plugin", "suite.collection_imports", "pytester"]

DEVICE_CHOICES = (*DEVICES, "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("distsuite")
    group.addoption(
        "--device",
        default="all",
        help="cpu, cuda, or all (default: all; CUDA cases skip with a reason when no GPU is present)",
    )
    group.addoption("--dtype", default="all", help="float64, float32, or all (default: all)")
    group.addoption("--seed", default=0, type=int, help="run seed; each case derives its own from it and its id")
    group.addoption("--family", default=None, metavar="NAMES",
                    help="only the cases of these families (exact names, comma-separated; e.g. Normal,Gamma)")


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session):
    """What exists by now (torch, scipy, the registry) and the collected cases live as long as the run:
    gc.freeze takes them out of the cyclic collector's generations, which would rescan them on every full
    collection; and collecting creates no garbage worth a collection, so the collector waits until it ends
    (together a third of collection time)."""
    gc.freeze()
    gc.disable()
    yield
    gc.enable()
    gc.freeze()


def pytest_configure(config: pytest.Config) -> None:
    families = config.getoption("--family")
    if families:
        from suite.registry.families import REGISTRY
        unknown = sorted(set(families.split(",")) - set(REGISTRY))
        if unknown:
            raise pytest.UsageError(f"--family: unknown {', '.join(unknown)}; "
                                    f"choose from {', '.join(sorted(REGISTRY))}")
    device = config.getoption("--device")
    if device not in DEVICE_CHOICES:
        raise pytest.UsageError(f"--device must be one of {', '.join(DEVICE_CHOICES)}; got {device!r}")
    dtype = config.getoption("--dtype")
    if dtype not in (*DTYPES, "all"):
        raise pytest.UsageError(f"--dtype must be one of {', '.join(DTYPES)}, all; got {dtype!r}")


def _cuda_skip_reason() -> str | None:
    if torch.cuda.is_available():
        return None
    built = torch.version.cuda or "none (CPU-only build)"
    return f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, CUDA build: {built})"


def device_params(config: pytest.Config) -> list:
    choice = config.getoption("--device")
    names = list(DEVICES) if choice == "all" else [choice]
    reason = _cuda_skip_reason()
    params = []
    for name in names:
        marks = [pytest.mark.cuda] if name == "cuda" else []
        if name == "cuda" and reason:
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def dtype_params(config: pytest.Config) -> list:
    choice = config.getoption("--dtype")
    names = list(DTYPES) if choice == "all" else [choice]
    return [pytest.param(DTYPES[name], id=name) for name in names]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", device_params(metafunc.config))
    if "dtype" in metafunc.fixturenames:
        metafunc.parametrize("dtype", dtype_params(metafunc.config))


def case_identity(item: pytest.Item) -> str:
    """The case's id with its file named by file name alone, so moving a file between folders of `cases/`
    keeps its draw."""
    path, _, rest = item.nodeid.partition("::")
    return f"cases/{path.rsplit('/', 1)[-1]}::{rest}"


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """This case's seed: a function of its own id and --seed only (order- and xdist-independent)."""
    return derive_seed(case_identity(request.node), request.config.getoption("--seed"))


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def _seeded_torch(request: pytest.FixtureRequest):
    """Seed torch per case inside a forked RNG, so no case sees another's random numbers."""
    case_seed = derive_seed(case_identity(request.node), request.config.getoption("--seed"))
    with preserved_state(case_seed):
        yield


@pytest.fixture(scope="session")
def _dynamo_imported() -> None:
    """pytester restores sys.modules after each in-process run, and torch._dynamo cannot be imported a second
    time in a process (torch._inductor registers its operator libraries once): import it before any run."""
    importlib.import_module("torch._dynamo")


@pytest.fixture
def pytester(_dynamo_imported: None, pytester: pytest.Pytester) -> pytest.Pytester:
    return pytester


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`slow` cases run only when selected with -m (e.g. `pytest -m slow`). Known deviations are strict
    xfails only on the torch release they were measured on; on another release torch may have fixed or
    changed them, so there they are expected failures that may pass."""
    select_families(config, items)
    if not DEVIATIONS_STRICT:
        for item in items:
            for mark in list(item.iter_markers("xfail")):
                if mark.kwargs.get("strict"):
                    reason = f"(measured on torch {DEVIATIONS_MEASURED_ON}) {mark.kwargs.get('reason', '')}"
                    item.add_marker(pytest.mark.xfail(*mark.args, reason=reason, strict=False), append=False)
    if "slow" in (config.getoption("-m") or ""):
        return
    skip_slow = pytest.mark.skip(reason="slow tier: run with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)



def case_family(item: pytest.Item) -> str | None:
    """The name of the family a case is about, from its `family` or `name` parameter."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    value = params.get("family", params.get("name"))
    return getattr(value, "name", value) if isinstance(getattr(value, "name", value), str) else None


def select_families(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--family: keep only the cases of the named families (exact names, unlike -k's substrings)."""
    names = config.getoption("--family")
    if not names:
        return
    wanted = set(names.split(","))
    kept = [item for item in items if case_family(item) in wanted]
    config.hook.pytest_deselected(items=[item for item in items if case_family(item) not in wanted])
    items[:] = kept

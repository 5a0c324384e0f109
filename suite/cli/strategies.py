"""`python -m suite strategies`: the verdict table, family x strategy x transform x loss.

Exit status 0 when every row is what the suite expects (the correct strategies pass, `retain_graph` does
not, known torch findings aside), 1 when a row is unexpected, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

from suite.cli import command_prog, fail
from suite.registry.families import FAMILIES, Family
from suite.report.strategies import format_table, is_known, known_failures, to_markdown, unexpected
from suite.state import preserved_state

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2
DEVICE_CHOICES = ("cpu", "cuda")


def verdict_rows(families: list[Family], device="cpu", steps: int = 5, seed: int = 0,
                 progress=None) -> list[dict]:
    """One row per (family, transform, loss, strategy): trajectory verdict, and for loss=mle the fit's
    error against scipy's MLE; a row per family that cannot be fitted says why. `progress(i, n, family,
    seconds)` is called after each family."""
    import torch

    from suite.training import compare_strategies, fit_spec
    from suite.training.fitting import compare_mle

    rows = []
    for i, family in enumerate(families, start=1):
        started = time.perf_counter()
        spec = fit_spec(family)
        if not spec.trainable:
            rows.append({"family": family.name, "verdict": "not fittable",
                         "cause": "; ".join(f"{k}: {v}" for k, v in spec.held.items())})
        else:
            for transform in spec.transform_kinds():
                for loss in ("mle", "kl") if spec.has_rsample else ("mle",):
                    with warnings.catch_warnings(), preserved_state(seed):
                        warnings.simplefilter("ignore", UserWarning)
                        verdicts = compare_strategies(spec, device, torch.float64, transform=transform,
                                                      loss=loss, steps=steps, seed=seed)
                    for v in verdicts:
                        row = asdict(v)
                        if loss == "mle":
                            with warnings.catch_warnings(), preserved_state(seed):
                                warnings.simplefilter("ignore", UserWarning)
                                fit = compare_mle(family, v.strategy, transform, device, spec=spec, seed=seed)
                            row.update(mle_route=fit.route, mle_ok=fit.ok, mle_param_error=fit.param_error,
                                       mle_loglik_gap=fit.scipy_loglik - fit.torch_loglik, mle_error=fit.error,
                                       mle_params=fit.torch_params)
                        rows.append(row)
        if progress is not None:
            progress(i, len(families), family.name, time.perf_counter() - started)
    return rows


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=command_prog("strategies"), description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="write the table with its summary to FILE (reports/STRATEGIES.md is written this way)")
    p.add_argument("--family", action="append", metavar="NAME",
                   help="only this family (repeatable; `python -m suite families` lists them)")
    p.add_argument("--device", default="cpu", help=f"one of {', '.join(DEVICE_CHOICES)} (default cpu)")
    p.add_argument("--steps", type=_positive_int, default=5, help="training steps per row (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial values and data (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _families(names: list[str] | None, prog: str) -> list[Family] | str:
    if not names:
        return list(FAMILIES)
    known = {f.name: f for f in FAMILIES}
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            return f"unknown family {name!r}{hint} Choose from: {', '.join(known)}"
    return [f for f in FAMILIES if f.name in names]


def _device_error(device: str) -> str | None:
    if device not in DEVICE_CHOICES:
        return f"unknown device {device!r}; choose from {', '.join(DEVICE_CHOICES)}"
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            return (f"--device cuda: no CUDA device (torch {torch.__version__}, CUDA build: "
                    f"{torch.version.cuda or 'none'})")
    return None


def _progress(i: int, n: int, family: str, seconds: float) -> None:
    print(f"[{i}/{n}] {family} ({seconds:.1f} s)", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    families = _families(args.family, p.prog)
    if isinstance(families, str):
        return fail(p.prog, families, EXIT_USAGE)
    device_error = _device_error(args.device)
    if device_error:
        return fail(p.prog, device_error, EXIT_USAGE)
    rows = verdict_rows(families, args.device, args.steps, args.seed, progress=None if args.quiet else _progress)
    if args.markdown is not None:
        import torch
        try:
            args.markdown.write_text(to_markdown(rows, torch.__version__, args.steps, args.seed), encoding="utf-8")
        except OSError as exc:
            return fail(p.prog, f"cannot write {args.markdown}: {exc.strerror or exc}", EXIT_USAGE)
    print(json.dumps(rows, indent=1, default=str) if args.json else format_table(rows))
    known = [r for r in rows if is_known(r) and r.get("verdict") not in (None, "pass")]
    if known:
        print(f"{len(known)} rows are known torch findings, not failures: "
              + "; ".join(f"{f} {loss}" for f, loss in known_failures()), file=sys.stderr)
    wrong = unexpected(rows)
    for r in wrong:
        print(f"unexpected: {r['family']} {r['transform']} {r['loss']} {r['strategy']}: {r['verdict']} "
              f"{r.get('cause', '')}".rstrip(), file=sys.stderr)
    return EXIT_UNEXPECTED if wrong else EXIT_OK

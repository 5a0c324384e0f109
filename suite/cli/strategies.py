"""`python -m suite strategies [--json]`: the verdict table, family x strategy x transform x loss."""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import asdict

import torch

from suite.registry.families import FAMILIES, Family
from suite.state import preserved_state
from suite.training.fitting import compare_mle
from suite.training.strategies import STRATEGY_CLASSES, compare_strategies, fit_spec


def verdict_rows(families: list[Family], device="cpu", steps: int = 5, seed: int = 0) -> list[dict]:
    """One row per (family, transform, loss, strategy): trajectory verdict, and for loss=mle the fit's
    error against scipy's MLE; a row per family that cannot be fitted says why."""
    rows = []
    for family in families:
        spec = fit_spec(family)
        if not spec.trainable:
            rows.append({"family": family.name, "verdict": "not fittable",
                         "cause": "; ".join(f"{k}: {v}" for k, v in spec.held.items())})
            continue
        for transform in spec.transform_kinds():
            for loss in ("mle", "kl") if spec.has_rsample else ("mle",):
                with warnings.catch_warnings(), preserved_state(seed):
                    warnings.simplefilter("ignore", UserWarning)
                    verdicts = compare_strategies(spec, device, torch.float64, transform=transform, loss=loss,
                                                  steps=steps, seed=seed)
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
    return rows


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.2g}"
    if isinstance(value, dict):
        return " ".join(f"{k}={[round(x, 3) for x in v][:3]}" for k, v in value.items())
    return "" if value is None else str(value)


def format_table(rows: list[dict]) -> str:
    header = ("family", "transform", "loss", "strategy", "verdict", "steps", "final", "mle_err", "cause")
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for r in rows:
        if r["verdict"] == "not fittable":
            lines.append(" | ".join([r["family"], "", "", "", "not fittable", "", "", "", r["cause"]]))
            continue
        mle = "" if r["loss"] != "mle" else (r["mle_error"] and "error") or (
            f"{r['mle_param_error']:.1e}" + ("" if r["mle_ok"] else " FAIL"))
        lines.append(" | ".join([r["family"], r["transform"], r["loss"], r["strategy"], r["verdict"],
                                 str(r["steps"]), _fmt(r["final"]), mle, r["cause"][:70]]))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite strategies", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    families = [f for f in FAMILIES if not args.family or f.name in args.family]
    rows = verdict_rows(families, args.device, args.steps)
    print(json.dumps(rows, indent=1, default=str) if args.json else format_table(rows))
    wrong = [r for r in rows if r.get("strategy") not in (None, "retain_graph")
             and (r["verdict"] != "pass" or r.get("mle_ok") is False)]
    retained_pass = [r for r in rows if r.get("strategy") == "retain_graph" and r["verdict"] == "pass"
                     and r.get("mle_ok") is False]
    return 1 if wrong or retained_pass else 0


STRATEGIES = tuple(STRATEGY_CLASSES)

"""Corpus ranking with rBridge on the axes of Patel's setting (b): decision accuracy against
compute, one Pareto front for rBridge, Patel's proxies and direct evaluation.

The recipes at the largest size of the main family are ranked by their final mean accuracy;
every checkpoint of every smaller size ranks them by its rBridge score (lower is better), at
the compute of training the small models up to that checkpoint plus scoring the traces, as a
fraction of the target runs' training compute (the frontier's traces are made once, for every
comparison, and their cost is reported apart). Patel's rows come from its own
:func:`~lmforecast.experiments.patel.data_selection`, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.experiments.patel import PatelConfig, data_selection
from lmforecast.experiments.patel.population import accuracy_columns, family_base_models
from lmforecast.experiments.rbridge.bridging import sizes_by_params
from lmforecast.experiments.rbridge.config import LABELS, TRACE_SIGNALS, RBridgeConfig
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.agreement import agreement, rank_agreement
from lmforecast.forecast.cost import pareto_front

DIRECT_PREFIX = "direct"


def _rbridge_points(
    manifest: pd.DataFrame, trace_rows: pd.DataFrame, families: Sequence[str], family: str
) -> pd.DataFrame:
    main = family_base_models(manifest, family)
    sizes = sizes_by_params(manifest, family)
    large = sizes[-1]
    targets = main[(main["size"] == large) & main["final"]].set_index("recipe")
    recipes = sorted(targets.index)
    truth = targets.loc[recipes, accuracy_columns(families)].mean(axis=1).to_numpy(float)
    target_flops = float(targets.loc[recipes, "flops"].sum())
    means = trace_rows.groupby("model_id")[list(TRACE_SIGNALS)].agg(lambda x: x.mean())
    flops = trace_rows.groupby("model_id")["trace_flops"].sum()
    rows = []
    for size in sizes[:-1]:
        for step, ckpt in main[main["size"] == size].groupby("step"):
            ckpt = ckpt.set_index("recipe")
            if not set(recipes) <= set(ckpt.index):
                continue
            ckpt = ckpt.loc[recipes]
            ids = ckpt["model_id"]
            compute = float(ckpt["flops"].sum()) + float(flops.loc[ids].sum())
            for name in TRACE_SIGNALS:
                agree = rank_agreement(-means.loc[ids, name].to_numpy(float), truth)
                rows.append(
                    {
                        "signal": LABELS[name],
                        "size": size,
                        "step": int(step),
                        "tokens": int(ckpt["tokens"].iloc[0]),
                        "compute_fraction": compute / target_flops,
                        "decision_accuracy": agree.decision_accuracy,
                        "spearman": agree.spearman,
                    }
                )
    return pd.DataFrame(rows)


def _bootstrap_final(
    manifest: pd.DataFrame,
    trace_rows: pd.DataFrame,
    families: Sequence[str],
    config: RBridgeConfig,
) -> dict[str, Any]:
    """rBridge's decision accuracy on the final smallest checkpoints, resampling recipes and
    traces (the traces are one draw of the problems one might reason about)."""
    main = family_base_models(manifest, config.main_family)
    sizes = sizes_by_params(manifest, config.main_family)
    small = main[(main["size"] == sizes[0]) & main["final"]].set_index("recipe")
    targets = main[(main["size"] == sizes[-1]) & main["final"]].set_index("recipe")
    recipes = sorted(set(targets.index) & set(small.index))
    by_key = trace_rows.set_index(["model_id", "task"])
    out: dict[str, Any] = {}
    for k, name in enumerate(TRACE_SIGNALS):
        signal = np.stack(
            [
                -np.concatenate(
                    [
                        by_key.loc[(small.loc[r, "model_id"], f), "trace_values"][:, k]
                        for f in families
                    ]
                )
                for r in recipes
            ]
        )
        acc = targets.loc[recipes, accuracy_columns(families)].mean(axis=1).to_numpy(float)
        truth = np.repeat(acc[:, None], signal.shape[1], axis=1)
        a = agreement(signal, truth, n_boot=config.n_boot, seed=config.seed, resample="both")
        out[LABELS[name]] = {
            "decision_accuracy": a.decision_accuracy,
            "ci": list(a.decision_accuracy_ci),
            "spearman": a.spearman,
            "spearman_ci": list(a.spearman_ci),
            "resampling": a.resampling,
            "at": f"{sizes[0]} final",
        }
    return out


def corpus_ranking(
    manifest: pd.DataFrame,
    trace_rows: pd.DataFrame,
    patel_rows: pd.DataFrame,
    families: Sequence[str],
    config: RBridgeConfig,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Decision accuracy vs compute of rBridge, Patel's proxies and direct evaluation, with the
    summary against the target: match direct evaluation's best at <= 1/100 of its compute."""
    patel_config = PatelConfig(
        preset=config.preset, seed=config.seed, main_family=config.main_family, n_boot=config.n_boot
    )
    patel_table, patel_summary = data_selection(manifest, patel_rows, families, patel_config)
    ours = _rbridge_points(manifest, trace_rows, families, config.main_family)
    table = pd.concat([patel_table, ours], ignore_index=True)
    if table.empty:
        raise InsufficientData("no checkpoint of a smaller size covers every recipe")
    direct = table[table["signal"].str.startswith(DIRECT_PREFIX)]
    best = direct.loc[direct["decision_accuracy"].idxmax()]
    summary: dict[str, Any] = {
        "large_size": patel_summary.get("large_size"),
        "recipes": patel_summary.get("recipes"),
        "direct_best_decision_accuracy": float(best["decision_accuracy"]),
        "direct_best_compute_fraction": float(best["compute_fraction"]),
        "direct_best_at": f"{best['size']} step {best['step']}",
    }
    for label, rows in (("rbridge", ours), ("any_proxy", table[~table.index.isin(direct.index)])):
        reach = rows[rows["decision_accuracy"] >= best["decision_accuracy"]]
        if reach.empty:
            top = rows.loc[rows["decision_accuracy"].idxmax()] if not rows.empty else None
            summary[f"{label}_match"] = None
            if top is not None:
                summary[f"{label}_best"] = {
                    "signal": str(top["signal"]),
                    "at": f"{top['size']} step {top['step']}",
                    "decision_accuracy": float(top["decision_accuracy"]),
                    "compute_fraction": float(top["compute_fraction"]),
                }
            continue
        cheapest = reach.loc[reach["compute_fraction"].idxmin()]
        summary[f"{label}_match"] = {
            "signal": str(cheapest["signal"]),
            "at": f"{cheapest['size']} step {cheapest['step']}",
            "decision_accuracy": float(cheapest["decision_accuracy"]),
            "compute_fraction": float(cheapest["compute_fraction"]),
            "compute_ratio": float(best["compute_fraction"] / cheapest["compute_fraction"]),
        }
    finite = table[np.isfinite(table["decision_accuracy"])]
    labels = finite["signal"] + " (" + finite["size"] + " @" + finite["step"].astype(str) + ")"
    summary["pareto"] = [
        {"compute_fraction": c, "decision_accuracy": a, "point": n}
        for c, a, n in pareto_front(
            zip(finite["compute_fraction"], finite["decision_accuracy"], labels, strict=True)
        )
    ]
    summary["bootstrap"] = _bootstrap_final(manifest, trace_rows, families, config)
    return table, summary

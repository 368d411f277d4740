"""Setting (b), pretraining-data selection: rank the corpus recipes of the largest size of the
main family from every smaller size's checkpoints, against the compute each signal spends.

Every checkpoint of every smaller size is one point of a decision-accuracy-vs-compute curve (as
in DataDecide); compute is the training compute of the small models up to that checkpoint plus
the cost of the signal (scoring for proxies, generation + grading for direct evaluation), as a
fraction of the target models' training compute. The summary compares the best decision
accuracy direct evaluation reaches with the cheapest proxy point that matches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.config import MC_COLUMN, MC_SIGNAL, NAMED_PROXIES, PatelConfig
from lmforecast.experiments.patel.population import accuracy_columns, family_base_models
from lmforecast.experiments.patel.scoring import reported_means
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.agreement import agreement, rank_agreement
from lmforecast.forecast.cost import pareto_front
from lmforecast.signals.base import orientation

DIRECT = "direct evaluation (small-model accuracy)"


def data_selection(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Setting (b): decision accuracy of every signal at every smaller checkpoint, summarised."""
    main = family_base_models(manifest, config.main_family)
    by_size = main.groupby("size")["params"].first().sort_values()
    if len(by_size) < 2:
        raise InsufficientData(f"family {config.main_family!r} has fewer than two sizes")
    large = str(by_size.index[-1])
    targets = main[(main["size"] == large) & main["final"]].set_index("recipe")
    recipes = sorted(targets.index)
    table = _decision_points(main, proxies, families, by_size, targets, recipes)
    small = str(by_size.index[0])
    summary: dict[str, Any] = {
        "small_size": small,
        "small_sizes": [str(x) for x in by_size.index[:-1]],
        "large_size": large,
        "recipes": len(recipes),
        "pairs": len(recipes) * (len(recipes) - 1) // 2,
    }
    if table.empty:
        return table, summary
    direct = table[table["signal"].str.startswith("direct")]
    proxy_rows = table[table["signal"].str.startswith("proxy")]
    summary.update(_best_direct_match(direct, proxy_rows))
    summary["by_size"] = _per_size(direct, proxy_rows)
    summary["pareto"] = _pareto(table)
    # Two-way bootstrap intervals (recipes and expert solutions) at the final small checkpoint.
    summary["bootstrap"] = _bootstrap_final(manifest, proxies, families, config, small, large)
    return table, summary


def _decision_points(
    main: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    by_size: pd.Series,
    targets: pd.DataFrame,
    recipes: list[str],
) -> pd.DataFrame:
    """One row per (signal, smaller size, checkpoint): decision accuracy and compute share."""
    acc_cols = accuracy_columns(families)
    truth = targets.loc[recipes, acc_cols].mean(axis=1).to_numpy(float)
    means = reported_means(proxies)
    target_flops = float(targets.loc[recipes, "flops"].sum())
    rows = []
    for size in map(str, by_size.index[:-1]):
        for step, ckpt in main[main["size"] == size].groupby("step"):
            ckpt = ckpt.set_index("recipe")
            if not set(recipes) <= set(ckpt.index):
                continue
            ckpt = ckpt.loc[recipes]
            train_flops = float(ckpt["flops"].sum())
            chosen = proxies[proxies["model_id"].isin(ckpt["model_id"])]
            # scoring the expert solutions: what every token-level proxy costs
            score_flops = float(chosen["score_flops"].sum())
            eval_flops = float(ckpt["eval_flops"].sum())
            direct = ckpt[acc_cols].mean(axis=1).to_numpy(float)
            mc_values = means.loc[ckpt["model_id"], MC_COLUMN].to_numpy(float)
            signals: dict[str, tuple[np.ndarray, float]] = {
                DIRECT: (direct, train_flops + eval_flops),
                "generic-text cross-entropy": (-ckpt["generic_bpb"].to_numpy(float), train_flops),
                MC_SIGNAL: (mc_values, train_flops + float(chosen["mc_flops"].sum())),
            }
            for name in NAMED_PROXIES:
                values = means.loc[ckpt["model_id"], name].to_numpy(float) * orientation(name)
                signals[f"proxy {name}"] = (values, train_flops + score_flops)
            for name, (values, flops) in signals.items():
                agree = rank_agreement(values, truth)
                rows.append(
                    {
                        "signal": name,
                        "size": size,
                        "step": int(step),
                        "tokens": int(ckpt["tokens"].iloc[0]),
                        "compute_fraction": flops / target_flops,
                        "decision_accuracy": agree.decision_accuracy,
                        "spearman": agree.spearman,
                    }
                )
    return pd.DataFrame(rows)


def _cheapest_match(best: pd.Series, proxy_rows: pd.DataFrame) -> pd.Series | None:
    """The cheapest proxy point at least as accurate as the direct-evaluation point ``best``."""
    reach = proxy_rows[proxy_rows["decision_accuracy"] >= best["decision_accuracy"]]
    return None if reach.empty else reach.loc[reach["compute_fraction"].idxmin()]


def _at(row: pd.Series) -> str:
    return f"{row['size']} step {row['step']}"


def _best_direct_match(direct: pd.DataFrame, proxy_rows: pd.DataFrame) -> dict[str, Any]:
    """Direct evaluation's best point (any smaller size) and the cheapest proxy matching it."""
    best = direct.loc[direct["decision_accuracy"].idxmax()]
    out: dict[str, Any] = {
        "direct_best_decision_accuracy": float(best["decision_accuracy"]),
        "direct_best_compute_fraction": float(best["compute_fraction"]),
        "direct_best_at": _at(best),
    }
    cheapest = _cheapest_match(best, proxy_rows)
    if cheapest is None:
        out["proxy_matching_compute_fraction"] = None
        out["compute_ratio"] = None
        return out
    out["proxy_matching_signal"] = str(cheapest["signal"])
    out["proxy_matching_at"] = _at(cheapest)
    out["proxy_matching_compute_fraction"] = float(cheapest["compute_fraction"])
    out["compute_ratio"] = float(best["compute_fraction"] / cheapest["compute_fraction"])
    return out


def _per_size(direct: pd.DataFrame, proxy_rows: pd.DataFrame) -> dict[str, Any]:
    """Per small size: the best direct evaluation *of that size* and the cheapest proxy point
    (any size, any checkpoint) at least as accurate."""
    per_size: dict[str, Any] = {}
    for size, group in direct.groupby("size", sort=False):
        best = group.loc[group["decision_accuracy"].idxmax()]
        entry: dict[str, Any] = {
            "direct_decision_accuracy": float(best["decision_accuracy"]),
            "direct_compute_fraction": float(best["compute_fraction"]),
            "direct_at": _at(best),
        }
        cheapest = _cheapest_match(best, proxy_rows)
        if cheapest is not None:
            entry.update(
                proxy_signal=str(cheapest["signal"]),
                proxy_at=_at(cheapest),
                proxy_decision_accuracy=float(cheapest["decision_accuracy"]),
                proxy_compute_fraction=float(cheapest["compute_fraction"]),
                compute_ratio=float(best["compute_fraction"] / cheapest["compute_fraction"]),
            )
        per_size[str(size)] = entry
    return per_size


def _pareto(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The undominated (compute, decision accuracy) points of every signal and checkpoint."""
    finite_rows = table[np.isfinite(table["decision_accuracy"])]
    labels = (
        finite_rows["signal"]
        + " ("
        + finite_rows["size"]
        + " @"
        + finite_rows["step"].astype(str)
        + ")"
    )
    points = zip(
        finite_rows["compute_fraction"], finite_rows["decision_accuracy"], labels, strict=True
    )
    return [
        {"compute_fraction": c, "decision_accuracy": a, "point": n}
        for c, a, n in pareto_front(points)
    ]


def _bootstrap_final(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
    small: str,
    large: str,
) -> dict[str, Any]:
    """Decision accuracy of the final small models' proxies, resampling recipes and solutions.

    The recipes are one draw of the recipes one might compare, so they are resampled (each
    drawn recipe brings its small model's signal and its large models' accuracy together), and
    the expert solutions are resampled jointly across the drawn small models. Truth (the large
    models' accuracy) is otherwise held fixed: its example noise is a property of the target,
    not of the proxy.
    """
    main = family_base_models(manifest, config.main_family)
    finals_small = main[(main["size"] == small) & main["final"]].set_index("recipe")
    targets = main[(main["size"] == large) & main["final"]].set_index("recipe")
    recipes = sorted(set(targets.index) & set(finals_small.index))
    by_key = proxies.set_index(["model_id", "task"])
    out: dict[str, Any] = {}
    for k, name in enumerate(NAMED_PROXIES):
        signal_rows = []
        for recipe in recipes:
            model = finals_small.loc[recipe, "model_id"]
            parts = [by_key.loc[(model, f), "instances"][:, k] for f in families]
            signal_rows.append(np.concatenate(parts) * orientation(name))
        signal = np.stack(signal_rows)
        truth_rows = np.stack(
            [
                np.full(signal.shape[1], targets.loc[r, accuracy_columns(families)].mean())
                for r in recipes
            ]
        )
        # Rows (recipes) are drawn jointly in signal and truth; truth's columns are constant, so
        # drawing example columns moves the signal only.
        a = agreement(signal, truth_rows, n_boot=config.n_boot, seed=config.seed, resample="both")
        out[name] = {
            "decision_accuracy": a.decision_accuracy,
            "ci": list(a.decision_accuracy_ci),
            "spearman": a.spearman,
            "spearman_ci": list(a.spearman_ci),
            "resampling": a.resampling,
        }
    return out

"""Signal -> accuracy maps over the final base models, and the cost of proxies vs direct
evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lmforecast.experiments.patel.config import (
    MC_COLUMN,
    MC_SIGNAL,
    NAMED_PROXIES,
    REGRESSION_METHODS,
)
from lmforecast.experiments.patel.population import (
    accuracy_columns,
    base_models,
    final_base_models,
)
from lmforecast.experiments.patel.scoring import reported_means
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.regression import evaluate_regression


def accuracy_regression(
    manifest: pd.DataFrame, proxies: pd.DataFrame, families: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Signal -> accuracy maps over the final base models, held out two ways.

    Leave-one-out says how well a fitted map predicts a new model of a family it has seen;
    leave-one-family-out, a model of an unseen family (the cross-family question). Signals: the
    named proxies and the generic-text baseline, each averaged over tasks like the accuracy.
    """
    finals = final_base_models(manifest)
    acc = finals[accuracy_columns(families)].mean(axis=1).to_numpy(float)
    means = reported_means(proxies)
    signals = {
        **{f"proxy {n}": means.loc[finals["model_id"], n].to_numpy(float) for n in NAMED_PROXIES},
        "generic-text cross-entropy": finals["generic_bpb"].to_numpy(float),
        MC_SIGNAL: means.loc[finals["model_id"], MC_COLUMN].to_numpy(float),
    }
    rows: list[dict[str, Any]] = []
    failed: dict[tuple[str, str], str] = {}  # (method, scheme) -> first error: one note each
    for name, x in signals.items():
        for method in REGRESSION_METHODS:
            for scheme, groups in (
                ("leave-one-out", None),
                ("leave-one-family-out", finals["family"]),
            ):
                try:
                    ev = evaluate_regression(x, acc, method, groups=groups)
                except InsufficientData as e:
                    failed.setdefault((method, scheme), f"{name}: {e}")
                    continue
                rows.append(
                    {
                        "signal": name,
                        "method": method,
                        "scheme": scheme,
                        "r2": ev.r2,
                        "mae": ev.mae,
                        "interval_low": ev.interval[0],
                        "interval_high": ev.interval[1],
                        "coverage": ev.coverage,
                        "models": len(x),
                    }
                )
    notes = [f"regression {m} / {sch} not computable ({why})" for (m, sch), why in failed.items()]
    return pd.DataFrame(rows), notes


def cost_table(manifest: pd.DataFrame, proxies: pd.DataFrame) -> pd.DataFrame:
    """Per base model: FLOPs and seconds of the proxies vs direct evaluation (generation)."""
    base = base_models(manifest).set_index("model_id")
    per_model = proxies.groupby("model_id")[["score_flops", "score_seconds"]].sum()
    joined = per_model.join(base[["eval_flops", "flops", "final"]])
    return pd.DataFrame(
        {
            "models": [len(joined)],
            "proxy_flops": [float(joined["score_flops"].sum())],
            "proxy_seconds": [float(joined["score_seconds"].sum())],
            "direct_eval_flops": [float(joined["eval_flops"].sum())],
            "flops_ratio_direct_over_proxy": [
                float(joined["eval_flops"].sum() / max(joined["score_flops"].sum(), 1.0))
            ],
            "training_flops": [float(joined["flops"].sum())],
        }
    )

"""The bridge: the smallest size's rBridge score -> the largest size's accuracy, per task.

Proxy and target checkpoints of one recipe are paired at equal trained tokens (every size of
a family trains on the same token schedule), so each recipe contributes one point per
checkpoint; the SFT target pairs each recipe's final proxy checkpoint with the largest size's
SFT model (one point per recipe, the paper's hardest row). Each signal gets the paper's
protocol (:func:`lmforecast.forecast.bridge.evaluate_bridge`): fixed forms, best train R^2,
seeded 5-fold CV (mean train R^2, test MAE), and prediction intervals whose held-out coverage
is reported beside their nominal level.

Compared on the same points: plain NLL on the same traces (the paper's ablation) and the best
of Patel's token-level proxies on the expert solutions, chosen by its train R^2 on all points
of the task-mean row (an in-sample choice that favours it: said in the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.population import accuracy_columns, family_base_models
from lmforecast.experiments.rbridge.config import LABELS, TRACE_SIGNALS, RBridgeConfig
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.bridge import evaluate_bridge, fit_bridge, pair_at_equal_tokens

MEAN = "mean"
TARGETS = ("base", "sft")


def sizes_by_params(manifest: pd.DataFrame, family: str) -> list[str]:
    """The family's sizes, smallest first."""
    main = family_base_models(manifest, family)
    return [str(s) for s in main.groupby("size")["params"].first().sort_values().index]


def _values(scores: pd.DataFrame, column: str, tasks: Sequence[str]) -> pd.Series:
    """A signal per model: its value on one task, or the mean over tasks (``MEAN``)."""
    chosen = scores[scores["task"].isin(tasks)]
    return chosen.groupby("model_id")[column].agg(lambda x: x.mean())


def bridge_points(
    manifest: pd.DataFrame,
    values: pd.Series,
    acc_cols: Sequence[str],
    small: str,
    large: str,
    target: str,
    family: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(proxy scores, target accuracies) over recipes, paired at equal tokens (``base``) or
    final proxy -> target SFT model (``sft``)."""
    main = manifest[manifest["family"] == family]
    xs: list[float] = []
    ys: list[float] = []
    for recipe in sorted(main["recipe"].unique()):
        proxy = main[(main["size"] == small) & (main["recipe"] == recipe)]
        proxy = proxy[(proxy["stage"] == "base") & proxy["model_id"].isin(values.index)]
        tgt = main[(main["size"] == large) & (main["recipe"] == recipe)]
        if proxy.empty or tgt.empty:
            continue
        if target == "base":
            tgt = tgt[tgt["stage"] == "base"]
            x_by = {float(r.tokens): float(values[r.model_id]) for r in proxy.itertuples()}
            acc = tgt[list(acc_cols)].mean(axis=1)
            y_by = dict(zip(tgt["tokens"].astype(float), acc, strict=True))
            try:
                _, x, y = pair_at_equal_tokens(x_by, y_by)
            except InsufficientData:
                continue
            xs.extend(x)
            ys.extend(y)
        else:
            sft = tgt[tgt["stage"] == target]
            final = proxy[proxy["final"]]
            if sft.empty or final.empty:
                continue
            xs.append(float(values[final["model_id"].iloc[0]]))
            ys.append(float(sft[list(acc_cols)].mean(axis=1).iloc[0]))
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def best_patel_proxy(
    manifest: pd.DataFrame,
    patel_rows: pd.DataFrame,
    names: Sequence[str],
    families: Sequence[str],
    small: str,
    large: str,
    family: str,
) -> tuple[str, float]:
    """Patel's proxy with the best bridge train R^2 on the task-mean base points (in-sample)."""
    best, best_r2 = "", -np.inf
    for name in names:
        x, y = bridge_points(
            manifest,
            _values(patel_rows, name, families),
            accuracy_columns(families),
            small,
            large,
            "base",
            family,
        )
        if x.size < 3 or not np.all(np.isfinite(x)) or np.ptp(x) == 0:
            continue
        try:
            r2 = fit_bridge(x, y).chosen.train_r2
        except InsufficientData:
            continue
        if r2 > best_r2:
            best, best_r2 = name, r2
    if not best:
        raise InsufficientData("no Patel proxy could be bridged")
    return best, float(best_r2)


def bridge_table(
    manifest: pd.DataFrame,
    trace_rows: pd.DataFrame,
    patel_rows: pd.DataFrame,
    patel_names: Sequence[str],
    families: Sequence[str],
    config: RBridgeConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """One row per (target, task or mean, signal): the chosen form, mean train R^2, test MAE,
    the interval's coverage beside its level; every point's held-out forecast with its
    interval (for plots); and notes for rows that could not be fitted. The ``Patel best``
    row's proxy was chosen on all points (in-sample, favouring it)."""
    sizes = sizes_by_params(manifest, config.main_family)
    if len(sizes) < 2:
        raise InsufficientData(f"family {config.main_family!r} has fewer than two sizes")
    small, large = sizes[0], sizes[-1]
    best, _ = best_patel_proxy(
        manifest, patel_rows, patel_names, families, small, large, config.main_family
    )
    signals: list[tuple[str, str, pd.DataFrame]] = [
        (LABELS[n], n, trace_rows) for n in TRACE_SIGNALS
    ]
    signals.append((f"Patel best: {best}", best, patel_rows))
    rows: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    notes: list[str] = []
    for target in TARGETS:
        for task in [*families, MEAN]:
            tasks = list(families) if task == MEAN else [task]
            for label, column, source in signals:
                x, y = bridge_points(
                    manifest,
                    _values(source, column, tasks),
                    accuracy_columns(tasks),
                    small,
                    large,
                    target,
                    config.main_family,
                )
                row: dict[str, Any] = {
                    "target": f"{large} {target}",
                    "task": task,
                    "signal": label,
                    "points": int(x.size),
                }
                try:
                    ev = evaluate_bridge(
                        x, y, k=config.folds, seed=config.seed, level=config.level, clip=(0, 1)
                    )
                except InsufficientData as e:
                    notes.append(f"bridge {small} -> {large} {target}, {task}, {label}: {e}")
                    continue
                row.update(
                    form=ev.form,
                    train_r2=ev.train_r2,
                    test_mae=ev.test_mae,
                    coverage=ev.coverage,
                    level=ev.level,
                    half_width=ev.half_width,
                    proxy=small,
                )
                rows.append(row)
                points.extend(
                    {"target": row["target"], "task": task, "signal": label, "x": float(xi),
                     "truth": t, "prediction": p, "low": lo, "high": hi}
                    for xi, t, p, lo, hi in zip(
                        x, ev.truth, ev.predictions, ev.lows, ev.highs, strict=True
                    )
                )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(points), notes

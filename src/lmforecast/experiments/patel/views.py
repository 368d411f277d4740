"""The tables a report draws for Patel's settings, beside the summary tables.

The summaries say how good a signal is; a reader also wants to see why: each model's truth next
to its proxies, the fitted signal -> accuracy map with its prediction interval, and each run's
trajectory with the window the extrapolation saw and where its forecast landed. These tables
hold exactly what is drawn, so the report never fits anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.config import NAMED_PROXIES
from lmforecast.experiments.patel.population import (
    accuracy_column,
    accuracy_columns,
    base_models,
    family_base_models,
    final_base_models,
)
from lmforecast.experiments.patel.scoring import reported_means
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.extrapolation import fit_power_law, fit_window
from lmforecast.forecast.regression import evaluate_regression, fit_regression

MEAN = "mean"
MODEL_COLUMNS = ("model_id", "family", "size", "recipe", "run_id", "step", "tokens", "final")
GRID_POINTS = 40


def truth_table(manifest: pd.DataFrame, families: Sequence[str]) -> pd.DataFrame:
    """Every base checkpoint's accuracy per task and over tasks, with who it is (for hover)."""
    base = base_models(manifest)
    rows = []
    for task in [*families, MEAN]:
        cols = accuracy_columns(families) if task == MEAN else [accuracy_column(task)]
        part = base[list(MODEL_COLUMNS)].copy()
        part["task"] = task
        part["accuracy"] = base[cols].mean(axis=1).to_numpy(float)
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def signal_maps(
    manifest: pd.DataFrame, proxies: pd.DataFrame, families: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Linear signal -> accuracy maps over the final base models, per task and named proxy, on
    a grid spanning the observed signal, with the leave-one-out 90% prediction interval."""
    finals = final_base_models(manifest)
    ids = list(finals["model_id"])
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for task in [*families, MEAN]:
        if task == MEAN:
            x_table = reported_means(proxies)
            y = finals[accuracy_columns(families)].mean(axis=1).to_numpy(float)
        else:
            x_table = proxies[proxies["task"] == task].set_index("model_id")
            y = finals[accuracy_column(task)].to_numpy(float)
        for name in NAMED_PROXIES:
            x = x_table.loc[ids, name].to_numpy(float)
            try:
                fit = fit_regression(x, y, "linear")
                ev = evaluate_regression(x, y, "linear")
            except (InsufficientData, ValueError) as e:
                notes.append(f"map {name} -> {task} accuracy not drawn: {e}")
                continue
            grid = np.linspace(np.nanmin(x), np.nanmax(x), GRID_POINTS)
            pred = fit.predict(grid)
            rows.extend(
                {"task": task, "signal": name, "x": float(g), "prediction": float(p),
                 "low": float(p + ev.interval[0]), "high": float(p + ev.interval[1]),
                 "level": ev.level, "r2": ev.r2, "models": len(ids)}
                for g, p in zip(grid, pred, strict=True)
            )  # fmt: skip
    return pd.DataFrame(rows), notes


def trajectories(
    manifest: pd.DataFrame, families: Sequence[str], main_family: str, fraction: float
) -> pd.DataFrame:
    """Each main-family run's checkpoints: truth (accuracy over tasks), whether it lay in the
    fitted window, and the compute power law fitted on that window, evaluated at every step."""
    rows: list[pd.DataFrame] = []
    for run_id, run in family_base_models(manifest, main_family).groupby("run_id"):
        run = run.sort_values("step")
        t = run["tokens"].to_numpy(float)
        acc = run[accuracy_columns(families)].mean(axis=1).to_numpy(float)
        part = run[list(MODEL_COLUMNS)].copy()
        part["run_id"] = str(run_id)
        part["truth"] = acc
        try:
            mask, _ = fit_window(t, fraction)
            curve = np.clip(fit_power_law(t[mask], acc[mask]).predict(t), 0.0, 1.0)
        except (InsufficientData, ValueError):
            mask, curve = np.zeros(len(t), dtype=bool), np.full(len(t), np.nan)
        part["fitted"] = mask
        part["power_law"] = curve
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

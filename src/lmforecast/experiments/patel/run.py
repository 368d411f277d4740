"""Patel et al.'s three settings on a population, end to end.

1. Score every base checkpoint on each task's held-out expert solutions (one stored, resumable
   pass per model and task) and compute every token-level signal per (model, task).
2. (a) cross-family model selection, (b) pretraining-data selection, (c) training-time
   forecasting, a signal -> accuracy regression, the cost table, and every registered signal
   ranked against accuracy.

A setting that the population cannot support (too few sizes, a truth that does not vary) is
reported as a note; any other error is a bug and surfaces.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import pandas as pd

from lmforecast.experiments.patel.config import PatelConfig, Progress
from lmforecast.experiments.patel.data_selection import data_selection
from lmforecast.experiments.patel.extrapolation import extrapolation
from lmforecast.experiments.patel.population import load_population, problem_tasks
from lmforecast.experiments.patel.regression import accuracy_regression, cost_table
from lmforecast.experiments.patel.result import PatelResult
from lmforecast.experiments.patel.scoring import score_population
from lmforecast.experiments.patel.selection import (
    model_selection,
    selection_bootstrap,
    signal_table,
)
from lmforecast.experiments.patel.views import signal_maps, trajectories, truth_table
from lmforecast.experiments.settings import Settings
from lmforecast.store import Store


def run_patel(
    config: PatelConfig, store: Store | None = None, progress: Progress | None = None
) -> PatelResult:
    """All three settings on an already built testbed population."""
    manifest = load_population(config.preset, config.seed)
    store = store or Store()
    families = problem_tasks(manifest)
    start = time.perf_counter()
    proxies = score_population(manifest, config, store, progress)
    notes = [
        f"scored {proxies['model_id'].nunique()} checkpoints in {time.perf_counter() - start:.0f} s"
        + (f" in {config.dtype}" if config.approximate else "")
    ]

    setting = Settings(progress, notes)

    selection = setting(
        "setting (a): model selection",
        lambda: model_selection(manifest, proxies, families),
        pd.DataFrame(),
    )
    selection_ci = setting(
        "setting (a), two-way bootstrap",
        lambda: selection_bootstrap(manifest, proxies, families, config),
        pd.DataFrame(),
    )
    empty_summary: dict[str, Any] = {}
    data_table, data_summary = setting(
        "setting (b): data selection",
        lambda: data_selection(manifest, proxies, families, config),
        (pd.DataFrame(), empty_summary),
    )
    no_notes: list[str] = []
    extra, run_forecasts, extra_notes = setting(
        "setting (c): extrapolation",
        lambda: extrapolation(manifest, proxies, families, config),
        (pd.DataFrame(), pd.DataFrame(), no_notes),
    )
    fraction = float(extra["fit_fraction"].iloc[0]) if not extra.empty else config.fit_fraction
    maps, map_notes = setting(
        "signal -> accuracy maps (for plots)",
        lambda: signal_maps(manifest, proxies, families),
        (pd.DataFrame(), no_notes),
    )
    regression, regression_notes = setting(
        "signal -> accuracy regression",
        lambda: accuracy_regression(manifest, proxies, families),
        (pd.DataFrame(), no_notes),
    )
    signals = setting(
        "every signal vs accuracy",
        lambda: signal_table(manifest, proxies, families),
        pd.DataFrame(),
    )
    return PatelResult(
        proxies=proxies.drop(columns=["instances", "doc_ids"]),
        selection=selection,
        selection_bootstrap=selection_ci,
        data_selection=data_table,
        data_selection_summary=data_summary,
        extrapolation=extra,
        regression=regression,
        cost=cost_table(manifest, proxies),
        signals=signals,
        notes=notes + extra_notes + regression_notes + map_notes,
        config=asdict(config),
        truth=truth_table(manifest, families),
        maps=maps,
        trajectories=trajectories(manifest, families, config.main_family, fraction),
        run_forecasts=run_forecasts,
    )

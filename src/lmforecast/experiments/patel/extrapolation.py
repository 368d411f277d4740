"""Setting (c), training-time forecasting: fit on the first part of each run, predict its end.

Proxies, the compute power law and the two-step ladder (compute -> expert cross-entropy ->
accuracy) are compared by their error on the final accuracy of every main-family run; each
run's forecast is kept beside the summary, for the report's trajectory plot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.config import NAMED_PROXIES, PatelConfig
from lmforecast.experiments.patel.population import accuracy_columns, family_base_models
from lmforecast.experiments.patel.scoring import reported_means
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.extrapolation import TrainingRun, evaluate_extrapolation


def extrapolation(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Setting (c): fit on the first ``fit_fraction`` of each main-family run, predict the end.

    Returns the errors per method, every run's forecast against its truth, and notes."""
    main = family_base_models(manifest, config.main_family)
    acc_cols = accuracy_columns(families)
    notes: list[str] = []
    fraction = config.fit_fraction
    means = reported_means(proxies)
    runs_by_proxy: dict[str, list[TrainingRun]] = {n: [] for n in NAMED_PROXIES}
    ladder_runs: list[TrainingRun] = []
    for run_id, run in main.groupby("run_id"):
        run = run.sort_values("step")
        models = list(run["model_id"])
        t = run["tokens"].to_numpy(float)
        acc = run[acc_cols].mean(axis=1).to_numpy(float)
        for name in NAMED_PROXIES:
            values = means.loc[models, name].to_numpy(float)
            runs_by_proxy[name].append(TrainingRun(str(run_id), t, values, acc))
        xent = means.loc[models, "xent@uniform"].to_numpy(float)
        ladder_runs.append(TrainingRun(str(run_id), run["flops"].to_numpy(float), xent, acc))
    if not ladder_runs:
        return pd.DataFrame(), pd.DataFrame(), ["no runs of the main family"]
    window = min(int(np.sum(r.t <= r.t.max() * fraction)) for r in ladder_runs)
    if window < 3:
        # Find the smallest fraction with 3 checkpoints in every run, and say so.
        ratios = sorted({float(x) for r in ladder_runs for x in r.t / r.t.max()})
        candidates = [
            x for x in ratios if min(int(np.sum(r.t <= r.t.max() * x)) for r in ladder_runs) >= 3
        ]
        fraction = candidates[0] if candidates else 1.0
        notes.append(
            f"fewer than 3 checkpoints inside 1/{round(1 / config.fit_fraction)} of the run: "
            f"fitted on the first {fraction:.3f} instead"
        )
    rows = []
    forecasts: list[dict[str, object]] = []

    def add(method: str, signal: str, runs: list[TrainingRun]) -> None:
        try:
            res = evaluate_extrapolation(runs, method, fraction, calibrate_on_other_runs=True)
        except InsufficientData as e:
            notes.append(f"{method} with {signal}: {e}")
            return
        rows.append(
            {
                "method": method,
                "signal": signal,
                "fit_fraction": fraction,
                "runs": len(runs),
                "mae": res.mae,
                "rmse": res.rmse,
            }
        )
        forecasts.extend(
            {"method": method, "signal": signal, "run_id": f.name, "predicted": f.predicted,
             "actual": f.actual, "error": f.predicted - f.actual}
            for f in res.predictions
        )  # fmt: skip

    for name in NAMED_PROXIES:
        add("proxy", name, runs_by_proxy[name])
    add("compute_power_law", "accuracy vs tokens", runs_by_proxy[NAMED_PROXIES[0]])
    add("two_step_ladder", "compute -> expert xent -> accuracy", ladder_runs)
    return pd.DataFrame(rows), pd.DataFrame(forecasts), notes

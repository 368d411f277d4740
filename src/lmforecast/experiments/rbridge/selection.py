"""Setting (a) with rBridge: cross-family model selection, one table with Patel's scorers.

The final base models of every family are ranked by each signal, leave-two-tasks-out, exactly
as Patel's setting (a) ranks them (:func:`lmforecast.experiments.patel.selection.
model_selection`); rBridge and its plain-NLL ablation are two more single-feature scorers (lower
is better), so the rows compare like for like. The Patel paper reports rBridge at 0.33 there
against its proxies' 0.81.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.population import accuracy_column, final_base_models
from lmforecast.experiments.patel.selection import model_selection
from lmforecast.experiments.rbridge.config import LABELS, TRACE_SIGNALS
from lmforecast.forecast.selection import leave_two_tasks_out, single_feature_scorer


def selection_with_rbridge(
    manifest: pd.DataFrame,
    trace_rows: pd.DataFrame,
    patel_rows: pd.DataFrame,
    families: Sequence[str],
) -> pd.DataFrame:
    """Patel's setting (a) table with rBridge's rows (kind ``rBridge``) added."""
    patel = model_selection(manifest, patel_rows, families)
    finals = final_base_models(manifest)
    models = list(finals["model_id"])
    idx = trace_rows.set_index(["task", "model_id"])
    X = np.stack(
        [
            np.stack([idx.loc[(f, m), list(TRACE_SIGNALS)].to_numpy(float) for m in models])
            for f in families
        ]
    )
    Y = np.stack([finals[accuracy_column(f)].to_numpy(float) for f in families])
    results = leave_two_tasks_out(
        X,
        Y,
        {LABELS[n]: single_feature_scorer(k, sign=-1.0) for k, n in enumerate(TRACE_SIGNALS)},
    )
    rows = [
        {
            "kind": "rBridge",
            "scorer": name,
            "spearman": r.mean_spearman,
            "ci_low": r.ci[0],
            "ci_high": r.ci[1],
            "folds": len(r.fold_spearman),
            "models": len(models),
        }
        for name, r in results.items()
    ]
    return pd.concat([pd.DataFrame(rows), patel], ignore_index=True)

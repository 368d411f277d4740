"""Agreement of signal tables with truth tables: the arithmetic of ``lmforecast forecast``.

Both tables are long: one row per (model, task); ``signals`` has one numeric column per
signal, ``truth`` a ``value`` column (an accuracy). Each signal is ranked against the truth
across models, per task, with a leave-one-out linear fit where there are enough models.
"""

from __future__ import annotations

import pandas as pd

from lmforecast.forecast.agreement import rank_agreement
from lmforecast.forecast.regression import evaluate_regression


def signal_columns(signals: pd.DataFrame) -> list[str]:
    """The numeric columns of a signal table other than its keys."""
    return [
        c
        for c in signals.columns
        if c not in ("model", "task") and pd.api.types.is_numeric_dtype(signals[c])
    ]


def agreement_table(signals: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, signal): Spearman, Kendall, decision accuracy, leave-one-out fit."""
    joined = signals.merge(truth[["model", "task", "value"]], on=["model", "task"])
    rows = []
    for task, group in joined.groupby("task"):
        for col in signal_columns(signals):
            if group[col].nunique() < 2 or group["value"].nunique() < 2:
                continue
            agree = rank_agreement(group[col], group["value"])
            reg = (
                evaluate_regression(
                    group[col].to_numpy(float), group["value"].to_numpy(float), "linear"
                )
                if len(group) >= 4
                else None
            )
            rows.append(
                {
                    "task": task,
                    "signal": col,
                    "models": len(group),
                    "spearman": agree.spearman,
                    "kendall": agree.kendall,
                    "decision_accuracy": agree.decision_accuracy,
                    "loo_mae": reg.mae if reg else float("nan"),
                    "loo_r2": reg.r2 if reg else float("nan"),
                }
            )
    return pd.DataFrame(rows)

"""Setting (a), cross-family model selection: which final base model is best?

The learned scorers (best single proxy, 3-sparse combination, RankSVMs) and the baselines are
evaluated leave-two-tasks-out; single signals get two-way bootstrap intervals (models and
examples); and every registered signal is ranked against accuracy in one table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lmforecast.experiments.patel.config import MC_COLUMN, MC_SIGNAL, NAMED_PROXIES, PatelConfig
from lmforecast.experiments.patel.population import (
    accuracy_column,
    accuracy_columns,
    example_truth,
    final_base_models,
)
from lmforecast.experiments.patel.scoring import task_means, token_signals
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.agreement import Resample, agreement, rank_agreement
from lmforecast.forecast.selection import leave_two_tasks_out, single_feature_scorer
from lmforecast.signals.base import get_signal, orientation
from lmforecast.signals.proxies import proxy_names


def _feature_tensor(
    proxies: pd.DataFrame, models: Sequence[str], families: Sequence[str], columns: Sequence[str]
) -> np.ndarray:
    idx = proxies.set_index(["task", "model_id"])
    return np.stack(
        [
            np.stack([idx.loc[(f, m), list(columns)].to_numpy(float) for m in models])
            for f in families
        ]
    )


def model_selection(
    manifest: pd.DataFrame, proxies: pd.DataFrame, families: Sequence[str]
) -> pd.DataFrame:
    """Setting (a): final base models of every family, leave-two-tasks-out Spearman."""
    finals = final_base_models(manifest)
    models = list(finals["model_id"])
    X = _feature_tensor(proxies, models, families, proxy_names())
    Y = np.stack([finals[accuracy_column(f)].to_numpy(float) for f in families])
    learned = leave_two_tasks_out(X, Y)
    # Baselines: one feature each, same protocol (a feature constant across tasks is fine).
    generic = finals["generic_bpb"].to_numpy(float)
    compute = np.log(finals["flops"].to_numpy(float))
    xent = X[:, :, proxy_names().index("xent@uniform")]
    mc = _feature_tensor(proxies, models, families, [MC_COLUMN])[:, :, 0]
    B = np.stack(
        [np.stack([generic, compute, xent[k], mc[k]], axis=1) for k in range(len(families))]
    )
    baselines = leave_two_tasks_out(
        B,
        Y,
        {
            "generic-text cross-entropy (bits/byte)": single_feature_scorer(0, sign=-1.0),
            "training compute": single_feature_scorer(1, sign=1.0),
            "expert-solution cross-entropy": single_feature_scorer(2, sign=-1.0),
            MC_SIGNAL: single_feature_scorer(3, sign=1.0),
        },
    )
    rows = []
    for kind, results in (("proxy scorer", learned), ("baseline", baselines)):
        for name, r in results.items():
            rows.append(
                {
                    "kind": kind,
                    "scorer": name,
                    "spearman": r.mean_spearman,
                    "ci_low": r.ci[0],
                    "ci_high": r.ci[1],
                    "folds": len(r.fold_spearman),
                    "models": len(models),
                }
            )
    return pd.DataFrame(rows)


def selection_bootstrap(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
    resample: Resample = "both",
) -> pd.DataFrame:
    """Setting (a) for single signals, with intervals that resample models *and* examples.

    Each named proxy (and the generic-text baseline) is correlated with accuracy across the
    final base models; truth is each model's greedy correctness on the same scored problems, so
    the point estimate uses those ``docs_per_task`` problems per task, not all of them. The
    expert solutions are resampled jointly in signal and truth, and so are the models: they are
    one draw of the population (another seed trains others), and intervals that resampled
    examples only did not cover a rebuilt population's estimates (issue 17). ``resample``
    chooses (``"examples"`` gives the old intervals, for comparison); the ``resampling`` column
    says which was used.
    """
    finals = final_base_models(manifest)
    by_key = proxies.set_index(["model_id", "task"])
    truth = np.stack(
        [
            example_truth(
                str(rec.model_id),
                str(rec.path),
                {f: by_key.loc[(rec.model_id, f), "doc_ids"] for f in families},
                families,
            )
            for rec in finals.itertuples(index=False)
        ]
    )
    signals: dict[str, np.ndarray] = {}
    for k, name in enumerate(NAMED_PROXIES):
        signals[f"proxy {name}"] = orientation(name) * np.stack(
            [
                np.concatenate([by_key.loc[(m, f), "instances"][:, k] for f in families])
                for m in finals["model_id"]
            ]
        )
    generic = -finals["generic_bpb"].to_numpy(float)
    signals["generic-text cross-entropy"] = np.repeat(generic[:, None], truth.shape[1], axis=1)
    rows = []
    for name, matrix in signals.items():
        a = agreement(matrix, truth, n_boot=config.n_boot, seed=config.seed, resample=resample)
        rows.append(
            {
                "signal": name,
                "spearman": a.spearman,
                "ci_low": a.spearman_ci[0],
                "ci_high": a.spearman_ci[1],
                "decision_accuracy": a.decision_accuracy,
                "models": a.n_models,
                "examples": a.n_examples,
                "resampling": a.resampling,
            }
        )
    return pd.DataFrame(rows)


def signal_table(
    manifest: pd.DataFrame, proxies: pd.DataFrame, families: Sequence[str]
) -> pd.DataFrame:
    """Every registered token-level signal against accuracy across the final base models.

    Each signal is averaged over tasks (like the accuracy), oriented, and ranked against the
    models' mean accuracy: Spearman, Kendall and decision accuracy, best first. A signal added
    to the registry appears here without any other change.
    """
    finals = final_base_models(manifest)
    truth = finals[accuracy_columns(families)].mean(axis=1).to_numpy(float)
    names = [s.name for s in token_signals() if s.name in proxies.columns]
    means = task_means(proxies, names)
    rows = []
    for name in names:
        sig = get_signal(name)
        values = means.loc[finals["model_id"], name].to_numpy(float) * sig.sign
        try:
            agree = rank_agreement(values, truth)
        except InsufficientData:
            continue
        rows.append(
            {
                "signal": name,
                "family": sig.family,
                "higher_is_better": sig.higher_is_better,
                "spearman": agree.spearman,
                "kendall": agree.kendall,
                "decision_accuracy": agree.decision_accuracy,
                "models": len(values),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        raise InsufficientData("no signal could be ranked against accuracy")
    return table.sort_values("spearman", ascending=False, kind="stable").reset_index(drop=True)

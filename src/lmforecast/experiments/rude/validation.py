"""RuDE's validation: does the base models' RuDE score forecast their accuracy after
post-training (SFT and RL, each), better than what a user would try instead?

Baselines, one value per final base model: its greedy accuracy, multiple-choice accuracy (rc),
expert-solution cross-entropy, training compute, and the Patel proxy that correlates best with
post-trained accuracy (chosen in-sample, which favours it: said in its name). Pearson and
Spearman with intervals that resample the models; the same per 4C category and difficulty; the
*upsets* (a smaller model with the higher RuDE score that ends up better after post-training)
with what each baseline said about them; and, where the population has them, the format
recipes whose base accuracy hides their potential.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from lmforecast.experiments.patel.config import MC_COLUMN
from lmforecast.experiments.patel.population import accuracy_columns, final_base_models
from lmforecast.experiments.rude.config import FORMAT_RECIPES, RUDE, TARGETS
from lmforecast.forecast import InsufficientData
from lmforecast.forecast.correlation import correlate
from lmforecast.signals.base import orientation

BASE_ACC = "base greedy accuracy"
MC = "multiple-choice accuracy (rc)"
XENT = "expert-solution cross-entropy"
COMPUTE = "training compute"


def post_trained_accuracy(manifest: pd.DataFrame, families: Sequence[str]) -> pd.DataFrame:
    """Per final base model (index), the mean task accuracy of its SFT and RL models."""
    cols = accuracy_columns(families)
    post = manifest[manifest["stage"].isin(TARGETS)]
    acc = post.assign(acc=post[cols].mean(axis=1))
    return acc.pivot_table(index="base_model", columns="stage", values="acc", aggfunc="first")


def signal_frame(
    finals: pd.DataFrame,
    rude_rows: pd.DataFrame,
    patel_rows: pd.DataFrame,
    post: pd.DataFrame,
    families: Sequence[str],
    token_names: Sequence[str],
) -> tuple[pd.DataFrame, str]:
    """One row per final base model, one column per signal (oriented: higher is better), and
    the name of the in-sample best Patel proxy."""
    ids = list(finals["model_id"])
    overall = rude_rows[rude_rows["group"] == "all"].groupby("model_id")["accuracy"].mean()
    means = patel_rows.groupby("model_id")[[*token_names, MC_COLUMN]].agg(lambda x: x.mean())
    frame = pd.DataFrame(index=ids)
    frame[RUDE] = overall.reindex(ids).to_numpy()
    frame[BASE_ACC] = finals.set_index("model_id")[accuracy_columns(families)].mean(axis=1)
    frame[MC] = means.reindex(ids)[MC_COLUMN].to_numpy()
    frame[XENT] = -means.reindex(ids)["xent@uniform"].to_numpy()
    frame[COMPUTE] = np.log(finals.set_index("model_id")["flops"].astype(float))
    target = post.reindex(ids)["sft"].to_numpy(float)
    best, best_rho = "", -np.inf
    for name in token_names:
        values = orientation(name) * means.reindex(ids)[name].to_numpy(float)
        if np.ptp(values) == 0 or not np.all(np.isfinite(values)):
            continue
        rho = float(scipy.stats.spearmanr(values, target).statistic)
        if np.isfinite(rho) and rho > best_rho:
            best, best_rho = name, rho
    if best:
        frame[f"Patel best: {best} (in-sample)"] = orientation(best) * means.reindex(ids)[best]
    return frame, best


def correlations(frame: pd.DataFrame, post: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Pearson and Spearman of every signal column with each post-trained accuracy."""
    rows = []
    for target in TARGETS:
        if target not in post:
            continue
        truth = post.reindex(frame.index)[target].to_numpy(float)
        for name in frame.columns:
            try:
                c = correlate(frame[name].to_numpy(float), truth, n_boot=n_boot, seed=seed)
            except InsufficientData:
                continue
            rows.append(
                {
                    "target": target,
                    "signal": name,
                    "pearson": c.pearson,
                    "pearson_ci": list(c.pearson_ci),
                    "spearman": c.spearman,
                    "spearman_ci": list(c.spearman_ci),
                    "models": c.n,
                }
            )
    if not rows:
        raise InsufficientData("fewer than 3 base models with post-trained accuracy")
    return pd.DataFrame(rows)


def breakdown_correlations(
    rude_rows: pd.DataFrame, post: pd.DataFrame, models: Sequence[str], n_boot: int, seed: int
) -> pd.DataFrame:
    """Per 4C category and difficulty: mean RuDE accuracy and its correlation with each
    post-trained accuracy (the category scores are means over domains)."""
    wanted = rude_rows[rude_rows["group"].str.match(r"(category|difficulty)=")]
    scores = wanted.groupby(["group", "model_id"])["accuracy"].mean().unstack("model_id")
    rows = []
    for group, values in scores.iterrows():
        x = values.reindex(models).to_numpy(float)
        row: dict[str, Any] = {"group": group, "mean_accuracy": float(np.nanmean(x))}
        for target in TARGETS:
            if target not in post:
                continue
            try:
                c = correlate(x, post.reindex(models)[target].to_numpy(float), n_boot=n_boot,
                              seed=seed)  # fmt: skip
            except InsufficientData:
                continue
            row[f"pearson_{target}"] = c.pearson
            row[f"spearman_{target}"] = c.spearman
        rows.append(row)
    return pd.DataFrame(rows)


def upsets(frame: pd.DataFrame, finals: pd.DataFrame, post: pd.DataFrame) -> pd.DataFrame:
    """Pairs of base models where the smaller has the higher RuDE score and the better RL
    accuracy; each baseline column says whether it, too, put the smaller model first."""
    params = finals.set_index("model_id")["params"]
    target = post.reindex(frame.index)["rl" if "rl" in post else "sft"]
    rows = []
    for a, b in combinations(frame.index, 2):
        small, large = (a, b) if params[a] < params[b] else (b, a)
        if params[small] == params[large]:
            continue
        if frame.loc[small, RUDE] > frame.loc[large, RUDE] and target[small] > target[large]:
            row: dict[str, Any] = {"smaller": small, "larger": large}
            row["post_trained_gap"] = float(target[small] - target[large])
            for name in frame.columns:
                if name != RUDE:
                    row[name] = bool(frame.loc[small, name] > frame.loc[large, name])
            rows.append(row)
    return pd.DataFrame(rows)


def format_recipes(frame: pd.DataFrame, finals: pd.DataFrame, post: pd.DataFrame) -> pd.DataFrame:
    """On the format recipes' models: Spearman of RuDE and of base accuracy with post-trained
    accuracy (does RuDE see what base accuracy hides?)."""
    recipe = finals.set_index("model_id")["recipe"]
    ids = [m for m in frame.index if recipe[m] in FORMAT_RECIPES]
    if len(ids) < 3:
        raise InsufficientData(f"fewer than 3 models of the recipes {', '.join(FORMAT_RECIPES)}")
    rows = []
    for target in TARGETS:
        truth = post.reindex(ids)[target].to_numpy(float)
        for name in (RUDE, BASE_ACC):
            x = frame.loc[ids, name].to_numpy(float)
            rho = (
                scipy.stats.spearmanr(x, truth).statistic if np.ptp(x) and np.ptp(truth) else np.nan
            )
            rows.append(
                {"target": target, "signal": name, "spearman": float(rho), "models": len(ids)}
            )
    return pd.DataFrame(rows)


def validate(
    manifest: pd.DataFrame,
    rude_rows: pd.DataFrame,
    patel_rows: pd.DataFrame,
    families: Sequence[str],
    token_names: Sequence[str],
    n_boot: int,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Every validation table (see the module docstring); raises ``InsufficientData`` when
    the population has too few base models."""
    finals = final_base_models(manifest)
    post = post_trained_accuracy(manifest, families)
    frame, _ = signal_frame(finals, rude_rows, patel_rows, post, families, token_names)
    tables = {
        "signals": frame.reset_index(names="model_id"),
        "correlations": correlations(frame, post, n_boot, seed),
        "breakdown": breakdown_correlations(rude_rows, post, list(frame.index), n_boot, seed),
        "upsets": upsets(frame, finals, post),
    }
    try:
        tables["format_recipes"] = format_recipes(frame, finals, post)
    except InsufficientData:
        tables["format_recipes"] = pd.DataFrame()
    return tables

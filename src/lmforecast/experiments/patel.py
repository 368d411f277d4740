"""The three settings of Patel et al. on a testbed population, end to end.

1. Score every base checkpoint of the population on each testbed task's held-out expert
   solutions (one stored, resumable pass per model and task) and compute the 80 token-level
   proxies (10 statistics x 8 weightings) per (model, task).
2. (a) Cross-family model selection: rank the final base models of all families with each scorer
   (best single proxy, 3-sparse combination, linear and RBF RankSVM) under leave-two-tasks-out,
   beside baselines (generic-text cross-entropy, expert-solution cross-entropy, compute).
   (b) Pretraining-data selection: rank the corpus recipes of the largest size of the main family
   from proxies (and from direct evaluation) of the smallest size's checkpoints; decision
   accuracy against the compute spent, as a fraction of the target models' training compute.
   (c) Training-time forecasting: fit on the first 1/18 of each run, extrapolate final accuracy,
   against the compute power law and the two-step ladder.
The maths lives in :mod:`lmforecast.forecast`; this module only gathers tables and calls it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.engine import ScoreConfig
from lmforecast.forecast.agreement import agreement, rank_agreement
from lmforecast.forecast.cost import pareto_front
from lmforecast.forecast.extrapolation import TrainingRun, evaluate_extrapolation
from lmforecast.forecast.regression import evaluate_regression
from lmforecast.forecast.selection import leave_two_tasks_out, single_feature_scorer
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.signals.proxies import (
    count_target_tokens,
    instance_proxies,
    proxy_names,
    proxy_sign,
    task_proxies,
)
from lmforecast.store import Store
from lmforecast.tasks import get_task
from lmforecast.truth.run import mc_truth

Progress = Callable[[str], None]

# The proxies reported by name in settings (b) and (c) besides the learned scorers:
# the paper's best data-selection proxy, the plain expert-solution cross-entropy and top-1 hits.
NAMED_PROXIES = ("top5@freq", "xent@uniform", "top1@uniform", "recip_rank@uniform")
MC_COLUMN = "mc_acc"  # multiple-choice (rc) accuracy on the same problems: a baseline
MC_SIGNAL = "multiple-choice accuracy (rc)"


@dataclass(frozen=True)
class PatelConfig:
    """What the experiment reads and how much of it."""

    preset: str = "full"
    seed: int = 0
    docs_per_task: int = 100  # held-out expert solutions scored per task and checkpoint
    last_n_tokens: int = 1000
    fit_fraction: float = 1.0 / 18.0
    main_family: str = "llama"
    batch_size: int = 64
    n_boot: int = 500
    workers: int = 1  # processes scoring models in parallel


@dataclass
class PatelResult:
    """Everything the three settings produced (tables for the terminal and for reports)."""

    proxies: pd.DataFrame  # one row per (model_id, task): 80 proxies + scoring cost
    selection: pd.DataFrame  # setting (a)
    selection_bootstrap: pd.DataFrame  # setting (a), single signals, example-bootstrap CIs
    data_selection: pd.DataFrame  # setting (b): decision accuracy vs compute
    data_selection_summary: dict[str, Any]
    extrapolation: pd.DataFrame  # setting (c)
    regression: pd.DataFrame  # signal -> accuracy maps, held out (loo and by family)
    cost: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def problem_tasks(manifest: pd.DataFrame) -> list[str]:
    """Testbed task families present in the manifest (``acc_<family>`` columns)."""
    return [c.removeprefix("acc_") for c in manifest.columns if c.startswith("acc_")]


def task_name(family: str) -> str:
    return f"testbed-{family}:gold"


def choice_task_name(family: str) -> str:
    return f"testbed-{family}:rc"


def score_population(
    manifest: pd.DataFrame,
    config: PatelConfig,
    store: Store,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """80 proxies per (base checkpoint, task), plus per-instance proxies kept for the bootstrap.

    Scores come from the store when present (keyed by model and request fingerprints). With
    ``config.workers > 1`` models are scored in that many processes (one thread each: the
    testbed's models are far too small to use several threads well), each writing its own
    store entries.
    """
    families = problem_tasks(manifest)
    base = manifest[manifest["stage"] == "base"]
    jobs = [(str(r.model_id), str(r.path)) for r in base.itertuples(index=False)]
    rows: list[dict[str, Any]] = []
    if config.workers <= 1:
        for i, (model_id, path) in enumerate(jobs):
            if progress is not None:
                progress(f"scoring {model_id} ({i + 1}/{len(jobs)})")
            rows.extend(score_model(model_id, path, families, config, store.root))
        return pd.DataFrame(rows)
    ctx = get_context("spawn")
    with ProcessPoolExecutor(config.workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {
            pool.submit(score_model, model_id, path, families, config, store.root): model_id
            for model_id, path in jobs
        }
        for i, fut in enumerate(as_completed(futures)):
            rows.extend(fut.result())
            if progress is not None:
                progress(f"scored {futures[fut]} ({i + 1}/{len(jobs)})")
    order = {model_id: k for k, (model_id, _) in enumerate(jobs)}
    rows.sort(key=lambda r: (order[r["model_id"]], families.index(r["task"])))
    return pd.DataFrame(rows)


def _init_worker() -> None:
    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def score_model(
    model_id: str,
    path: str,
    families: Sequence[str],
    config: PatelConfig,
    store_root: Path,
) -> list[dict[str, Any]]:
    """One model's rows of :func:`score_population` (a top-level function: workers pickle it)."""
    store = Store(store_root)
    model = load_model(path)
    names = proxy_names()
    rows: list[dict[str, Any]] = []
    for fam in families:
        task = get_task(task_name(fam), config.docs_per_task)
        result = scored.score_task(model, task, ScoreConfig(batch_size=config.batch_size), store)
        records = scored.token_records(result.table, model.vocab_size)
        counts = count_target_tokens(records, last_n_tokens=config.last_n_tokens)
        values = task_proxies(records, counts, last_n_tokens=config.last_n_tokens)
        per_instance = np.array(
            [
                [values_r[n] for n in NAMED_PROXIES]
                for values_r in (
                    instance_proxies(r, counts, last_n_tokens=config.last_n_tokens) for r in records
                )
            ]
        )
        # The multiple-choice baseline: the same problems, answer picked by log-likelihood.
        # Without prefix sharing: a 4-request group per ~30-token prompt would make one work
        # unit (and one stored shard) per problem, 4x slower here than recomputing.
        choice_task = get_task(choice_task_name(fam), config.docs_per_task)
        choices = scored.score_task(
            model,
            choice_task,
            ScoreConfig(batch_size=config.batch_size, prefix_sharing=False),
            store,
        )
        mc = mc_truth(choice_task, choices.table.column("logprob").to_pylist())
        rows.append(
            {
                "model_id": model_id,
                "task": fam,
                **{n: values[n] for n in names},
                "instances": per_instance,
                "doc_ids": result.table.column("doc_id").to_pylist(),
                "score_flops": result.flops,
                "score_seconds": result.seconds,
                MC_COLUMN: mc.acc.value,
                "mc_flops": choices.flops,
            }
        )
    return rows


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
    finals = manifest[(manifest["stage"] == "base") & manifest["final"]]
    models = list(finals["model_id"])
    X = _feature_tensor(proxies, models, families, proxy_names())
    Y = np.stack([finals[f"acc_{f}"].to_numpy(float) for f in families])
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
) -> pd.DataFrame:
    """Setting (a) for single signals with intervals that resample *examples*.

    Example noise dominates at these sample sizes, so each named proxy (and the generic-text
    baseline) is correlated with accuracy across the final base models with the expert solutions
    resampled jointly in signal and truth: truth is each model's greedy correctness on the same
    scored problems (from the run's ``truth.parquet``), so the point estimate uses those
    ``docs_per_task`` problems per task, not all 500.
    """
    finals = manifest[(manifest["stage"] == "base") & manifest["final"]]
    truth_rows = []
    for rec in finals.itertuples(index=False):
        labels = pd.read_parquet(Path(str(rec.path)).parent / "truth.parquet")
        labels = labels[labels["model_id"] == rec.model_id].set_index(["task", "doc_id"])
        row = []
        for fam in families:
            doc_ids = proxies.loc[
                (proxies["model_id"] == rec.model_id) & (proxies["task"] == fam), "doc_ids"
            ].iloc[0]
            row.extend(labels.loc[[(task_name(fam), d) for d in doc_ids], "greedy_correct"])
        truth_rows.append(np.asarray(row, dtype=float))
    truth = np.stack(truth_rows)
    signals: dict[str, np.ndarray] = {}
    for k, name in enumerate(NAMED_PROXIES):
        signals[f"proxy {name}"] = proxy_sign(name) * np.stack(
            [
                np.concatenate(
                    [
                        proxies[(proxies["model_id"] == m) & (proxies["task"] == f)][
                            "instances"
                        ].iloc[0][:, k]
                        for f in families
                    ]
                )
                for m in finals["model_id"]
            ]
        )
    generic = -finals["generic_bpb"].to_numpy(float)
    signals["generic-text cross-entropy"] = np.repeat(generic[:, None], truth.shape[1], axis=1)
    rows = []
    for name, matrix in signals.items():
        a = agreement(matrix, truth, n_boot=config.n_boot, seed=config.seed)
        rows.append(
            {
                "signal": name,
                "spearman": a.spearman,
                "ci_low": a.spearman_ci[0],
                "ci_high": a.spearman_ci[1],
                "decision_accuracy": a.decision_accuracy,
                "models": a.n_models,
                "examples": a.n_examples,
            }
        )
    return pd.DataFrame(rows)


def _task_means(proxies: pd.DataFrame) -> pd.DataFrame:
    """The reported signals averaged over tasks, one row per model (computed once, indexed).

    ``Series.mean`` per group, not the grouped cython mean: its compensated summation differs in
    the last bit, enough to flip near-tied pairs in decision accuracy.
    """
    columns = list(dict.fromkeys([*NAMED_PROXIES, "xent@uniform", MC_COLUMN]))
    return proxies.groupby("model_id")[columns].agg(lambda x: x.mean())


def data_selection(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Setting (b): rank the recipes of the largest main-family size from every smaller size.

    Every checkpoint of every smaller size is one point of a decision-accuracy-vs-compute curve
    (as in DataDecide); compute is the training compute of the small models up to that
    checkpoint plus the cost of the signal (scoring for proxies, generation + grading for direct
    evaluation), as a fraction of the target models' training compute. The summary compares the
    best decision accuracy direct evaluation reaches at any small size with the cheapest proxy
    point that matches it.
    """
    main = manifest[(manifest["family"] == config.main_family) & (manifest["stage"] == "base")]
    by_size = main.groupby("size")["params"].first().sort_values()
    if len(by_size) < 2:
        raise ValueError(f"family {config.main_family!r} has fewer than two sizes")
    large = str(by_size.index[-1])
    targets = main[(main["size"] == large) & main["final"]].set_index("recipe")
    recipes = sorted(targets.index)
    acc_cols = [f"acc_{f}" for f in families]
    truth = targets.loc[recipes, acc_cols].mean(axis=1).to_numpy(float)
    means = _task_means(proxies)
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
                "direct evaluation (small-model accuracy)": (direct, train_flops + eval_flops),
                "generic-text cross-entropy": (-ckpt["generic_bpb"].to_numpy(float), train_flops),
                MC_SIGNAL: (mc_values, train_flops + float(chosen["mc_flops"].sum())),
            }
            for name in NAMED_PROXIES:
                values = means.loc[ckpt["model_id"], name].to_numpy(float) * proxy_sign(name)
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
    table = pd.DataFrame(rows)
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
    best_direct = direct.loc[direct["decision_accuracy"].idxmax()]
    proxy_rows = table[table["signal"].str.startswith("proxy")]
    reach = proxy_rows[proxy_rows["decision_accuracy"] >= best_direct["decision_accuracy"]]
    summary["direct_best_decision_accuracy"] = float(best_direct["decision_accuracy"])
    summary["direct_best_compute_fraction"] = float(best_direct["compute_fraction"])
    summary["direct_best_at"] = f"{best_direct['size']} step {best_direct['step']}"
    if reach.empty:
        summary["proxy_matching_compute_fraction"] = None
        summary["compute_ratio"] = None
    else:
        cheapest = reach.loc[reach["compute_fraction"].idxmin()]
        summary["proxy_matching_signal"] = str(cheapest["signal"])
        summary["proxy_matching_at"] = f"{cheapest['size']} step {cheapest['step']}"
        summary["proxy_matching_compute_fraction"] = float(cheapest["compute_fraction"])
        summary["compute_ratio"] = float(
            best_direct["compute_fraction"] / cheapest["compute_fraction"]
        )
    # Per small size: the best direct evaluation *of that size* and the cheapest proxy point
    # (any size, any checkpoint) at least as accurate.
    per_size: dict[str, Any] = {}
    for size, group in direct.groupby("size", sort=False):
        best = group.loc[group["decision_accuracy"].idxmax()]
        match = proxy_rows[proxy_rows["decision_accuracy"] >= best["decision_accuracy"]]
        entry: dict[str, Any] = {
            "direct_decision_accuracy": float(best["decision_accuracy"]),
            "direct_compute_fraction": float(best["compute_fraction"]),
            "direct_at": f"{size} step {best['step']}",
        }
        if not match.empty:
            cheapest = match.loc[match["compute_fraction"].idxmin()]
            entry.update(
                proxy_signal=str(cheapest["signal"]),
                proxy_at=f"{cheapest['size']} step {cheapest['step']}",
                proxy_decision_accuracy=float(cheapest["decision_accuracy"]),
                proxy_compute_fraction=float(cheapest["compute_fraction"]),
                compute_ratio=float(best["compute_fraction"] / cheapest["compute_fraction"]),
            )
        per_size[str(size)] = entry
    summary["by_size"] = per_size
    finite_rows = table[np.isfinite(table["decision_accuracy"])]
    summary["pareto"] = [
        {"compute_fraction": c, "decision_accuracy": a, "point": n}
        for c, a, n in pareto_front(
            zip(
                finite_rows["compute_fraction"],
                finite_rows["decision_accuracy"],
                finite_rows["signal"]
                + " ("
                + finite_rows["size"]
                + " @"
                + finite_rows["step"].astype(str)
                + ")",
                strict=True,
            )
        )
    ]
    # Example-bootstrap interval for the final small checkpoint's best proxy (and direct).
    summary["bootstrap"] = _bootstrap_final(manifest, proxies, families, config, small, large)
    return table, summary


def _bootstrap_final(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
    small: str,
    large: str,
) -> dict[str, Any]:
    """Decision accuracy of the final small models' proxy, resampling expert solutions.

    Truth (the large models' accuracy) is held fixed: its noise is a property of the target,
    not of the proxy; the signal's per-example matrix is resampled jointly across models.
    """
    main = manifest[(manifest["family"] == config.main_family) & (manifest["stage"] == "base")]
    finals_small = main[(main["size"] == small) & main["final"]].set_index("recipe")
    targets = main[(main["size"] == large) & main["final"]].set_index("recipe")
    recipes = sorted(set(targets.index) & set(finals_small.index))
    out: dict[str, Any] = {}
    for k, name in enumerate(NAMED_PROXIES):
        signal_rows = []
        for recipe in recipes:
            model = finals_small.loc[recipe, "model_id"]
            parts = [
                proxies[(proxies["model_id"] == model) & (proxies["task"] == f)]["instances"].iloc[
                    0
                ][:, k]
                for f in families
            ]
            signal_rows.append(np.concatenate(parts) * proxy_sign(name))
        signal = np.stack(signal_rows)
        truth_rows = np.stack(
            [
                np.full(signal.shape[1], targets.loc[r, [f"acc_{f}" for f in families]].mean())
                for r in recipes
            ]
        )
        # agreement() resamples example columns; constant truth columns keep truth fixed.
        a = agreement(signal, truth_rows, n_boot=config.n_boot, seed=config.seed)
        out[name] = {
            "decision_accuracy": a.decision_accuracy,
            "ci": list(a.decision_accuracy_ci),
            "spearman": a.spearman,
            "spearman_ci": list(a.spearman_ci),
        }
    return out


def extrapolation(
    manifest: pd.DataFrame,
    proxies: pd.DataFrame,
    families: Sequence[str],
    config: PatelConfig,
) -> tuple[pd.DataFrame, list[str]]:
    """Setting (c): fit on the first ``fit_fraction`` of each main-family run, predict the end."""
    main = manifest[(manifest["family"] == config.main_family) & (manifest["stage"] == "base")]
    acc_cols = [f"acc_{f}" for f in families]
    notes: list[str] = []
    fraction = config.fit_fraction
    means = _task_means(proxies)
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
        return pd.DataFrame(), ["no runs of the main family"]
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

    def add(method: str, signal: str, runs: list[TrainingRun]) -> None:
        try:
            res = evaluate_extrapolation(runs, method, fraction, calibrate_on_other_runs=True)
        except ValueError as e:
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

    for name in NAMED_PROXIES:
        add("proxy", name, runs_by_proxy[name])
    add("compute_power_law", "accuracy vs tokens", runs_by_proxy[NAMED_PROXIES[0]])
    add("two_step_ladder", "compute -> expert xent -> accuracy", ladder_runs)
    return pd.DataFrame(rows), notes


REGRESSION_METHODS = ("linear", "sigmoid", "isotonic")


def accuracy_regression(
    manifest: pd.DataFrame, proxies: pd.DataFrame, families: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Signal -> accuracy maps over the final base models, held out two ways.

    Leave-one-out says how well a fitted map predicts a new model of a family it has seen;
    leave-one-family-out, a model of an unseen family (the cross-family question). Signals: the
    named proxies and the generic-text baseline, each averaged over tasks like the accuracy.
    """
    finals = manifest[(manifest["stage"] == "base") & manifest["final"]]
    acc = finals[[f"acc_{f}" for f in families]].mean(axis=1).to_numpy(float)
    means = _task_means(proxies)
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
                except ValueError as e:
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
    base = manifest[manifest["stage"] == "base"].set_index("model_id")
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


def run_patel(
    config: PatelConfig, store: Store | None = None, progress: Progress | None = None
) -> PatelResult:
    """All three settings on an already built testbed population."""
    from lmforecast import testbed

    manifest = testbed.load_manifest(config.preset, config.seed)
    store = store or Store()
    families = problem_tasks(manifest)
    start = time.perf_counter()
    proxies = score_population(manifest, config, store, progress)
    notes = [
        f"scored {proxies['model_id'].nunique()} checkpoints in {time.perf_counter() - start:.0f} s"
    ]

    # A population too small or too early to separate models (e.g. every accuracy 0 in the
    # `ci` preset) makes a setting undefined: it is reported as a note, not a crash.
    def setting(label: str, compute: Callable[[], Any], empty: Any) -> Any:
        if progress is not None:
            progress(label)
        try:
            return compute()
        except ValueError as e:
            notes.append(f"{label} not computable on this population: {e}")
            return empty

    selection = setting(
        "setting (a): model selection",
        lambda: model_selection(manifest, proxies, families),
        pd.DataFrame(),
    )
    selection_ci = setting(
        "setting (a), example bootstrap",
        lambda: selection_bootstrap(manifest, proxies, families, config),
        pd.DataFrame(),
    )
    data_table, data_summary = setting(
        "setting (b): data selection",
        lambda: data_selection(manifest, proxies, families, config),
        (pd.DataFrame(), {}),
    )
    extra, extra_notes = setting(
        "setting (c): extrapolation",
        lambda: extrapolation(manifest, proxies, families, config),
        (pd.DataFrame(), []),
    )
    regression, regression_notes = setting(
        "signal -> accuracy regression",
        lambda: accuracy_regression(manifest, proxies, families),
        (pd.DataFrame(), []),
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
        notes=notes + extra_notes + regression_notes,
    )


def finite(x: float) -> bool:
    return x is not None and math.isfinite(x)

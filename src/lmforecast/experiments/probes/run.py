"""The probes experiment on a testbed population, end to end.

1. Labels: per-example pass@1 from ``n_samples`` sampled answers (Truth) on the first
   ``problems_per_task`` problems of every task, for every checkpoint and post-trained model of
   the chosen runs (the main family's largest size).
2. Features: one stored forward pass per model over the prompts (``engine.features``).
3. Each run's final checkpoint: the four probes and the two baselines, out of fold, split by
   problem; every other model: ``logreg`` and the baselines.
4. Transfer: ``logreg`` trained on each checkpoint, tested on every later one of its run, and
   final -> final across runs (AUROC matrix).
5. Latency: the probe path (a forward pass over the prompts + the probe) against the
   generative evaluation it replaces (sampling and grading), seconds and FLOPs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lmforecast.core.errors import UserError
from lmforecast.experiments.patel.population import load_population, problem_tasks, task_name
from lmforecast.experiments.probes.config import (
    PROBE_NAMES,
    PROBLEM_ONLY,
    PROMPT_CE,
    ProbesConfig,
    Progress,
)
from lmforecast.experiments.probes.evaluate import (
    FoldProbes,
    ProbeEvaluation,
    baseline_features,
    evaluate_folds,
    evaluate_probe,
    fit_folds,
)
from lmforecast.experiments.probes.labels import ModelData, model_data, problem_features
from lmforecast.experiments.probes.result import ProbesResult
from lmforecast.experiments.settings import scoring_executor
from lmforecast.forecast.classification import calibration_bins
from lmforecast.models import load_model
from lmforecast.models.base import LoadedModel
from lmforecast.signals.probes.probes import LogRegOptions, LogRegProbe, Probe
from lmforecast.signals.probes.submodel import SubmodelOptions, SubmodelProbe
from lmforecast.signals.probes.torch_probes import (
    AttentionOptions,
    AttentionProbe,
    MLPOptions,
    MLPProbe,
)
from lmforecast.store import Store
from lmforecast.tasks import get_task


def probe_factory(name: str, model: LoadedModel) -> Callable[[], Probe]:
    """A configured probe: pooled last-token and mean states of every stored layer for the
    linear and MLP probes, the last layer's tokens for attention, one frozen block for submodel."""
    both: tuple[Literal["last", "mean"], ...] = ("last", "mean")
    makers: dict[str, Callable[[], Probe]] = {
        "logreg": lambda: LogRegProbe(LogRegOptions(pooling=both)),
        "mlp": lambda: MLPProbe(MLPOptions(pooling=both)),
        "attention": lambda: AttentionProbe(AttentionOptions(layer=-1)),
        "submodel": lambda: SubmodelProbe(model, SubmodelOptions(k=1)),
    }
    return makers[name]


def chosen_models(manifest: pd.DataFrame, config: ProbesConfig) -> pd.DataFrame:
    """Every checkpoint and post-trained model of the chosen runs, in run and step order."""
    main = manifest[manifest["family"] == config.main_family]
    largest = main.groupby("size")["params"].first().sort_values().index[-1]
    at = main[main["size"] == largest]
    finals = at[(at["stage"] == "base") & at["final"]]
    acc = finals.set_index("recipe")[[c for c in at.columns if c.startswith("acc_")]].mean(axis=1)
    ranked = list(acc.sort_values(ascending=False, kind="stable").index)
    recipes = list(config.recipes) or ranked[: config.max_runs]
    chosen = at[at["recipe"].isin(recipes)]
    if not config.post_trained:
        chosen = chosen[chosen["stage"] == "base"]
    if config.checkpoints > 0:
        base = chosen[chosen["stage"] == "base"]
        last = base.groupby("recipe")["step"].transform(lambda s: s.rank(ascending=False))
        keep = base.index[last <= config.checkpoints]
        chosen = chosen[(chosen["stage"] != "base") | chosen.index.isin(keep)]
    order = {"base": 0, "sft": 1, "rl": 2}
    rank = {r: i for i, r in enumerate(recipes)}
    return chosen.assign(_o=chosen["stage"].map(order), _r=chosen["recipe"].map(rank)).sort_values(
        ["_r", "_o", "step"]
    )


def _row(model: pd.Series, what: str, ev: ProbeEvaluation) -> dict[str, Any]:
    m = ev.metrics
    return {
        "model_id": model["model_id"],
        "recipe": model["recipe"],
        "stage": model["stage"],
        "step": int(model["step"]),
        "probe": what,
        "auroc": m.auroc,
        "auroc_ci": list(m.intervals.get("auroc", (np.nan, np.nan))),
        "brier": m.brier,
        "ece": m.ece,
        "predicted_accuracy": m.predicted_accuracy,
        "true_accuracy": m.true_accuracy,
        "accuracy_error": m.accuracy_error,
        "accuracy_error_ci": list(m.intervals.get("accuracy_error", (np.nan, np.nan))),
        "n": m.n,
    }


def _evaluate_model(
    row: pd.Series,
    data: ModelData,
    lm: LoadedModel,
    x_problem: np.ndarray,
    probes: tuple[str, ...],
    config: ProbesConfig,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], FoldProbes]:
    """Metric rows of each probe and baseline, their reliability-diagram rows, and the
    ``logreg`` fold probes (fitted once: they also serve every transfer from this model)."""
    groups = np.asarray(data.problems)

    def ev(what: Any, x: Any) -> ProbeEvaluation:
        return evaluate_probe(
            what, x, data.pass1, groups, folds=config.folds, seed=config.seed, n_boot=config.n_boot
        )

    logreg = fit_folds(
        probe_factory("logreg", lm), data.features, data.pass1, groups, config.folds, config.seed
    )
    found = [
        (name, evaluate_folds(logreg, data.features, data.pass1, groups, name=name,
                              n_boot=config.n_boot, seed=config.seed))
        if name == "logreg"
        else (name, ev(probe_factory(name, lm), data.features))
        for name in probes
    ]  # fmt: skip
    found.append((PROBLEM_ONLY, ev("logreg", x_problem)))
    found.append((PROMPT_CE, ev("logreg", baseline_features(data.prompt_ce))))
    rows = [_row(row, name, e) for name, e in found]
    calibration = [
        {"model_id": row["model_id"], "recipe": row["recipe"], "probe": name, **b}
        for name, e in found
        for b in calibration_bins(e.predictions, e.labels)
    ]
    return rows, calibration, logreg


def _transfer_rows(
    models: pd.DataFrame,
    data: dict[str, ModelData],
    fitted: dict[str, FoldProbes],
) -> list[dict[str, Any]]:
    """``logreg`` fitted on each checkpoint's folds, tested on every later checkpoint of its
    run (the same folds: test problems are unseen at both), and final -> final across runs."""
    base = models[models["stage"] == "base"]
    pairs = []
    for _, run in base.groupby("recipe", sort=False):
        ids = list(run.sort_values("step")["model_id"])
        pairs += [(a, b, "same run") for i, a in enumerate(ids) for b in ids[i:]]
    finals = list(base[base["final"]]["model_id"])
    pairs += [(a, b, "other run") for a in finals for b in finals if a != b]
    rows = []
    for a, b, kind in pairs:
        db = data[b]
        ev = evaluate_folds(
            fitted[a], db.features, db.pass1, np.asarray(db.problems), name="logreg", n_boot=0
        )
        rows.append({"train": a, "test": b, "kind": kind, "auroc": ev.metrics.auroc})
    return rows


def _prepare(
    model_id: str, path: str, keep_tokens: bool, config: ProbesConfig, store_root: Path
) -> str:
    """One model's labels and features into the store (top-level: workers pickle it)."""
    manifest = load_population(config.preset, config.seed)
    tasks = [get_task(task_name(f), config.problems_per_task) for f in problem_tasks(manifest)]
    model_data(model_id, load_model(path), tasks, config, Store(store_root), keep_tokens)
    return model_id


def prepare_models(
    models: pd.DataFrame, config: ProbesConfig, store: Store, progress: Progress | None
) -> None:
    """Labels and features of every model, ``config.workers`` models at a time (each worker
    writes to the store; the experiment then reads them back, so the result is the same for
    any number of workers)."""
    jobs = [
        (str(r.model_id), str(r.path), bool(r.final) and r.stage == "base", config, store.root)
        for r in models.itertuples(index=False)
    ]
    with scoring_executor(config, store.root) as executor:
        for i, (_, model_id) in enumerate(executor.imap_unordered(_prepare, jobs)):
            if progress is not None:
                progress(f"probes: labels and features of {model_id} ({i + 1}/{len(jobs)})")


def run_probes(
    config: ProbesConfig, store: Store | None = None, progress: Progress | None = None
) -> ProbesResult:
    """Labels, features, probes, baselines, transfer and latency on a built population."""
    unknown = [p for p in config.probes if p not in PROBE_NAMES]
    if unknown:
        raise UserError(f"--probe {unknown[0]}: expected one of {', '.join(PROBE_NAMES)}")
    manifest = load_population(config.preset, config.seed)
    store = store or Store()
    tasks = [get_task(task_name(f), config.problems_per_task) for f in problem_tasks(manifest)]
    models = chosen_models(manifest, config)
    x_problem = problem_features(tasks)
    if config.workers > 1 or config.executor != "local":
        prepare_models(models, config, store, progress)
    data: dict[str, ModelData] = {}
    rows: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    calibration: list[dict[str, Any]] = []
    fitted: dict[str, FoldProbes] = {}
    for _, row in models.iterrows():
        if progress is not None:
            progress(f"probes: {row['model_id']}")
        lm = load_model(str(row["path"]))
        final = bool(row["final"]) and row["stage"] == "base"
        data[row["model_id"]] = d = model_data(row["model_id"], lm, tasks, config, store, final)
        probes = config.probes if final else ("logreg",)
        found, bins, fitted[row["model_id"]] = _evaluate_model(
            row, d, lm, x_problem, probes, config
        )
        rows += found
        calibration += bins if final else []
        if final:
            latency.append(_latency(row, d, fitted[row["model_id"]]))
    if progress is not None:
        progress("probes: transfer")
    return ProbesResult(
        evaluation=pd.DataFrame(rows),
        transfer=pd.DataFrame(_transfer_rows(models, data, fitted)),
        latency=pd.DataFrame(latency),
        calibration=pd.DataFrame(calibration),
        notes=[],
        config=asdict(config),
    )


def _latency(row: pd.Series, d: ModelData, fitted: FoldProbes) -> dict[str, Any]:
    """The probe path's cost against the generative evaluation it replaces (the probe's own
    prediction time over every prompt, measured here with the model's already fitted logreg
    fold probes, is added to the stored forward-pass cost)."""
    start = time.perf_counter()
    fitted.predict(d.features)
    predict = time.perf_counter() - start
    probe_seconds = d.feature_seconds + predict
    return {
        "model_id": row["model_id"],
        "problems": len(d.problems),
        "probe_seconds": probe_seconds,
        "generative_seconds": d.truth_seconds,
        "speedup": d.truth_seconds / probe_seconds if probe_seconds else float("nan"),
        "probe_flops": d.feature_flops,
        "generative_flops": d.truth_flops,
        "flops_ratio": d.truth_flops / d.feature_flops if d.feature_flops else float("nan"),
    }

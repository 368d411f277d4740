"""Probes from the API: train one on a model's own pass@1, save it, and predict with it later
(on the same checkpoint's new problems, or on a later checkpoint of the same architecture).

:func:`train_probe` labels the problems through Truth (``n_samples`` answers each), stores one
forward pass of features, reports the probe's out-of-fold quality beside the two baselines
(problem-only features, the prompt's cross-entropy), then fits it on every problem and saves
it. :func:`predict_probe` needs only a forward pass; with ``truth=True`` it also labels the
problems and says how well the forecast did, and what the probe path cost against the
generative evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmforecast.api.base import ModelSpec, TaskSpec, load, task
from lmforecast.core.errors import UserError
from lmforecast.core.records import Task
from lmforecast.engine.features import PromptFeatures, num_hidden_layers
from lmforecast.experiments.probes.config import PROBE_NAMES, PROBLEM_ONLY, PROMPT_CE, ProbesConfig
from lmforecast.experiments.probes.evaluate import (
    ProbeEvaluation,
    baseline_features,
    evaluate_probe,
)
from lmforecast.experiments.probes.labels import (
    ModelData,
    model_data,
    problem_features,
    problem_ids,
    task_labels,
)
from lmforecast.experiments.probes.run import probe_factory
from lmforecast.forecast.classification import ClassificationMetrics, classification_metrics
from lmforecast.models.base import LoadedModel
from lmforecast.signals.probes.cache import cached_prompt_features
from lmforecast.signals.probes.saved import ProbeSpecs, SavedProbe, load_probe, save_probe
from lmforecast.store import Store

TOKEN_PROBES = ("attention", "submodel")


@dataclass(frozen=True, eq=False)
class ProbeTraining:
    """A trained probe (saved to ``path`` if asked), its out-of-fold evaluation and the
    baselines', and the labels and features it learnt from."""

    saved: SavedProbe
    evaluations: tuple[ProbeEvaluation, ...]  # the probe first, then the two baselines
    data: ModelData
    path: Path | None

    def to_dict(self) -> dict[str, Any]:
        """The specs, the out-of-fold metrics of the probe and the baselines, and the costs."""
        d = self.data
        return {
            "specs": asdict(self.saved.specs),
            "evaluations": [{"probe": e.probe, **e.metrics.to_dict()} for e in self.evaluations],
            "truth_seconds": d.truth_seconds,
            "truth_flops": d.truth_flops,
            "feature_seconds": d.feature_seconds,
            "feature_flops": d.feature_flops,
            "path": str(self.path) if self.path else None,
        }


@dataclass(frozen=True, eq=False)
class ProbePrediction:
    """Per-problem predicted pass@1 (``table``: task, doc_id, problem, predicted and, with
    truth, the true pass@1), the predicted task accuracies, and with truth the metrics and the
    costs of both paths."""

    table: pd.DataFrame
    specs: ProbeSpecs
    probe_seconds: float  # this call's forward pass (or store read) and prediction
    metrics: ClassificationMetrics | None = None
    truth_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The specs, per-task accuracies, metrics and costs (per-problem rows in ``table``)."""
        return {
            "specs": asdict(self.specs),
            "by_task": self.by_task().to_dict(orient="records"),
            "metrics": self.metrics.to_dict() if self.metrics else None,
            "probe_seconds": self.probe_seconds,
            "truth_seconds": self.truth_seconds,
            "problems": len(self.table),
        }

    def by_task(self) -> pd.DataFrame:
        columns = ["predicted"] + (["true"] if "true" in self.table else [])
        out = self.table.groupby("task", sort=False)[columns].mean().reset_index()
        return out.rename(columns={c: f"{c}_accuracy" for c in columns})


def _tasks(specs: Sequence[TaskSpec], limit: int | None) -> list[Task]:
    if not specs:
        raise UserError("--task: name at least one task")
    out = [task(s, limit) for s in specs]
    for t in out:
        if t.generation is None:
            raise UserError(
                f"--task {t.name}: probes predict pass@1 of generated answers; this task is "
                "scored, not generated (pick a generative task, e.g. gsm8k:gold)"
            )
    return out


def _config(n_samples: int, temperature: float, seed: int, batch_size: int) -> ProbesConfig:
    return ProbesConfig(
        n_samples=n_samples, temperature=temperature, seed=seed, batch_size=batch_size
    )


def train_probe(
    model: ModelSpec,
    tasks: Sequence[TaskSpec],
    *,
    probe: str = "logreg",
    limit: int | None = 200,
    n_samples: int = 8,
    temperature: float = 0.8,
    seed: int = 0,
    folds: int = 5,
    n_boot: int = 200,
    batch_size: int = 16,
    output: Path | None = None,
    store: Store | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProbeTraining:
    """Label, featurise, evaluate out of fold (split by problem), fit on all, save."""
    if probe not in PROBE_NAMES:
        raise UserError(f"--probe {probe}: expected one of {', '.join(PROBE_NAMES)}")
    lm = load(model)
    docs = _tasks(tasks, limit)
    store = store or Store()
    config = _config(n_samples, temperature, seed, batch_size)
    if progress is not None:
        progress(f"labels ({n_samples} samples per problem) and features of {lm.name}")
    data = model_data(lm.name, lm, docs, config, store, keep_tokens=probe in TOKEN_PROBES)
    groups = np.asarray(data.problems)
    if progress is not None:
        progress(f"{probe}: out-of-fold evaluation and the baselines")

    def ev(what: Any, x: Any, name: str | None = None) -> ProbeEvaluation:
        return evaluate_probe(
            what, x, data.pass1, groups, folds=folds, seed=seed, n_boot=n_boot, name=name
        )

    evaluations = (
        ev(probe_factory(probe, lm), data.features, probe),
        ev("logreg", problem_features(docs), PROBLEM_ONLY),
        ev("logreg", baseline_features(data.prompt_ce), PROMPT_CE),
    )
    fitted = probe_factory(probe, lm)().fit(data.features, data.pass1, groups)
    specs = _specs(lm, docs, probe, data.features, config, evaluations[0])
    saved = SavedProbe(specs, fitted)
    if output is not None:
        save_probe(saved, output)
    return ProbeTraining(saved, evaluations, data, output)


def _specs(
    lm: LoadedModel,
    docs: Sequence[Task],
    probe: str,
    features: PromptFeatures,
    config: ProbesConfig,
    evaluation: ProbeEvaluation,
) -> ProbeSpecs:
    return ProbeSpecs(
        architecture=probe,
        model=lm.name,
        fingerprint=lm.fingerprint,
        tasks=tuple(t.name for t in docs),
        layers=tuple(int(x) for x in features.layers),
        num_layers=features.num_layers,
        hidden_size=features.hidden_size,
        keep_tokens=probe in TOKEN_PROBES,
        labels={
            "n_samples": config.n_samples,
            "temperature": config.temperature,
            "seed": config.seed,
            "problems": len(evaluation.labels),
        },
        training=evaluation.metrics.to_dict(),
    )


def predict_probe(
    path: Path,
    model: ModelSpec,
    tasks: Sequence[TaskSpec],
    *,
    limit: int | None = None,
    truth: bool = False,
    n_boot: int = 200,
    batch_size: int = 16,
    store: Store | None = None,
) -> ProbePrediction:
    """Predicted pass@1 of every problem from one forward pass; with ``truth``, labels through
    Truth (the probe's own sampling settings) and the forecast's metrics."""
    saved = load_probe(path)
    specs = saved.specs
    lm = load(model)
    docs = _tasks(tasks, limit)
    store = store or Store()
    # Before the forward pass: a model of another shape would fail inside it, less clearly.
    width = int(lm.module.get_input_embeddings().weight.shape[1])
    specs.check_shape(num_hidden_layers(lm), width, str(path))
    prompts = [d.prompt for t in docs for d in t.docs]
    start = time.perf_counter()
    features = cached_prompt_features(
        lm, prompts, specs.layers, store=store, batch_size=batch_size, keep_tokens=specs.keep_tokens
    )
    predicted = saved.predict(features, str(path))
    seconds = time.perf_counter() - start
    table = pd.DataFrame(
        {
            "task": [t.name for t in docs for _ in t.docs],
            "doc_id": [d.doc_id for t in docs for d in t.docs],
            "predicted": predicted,
        }
    )
    table.insert(2, "problem", problem_ids(docs))
    if not truth:
        return ProbePrediction(table, specs, seconds)
    labels = specs.labels
    config = _config(labels["n_samples"], labels["temperature"], labels["seed"], batch_size)
    table["true"], truth_seconds, _ = task_labels(lm, docs, config, store)
    metrics = classification_metrics(
        predicted, table["true"].to_numpy(), table["problem"].to_numpy(), n_boot=n_boot,
        seed=labels["seed"],
    )  # fmt: skip
    return ProbePrediction(table, specs, seconds, metrics, truth_seconds)


__all__ = [
    "ProbePrediction",
    "ProbeTraining",
    "predict_probe",
    "train_probe",
]

"""Per-example labels and prompt features of one model, through Truth and the engine (stored).

pass@1 of a problem = the share of ``n_samples`` answers at ``temperature`` that its task's
grader accepts (Truth, the same grading as every accuracy in the testbed; the samples of a
prompt share one prefill). Problems are identified across tasks as ``task:doc_id`` (the groups
every split is made by). The prompt's own cross-entropy (a baseline) is the engine's mean
negative log-probability of the prompt's tokens, conditioned on nothing but BOS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lmforecast.core.records import Request, Task
from lmforecast.engine import ScoreConfig
from lmforecast.engine.features import PromptFeatures, num_hidden_layers
from lmforecast.engine.generate import GenerationConfig
from lmforecast.experiments.probes.config import ProbesConfig
from lmforecast.models.base import LoadedModel
from lmforecast.signals import scored
from lmforecast.signals.probes.cache import cached_prompt_features
from lmforecast.store import Store
from lmforecast.truth.run import run_truth


@dataclass(frozen=True)
class ModelData:
    """One model's labels, features and costs on the concatenated problems of every task."""

    model_id: str
    problems: tuple[str, ...]  # task:doc_id
    pass1: np.ndarray
    features: PromptFeatures
    prompt_ce: np.ndarray
    truth_seconds: float
    truth_flops: float
    feature_seconds: float
    feature_flops: float


def layers_for(model: LoadedModel, config: ProbesConfig) -> tuple[int, ...]:
    """The probed layers: the middle block's output (if asked), the one before the last (the
    submodel probe's input: it runs the frozen last block on it) and the last."""
    n = num_hidden_layers(model)
    mid = [max(1, n // 2)] if config.mid_layer else []
    return tuple(sorted(set([*mid, max(1, n - 1), n])))


def _labels(
    model: LoadedModel, task: Task, config: ProbesConfig, store: Store
) -> tuple[np.ndarray, float, float]:
    spec = task.generation
    gen = GenerationConfig(
        temperature=config.temperature,
        n_samples=config.n_samples,
        seed=config.seed,
        stop=spec.stop if spec else (),
        max_tokens=spec.max_tokens if spec else None,
        batch_size=256,
    )
    result = run_truth(model, task, gen, store)
    table = result.samples.to_pandas()
    pass1 = table.groupby("doc_index")["correct"].mean().reindex(range(len(task.docs)))
    return pass1.to_numpy(float), result.seconds, result.flops


def _prompt_ce(
    model: LoadedModel, prompts: Sequence[str], store: Store
) -> tuple[np.ndarray, float, float]:
    requests = tuple(Request(i, str(i), "", p) for i, p in enumerate(prompts))
    task = Task(
        name="probe-prompts", kind="text", description="prompts", docs=(), requests=requests
    )
    result = scored.score_task(model, task, ScoreConfig(batch_size=64), store)
    logprob = np.asarray(result.table.column("logprob").to_pylist(), dtype=float)
    n = np.asarray([len(t) for t in result.table.column("tok_logprob").to_pylist()], dtype=float)
    return -logprob / np.maximum(n, 1.0), result.seconds, result.flops


def task_labels(
    model: LoadedModel, tasks: Sequence[Task], config: ProbesConfig, store: Store
) -> tuple[np.ndarray, float, float]:
    """pass@1 of every problem of every task (in order), and Truth's seconds and FLOPs."""
    found = [_labels(model, task, config, store) for task in tasks]
    pass1 = np.concatenate([f[0] for f in found]) if found else np.zeros(0)
    return pass1, sum(f[1] for f in found), sum(f[2] for f in found)


def problem_ids(tasks: Sequence[Task]) -> list[str]:
    """``task:doc_id`` of every problem, in order: the groups every split is made by."""
    return [f"{task.name}:{d.doc_id}" for task in tasks for d in task.docs]


def model_data(
    model_id: str,
    model: LoadedModel,
    tasks: Sequence[Task],
    config: ProbesConfig,
    store: Store,
    keep_tokens: bool,
) -> ModelData:
    """Labels (Truth), features (one stored forward pass) and the prompt-CE baseline."""
    pass1, t_sec, t_flops = task_labels(model, tasks, config, store)
    prompts = [d.prompt for task in tasks for d in task.docs]
    features = cached_prompt_features(
        model, prompts, layers_for(model, config), store=store, batch_size=config.batch_size,
        keep_tokens=keep_tokens,
    )  # fmt: skip
    ce, f_sec, f_flops = _prompt_ce(model, prompts, store)
    return ModelData(
        model_id, tuple(problem_ids(tasks)), pass1, features, ce, t_sec, t_flops, f_sec,
        f_flops,
    )  # fmt: skip


def problem_features(tasks: Sequence[Task]) -> np.ndarray:
    """What is known of a problem without a model: prompt length in characters, its number of
    steps (the testbed generator's difficulty parameter, 0 if unknown), and its task (one-hot)."""
    rows = []
    for k, task in enumerate(tasks):
        for d in task.docs:
            onehot = [1.0 if j == k else 0.0 for j in range(len(tasks))]
            rows.append([len(d.prompt), float(d.extra.get("n_steps", 0) or 0), *onehot])
    return np.asarray(rows, dtype=float)


def frame(data: ModelData) -> pd.DataFrame:
    return pd.DataFrame(
        {"problem": data.problems, "pass1": data.pass1, "prompt_ce": data.prompt_ce}
    )

"""Ground truth of one model: greedy accuracy and sampled pass@1 per task, and generic-text CE.

Generation, grading and storage are the Truth layer's (:func:`lmforecast.truth.run.run_truth`,
grader ``testbed``: first ``Answer:`` line, exact match), so other parts of lmforecast find the
per-sample labels under the model's fingerprint like any benchmark's ground truth.

Cost plan (documented in the presets): intermediate checkpoints get greedy accuracy on the first
``greedy_docs`` held-out problems of each task; final base and post-trained models get greedy
accuracy on all of them plus per-example pass@1 from ``n_samples`` samples at temperature
``temperature`` on the first ``sample_docs``. Cross-entropy on held-out generic text is reported
in nats per token and in bits per byte (comparable across tokenizers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from lmforecast.testbed import tasks as tb_tasks


@dataclass(frozen=True)
class EvalPlan:
    """How much ground truth to compute for one model."""

    greedy_docs: int
    sample_docs: int = 0
    n_samples: int = 4
    temperature: float = 0.8
    batch_size: int = 256
    generic_docs: int = 100
    seed: int = 0


@dataclass(frozen=True)
class TaskScore:
    """Ground truth of one model on one task."""

    task: str
    greedy_acc: float
    n_greedy: int
    pass1: float  # mean per-example pass@1 over the sampled docs (NaN when not sampled)
    n_sampled: int
    generated_tokens: int


@dataclass(frozen=True)
class ExampleLabel:
    """Per-example ground truth (the rows of a run's ``truth.parquet``)."""

    task: str
    doc_id: str
    greedy_correct: bool
    n_correct: int  # correct samples (0 when not sampled)
    n_samples: int


@dataclass(frozen=True)
class ModelTruth:
    """Everything measured on one model."""

    scores: tuple[TaskScore, ...]
    examples: tuple[ExampleLabel, ...]
    generic_ce: float  # nats per token
    generic_bpb: float  # bits per UTF-8 byte
    eval_flops: float


def generic_cross_entropy(
    model: Any, texts: list[str], batch_size: int = 32
) -> tuple[float, float]:
    """(nats per token, bits per byte) of held-out generic passages, each after EOS."""
    module = model.module
    prefix = model.prefix_token_id
    total_nll = 0.0
    total_tokens = 0
    total_bytes = 0
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            seqs = [[prefix, *model.encode_plain(t)][: model.max_length] for t in chunk]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), prefix, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for k, s in enumerate(seqs):
                ids[k, : len(s)] = torch.tensor(s)
                mask[k, : len(s)] = 1
            logits = module(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = ids[:, 1:]
            logp = torch.log_softmax(logits, dim=-1).gather(-1, target[..., None])[..., 0]
            valid = mask[:, 1:].bool()
            total_nll -= float(logp[valid].double().sum())
            total_tokens += int(valid.sum())
            total_bytes += sum(len(t.encode()) for t in chunk)
    return total_nll / max(1, total_tokens), total_nll / math.log(2) / max(1, total_bytes)


def _truth(model: Any, task: Any, config: Any, store: Any) -> Any:
    """One Truth-layer run (per-sample labels stored under the model's fingerprint)."""
    from lmforecast.truth.run import run_truth

    # One shard per generation batch: tiny models are overhead-bound, so big batches pay.
    return run_truth(model, task, config, store, shard_size=config.batch_size, workers=1)


def evaluate(model: Any, plan: EvalPlan, store: Any = None) -> ModelTruth:
    """Greedy and sampled ground truth on every problem task, and generic CE, for one model.

    Generation and grading go through :func:`lmforecast.truth.run.run_truth`, which stores the
    per-sample labels (kind ``truth_samples``) in ``store`` (default: the data home's store).
    """
    from lmforecast.engine.generate import GenerationConfig
    from lmforecast.store import Store

    store = store if store is not None else Store()
    scores: list[TaskScore] = []
    examples: list[ExampleLabel] = []
    flops = 0.0
    for family in tb_tasks.PROBLEM_TASKS:
        full = _problem_task(family)
        task = full.limited(plan.greedy_docs)
        greedy = _truth(model, task, GenerationConfig(batch_size=plan.batch_size), store)
        flops += greedy.flops
        tokens = greedy.tokens_generated
        greedy_ok = dict(
            zip(
                greedy.samples.column("doc_id").to_pylist(),
                greedy.samples.column("correct").to_pylist(),
                strict=True,
            )
        )
        n_sampled = min(plan.sample_docs, len(full.docs))
        sampled_ok: dict[str, int] = {}
        pass1 = float("nan")
        if n_sampled > 0:
            config = GenerationConfig(
                temperature=plan.temperature,
                seed=plan.seed,
                n_samples=plan.n_samples,
                batch_size=plan.batch_size,
            )
            sampled = _truth(model, full.limited(n_sampled), config, store)
            flops += sampled.flops
            tokens += sampled.tokens_generated
            for doc_id, ok in zip(
                sampled.samples.column("doc_id").to_pylist(),
                sampled.samples.column("correct").to_pylist(),
                strict=True,
            ):
                sampled_ok[doc_id] = sampled_ok.get(doc_id, 0) + int(ok)
            pass1 = sum(sampled_ok.values()) / (plan.n_samples * n_sampled)
        for d in task.docs:
            examples.append(
                ExampleLabel(
                    task=task.name,
                    doc_id=d.doc_id,
                    greedy_correct=bool(greedy_ok[d.doc_id]),
                    n_correct=sampled_ok.get(d.doc_id, 0),
                    n_samples=plan.n_samples if d.doc_id in sampled_ok else 0,
                )
            )
        scores.append(
            TaskScore(
                task=task.name,
                greedy_acc=sum(bool(v) for v in greedy_ok.values()) / max(1, len(task.docs)),
                n_greedy=len(task.docs),
                pass1=pass1,
                n_sampled=n_sampled,
                generated_tokens=tokens,
            )
        )
    texts = [d.solution or "" for d in _generic_task().docs[: plan.generic_docs]]
    ce, bpb = generic_cross_entropy(model, texts)
    return ModelTruth(tuple(scores), tuple(examples), ce, bpb, flops)


_TASK_CACHE: dict[str, Any] = {}


def _problem_task(family: str) -> Any:
    if family not in _TASK_CACHE:
        _TASK_CACHE[family] = tb_tasks.problem_task(family)
    return _TASK_CACHE[family]


def _generic_task() -> Any:
    if "generic" not in _TASK_CACHE:
        _TASK_CACHE["generic"] = tb_tasks.generic_task()
    return _TASK_CACHE["generic"]

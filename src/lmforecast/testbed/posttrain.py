"""Post-training: supervised fine-tuning on demonstrations, then rejection-sampling fine-tuning.

SFT trains each final base model on expert solutions of training problems (loss on the solution
tokens only). The RL step is rejection-sampling fine-tuning (expert iteration, the simplest
policy-improvement step that needs no value model): the SFT model samples several solutions per
training prompt through the Truth layer's generator, the testbed grader keeps the correct ones,
and the model is fine-tuned on them. Their accuracies are the ground truth for forecasting
post-training potential from the base model.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lmforecast.testbed import problems
from lmforecast.testbed.corpora import PROBLEM_END


@dataclass(frozen=True)
class PostTrainConfig:
    """Post-training schedule (both steps).

    Learning rates sit below the end of pretraining's schedule (3e-3 decayed to 3e-4): measured
    on the ``ci`` population's ``llama-m-pure`` (base 0.73 / 0.23 / 0.44 on arith / list /
    trace), 80 SFT steps at 1e-3 *lowered* accuracy to 0.73 / 0.21 / 0.19 and 8 steps to 0.21 /
    0.08 / 0.15 (the copying circuit is knocked out), while 80 steps at 2e-4 raised it to 0.90 /
    0.33 / 0.31.
    """

    sft_steps: int = 100
    sft_batch: int = 32
    sft_lr: float = 2e-4
    rl_prompts: int = 64  # training prompts per task family
    rl_samples: int = 4
    rl_temperature: float = 1.0
    rl_epochs: int = 2
    rl_batch: int = 32
    rl_lr: float = 1e-4
    max_tokens: int = 96


@dataclass(frozen=True)
class FinetuneStats:
    """What one fine-tuning pass did: for the FLOPs column and the record."""

    steps: int
    tokens: int  # non-padding tokens processed
    mean_loss: float


def _interleaved(seed: int, purpose: str, n: int) -> list[problems.Problem]:
    streams = [problems.train_stream(f, seed, purpose) for f in problems.FAMILIES]
    out: list[problems.Problem] = []
    for group in itertools.islice(zip(*streams, strict=True), math.ceil(n / len(streams))):
        out.extend(group)
    return out[:n]


def sft_pairs(seed: int, n: int) -> list[tuple[str, str]]:
    """(prompt, expert solution) demonstrations from the training split, families interleaved."""
    return [
        (problems.prompt_text(p), problems.solution_text(p) + PROBLEM_END)
        for p in _interleaved(seed, "sft", n)
    ]


def rl_problems(seed: int, per_family: int) -> list[problems.Problem]:
    """Training prompts for the RL step (a stream of their own)."""
    return _interleaved(seed, "rl", per_family * len(problems.FAMILIES))


def _batch(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], eos_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded (input_ids, attention_mask, labels); labels only on completion tokens.

    ``prompt + completion`` is tokenised whole and split at the prompt's token length, as
    requests are scored, then EOS is appended so the model learns to stop.
    """
    seqs: list[list[int]] = []
    starts: list[int] = []
    for prompt, completion in pairs:
        n_prompt = len(tokenizer.encode(prompt).ids)
        ids = [*tokenizer.encode(prompt + completion).ids, eos_id]
        seqs.append(ids)
        starts.append(n_prompt)
    width = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), width), eos_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), -100, dtype=torch.long)
    for k, (ids, start) in enumerate(zip(seqs, starts, strict=True)):
        input_ids[k, : len(ids)] = torch.tensor(ids)
        mask[k, : len(ids)] = 1
        labels[k, start : len(ids)] = torch.tensor(ids[start:])
    return input_ids, mask, labels


def finetune(
    model: Any,
    tokenizer: Any,
    eos_id: int,
    pairs: Sequence[tuple[str, str]],
    steps: int,
    batch_size: int,
    lr: float,
) -> FinetuneStats:
    """Fine-tune on (prompt, completion) pairs in order, cycling; constant LR after 10% warmup."""
    if not pairs or steps <= 0:
        return FinetuneStats(0, 0, float("nan"))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    warm = max(1, steps // 10)
    model.train()
    tokens = 0
    losses: list[float] = []
    for step in range(steps):
        chosen = [pairs[(step * batch_size + j) % len(pairs)] for j in range(batch_size)]
        input_ids, mask, labels = _batch(tokenizer, chosen, eos_id)
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / warm)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        losses.append(float(loss.detach()))
    model.eval()
    return FinetuneStats(steps, tokens, float(sum(losses) / len(losses)))


def rl_steps(n_pairs: int, cfg: PostTrainConfig) -> int:
    """Optimiser steps of the RL fine-tuning: ``rl_epochs`` passes over the kept samples."""
    return math.ceil(cfg.rl_epochs * n_pairs / cfg.rl_batch) if n_pairs else 0

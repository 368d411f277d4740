"""Pretraining loop: AdamW with warmup and cosine decay, log-spaced checkpoints, FLOPs counted.

Deterministic by construction: the caller fixes the seed and the thread count, the rows come in
a fixed order, and training runs in float32 (bf16 autocast is measured in the benchmark, and at
these sizes it is no faster on one thread, so exactness costs nothing). A checkpoint directory is
written to a temporary name and renamed, so a killed build never leaves a half-written model.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and checkpoint schedule of one pretraining run."""

    tokens: int  # tokens seen by the end of the run
    seq_len: int = 128
    batch_size: int = 32
    lr: float = 3e-3
    warmup: float = 0.02  # share of steps
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    n_checkpoints: int = 12
    first_checkpoint: float = 1 / 64  # share of the run at the first checkpoint

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.batch_size

    @property
    def steps(self) -> int:
        return max(1, self.tokens // self.tokens_per_step)


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint of a run."""

    step: int
    tokens: int
    flops: float
    train_loss: float  # mean training loss over the steps since the previous checkpoint
    path: str


def checkpoint_steps(steps: int, n: int, first: float) -> list[int]:
    """``n`` log-spaced steps from ``first``·steps to ``steps`` (distinct, increasing).

    With ``first = 1/64`` and ``n = 12`` the ratio between neighbours is 64^(1/11) ≈ 1.46, which
    puts four checkpoints inside the first 1/18 of the run (what trajectory extrapolation fits on)
    and the run continues to 18x that compute.

    >>> checkpoint_steps(640, 12, 1 / 64)
    [10, 15, 21, 31, 45, 66, 97, 141, 206, 300, 439, 640]
    """
    lo = max(1.0, first * steps)
    out: list[int] = []
    for i in range(n):
        s = round(lo * (steps / lo) ** (i / max(1, n - 1)))
        s = max(s, out[-1] + 1 if out else 1)
        out.append(min(s, steps))
    return sorted(set(out))


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to ``min_lr_ratio``·lr at the last step."""
    warm = max(1, round(cfg.warmup * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(1, cfg.steps - warm)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def atomic_save(save: Callable[[Path], None], target: Path) -> None:
    """Write a directory via ``save(tmp)`` and rename it to ``target``."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save(tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def pretrain(
    model: Any,
    rows: np.ndarray,
    cfg: TrainConfig,
    flops_per_token: float,
    save: Callable[[Any, Path], None],
    out_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    on_checkpoint: Callable[[Any, Checkpoint], None] | None = None,
) -> list[Checkpoint]:
    """Train ``model`` on ``rows`` (cycled if too few) and save the scheduled checkpoints.

    ``on_checkpoint(model, checkpoint)`` runs after each save, on the live model (the testbed
    records its in-training signals there); it must leave the weights as they are.
    """
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay
    )
    saves = set(checkpoint_steps(cfg.steps, cfg.n_checkpoints, cfg.first_checkpoint))
    data = torch.from_numpy(rows.astype(np.int64))
    model.train()
    done: list[Checkpoint] = []
    losses: list[float] = []
    for step in range(cfg.steps):
        idx = torch.arange(step * cfg.batch_size, (step + 1) * cfg.batch_size) % len(data)
        batch = data[idx]
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if step + 1 in saves:
            tokens = (step + 1) * cfg.tokens_per_step
            path = out_dir / f"step-{step + 1:06d}"
            model.eval()
            atomic_save(lambda d: save(model, d), path)
            done.append(
                Checkpoint(
                    step=step + 1,
                    tokens=tokens,
                    flops=flops_per_token * tokens,
                    train_loss=float(np.mean(losses)),
                    path=str(path),
                )
            )
            if on_checkpoint is not None:
                on_checkpoint(model, done[-1])
            model.train()
            losses = []
        if progress is not None:
            progress(step + 1, cfg.steps)
    model.eval()
    return done

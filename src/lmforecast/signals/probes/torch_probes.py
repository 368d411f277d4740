"""Probes trained in torch on soft labels: ``mlp`` (pooled states) and ``attention`` (a learned
query attending over a prompt's per-token states).

Both minimise binary cross-entropy against the soft pass@1 label with Adam, in minibatches, for
a fixed number of epochs; the L2 penalty (Adam's ``weight_decay``) comes from a small grid by
inner cross-validation split by problem (:func:`.probes.choose_by_group_cv`). Inputs are
standardised with statistics of the training rows only (the per-dimension mean and standard
deviation of pooled states, or of every training token for attention). Initialisation, batch
order and dropout are seeded through a forked RNG, so a fit is reproducible and leaves torch's
global RNG as it found it.

The attention probe's query starts at zero, so it starts as mean pooling and learns which
tokens to weight; scores are ``x_t . q / sqrt(hidden)`` over the standardised states, masked to
the prompt's tokens (at most ``max_tokens``, the last ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional as F

from lmforecast.engine.features import PromptFeatures
from lmforecast.signals.probes.probes import (
    PROBES,
    FloatArray,
    ProbeInput,
    choose_by_group_cv,
    pooled_matrix,
)

Collate = Callable[[npt.NDArray[np.int64]], Any]


@dataclass(frozen=True)
class TorchTraining:
    """How a torch probe trains: ``weight_decays`` is the grid the inner CV chooses from."""

    epochs: int = 100
    lr: float = 3e-3
    batch_size: int = 64
    weight_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    inner_folds: int = 3
    seed: int = 0


def train_soft_bce(
    module: nn.Module,
    collate: Collate,
    y: FloatArray,
    index: npt.NDArray[np.int64],
    training: TorchTraining,
    weight_decay: float,
) -> nn.Module:
    """Train ``module`` (inputs -> logits ``[b]``) on the rows ``index`` (RNG already seeded)."""
    opt = torch.optim.Adam(module.parameters(), lr=training.lr, weight_decay=weight_decay)
    targets = torch.tensor(np.asarray(y, dtype=np.float32))
    module.train()
    for _ in range(training.epochs):
        order = index[torch.randperm(len(index)).numpy()]
        for start in range(0, len(order), training.batch_size):
            rows = order[start : start + training.batch_size]
            loss = F.binary_cross_entropy_with_logits(module(collate(rows)), targets[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    module.eval()
    return module


def predict_logits(module: nn.Module, collate: Collate, n: int, batch_size: int) -> FloatArray:
    """Sigmoid of the module's logits for rows ``0 .. n-1``."""
    out = []
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            rows = np.arange(start, min(start + batch_size, n))
            out.append(torch.sigmoid(module(collate(rows))).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


class TorchProbe:
    """Shared fit/predict: subclasses say how to read inputs, collate rows and build a module."""

    training: TorchTraining

    def __init__(self) -> None:
        self.weight_decay: float | None = None
        self._module: nn.Module | None = None

    def _data(self, x: ProbeInput) -> Any:
        raise NotImplementedError

    def _collate(self, data: Any) -> Collate:
        raise NotImplementedError

    def _build(self, data: Any, index: npt.NDArray[np.int64]) -> nn.Module:
        raise NotImplementedError

    def _train(
        self, data: Any, y: FloatArray, index: npt.NDArray[np.int64], weight_decay: float
    ) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.training.seed)
            module = self._build(data, index)
            return train_soft_bce(
                module, self._collate(data), y, index, self.training, weight_decay
            )

    def fit(self, x: ProbeInput, y: FloatArray, groups: npt.NDArray[Any]) -> TorchProbe:
        data = self._data(x)
        y = np.clip(np.asarray(y, dtype=float), 0.0, 1.0)
        t = self.training

        def fit_predict(wd: float, train: npt.NDArray[np.int64], test: npt.NDArray[np.int64]):
            module = self._train(data, y, train, wd)
            collate = self._collate(data)
            return predict_logits(module, lambda r: collate(test[r]), len(test), t.batch_size)

        groups = np.asarray(groups)
        wd = choose_by_group_cv(t.weight_decays, fit_predict, y, groups, t.inner_folds, t.seed)
        self.weight_decay = float(wd)
        self._module = self._train(data, y, np.arange(len(y)), self.weight_decay)
        return self

    def predict_proba(self, x: ProbeInput) -> FloatArray:
        if self._module is None:
            raise RuntimeError("fit the probe first")
        data = self._data(x)
        return predict_logits(self._module, self._collate(data), len(x), self.training.batch_size)


class _Standardise(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: npt.NDArray[Any], std: npt.NDArray[Any]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(np.maximum(std, 1e-6), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


@dataclass(frozen=True)
class MLPOptions:
    """One hidden layer of ``hidden`` units (ReLU, ``dropout``) on pooled states: ``layers``
    (None: all in the features) and ``pooling`` choose them, as for ``logreg``."""

    layers: tuple[int, ...] | None = None
    pooling: tuple[Literal["last", "mean"], ...] = ("last",)
    hidden: int = 64
    dropout: float = 0.1
    training: TorchTraining = TorchTraining()


@PROBES.register("mlp")
class MLPProbe(TorchProbe):
    """A one-hidden-layer MLP on standardised pooled states (or a caller's matrix)."""

    def __init__(self, options: MLPOptions | None = None) -> None:
        super().__init__()
        self.options = options or MLPOptions()
        self.training = self.options.training

    def _data(self, x: ProbeInput) -> torch.Tensor:
        return torch.from_numpy(pooled_matrix(x, self.options.layers, self.options.pooling))

    def _collate(self, data: torch.Tensor) -> Collate:
        return lambda rows: data[torch.from_numpy(np.asarray(rows))]

    def _build(self, data: torch.Tensor, index: npt.NDArray[np.int64]) -> nn.Module:
        train = data[torch.from_numpy(index)].double()
        std = train.std(0, unbiased=False) if len(index) > 1 else torch.ones(train.shape[1])
        o = self.options
        return nn.Sequential(
            _Standardise(train.mean(0).numpy(), std.numpy()),
            nn.Linear(data.shape[1], o.hidden),
            nn.ReLU(),
            nn.Dropout(o.dropout),
            nn.Linear(o.hidden, 1),
            nn.Flatten(0),
        )


@dataclass(frozen=True)
class AttentionOptions:
    """Attention pooling over the per-token states of ``layer`` (a transformers layer number,
    negative from the end; the features must keep tokens), at most the last ``max_tokens``."""

    layer: int = -1
    max_tokens: int = 512
    training: TorchTraining = TorchTraining()


class AttentionPool(nn.Module):
    """A learned query over standardised token states, then a linear head; inputs are
    ``(states [b, T, h], mask [b, T])``."""

    def __init__(self, mean: npt.NDArray[Any], std: npt.NDArray[Any]) -> None:
        super().__init__()
        hidden = len(mean)
        self.standardise = _Standardise(mean, std)
        self.query = nn.Parameter(torch.zeros(hidden))
        self.head = nn.Linear(hidden, 1)
        self.scale = 1.0 / math.sqrt(hidden)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        states, mask = batch
        x = self.standardise(states)
        scores = (x @ self.query) * self.scale
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        pooled = torch.einsum("bt,bth->bh", weights, x)
        return self.head(pooled).squeeze(-1)


def pad_tokens(
    arrays: Sequence[npt.NDArray[Any]], max_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded float32 ``[b, T, h]`` and its boolean mask, keeping each prompt's last
    ``max_tokens`` tokens."""
    kept = [a[-max_tokens:] for a in arrays]
    width = max(len(a) for a in kept)
    states = torch.zeros((len(kept), width, kept[0].shape[1]), dtype=torch.float32)
    mask = torch.zeros((len(kept), width), dtype=torch.bool)
    for i, a in enumerate(kept):
        states[i, : len(a)] = torch.from_numpy(np.asarray(a, dtype=np.float32))
        mask[i, : len(a)] = True
    return states, mask


@PROBES.register("attention")
class AttentionProbe(TorchProbe):
    """Attention pooling over a prompt's tokens at one layer, then a linear head."""

    def __init__(self, options: AttentionOptions | None = None) -> None:
        super().__init__()
        self.options = options or AttentionOptions()
        self.training = self.options.training

    def _data(self, x: ProbeInput) -> tuple[torch.Tensor, torch.Tensor]:
        """Every prompt's states padded once (training reads each row ``epochs`` times:
        padding per batch made the attention probe hundreds of times slower than the MLP)."""
        if not isinstance(x, PromptFeatures):
            raise TypeError("the attention probe reads PromptFeatures with per-token states")
        max_tokens = self.options.max_tokens
        return pad_tokens(x.token_states(self.options.layer), max_tokens)

    def _collate(self, data: tuple[torch.Tensor, torch.Tensor]) -> Collate:
        states, mask = data

        def collate(rows: npt.NDArray[np.int64]) -> tuple[torch.Tensor, torch.Tensor]:
            index = torch.as_tensor(np.asarray(rows, dtype=np.int64))
            m = mask[index]
            width = max(int(m.sum(1).max()), 1) if len(index) else 1
            return states[index, :width], m[:, :width]

        return collate

    def _build(
        self, data: tuple[torch.Tensor, torch.Tensor], index: npt.NDArray[np.int64]
    ) -> nn.Module:
        states, mask = data
        rows = torch.as_tensor(np.asarray(index, dtype=np.int64))
        tokens = states[rows][mask[rows]].double()
        mean = tokens.mean(0).numpy() if len(tokens) else np.zeros(states.shape[-1])
        std = tokens.std(0, unbiased=False).numpy() if len(tokens) else np.ones(states.shape[-1])
        return AttentionPool(mean, std)

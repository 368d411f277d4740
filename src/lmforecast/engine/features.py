"""Hidden states of prompts, from one forward pass each: the inputs of in-training probes.

Probes (Liu et al., 2026) predict a checkpoint's pass@1 on a prompt from its representation of
the prompt alone, before anything is generated, so the only model work is one teacher-forced pass
per prompt. This module does that pass and keeps what every probe architecture needs: per layer,
the state at the last prompt token and the mean over the prompt's tokens (its BOS included, when
the tokenizer adds one), and optionally every token's state (attention pooling and submodel
probes read those). Everything is float16 for storage; the pass itself runs in float32.

Layers are numbered as transformers numbers ``hidden_states``: 0 is the embedding output, ``i``
the output of block ``i`` (1-based), and ``L`` (= ``num_hidden_layers``) the last block's output
*after* the final norm, which is what transformers returns there. Negative indices count from
``L + 1`` (``-1`` = ``L``).

Batches are right-padded with an attention mask: a prompt's real tokens sit at positions
``0 .. n-1`` and attend only to earlier real tokens, so results do not depend on the batch size
(tested to float16 rounding). Prompts are sorted by length before batching to waste little on
padding, and returned in the caller's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

from lmforecast.core.errors import RequestError
from lmforecast.engine.attention import grouped_attention
from lmforecast.models.base import LoadedModel

Pooling = Literal["last", "mean"]
F16 = npt.NDArray[np.float16]
STORAGE_DTYPE = np.float16


@dataclass(frozen=True)
class PromptFeatures:
    """Hidden states of ``n`` prompts at ``layers`` (absolute transformers layer numbers).

    ``last`` and ``mean`` are ``[n, len(layers), hidden]``; ``tokens`` (when kept) holds one
    ``[n_tokens_i, len(layers), hidden]`` array per prompt; ``n_tokens`` is each prompt's token
    count (after truncation). ``num_layers`` is the model's block count, so that a negative
    layer index can be resolved against these features.
    """

    layers: tuple[int, ...]
    num_layers: int
    last: F16
    mean: F16
    n_tokens: npt.NDArray[np.int64]
    tokens: tuple[F16, ...] | None = None

    def __len__(self) -> int:
        return int(self.last.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.last.shape[2])

    def layer_position(self, layer: int) -> int:
        """Where ``layer`` (absolute or negative) sits in :attr:`layers`; an error if absent."""
        absolute = resolve_layer(layer, self.num_layers)
        if absolute not in self.layers:
            raise ValueError(
                f"layer {layer} (= {absolute}) is not among the features' {self.layers}"
            )
        return self.layers.index(absolute)

    def pooled(
        self, pooling: Sequence[Pooling] = ("last",), layers: Sequence[int] | None = None
    ) -> npt.NDArray[np.float32]:
        """``[n, len(pooling) * len(layers) * hidden]`` float32: the chosen poolings and layers,
        concatenated (all layers when ``layers`` is None)."""
        where = [self.layer_position(x) for x in layers] if layers is not None else None
        parts = []
        for name in pooling:
            array = self.last if name == "last" else self.mean
            chosen = array if where is None else array[:, where]
            parts.append(chosen.reshape(len(self), -1))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def token_states(self, layer: int) -> list[F16]:
        """One ``[n_tokens_i, hidden]`` array per prompt at ``layer`` (needs kept tokens)."""
        if self.tokens is None:
            raise ValueError("these features kept no per-token states (keep_tokens=False)")
        j = self.layer_position(layer)
        return [t[:, j] for t in self.tokens]

    def subset(self, index: Sequence[int] | npt.NDArray[np.integer]) -> PromptFeatures:
        """The features of the prompts at ``index`` (in that order)."""
        idx = np.asarray(index, dtype=np.int64)
        tokens = None if self.tokens is None else tuple(self.tokens[i] for i in idx)
        return PromptFeatures(
            self.layers, self.num_layers, self.last[idx], self.mean[idx], self.n_tokens[idx], tokens
        )


def num_hidden_layers(model: LoadedModel) -> int:
    cfg = model.module.config
    cfg = getattr(cfg, "text_config", None) or cfg
    return int(cfg.num_hidden_layers)


def resolve_layer(layer: int, num_layers: int) -> int:
    """``layer`` as a transformers hidden-state index in ``0 .. num_layers``.

    >>> resolve_layer(-1, 4), resolve_layer(0, 4), resolve_layer(-5, 4)
    (4, 0, 0)
    """
    absolute = layer if layer >= 0 else num_layers + 1 + layer
    if not 0 <= absolute <= num_layers:
        raise ValueError(f"layer {layer} is outside 0..{num_layers} (or -{num_layers + 1}..-1)")
    return absolute


def encode_prompts(
    model: LoadedModel, prompts: Sequence[str], truncate: Literal["error", "left"] = "error"
) -> list[list[int]]:
    """Token ids of each prompt (special tokens as the tokenizer adds them by default)."""
    out = []
    for i, prompt in enumerate(prompts):
        ids = model.encode(prompt)
        if not ids:
            raise RequestError(f"prompt {i} encodes to no tokens")
        if len(ids) > model.max_length:
            if truncate == "error":
                raise RequestError(
                    f"prompt {i}: {len(ids)} tokens exceed the {model.max_length}-token context "
                    f"window of {model.name}; pass truncate='left' to keep its end"
                )
            ids = ids[-model.max_length :]
        out.append(ids)
    return out


def _run_batch(
    model: LoadedModel, batch: Sequence[list[int]], layers: tuple[int, ...], pad_id: int
) -> list[torch.Tensor]:
    """One right-padded forward pass: per prompt, a float32 ``[n_tokens, layers, hidden]``."""
    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, ids in enumerate(batch):
        input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[i, : len(ids)] = 1
    result = model.module.base_model(
        input_ids=input_ids.to(model.device),
        attention_mask=mask.to(model.device),
        output_hidden_states=True,
        use_cache=False,
    )
    stacked = torch.stack([result.hidden_states[j] for j in layers], dim=2).float().cpu()
    return [stacked[i, : len(ids)] for i, ids in enumerate(batch)]


def prompt_features(
    model: LoadedModel,
    prompts: Sequence[str],
    layers: Sequence[int],
    *,
    batch_size: int = 8,
    keep_tokens: bool = False,
    truncate: Literal["error", "left"] = "error",
) -> PromptFeatures:
    """Hidden states of every prompt at ``layers`` from one forward pass each (see module doc).

    The model runs in float32 (a half-precision model is cast up for the pass and back after),
    under ``torch.inference_mode``; pooling happens in float32, then everything is stored as
    float16.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not layers:
        raise ValueError("name at least one layer")
    num_layers = num_hidden_layers(model)
    absolute = tuple(dict.fromkeys(resolve_layer(x, num_layers) for x in layers))
    encoded = encode_prompts(model, prompts, truncate)
    pad = model.tokenizer.pad_token_id
    pad_id = int(pad) if pad is not None else model.prefix_token_id
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))
    n, width = len(encoded), len(absolute)
    hidden = int(model.module.get_input_embeddings().weight.shape[1])
    last = np.zeros((n, width, hidden), dtype=STORAGE_DTYPE)
    mean = np.zeros((n, width, hidden), dtype=STORAGE_DTYPE)
    tokens: list[F16 | None] = [None] * n
    dtype = model.dtype
    if dtype != torch.float32:
        model.module.float()
    try:
        with torch.inference_mode(), grouped_attention(model.module):
            for start in range(0, n, batch_size):
                chunk = order[start : start + batch_size]
                states = _run_batch(model, [encoded[i] for i in chunk], absolute, pad_id)
                for i, s in zip(chunk, states, strict=True):
                    last[i] = s[-1].numpy().astype(STORAGE_DTYPE)
                    mean[i] = s.mean(dim=0).numpy().astype(STORAGE_DTYPE)
                    if keep_tokens:
                        tokens[i] = s.numpy().astype(STORAGE_DTYPE)
    finally:
        if dtype != torch.float32:
            model.module.to(dtype)
    kept = tuple(t for t in tokens if t is not None) if keep_tokens else None
    n_tokens = np.array([len(ids) for ids in encoded], dtype=np.int64)
    return PromptFeatures(absolute, num_layers, last, mean, n_tokens, kept)

"""KV caches of shared prefixes, handed to suffix batches without copying what can be shared.

A :class:`Past` is a cache of one or more rows (prefixes) plus which of its stored positions
hold real tokens: packed prefixes of different lengths are right-padded, so a row's cache can
have padding between its prefix and the suffix that continues it. Suffixes continue each row's
own position ids and attend through a mask spanning past + suffix, padding masked out. RoPE
reads the position ids, so full attention is exact across such gaps; sliding-window attention
measures distance in stored positions and is not (the planner does not pack for such models).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import DynamicLayer


@dataclass(frozen=True)
class Past:
    """A KV cache of ``rows`` prefixes. ``valid[r, j]`` is 1 where stored position ``j`` of row
    ``r`` is a real token; ``lengths[r]`` real tokens (the position id of row r's next token)."""

    cache: Any
    valid: torch.Tensor  # [rows, stored positions], long
    lengths: tuple[int, ...]

    @classmethod
    def single(cls, cache: Any, length: int) -> Past:
        return cls(cache, torch.ones((1, length), dtype=torch.long), (length,))


def _dynamic_layers(cache: Any) -> list[Any] | None:
    layers = getattr(cache, "layers", None)
    if layers is None or not all(
        isinstance(layer, DynamicLayer) and layer.is_initialized for layer in layers
    ):
        return None
    return list(layers)


def expand_cache(prefix_cache: Any, rows: int) -> Any:
    """A cache for ``rows`` suffixes under one prefix, sharing the prefix's memory.

    A cache grows as it is used, so each batch needs its own. Instead of copying the prefix's
    keys and values and repeating them per row (two full copies), each layer gets a zero-stride
    ``expand`` view; the first ``torch.cat`` in the layer's update makes the only copy.
    Cache types other than transformers' dynamic (and sliding-window) layers get a deep copy.
    """
    return select_cache(prefix_cache, [0] * rows)


def select_cache(cache: Any, rows: Sequence[int]) -> Any:
    """A fresh cache whose row ``i`` is row ``rows[i]`` of ``cache``; ``cache`` is not changed.

    All rows from one source row: zero-stride views (no copy). Otherwise one gather per layer.
    """
    layers = _dynamic_layers(cache)
    if layers is None:
        out = copy.deepcopy(cache)
        if len(set(rows)) == 1 and rows[0] == 0 and _batch_size(cache) == 1:
            if len(rows) > 1:
                out.batch_repeat_interleave(len(rows))
        else:
            out.batch_select_indices(torch.tensor(list(rows)))
        return out
    out = copy.copy(cache)
    out.layers = []
    same = len(set(rows)) == 1
    index = torch.tensor(list(rows), device=layers[0].keys.device)
    for layer in layers:
        view = copy.copy(layer)
        if same:
            r = rows[0]
            view.keys = layer.keys[r : r + 1].expand(len(rows), *layer.keys.shape[1:])
            view.values = layer.values[r : r + 1].expand(len(rows), *layer.values.shape[1:])
        else:
            view.keys = layer.keys.index_select(0, index)
            view.values = layer.values.index_select(0, index)
        out.layers.append(view)
    return out


def _batch_size(cache: Any) -> int:
    layers = getattr(cache, "layers", None) or []
    for layer in layers:
        keys = getattr(layer, "keys", None)
        if keys is not None:
            return int(keys.shape[0])
    return 1


def has_sliding_window(config: Any) -> bool:
    """Whether any attention layer of this (text) config uses a sliding window."""
    cfg = getattr(config, "text_config", None) or config
    types = getattr(cfg, "layer_types", None)
    if types:
        return any("sliding" in str(t) for t in types)
    return getattr(cfg, "sliding_window", None) is not None and bool(
        getattr(cfg, "use_sliding_window", True)
    )

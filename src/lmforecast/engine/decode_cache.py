"""A KV cache preallocated once per batch: no copy of the past keys at each decoding step.

transformers' ``DynamicLayer`` appends each step's keys with ``torch.cat``, which copies the
whole past every step (O(length^2) memory traffic over a generation); ``StaticCache`` writes in
place but attends over its full preallocated length every step, with a mask. :class:`ArenaLayer`
does neither: keys and values live in a buffer allocated for the prompt plus every new token,
each step writes its slice in place, and attention sees a view of exactly the filled part, so
the attention computed is the one ``DynamicCache`` computes (same shapes, same values) and
greedy decoding stays identical to transformers ``generate``. Sliding-window layers (Gemma's
local attention) keep transformers' own layer.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


class ArenaLayer(DynamicLayer):
    """One attention layer's keys and values in a buffer of ``capacity`` positions."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.length = 0
        self._k: torch.Tensor | None = None
        self._v: torch.Tensor | None = None

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self._k is None or self._v is None:
            b, h, _, d = key_states.shape
            self._k = key_states.new_empty((b, h, self.capacity, d))
            self._v = value_states.new_empty((b, h, self.capacity, value_states.shape[-1]))
            self.dtype, self.device = key_states.dtype, key_states.device
            self.is_initialized = True
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"KV arena full: {end} positions for a capacity of {self.capacity}")
        self._k[:, :, self.length : end].copy_(key_states)
        self._v[:, :, self.length : end].copy_(value_states)
        self.length = end
        self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep (or repeat) the rows ``indices``; only the filled positions are copied."""
        if self._k is None or self._v is None:
            return
        k = self._k.new_empty((len(indices), *self._k.shape[1:]))
        v = self._v.new_empty((len(indices), *self._v.shape[1:]))
        k[:, :, : self.length] = self._k[indices, :, : self.length]
        v[:, :, : self.length] = self._v[indices, :, : self.length]
        self._k, self._v = k, v
        self.keys, self.values = k[:, :, : self.length], v[:, :, : self.length]


def arena_cache(config: Any, capacity: int) -> DynamicCache:
    """A ``DynamicCache`` for ``config`` whose full-attention layers are :class:`ArenaLayer`."""
    cache = DynamicCache(config=config)
    cache.layers = [
        ArenaLayer(capacity) if type(layer) is DynamicLayer else layer for layer in cache.layers
    ]
    return cache

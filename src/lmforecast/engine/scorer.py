"""The scoring engine: one teacher-forced pass per request, shared prefixes run once.

For each work unit the shared prefix is run once (batch 1) and its KV cache copied and expanded
to each batch of suffixes; suffixes are right-padded, continue the prefix's position ids, and
attend to prefix + suffix through a mask spanning both (a suffix-only mask silently gives wrong
scores in transformers 5). Only the positions that predict continuation tokens go through the
output layer, chunk by chunk over the vocabulary (see :mod:`vocab_stats`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from transformers.cache_utils import DynamicLayer

from lmforecast.core.records import Request
from lmforecast.engine.config import ScoreConfig
from lmforecast.engine.encode import EncodedRequest, encode_requests
from lmforecast.engine.plan import WorkUnit, make_plan
from lmforecast.engine.records import RequestScore, ScoringCost
from lmforecast.engine.vocab_stats import OutputHead, streamed_statistics
from lmforecast.models.base import LoadedModel

Progress = Callable[[int, int], None]  # (requests done, tokens scored) since the last call


def output_head(module: Any) -> OutputHead:
    """The model's output layer with the logit transforms its config declares."""
    layer = module.get_output_embeddings()
    cfg = module.config
    text_cfg = getattr(cfg, "text_config", None) or cfg
    softcap = getattr(text_cfg, "final_logit_softcapping", None)
    scale = getattr(text_cfg, "logit_scale", None)
    return OutputHead(
        weight=layer.weight,
        bias=getattr(layer, "bias", None),
        scale=float(scale) if scale else 1.0,
        softcap=float(softcap) if softcap else None,
    )


def expand_cache(prefix_cache: Any, rows: int) -> Any:
    """A cache for ``rows`` suffixes under one prefix, sharing the prefix's memory.

    A cache grows as it is used, so each batch needs its own. Instead of copying the prefix's
    keys and values and repeating them per row (two full copies), each layer gets a zero-stride
    ``expand`` view; the first ``torch.cat`` in the layer's update makes the only copy.
    Cache types other than transformers' dynamic (and sliding-window) layers get a deep copy.
    """
    layers = getattr(prefix_cache, "layers", None)
    if layers is None or not all(
        isinstance(layer, DynamicLayer) and layer.is_initialized for layer in layers
    ):
        cache = copy.deepcopy(prefix_cache)
        if rows > 1:
            cache.batch_repeat_interleave(rows)
        return cache
    cache = copy.copy(prefix_cache)
    cache.layers = []
    for layer in layers:
        view = copy.copy(layer)
        view.keys = layer.keys.expand(rows, *layer.keys.shape[1:])
        view.values = layer.values.expand(rows, *layer.values.shape[1:])
        cache.layers.append(view)
    return cache


class ScoringEngine:
    """Scores requests under one model. Results do not depend on batch size or prefix sharing."""

    def __init__(self, model: LoadedModel, config: ScoreConfig | None = None) -> None:
        self.model = model
        self.config = config or ScoreConfig()
        self.body = model.module.base_model
        self.head = output_head(model.module)
        self.device = model.device
        num_layers = int(
            getattr(
                getattr(model.module.config, "text_config", None) or model.module.config,
                "num_hidden_layers",
                0,
            )
        )
        self.hidden_layers = tuple(
            layer if layer >= 0 else num_layers + 1 + layer for layer in self.config.hidden_layers
        )
        pad = model.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        self._forward_tokens = 0
        self._attended_pairs = 0  # (query, key) pairs of causal attention, for the FLOPs count
        self._scored_tokens = 0
        self._seconds = 0.0
        self._last_prefix: tuple[tuple[int, ...], Any] | None = None

    # -- planning ---------------------------------------------------------------------------
    def encode(self, requests: Sequence[Request]) -> list[EncodedRequest]:
        return encode_requests(self.model, requests, self.config.truncate)

    def plan(self, encoded: Sequence[EncodedRequest]) -> list[WorkUnit]:
        return make_plan(encoded, self.config)

    # -- running ----------------------------------------------------------------------------
    def score(
        self, requests: Sequence[Request], progress: Progress | None = None
    ) -> list[RequestScore]:
        """Score every request; results in request order."""
        return self.score_encoded(self.encode(requests), progress)

    def score_encoded(
        self, encoded: Sequence[EncodedRequest], progress: Progress | None = None
    ) -> list[RequestScore]:
        """Score pre-tokenised requests (rolling windows, token-level callers); input order."""
        by_index = {e.index: e for e in encoded}
        if len(by_index) != len(encoded):
            raise ValueError("encoded requests must have distinct indices")
        results: dict[int, RequestScore] = {}
        for unit in self.plan(encoded):
            for score in self.run_unit(unit, by_index, progress):
                results[score.request_index] = score
        return [results[e.index] for e in encoded]

    def run_unit(
        self,
        unit: WorkUnit,
        by_index: dict[int, EncodedRequest],
        progress: Progress | None = None,
    ) -> list[RequestScore]:
        """Score one work unit (its prefix once, then its suffixes in batches)."""
        start = time.perf_counter()
        members = [by_index[i] for i in unit.members]
        prefix_len = unit.prefix_length
        out: list[RequestScore] = []
        with torch.inference_mode():
            cache = self._prefix_cache(members[0].input_ids[:prefix_len]) if prefix_len else None
            for b0 in range(0, len(members), self.config.batch_size):
                batch = members[b0 : b0 + self.config.batch_size]
                out.extend(self._run_batch(batch, prefix_len, cache))
                if progress is not None:
                    progress(len(batch), sum(len(r.targets) for r in batch))
        self._seconds += time.perf_counter() - start
        return out

    def _prefix_cache(self, prefix: Sequence[int]) -> Any:
        """The KV cache of a shared prefix, run once and kept for the next unit.

        Work units are cut to a fixed number of requests (one stored shard each), so a long
        few-shot prompt shared by a whole task spans many units; keeping the last prefix's cache
        runs it once per task instead of once per unit. Batches never write into it (see
        :func:`expand_cache`), so reuse is exact.
        """
        key = tuple(prefix)
        if self._last_prefix is not None and self._last_prefix[0] == key:
            return self._last_prefix[1]
        ids = torch.tensor([list(prefix)], device=self.device)
        cache = self.body(input_ids=ids, use_cache=True).past_key_values
        self._forward_tokens += len(prefix)
        self._attended_pairs += len(prefix) * (len(prefix) + 1) // 2
        self._last_prefix = (key, cache)
        return cache

    def _run_batch(
        self,
        batch: Sequence[EncodedRequest],
        prefix_len: int,
        prefix_cache: Any,
    ) -> list[RequestScore]:
        rows = len(batch)
        suffixes = [r.input_ids[prefix_len:] for r in batch]
        width = max(len(s) for s in suffixes)
        ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((rows, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        for i, s in enumerate(suffixes):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, prefix_len : prefix_len + len(s)] = 1
        positions = torch.arange(prefix_len, prefix_len + width).expand(rows, width)
        kwargs: dict[str, Any] = {}
        if prefix_cache is not None:
            kwargs["past_key_values"] = expand_cache(prefix_cache, rows)
        result = self.body(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=prefix_cache is not None,
            output_hidden_states=bool(self.hidden_layers),
            **kwargs,
        )
        hidden = result.last_hidden_state
        self._forward_tokens += sum(len(s) for s in suffixes)
        self._attended_pairs += sum(
            len(s) * prefix_len + len(s) * (len(s) + 1) // 2 for s in suffixes
        )
        # Gather the positions that predict continuation tokens, row by row, without padding.
        row_idx: list[int] = []
        col_idx: list[int] = []
        targets: list[int] = []
        for i, r in enumerate(batch):
            first = r.score_start - prefix_len
            row_idx.extend([i] * len(r.targets))
            col_idx.extend(range(first, first + len(r.targets)))
            targets.extend(r.targets)
        sel_rows = torch.tensor(row_idx, device=self.device)
        sel_cols = torch.tensor(col_idx, device=self.device)
        stats = streamed_statistics(
            hidden[sel_rows, sel_cols],
            torch.tensor(targets, device=self.device),
            self.head,
            self.config.vocab_chunk_elements,
        )
        self._scored_tokens += len(targets)
        pooled = self._pool_hidden(batch, prefix_len, result)
        logprob = stats.logprob.double().cpu().numpy()
        entropy = stats.entropy.cpu().numpy()
        rank = stats.rank.cpu().numpy()
        top1_prob = stats.top1_prob.cpu().numpy()
        top1_id = stats.top1_id.cpu().numpy()
        out = []
        offset = 0
        for i, r in enumerate(batch):
            n = len(r.targets)
            sl = slice(offset, offset + n)
            offset += n
            out.append(
                RequestScore(
                    request_index=r.index,
                    target_ids=np.asarray(r.targets, dtype=np.int32),
                    logprob=logprob[sl].astype(np.float32),
                    entropy=entropy[sl].astype(np.float32),
                    rank=rank[sl].astype(np.int32),
                    top1_prob=top1_prob[sl].astype(np.float32),
                    top1_id=top1_id[sl].astype(np.int32),
                    logprob_sum=float(logprob[sl].sum(dtype=np.float64)),
                    num_bytes=r.num_bytes,
                    truncated=r.truncated,
                    hidden=pooled[i] if pooled else {},
                    weights=None if r.weights is None else np.asarray(r.weights, np.float64),
                )
            )
        return out

    def _pool_hidden(
        self,
        batch: Sequence[EncodedRequest],
        prefix_len: int,
        result: Any,
    ) -> list[dict[str, np.ndarray]]:
        """Pooled hidden states per request: the last context token and/or the mean over the
        positions that predict the continuation (both lie in the suffix, never in the shared
        prefix: see plan.group_by_prefix)."""
        if not self.hidden_layers:
            return []
        states = result.hidden_states
        pooled: list[dict[str, np.ndarray]] = []
        for i, r in enumerate(batch):
            first = r.score_start - prefix_len
            entry = {}
            for layer in self.hidden_layers:
                h = states[layer][i].float()
                if "last" in self.config.hidden_pooling:
                    entry[f"L{layer}_last"] = h[first].cpu().numpy()
                if "mean" in self.config.hidden_pooling:
                    entry[f"L{layer}_mean"] = (
                        h[first : first + len(r.targets)].mean(0).cpu().numpy()
                    )
            pooled.append(entry)
        return pooled

    # -- cost -------------------------------------------------------------------------------
    def cost(self) -> ScoringCost:
        """Cost of everything this engine has scored so far.

        FLOPs: 2 per weight per forward token in the body, 2 per output-layer weight per scored
        position, and causal attention's score and weighted-sum products (4 * layers * d_attn
        per attended (query, key) pair; padding not counted, sliding-window layers counted as
        full: an upper bound).
        """
        n_body = self.model.num_parameters - self.head.weight.numel()
        per_pair = self.model.flops_per_token(1) - self.model.flops_per_token(0)
        attention = per_pair * self._attended_pairs
        flops = (
            2.0 * n_body * self._forward_tokens
            + 2.0 * self.head.weight.numel() * self._scored_tokens
            + attention
        )
        return ScoringCost(
            seconds=self._seconds,
            forward_tokens=self._forward_tokens,
            scored_tokens=self._scored_tokens,
            flops=flops,
        )


def score_requests(
    model: LoadedModel,
    requests: Iterable[Request],
    config: ScoreConfig | None = None,
    progress: Progress | None = None,
) -> list[RequestScore]:
    """Convenience: score requests with a fresh engine."""
    return ScoringEngine(model, config).score(list(requests), progress)

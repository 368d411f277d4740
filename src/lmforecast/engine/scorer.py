"""The scoring engine: one teacher-forced pass per request, shared prefixes run once.

For each work unit the shared prefix is run once (batch 1) and its KV cache expanded (not
copied) to each batch of suffixes; suffixes are right-padded, continue the prefix's position
ids, and attend to prefix + suffix through a mask spanning both (a suffix-only mask silently
gives wrong scores in transformers 5). A packed unit (several small groups) runs the part its
prefixes share once, their remainders as one batch on top, and batches suffixes of different
groups together, each over its own prefix's cache row (see :mod:`kvcache`). Only the
positions that predict continuation tokens go through the output layer, chunk by chunk over
the vocabulary (see :mod:`vocab_stats`). Grouped-query models attend without copying their
key/value heads (see :mod:`attention`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from lmforecast.core.records import Request
from lmforecast.engine.attention import grouped_attention
from lmforecast.engine.config import ScoreConfig
from lmforecast.engine.encode import EncodedRequest, encode_requests
from lmforecast.engine.kvcache import Past, has_sliding_window, select_cache
from lmforecast.engine.plan import PrefixGroup, WorkUnit, common_prefix_length, make_plan
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
        # Packing puts padding between a prefix and its suffix: exact for full attention only.
        self.packs = not has_sliding_window(model.module.config)

    # -- planning ---------------------------------------------------------------------------
    def encode(self, requests: Sequence[Request]) -> list[EncodedRequest]:
        return encode_requests(self.model, requests, self.config.truncate)

    def plan(self, encoded: Sequence[EncodedRequest]) -> list[WorkUnit]:
        return make_plan(encoded, self.config, pack=self.packs)

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
        """Score one work unit: its prefixes once, then its suffixes in batches."""
        start = time.perf_counter()
        prefix_of = unit.prefix_lengths()
        members = sorted(
            (by_index[i] for i in unit.members),
            key=lambda r: (-(len(r.input_ids) - prefix_of[r.index]), r.index),
        )
        out: list[RequestScore] = []
        # Grouped-query attention without key/value copies (see :mod:`.attention`).
        with torch.inference_mode(), grouped_attention(self.model.module):
            past, row_of = self._unit_past(unit.groups, by_index)
            for b0 in range(0, len(members), self.config.batch_size):
                batch = members[b0 : b0 + self.config.batch_size]
                rows = [row_of.get(r.index, 0) for r in batch]
                out.extend(self._run_batch(batch, [prefix_of[r.index] for r in batch], past, rows))
                if progress is not None:
                    progress(len(batch), sum(len(r.targets) for r in batch))
        self._seconds += time.perf_counter() - start
        return out

    def _unit_past(
        self, groups: Sequence[PrefixGroup], by_index: dict[int, EncodedRequest]
    ) -> tuple[Past | None, dict[int, int]]:
        """The prefixes' cache and each member's row in it (no prefix: ``None``).

        Several groups: the tokens all their prefixes share (a task's few-shot prompt) run once
        (and are kept for the next unit); each group's remainder runs as one row of a batch on
        top of them, so the cache has one row per group.
        """
        heads = [by_index[g.members[0]].input_ids[: g.prefix_length] for g in groups]
        if len(groups) == 1:
            if not heads[0]:
                return None, {}
            return Past.single(self._prefix_cache(heads[0]), len(heads[0])), {}
        assert all(heads), "packed groups all have a prefix"
        base = min(common_prefix_length(heads[0], h) for h in heads)
        base_past = None
        if base >= self.config.min_prefix_tokens:
            base_past = Past.single(self._prefix_cache(heads[0][:base]), base)
        else:
            base = 0
        rests = [h[base:] for h in heads]
        result, mask = self._forward(rests, base_past, [0] * len(heads), cache=True)
        valid = (
            mask
            if base_past is None
            else torch.cat([base_past.valid.expand(len(heads), -1), mask], 1)
        )
        past = Past(result.past_key_values, valid, tuple(len(h) for h in heads))
        row_of = {i: row for row, g in enumerate(groups) for i in g.members}
        return past, row_of

    def _prefix_cache(self, prefix: Sequence[int]) -> Any:
        """The KV cache of a shared prefix, run once and kept for the next unit.

        Work units are cut to a fixed number of requests (one stored shard each), so a long
        few-shot prompt shared by a whole task spans many units; keeping the last prefix's cache
        runs it once per task instead of once per unit. Batches never write into it (see
        :func:`kvcache.select_cache`), so reuse is exact.
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

    def _forward(
        self,
        tokens: Sequence[Sequence[int]],
        past: Past | None,
        rows: Sequence[int],
        cache: bool = False,
        hidden: bool = False,
    ) -> tuple[Any, torch.Tensor]:
        """One body pass of right-padded ``tokens``, row ``i`` continuing row ``rows[i]`` of
        ``past``; returns the model output and the new tokens' mask [rows, width]."""
        n = len(tokens)
        width = max(1, max(len(t) for t in tokens))
        ids = torch.full((n, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        for i, t in enumerate(tokens):
            ids[i, : len(t)] = torch.tensor(t, dtype=torch.long)
            mask[i, : len(t)] = 1
        starts = [0] * n if past is None else [past.lengths[r] for r in rows]
        positions = torch.tensor(starts)[:, None] + torch.arange(width)[None, :]
        kwargs: dict[str, Any] = {}
        full_mask = mask
        if past is not None:
            full_mask = torch.cat([past.valid[torch.tensor(list(rows))], mask], 1)
            kwargs["past_key_values"] = select_cache(past.cache, rows)
        result = self.body(
            input_ids=ids.to(self.device),
            attention_mask=full_mask.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=cache or past is not None,
            output_hidden_states=hidden,
            **kwargs,
        )
        self._forward_tokens += sum(len(t) for t in tokens)
        self._attended_pairs += sum(
            len(t) * s + len(t) * (len(t) + 1) // 2 for t, s in zip(tokens, starts, strict=True)
        )
        return result, mask

    def _run_batch(
        self,
        batch: Sequence[EncodedRequest],
        prefix_lens: Sequence[int],
        past: Past | None,
        rows: Sequence[int],
    ) -> list[RequestScore]:
        suffixes = [r.input_ids[p:] for r, p in zip(batch, prefix_lens, strict=True)]
        result, _ = self._forward(suffixes, past, rows, hidden=bool(self.hidden_layers))
        hidden = result.last_hidden_state
        # Gather the positions that predict continuation tokens, row by row, without padding.
        row_idx: list[int] = []
        col_idx: list[int] = []
        targets: list[int] = []
        for i, (r, p) in enumerate(zip(batch, prefix_lens, strict=True)):
            first = r.score_start - p
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
        pooled = self._pool_hidden(batch, prefix_lens, result)
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
        prefix_lens: Sequence[int],
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
            first = r.score_start - prefix_lens[i]
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

"""Batched generation with a KV cache: greedy or sampled, reproducible, with stop sequences.

Why our own loop instead of ``module.generate``: we need (1) samples that do not depend on the
batch (each row's randomness is a counter-based function of the run seed, the prompt's index,
the sample's index and the step: :mod:`.decode_rng`), (2) lm-eval's stop-sequence semantics on
*decoded text*, (3) the n samples of a prompt decoded from one prefill of it, and (4) speed: a
KV cache preallocated per batch (:mod:`.decode_cache`), the next tokens of all rows chosen by
one vectorised op (:mod:`.decode_sample`) and no Python work per row per step
(:mod:`.decode_loop`).

Design choices:

- Prompts are tokenised with the model's own setting (BOS where the tokenizer adds one), sorted
  by length (longest first, as lm-eval does, so a memory problem shows up in the first batch) and
  left-padded; position ids come from the attention mask (as transformers ``generate`` makes
  them), so padding never shifts a position and greedy tokens equal ``generate``'s.
- A prompt longer than ``model.max_length - max_tokens`` is left-truncated (as lm-eval does) and
  the number of dropped tokens is recorded on each :class:`Generation`.
- Sampling is inverse-CDF in float64 with one uniform per (row, step): the same seed gives the
  same samples at any batch size and order, up to float32 differences in the logits of a padded
  batch (which could flip a draw that lands within ~1e-6 of a token boundary).
- Greedy (``temperature == 0``) is deterministic, so ``n_samples`` greedy samples are generated
  once and repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from pydantic import BaseModel, ConfigDict, Field

from lmforecast.engine.attention import grouped_attention
from lmforecast.engine.decode_loop import (
    Decoded,
    DecodeRow,
    DecodeSettings,
    FinishReason,
    decode_batch,
    trim_at_stop,
)
from lmforecast.engine.decode_rng import RNG_VERSION, row_key
from lmforecast.models import LoadedModel

__all__ = [
    "RNG_VERSION",
    "FinishReason",
    "Generation",
    "GenerationConfig",
    "generate",
    "trim_at_stop",
]


class GenerationConfig(BaseModel):
    """How to generate. ``temperature == 0`` is greedy; ``max_tokens=None`` defers to the task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int = 0
    n_samples: int = Field(1, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    stop: tuple[str, ...] = ()
    batch_size: int = Field(16, ge=1)
    ignore_eos: bool = Field(
        False, description="keep generating past EOS (benchmarks: a fixed token count, as vLLM)"
    )
    share_prompt_cache: bool = Field(
        True,
        description="prefill each prompt once and copy its KV cache to its n sample rows",
    )
    logprobs: bool = Field(
        False,
        description="record each generated token's log-probability under the model's own "
        "distribution (temperature 1, float64 log-softmax): rBridge's trace weights",
    )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class Generation:
    """One generated completion; ``text`` is already trimmed at the first stop sequence."""

    text: str
    num_tokens: int  # tokens generated (the cost), including any past the stop string
    finish_reason: FinishReason
    prompt_tokens: int = 0  # prompt tokens actually fed (after truncation)
    truncated_tokens: int = 0  # prompt tokens dropped on the left to fit model.max_length
    token_ids: tuple[int, ...] = field(default=(), repr=False)
    # One per token of ``token_ids`` when ``GenerationConfig.logprobs``, else empty.
    token_logprobs: tuple[float, ...] = field(default=(), repr=False)


DEFAULT_MAX_TOKENS = 256


def _rows(
    model: LoadedModel,
    prompts: Sequence[str],
    indices: list[int],
    config: GenerationConfig,
    keep_len: int,
) -> tuple[list[DecodeRow], list[int]]:
    """The rows to decode (one per sample; one per prompt when greedy) and, per prompt, the
    tokens cut from its left to fit ``keep_len``."""
    rows: list[DecodeRow] = []
    truncated: list[int] = []
    for p, prompt in enumerate(prompts):
        ids = model.encode(prompt)
        if not ids:
            ids = [model.prefix_token_id]  # an empty prompt is conditioned on BOS/EOS
        dropped = max(0, len(ids) - keep_len)
        truncated.append(dropped)
        for s in range(1 if config.greedy else config.n_samples):
            key = None if config.greedy else row_key(config.seed, indices[p], s)
            rows.append(DecodeRow(p, tuple(ids[dropped:]), key))
    return rows, truncated


def generate(
    model: LoadedModel,
    prompts: Sequence[str],
    config: GenerationConfig,
    progress: Callable[[int, int], None] | None = None,
    *,
    prompt_indices: Sequence[int] | None = None,
    on_tokens: Callable[[int], None] | None = None,
) -> list[list[Generation]]:
    """Generate ``config.n_samples`` completions for each prompt.

    ``prompt_indices`` are the indices that seed each prompt's samples (default: the position in
    ``prompts``); pass global indices when generating a slice of a task, so a resumed or sharded
    run draws the same samples as a whole one. ``progress(done, total)`` counts finished
    sequences; ``on_tokens(n)`` is called after every decoding step with the tokens it produced.
    """
    if prompt_indices is not None and len(prompt_indices) != len(prompts):
        raise ValueError("prompt_indices must have one entry per prompt")
    indices = list(prompt_indices) if prompt_indices is not None else list(range(len(prompts)))
    max_new = config.max_tokens if config.max_tokens is not None else DEFAULT_MAX_TOKENS
    max_new = max(1, min(max_new, model.max_length - 1))

    rows, truncated = _rows(model, prompts, indices, config, model.max_length - max_new)

    total, done = len(rows), 0

    def finished(n: int) -> None:  # one report per finished row, as callers count them
        nonlocal done
        for _ in range(n):
            done += 1
            if progress is not None:
                progress(done, total)

    eos = tuple(model.eos_token_ids)
    settings = DecodeSettings(
        max_new=max_new,
        temperature=config.temperature,
        top_p=config.top_p,
        eos=() if config.ignore_eos else eos,
        stop=tuple(s for s in config.stop if s),
        text=lambda ids: model.decode([t for t in ids if t not in eos]),
        share_prefill=config.share_prompt_cache,
        logprobs=config.logprobs,
    )
    order = sorted(range(total), key=lambda i: -len(rows[i].ids))  # stable: ties keep order
    decoded: dict[int, Decoded] = {}
    # Prefill attends with the key/value groups unexpanded (bit-identical, see .attention).
    with torch.inference_mode(), grouped_attention(model.module):
        for start in range(0, total, config.batch_size):
            batch = order[start : start + config.batch_size]
            out = decode_batch(model, [rows[i] for i in batch], settings, finished, on_tokens)
            decoded.update(zip(batch, out, strict=True))

    results: list[list[Generation]] = [[] for _ in prompts]
    for i, r in enumerate(rows):
        d = decoded[i]
        text, _ = trim_at_stop(settings.text(list(d.tokens)), settings.stop)
        results[r.prompt].append(
            Generation(
                text=text,
                num_tokens=len(d.tokens),
                finish_reason=d.finish,
                prompt_tokens=len(r.ids),
                truncated_tokens=truncated[r.prompt],
                token_ids=d.tokens,
                token_logprobs=d.logprobs,
            )
        )
    if config.greedy:  # greedy: every sample is the same sequence
        results = [gens * config.n_samples for gens in results]
    return results

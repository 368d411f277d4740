"""Batched generation with a KV cache: greedy or sampled, reproducible, with stop sequences.

Why our own loop instead of ``module.generate``: we need (1) samples that do not depend on the
batch size (each sequence draws its randomness from its own generator, seeded from the run seed,
the prompt's index and the sample's index), (2) lm-eval's stop-sequence semantics on *decoded
text*, and (3) per-sequence early exit so one long answer does not make a whole batch pay for
padding.

Design choices:

- Prompts are tokenised with the model's own setting (BOS where the tokenizer adds one), sorted
  by length (longest first, as lm-eval does, so a memory problem shows up in the first batch) and
  left-padded; position ids come from the attention mask, so padding never shifts a position.
- Finished sequences are **dropped** from the batch (``Cache.batch_select_indices``), not carried
  along masked: the remaining rows keep decoding without wasted compute.
- A prompt longer than ``model.max_length - max_tokens`` is left-truncated (as lm-eval does) and
  the number of dropped tokens is recorded on each :class:`Generation`.
- Sampling is done on the CPU in float64 by inverse-CDF with one uniform draw per step from the
  sequence's own ``torch.Generator``: the same seed gives the same samples at any batch size, up
  to float32 differences in the logits of a padded batch (which could flip a draw that lands
  within ~1e-6 of a token boundary).
- Greedy (``temperature == 0``) is deterministic, so ``n_samples`` greedy samples are generated
  once and repeated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from transformers import DynamicCache

from lmforecast.models import LoadedModel

FinishReason = Literal["stop", "length", "eos"]


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


def sample_seed(seed: int, prompt_index: int, sample_index: int) -> int:
    """A 63-bit seed for one sequence, independent of batching and ordering.

    >>> sample_seed(0, 1, 2) == sample_seed(0, 1, 2) != sample_seed(0, 2, 1)
    True
    """
    digest = hashlib.sha256(f"{seed}:{prompt_index}:{sample_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def trim_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the earliest occurrence of any stop string (lm-eval's ``until``).

    >>> trim_at_stop("18.\\n\\nQuestion: x", ["Question:", "\\n\\n"])
    ('18.', True)
    >>> trim_at_stop("no stop here", ["\\n\\n"])
    ('no stop here', False)
    """
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    return text[:cut], cut < len(text)


@dataclass
class _Row:
    """A sequence being decoded (mutable working state, not a record)."""

    prompt_index: int
    sample_index: int
    prompt_ids: list[int]
    truncated: int
    generator: torch.Generator | None
    generated: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish: FinishReason | None = None
    text: str = ""


def _choose(logits: torch.Tensor, row: _Row, config: GenerationConfig) -> int:
    """Next token for one row: argmax, or one inverse-CDF draw from its own generator."""
    if config.greedy or row.generator is None:
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits.detach().to("cpu", torch.float64) / config.temperature, dim=-1)
    order: torch.Tensor | None = None
    if config.top_p < 1.0:
        probs, order = torch.sort(probs, descending=True, stable=True)
        before = torch.cumsum(probs, 0) - probs  # mass strictly above each token
        probs = torch.where(before < config.top_p, probs, torch.zeros_like(probs))
    cdf = torch.cumsum(probs, 0)
    u = torch.rand((), generator=row.generator, dtype=torch.float64) * cdf[-1]
    idx = int(torch.searchsorted(cdf, u, right=True).clamp(max=cdf.numel() - 1).item())
    while probs[idx] == 0 and idx > 0:  # u landed exactly on a boundary before a zeroed tail
        idx -= 1
    return int(order[idx].item()) if order is not None else idx


def _logprob(logits: torch.Tensor, token: int) -> float:
    """log p(token) under the unscaled distribution, in float64."""
    return float(torch.log_softmax(logits.detach().to("cpu", torch.float64), dim=-1)[token])


def _forward(
    model: LoadedModel,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    positions: torch.Tensor,
    cache: DynamicCache,
) -> torch.Tensor:
    """Logits of the last position only (never a [batch, seq, vocab] tensor for the prompt)."""
    out = model.module(
        input_ids=input_ids,
        attention_mask=mask,
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    return out.logits[:, -1, :]


def _prefill(
    model: LoadedModel, rows: list[_Row], pad: int, cache: DynamicCache, share: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the prompts once and return (last logits, attention mask, last position) per row.

    With ``share``, the rows that sample the same prompt are prefilled once and the cache,
    logits and mask are then copied to each of them (``batch_select_indices`` with repeated
    indices): n samples of a prompt cost one prefill, not n. Each row still draws from its own
    generator, so the samples are those drawn without sharing.
    """
    device = model.device
    firsts: dict[int, int] = {}
    if share:
        for r in rows:
            firsts.setdefault(r.prompt_index, len(firsts))
        unique = [next(r for r in rows if r.prompt_index == p) for p in firsts]
    else:
        unique = rows
    width = max(len(r.prompt_ids) for r in unique)
    input_ids = torch.full((len(unique), width), pad, dtype=torch.long)
    mask = torch.zeros((len(unique), width), dtype=torch.long)
    for k, r in enumerate(unique):
        n = len(r.prompt_ids)
        input_ids[k, width - n :] = torch.tensor(r.prompt_ids, dtype=torch.long)
        mask[k, width - n :] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = _forward(model, input_ids, mask, positions, cache)
    last_pos = positions[:, -1]
    if share and len(unique) < len(rows):
        index = torch.tensor(
            [firsts[r.prompt_index] for r in rows], dtype=torch.long, device=device
        )
        cache.batch_select_indices(index)
        logits, mask, last_pos = logits[index], mask[index], last_pos[index]
    return logits, mask, last_pos


def _decode_batch(
    model: LoadedModel,
    rows: list[_Row],
    config: GenerationConfig,
    max_new: int,
    stop: tuple[str, ...],
    on_finish: Callable[[], None],
    on_tokens: Callable[[int], None] | None,
) -> None:
    device = model.device
    pad = model.tokenizer.pad_token_id
    pad = int(pad) if pad is not None else (model.eos_token_ids or [0])[0]
    eos = set() if config.ignore_eos else set(model.eos_token_ids)
    cache = DynamicCache(config=model.module.config)
    logits, mask, last_pos = _prefill(model, rows, pad, cache, config.share_prompt_cache)
    active = list(rows)
    longest_stop = max((len(s) for s in stop), default=0)
    for _ in range(max_new):
        next_ids = []
        for k, r in enumerate(active):
            tok = _choose(logits[k], r, config)
            next_ids.append(tok)
            r.generated.append(tok)
            if config.logprobs:
                r.logprobs.append(_logprob(logits[k], tok))
            if tok in eos:
                r.finish = "eos"
                continue
            if stop:
                # Decode the whole continuation: a stop string can span token boundaries and
                # byte-level tokens only decode correctly in context.
                text = model.decode([t for t in r.generated if t not in eos])
                tail_from = max(0, len(r.text) - longest_stop)
                if trim_at_stop(text[tail_from:], stop)[1]:
                    r.finish = "stop"
                r.text = text
            if r.finish is None and len(r.generated) >= max_new:
                r.finish = "length"
        if on_tokens is not None:
            on_tokens(len(active))
        keep = [k for k, r in enumerate(active) if r.finish is None]
        for r in active:
            if r.finish is not None:
                on_finish()
        if not keep:
            break
        step_ids = torch.tensor([next_ids[k] for k in keep], dtype=torch.long, device=device)
        if len(keep) < len(active):
            index = torch.tensor(keep, dtype=torch.long, device=device)
            cache.batch_select_indices(index)
            mask, last_pos = mask[index], last_pos[index]
            active = [active[k] for k in keep]
        mask = torch.cat([mask, torch.ones((len(active), 1), dtype=mask.dtype, device=device)], 1)
        last_pos = last_pos + 1
        logits = _forward(model, step_ids[:, None], mask, last_pos[:, None], cache)
    for r in active:  # max_new == 0 cannot happen (validated), but keep the state whole
        if r.finish is None:
            r.finish = "length"


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
    keep_len = model.max_length - max_new
    n_draw = 1 if config.greedy else config.n_samples

    rows: list[_Row] = []
    for p, prompt in enumerate(prompts):
        ids = model.encode(prompt)
        if not ids:
            ids = [model.prefix_token_id]  # an empty prompt is conditioned on BOS/EOS
        dropped = max(0, len(ids) - keep_len)
        ids = ids[dropped:]
        for s in range(n_draw):
            gen = None
            if not config.greedy:
                gen = torch.Generator(device="cpu")
                gen.manual_seed(sample_seed(config.seed, indices[p], s))
            rows.append(_Row(p, s, ids, dropped, gen))

    total = len(rows)
    done = 0

    def finished() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    order = sorted(rows, key=lambda r: -len(r.prompt_ids))  # stable: ties keep input order
    stop = tuple(s for s in config.stop if s)
    with torch.inference_mode():
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            _decode_batch(model, batch, config, max_new, stop, finished, on_tokens)

    eos = set(model.eos_token_ids)
    results: list[list[Generation]] = [[] for _ in prompts]
    for r in rows:
        text = model.decode([t for t in r.generated if t not in eos])
        text, _ = trim_at_stop(text, stop)
        assert r.finish is not None
        results[r.prompt_index].append(
            Generation(
                text=text,
                num_tokens=len(r.generated),
                finish_reason=r.finish,
                prompt_tokens=len(r.prompt_ids),
                truncated_tokens=r.truncated,
                token_ids=tuple(r.generated),
                token_logprobs=tuple(r.logprobs),
            )
        )
    if n_draw < config.n_samples:  # greedy: every sample is the same sequence
        results = [gens * config.n_samples for gens in results]
    return results

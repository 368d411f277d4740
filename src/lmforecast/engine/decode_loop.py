"""The decoding loop of one batch: prefill once per prompt, then one forward per step for all rows.

Per step there is no Python work per row: the next tokens of all rows come from one vectorised
op (:mod:`.decode_sample`), end-of-sequence is a done mask over token ids, and finished rows
stay in the batch (masked out of the results) until at most half the rows are alive, when the
batch is compacted once (so a long answer does not make the batch pay for its finished rows,
and compaction costs at most log2(batch) cache copies). Stop strings need the decoded text,
so they are checked every ``check_every`` steps (and when a row ends otherwise); a hit is then
located at the exact step where the stop string first appears, so the recorded tokens, token
count and finish reason are those a check at every step gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from lmforecast.engine.decode_cache import arena_cache
from lmforecast.engine.decode_sample import choose_tokens, token_logprobs
from lmforecast.models import LoadedModel

FinishReason = Literal["stop", "length", "eos"]
_NONE, _EOS, _STOP, _LENGTH = 0, 1, 2, 3
_REASONS: dict[int, FinishReason] = {_EOS: "eos", _STOP: "stop", _LENGTH: "length"}


@dataclass(frozen=True)
class DecodeRow:
    """One sequence to decode: its prompt (rows of one prompt share a prefill), its random key."""

    prompt: int
    ids: tuple[int, ...]
    key: int | None  # counter-based RNG key (``decode_rng.row_key``); None when greedy


@dataclass(frozen=True)
class DecodeSettings:
    max_new: int
    temperature: float
    top_p: float
    eos: tuple[int, ...]  # ids that end a row (empty with ignore_eos)
    stop: tuple[str, ...]
    text: Callable[[list[int]], str]  # generated ids -> text without EOS (for stop strings)
    share_prefill: bool = True
    logprobs: bool = False
    check_every: int = 4


@dataclass(frozen=True)
class Decoded:
    tokens: tuple[int, ...]
    logprobs: tuple[float, ...]
    finish: FinishReason


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


def _stop_at(ids: list[int], start: int, settings: DecodeSettings) -> int | None:
    """The first length ``n > start`` of ``ids`` whose text contains a stop string, or None."""
    if not trim_at_stop(settings.text(ids), settings.stop)[1]:
        return None
    for n in range(start + 1, len(ids) + 1):
        if trim_at_stop(settings.text(ids[:n]), settings.stop)[1]:
            return n
    return len(ids)


def _prefill(
    model: LoadedModel, rows: list[DecodeRow], settings: DecodeSettings, pad: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, object]:
    """Run each distinct prompt once; return (last logits, mask buffer, last position, cache)
    with one row per decoded row (a prompt's cache is copied to its sample rows)."""
    device = model.device
    if settings.share_prefill:
        first: dict[int, int] = {}
        for r in rows:
            first.setdefault(r.prompt, len(first))
        unique = [next(r for r in rows if r.prompt == p) for p in first]
        index = [first[r.prompt] for r in rows]
    else:
        unique, index = rows, list(range(len(rows)))
    width = max(len(r.ids) for r in unique)
    capacity = width + settings.max_new
    input_ids = torch.full((len(unique), width), pad, dtype=torch.long)
    mask = torch.ones((len(unique), capacity), dtype=torch.long)
    for k, r in enumerate(unique):
        input_ids[k, width - len(r.ids) :] = torch.tensor(r.ids, dtype=torch.long)
        mask[k, : width - len(r.ids)] = 0
    input_ids, mask = input_ids.to(device), mask.to(device)
    positions = (mask[:, :width].cumsum(-1) - 1).masked_fill(mask[:, :width] == 0, 1)
    cache = arena_cache(model.module.config, capacity)
    out = model.module(
        input_ids=input_ids,
        attention_mask=mask[:, :width],
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    logits, last = out.logits[:, -1, :], positions[:, -1]
    if len(unique) < len(rows):
        idx = torch.tensor(index, dtype=torch.long, device=device)
        cache.batch_select_indices(idx)
        logits, mask, last = logits[idx], mask[idx], last[idx]
    return logits, mask, last, cache


class _Batch:
    """Working state of one batch: per-row results in row order, per-slot tensors in batch order."""

    def __init__(self, rows: list[DecodeRow], settings: DecodeSettings, device: torch.device):
        n, s = len(rows), settings
        self.settings = s
        self.tokens = torch.zeros((n, s.max_new), dtype=torch.long, device=device)
        self.logprobs = torch.zeros((n, s.max_new), dtype=torch.float64) if s.logprobs else None
        self.length = [0] * n
        self.finish = [_NONE] * n
        self.slots = torch.arange(n, device=device)  # row of each batch slot
        self.alive = torch.ones(n, dtype=torch.bool, device=device)
        self.keys = (
            torch.tensor([r.key for r in rows], dtype=torch.long, device=device)
            if rows[0].key is not None
            else None
        )
        self.eos = torch.tensor(s.eos, dtype=torch.long, device=device) if s.eos else None
        self.checked = 0  # steps whose stop strings are checked for every alive row

    def choose(self, logits: torch.Tensor, step: int) -> torch.Tensor:
        s = self.settings
        nxt = choose_tokens(logits, self.keys, step, s.temperature, s.top_p)
        self.tokens[self.slots, step] = nxt
        if self.logprobs is not None:
            self.logprobs[self.slots.cpu(), step] = token_logprobs(logits, nxt).cpu()
        return nxt

    def end(self, nxt: torch.Tensor, step: int) -> list[int]:
        """Mark the rows that end at ``step``; return them (row indices)."""
        s = self.settings
        was = self.alive.clone()
        if self.eos is not None:
            self.alive &= ~torch.isin(nxt, self.eos)
        last = step + 1 == s.max_new
        check = bool(s.stop) and (last or (step + 1) % s.check_every == 0)
        ended: list[int] = []
        if check or last or not torch.equal(was, self.alive):
            slots = self.slots.tolist()
            for k in torch.nonzero(was).flatten().tolist():
                row, eos = slots[k], not bool(self.alive[k])
                if not (eos or check or last):
                    continue
                reason, n = (_EOS if eos else _LENGTH if last else _NONE), step + 1
                if s.stop:
                    hit = _stop_at(self.tokens[row, : step + 1].tolist(), self.checked, s)
                    if hit is not None:
                        reason, n = _STOP, hit
                if reason != _NONE:
                    self.alive[k] = False
                    self.finish[row], self.length[row] = reason, n
                    ended.append(row)
            if check:
                self.checked = step + 1
        return ended

    def result(self, row: int) -> Decoded:
        n = self.length[row]
        lps = tuple(self.logprobs[row, :n].tolist()) if self.logprobs is not None else ()
        return Decoded(tuple(self.tokens[row, :n].tolist()), lps, _REASONS[self.finish[row]])


def decode_batch(
    model: LoadedModel,
    rows: list[DecodeRow],
    settings: DecodeSettings,
    on_finish: Callable[[int], None],
    on_tokens: Callable[[int], None] | None = None,
) -> list[Decoded]:
    """Decode ``rows`` (one batch) to the end; ``on_finish(n)`` after rows end, ``on_tokens(n)``
    after every step with the tokens it produced."""
    pad = model.tokenizer.pad_token_id
    pad = int(pad) if pad is not None else (model.eos_token_ids or [0])[0]
    logits, mask, last, cache = _prefill(model, rows, settings, pad)
    width = mask.shape[1] - settings.max_new
    b = _Batch(rows, settings, logits.device)
    for step in range(settings.max_new):
        nxt = b.choose(logits, step)
        produced = int(b.alive.sum())
        ended = b.end(nxt, step)
        if on_tokens is not None:
            on_tokens(produced)
        if ended:
            on_finish(len(ended))
        alive = int(b.alive.sum())
        if alive == 0:
            break
        if alive <= len(b.slots) // 2:  # compact: drop finished rows from the batch
            keep = torch.nonzero(b.alive).flatten()
            cache.batch_select_indices(keep)  # type: ignore[attr-defined]
            mask, last, nxt = mask[keep], last[keep], nxt[keep]
            b.slots, b.alive = b.slots[keep], b.alive[keep]
            b.keys = b.keys[keep] if b.keys is not None else None
        last = last + 1
        out = model.module(
            input_ids=nxt[:, None],
            attention_mask=mask[:, : width + step + 1],
            position_ids=last[:, None],
            past_key_values=cache,
            use_cache=True,
        )
        logits = out.logits[:, -1, :]
    return [b.result(r) for r in range(len(rows))]

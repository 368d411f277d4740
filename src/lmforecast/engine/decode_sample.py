"""Choosing the next token of every row at once: argmax, or inverse-CDF sampling in float64.

One vectorised op per step for the whole batch (no Python per row). Sampling follows what the
per-row decoder did, row by row: probabilities ``softmax(logits / temperature)`` in float64,
nucleus (top-p) by zeroing the tokens whose mass strictly above them reaches ``top_p`` (ties
kept in vocabulary order by a stable sort), then one uniform ``u`` per row from
:mod:`.decode_rng` picks the first token whose cumulative mass exceeds ``u`` times the total.
"""

from __future__ import annotations

import torch

from lmforecast.engine.decode_rng import uniforms


def sample_tokens(
    logits: torch.Tensor, u: torch.Tensor, temperature: float, top_p: float = 1.0
) -> torch.Tensor:
    """One token per row of ``logits`` [rows, vocab], drawn with the uniforms ``u`` [rows].

    >>> logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    >>> [int(sample_tokens(logits, torch.tensor([x], dtype=torch.float64), 1.0)) for x in
    ...  (0.0, 0.49, 0.51, 0.74, 0.76, 0.99)]
    [0, 0, 1, 1, 2, 2]
    >>> int(sample_tokens(logits, torch.tensor([0.99], dtype=torch.float64), 1.0, top_p=0.5))
    0
    """
    probs = torch.softmax(logits.to(torch.float64) / temperature, dim=-1)
    order: torch.Tensor | None = None
    if top_p < 1.0:
        probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)
        before = torch.cumsum(probs, -1) - probs  # mass strictly above each token
        probs = torch.where(before < top_p, probs, torch.zeros_like(probs))
    cdf = torch.cumsum(probs, -1)
    target = (u.to(cdf.device) * cdf[:, -1])[:, None]
    # The first index whose cdf exceeds the target: never a zeroed token, whose cdf equals the
    # one before it; the clamp guards a target rounded up to the total.
    idx = torch.searchsorted(cdf, target, right=True).clamp(max=cdf.shape[-1] - 1)
    if order is not None:
        idx = order.gather(-1, idx)
    return idx[:, 0]


def choose_tokens(
    logits: torch.Tensor, keys: torch.Tensor | None, step: int, temperature: float, top_p: float
) -> torch.Tensor:
    """The next token of every row: argmax when greedy (``keys is None``), else one draw per
    row from its counter-based uniform at ``step``."""
    if keys is None or temperature == 0.0:
        return torch.argmax(logits, dim=-1)
    return sample_tokens(logits, uniforms(keys, step), temperature, top_p)


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log p(token) per row under the unscaled distribution, in float64 (rBridge's weights)."""
    logp = torch.log_softmax(logits.to(torch.float64), dim=-1)
    return logp.gather(-1, tokens[:, None].to(logp.device))[:, 0]

"""Tokenise requests exactly as lm-evaluation-harness does, so log-likelihoods agree.

``context + continuation`` is tokenised whole and split at the context's token length; trailing
spaces of the context move to the continuation; an empty context becomes the model's prefix token
(BOS, else EOS); the tokenizer's own special-token setting is followed (Gemma adds ``<bos>``,
SmolLM2 adds nothing), except that a text already starting with the BOS string gets no second one.

Per-character weights of a continuation (``Request.char_weights``) become one weight per target
token here, from the fast tokenizer's offset mapping of the same ``context + continuation``
string whose ids are scored: a token's weight is the mean over the continuation characters it
covers. Offsets are character positions, so a byte-level piece that is part of a multi-byte
character (its offsets span that whole character) gets that character's weight. A target token
covering no continuation character (a BOS before an empty context's continuation; a token made
only of context spaces that lm-eval moved into the continuation) gets NaN: it is no part of the
weighted text, and weighted signals leave it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lmforecast.core.errors import RequestError
from lmforecast.core.records import Request
from lmforecast.models.base import LoadedModel


@dataclass(frozen=True)
class EncodedRequest:
    """A request as token ids: the model reads ``input_ids`` and is scored on ``targets``.

    ``input_ids`` is context + continuation minus its last token; the logits at positions
    ``score_start .. len(input_ids)-1`` predict ``targets``. ``truncated`` counts context tokens
    dropped from the left to fit the context window. ``weights`` (one per target, NaN for a
    target covering no continuation character) when the request carried ``char_weights``.
    """

    index: int
    input_ids: tuple[int, ...]
    targets: tuple[int, ...]
    num_bytes: int
    truncated: int = 0
    weights: tuple[float, ...] | None = None

    @property
    def score_start(self) -> int:
        return len(self.input_ids) - len(self.targets)


def _tok_encode(model: LoadedModel, text: str) -> list[int]:
    tok = model.tokenizer
    bos = tok.bos_token
    if bos and text.startswith(bos):
        return list(tok(text, add_special_tokens=False)["input_ids"])
    return model.encode(text)


def encode_pair(model: LoadedModel, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids), split like lm-eval's ``_encode_pair``."""
    if context == "":
        return [model.prefix_token_id], _tok_encode(model, continuation)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = _tok_encode(model, context + continuation)
    context_ids = _tok_encode(model, context)
    return whole[: len(context_ids)], whole[len(context_ids) :]


def span_means(
    offsets: Sequence[tuple[int, int]], char_weights: Sequence[float], start: int = 0
) -> tuple[float, ...]:
    """Per token, the mean of ``char_weights`` over the characters its offsets cover.

    ``char_weights[i]`` belongs to character ``start + i`` of the tokenised string; a token
    ``(s, e)`` covers characters ``s .. e-1``. NaN where a token covers none of the weighted
    characters (zero width, or wholly outside them).

    >>> span_means([(0, 0), (0, 2), (2, 4), (4, 5)], [0.2, 0.4, 1.0], start=1)
    (nan, 0.2, 0.7, nan)
    """
    n = len(char_weights)
    out = []
    for s, e in offsets:
        lo, hi = max(s - start, 0), min(e - start, n)
        out.append(math.fsum(char_weights[lo:hi]) / (hi - lo) if hi > lo else math.nan)
    return tuple(out)


def target_weights(model: LoadedModel, req: Request, targets: Sequence[int]) -> tuple[float, ...]:
    """One weight per target token of ``req`` from its per-character weights (see module doc).

    ``context + continuation`` is the string :func:`encode_pair` tokenises (moving trailing
    spaces does not change it; an empty context tokenises the continuation alone), so its last
    ``len(targets)`` tokens are the targets and the continuation starts at ``len(context)``.
    """
    weights = req.char_weights
    assert weights is not None
    where = f"request {req.index} (doc {req.doc_id})"
    if len(weights) != len(req.continuation):
        raise RequestError(
            f"{where}: {len(weights)} character weights for a continuation of "
            f"{len(req.continuation)} characters"
        )
    if not all(math.isfinite(w) for w in weights):
        raise RequestError(f"{where}: character weights must be finite numbers")
    tok = model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise RequestError(
            f"{where}: per-character weights need a fast tokenizer (offset mapping); "
            f"{model.name}'s tokenizer is not one"
        )
    text = req.context + req.continuation
    bos = tok.bos_token
    special = not (bos and text.startswith(bos))
    enc = tok(text, add_special_tokens=special, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    if ids[len(ids) - len(targets) :] != list(targets):
        raise RequestError(
            f"{where}: the tokenizer's offset mapping does not match the scored tokens"
        )
    offsets = [(int(s), int(e)) for s, e in enc["offset_mapping"]][len(ids) - len(targets) :]
    return span_means(offsets, weights, len(req.context))


def encode_requests(
    model: LoadedModel,
    requests: Sequence[Request],
    truncate: Literal["error", "left"] = "error",
) -> list[EncodedRequest]:
    """Encode every request; an unscorable one raises :class:`RequestError` naming it."""
    out = []
    limit = model.max_length
    for req in requests:
        if not req.continuation:
            raise RequestError(
                f"request {req.index} (doc {req.doc_id}): empty continuation, nothing to score"
            )
        context_ids, cont_ids = encode_pair(model, req.context, req.continuation)
        if not cont_ids:
            raise RequestError(
                f"request {req.index} (doc {req.doc_id}): continuation {req.continuation!r} "
                "encodes to no tokens"
            )
        whole = context_ids + cont_ids
        dropped = 0
        if len(whole) - 1 > limit:
            if truncate == "error" or len(cont_ids) > limit:
                raise RequestError(
                    f"request {req.index} (doc {req.doc_id}): {len(whole) - 1} tokens exceed the "
                    f"{limit}-token context window of {model.name}"
                    + ("" if truncate == "error" else " even after dropping the whole context")
                    + "; use --truncate left to keep the end of the context (as lm-eval does)"
                )
            dropped = len(whole) - 1 - limit
            whole = whole[dropped:]
        out.append(
            EncodedRequest(
                index=req.index,
                input_ids=tuple(whole[:-1]),
                targets=tuple(cont_ids),
                num_bytes=len(req.continuation.encode("utf-8")),
                truncated=dropped,
                weights=None if req.char_weights is None else target_weights(model, req, cont_ids),
            )
        )
    return out

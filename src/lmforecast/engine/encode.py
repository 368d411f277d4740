"""Tokenise requests exactly as lm-evaluation-harness does, so log-likelihoods agree.

``context + continuation`` is tokenised whole and split at the context's token length; trailing
spaces of the context move to the continuation; an empty context becomes the model's prefix token
(BOS, else EOS); the tokenizer's own special-token setting is followed (Gemma adds ``<bos>``,
SmolLM2 adds nothing), except that a text already starting with the BOS string gets no second one.
"""

from __future__ import annotations

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
    dropped from the left to fit the context window.
    """

    index: int
    input_ids: tuple[int, ...]
    targets: tuple[int, ...]
    num_bytes: int
    truncated: int = 0

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
            )
        )
    return out

"""lm-evaluation-harness's model contract on top of lmforecast's engine.

``loglikelihood``, ``loglikelihood_rolling`` and ``generate_until`` take what lm-eval passes
(objects with ``.args``, or plain tuples) and return what lm-eval expects, so an lmforecast model
can stand in for ``HFLM`` and users recognise the interface. Scores come from the streaming
engine (shared prefixes run once; no full-vocabulary log-softmax held in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lmforecast.core.records import Request
from lmforecast.engine import EncodedRequest, ScoreConfig
from lmforecast.engine.backend import TransformersBackend
from lmforecast.engine.generate import GenerationConfig
from lmforecast.models.base import LoadedModel


def _args(request: Any) -> tuple[Any, ...]:
    return tuple(request.args) if hasattr(request, "args") else tuple(request)


def rolling_windows(
    tokens: Sequence[int], prefix_token: int, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Disjoint windows of at most ``max_length`` predicted tokens, each conditioned on as much
    preceding text as fits (lm-eval's ``get_rolling_token_windows`` with context length 1).
    Each window is (sequence, targets): the model reads ``sequence[:-1]`` and its last
    ``len(targets)`` positions predict ``targets``.

    >>> rolling_windows([5, 6, 7, 8, 9], prefix_token=0, max_length=2)
    [([0, 5, 6], [5, 6]), ([6, 7, 8], [7, 8]), ([7, 8, 9], [9])]
    """
    windows = []
    full = [prefix_token, *tokens]
    for start in range(0, len(tokens), max_length):
        targets = list(tokens[start : start + max_length])
        end = start + len(targets)
        windows.append((full[max(0, end - max_length) : end + 1], targets))
    return windows


class LMForecastLM:
    """A drop-in for lm-eval's ``HFLM`` backed by a :class:`LoadedModel`."""

    def __init__(self, model: LoadedModel, config: ScoreConfig | None = None) -> None:
        self.model = model
        self.backend = TransformersBackend(model, config)
        self.engine = self.backend.engine  # rolling windows are scored pre-tokenised

    def loglikelihood(self, requests: Sequence[Any]) -> list[tuple[float, bool]]:
        """(sum log p(continuation | context), is greedy) per request, in input order."""
        reqs = [Request(i, str(i), *_args(r)[:2]) for i, r in enumerate(requests)]
        return [(s.logprob_sum, s.is_greedy) for s in self.backend.score(reqs)]

    def loglikelihood_rolling(self, requests: Sequence[Any]) -> list[float]:
        """Total log-likelihood of each string, in windows no longer than the context window."""
        encoded: list[EncodedRequest] = []
        owner: list[int] = []
        for i, r in enumerate(requests):
            text = _args(r)[0]
            tokens = self.model.encode_plain(text)
            for seq, targets in rolling_windows(
                tokens, self.model.prefix_token_id, self.model.max_length
            ):
                encoded.append(EncodedRequest(len(encoded), tuple(seq[:-1]), tuple(targets), 0))
                owner.append(i)
        totals = [0.0] * len(requests)
        for e, s in zip(encoded, self.engine.score_encoded(encoded), strict=True):
            totals[owner[e.index]] += s.logprob_sum
        return totals

    def generate_until(self, requests: Sequence[Any]) -> list[str]:
        """Greedy (or sampled, per request's ``gen_kwargs``) continuations cut at ``until``."""
        outputs = []
        for r in requests:
            context, gen_kwargs = _args(r)[:2]
            until = gen_kwargs.get("until", ())
            config = GenerationConfig(
                temperature=float(gen_kwargs.get("temperature", 0.0) or 0.0),
                max_tokens=int(gen_kwargs.get("max_gen_toks", 256)),
                stop=tuple([until] if isinstance(until, str) else until),
            )
            outputs.append(self.backend.generate([context], config)[0][0].text)
        return outputs

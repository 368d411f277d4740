"""The scoring-backend protocol: what every engine offers above a loaded model.

A backend scores requests (per-request records of per-token statistics) and generates
continuations; the transformers engine of this package is one implementation
(:class:`TransformersBackend`), and another engine (vLLM, a remote server) is a sibling
registered in :data:`SCORING_BACKENDS`, not a special case inside the callers. Callers that
need the engine's work plan (resumable sharded scoring) use :class:`ScoringEngine` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from lmforecast.core.records import Request
from lmforecast.core.registry import Registry
from lmforecast.engine.config import ScoreConfig
from lmforecast.engine.generate import Generation, GenerationConfig, generate
from lmforecast.engine.records import RequestScore, ScoringCost
from lmforecast.engine.scorer import ScoringEngine
from lmforecast.models.base import LoadedModel


@runtime_checkable
class ScoringBackend(Protocol):
    """Scores requests and generates text with one loaded model."""

    model: LoadedModel

    def score(self, requests: Sequence[Request]) -> list[RequestScore]:
        """Per-token statistics of each request's continuation, in input order."""
        ...

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[list[Generation]]:
        """``config.n_samples`` generations per prompt, in input order."""
        ...

    def cost(self) -> ScoringCost:
        """What scoring has cost so far (seconds, tokens, FLOPs)."""
        ...


class TransformersBackend:
    """The transformers implementation: shared-prefix KV reuse, streamed vocabulary stats."""

    def __init__(self, model: LoadedModel, config: ScoreConfig | None = None) -> None:
        self.model = model
        self.engine = ScoringEngine(model, config)

    def score(self, requests: Sequence[Request]) -> list[RequestScore]:
        return self.engine.score(requests)

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[list[Generation]]:
        return generate(self.model, list(prompts), config)

    def cost(self) -> ScoringCost:
        return self.engine.cost()


BackendFactory = Callable[[LoadedModel, ScoreConfig | None], ScoringBackend]
SCORING_BACKENDS: Registry[BackendFactory] = Registry("scoring backend")
SCORING_BACKENDS.register("transformers")(TransformersBackend)


def scoring_backend(
    model: LoadedModel, config: ScoreConfig | None = None, name: str = "transformers"
) -> ScoringBackend:
    """The named backend over ``model`` (the transformers engine unless asked otherwise)."""
    return SCORING_BACKENDS.get(name)(model, config)

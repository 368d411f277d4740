"""Scoring options, validated: a misspelled option is an error, not a silent default."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScoreConfig(BaseModel):
    """How the engine scores requests. Every field that can change a score is in the store key.

    ``batch_size`` and ``prefix_sharing`` change speed and memory, not results (to 1e-4 nats per
    request, tested); they are still recorded, never used to decide reuse.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = Field(16, ge=1, description="suffix rows per forward pass")
    prefix_sharing: bool = Field(True, description="run shared token prefixes once (KV reuse)")
    min_prefix_tokens: int = Field(16, ge=1, description="shortest prefix worth sharing")
    unit_size: int = Field(64, ge=1, description="requests per work unit (one stored shard)")
    vocab_chunk_elements: int = Field(
        1 << 23, ge=1 << 12, description="max logits held at once (rows x vocabulary chunk)"
    )
    truncate: Literal["error", "left"] = Field(
        "error", description="a request longer than the context window: error, or keep its end"
    )
    hidden_layers: tuple[int, ...] = Field(
        (), description="hidden-state layers to pool (0 = embeddings, -1 = last)"
    )
    hidden_pooling: tuple[Literal["last", "mean"], ...] = Field(
        ("last", "mean"),
        description="'last': the last context token; 'mean': mean over continuation positions",
    )

    def result_key(self) -> dict[str, object]:
        """The fields that can change a stored result (batching and sharing cannot)."""
        return {
            "truncate": self.truncate,
            "hidden_layers": list(self.hidden_layers),
            "hidden_pooling": list(self.hidden_pooling) if self.hidden_layers else [],
        }

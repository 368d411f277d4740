"""The scoring-backend protocol: the transformers engine is one implementation of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforecast.core.errors import UserError
from lmforecast.core.records import Request
from lmforecast.engine import ScoringEngine
from lmforecast.engine.backend import (
    SCORING_BACKENDS,
    ScoringBackend,
    TransformersBackend,
    scoring_backend,
)
from lmforecast.engine.generate import GenerationConfig, generate
from lmforecast.models import load_model


def test_transformers_backend_is_the_engine(tiny_llama_dir: Path) -> None:
    model = load_model(str(tiny_llama_dir))
    backend = scoring_backend(model)
    assert isinstance(backend, TransformersBackend) and isinstance(backend, ScoringBackend)
    requests = [Request(0, "a", "one two", " three"), Request(1, "b", "one two", " four five")]
    got = backend.score(requests)
    want = ScoringEngine(model).score(requests)
    assert [g.logprob_sum for g in got] == [w.logprob_sum for w in want]
    assert backend.cost().scored_tokens == sum(w.num_tokens for w in want)
    config = GenerationConfig(max_tokens=4)
    assert (
        backend.generate(["one two"], config)[0][0].text
        == generate(model, ["one two"], config)[0][0].text
    )


def test_unknown_backend_is_a_user_error(tiny_llama_dir: Path) -> None:
    assert "transformers" in SCORING_BACKENDS
    with pytest.raises(UserError, match="unknown scoring backend 'vllm'"):
        scoring_backend(load_model(str(tiny_llama_dir)), name="vllm")

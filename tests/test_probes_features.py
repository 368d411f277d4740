"""Prompt features for probes: one forward pass, batch-size invariant, cached in the store, and
the submodel probe's frozen blocks reproduce the checkpoint's own last layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lmforecast.engine.features import prompt_features, resolve_layer
from lmforecast.experiments.probes.evaluate import evaluate_probe
from lmforecast.models import load_model
from lmforecast.models.base import LoadedModel
from lmforecast.signals.probes.cache import KIND, cached_prompt_features
from lmforecast.signals.probes.probes import LogRegOptions
from lmforecast.signals.probes.submodel import FrozenBlocks, SubmodelOptions, SubmodelProbe
from lmforecast.signals.probes.torch_probes import AttentionOptions, AttentionProbe, TorchTraining
from lmforecast.store import Store

PROMPTS = [
    "Question: If there are 3 cars in the parking lot and 2 more cars arrive?",
    "def add(a, b):",
    "The quick brown fox",
    "Question: There are 15 trees in the grove. Workers plant trees today. How many?",
    "x",
    "Pack my box with five dozen liquor jugs.",
    "print(add(2, 3))",
    "Answer: 21 - 15 = 6. So the answer is 6.",
    "Question: 7 plus one?\nAnswer:",
    "lazy dog",
    "How many cars are in the parking lot?",
]


@pytest.fixture(scope="module")
def model(tiny_llama_dir: Path) -> LoadedModel:
    return load_model(str(tiny_llama_dir))


def test_features_do_not_depend_on_batch_size(model: LoadedModel) -> None:
    one = prompt_features(model, PROMPTS, [0, 1, -1], batch_size=1, keep_tokens=True)
    eight = prompt_features(model, PROMPTS, [0, 1, -1], batch_size=8, keep_tokens=True)
    assert one.layers == (0, 1, 2) and one.num_layers == 2
    assert one.last.dtype == np.float16 and one.last.shape == (len(PROMPTS), 3, 64)
    for a, b in [(one.last, eight.last), (one.mean, eight.mean)]:
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=2e-3, atol=2e-3)
    assert one.tokens is not None and eight.tokens is not None
    for a, b in zip(one.tokens, eight.tokens, strict=True):
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=2e-3, atol=2e-3)
    assert list(one.n_tokens) == [len(model.encode(p)) for p in PROMPTS]


def test_pooling_matches_a_plain_forward_pass(model: LoadedModel) -> None:
    """Last-token and mean pooling equal an unpadded transformers pass, layer by layer."""
    found = prompt_features(model, PROMPTS[:3], [1, 2], batch_size=3, keep_tokens=True)
    for i, prompt in enumerate(PROMPTS[:3]):
        ids = torch.tensor([model.encode(prompt)])
        with torch.inference_mode():
            states = model.module.base_model(input_ids=ids, output_hidden_states=True).hidden_states
        for j, layer in enumerate((1, 2)):
            want = states[layer][0].float().numpy()
            np.testing.assert_allclose(found.last[i, j], want[-1], rtol=2e-3, atol=2e-3)
            np.testing.assert_allclose(found.mean[i, j], want.mean(0), rtol=2e-3, atol=2e-3)
    assert found.pooled(("last", "mean"), [-1]).shape == (3, 128)
    assert found.subset([2, 0]).n_tokens.tolist() == [found.n_tokens[2], found.n_tokens[0]]
    with pytest.raises(ValueError, match="not among"):
        found.pooled(("last",), [0])
    assert resolve_layer(-3, 2) == 0
    with pytest.raises(ValueError, match="outside"):
        resolve_layer(3, 2)


def test_second_call_reads_the_store(
    model: LoadedModel, lmf_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store()
    first = cached_prompt_features(
        model, PROMPTS, [1, -1], store=store, keep_tokens=True, unit_size=4
    )
    assert len(store.keys(KIND)) == 1
    assert len(store.shards(KIND, store.keys(KIND)[0])) == 3

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran although the features are stored")

    monkeypatch.setattr(model.module.base_model, "forward", refuse)
    again = cached_prompt_features(
        model, PROMPTS, [1, 2], store=Store(), keep_tokens=True, unit_size=4
    )
    assert again.layers == first.layers == (1, 2)
    np.testing.assert_array_equal(again.last, first.last)
    np.testing.assert_array_equal(again.mean, first.mean)
    assert first.tokens is not None and again.tokens is not None
    for a, b in zip(first.tokens, again.tokens, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(AssertionError, match="model ran"):  # other prompts: not stored
        cached_prompt_features(model, PROMPTS[:2], [1, 2], store=Store())


def test_frozen_blocks_reproduce_the_last_layer(model: LoadedModel) -> None:
    found = prompt_features(model, PROMPTS, [1, 2], batch_size=4, keep_tokens=True)
    blocks = FrozenBlocks(model, k=1)
    assert blocks.input_layer == 1
    out = blocks.transform(found, batch_size=3, keep_tokens=True)
    assert out.layers == (2,)
    want = found.pooled(("last", "mean"), [2])
    np.testing.assert_allclose(out.pooled(("last", "mean")), want, rtol=2e-3, atol=4e-3)
    with pytest.raises(ValueError, match="k=3"):
        FrozenBlocks(model, k=3)


def test_submodel_and_attention_probes_run_on_a_real_model(model: LoadedModel) -> None:
    prompts = [f"Question: {i} plus {i % 3}?\nAnswer:" for i in range(24)]
    found = prompt_features(model, prompts, [0, 1, 2], batch_size=8, keep_tokens=True)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 9, size=24) / 8.0
    groups = np.arange(24) // 2
    quick = TorchTraining(epochs=3, batch_size=8, weight_decays=(1e-3,))
    for options in (
        SubmodelOptions(k=1, head=LogRegOptions(cs=(0.1, 1.0), inner_folds=2)),
        SubmodelOptions(k=2, head=AttentionOptions(training=quick)),
    ):
        result = evaluate_probe(
            lambda o=options: SubmodelProbe(model, o), found, labels, groups, folds=3, n_boot=20
        )
        assert np.all((result.predictions > 0) & (result.predictions < 1))
        assert set(result.fold.tolist()) == {0, 1, 2}
    attention = evaluate_probe(
        lambda: AttentionProbe(AttentionOptions(layer=1, training=quick)),
        found,
        labels,
        groups,
        folds=3,
        n_boot=20,
        name="attention",
    )
    assert attention.probe == "attention" and np.isfinite(attention.metrics.brier)

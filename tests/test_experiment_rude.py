"""RuDE's validation: hand-made populations for post-trained accuracy and upsets, and the real
``ci`` population end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmforecast.experiments.rude.config import RUDE
from lmforecast.experiments.rude.validation import BASE_ACC, post_trained_accuracy, upsets


def test_post_trained_accuracy_is_the_mean_over_tasks_per_base_model() -> None:
    manifest = pd.DataFrame(
        {
            "model_id": ["a", "a-sft", "a-rl"],
            "stage": ["base", "sft", "rl"],
            "base_model": ["", "a", "a"],
            "acc_x": [0.1, 0.4, 0.6],
            "acc_y": [0.3, 0.2, 0.8],
        }
    )
    post = post_trained_accuracy(manifest, ["x", "y"])
    assert np.isclose(post.loc["a", "sft"], 0.3) and np.isclose(post.loc["a", "rl"], 0.7)


def test_upsets_list_smaller_models_that_rude_and_post_training_put_first() -> None:
    frame = pd.DataFrame(
        {RUDE: [0.9, 0.5, 0.7], BASE_ACC: [0.1, 0.4, 0.3]}, index=["small", "large", "mid"]
    )
    finals = pd.DataFrame({"model_id": ["small", "large", "mid"], "params": [1, 3, 2]})
    post = pd.DataFrame({"rl": [0.8, 0.6, 0.5]}, index=["small", "large", "mid"])
    table = upsets(frame, finals, post)
    # small beats large and mid on RuDE and after RL; mid beats large on RuDE but not after RL
    assert sorted(zip(table["smaller"], table["larger"], strict=True)) == [
        ("small", "large"),
        ("small", "mid"),
    ]
    assert not table[BASE_ACC].any()  # base accuracy put the larger model first both times


def test_rude_experiment_on_ci(
    ci_build: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmforecast import api
    from lmforecast.experiments.rude import RudeResult
    from lmforecast.report.rude import rude_headline, rude_renderables

    home, manifest = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    result = api.experiment(
        "rude", preset="ci", pairs_per_difficulty=8, docs_per_task=12, n_boot=50
    )
    assert set(result.pairs["domain"]) == {"testbed-arith", "testbed-list", "testbed-trace"}
    assert (result.pairs["made"] == 8).all()
    finals = manifest[(manifest["stage"] == "base") & manifest["final"]]
    assert set(result.signals["model_id"]) == set(finals["model_id"])
    corr = result.correlations
    assert set(corr["target"]) == {"sft", "rl"} and RUDE in set(corr["signal"])
    assert corr["signal"].str.startswith("Patel best: ").any()
    assert result.breakdown["group"].str.startswith("category=").any()
    data = result.to_dict()
    again = RudeResult.from_dict(data)
    pd.testing.assert_frame_equal(again.pairs, result.pairs, check_dtype=False)
    assert rude_headline(data)[0].startswith("after SFT, across 7 base models: RuDE Spearman")
    assert len(rude_renderables(data)) >= 4

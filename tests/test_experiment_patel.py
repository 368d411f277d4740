"""Patel et al.'s settings: hand-checked synthetic tables, and the real ``ci`` population."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmforecast.experiments.patel import NAMED_PROXIES, PatelConfig, data_selection
from lmforecast.signals.base import orientation

RECIPES = ("r1", "r2", "r3", "r4")
FAMILIES = ("arith",)


def _synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two sizes of one family; the large models' accuracy orders the recipes r1 < ... < r4.

    Small size: at step 1 every accuracy is 0 (direct evaluation cannot order anything) while
    the proxy already orders the recipes; at step 2 direct evaluation is right on 5 of 6 pairs.
    """
    manifest_rows = []
    proxy_rows = []
    for size, params, steps in (("small", 10, (1, 2)), ("large", 100, (4,))):
        for k, recipe in enumerate(RECIPES):
            for step in steps:
                final = step == steps[-1]
                if size == "large":
                    acc = 0.2 * (k + 1)
                elif step == 1:
                    acc = 0.0
                else:
                    acc = (0.1, 0.3, 0.2, 0.4)[k]  # r2/r3 swapped: 5 of 6 pairs right
                model_id = f"{size}-{recipe}-{step}"
                manifest_rows.append(
                    {
                        "model_id": model_id,
                        "family": "llama",
                        "stage": "base",
                        "size": size,
                        "params": params,
                        "recipe": recipe,
                        "step": step,
                        "final": final,
                        "tokens": 1000 * step,
                        "flops": float(params * 1000 * step),
                        "eval_flops": 50.0,
                        "generic_bpb": 1.0 + 0.1 * k,  # worse for better recipes
                        "acc_arith": acc,
                    }
                )
                proxy_rows.append(
                    {
                        "model_id": model_id,
                        "task": "arith",
                        # higher top5 / lower xent for better recipes, at every step
                        **{
                            n: (0.1 * (k + 1) if n.startswith(("top", "recip")) else 3.0 - k)
                            for n in NAMED_PROXIES
                        },
                        "score_flops": 5.0,
                        "mc_acc": 0.25,  # chance everywhere: orders nothing
                        "mc_flops": 5.0,
                    }
                )
    return pd.DataFrame(manifest_rows), pd.DataFrame(proxy_rows)


def test_data_selection_hand_checked() -> None:
    manifest, proxies = _synthetic()
    # Per-example proxies that order the recipes like the large models do, whatever is drawn.
    signs = np.array([orientation(n) for n in NAMED_PROXIES])
    recipe_rank = proxies["model_id"].str.split("-").str[1].map(RECIPES.index) + 1
    proxies["instances"] = [np.outer(np.ones(3), k * signs) for k in recipe_rank]
    table, summary = data_selection(manifest, proxies, FAMILIES, PatelConfig(n_boot=20))
    assert set(table["size"]) == {"small"}
    target = 4 * 100 * 4000.0  # the large models' training FLOPs
    direct = table[table["signal"].str.startswith("direct")].set_index("step")
    # step 1: all-zero accuracy -> every pair tied in the signal -> 1/2; step 2: 5/6.
    assert direct.loc[1, "decision_accuracy"] == pytest.approx(0.5)
    assert direct.loc[2, "decision_accuracy"] == pytest.approx(5 / 6)
    assert direct.loc[2, "compute_fraction"] == pytest.approx((4 * 10 * 2000 + 4 * 50) / target)
    generic = table[table["signal"] == "generic-text cross-entropy"].set_index("step")
    assert generic.loc[1, "decision_accuracy"] == pytest.approx(0.0)  # anti-correlated
    mc = table[table["signal"] == "multiple-choice accuracy (rc)"].set_index("step")
    assert mc.loc[2, "decision_accuracy"] == pytest.approx(0.5)  # tied everywhere
    proxy = table[table["signal"] == "proxy top5@freq"].set_index("step")
    assert proxy.loc[1, "decision_accuracy"] == pytest.approx(1.0)
    assert proxy.loc[1, "compute_fraction"] == pytest.approx((4 * 10 * 1000 + 4 * 5) / target)
    # The best direct point (5/6 at step 2) is matched by a proxy at step 1.
    assert summary["direct_best_decision_accuracy"] == pytest.approx(5 / 6)
    assert summary["proxy_matching_at"] == "small step 1"
    assert summary["compute_ratio"] == pytest.approx((80_000 + 200) / (40_000 + 20))
    small = summary["by_size"]["small"]
    assert small["direct_decision_accuracy"] == pytest.approx(5 / 6)
    assert small["proxy_at"] == "small step 1" and small["compute_ratio"] > 1.9
    # Pareto front: the cheapest point (generic CE at step 1, no scoring cost, accuracy 0) and
    # the step-1 proxies (accuracy 1, next cheapest); nothing else is undominated.
    front = {q["point"] for q in summary["pareto"]}
    assert "generic-text cross-entropy (small @1)" in front
    assert {f"proxy {n} (small @1)" for n in NAMED_PROXIES} <= front
    assert len(front) == 1 + len(NAMED_PROXIES)
    # Two-way bootstrap at the final small checkpoint: any draw of two or more distinct recipes
    # is ordered right by these proxies, so the interval is the point, 1.
    for name in NAMED_PROXIES:
        boot = summary["bootstrap"][name]
        assert boot["resampling"] == "models+examples"
        assert boot["decision_accuracy"] == 1.0 and boot["ci"] == [1.0, 1.0]


def test_reports_say_what_was_resampled() -> None:
    from lmforecast.report.patel import patel_renderables, resampled

    assert resampled("models+examples", "recipes") == "recipes and expert solutions"
    assert resampled("examples", "models") == "expert solutions"  # results from before
    rows = [{"signal": "proxy top5@freq", "spearman": 0.7, "resampling": "models+examples"}]
    tables = patel_renderables({"selection_bootstrap": rows})
    titles = [str(getattr(t, "title", "")) for t in tables]
    assert any("95% CI resampling models and expert solutions" in t for t in titles)


def test_data_selection_needs_two_sizes() -> None:
    manifest, proxies = _synthetic()
    with pytest.raises(ValueError, match="fewer than two sizes"):
        data_selection(manifest[manifest["size"] == "large"], proxies, FAMILIES, PatelConfig())


def test_run_patel_on_ci(
    ci_build: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end on the real ``ci`` population: every base checkpoint scored on every task,
    settings reported as tables or as notes that say why not, cost measured on both sides."""
    from lmforecast.experiments.patel import run_patel

    home, manifest = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    result = run_patel(PatelConfig(preset="ci", docs_per_task=4, n_boot=20, workers=2))
    base = manifest[manifest["stage"] == "base"]
    assert len(result.proxies) == len(base) * 3
    assert result.proxies[list(NAMED_PROXIES)].notna().all().all()
    assert result.proxies["mc_acc"].between(0, 1).all() and (result.proxies["mc_flops"] > 0).all()
    assert (result.proxies["score_flops"] > 0).all()
    cost = result.cost.iloc[0]
    assert cost["models"] == len(base) and cost["direct_eval_flops"] > cost["proxy_flops"] > 0
    for frame, label in (
        (result.selection, "setting (a)"),
        (result.selection_bootstrap, "two-way bootstrap"),
        (result.data_selection, "setting (b)"),
        (result.extrapolation, "setting (c)"),
        (result.regression, "regression"),
    ):
        assert not frame.empty or any(label in n for n in result.notes)

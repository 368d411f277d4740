"""The rBridge experiment: pairing at equal tokens on a hand-made population, and the real
``ci`` population end to end (traces, bridge, ranking, setting (a), JSON round trip), with the
``traces`` and ``score --signals rbridge`` commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import run_cli, user_error

from lmforecast.experiments.rbridge.bridging import bridge_points


def _manifest() -> pd.DataFrame:
    rows = []
    for size, params in (("s", 10), ("l", 100)):
        for k, recipe in enumerate(("r1", "r2")):
            for step in (1, 2, 3):
                rows.append(
                    {
                        "model_id": f"{size}-{recipe}-{step}",
                        "family": "llama",
                        "size": size,
                        "params": params,
                        "recipe": recipe,
                        "stage": "base",
                        "step": step,
                        "final": step == 3,
                        "tokens": 1000 * step,
                        "acc_arith": 0.1 * step + 0.01 * k + (0.5 if size == "l" else 0.0),
                    }
                )
            rows.append({**rows[-1], "model_id": f"{size}-{recipe}-sft", "stage": "sft",
                         "acc_arith": 0.9 - 0.1 * k})  # fmt: skip
    return pd.DataFrame(rows)


def test_proxy_and_target_pair_at_equal_tokens_and_final_to_sft() -> None:
    manifest = _manifest()
    # The proxy's score of each small checkpoint: 10 * step + recipe index (so each x names
    # its checkpoint); the large model's checkpoint at the same tokens gives y.
    values = pd.Series(
        {f"s-{r}-{s}": 10.0 * s + k for k, r in enumerate(("r1", "r2")) for s in (1, 2, 3)}
    )
    x, y = bridge_points(manifest, values, ["acc_arith"], "s", "l", "base", "llama")
    assert x.tolist() == [10.0, 20.0, 30.0, 11.0, 21.0, 31.0]
    assert np.allclose(y, [0.6, 0.7, 0.8, 0.61, 0.71, 0.81])
    x, y = bridge_points(manifest, values, ["acc_arith"], "s", "l", "sft", "llama")
    assert x.tolist() == [30.0, 31.0] and np.allclose(y, [0.9, 0.8])


def test_rbridge_experiment_on_ci(
    ci_build: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lmforecast import api
    from lmforecast.experiments.rbridge import RBridgeResult
    from lmforecast.report.rbridge import rbridge_headline, rbridge_renderables

    home, _ = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    result = api.experiment("rbridge", preset="ci", docs_per_task=12, n_boot=50)
    assert set(result.traces["task"]) == {"arith", "list", "trace"}
    assert (result.traces["traces"] + result.traces["dropped"] == 12).all()
    # 42 base checkpoints of the population (7 runs x 6), never the frontier's.
    assert result.scores["model_id"].nunique() == 42
    assert not result.scores["model_id"].str.startswith("frontier").any()
    base = result.bridge[result.bridge["target"] == "m base"]
    assert set(base["signal"]) >= {"rBridge", "rBridge@task", "plain NLL (traces)"}
    assert base["signal"].str.startswith("Patel best: ").any()
    assert (base["points"] == 18).all()  # 3 recipes x 6 checkpoints at equal tokens
    assert base["coverage"].between(0, 1).all() and (base["level"] == 0.9).all()
    assert len(result.bridge_points) == result.bridge["points"].sum()
    # The coverage column is the share of each row's points inside their intervals.
    pts = result.bridge_points
    first = pts[(pts["signal"] == "rBridge") & (pts["task"] == "mean")]
    inside = first["truth"].between(first["low"], first["high"]).mean()
    row = base[(base["signal"] == "rBridge") & (base["task"] == "mean")]
    assert np.isclose(inside, row["coverage"].iloc[0])
    assert any("sft" in n and "3 points" in n for n in result.notes)  # 3 recipes: no 5 folds
    ranking = result.ranking
    ours = ranking[ranking["signal"] == "rBridge"]
    direct = ranking[ranking["signal"].str.startswith("direct")]
    assert len(ours) == len(direct) == 6  # every xs checkpoint
    # rBridge pays the small models' training plus scoring the traces, nothing else.
    assert (ours["compute_fraction"].to_numpy() > 0).all()
    assert set(result.selection["kind"]) >= {"rBridge", "proxy scorer", "baseline"}
    data = result.to_dict()
    again = RBridgeResult.from_dict(data)
    pd.testing.assert_frame_equal(again.bridge, result.bridge, check_dtype=False)
    assert again.ranking_summary == data["ranking_summary"]
    assert rbridge_headline(data)[0].startswith("bridge xs -> m base")
    assert len(rbridge_renderables(data)) >= 6


def test_traces_commands_and_score_auto(
    ci_build: tuple[Path, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lmforecast.signals.rbridge.traces import read_traces

    home, manifest = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    out = tmp_path / "t.jsonl"
    args = ["traces", "make", "--frontier", "testbed-frontier:ci", "--task", "testbed-list:gold"]
    assert run_cli([*args, "--limit", "5", "--output", str(out)], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "traces of testbed-list:gold" in printed and "dropped in bad format" in printed
    assert len(read_traces(out)) + int(printed.split(" dropped")[0].split("· ")[-1]) == 5
    assert run_cli(["traces", "list"], monkeypatch) == 0
    assert "testbed-list:gold" in capsys.readouterr().out
    model = manifest[manifest["stage"] == "base"]["path"].iloc[0]
    score = ["score", "--model", model, "--task", "testbed-list:gold", "--limit", "5"]
    assert run_cli([*score, "--signals", "rbridge"], monkeypatch) == 0
    assert "rbridge ↓" in capsys.readouterr().out
    bad = ["score", "--model", model, "--task", "testbed-trace:gold", "--traces", "auto"]
    monkeypatch.setenv("LMFORECAST_HOME", str(tmp_path / "empty-home"))
    message = user_error(bad, monkeypatch, capsys)
    assert "no traces made for task testbed-trace:gold" in message

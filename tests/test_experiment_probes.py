"""The probes experiment on the real ``ci`` population: labels through Truth, features from one
stored pass, probes and baselines split by problem, transfer and latency."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


def test_probes_experiment_on_ci(
    ci_build: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmforecast import api
    from lmforecast.experiments.probes import ProbesResult
    from lmforecast.experiments.probes.config import PROBLEM_ONLY, PROMPT_CE
    from lmforecast.report.probes import probes_renderables

    home, _ = ci_build
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    options = {"preset": "ci", "problems_per_task": 16, "max_runs": 1, "checkpoints": 2,
               "post_trained": False, "probes": ("logreg",), "n_boot": 20}  # fmt: skip
    # Two workers label and featurise the models into the store; the runner reads them back.
    result = api.experiment("probes", **options, workers=2)
    ev = result.evaluation
    # The most accurate llama-m run of ci is `pure`; its last two checkpoints are probed.
    assert set(ev["recipe"]) == {"pure"} and ev["model_id"].nunique() == 2
    final = ev[ev["step"] == ev["step"].max()]
    assert set(final["probe"]) == {"logreg", PROBLEM_ONLY, PROMPT_CE}
    assert (ev["n"] == 48).all()  # 16 problems x 3 tasks, each labelled by 8 samples
    assert ev["true_accuracy"].between(0, 1).all()
    same = result.transfer[result.transfer["kind"] == "same run"]
    assert len(same) == 3  # earlier -> earlier, earlier -> final, final -> final
    lat = result.latency.iloc[0]
    assert lat["generative_flops"] > lat["probe_flops"] > 0
    # Labels and features are stored: a second run (one worker) computes neither again.
    again = api.experiment("probes", **options)
    pd.testing.assert_frame_equal(again.evaluation, result.evaluation)
    data = result.to_dict()
    assert ProbesResult.from_dict(data).transfer.shape == result.transfer.shape
    assert probes_renderables(data)

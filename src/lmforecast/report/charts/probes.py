"""In-training probes as pictures: AUROC per probe with its interval, the transfer matrix
(train x test checkpoint), calibration of the task-accuracy forecast per model, and the
reliability diagram of each probe on the final checkpoints (results that carry a
``calibration`` table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from lmforecast.report.charts.common import (
    Chart,
    Section,
    TableView,
    chart,
    frame,
    rank_bars,
)
from lmforecast.report.probes import probes_headline


def probes_headlines(result: Mapping[str, Any]) -> list[str]:
    return [line[0].upper() + line[1:] + "." for line in probes_headline(dict(result))]


def auroc_chart(result: Mapping[str, Any]) -> Chart | None:
    ev = frame(result, "evaluation")
    if ev.empty:
        return None
    ev = ev.assign(
        ci_low=[c[0] for c in ev["auroc_ci"]],
        ci_high=[c[1] for c in ev["auroc_ci"]],
        kind=["baseline" if str(p).startswith("baseline") else "probe" for p in ev["probe"]],
        checkpoint=[f"{r} @{s}" for r, s in zip(ev["recipe"], ev["step"], strict=True)],
    ).drop(columns=["auroc_ci"])
    spec = rank_bars(ev, "probe", "auroc", "ci_low", "ci_high", "kind",
                     ["model_id", "recipe", "stage", "step", "probe", "auroc", "ci_low",
                      "ci_high", "brier", "ece", "n"], facet="model_id")  # fmt: skip
    # rank_bars titles its axis for rank correlations; AUROC has its own scale and chance line.
    layer = spec.to_dict()
    layer["spec"]["layer"][0]["encoding"]["x"]["title"] = "AUROC (out of fold, split by problem)"
    return chart(
        "probes-auroc",
        "Probe AUROC per checkpoint, beside the baselines",
        "Each bar is how well a probe on the prompt's hidden states tells problems the model "
        "will solve from those it will not (AUROC, 0.5 is chance), one panel per checkpoint, "
        "with its 95% interval as a black rule. A probe earns its forward pass where it clears "
        "the problem-only and prompt cross-entropy baselines.",
        alt.FacetChart.from_dict(layer),
    )


def transfer_chart(result: Mapping[str, Any]) -> Chart | None:
    tr = frame(result, "transfer")
    if tr.empty:
        return None
    order = list(dict.fromkeys([*tr["train"], *tr["test"]]))
    x = alt.X("test:N", sort=order, title="tested on checkpoint", axis=alt.Axis(labelLimit=200))
    y = alt.Y("train:N", sort=order, title="trained on checkpoint", axis=alt.Axis(labelLimit=200))
    base = alt.Chart(tr).encode(x=x, y=y, tooltip=["train", "test", "kind", "auroc"])
    made = alt.layer(
        base.mark_rect().encode(
            color=alt.Color("auroc:Q", scale=alt.Scale(domain=[0.5, 1], scheme="viridis"))
        ),
        base.mark_text(color="white").encode(text=alt.Text("auroc:Q", format=".2f")),
    ).properties(width=alt.Step(70), height=alt.Step(40))
    return chart(
        "probes-transfer",
        "Probe AUROC matrix: train checkpoint x test checkpoint",
        "Each cell is the AUROC of a probe trained on one checkpoint (row) and applied to "
        "another (column) on problems it never saw. Cells below the diagonal that stay bright "
        "mean a probe fitted early still reads later checkpoints.",
        made,
    )


def calibration_chart(result: Mapping[str, Any]) -> Chart | None:
    ev = frame(result, "evaluation")
    if ev.empty:
        return None
    lo = float(min(ev["true_accuracy"].min(), ev["predicted_accuracy"].min(), 0))
    hi = float(max(ev["true_accuracy"].max(), ev["predicted_accuracy"].max(), 1))
    diag = pd.DataFrame({"x": [lo, hi], "y": [lo, hi]})
    scale = alt.Scale(domain=[lo, hi])
    made = alt.layer(
        alt.Chart(diag).mark_line(color="grey", strokeDash=[4, 3]).encode(x="x:Q", y="y:Q"),
        alt.Chart(ev)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("true_accuracy:Q", title="true task accuracy (pass@1)", scale=scale),
            y=alt.Y("predicted_accuracy:Q", title="forecast from the probe", scale=scale),
            color=alt.Color("probe:N", legend=alt.Legend(labelLimit=260)),
            shape=alt.Shape("stage:N"),
            tooltip=["model_id", "recipe", "stage", "step", "probe", "predicted_accuracy",
                     "true_accuracy", "accuracy_error", "ece", "brier"],
        ),
    ).properties(width=360, height=300)  # fmt: skip
    return chart(
        "probes-calibration",
        "Calibration: forecast task accuracy against the truth",
        "Each point is one checkpoint and probe: the task accuracy the probe's predictions "
        "add up to, against the accuracy sampling and grading measured. On the dashed "
        "diagonal the forecast is exact; the hover shows each probe's ECE and Brier score.",
        made,
    )


def reliability_chart(result: Mapping[str, Any]) -> Chart | None:
    bins = frame(result, "calibration")
    if bins.empty:
        return None
    diag = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
    unit = alt.Scale(domain=[0, 1])
    made = alt.layer(
        alt.Chart(diag).mark_line(color="grey", strokeDash=[4, 3]).encode(x="x:Q", y="y:Q"),
        alt.Chart(bins)
        .mark_line(point=True)
        .encode(
            x=alt.X("predicted:Q", title="predicted pass@1 (bin mean)", scale=unit),
            y=alt.Y("observed:Q", title="sampled pass@1 (bin mean)", scale=unit),
            color=alt.Color("probe:N", legend=alt.Legend(labelLimit=260)),
            size=alt.Size("count:Q", title="problems"),
            detail="model_id:N",
            tooltip=["model_id", "recipe", "probe", "bin_low", "bin_high", "predicted",
                     "observed", "count"],
        ),
    ).properties(width=360, height=300)  # fmt: skip
    return chart(
        "probes-reliability",
        "Reliability: predicted against sampled pass@1, problem by problem",
        "Problems of each final checkpoint are binned by the probe's predicted pass@1; each "
        "point is a bin's mean prediction against the share of sampled answers graded "
        "correct there, sized by its count. A calibrated probe's line follows the dashed "
        "diagonal; a line below it is over-confident.",
        made,
    )


def probes_section(source: str, result: Mapping[str, Any]) -> Section:
    made = (
        auroc_chart(result),
        transfer_chart(result),
        calibration_chart(result),
        reliability_chart(result),
    )
    latency = frame(result, "latency")
    tables = [TableView("cost: probe path vs generative evaluation", latency, full=False)]
    ev = frame(result, "evaluation")
    if not ev.empty:
        tables.append(TableView("out-of-fold evaluation", ev))
    return Section(
        key="probes",
        title="In-training probes",
        source=source,
        headlines=tuple(probes_headlines(result)),
        charts=tuple(c for c in made if c is not None),
        tables=tuple(t for t in tables if not t.frame.empty),
    )

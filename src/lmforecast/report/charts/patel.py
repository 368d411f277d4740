"""Patel et al.'s settings as pictures: signal against truth with the fitted map, rank
correlation per scorer, decision accuracy against compute, and training trajectories."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from lmforecast.report.charts.common import (
    HEIGHT,
    WIDTH,
    Chart,
    Section,
    TableView,
    chart,
    decision_vs_compute,
    frame,
    scorer_bars,
)
from lmforecast.report.patel import patel_headlines

HEADLINE_PROXY = "top5@freq"


def signal_vs_truth(result: Mapping[str, Any]) -> Chart | None:
    """Final base models: each named proxy against accuracy, per task, with the fitted map."""
    truth, proxies, maps = (frame(result, k) for k in ("truth", "proxies", "maps"))
    if truth.empty or proxies.empty or maps.empty:
        return None
    names = list(dict.fromkeys(maps["signal"]))
    finals = truth[truth["final"].astype(bool)]
    per_task = proxies[["model_id", "task", *names]]
    mean = per_task.groupby("model_id", as_index=False)[names].mean().assign(task="mean")
    long = (
        pd.concat([per_task, mean])
        .melt(id_vars=["model_id", "task"], value_vars=names, var_name="signal", value_name="x")
        .merge(finals, on=["model_id", "task"])
    )
    pick = alt.param(
        name="proxy",
        value=HEADLINE_PROXY if HEADLINE_PROXY in names else names[0],
        bind=alt.binding_select(options=names, name="proxy "),
    )
    show = alt.datum.signal == pick
    # A faceted layer needs one data set: points and map rows together, told apart by `part`.
    data = pd.concat([long.assign(part="model"), maps.assign(part="map")], ignore_index=True)
    x = alt.X(
        "x:Q", title="proxy value (task mean over expert solutions)", scale=alt.Scale(zero=False)
    )
    base = alt.Chart().transform_filter(show)
    fitted = base.transform_filter(alt.datum.part == "map")
    band = fitted.mark_area(opacity=0.2).encode(x=x, y="low:Q", y2="high:Q")
    line = fitted.mark_line(color="black").encode(
        x=x, y="prediction:Q", tooltip=["signal", "x", "prediction", "low", "high", "r2"]
    )
    points = (
        base.transform_filter(alt.datum.part == "model")
        .mark_circle(size=50)
        .encode(
            x=x,
            y=alt.Y("accuracy:Q", title="accuracy (greedy, graded)"),
            color=alt.Color("family:N"),
            tooltip=["model_id", "recipe", "size", "step", "tokens", "signal", "x", "accuracy"],
        )
    )
    layered = (
        alt.layer(band, line, points, data=data)
        .properties(width=200, height=200)
        .facet(column=alt.Column("task:N", title=None))
        .resolve_scale(x="independent")
        .add_params(pick)
    )
    return chart(
        "patel-signal-vs-truth",
        "Signal against ground truth, per task",
        "Each dot is a final base model: its proxy (chosen in the menu) against its graded "
        "accuracy, one panel per task. The black line is the linear map fitted over these "
        "models and the band its held-out 90% prediction interval: dots outside the band are "
        "models the map would misjudge.",
        layered,
    )


def selection_bars(result: Mapping[str, Any]) -> Chart | None:
    sel = frame(result, "selection")
    if sel.empty:
        return None
    return chart(
        "patel-selection",
        "(a) Model selection: rank correlation of every scorer and baseline",
        "Each bar is how well a scorer orders models of families it never saw (Spearman with "
        "their true accuracy, leave-two-tasks-out); the black rule is its confidence interval. "
        "Longer is better, and bars whose rules overlap are not told apart.",
        scorer_bars(sel),
    )


def compute_chart(result: Mapping[str, Any]) -> Chart | None:
    data = frame(result, "data_selection")
    if data.empty:
        return None
    pareto = (result.get("data_selection_summary") or {}).get("pareto") or []
    return chart(
        "patel-decision-vs-compute",
        "(b) Data selection: decision accuracy against compute",
        "Each point ranks the corpora from one small-model checkpoint: how many corpus pairs it "
        "orders as the large models do, against the compute it took (log scale). The dashed "
        "step line is the Pareto front: points on it are the best accuracy for their cost; "
        "click a legend entry to single out a signal.",
        decision_vs_compute(data, pareto),
    )


def trajectory_chart(result: Mapping[str, Any]) -> Chart | None:
    traj, fc = frame(result, "trajectories"), frame(result, "run_forecasts")
    if traj.empty:
        return None
    final = traj.loc[traj.groupby("run_id")["tokens"].idxmax(), ["run_id", "tokens", "recipe"]]
    forecasts = fc.merge(final, on="run_id") if not fc.empty else pd.DataFrame()
    if not forecasts.empty:
        forecasts["forecast"] = forecasts["method"] + ": " + forecasts["signal"]
    # One data set for the faceted layers: checkpoints and forecasts told apart by `part`.
    data = pd.concat(
        [traj.assign(part="checkpoint"), forecasts.assign(part="forecast")], ignore_index=True
    )
    x = alt.X("tokens:Q", scale=alt.Scale(type="log"), title="training tokens")
    hover = ["run_id", "recipe", "size", "step", "tokens", "truth", "fitted", "power_law"]
    runs = alt.Chart().transform_filter(alt.datum.part == "checkpoint")
    window = alt.Fill(
        "fitted:N",
        title="in the fitted window",
        scale=alt.Scale(domain=[True, False], range=["#d62728", "#7f7f7f"]),
    )
    layers = [
        runs.mark_line(color="grey").encode(x=x, y=alt.Y("truth:Q", title="accuracy")),
        runs.mark_point(filled=True, size=40).encode(x=x, y="truth:Q", tooltip=hover, fill=window),
        runs.mark_line(strokeDash=[5, 3], color="#d62728").encode(
            x=x, y="power_law:Q", tooltip=hover
        ),
    ]
    if not forecasts.empty:
        fbase = alt.Chart().transform_filter(alt.datum.part == "forecast")
        tip = ["run_id", "recipe", "forecast", "predicted", "actual", "error"]
        layers += [
            fbase.mark_rule(opacity=0.5).encode(
                x=x,
                y="predicted:Q",
                y2="actual:Q",
                stroke=alt.Stroke("forecast:N", legend=alt.Legend(labelLimit=320)),
                tooltip=tip,
            ),
            fbase.mark_tick(thickness=2, size=12).encode(
                x=x, y="predicted:Q", stroke="forecast:N", tooltip=tip
            ),
        ]
    made = (
        alt.layer(*layers, data=data)
        .properties(width=170, height=120)
        .facet(facet=alt.Facet("run_id:N", title=None), columns=4)
    )
    return chart(
        "patel-trajectories",
        "(c) Training trajectories and their extrapolation",
        "Each panel is one training run: grey is its true accuracy, red dots the checkpoints "
        "the forecast was fitted on, the dashed red curve the compute power law extrapolated "
        "from them. Ticks at the last checkpoint are each method's forecast of final accuracy, "
        "joined to the truth by a rule whose length is the error.",
        made,
    )


def patel_cost(result: Mapping[str, Any]) -> pd.DataFrame:
    cost = frame(result, "cost")
    if cost.empty:
        return cost
    c = cost.iloc[0]
    return pd.DataFrame(
        [
            {"what": "Patel proxies: score expert solutions", "models": int(c["models"]),
             "FLOPs": c["proxy_flops"], "seconds": c["proxy_seconds"],
             "replaces": "direct evaluation: generate and grade",
             "direct FLOPs": c["direct_eval_flops"],
             "direct / this": c["flops_ratio_direct_over_proxy"]},
        ]
    )  # fmt: skip


def patel_section(source: str, result: Mapping[str, Any]) -> Section:
    made = (signal_vs_truth(result), selection_bars(result), compute_chart(result),
            trajectory_chart(result))  # fmt: skip
    tables = [
        TableView(title, frame(result, key))
        for title, key in (
            ("(a) model selection", "selection"),
            ("(a) single signals, two-way bootstrap", "selection_bootstrap"),
            ("(c) extrapolation error per method", "extrapolation"),
            ("signal -> accuracy maps, held out", "regression"),
            ("every registered signal vs accuracy", "signals"),
        )
        if not frame(result, key).empty
    ]
    return Section(
        key="patel",
        title="Patel et al.: token-level proxies",
        source=source,
        headlines=tuple(patel_headlines(result)),
        charts=tuple(c for c in made if c is not None),
        tables=(TableView("cost", patel_cost(result), full=False), *tables),
    )


__all__ = ["HEIGHT", "WIDTH", "patel_headlines", "patel_section"]

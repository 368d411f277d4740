"""rBridge as pictures: the bridge from the smallest to the largest size with its interval,
rBridge beside Patel's scorers in model selection, and corpus ranking against compute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt

from lmforecast.report.charts.common import (
    Chart,
    Section,
    TableView,
    chart,
    decision_vs_compute,
    frame,
    scorer_bars,
)
from lmforecast.report.rbridge import rbridge_headline

RBRIDGE = "rBridge"


def rbridge_headlines(result: Mapping[str, Any]) -> list[str]:
    """The terminal's headline sentences, ending as sentences."""
    return [line[0].upper() + line[1:] + "." for line in rbridge_headline(dict(result))]


def bridge_chart(result: Mapping[str, Any]) -> Chart | None:
    points = frame(result, "bridge_points")
    if points.empty:
        return None
    target = next(t for t in dict.fromkeys(points["target"]) if str(t).endswith("base"))
    data = points[points["target"] == target].sort_values("x")
    names = list(dict.fromkeys(data["signal"]))
    pick = alt.param(
        name="bridge_signal",
        value=RBRIDGE if RBRIDGE in names else names[0],
        bind=alt.binding_select(options=names, name="signal "),
    )
    show = alt.datum.signal == pick
    x = alt.X("x:Q", title="small-model score", scale=alt.Scale(zero=False))
    tip = ["signal", "task", "x", "truth", "prediction", "low", "high"]
    base = alt.Chart(data).transform_filter(show)
    made = (
        alt.layer(
            base.mark_area(opacity=0.2).encode(x=x, y="low:Q", y2="high:Q"),
            base.mark_line(color="black").encode(x=x, y="prediction:Q", tooltip=tip),
            base.mark_circle(size=40).encode(
                x=x, y=alt.Y("truth:Q", title=f"{target} accuracy"), tooltip=tip
            ),
        )
        .properties(width=200, height=200)
        .facet(column=alt.Column("task:N", title=None))
        .resolve_scale(x="independent")
        .add_params(pick)
    )
    return chart(
        "rbridge-bridge",
        f"Bridge: small-model score against {target} accuracy",
        "Each dot pairs a small model's score (chosen in the menu) with the accuracy of the "
        "large model trained on the same corpus for the same tokens, one panel per task. The "
        "line is the held-out forecast and the band its prediction interval: a good bridge "
        "keeps the dots inside a narrow band.",
        made,
    )


def selection_chart(result: Mapping[str, Any]) -> Chart | None:
    sel = frame(result, "selection")
    if sel.empty:
        return None
    return chart(
        "rbridge-selection",
        "(a) Model selection with rBridge beside Patel's scorers",
        "Spearman of each scorer's ranking of unseen families with their true accuracy; black "
        "rules are confidence intervals. rBridge's bars sit beside the proxy scorers and "
        "baselines of the same population, so overlap means no measurable difference.",
        scorer_bars(sel),
    )


def ranking_chart(result: Mapping[str, Any]) -> Chart | None:
    ranking = frame(result, "ranking")
    if ranking.empty:
        return None
    pareto = (result.get("ranking_summary") or {}).get("pareto") or []
    return chart(
        "rbridge-decision-vs-compute",
        "Corpus ranking: proxies, rBridge and direct evaluation against compute",
        "Each point ranks the corpora from one small-model checkpoint with one signal: the "
        "share of corpus pairs ordered as the large models order them, against the compute "
        "spent (log scale). The dashed step line is the Pareto front; click a legend entry "
        "to single out a signal.",
        decision_vs_compute(ranking, pareto),
    )


def rbridge_section(source: str, result: Mapping[str, Any]) -> Section:
    made = (bridge_chart(result), selection_chart(result), ranking_chart(result))
    cost = frame(result, "cost")
    tables = [TableView("cost", cost, full=False)] if not cost.empty else []
    tables += [
        TableView(title, frame(result, key))
        for title, key in (
            ("bridge smallest -> largest size, 5-fold CV", "bridge"),
            ("traces written by the frontier", "traces"),
            ("(a) model selection", "selection"),
        )
        if not frame(result, key).empty
    ]
    return Section(
        key="rbridge",
        title="rBridge: the frontier's reasoning traces",
        source=source,
        headlines=tuple(rbridge_headlines(result)),
        charts=tuple(c for c in made if c is not None),
        tables=tuple(tables),
    )

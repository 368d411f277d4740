"""RuDE as pictures: its rank correlation with post-trained accuracy beside the baselines, and
how that correlation varies by 4C category and difficulty."""

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
from lmforecast.report.rude import RUDE, rude_headline


def rude_headlines(result: Mapping[str, Any]) -> list[str]:
    return [line[0].upper() + line[1:] + "." for line in rude_headline(dict(result))]


def correlation_chart(result: Mapping[str, Any]) -> Chart | None:
    corr = frame(result, "correlations")
    if corr.empty:
        return None
    corr = corr.assign(
        ci_low=[c[0] for c in corr["spearman_ci"]],
        ci_high=[c[1] for c in corr["spearman_ci"]],
        kind=["RuDE" if s == RUDE else "baseline" for s in corr["signal"]],
        after=[f"after {str(t).upper()}" for t in corr["target"]],
    ).drop(columns=["pearson_ci", "spearman_ci"])
    return chart(
        "rude-correlations",
        "RuDE against post-trained accuracy, beside the baselines",
        "Each bar is how well a base-model signal orders the models by their accuracy after "
        "post-training (Spearman, one panel per stage), with its 95% confidence interval as "
        "a black rule. RuDE is worth its pairs where its bar clears the baselines' rules.",
        rank_bars(corr, "signal", "spearman", "ci_low", "ci_high", "kind",
                  ["after", "signal", "spearman", "ci_low", "ci_high", "pearson", "models"],
                  facet="after"),
    )  # fmt: skip


def breakdown_chart(result: Mapping[str, Any]) -> Chart | None:
    bd = frame(result, "breakdown")
    if bd.empty:
        return None
    split = bd["group"].str.split("=", n=1, expand=True)
    long = (
        bd.assign(by=split[0], value=split[1])
        .melt(
            id_vars=["group", "by", "value", "mean_accuracy"],
            value_vars=[c for c in bd.columns if c.startswith("spearman_")],
            var_name="stage",
            value_name="spearman",
        )
        .assign(stage=lambda f: "after " + f["stage"].str.removeprefix("spearman_").str.upper())
    )
    made = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("value:N", title=None),
            xOffset="stage:N",
            y=alt.Y("spearman:Q", title="Spearman with post-trained accuracy"),
            color=alt.Color("stage:N", title=None),
            tooltip=["group", "stage", "spearman", "mean_accuracy"],
        )
        .properties(width=alt.Step(40), height=220)
        .facet(column=alt.Column("by:N", title=None))
        .resolve_scale(x="independent")
    )
    return chart(
        "rude-breakdown",
        "RuDE by 4C category and by difficulty",
        "RuDE computed on one kind of rubric violation (left) or one number of violated "
        "criteria |V| (right), correlated with post-trained accuracy. Taller bars mark the "
        "pairs that carry the signal; a category near zero adds noise, not information.",
        made,
    )


def rude_cost(result: Mapping[str, Any]) -> pd.DataFrame:
    scores = frame(result, "scores")
    if scores.empty or "flops" not in scores:
        return pd.DataFrame()
    per_model = scores[scores["group"] == "all"]  # the cost rides on the "all" rows
    return pd.DataFrame(
        [{"what": "RuDE: score rubric pairs", "models": per_model["model_id"].nunique(),
          "FLOPs": float(per_model["flops"].sum()),
          "seconds": float(per_model["seconds"].sum())}]
    )  # fmt: skip


def rude_section(source: str, result: Mapping[str, Any]) -> Section:
    made = (correlation_chart(result), breakdown_chart(result))
    cost = rude_cost(result)
    tables = [TableView("cost", cost, full=False)] if not cost.empty else []
    tables += [
        TableView(title, frame(result, key))
        for title, key in (
            ("pairs made per domain and difficulty", "pairs"),
            ("format recipes", "format_recipes"),
            ("upsets: smaller base model, higher RuDE, better after RL", "upsets"),
        )
        if not frame(result, key).empty
    ]
    return Section(
        key="rude",
        title="RuDE: rubric-based discrimination",
        source=source,
        headlines=tuple(rude_headlines(result)),
        charts=tuple(c for c in made if c is not None),
        tables=tuple(tables),
    )

"""What every section of the HTML report is made of, and the two charts settings share.

A :class:`Chart` is a Vega-Lite spec with a title and a two-sentence caption (what it shows, how
to read it); a :class:`Section` is one experiment's headline sentences, charts and tables. The
charts are built with Altair and kept as plain JSON specs, so the same spec goes into the HTML
page and through vl-convert into PNG/SVG files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd

from lmforecast.report.tables import strict_json

WIDTH = 560
HEIGHT = 300
DIRECT = "direct evaluation"


@dataclass(frozen=True)
class Chart:
    """One plot: ``name`` is its file stem for ``--png``."""

    name: str
    title: str
    caption: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class TableView:
    """A table for the page: the full one goes behind a disclosure, compact ones stay open."""

    title: str
    frame: pd.DataFrame
    full: bool = True


@dataclass(frozen=True)
class Section:
    """One experiment (one source file) as the page shows it."""

    key: str
    title: str
    source: str
    headlines: tuple[str, ...]
    charts: tuple[Chart, ...]
    tables: tuple[TableView, ...] = field(default_factory=tuple)


def chart(name: str, title: str, caption: str, made: alt.TopLevelMixin) -> Chart:
    """Freeze an Altair chart into a :class:`Chart` (its JSON spec, data inlined)."""
    spec = strict_json(made.to_dict())
    spec.setdefault("config", {})["view"] = {"continuousWidth": WIDTH}
    return Chart(name=name, title=title, caption=caption, spec=spec)


def frame(result: Mapping[str, Any], key: str) -> pd.DataFrame:
    return pd.DataFrame.from_records(result.get(key) or [])


def rank_bars(
    data: pd.DataFrame,
    label: str,
    value: str,
    low: str,
    high: str,
    color: str,
    tooltip: Sequence[str],
    facet: str | None = None,
) -> alt.TopLevelMixin:
    """Horizontal bars of a rank correlation with its confidence interval as a black rule."""
    order = list(data.sort_values(value, ascending=False)[label].drop_duplicates())
    y = alt.Y(f"{label}:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x_scale = alt.Scale(domain=[min(-0.2, float(data[low].min())), 1])
    base = alt.Chart(data)
    bars = base.mark_bar(opacity=0.8).encode(
        x=alt.X(f"{value}:Q", title="Spearman with the truth", scale=x_scale),
        y=y,
        color=alt.Color(f"{color}:N", title=color),
        tooltip=list(tooltip),
    )
    rules = base.mark_rule(color="black", strokeWidth=2).encode(
        x=f"{low}:Q", x2=f"{high}:Q", y=y, tooltip=list(tooltip)
    )
    layered = alt.layer(bars, rules).properties(width=WIDTH - 200, height=alt.Step(18))
    if facet:
        return layered.facet(row=alt.Row(f"{facet}:N", title=None)).resolve_scale(y="independent")
    return layered


def decision_vs_compute(
    data: pd.DataFrame, pareto: Sequence[Mapping[str, Any]]
) -> alt.TopLevelMixin:
    """Decision accuracy against compute (log), every signal and checkpoint, with the Pareto
    front as a step line; direct evaluation drawn in black so the eye finds the reference."""
    data = data.copy()
    data["kind"] = [_kind(s) for s in data["signal"]]
    data["checkpoint"] = [f"{a} @{b}" for a, b in zip(data["size"], data["step"], strict=True)]
    tooltip = ["signal", "checkpoint", "tokens", "compute_fraction", "decision_accuracy"]
    pick = alt.selection_point(fields=["signal"], bind="legend")
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=55)
        .encode(
            x=alt.X(
                "compute_fraction:Q",
                scale=alt.Scale(type="log"),
                title="compute (fraction of training the target models)",
            ),
            y=alt.Y("decision_accuracy:Q", title="decision accuracy (pairs ranked right)"),
            color=alt.Color("signal:N", title="signal", legend=alt.Legend(labelLimit=280)),
            shape=alt.Shape("kind:N", title="kind"),
            opacity=alt.condition(pick, alt.value(0.9), alt.value(0.1)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    layers: list[alt.Chart] = [points]
    if pareto:
        front = pd.DataFrame.from_records(list(pareto)).sort_values("compute_fraction")
        layers.append(
            alt.Chart(front)
            .mark_line(interpolate="step-after", color="black", strokeDash=[4, 3])
            .encode(
                x="compute_fraction:Q",
                y="decision_accuracy:Q",
                tooltip=["point", "compute_fraction", "decision_accuracy"],
            )
        )
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT).interactive()


def _kind(signal: str) -> str:
    if signal.startswith("direct"):
        return DIRECT
    if signal.startswith("rBridge") or "traces" in signal:
        return "rBridge"
    if signal.startswith("proxy"):
        return "proxy"
    return "baseline"


def scorer_bars(selection: pd.DataFrame) -> alt.TopLevelMixin:
    """Setting (a)'s table (Patel's scorers, with rBridge where it ran) as rank bars."""
    columns = ["kind", "scorer", "spearman", "ci_low", "ci_high", "models"]
    return rank_bars(selection, "scorer", "spearman", "ci_low", "ci_high", "kind", columns)

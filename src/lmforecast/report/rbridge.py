"""Terminal rendering of the rBridge experiment: the headline in words, then its tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import RenderableType

from lmforecast.report.terminal import data_selection_pivot, frame_table, resampled

MEAN = "mean"
RBRIDGE_LABEL = "rBridge"


def _frames(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    keys = ("traces", "bridge", "ranking", "selection", "cost")
    return {k: pd.DataFrame.from_records(result.get(k) or []) for k in keys}


def _bridge_sentence(bridge: pd.DataFrame) -> str | None:
    if bridge.empty:
        return None
    rows = bridge[(bridge["task"] == MEAN) & bridge["target"].str.endswith("base")]
    if rows.empty:
        return None
    by = rows.set_index("signal")
    if RBRIDGE_LABEL not in by.index:
        return None
    ours = by.loc[RBRIDGE_LABEL]
    others = [
        f"{name}: {r['train_r2']:.2f} / {r['test_mae']:.3f}"
        for name, r in by.iterrows()
        if name != RBRIDGE_LABEL
    ]
    return (
        f"bridge {ours['proxy']} -> {ours['target']} (task mean, {int(ours['points'])} points): "
        f"rBridge train R² {ours['train_r2']:.2f}, test MAE {ours['test_mae']:.3f} "
        f"({ours['coverage']:.0%} inside the {ours['level']:.0%} intervals); " + "; ".join(others)
    )


def _ranking_sentence(summary: dict[str, Any]) -> str | None:
    if not summary:
        return None
    best = summary.get("direct_best_decision_accuracy")
    where = summary.get("direct_best_at")
    share = summary.get("direct_best_compute_fraction")
    match = summary.get("rbridge_match")
    head = (
        f"corpus ranking ({summary.get('recipes')} recipes at {summary.get('large_size')}): "
        f"direct evaluation's best is {best:.3f} ({where}, {share:.1%} of target compute); "
    )
    if match:
        return head + (
            f"rBridge matches it at {match['at']} ({match['decision_accuracy']:.3f}) with "
            f"{match['compute_ratio']:.0f}x less compute"
        )
    top = summary.get("rbridge_best")
    if top:
        return head + (
            f"rBridge does not match it (best {top['decision_accuracy']:.3f} at {top['at']})"
        )
    return head + "rBridge does not match it"


def rbridge_headline(result: dict[str, Any]) -> list[str]:
    """The experiment in two sentences: the bridge and the corpus ranking."""
    frames = _frames(result)
    lines = [
        _bridge_sentence(frames["bridge"]),
        _ranking_sentence(result.get("ranking_summary") or {}),
    ]
    return [line for line in lines if line]


def rbridge_compact(result: dict[str, Any]) -> list[RenderableType]:
    """The demo's view: the headline, the task-mean bridge rows and setting (a) with rBridge."""
    frames = _frames(result)
    out: list[RenderableType] = [f"[bold]rBridge[/]: {line}" for line in rbridge_headline(result)]
    bridge = frames["bridge"]
    if not bridge.empty:
        mean = bridge[bridge["task"] == MEAN]
        cols = ["target", "signal", "points", "form", "train_r2", "test_mae", "coverage"]
        out.append(
            frame_table("rBridge: bridge to the largest size (task mean), 5-fold CV", mean[cols])
        )
    if not frames["selection"].empty:
        out.append(
            frame_table("(a) model selection: rBridge beside Patel's scorers", frames["selection"])
        )
    return out


def rbridge_renderables(result: dict[str, Any]) -> list[RenderableType]:
    """Headline, traces, bridge, corpus ranking, setting (a) and cost, from ``to_dict()``."""
    frames = _frames(result)
    out: list[RenderableType] = [f"[bold]rBridge[/]: {line}" for line in rbridge_headline(result)]
    if not frames["traces"].empty:
        out.append(frame_table("rBridge traces written by the frontier", frames["traces"]))
    bridge = frames["bridge"]
    if not bridge.empty:
        cols = ["target", "task", "signal", "points", "form", "train_r2", "test_mae", "coverage"]
        level = float(bridge["level"].iloc[0])
        out.append(
            frame_table(
                f"rBridge: bridge smallest -> largest size, 5-fold CV; coverage of the "
                f"{level:.0%} prediction intervals; 'Patel best' chosen in-sample",
                bridge[cols],
            )
        )
    ranking = frames["ranking"]
    summary = result.get("ranking_summary") or {}
    if not ranking.empty:
        out.append(
            frame_table(
                "rBridge: corpus ranking, decision accuracy (first / middle / final checkpoint)",
                data_selection_pivot(ranking),
            )
        )
    boot = summary.get("bootstrap") or {}
    if boot:
        rows = [
            {
                "signal": name,
                "at": b["at"],
                "decision_accuracy": b["decision_accuracy"],
                "ci": f"[{b['ci'][0]:.3f}, {b['ci'][1]:.3f}]",
                "spearman": b["spearman"],
                "spearman_ci": f"[{b['spearman_ci'][0]:.3f}, {b['spearman_ci'][1]:.3f}]",
            }
            for name, b in boot.items()
        ]
        label = next(iter(boot.values())).get("resampling", "examples")
        out.append(
            frame_table(
                "rBridge: corpus ranking on the final smallest checkpoints, 95% CI resampling "
                + resampled(label, "recipes").replace("expert solutions", "traces"),
                pd.DataFrame(rows),
            )
        )
    if not frames["selection"].empty:
        out.append(
            frame_table(
                "(a) cross-family model selection with rBridge: Spearman, leave-two-tasks-out",
                frames["selection"],
            )
        )
    if not frames["cost"].empty:
        out.append(frame_table("rBridge: cost per population (FLOPs)", frames["cost"]))
    for note in result.get("notes", []):
        out.append(f"[dim]note: {note}[/]")
    return out

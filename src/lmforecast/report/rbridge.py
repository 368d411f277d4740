"""Terminal rendering of the rBridge experiment: the headline in words, then its tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import RenderableType
from rich.text import Text

from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.patel import FULL_TABLES, headline, pivot_table, resampled, scorers_table
from lmforecast.report.tables import ci_text
from lmforecast.report.terminal import frame_table

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
    boot = (summary.get("bootstrap") or {}).get(RBRIDGE_LABEL)
    sure = (
        f"; at the {boot['at']} checkpoints {ci_text(boot['decision_accuracy'], *boot['ci'])} "
        "(95% CI)"
        if boot
        else ""
    )
    if match:
        return head + (
            f"rBridge matches it at {match['at']} ({match['decision_accuracy']:.3f}) with "
            f"{match['compute_ratio']:.0f}x less compute{sure}"
        )
    top = summary.get("rbridge_best")
    if top:
        return head + (
            f"rBridge does not match it (best {top['decision_accuracy']:.3f} at {top['at']})" + sure
        )
    return head + "rBridge does not match it" + sure


def rbridge_headline(result: dict[str, Any]) -> list[str]:
    """The experiment in two sentences: the bridge and the corpus ranking."""
    frames = _frames(result)
    lines = [
        _bridge_sentence(frames["bridge"]),
        _ranking_sentence(result.get("ranking_summary") or {}),
    ]
    return [line for line in lines if line]


def _bridge_table(bridge: pd.DataFrame, title: str, by_task: bool = False) -> FitTable:
    """The bridge's fits: the signal first, then the error and coverage, the form last."""
    cols = ["signal", *(["task"] if by_task else []), "target", "train_r2", "test_mae",
            "coverage", "points", "form"]  # fmt: skip
    return fit_frame(title, bridge[cols], headers={"coverage": "covered"})


def rbridge_compact(result: dict[str, Any]) -> list[RenderableType]:
    """The demo's view: the headline, the task-mean bridge rows and setting (a) with rBridge."""
    frames = _frames(result)
    out: list[RenderableType] = [headline("rBridge", line) for line in rbridge_headline(result)]
    bridge = frames["bridge"]
    if not bridge.empty:
        out.append(_bridge_table(bridge[bridge["task"] == MEAN], BRIDGE_TITLE + " (task mean)"))
    if not frames["selection"].empty:
        title = "(a) model selection: rBridge beside Patel's scorers"
        out.append(scorers_table(title, frames["selection"]))
    out.append(Text(FULL_TABLES, style="dim"))
    return out


BRIDGE_TITLE = "rBridge: bridge smallest -> largest size, 5-fold CV"


def _boot_table(boot: dict[str, Any]) -> FitTable:
    rows = [
        {
            "signal": name,
            "at": b["at"],
            "dec acc [95% CI]": ci_text(b["decision_accuracy"], *b["ci"]),
            "Spearman [95% CI]": ci_text(b["spearman"], *b["spearman_ci"]),
        }
        for name, b in boot.items()
    ]
    label = next(iter(boot.values())).get("resampling", "examples")
    return fit_frame(
        "rBridge: corpus ranking on the final smallest checkpoints, 95% CI resampling "
        + resampled(label, "recipes").replace("expert solutions", "traces"),
        pd.DataFrame(rows),
        right={"dec acc [95% CI]", "Spearman [95% CI]"},
    )


def rbridge_renderables(result: dict[str, Any]) -> list[RenderableType]:
    """Headline, traces, bridge, corpus ranking, setting (a) and cost, from ``to_dict()``."""
    frames = _frames(result)
    out: list[RenderableType] = [headline("rBridge", line) for line in rbridge_headline(result)]
    if not frames["traces"].empty:
        out.append(frame_table("rBridge traces written by the frontier", frames["traces"]))
    bridge = frames["bridge"]
    if not bridge.empty:
        level = float(bridge["level"].iloc[0])
        out.append(
            _bridge_table(
                bridge, f"{BRIDGE_TITLE}; covered: share inside the {level:.0%} intervals", True
            )
        )
    ranking = frames["ranking"]
    summary = result.get("ranking_summary") or {}
    if not ranking.empty:
        out.append(
            pivot_table("rBridge: corpus ranking, decision accuracy per checkpoint", ranking)
        )
    boot = summary.get("bootstrap") or {}
    if boot:
        out.append(_boot_table(boot))
    if not frames["selection"].empty:
        out.append(
            scorers_table(
                "(a) cross-family model selection with rBridge, leave-two-tasks-out",
                frames["selection"],
            )
        )
    if not frames["cost"].empty:
        out.append(frame_table("rBridge: cost per population (FLOPs)", frames["cost"]))
    out += [Text(f"note: {note}", style="dim") for note in result.get("notes", [])]
    return out

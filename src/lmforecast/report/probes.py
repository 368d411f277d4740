"""Terminal rendering of the probes experiment: the headline in words, then its tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import RenderableType

from lmforecast.report.terminal import frame_table

PROBLEM_ONLY = "baseline: problem-only features"


def _frames(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    return {
        k: pd.DataFrame.from_records(result.get(k) or [])
        for k in ("evaluation", "transfer", "latency")
    }


def probes_headline(result: dict[str, Any]) -> list[str]:
    """Best probe on the final checkpoints against the problem-only baseline, transfer to later
    checkpoints, and the speed-up, in words."""
    f = _frames(result)
    ev = f["evaluation"]
    if ev.empty:
        return []
    lines = []
    final_ids = ev.groupby("model_id")["probe"].nunique()
    final_ids = final_ids[final_ids == final_ids.max()].index
    table = ev[ev["model_id"].isin(final_ids)].groupby("probe")[["auroc", "accuracy_error"]].mean()
    probes = table.drop(index=[i for i in table.index if i.startswith("baseline")], errors="ignore")
    if not probes.empty:
        best = probes["auroc"].idxmax()
        base = table["auroc"].get(PROBLEM_ONLY, float("nan"))
        lines.append(
            f"on {len(final_ids)} final checkpoints, probe {best} reaches mean AUROC "
            f"{probes.loc[best, 'auroc']:.2f} (problem-only baseline {base:.2f}); task accuracy "
            f"forecast off by {probes.loc[best, 'accuracy_error']:+.3f} on average"
        )
    tr = f["transfer"]
    later = tr[(tr["kind"] == "same run") & (tr["train"] != tr["test"])] if not tr.empty else tr
    if not later.empty:
        lines.append(
            f"earlier -> later checkpoint transfer: mean AUROC {later['auroc'].mean():.2f}"
        )
    lat = f["latency"]
    if not lat.empty:
        lines.append(
            f"probe path {lat['speedup'].mean():.0f}x faster than the generative evaluation "
            f"({lat['flops_ratio'].mean():.0f}x fewer FLOPs)"
        )
    return lines


def transfer_matrix(transfer: pd.DataFrame) -> pd.DataFrame:
    """AUROC as a train (rows) x test (columns) matrix of checkpoints."""
    return transfer.pivot_table(index="train", columns="test", values="auroc", aggfunc="first")


def probes_renderables(result: dict[str, Any], compact: bool = False) -> list[RenderableType]:
    f = _frames(result)
    out: list[RenderableType] = [f"[bold]probes[/]: {line}" for line in probes_headline(result)]
    ev = f["evaluation"]
    if not ev.empty:
        cols = ["model_id", "probe", "auroc", "brier", "ece", "predicted_accuracy", "true_accuracy"]
        shown = ev if not compact else ev[ev.groupby("model_id")["probe"].transform("nunique") > 3]
        out.append(frame_table("probes: out-of-fold, split by problem", shown[cols]))
    if compact:
        return out
    tr = f["transfer"]
    if not tr.empty:
        same = tr[tr["kind"] == "same run"]
        out.append(
            frame_table(
                "probes: transfer AUROC (train row -> test column)",
                transfer_matrix(same).reset_index(),
            )
        )
    if not f["latency"].empty:
        out.append(
            frame_table("probes: latency, probe path vs generative evaluation", f["latency"])
        )
    for note in result.get("notes", []):
        out.append(f"[dim]note: {note}[/]")
    return out

"""Terminal rendering: results as rich tables and sentences (the CLI prints these).

Renderers take results (or their ``to_dict()`` form) and return rich renderables; they never
print, so the same tables can go to a file, a pager or a test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.console import RenderableType
from rich.table import Table

from lmforecast.signals.base import orientation
from lmforecast.signals.tokenstats import REQUEST_METRICS, TaskMetric
from lmforecast.truth.importers import ImportResult
from lmforecast.truth.passk import Estimate
from lmforecast.truth.run import TruthResult


def frame_table(title: str, frame: pd.DataFrame, floats: str = "{:.3f}") -> Table:
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "fiu" else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(
                    "-"
                    if not np.isfinite(v)
                    else (
                        f"{v:.3g}"
                        if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)
                        else floats.format(v)
                    )
                )
            else:
                cells.append(str(v))
        table.add_row(*cells)
    return table


def data_selection_pivot(data: pd.DataFrame) -> pd.DataFrame:
    """Setting (b) as signal x (size, checkpoint): decision accuracy, plus a row of compute.

    Three checkpoints per size (first, middle, final) keep the table readable; the JSON output
    has every checkpoint.
    """
    columns: list[tuple[str, int]] = []
    for size, group in data.groupby("size", sort=False):
        steps = sorted(group["step"].unique())
        for step in dict.fromkeys((steps[0], steps[len(steps) // 2], steps[-1])):
            columns.append((str(size), int(step)))
    out: dict[str, list[Any]] = {"signal": []}
    labels = [f"{size} @{step}" for size, step in columns]
    for label in labels:
        out[label] = []
    keyed = data.set_index(["signal", "size", "step"])
    for signal in dict.fromkeys(data["signal"]):
        out["signal"].append(signal)
        for label, (size, step) in zip(labels, columns, strict=True):
            out[label].append(float(keyed.loc[(signal, size, step), "decision_accuracy"]))
    direct = data[data["signal"].str.startswith("direct")].set_index(["size", "step"])
    out["signal"].append("compute (fraction of target training, direct eval)")
    for label, key in zip(labels, columns, strict=True):
        out[label].append(float(direct.loc[key, "compute_fraction"]))
    return pd.DataFrame(out)


def patel_renderables(result: dict[str, Any]) -> list[RenderableType]:
    """The three settings' tables and the cost ratio, from a Patel result's ``to_dict()``."""
    out: list[RenderableType] = []
    frames = {
        k: pd.DataFrame.from_records(result.get(k) or [])
        for k in (
            "selection",
            "selection_bootstrap",
            "data_selection",
            "extrapolation",
            "regression",
            "cost",
            "signals",
        )
    }
    out += _selection(frames)
    out += _data_selection(frames["data_selection"], result.get("data_selection_summary") or {})
    out += _later(frames)
    for note in result.get("notes", []):
        out.append(f"[dim]note: {note}[/]")
    return out


def _selection(frames: dict[str, pd.DataFrame]) -> list[RenderableType]:
    out: list[RenderableType] = []
    if not frames["selection"].empty:
        out.append(
            frame_table(
                "(a) cross-family model selection: Spearman vs true accuracy, leave-two-tasks-out",
                frames["selection"],
            )
        )
    boot = frames["selection_bootstrap"]
    if not boot.empty:
        label = str(boot["resampling"].iloc[0]) if "resampling" in boot else "examples"
        out.append(
            frame_table(
                "(a) single signals vs accuracy on the scored problems, 95% CI resampling "
                + resampled(label, "models"),
                boot,
            )
        )
    return out


def resampled(label: str, units: str) -> str:
    """What a bootstrap resampled, in words: ``resampled("models+examples", "recipes")`` is
    "recipes and expert solutions". Results written before the two-way bootstrap have no label
    and resampled expert solutions only."""
    words = {"examples": "expert solutions", "models": units}
    return " and ".join(words.get(part, part) for part in label.split("+"))


def _data_selection(data: pd.DataFrame, summary: dict[str, Any]) -> list[RenderableType]:
    out: list[RenderableType] = []
    if not data.empty:
        out.append(
            frame_table(
                f"(b) data selection: decision accuracy ranking {summary['recipes']} recipes at "
                f"size {summary['large_size']} ({summary['pairs']} pairs) from smaller sizes' "
                "first, middle and final checkpoints",
                data_selection_pivot(data),
            )
        )
        boot = summary.get("bootstrap", {})
        for name, b in boot.items():
            out.append(
                f"  final {summary['small_size']} checkpoints, proxy {name}: decision accuracy "
                f"{b['decision_accuracy']:.3f} [{b['ci'][0]:.3f}, {b['ci'][1]:.3f}] "
                f"(95% CI, resampling {resampled(b.get('resampling', 'examples'), 'recipes')})"
            )
        ratio = summary.get("compute_ratio")
        best = summary.get("direct_best_decision_accuracy", float("nan"))
        at = summary.get("direct_best_compute_fraction", float("nan"))
        matched = (
            f"matched by {summary['proxy_matching_signal']} ({summary['proxy_matching_at']}) at "
            f"{summary['proxy_matching_compute_fraction']:.2e} ({ratio:.1f}x less compute)"
            if ratio
            else "no proxy matched it"
        )
        out.append(
            f"  direct evaluation's best decision accuracy {best:.3f} "
            f"({summary.get('direct_best_at', '')}) at {at:.2e} of the target compute; {matched}"
        )
        for size, e in summary.get("by_size", {}).items():
            head = (
                f"  direct evaluation at size {size}: best {e['direct_decision_accuracy']:.3f} "
                f"({e['direct_at']}, {e['direct_compute_fraction']:.2e} of the target compute); "
            )
            tail = (
                f"matched by {e['proxy_signal']} ({e['proxy_at']}: "
                f"{e['proxy_decision_accuracy']:.3f} at {e['proxy_compute_fraction']:.2e}, "
                f"{e['compute_ratio']:.0f}x less compute)"
                if "compute_ratio" in e
                else "no proxy matched it"
            )
            out.append(head + tail)
        pareto = summary.get("pareto", [])
        if pareto:
            out.append(
                "  Pareto front (compute fraction, decision accuracy): "
                + "; ".join(
                    f"{q['point']} {q['compute_fraction']:.2e} -> {q['decision_accuracy']:.3f}"
                    for q in pareto
                )
            )
    return out


def _later(frames: dict[str, pd.DataFrame]) -> list[RenderableType]:
    out: list[RenderableType] = []
    if not frames["extrapolation"].empty:
        out.append(
            frame_table(
                "(c) training-time forecasting of final accuracy (lower is better)",
                frames["extrapolation"],
            )
        )
    if not frames["regression"].empty:
        wide = frames["regression"].pivot_table(
            index=["signal", "method"], columns="scheme", values=["r2", "mae"], sort=False
        )
        wide.columns = [f"{metric} {scheme}" for metric, scheme in wide.columns]
        out.append(
            frame_table(
                "signal -> accuracy maps over final models, held out (R², MAE)",
                wide.reset_index(),
            )
        )
    out.append(
        frame_table("cost: proxies vs direct evaluation (generation + grading)", frames["cost"])
    )
    if not frames["signals"].empty:
        top = frames["signals"].head(10)[["signal", "family", "spearman", "decision_accuracy"]]
        out.append(
            frame_table(
                f"every registered signal vs accuracy of the final models (best 10 of "
                f"{len(frames['signals'])}; all in --output)",
                top,
            )
        )
    return out


def metrics_table(
    title: str,
    columns: dict[str, dict[str, TaskMetric]],
    metrics: Sequence[str] = REQUEST_METRICS,
) -> Table:
    """Task metrics side by side: one column per model (value and 95% CI), arrows for
    orientation (``metrics``: registered signal names, the request metrics by default)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for metric in metrics:
        arrow = "↑" if orientation(metric) > 0 else "↓"
        table.add_row(f"{metric} {arrow}", *[_metric_cell(col[metric]) for col in columns.values()])
    return table


def _metric_cell(m: TaskMetric) -> str:
    return f"{m.value:.4g} [{m.ci_low:.4g}, {m.ci_high:.4g}]"


def _ci(e: Estimate) -> str:
    return f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]"


def truth_table(result: TruthResult) -> Table:
    """The summary of a truth run: accuracy and pass@k with 95% intervals, then the cost."""
    cfg = result.config
    mode = "greedy" if cfg.greedy else f"T={cfg.temperature:g}, top-p={cfg.top_p:g}"
    table = Table(
        title=f"{result.model} · {result.task} · {mode} · {cfg.n_samples} sample(s)/problem",
        title_justify="left",
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("accuracy = pass@1 (95% CI)", _ci(result.accuracy))
    for k, est in result.pass_at_k.items():
        if k != 1:
            table.add_row(f"pass@{k} (95% CI)", _ci(est))
    table.add_row("problems", str(result.num_problems))
    table.add_row("compute seconds", f"{result.seconds:.1f}")
    table.add_row("seconds per problem", f"{result.seconds_per_problem:.2f}")
    table.add_row("tokens generated", f"{result.tokens_generated:,}")
    table.add_row("tokens/s", f"{result.tokens_generated / max(result.seconds, 1e-9):.1f}")
    table.add_row("prompt tokens", f"{result.prompt_tokens:,}")
    table.add_row("FLOPs (est.)", f"{result.flops:.3g}")
    if result.truncated_prompts:
        table.add_row("prompts left-truncated", str(result.truncated_prompts))
    table.add_row("shards reused / computed", f"{result.shards_reused} / {result.shards_computed}")
    if result.key:
        table.add_row("store key", result.key)
    return table


def import_table(result: ImportResult, max_rows: int = 30) -> Table:
    """Aggregate rows as they are; per-example rows summarised per (model, task, metric)."""
    table = Table(
        title=f"{result.path.name}: {result.format} {result.shape}, {result.table.num_rows} rows",
        title_justify="left",
    )
    for col in ("model", "task", "metric"):
        table.add_column(col)
    data = result.table.to_pylist()
    if result.shape == "aggregate":
        table.add_column("value", justify="right")
        for row in data[:max_rows]:
            table.add_row(row["model"], row["task"], row["metric"], f"{row['value']:.6g}")
    else:
        table.add_column("examples", justify="right")
        table.add_column("mean", justify="right")
        groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for row in data:
            groups[(row["model"], row["task"], row["metric"])].append(row["value"])
        for (m, t, metric), values in list(groups.items())[:max_rows]:
            table.add_row(m, t, metric, str(len(values)), f"{sum(values) / len(values):.4g}")
    return table

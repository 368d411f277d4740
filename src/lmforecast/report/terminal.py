"""Terminal rendering: tables for the CLI's listings and runs (Patel's settings are in
:mod:`lmforecast.report.patel`, each other experiment in its own module).

Renderers take results (or their ``to_dict()`` form) and return rich renderables; they never
print, so the same tables can go to a file, a pager or a test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.tables import cell
from lmforecast.signals.base import orientation
from lmforecast.signals.tokenstats import REQUEST_METRICS, TaskMetric
from lmforecast.truth.importers import ImportResult
from lmforecast.truth.passk import Estimate
from lmforecast.truth.run import TruthResult


def number_text(floats: str = "{:.3f}") -> Callable[[Any], str]:
    """Cells as text: floats with ``floats`` (3 significant digits when very large or small),
    a missing number as ``-``, anything else as it prints."""

    def text(v: Any) -> str:
        if not isinstance(v, float | np.floating):
            return cell(v)
        x = float(v)
        if not np.isfinite(x):
            return "-"
        if abs(x) >= 1e4 or (x != 0 and abs(x) < 1e-3):
            return f"{x:.3g}"
        return floats.format(x)

    return text


def frame_table(
    title: str, frame: pd.DataFrame, floats: str = "{:.3f}", wrap: Sequence[str] = ()
) -> FitTable:
    """``frame`` as a table that fits the terminal: its first column whole, the columns on its
    right left out when there is no room (``wrap``: columns that may wrap instead)."""
    return fit_frame(title, frame, text=number_text(floats), wrap=wrap)


def tasks_table(tasks: pd.DataFrame) -> FitTable:
    """``lmforecast tasks``: the names a user types, whole; the source may wrap."""
    order = ["name", "kind", "docs", "source", "requests", "grader"]
    return fit_frame("tasks", tasks, wrap=["source"], priority=order)


def signals_table(signals: pd.DataFrame) -> FitTable:
    """``lmforecast signals``: name, orientation and description first; what each needs last."""
    view = signals.assign(
        higher_is_better=["higher" if h else "lower" for h in signals["higher_is_better"]]
    ).rename(columns={"higher_is_better": "better"})
    order = ["name", "better", "description", "family", "needs"]
    view = view[[c for c in order if c in view] + [c for c in view if c not in order]]
    return fit_frame("signals", view, wrap=["description"], priority=order)


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


def metrics_frame(
    columns: dict[str, dict[str, TaskMetric]], metrics: Sequence[str] = REQUEST_METRICS
) -> pd.DataFrame:
    """What :func:`metrics_table` shows, one row per model and metric (``--format``)."""
    rows = [
        {"model": model, "metric": m, "value": col[m].value, "ci_low": col[m].ci_low,
         "ci_high": col[m].ci_high, "n": col[m].n, "higher_is_better": orientation(m) > 0}
        for model, col in columns.items()
        for m in metrics
    ]  # fmt: skip
    return pd.DataFrame(rows)


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


def truth_frame(result: TruthResult) -> pd.DataFrame:
    """A truth run as one row with every figure of :func:`truth_table` (``--format``)."""
    cfg = result.config
    row: dict[str, Any] = {
        "model": result.model,
        "task": result.task,
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "samples": cfg.n_samples,
        "problems": result.num_problems,
    }
    for k, est in {1: result.accuracy, **result.pass_at_k}.items():
        name = "accuracy" if k == 1 else f"pass@{k}"
        row.update({name: est.value, f"{name}_low": est.low, f"{name}_high": est.high})
    row.update(
        seconds=result.seconds,
        tokens_generated=result.tokens_generated,
        prompt_tokens=result.prompt_tokens,
        flops=result.flops,
        truncated_prompts=result.truncated_prompts,
        shards_reused=result.shards_reused,
        shards_computed=result.shards_computed,
        key=result.key,
    )
    return pd.DataFrame([row])


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

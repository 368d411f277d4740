"""``lmforecast experiment patel`` and ``lmforecast forecast``: the forecasting tables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from lmforecast.cli.app import app, console
from lmforecast.core.errors import UserError

experiment_app = typer.Typer(help="End-to-end experiments on a testbed population.")
app.add_typer(experiment_app, name="experiment")


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


def print_patel(result: Any) -> None:
    """The three settings' tables and the cost ratio."""
    if not result.selection.empty:
        console.print(
            frame_table(
                "(a) cross-family model selection: Spearman vs true accuracy, leave-two-tasks-out",
                result.selection,
            )
        )
    if not result.selection_bootstrap.empty:
        console.print(
            frame_table(
                "(a) single signals vs accuracy on the scored problems, 95% CI resampling "
                "expert solutions",
                result.selection_bootstrap,
            )
        )
    data = result.data_selection
    if not data.empty:
        summary = result.data_selection_summary
        console.print(
            frame_table(
                f"(b) data selection: decision accuracy ranking {summary['recipes']} recipes at "
                f"size {summary['large_size']} ({summary['pairs']} pairs) from smaller sizes' "
                "first, middle and final checkpoints",
                data_selection_pivot(data),
            )
        )
        boot = summary.get("bootstrap", {})
        for name, b in boot.items():
            console.print(
                f"  final {summary['small_size']} checkpoints, proxy {name}: decision accuracy "
                f"{b['decision_accuracy']:.3f} [{b['ci'][0]:.3f}, {b['ci'][1]:.3f}] "
                "(95% CI, resampling expert solutions)"
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
        console.print(
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
            console.print(head + tail)
        pareto = summary.get("pareto", [])
        if pareto:
            console.print(
                "  Pareto front (compute fraction, decision accuracy): "
                + "; ".join(
                    f"{q['point']} {q['compute_fraction']:.2e} -> {q['decision_accuracy']:.3f}"
                    for q in pareto
                )
            )
    if not result.extrapolation.empty:
        console.print(
            frame_table(
                "(c) training-time forecasting of final accuracy (lower is better)",
                result.extrapolation,
            )
        )
    if not result.regression.empty:
        wide = result.regression.pivot_table(
            index=["signal", "method"], columns="scheme", values=["r2", "mae"], sort=False
        )
        wide.columns = [f"{metric} {scheme}" for metric, scheme in wide.columns]
        console.print(
            frame_table(
                "signal -> accuracy maps over final models, held out (R², MAE)",
                wide.reset_index(),
            )
        )
    console.print(
        frame_table("cost: proxies vs direct evaluation (generation + grading)", result.cost)
    )
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")


@experiment_app.command("patel")
def patel(
    preset: Annotated[str, typer.Option(help="testbed preset (ci or full)")] = "full",
    seed: int = 0,
    docs_per_task: Annotated[int, typer.Option(help="expert solutions scored per task")] = 100,
    build: Annotated[bool, typer.Option(help="build the testbed first if missing")] = True,
    output: Annotated[Path | None, typer.Option(help="write the tables as JSON here")] = None,
    workers: Annotated[
        int, typer.Option(help="processes scoring models in parallel (0: one per core)")
    ] = 0,
) -> None:
    """Patel et al.'s three settings on a testbed population, with CIs and cost ratios."""
    from lmforecast import testbed
    from lmforecast.experiments.patel import PatelConfig, run_patel

    if build:
        with console.status(f"testbed {preset}: building or reusing") as status:
            testbed.build(
                preset, seed, progress=lambda *a: status.update(" ".join(map(str, a))[:100])
            )
    config = PatelConfig(
        preset=preset,
        seed=seed,
        docs_per_task=docs_per_task,
        workers=workers if workers > 0 else (os.cpu_count() or 1),
    )
    with console.status("scoring") as status:
        result = run_patel(config, progress=lambda msg: status.update(msg))
    print_patel(result)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            json.dumps(
                {
                    "selection": result.selection.to_dict("records"),
                    "selection_bootstrap": result.selection_bootstrap.to_dict("records"),
                    "data_selection": result.data_selection.to_dict("records"),
                    "data_selection_summary": result.data_selection_summary,
                    "extrapolation": result.extrapolation.to_dict("records"),
                    "regression": result.regression.to_dict("records"),
                    "cost": result.cost.to_dict("records"),
                    "notes": result.notes,
                },
                indent=1,
                default=float,
            )
        )
        console.print(f"wrote {output}")


def read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"--{what} {path}: file not found")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix == ".jsonl":
            return pd.read_json(path, lines=True)
    except Exception as e:
        raise UserError(f"--{what} {path}: cannot read ({type(e).__name__}: {e})") from None
    raise UserError(f"--{what} {path}: expected a .parquet, .csv or .jsonl file")


@app.command()
def forecast(
    signals: Annotated[
        Path, typer.Option(help="table with columns model, task and signal columns")
    ],
    truth: Annotated[Path, typer.Option(help="table with columns model, task, value (accuracy)")],
) -> None:
    """Agreement of each signal with ground truth across models, per task (with decision accuracy)
    and a leave-one-out linear fit from signal to accuracy."""
    from lmforecast.forecast.agreement import rank_agreement
    from lmforecast.forecast.regression import evaluate_regression

    s = read_table(signals, "signals")
    t = read_table(truth, "truth")
    for frame, what, needed in (
        (s, "signals", ("model", "task")),
        (t, "truth", ("model", "task", "value")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            have = ", ".join(map(str, frame.columns))
            raise UserError(f"--{what}: missing column(s) {', '.join(missing)} (have {have})")
    joined = s.merge(t[["model", "task", "value"]], on=["model", "task"])
    if joined.empty:
        raise UserError("no (model, task) pair is in both --signals and --truth")
    columns = [
        c for c in s.columns if c not in ("model", "task") and pd.api.types.is_numeric_dtype(s[c])
    ]
    rows = []
    for task, group in joined.groupby("task"):
        for col in columns:
            if group[col].nunique() < 2 or group["value"].nunique() < 2:
                continue
            agree = rank_agreement(group[col], group["value"])
            reg = (
                evaluate_regression(
                    group[col].to_numpy(float), group["value"].to_numpy(float), "linear"
                )
                if len(group) >= 4
                else None
            )
            rows.append(
                {
                    "task": task,
                    "signal": col,
                    "models": len(group),
                    "spearman": agree.spearman,
                    "kendall": agree.kendall,
                    "decision_accuracy": agree.decision_accuracy,
                    "loo_mae": reg.mae if reg else float("nan"),
                    "loo_r2": reg.r2 if reg else float("nan"),
                }
            )
    console.print(frame_table("signals vs ground truth", pd.DataFrame(rows)))

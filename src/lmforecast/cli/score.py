"""``lmforecast score``, ``show`` and ``tasks``: score a task's requests and look at the results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.table import Table

from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress
from lmforecast.core.errors import UserError
from lmforecast.engine import ScoreConfig
from lmforecast.models import LoadOptions, load_model
from lmforecast.signals import scored
from lmforecast.signals.tokenstats import (
    HIGHER_IS_BETTER,
    REQUEST_METRICS,
    add_request_metrics,
    task_metrics,
)
from lmforecast.store import Store
from lmforecast.tasks import TASKS, get_task

OUTPUT_COLUMNS = [
    "request_index",
    "doc_id",
    "logprob",
    "num_tokens",
    "num_bytes",
    "truncated",
    "is_greedy",
    *[m for m in REQUEST_METRICS if m != "logprob"],
]


def write_output(table: pa.Table, path: Path, per_token: bool) -> None:
    """Write one row per request to ``.parquet`` or ``.jsonl`` (per-token lists on request)."""
    columns = list(OUTPUT_COLUMNS)
    if per_token:
        columns += [c for c in table.column_names if c.startswith(("tok_", "hidden_"))]
    out = table.select(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(out, path)
    elif path.suffix == ".jsonl":
        import json

        with path.open("w", encoding="utf-8") as f:
            for row in out.to_pylist():
                f.write(json.dumps(row) + "\n")
    else:
        raise UserError(f"--output {path}: expected a .parquet or .jsonl file name")


def metrics_table(title: str, columns: dict[str, dict[str, object]]) -> Table:
    """Task metrics side by side: one column per model (value and 95% CI)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for metric in REQUEST_METRICS:
        arrow = "↑" if HIGHER_IS_BETTER[metric] else "↓"
        table.add_row(f"{metric} {arrow}", *[str(col[metric]) for col in columns.values()])
    return table


def format_metrics(scored_table: pa.Table) -> dict[str, object]:
    metrics = task_metrics(scored_table)
    return {name: f"{m.value:.4g} [{m.ci_low:.4g}, {m.ci_high:.4g}]" for name, m in metrics.items()}


@app.command()
def score(
    model: Annotated[str, typer.Option(help="alias, .gguf file, model directory or hub id")],
    task: Annotated[str, typer.Option(help="task name (see `lmforecast tasks`) or a .jsonl")],
    limit: Annotated[int | None, typer.Option(help="first N docs only")] = None,
    output: Annotated[
        Path | None, typer.Option(help="write per-request rows (.parquet/.jsonl)")
    ] = None,
    per_token: Annotated[bool, typer.Option(help="also write per-token lists to --output")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    prefix_sharing: Annotated[bool, typer.Option(help="reuse shared prefixes' KV cache")] = True,
    truncate: Annotated[
        str, typer.Option(help="request longer than the window: 'error' or 'left'")
    ] = "error",
    dtype: Annotated[str, typer.Option(help="auto|float32|bfloat16")] = "auto",
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
    trust_remote_code: bool = False,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
) -> None:
    """Score a task's requests: per-token statistics, stored and resumable."""
    if truncate not in ("error", "left"):
        raise UserError(f"--truncate {truncate!r}: expected 'error' or 'left'")
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise UserError(f"--dtype {dtype!r}: expected auto, float32, bfloat16 or float16")
    trunc: Literal["error", "left"] = "left" if truncate == "left" else "error"
    the_task = get_task(task, limit)
    options = LoadOptions(dtype=dtype, device=device, trust_remote_code=trust_remote_code)  # type: ignore[arg-type]
    with console.status(f"loading {model}"):
        lm = load_model(model, options)
    config = ScoreConfig(batch_size=batch_size, prefix_sharing=prefix_sharing, truncate=trunc)
    store = Store(store_dir)
    with rate_progress(f"{model} · {the_task.name}") as bar:
        result = scored.score_task(
            lm, the_task, config, store, progress=bar.advance, on_plan=bar.start
        )
    table = add_request_metrics(result.table)
    console.print(
        f"{len(the_task.requests)} requests · {lm.source} · "
        f"{result.computed_units}/{result.total_units} units computed · "
        f"{result.seconds:.1f} s · {result.flops:.3g} FLOPs · key {result.key}"
    )
    console.print(metrics_table(f"{the_task.name}", {model: format_metrics(table)}))
    if output is not None:
        write_output(table, output, per_token)
        console.print(f"wrote {table.num_rows} rows to {output}")


@app.command()
def show(
    model: Annotated[
        str | None, typer.Option(help="only this model (as named when scored)")
    ] = None,
    task: Annotated[str | None, typer.Option(help="only this task")] = None,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
) -> None:
    """Print stored scoring results: one row per (model, task) with the per-task metrics."""
    store = Store(store_dir)
    table = Table(title="stored scores", title_justify="left")
    for col in ("model", "task", "requests", *REQUEST_METRICS[1:], "seconds", "key"):
        table.add_column(col, justify="left" if col in ("model", "task", "key") else "right")
    rows = 0
    for key, meta in scored_entries(store):
        if (model and meta.get("model") != model) or (task and meta.get("task") != task):
            continue
        data = store.read(scored.KIND, key)
        if data is None:
            continue
        data = add_request_metrics(data)
        complete = data.num_rows == meta.get("num_requests")
        values = [
            f"{float(pa.compute.mean(data.column(m)).as_py()):.4g}" for m in REQUEST_METRICS[1:]
        ]
        seconds = float(pa.compute.sum(data.column("cost_seconds")).as_py())
        count = f"{data.num_rows}" + ("" if complete else f"/{meta.get('num_requests')}")
        table.add_row(str(meta["model"]), str(meta["task"]), count, *values, f"{seconds:.1f}", key)
        rows += 1
    if rows == 0:
        console.print(
            f"no stored scores in {store.root}" + (" matching the filters" if model or task else "")
        )
        return
    console.print(table)


def scored_entries(store: Store) -> list[tuple[str, dict[str, object]]]:
    return sorted(
        store.entries(scored.KIND), key=lambda kv: (str(kv[1]["task"]), str(kv[1]["model"]))
    )


@app.command()
def tasks() -> None:
    """List the registered tasks."""
    table = Table(title="tasks", title_justify="left")
    for col in ("name", "kind", "docs", "requests", "grader", "source"):
        table.add_column(col)
    for name in TASKS.names():
        t = get_task(name)
        table.add_row(
            name, t.kind, str(len(t.docs)), str(len(t.requests)), t.grader or "-", t.source
        )
    console.print(table)

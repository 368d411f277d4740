"""``lmforecast truth`` (generate and grade) and ``lmforecast import`` (results from elsewhere)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress
from lmforecast.core.errors import UserError
from lmforecast.engine.generate import GenerationConfig
from lmforecast.models import LoadOptions, load_model
from lmforecast.store import Store
from lmforecast.tasks import get_task
from lmforecast.truth.importers import ImportResult, import_file
from lmforecast.truth.passk import Estimate
from lmforecast.truth.run import TruthProgress, TruthResult, run_truth


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


@app.command("truth")
def truth_cmd(
    model: Annotated[str, typer.Option(help="alias, .gguf file, model directory or hub id")],
    task: Annotated[str, typer.Option(help="a generative task (gsm8k:gold, humaneval:gold, ...)")],
    limit: Annotated[int | None, typer.Option(help="first N problems only")] = None,
    samples: Annotated[int, typer.Option(min=1, help="samples per problem (pass@k, k<=n)")] = 1,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 1.0,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="generation budget (default: the task's)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    dtype: Annotated[str, typer.Option(help="auto|float32|bfloat16")] = "auto",
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
) -> None:
    """Generate answers, grade them (code runs in a sandbox) and report accuracy and cost."""
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise UserError(f"--dtype {dtype!r}: expected auto, float32, bfloat16 or float16")
    if top_p <= 0.0:
        raise UserError("--top-p must be in (0, 1]")
    if samples > 1 and temperature == 0.0:
        console.print("[yellow]note:[/] greedy samples are identical; pass@k>1 equals pass@1")
    config = GenerationConfig(
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        n_samples=samples,
        max_tokens=max_tokens,
        batch_size=batch_size,
    )
    the_task = get_task(task, limit)
    options = LoadOptions(dtype=dtype, device=device)  # type: ignore[arg-type]
    with console.status(f"loading {model}"):
        lm = load_model(model, options)
    store = Store(store_dir)
    with rate_progress(f"{model} · {the_task.name}", unit="problems") as bar:
        shown = {"items": 0, "tokens": 0, "started": False}

        def report(p: TruthProgress) -> None:
            if not shown["started"]:
                bar.start(p.problems_total)
                shown["started"] = True
            items = int(p.problems_done) - int(shown["items"])
            tokens = p.tokens_generated - int(shown["tokens"])
            if items or tokens:
                bar.advance(items, tokens)
                shown["items"] = int(p.problems_done)
                shown["tokens"] = p.tokens_generated

        result = run_truth(lm, the_task, config, store, report)
    console.print(truth_table(result))


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


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="results file: lm-eval, OLMES or CSV")],
    format: Annotated[str, typer.Option("--format", help="auto|lm-eval|olmes|csv")] = "auto",
    model: Annotated[str | None, typer.Option(help="model name (overrides the file's)")] = None,
    task: Annotated[str | None, typer.Option(help="task name (overrides the file's)")] = None,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
) -> None:
    """Import ground truth computed elsewhere into the store."""
    if format not in ("auto", "lm-eval", "olmes", "csv"):
        raise UserError(f"--format {format!r}: expected auto, lm-eval, olmes or csv")
    result = import_file(file, format, model=model, task=task, store=Store(store_dir))  # type: ignore[arg-type]
    console.print(import_table(result))
    console.print(
        f"imported {result.table.num_rows} {result.shape} rows as {result.format} · "
        f"models: {', '.join(result.models)} · tasks: {', '.join(result.tasks)} · "
        f"key {result.key}"
    )

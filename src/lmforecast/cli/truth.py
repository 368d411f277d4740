"""``lmforecast truth`` (generate and grade) and ``lmforecast import`` (results from elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.cli.executor import ExecutorOption
from lmforecast.cli.output import FormatOption, check_format, emit, info
from lmforecast.cli.progress import rate_progress
from lmforecast.core.errors import UserError
from lmforecast.engine.generate import GenerationConfig
from lmforecast.report.terminal import import_table, truth_frame, truth_table
from lmforecast.truth.run import TruthProgress


@app.command("truth")
def truth_cmd(
    model: Annotated[str, typer.Option(help="alias, .gguf file, model directory or hub id")],
    task: Annotated[str, typer.Option(help="a generative task (gsm8k:gold, humaneval:gold, ...)")],
    limit: Annotated[int | None, typer.Option(min=1, help="first N problems only")] = None,
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
    executor: ExecutorOption = "local",
    fmt: FormatOption = "table",
) -> None:
    """Generate answers, grade them (code runs in a sandbox) and report accuracy and cost."""
    check_format(fmt)
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise UserError(f"--dtype {dtype!r}: expected auto, float32, bfloat16 or float16")
    if top_p <= 0.0:
        raise UserError("--top-p must be in (0, 1]")
    if samples > 1 and temperature == 0.0:
        info(fmt).print("[yellow]note:[/] greedy samples are identical; pass@k>1 equals pass@1")
    config = GenerationConfig(
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        n_samples=samples,
        max_tokens=max_tokens,
        batch_size=batch_size,
    )
    if store_dir is not None:
        checks.writable_directory(store_dir, "--store-dir")
    spec = api.parse_executor_spec(executor)
    the_task = api.task(task, limit)
    with console.status(f"loading {model}"):
        lm = api.load(model, dtype, device)  # type: ignore[arg-type]
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

        result = api.truth(
            model if spec.kind != "local" else lm,
            the_task,
            config,
            store_dir=store_dir,
            progress=report,
            executor=spec,
            dtype=dtype,  # type: ignore[arg-type]
            device=device,  # type: ignore[arg-type]
        )
    emit(fmt, truth_frame(result), lambda: [truth_table(result)])


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
    result = api.import_truth(file, format, model, task, store_dir)  # type: ignore[arg-type]
    console.print(import_table(result))
    console.print(
        f"imported {result.table.num_rows} {result.shape} rows as {result.format} · "
        f"models: {', '.join(result.models)} · tasks: {', '.join(result.tasks)} · "
        f"key {result.key}"
    )

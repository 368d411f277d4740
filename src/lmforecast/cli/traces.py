"""``lmforecast traces make|list``: rBridge's frontier reasoning traces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress

traces_app = typer.Typer(
    help="rBridge's frontier reasoning traces: make, list.", no_args_is_help=True
)
app.add_typer(traces_app, name="traces")


@traces_app.command("make")
def make(
    frontier: Annotated[
        str,
        typer.Option(
            help="the frontier: a model spec, or testbed-frontier[:PRESET] (the testbed's)"
        ),
    ],
    task: Annotated[str, typer.Option(help="task whose problems the frontier reasons about")],
    limit: Annotated[int | None, typer.Option(min=1, help="first N docs only")] = None,
    output: Annotated[Path | None, typer.Option(help="also write the traces (.jsonl)")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    seed: Annotated[int, typer.Option(help="seed of the one sampled retry")] = 0,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="longest trace (default: the task's)")
    ] = None,
) -> None:
    """Generate, store and list traces: the frontier's greedy reasoning on each problem with
    its per-token log-probabilities, the final-answer line stripped. A completion in bad
    format gets one sampled retry, then its problem is dropped and counted."""
    checks.output_file(output, (".jsonl",))
    with rate_progress(f"{frontier} · {task} · traces", unit="traces") as bar:
        shown = {"done": 0, "started": 0}

        def report(done: int, total: int) -> None:
            if not shown["started"]:
                bar.start(total)
                shown["started"] = 1
            bar.advance(done - shown["done"], 0)
            shown["done"] = done

        made, _ = api.make_traces(
            frontier,
            task,
            limit=limit,
            batch_size=batch_size,
            seed=seed,
            max_tokens=max_tokens,
            output=output,
            progress=report,
        )
    console.print(
        f"{made.traces} traces of {made.task} by {made.frontier} · {made.retried} retried · "
        f"{made.dropped} dropped in bad format · {made.generated_tokens} tokens generated"
    )
    console.print(f"stored at {made.path} (`--traces auto` uses it for {made.task})")
    if output is not None:
        console.print(f"wrote {made.traces} traces to {output}")


@traces_app.command("list")
def list_() -> None:
    """Every stored trace set; the one `--traces auto` uses is marked."""
    sets = api.stored_trace_sets()
    if not sets:
        console.print("no traces made yet: `lmforecast traces make --frontier M --task T`")
        return
    table = Table(title="stored traces")
    for c in ("task", "auto", "frontier", "traces", "dropped", "retried", "key"):
        table.add_column(c, no_wrap=True)
    for t, auto in sets:
        table.add_row(
            t.task,
            "*" if auto else "",
            Path(t.frontier).name,
            str(t.traces),
            str(t.dropped),
            str(t.retried),
            t.key,
        )
    console.print(table)

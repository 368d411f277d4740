"""``lmforecast demo``: the main job end to end on built-in data and models, no flags."""

from __future__ import annotations

from typing import Annotated

import typer

from lmforecast.cli.app import app, console
from lmforecast.cli.progress import rate_progress
from lmforecast.cli.score import format_metrics, metrics_table
from lmforecast.engine import ScoreConfig
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.signals.tokenstats import add_request_metrics
from lmforecast.store import Store
from lmforecast.tasks import get_task

DEMO_MODELS = ("smollm2-135m", "gemma3-270m")


def proxy_metrics_side_by_side(models: tuple[str, ...], task_name: str, limit: int) -> None:
    """Score each real model on the task and print the per-task proxy metrics side by side."""
    task = get_task(task_name, limit)
    store = Store()
    columns = {}
    for name in models:
        with console.status(f"loading {name}"):
            model = load_model(name)
        with rate_progress(f"{name} · {task.name}") as bar:
            result = scored.score_task(
                model, task, ScoreConfig(), store, progress=bar.advance, on_plan=bar.start
            )
        console.print(
            f"{name}: {model.source}; {result.seconds:.1f} s, {result.flops:.3g} FLOPs"
            + ("" if result.computed_units else " (reused from the store)")
        )
        columns[name] = format_metrics(add_request_metrics(result.table))
        del model
    console.print(metrics_table(f"{task.name}, first {limit} requests", columns))


@app.command()
def demo(
    limit: Annotated[int, typer.Option(help="gsm8k:gold requests to score")] = 100,
) -> None:
    """Score the two built-in real models on gsm8k:gold and compare their proxy metrics."""
    proxy_metrics_side_by_side(DEMO_MODELS, "gsm8k:gold", limit)

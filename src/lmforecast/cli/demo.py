"""``lmforecast demo``: the main job end to end on built-in data and models, no flags."""

from __future__ import annotations

import os
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
    limit: Annotated[int, typer.Option(help="gsm8k:gold requests per real model")] = 20,
    real: Annotated[bool, typer.Option(help="also compare the two real models")] = True,
) -> None:
    """The main job: build (or reuse) the `ci` testbed, compute proxies and ground truth, print
    the three forecasting settings with cost ratios; then the two real models side by side."""
    from lmforecast import testbed
    from lmforecast.cli.experiment import print_patel
    from lmforecast.experiments.patel import PatelConfig, run_patel

    with console.status("testbed ci: building or reusing") as status:
        testbed.build("ci", 0, progress=lambda *a: status.update(" ".join(map(str, a))[:100]))
    with console.status("scoring the ci population") as status:
        result = run_patel(
            PatelConfig(preset="ci", docs_per_task=48, workers=os.cpu_count() or 1),
            progress=lambda m: status.update(m),
        )
    print_patel(result)
    if real:
        proxy_metrics_side_by_side(DEMO_MODELS, "gsm8k:gold", limit)

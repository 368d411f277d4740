"""``lmforecast probe train|predict``: a probe on one model's hidden states of its prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.report.probes import prediction_renderables, training_renderables

probe_app = typer.Typer(
    help="Probes that predict pass@1 from a prompt's hidden states: train, predict.",
    no_args_is_help=True,
)
app.add_typer(probe_app, name="probe")

ModelOpt = Annotated[str, typer.Option(help="model: an alias, a directory, a .gguf, a hub id")]
TasksOpt = Annotated[list[str], typer.Option("--task", help="generative task (repeat for several)")]
BatchOpt = Annotated[int, typer.Option(min=1, help="prompts per forward pass")]


@probe_app.command("train")
def train(
    model: ModelOpt,
    task: TasksOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="where to save the probe")],
    probe: Annotated[str, typer.Option(help="logreg, mlp, attention or submodel")] = "logreg",
    limit: Annotated[int | None, typer.Option(min=10, help="first N problems per task")] = 200,
    n_samples: Annotated[int, typer.Option(min=1, help="answers per problem for pass@1")] = 8,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.8,
    seed: Annotated[int, typer.Option()] = 0,
    folds: Annotated[int, typer.Option(min=2, help="folds of the split by problem")] = 5,
    batch_size: BatchOpt = 16,
) -> None:
    """Label each problem with pass@1 (n sampled answers, graded), store one forward pass of
    features, report the probe's out-of-fold quality beside two baselines, then fit it on every
    problem and save it."""
    checks.output_file(output, (".probe",), "--output")
    with console.status("probe: starting") as status:
        trained = api.train_probe(
            model,
            task,
            probe=probe,
            limit=limit,
            n_samples=n_samples,
            temperature=temperature,
            seed=seed,
            folds=folds,
            batch_size=batch_size,
            output=output,
            progress=status.update,
        )
    for renderable in training_renderables(trained.to_dict()):
        console.print(renderable)
    console.print(f"saved {output}")


@probe_app.command("predict")
def predict(
    probe: Annotated[Path, typer.Option(help="a probe saved by `lmforecast probe train`")],
    model: ModelOpt,
    task: TasksOpt,
    limit: Annotated[int | None, typer.Option(min=1, help="first N problems per task")] = None,
    truth: Annotated[
        bool, typer.Option(help="also sample and grade answers, and say how the forecast did")
    ] = False,
    output: Annotated[
        Path | None, typer.Option(help="per-problem predictions (.csv or .parquet)")
    ] = None,
    batch_size: BatchOpt = 16,
) -> None:
    """Predicted pass@1 of every problem and each task's predicted accuracy, from one forward
    pass over the prompts (no generation)."""
    checks.output_file(output, (".csv", ".parquet"))
    with console.status("probe: forward pass over the prompts"):
        found = api.predict_probe(
            probe, model, task, limit=limit, truth=truth, batch_size=batch_size
        )
    for renderable in prediction_renderables(found.to_dict()):
        console.print(renderable)
    if output is not None:
        if output.suffix == ".csv":
            found.table.to_csv(output, index=False)
        else:
            found.table.to_parquet(output, index=False)
        console.print(f"wrote {output}")

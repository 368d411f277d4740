"""``lmforecast rude pairs|show|rubrics``: RuDE's contrastive pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console
from lmforecast.report.rude import pair_renderables

rude_app = typer.Typer(
    help="RuDE: rubric-based contrastive pairs (make, show, list rubrics).", no_args_is_help=True
)
app.add_typer(rude_app, name="rude")


@rude_app.command("pairs")
def pairs(
    rubric: Annotated[str, typer.Option(help="rubric YAML file, or a shipped rubric's name")],
    output: Annotated[Path, typer.Option(help="pairs file to write (.jsonl)")],
    task: Annotated[
        str | None,
        typer.Option(help="task whose expert solutions are the positives (default: the rubric's)"),
    ] = None,
    difficulty: Annotated[int, typer.Option(min=1, help="criteria violated per pair, |V|")] = 1,
    n: Annotated[int | None, typer.Option(min=1, help="at most N pairs (default: all)")] = None,
    seed: int = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="first N docs only")] = None,
) -> None:
    """Pairs by controlled degradation: each negative violates exactly V and nothing else,
    within 10% of the positive's length; pairs that cannot be made are counted by reason."""
    checks.output_file(output, (".jsonl",))
    _, report = api.rude_pairs(
        rubric, task, difficulty=difficulty, n=n, seed=seed, limit=limit, output=output
    )
    console.print(
        f"{report.made} pairs of difficulty {difficulty} from {report.attempted} attempts "
        f"· {report.attempted - report.made} not made · wrote {output}"
    )
    for reason, count in report.failures.items():
        console.print(f"  not made ({count}): {reason}", highlight=False)


@rude_app.command("show")
def show(
    pairs: Annotated[Path, typer.Option(help="pairs file (.jsonl)")],
    n: Annotated[int, typer.Option(min=1, help="how many pairs to show")] = 3,
    start: Annotated[int, typer.Option(min=0, help="first pair to show")] = 0,
) -> None:
    """A few pairs side by side: the changed spans marked, the violated criteria named."""
    from lmforecast.signals.rude.pairs import read_pairs

    for renderable in pair_renderables(read_pairs(pairs)[start : start + n]):
        console.print(renderable)


@rude_app.command("rubrics")
def rubrics() -> None:
    """The shipped rubrics (pass a name to `--rubric`)."""
    from lmforecast.signals.rude.rubric import load_rubric, shipped_rubrics

    for name in shipped_rubrics():
        r = load_rubric(name)
        cats = sorted({c.category for c in r.criteria})
        console.print(f"{name}: {len(r.criteria)} criteria ({', '.join(cats)}) · task {r.task}")
